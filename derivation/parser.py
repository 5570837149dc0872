"""The safe parser: claim text -> SymPy expression, without eval, exec, sympify or parse_expr.

The text is read by Python's ``ast`` module (which only builds a syntax tree and runs nothing) and the tree
is walked with a whitelist: numbers, the declared names, ``+ - * / **``, ``==`` (an equation), ``X[...]``
for an indexed variable or a moment ``Var[...]``/``E[...]``, and calls of the functions in ``FUNCTIONS`` and
``Sum(body, (j, lo, hi))``. Anything else (attributes, lambdas, comprehensions, strings, keywords, ...) is a
:class:`ParseError` naming the column. Sizes are bounded so no input can make the parser hang.
"""

from __future__ import annotations

import ast
import math
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Mapping

import sympy as sp
from sympy.tensor.indexed import IndexException

from .kernel import domain
from .kernel import terms as v
from .kernel.timelimit import TimeLimitExceeded, time_limit

MAX_LENGTH = 4000        # characters in one expression
MAX_NODES = 600          # syntax-tree nodes in one expression
MAX_DIGITS = 20          # digits in a numeric literal (a double needs 17)
MAX_EXPONENT = 1000      # |p| for a numeric exponent
MAX_POWER_BITS = 4096    # size of a number raised to a numeric power
MAX_NUMBER_BITS = 8192   # size of any number in the result (a product of large powers)
PARSE_SECONDS = 5        # building one expression (SymPy evaluates as it builds: Max compares its arguments)
MAX_TERMS = 1000         # terms of the expression multiplied out (what the comparison may compute)

FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {
    "f": v.f, "df": v.df,
    "sqrt": sp.sqrt, "exp": sp.exp, "log": sp.log,
    "tanh": sp.tanh, "sinh": sp.sinh, "cosh": sp.cosh,
    "sin": sp.sin, "cos": sp.cos, "atan": sp.atan, "arctan": sp.atan, "erf": sp.erf,
    "abs": sp.Abs, "Abs": sp.Abs, "Max": sp.Max, "Min": sp.Min,
    "Uniform": v.Uniform, "Normal": v.Normal,
}
MOMENTS = {"Var": v.Var, "E": v.E, "Cov": v.Cov}
CONSTANTS = {"pi": sp.pi}


class ParseError(ValueError):
    """Text that is not an expression the format allows. ``column`` is 1-based, or None."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}" if self.column else self.message


@dataclass
class Namespace:
    """The names an expression may use: declared symbols and indexed variables, by name."""

    symbols: Mapping[str, sp.Symbol] = field(default_factory=dict)
    indexed: Mapping[str, sp.IndexedBase] = field(default_factory=dict)


def parse(text: str, names: Namespace, display: bool = False) -> sp.Expr:
    """Parse ``text`` into a SymPy expression using only ``names`` and the built-in vocabulary.

    ``display=True`` builds the same expression unevaluated, terms and factors in the order written:
    for typesetting the claim as its author wrote it (never for checking).
    """
    if not isinstance(text, str):
        raise ParseError(f"expected a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if not text.strip():
        raise ParseError("empty expression")
    if any("\ud800" <= c <= "\udfff" for c in text):
        raise ParseError("not valid text (undecodable bytes)")
    try:
        with warnings.catch_warnings():       # Python's warnings about a string literal in the text: not ours
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ParseError(f"syntax error: {exc.msg}", exc.offset or len(text.strip()) + 1) from None
    except (MemoryError, RecursionError):
        raise ParseError("expression is nested too deeply") from None
    except ValueError as exc:                 # a literal Python itself refuses (over 4300 digits), a NUL
        raise ParseError(f"not an expression: {str(exc).split(':')[0]}") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise ParseError(f"expression has {count} parts; the limit is {MAX_NODES}")
    try:
        with time_limit(PARSE_SECONDS) as limit:
            value = (_DisplayBuilder if display else _Builder)(names, text.strip()).build(tree.body)
            _check_size(value)
    except TimeLimitExceeded as exc:
        if exc.limit is not limit:
            raise
        raise ParseError(f"the expression takes more than {PARSE_SECONDS} s to build (numbers too large?)") from None
    except RecursionError:
        raise ParseError("expression is nested too deeply") from None
    except ParseError:
        raise
    except OverflowError:
        raise ParseError("a number in the expression is too large to compute with") from None
    except (ArithmeticError, TypeError, ValueError, AttributeError, IndexError, IndexException) as exc:
        # SymPy refusing what the syntax allows (an odd argument to a function): bad input, said in one line
        raise ParseError(f"not an expression SymPy can build ({type(exc).__name__})") from None
    return value


def _check_size(value: sp.Basic) -> None:
    """Refuse numbers and products too large to compute with: a number of more than MAX_NUMBER_BITS bits (also
    the value of a constant subexpression such as exp(exp(100)), which printing and comparing would evaluate),
    or more than MAX_TERMS terms once multiplied out ((a + b + c)**1000), which the comparison would expand."""
    for number in value.atoms(sp.Rational):
        if max(abs(number.p).bit_length(), abs(number.q).bit_length()) > MAX_NUMBER_BITS:
            raise ParseError("a number in the expression is too large")
    terms = _expanded_terms(value)
    if terms > MAX_TERMS:
        raise ParseError(f"the expression multiplied out has more than {MAX_TERMS} terms")
    for part in sp.postorder_traversal(value):          # innermost first: exp(exp(100)) before exp(exp(exp(100)))
        if isinstance(part, sp.Expr) and not part.is_Atom and not part.free_symbols:
            number = part.evalf(15)
            if number.is_Float and abs(number) > 2**MAX_NUMBER_BITS:
                raise ParseError(f"a number in the expression is too large: {_shown(part)}")


def _shown(part: sp.Basic) -> str:
    text = sp.sstr(part)
    return text if len(text) <= 60 else text[:57] + "..."


def _expanded_terms(value: sp.Basic) -> int:
    """An upper estimate of the number of terms of ``value`` expanded, the largest over its subexpressions
    (function arguments, sum bodies, moments are expanded too). Capped just above MAX_TERMS."""
    cap = MAX_TERMS + 1

    def terms(e: sp.Basic) -> int:
        if isinstance(e, sp.Add):
            return min(cap, sum(terms(a) for a in e.args))
        if isinstance(e, sp.Mul):
            product = 1
            for a in e.args:
                product = min(cap, product * terms(a))
            return product
        if isinstance(e, sp.Pow) and e.exp.is_Integer and abs(e.exp) > 1:
            base = terms(e.base)
            return 1 if base == 1 else min(cap, math.comb(min(int(abs(e.exp)), cap) + base - 1, base - 1))
        return 1

    largest, stack = 0, [value]
    while stack and largest < cap:
        e = stack.pop()
        if isinstance(e, sp.Basic) and not e.is_Atom:
            largest = max(largest, terms(e))
            stack.extend(e.args)
    return largest


def _col(node: ast.AST) -> int:
    return getattr(node, "col_offset", 0) + 1


class _Builder:
    def __init__(self, names: Namespace, source: str):
        self.names = names
        self.source = source

    def fail(self, node: ast.AST, message: str) -> ParseError:
        return ParseError(message, _col(node))

    def operand(self, node: ast.AST) -> sp.Expr:
        """A part of a larger expression: anything but an equation (an equation is only ever a whole claim)."""
        value = self.build(node)
        if isinstance(value, sp.Equality):
            raise self.fail(node, "an equation (==) can only be a whole claim, not part of an expression")
        return value

    def build(self, node: ast.AST) -> sp.Expr:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"not allowed here: {_describe(node)}")
        return method(node)

    def _Constant(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(node, f"not allowed here: the literal {value!r}")
        if isinstance(value, int):
            if len(str(abs(value))) > MAX_DIGITS:
                raise self.fail(node, f"number has more than {MAX_DIGITS} digits")
            return sp.Integer(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise self.fail(node, "number is not finite")
        frac = Fraction(repr(value))
        if len(str(abs(frac.numerator))) > MAX_DIGITS or len(str(frac.denominator)) > MAX_DIGITS:
            raise self.fail(node, f"number has more than {MAX_DIGITS} digits")
        return sp.Rational(frac.numerator, frac.denominator)

    def _Name(self, node: ast.Name) -> sp.Expr:
        name = node.id
        if name in self.names.symbols:
            return self.names.symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in self.names.indexed:
            return sp.Symbol(name, real=True)
        if name in MOMENTS:
            raise self.fail(node, f"{name} takes square brackets: {name}[X]")
        if name in FUNCTIONS or name == "Sum":
            raise self.fail(node, f"{name} is a function: call it as {name}(...)")
        raise self.fail(node, f"unknown name '{name}' (declare it under [symbols])")

    # arithmetic, evaluated; _DisplayBuilder keeps the written form
    def add(self, left, right):
        return left + right

    def mul(self, left, right):
        return left * right

    def neg(self, x):
        return -x

    def div(self, left, right):
        return left / right

    def pow(self, base, exponent):
        return base**exponent

    def call(self, function, args):
        return function(*args)

    def make_sum(self, body, limits):
        return sp.Sum(body, limits)

    def _UnaryOp(self, node: ast.UnaryOp) -> sp.Expr:
        operand = self.operand(node.operand)
        if isinstance(node.op, ast.USub):
            return self.neg(operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.fail(node, f"not allowed here: {_describe(node)}")

    def _BinOp(self, node: ast.BinOp) -> sp.Expr:
        left, right = self.operand(node.left), self.operand(node.right)
        op = node.op
        if isinstance(op, ast.Add):
            return self.add(left, right)
        if isinstance(op, ast.Sub):
            return self.add(left, self.neg(right))
        if isinstance(op, ast.Mult):
            return self.mul(left, right)
        if isinstance(op, ast.Div):
            if right == 0:
                raise self.fail(node, "division by zero")
            return self.div(left, right)
        if isinstance(op, ast.Pow):
            return self._power(node, left, right)
        raise self.fail(node, f"not allowed here: {_describe(node)}")

    def _power(self, node: ast.AST, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        """base**exponent, refusing numbers too large to compute quickly."""
        if exponent.is_Number:
            if abs(exponent) > MAX_EXPONENT:
                raise self.fail(node, f"exponent {exponent} is larger than {MAX_EXPONENT}")
            if base.is_Number and base != 0:
                bits = abs(float(exponent)) * max(1.0, abs(float(sp.log(abs(base), 2))))
                if bits > MAX_POWER_BITS:
                    raise self.fail(node, "number too large")
            if base == 0 and exponent.is_negative:
                raise self.fail(node, "division by zero")
        return self.real(node, self.pow(base, exponent))

    def real(self, node: ast.AST, value: sp.Expr) -> sp.Expr:
        """A root, power or logarithm only where the kernel shows it real (kernel.domain)."""
        problem = domain.problem(value) if isinstance(value, sp.Basic) and not isinstance(value, sp.Equality) else None
        if problem:
            raise self.fail(node, f"not a real expression: {problem}")
        return value

    def _Compare(self, node: ast.Compare) -> sp.Expr:
        if len(node.ops) != 1 or not isinstance(node.ops[0], ast.Eq):
            raise self.fail(node, "the only comparison allowed is one '==' (an equation)")
        lhs, rhs = self.operand(node.left), self.operand(node.comparators[0])
        return sp.Eq(lhs, rhs, evaluate=False)

    def _Subscript(self, node: ast.Subscript) -> sp.Expr:
        target = node.value
        if not isinstance(target, ast.Name):
            raise self.fail(node, "only a name can be subscripted: z[i, j], Var[X], E[X]")
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if not items:
            raise self.fail(node, f"{target.id}[] needs an index or an expression inside the brackets")
        if target.id in MOMENTS:
            wanted = 2 if target.id == "Cov" else 1
            if len(items) != wanted:
                raise self.fail(node, "Cov[X, Y] takes two expressions" if wanted == 2 else
                                f"{target.id}[...] takes one expression")
            return MOMENTS[target.id](*[self.operand(item) for item in items])
        base = self.names.indexed.get(target.id)
        if base is None:
            if target.id in self.names.symbols:
                raise self.fail(node, f"'{target.id}' is declared without indices")
            raise self.fail(target, f"unknown name '{target.id}' (declare it under [symbols])")
        indices = [self.operand(item) for item in items]
        for item, index in zip(items, indices):
            if not index.is_integer:
                raise self.fail(item, f"index of {target.id} must be an integer expression of index symbols")
        return base[tuple(indices)]

    def _Call(self, node: ast.Call) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, f"not allowed here: calling {_describe(node.func)}")
        name = node.func.id
        if node.keywords:
            raise self.fail(node, f"{name}(...) takes no keyword arguments")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, "starred arguments are not allowed")
        if name == "Sum":
            return self._sum(node)
        function = FUNCTIONS.get(name)
        if function is None:
            if name in MOMENTS:
                raise self.fail(node, f"{name} takes square brackets: {name}[X]")
            raise self.fail(node.func, f"unknown function '{name}'")
        args = [self.operand(a) for a in node.args]
        try:
            value = self.call(function, args)
        except OverflowError:
            raise self.fail(node, f"{name}(...): a number too large to compute with") from None
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise self.fail(node, f"{name}(...): {_first_line(exc)}") from None
        return self.real(node, value)

    def _sum(self, node: ast.Call) -> sp.Expr:
        usage = "Sum(body, (j, lower, upper))"
        if len(node.args) != 2 or not isinstance(node.args[1], ast.Tuple) or len(node.args[1].elts) != 3:
            raise self.fail(node, f"write a sum as {usage}")
        var_node, lo_node, hi_node = node.args[1].elts
        var = self.operand(var_node)
        if not (isinstance(var, sp.Symbol) and var.is_integer):
            raise self.fail(var_node, f"the summation variable must be a declared index, as in {usage}")
        return self.make_sum(self.operand(node.args[0]), (var, self.operand(lo_node), self.operand(hi_node)))


class _DisplayBuilder(_Builder):
    """Builds unevaluated nodes, flattened and in the written order (a + b + c, not (a + b) + c)."""

    def _Constant(self, node: ast.Constant) -> sp.Expr:
        exact = super()._Constant(node)                   # checks the literal
        if isinstance(node.value, float):
            digits = ast.get_source_segment(self.source, node) or repr(node.value)
            return sp.Float(digits, max(15, len(digits)))   # printed as written, not as a long fraction
        return exact

    @staticmethod
    def _flat(kind, left, right):
        args = [*(left.args if isinstance(left, kind) else (left,)), *(right.args if isinstance(right, kind) else (right,))]
        return kind(*args, evaluate=False)

    def add(self, left, right):
        return self._flat(sp.Add, left, right)

    def mul(self, left, right):
        return self._flat(sp.Mul, left, right)

    def neg(self, x):
        return -x if x.is_Number else sp.Mul(sp.S.NegativeOne, x, evaluate=False)

    def div(self, left, right):
        reciprocal = sp.Pow(right, -1, evaluate=False)
        return reciprocal if left == 1 else sp.Mul(left, reciprocal, evaluate=False)

    def pow(self, base, exponent):
        return sp.Pow(base, exponent, evaluate=False)

    def call(self, function, args):
        if function is sp.sqrt:
            return sp.Pow(args[0], sp.S.Half, evaluate=False)
        return function(*args, evaluate=False)

    def make_sum(self, body, limits):
        # Sum() itself would multiply the body by its orientation and re-sort it; build the node directly,
        # as ExprWithLimits.__new__ does once it has checked the limits
        node = sp.Expr.__new__(sp.Sum, body, sp.Tuple(*limits))
        node.is_commutative = body.is_commutative
        return node


def _first_line(exc: Exception) -> str:
    """An exception's message, first line only (SymPy's can run over several)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"attribute access '.{node.attr}'"
    kinds = {
        ast.Lambda: "lambda", ast.ListComp: "a comprehension", ast.GeneratorExp: "a generator",
        ast.List: "a list", ast.Dict: "a dict", ast.Set: "a set", ast.Tuple: "a tuple",
        ast.BoolOp: "'and'/'or'", ast.IfExp: "'if ... else'", ast.NamedExpr: "':='",
        ast.Starred: "'*'", ast.JoinedStr: "a string", ast.Await: "'await'",
    }
    for kind, text in kinds.items():
        if isinstance(node, kind):
            return text
    if isinstance(node, ast.BinOp):
        return f"the operator {type(node.op).__name__}"
    if isinstance(node, ast.UnaryOp):
        return f"the operator {type(node.op).__name__}"
    return type(node).__name__
