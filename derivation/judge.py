"""Judging a quiz answer: by the kernel's comparison, under the facts of the step it is about; never by spelling.

An answer is only ever parsed (the safe parser), never evaluated. It is then compared with the expected one by
``kernel.compare``, after both are put under the step's facts (:class:`Facts`): known constants by their values (a
zero bias), the activation's computed ``f(0)`` and ``df(0)``, moments of deterministic quantities computed,
deterministic factors taken out of ``Var`` and ``E``, the means the model of the step's premises shows to be 0
set to 0, and the premise equations its cited assumptions state. Equations are compared as equations: solved
for what the expected one is solved for (so ``n[i]*Var[W[i]] == 1`` is ``Var[W[i]] == 1/n[i]``), a requirement
for every layer also re-indexed, and otherwise ``lhs - rhs`` up to a factor shown nonzero and free of anything
random.

A wrong answer gets the most specific diagnosis that can be computed: a named mistake of the rule (the
arithmetic mean for the harmonic one, the standard deviation for the bound, ...), a missing re-index, sizes
swapped or replaced, a constant or a missing factor, a missing or extra term, inside ``Var[...]`` or a sum. A
number is judged within a tolerance, and a value within it of a classic mistake is named. Messages speak the
player's syntax (what is shown can be typed back), never Python's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

import sympy as sp

from .kernel import terms as v
from .kernel.compare import canonical, compare
from .parser import FUNCTIONS, Namespace, ParseError, parse
from .printing import plain

ANSWER_LIMIT = 4000            # characters of one answer (the parser's MAX_LENGTH)


@dataclass(frozen=True)
class Judgement:
    correct: bool
    feedback: str
    retry: bool = False         # not an answer at all (malformed, the question's own input): ask again, no cost
    read_as: str = ""           # the parsed answer, in the answer syntax
    mistake: str = ""           # the name of a recognised mistake, if any


# ---------------------------------------------------------------- parse errors in the player's terms

_OPERATORS = {"BitXor": "^", "BitOr": "|", "BitAnd": "&", "MatMult": "@", "Mod": "%", "FloorDiv": "//",
              "LShift": "<<", "RShift": ">>", "Invert": "~", "Not": "not"}
_TYPED = {"·": "write * for a product", "×": "write * for a product", "Σ": "write a sum as Sum(body, (j, 1, n[i]))",
          "²": "write x**2 for a square", "³": "write x**3", "√": "write sqrt(x)", "−": "write - for minus",
          "≈": "write == for an equation", "≤": "only == is allowed", "≥": "only == is allowed",
          "∑": "write a sum as Sum(body, (j, 1, n[i]))", "⋅": "write * for a product"}
_KINDS = {"a string": "text in quotes", "a list": "a list [..]", "a dict": "braces {..}", "a set": "braces {..}",
          "a tuple": "a tuple (a, b) outside a Sum", "lambda": "lambda", "a comprehension": "a comprehension",
          "a generator": "a generator", "'and'/'or'": "and/or", "'if ... else'": "if/else", "':='": ":=",
          "'*'": "a starred argument", "'await'": "await"}


def player_error(exc: ParseError, text: str, names: Namespace | None = None) -> str:
    """A ParseError said in the terms of someone typing an answer: what is wrong and where (the column), without
    Python's vocabulary (operator classes, octal literals) or advice meant for authors of derivation files."""
    message, column = exc.message, exc.column
    where = f"column {column}: " if column else ""
    stripped = text.strip()
    for char, advice in _TYPED.items():
        if char in stripped:
            return f"column {stripped.index(char) + 1}: '{char}' cannot be typed here: {advice}"
    found = re.search(r"the operator (\w+)", message)
    if found:
        name = found.group(1)
        if name == "BitXor":
            return f"{where}^ is not a power here: write x**2 for x squared"
        symbol = _OPERATORS.get(name)
        if symbol is not None:
            return f"{where}'{symbol}' is not part of the answer syntax (use + - * / ** and one ==)"
        return f"{where}this operator is not part of the answer syntax (use + - * / ** and one ==)"
    if message.startswith("syntax error"):
        single = re.search(r"(?<![=<>!])=(?!=)", stripped)
        if single:
            return f"column {single.start() + 1}: an equation is written with ==, not ="
        return where + _syntax(message, stripped, column)
    found = re.match(r"unknown name '([^']*)'", message)
    if found:
        return f"{where}unknown name '{_short(found.group(1))}'" + _known_names(names)
    found = re.match(r"unknown function '([^']*)'", message)
    if found:
        return (f"{where}'{_short(found.group(1))}' is not a function here (functions: "
                f"{', '.join(sorted(set(FUNCTIONS) - {'Abs', 'arctan'}))}, Sum; moments Var[X], E[X])")
    found = re.match(r"not allowed here: (.*)", message)
    if found:
        what = found.group(1)
        if what.startswith("attribute access"):
            return f"{where}'.' (attribute access) is not part of the answer syntax"
        if what.startswith("the literal"):
            return f"{where}only numbers and declared names are allowed, not {_short(what[12:])}"
        if what.startswith("calling"):
            return f"{where}only a function name can be called, as in sqrt(x)"
        return f"{where}{_KINDS.get(what, 'this')} is not part of the answer syntax"
    if "SymPy" in message or "(" in message and message.rstrip().endswith("Error)"):
        return f"{where}this cannot be built: check the arguments of each function and moment"
    return f"{where}{message}"


def _syntax(message: str, text: str, column: int | None) -> str:
    detail = message.removeprefix("syntax error:").strip()
    if "leading zeros" in detail:
        return "a number cannot start with 0 (write 8 or 0.8)"
    if "never closed" in detail:
        return detail.replace("was never closed", "is never closed")
    if detail.startswith("unmatched") or "does not match" in detail:
        return "the brackets do not match"
    if "unterminated" in detail or "string" in detail:
        return "quotes are not part of the answer syntax"
    if "invalid decimal literal" in detail or "invalid imaginary literal" in detail:
        return "a number followed by a name: write 2*n for a product"
    if "invalid character" in detail or "non-printable" in detail:
        return "a character that is not part of the answer syntax"
    if "unexpected EOF" in detail or (column and column > len(text)):
        return "the answer is incomplete"
    if "unexpected indent" in detail:
        return "the answer starts with a space where none is allowed"
    return "this is not an expression here (check the operators and brackets)"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _known_names(names: Namespace | None) -> str:
    if names is None:
        return ""
    known = sorted(set(names.symbols) | set(names.indexed))
    if not known:
        return " (only numbers here)"
    listing = ", ".join(known[:16]) + (", ..." if len(known) > 16 else "")
    return f" (the names here: {listing})"


def read(text: str, names: Namespace) -> sp.Expr | str:
    """The answer parsed, or what is wrong with it in the player's terms."""
    if len(text) > ANSWER_LIMIT:
        return f"the answer is {len(text)} characters long; the limit is {ANSWER_LIMIT}"
    try:
        return parse(text, names)
    except ParseError as exc:
        return player_error(exc, text, names)


# ---------------------------------------------------------------- the facts of a step

@dataclass
class Facts:
    """What an answer may use besides algebra: the facts of the step it is about. ``model``: the kernel's model
    of the step's cited premises (kernel.model.Model; None: declarations only, no premises); ``values``: the
    activation's computed values (``f(0)``, ``df(0)``); ``equations``: premise equations ``Var[X] == c`` of the
    cited assumptions; ``sizes``: the names of the size symbols (for the diagnosis); ``layer``: the layer index
    symbol of what the step solves for (for re-indexing)."""

    model: object = None
    values: dict = field(default_factory=dict)
    equations: tuple = ()
    sizes: frozenset = frozenset()

    def random(self, expr: sp.Expr) -> bool:
        if self.model is None:
            return bool(expr.atoms(sp.Indexed) - {a for a in expr.atoms(sp.Indexed) if a.base.name in self.sizes})
        return self.model.is_random(expr)

    def normal(self, expr: sp.Expr) -> tuple[sp.Expr, list[str]]:
        """``expr`` under the facts, and the facts that changed it (for the player: ``df(0) == 1``, ...)."""
        used: list[str] = []
        out = expr
        if self.model is not None and getattr(self.model, "values", None):
            valued = self.model.with_values(out)
            if valued != out:
                present = {a.base.name if isinstance(a, sp.Indexed) else a.name
                           for a in out.atoms(sp.Indexed, sp.Symbol)}
                used += [f"{name} == {plain(value)}" for name, value in self.model.values.items() if name in present]
                out = valued
        if self.values:
            valued = out.xreplace(self.values)
            if valued != out:
                used += [f"{plain(k)} == {plain(value)}" for k, value in self.values.items() if out.has(k)]
                out = valued
        for equation in self.equations:
            replaced = self._premise(out, equation)
            if replaced != out:
                used.append(plain(equation))
                out = replaced
        moments = self._moments(out, used)
        return moments, list(dict.fromkeys(used))

    @staticmethod
    def _premise(expr: sp.Expr, equation: sp.Equality) -> sp.Expr:
        """``Var[X] == c`` (or ``E[X] == c``) about every instance of the family X."""
        moment = equation.lhs
        if not isinstance(moment, (v.Var, v.E)):
            return expr
        target = moment.args[0]
        family = target.base.name if isinstance(target, sp.Indexed) else getattr(target, "name", None)

        def same(node):
            if not isinstance(node, type(moment)):
                return False
            inner = node.args[0]
            name = inner.base.name if isinstance(inner, sp.Indexed) else getattr(inner, "name", None)
            return name == family and name is not None

        return expr.replace(same, lambda node: equation.rhs)

    def _moments(self, expr: sp.Expr, used: list[str]) -> sp.Expr:
        """Moments of deterministic quantities computed, deterministic factors and terms taken out, linearity of
        E, and the means the model shows to be 0 set to 0, innermost first."""
        if not expr.args or isinstance(expr, sp.Indexed):
            return expr
        rebuilt = expr.func(*[self._moments(a, used) for a in expr.args])
        if isinstance(rebuilt, v.Cov):
            first, second = rebuilt.args
            return sp.S.Zero if not (self.random(first) and self.random(second)) else rebuilt
        if not isinstance(rebuilt, (v.Var, v.E)):
            return rebuilt
        inner = rebuilt.args[0]
        if isinstance(inner, sp.Equality) or isinstance(inner, v.DISTRIBUTIONS):
            return rebuilt
        if not self.random(inner):
            return sp.S.Zero if isinstance(rebuilt, v.Var) else inner
        if isinstance(rebuilt, v.E) and isinstance(inner, sp.Add):
            return sp.Add(*[self._moments(v.E(t), used) for t in inner.args])
        if isinstance(inner, sp.Add):
            kept = [t for t in inner.args if self.random(t)]
            if len(kept) < len(inner.args):
                return self._moments(type(rebuilt)(sp.Add(*kept)), used)
        if isinstance(inner, sp.Mul):
            constant = sp.Mul(*[a for a in inner.args if not self.random(a)])
            if constant != 1:
                rest = sp.Mul(*[a for a in inner.args if self.random(a)])
                scale = constant ** 2 if isinstance(rebuilt, v.Var) else constant
                return scale * self._moments(type(rebuilt)(rest), used)
        if isinstance(rebuilt, v.E) and self.model is not None:
            try:
                evidence = self.model.centred(inner)
            except (ArithmeticError, TypeError, ValueError, AttributeError, NotImplementedError, RecursionError,
                    KeyError, IndexError):
                return rebuilt
            if evidence:
                used.append(f"{plain(rebuilt)} == 0")
                return sp.S.Zero
        return rebuilt


# ---------------------------------------------------------------- expressions and equations

@dataclass(frozen=True)
class Expected:
    """What an expression question expects, and what it knows to judge and diagnose an answer."""

    value: sp.Expr                                   # the expected expression or equation
    shown: str                                       # how the derivation writes it (the answer syntax)
    facts: Facts = field(default_factory=Facts)
    rule: str = ""
    start: sp.Expr | None = None                     # the expression the rule starts from (answering it is no answer)
    later: tuple[tuple[str, sp.Expr], ...] = ()      # later steps of the same chain: (id, claim)
    mistakes: tuple[tuple[sp.Expr, str], ...] = ()   # (wrong value, its name): compared with the solved value
    reindex: bool = False                            # a requirement for every layer: the layer may be shifted


def subject_of(expected: sp.Expr) -> sp.Expr | None:
    """What an expected equation is solved for (``Var[W[i]]``, ``sigma``, ``a``), or None."""
    if not isinstance(expected, sp.Equality):
        return None
    lhs = expected.lhs
    if isinstance(lhs, (v.Var, v.E, sp.Symbol)) and not expected.rhs.has(lhs):
        return lhs
    return None


def judge_expression(expected: Expected, names: Namespace) -> Callable[[str], Judgement]:
    """A judge of typed answers to ``expected``."""
    def judge(text: str) -> Judgement:
        answer = read(text, names)
        if isinstance(answer, str):
            return Judgement(False, answer, retry=True)
        return verdict(expected, answer)
    return judge


def verdict(expected: Expected, answer: sp.Expr) -> Judgement:
    """The judgement of a parsed answer (see the module docstring)."""
    want = expected.value
    subject = subject_of(want)
    read_as = plain(answer)
    if isinstance(want, sp.Equality) and not isinstance(answer, sp.Equality):
        if subject is None:
            return Judgement(False, "an equation is asked: write it with ==", retry=True, read_as=read_as)
        answer = sp.Eq(subject, answer, evaluate=False)
        read_as = plain(answer)
    elif isinstance(answer, sp.Equality) and not isinstance(want, sp.Equality):
        return Judgement(False, "an expression is asked here, not an equation", retry=True, read_as=read_as)
    if answer.has(v.Bernoulli, *v.DISTRIBUTIONS) and not want.has(v.Bernoulli, *v.DISTRIBUTIONS):
        return Judgement(False, "not equal to what the rule gives: a law such as Uniform(lo, hi) is a random "
                                "variable, and the answer has none", read_as=read_as)
    if _equal(want, answer):
        return _right(expected, answer, [], read_as)
    if expected.start is not None and _equal(expected.start, answer):
        return Judgement(False, f"that is the expression the rule starts from: apply {expected.rule or 'the rule'} "
                                f"to it", retry=True, read_as=read_as)
    norm_want, _ = expected.facts.normal(want) if not isinstance(want, sp.Equality) else (want, [])
    if isinstance(want, sp.Equality):
        solved = _solve_equation(expected, answer)
        if solved is not None:
            ok, used, note = solved
            if ok:
                return _right(expected, answer, used, read_as, note)
    else:
        norm_answer, used = expected.facts.normal(answer)
        if _equal(norm_want, norm_answer):
            return _right(expected, answer, used, read_as)
        if _close_numbers(norm_want, norm_answer):
            return Judgement(True, f"right (exactly {expected.shown})", read_as=read_as)
    later = [(step_id, claim) for step_id, claim in expected.later if _equal(claim, answer)] or [
        (step_id, claim) for step_id, claim in expected.later
        if not isinstance(claim, sp.Equality) and not isinstance(answer, sp.Equality)
        and _equal(expected.facts.normal(claim)[0], expected.facts.normal(answer)[0])]
    for step_id, claim in later[:1]:
            return Judgement(False, f"that is the result of {step_id}, further on: give the result of "
                                    f"{expected.rule or 'this rule'} alone", retry=True, read_as=read_as)
    message, mistake = diagnose_answer(expected, answer)
    return Judgement(False, message, read_as=read_as, mistake=mistake)


def _close_numbers(want: sp.Expr, answer: sp.Expr, tolerance: float = 0.01) -> bool:
    """A number given for an exact number, within ``tolerance`` (0.333 for 1/3)."""
    if not (want.is_number and answer.is_number) or want == 0:
        return False
    try:
        ratio = float(answer / want)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return False
    return math.isfinite(ratio) and abs(ratio - 1) <= tolerance


def _right(expected: Expected, answer: sp.Expr, used: list[str], read_as: str, note: str = "") -> Judgement:
    parts = [note or "right"]
    if used:
        parts[0] += " (with " + ", ".join(used) + ")"
    if not note and _form(answer) != _form(expected.value):
        parts.append(f"the derivation writes it as {expected.shown}")
    return Judgement(True, "; ".join(parts), read_as=read_as)


def _form(expr: sp.Expr) -> str:
    return plain(expr).replace(" ", "")


def _equal(a: sp.Expr, b: sp.Expr) -> bool:
    if isinstance(a, sp.Equality) != isinstance(b, sp.Equality):
        return False
    return compare(a, b).equal


def _solve(equation: sp.Equality, subject: sp.Expr, facts: Facts) -> list[sp.Expr] | None:
    """The admissible values of ``subject`` that the equation allows (under the facts), or None when the
    equation does not contain it."""
    lhs, _ = facts.normal(equation.lhs)
    rhs, _ = facts.normal(equation.rhs)
    if not (lhs.has(subject) or rhs.has(subject)):
        return None
    if isinstance(subject, v.Var):
        unknown = sp.Dummy("u", nonnegative=True)
    elif isinstance(subject, sp.Symbol) and subject.is_positive:
        unknown = sp.Dummy("u", positive=True)
    else:
        unknown = sp.Dummy("u", real=True)
    opaque, back = {}, {}
    expression = (lhs - rhs).xreplace({subject: unknown})
    for atom in sorted(expression.atoms(*v.MOMENTS, sp.Sum), key=sp.default_sort_key):
        symbol = sp.Dummy(nonnegative=True) if isinstance(atom, v.Var) else sp.Dummy(real=True)
        opaque[atom], back[symbol] = symbol, atom
    expression = expression.xreplace(opaque)
    if unknown not in expression.free_symbols:
        return []
    try:
        roots = sp.solve(expression, unknown, dict=False)
    except NotImplementedError:
        return []
    if isinstance(roots, dict):
        roots = list(roots.values())
    return [r.xreplace(back) for r in roots if not isinstance(r, (tuple, sp.Tuple)) and r.is_real is not False
            and (unknown.is_nonnegative is not True or r.is_negative is not True)]


def _solve_equation(expected: Expected, answer: sp.Equality) -> tuple[bool, list[str], str] | None:
    """(right, facts used, a note) for an equation answer; None when it cannot be decided here."""
    want, facts = expected.value, expected.facts
    subject = subject_of(want)
    want_value, _ = facts.normal(want.rhs)
    if subject is not None:
        roots = _solve(answer, subject, facts)
        used = facts.normal(answer.lhs)[1] + facts.normal(answer.rhs)[1]
        if roots is not None:
            return (len(roots) == 1 and _equal(want_value, roots[0])), used, ""
        shift = _subject_shift(answer, subject) if expected.reindex else None
        if shift is not None:
            layer, d = shift
            moved = answer.xreplace({layer: layer - d})
            roots = _solve(moved, subject, facts)
            if roots is not None and len(roots) == 1 and _equal(want_value, roots[0]):
                return True, used, (f"right for every layer; the derivation re-indexes it to {plain(subject)}: "
                                    f"{expected.shown}")
        return None
    ratio = _nonzero_ratio(answer.lhs - answer.rhs, want.lhs - want.rhs)
    return (ratio is not None), [], ""


def _subject_shift(answer: sp.Expr, subject: sp.Expr) -> tuple[sp.Symbol, sp.Expr] | None:
    """(layer symbol, d) when the answer speaks of ``subject`` d layers up (``Var[W[i + 1]]`` for ``Var[W[i]]``)."""
    inner = subject.args[0] if isinstance(subject, (v.Var, v.E)) else None
    if not isinstance(inner, sp.Indexed) or len(inner.indices[0].free_symbols) != 1:
        return None
    (layer,) = inner.indices[0].free_symbols
    for node in answer.atoms(type(subject)):
        other = node.args[0]
        if isinstance(other, sp.Indexed) and other.base == inner.base and len(other.indices) == len(inner.indices):
            d = sp.expand(other.indices[0] - inner.indices[0])
            if d.is_Integer and d != 0 and node.xreplace({layer: layer - d}) == subject:
                return layer, d
    return None


def _nonzero_ratio(answer: sp.Expr, want: sp.Expr) -> sp.Expr | None:
    """r with answer = r*want, r free of moments and randomness and shown nonzero: the same equation."""
    opaque = {}
    a, w = canonical(answer), canonical(want)
    for atom in sorted((a.atoms(*v.MOMENTS, sp.Sum) | w.atoms(*v.MOMENTS, sp.Sum)), key=sp.default_sort_key):
        opaque[atom] = sp.Dummy(nonnegative=True) if isinstance(atom, v.Var) else sp.Dummy(real=True)
    a, w = a.xreplace(opaque), w.xreplace(opaque)
    if w == 0 or sp.count_ops(a) + sp.count_ops(w) > 400:
        return None
    ratio = sp.cancel(sp.together(a / w))
    if ratio.has(sp.zoo, sp.oo, -sp.oo, sp.nan) or ratio.free_symbols & set(opaque.values()):
        return None
    if any(isinstance(f, (v.f, v.df)) for f in ratio.atoms(sp.Function)):
        return None
    return ratio if ratio.is_zero is False else None


# ---------------------------------------------------------------- diagnosis

def diagnose_answer(expected: Expected, answer: sp.Expr) -> tuple[str, str]:
    """(what is wrong, the name of a recognised mistake or '') for a wrong answer."""
    want, facts = expected.value, expected.facts
    subject = subject_of(want)
    if isinstance(want, sp.Equality) and subject is not None:
        roots = _solve(answer, subject, facts)
        if roots is None:
            shift = _subject_shift(answer, subject)
            if shift is not None:
                return (f"the left side is for another layer: the question asks for {plain(subject)}, and the "
                        f"equation must hold as written for it", "")
            return f"the equation does not contain {plain(subject)}, which the question asks for", ""
        if len(roots) != 1:
            return (f"this equation does not determine {plain(subject)}" if not roots else
                    f"this equation allows {len(roots)} values of {plain(subject)}"), ""
        value, want_value = roots[0], facts.normal(want.rhs)[0]
        named = _named(value, expected.mistakes)
        if named:
            return named, named
        shifted = _layer_shift(want_value, value, subject)
        if shifted:
            return shifted, "re-index"
        return _describe(want_value, value, facts, f"your {plain(subject)}", want_value), ""
    if isinstance(want, sp.Equality):
        return "not the equation the rule gives", ""
    named = _named(answer, expected.mistakes)
    if named:
        return named, named
    norm_want, norm_answer = facts.normal(want)[0], facts.normal(answer)[0]
    return _describe(norm_want, norm_answer, facts, "your answer", norm_want), ""


def _named(value: sp.Expr, mistakes: Iterable[tuple[sp.Expr, str]]) -> str:
    for wrong, name in mistakes:
        if _equal(wrong, value):
            return name
    return ""


def _layer_shift(want: sp.Expr, value: sp.Expr, subject: sp.Expr) -> str:
    """A value for the subject of another layer (a missing re-index), said so."""
    inner = subject.args[0] if isinstance(subject, (v.Var, v.E)) else None
    if not isinstance(inner, sp.Indexed) or len(inner.indices[0].free_symbols) != 1:
        return ""
    (layer,) = inner.indices[0].free_symbols
    for d in (1, -1, 2, -2):
        if _equal(want, value.xreplace({layer: layer - d})):
            other = subject.xreplace({layer: layer + d})
            return (f"a missing re-index: {plain(value)} is the value for {plain(other)}, the weights of layer "
                    f"{plain(layer + d)}; written for {plain(subject)}, every layer index goes "
                    f"{'down' if d > 0 else 'up'} by {abs(d)}")
    return ""


def _describe(want: sp.Expr, answer: sp.Expr, facts: Facts, what: str, reference: sp.Expr, depth: int = 0) -> str:
    """The most specific computed description of how ``answer`` differs from ``want``."""
    swapped = _swapped(want, answer, facts)
    if swapped:
        return swapped
    replaced = _replaced_size(want, answer, facts)
    if replaced:
        return replaced
    if want != 0 and _equal(1 / want, answer) and not isinstance(want, sp.Equality):
        return f"{what} is inverted: the reciprocal of the correct value"
    comparison = compare(want, answer)
    if comparison.ratio is not None and comparison.ratio.is_number:
        return f"{what} is {plain(comparison.ratio)} times the correct one"
    factor = _factor(want, answer)
    if factor:
        return factor
    if comparison.ratio is not None and sp.count_ops(comparison.ratio) <= 6:
        return f"{what} is {_readable(comparison.ratio, reference)} times the correct one"
    if depth < 3:
        for kind in (v.Var, v.E, v.f, v.df):
            if isinstance(want, kind) and isinstance(answer, kind):
                inner = _describe(want.args[0], answer.args[0], facts, "the inside", reference, depth + 1)
                if inner and not inner.startswith("not equal"):
                    name = {v.Var: "Var", v.E: "E", v.f: "f", v.df: "df"}[kind]
                    return f"inside {name}[...]: {inner}" if kind in (v.Var, v.E) else f"inside {name}(...): {inner}"
        if isinstance(want, sp.Sum) and isinstance(answer, sp.Sum):
            (wb, (wv, wl, wh)), (ab, (av, al, ah)) = v.peel(want), v.peel(answer)
            if _equal(wl, al) and _equal(wh, ah):
                inner = _describe(wb, ab.xreplace({av: wv}), facts, "each term", reference, depth + 1)
                if inner and not inner.startswith("not equal"):
                    return f"in the sum over {plain(wv)}: {inner}"
            elif _equal(wb, ab.xreplace({av: wv})):
                return f"the limits of the sum differ: ({plain(wv)}, {plain(wl)}, {plain(wh)}) is expected"
    difference = comparison.difference
    if difference is not None and difference != 0:
        terms = sp.Add.make_args(sp.expand(difference))
        if len(terms) <= 2:
            missing = [-t for t in terms if t.could_extract_minus_sign()]
            extra = [t for t in terms if not t.could_extract_minus_sign()]
            parts = []
            if missing:
                parts.append(("a term is missing: " if len(missing) == 1 else "terms are missing: ")
                             + ", ".join(_readable(t, reference) for t in missing))
            if extra:
                parts.append(("there is an extra term: " if len(extra) == 1 else "there are extra terms: ")
                             + ", ".join(_readable(t, reference) for t in extra))
            return "; ".join(parts)
    return "not equal to what the rule gives"


def difference_words(want: sp.Expr, got: sp.Expr) -> str:
    """How ``got`` differs from ``want``, in words (what a rule derives against a step's claim)."""
    return _describe(want, got, Facts(), "it", want).replace("your answer", "it")


def _sizes(expr: sp.Expr, facts: Facts) -> set:
    """The sizes in ``expr``: ``n[i]``, ``n[i + 1]``, a size ``N`` written alone (not the name of n[...])."""
    indexed = {a for a in expr.atoms(sp.Indexed) if a.base.name in facts.sizes}
    labels = {a.base.label for a in expr.atoms(sp.Indexed)}
    return indexed | {s for s in expr.atoms(sp.Symbol) if s.name in facts.sizes and s not in labels}


def _swapped(want: sp.Expr, answer: sp.Expr, facts: Facts) -> str:
    """Two sizes (``n[i]``, ``n[i + 1]``) that the answer uses both, whose exchange makes it right."""
    found = sorted(_sizes(answer, facts), key=lambda a: (sp.count_ops(a), sp.default_sort_key(a)))
    if len(found) != 2 or set(found) != _sizes(want, facts):
        return ""
    first, second = found
    exchanged = answer.xreplace({first: second, second: first})
    if exchanged != answer and _equal(want, exchanged):
        return f"{plain(first)} and {plain(second)} are swapped"
    return ""


def _replaced_size(want: sp.Expr, answer: sp.Expr, facts: Facts) -> str:
    """One size used where another is needed (``n[i + 1]`` for ``n[i + 2]``)."""
    extra = _sizes(answer, facts) - _sizes(want, facts)
    missing = _sizes(want, facts) - _sizes(answer, facts)
    if len(extra) == 1 and len(missing) == 1:
        (wrong,), (right,) = extra, missing
        if _equal(want, answer.xreplace({wrong: right})):
            return f"{plain(wrong)} where {plain(right)} is needed"
    return ""


def _factor(want: sp.Expr, answer: sp.Expr) -> str:
    """A factor missing or extra (``df(s[i, k])``, ``Var[z[i]]``), when the two differ by one."""
    opaque, back = {}, {}
    a, w = canonical(answer), canonical(want)
    for atom in sorted((a.atoms(v.MOMENTS + (sp.Sum,)) | w.atoms(v.MOMENTS + (sp.Sum,))), key=sp.default_sort_key):
        symbol = sp.Dummy(nonnegative=True) if isinstance(atom, v.Var) else sp.Dummy(real=True)
        opaque[atom], back[symbol] = symbol, atom
    a, w = a.xreplace(opaque), w.xreplace(opaque)
    if w == 0 or a == 0 or sp.count_ops(a) + sp.count_ops(w) > 200:
        return ""
    ratio = sp.cancel(sp.together(a / w))
    numerator, denominator = sp.fraction(ratio)
    if ratio == 1 or ratio.is_number or sp.count_ops(ratio) > 6:
        return ""
    if denominator == 1 and not isinstance(numerator, sp.Add):
        return f"an extra factor {_readable(numerator.xreplace(back), want)}"
    if numerator == 1 and not isinstance(denominator, sp.Add):
        return f"a factor {_readable(denominator.xreplace(back), want)} is missing"
    return ""


def _readable(expr: sp.Expr, reference: sp.Expr) -> str:
    """``expr`` in the answer syntax, the comparison's summation variables (_s0, _s1, ...) given back the names the
    expected answer uses at the same depth."""
    names = _bound_names(reference)
    renames = {}
    for symbol in expr.free_symbols | {s for node in sp.preorder_traversal(expr) if isinstance(node, sp.Sum)
                                       for s in node.variables}:
        found = re.fullmatch(r"_s(\d+)", getattr(symbol, "name", ""))
        if found:
            depth = int(found.group(1))
            fallback = ("j", "k", "l", "m", "t", "u")[depth % 6]
            name = names[depth] if depth < len(names) else fallback
            renames[symbol] = sp.Symbol(name, integer=True)
    return plain(expr.xreplace(renames))


def _bound_names(expr: sp.Expr) -> list[str]:
    """The summation variables of ``expr`` by nesting depth (outermost first)."""
    out: list[str] = []

    def visit(node, depth):
        if isinstance(node, sp.Sum):
            body, (var, _, _) = v.peel(node)
            if depth == len(out):
                out.append(var.name)
            visit(body, depth + 1)
            return
        for arg in getattr(node, "args", ()):
            visit(arg, depth)

    visit(expr, 0)
    return out


# ---------------------------------------------------------------- numbers

@dataclass(frozen=True)
class Mistake:
    name: str
    value: float


def judge_number(exact: float, mistakes: Iterable[Mistake], tolerance: float) -> Callable[[str], Judgement]:
    """A judge of a positive number, accepted within ``tolerance`` (relative); a value within it of a classic
    mistake is named."""
    mistakes = tuple(mistakes)

    def judge(text: str) -> Judgement:
        answer = read(text, Namespace())
        if isinstance(answer, str):
            if "unknown name" in answer:
                answer = answer.split(" (")[0] + " (a number is asked: only numbers, + - * / ** and sqrt(...))"
            return Judgement(False, f"not a number: {answer}", retry=True)
        if isinstance(answer, sp.Equality) or not answer.is_number:
            return Judgement(False, "not a number", retry=True)
        value = answer.evalf(30)
        if not value.is_Number:                  # a law (Uniform(1, 2)), a moment: no numerical value
            return Judgement(False, "not a number", retry=True)
        shown = f"{float(value):.6g}" if answer.is_Rational or answer.is_Float else f"{plain(answer)} = {float(value):.6g}"
        if not value.is_real or value <= 0 or not value.is_finite:
            return Judgement(False, "a standard deviation or a bound is a positive number", read_as=shown)
        number = float(value)
        if abs(number / exact - 1) <= tolerance:
            return Judgement(True, f"right ({exact:.6g})", read_as=shown)
        near = [m for m in mistakes if abs(number / m.value - 1) <= tolerance]
        if near:
            best = min(near, key=lambda m: abs(number / m.value - 1))
            return Judgement(False, f"that is {best.name}", read_as=shown, mistake=best.name)
        ratio = number / exact
        if abs(ratio - 1) <= 5 * tolerance:
            return Judgement(False, f"close, but not within {tolerance:.0%}: give three significant digits",
                             read_as=shown)
        for factor, name in _FACTORS:
            if abs(ratio / factor - 1) <= tolerance:
                return Judgement(False, f"{name} times the correct value", read_as=shown)
        return Judgement(False, "too large" if ratio > 1 else "too small", read_as=shown)
    return judge


_FACTORS = [(2, "2"), (3, "3"), (0.5, "1/2"), (1 / 3, "1/3"), (2 ** 0.5, "sqrt(2)"), (3 ** 0.5, "sqrt(3)"),
            (2 ** -0.5, "1/sqrt(2)"), (3 ** -0.5, "1/sqrt(3)"), (6 ** 0.5, "sqrt(6)"), (6 ** -0.5, "1/sqrt(6)"),
            (10, "10"), (0.1, "1/10")]


# ---------------------------------------------------------------- choices

def tokens(text: str) -> list[str]:
    return [t for t in text.replace(",", " ").split() if t]


def judge_choice(correct: int, count: int) -> Callable[[str], Judgement]:
    """Multiple choice: the number of the right choice (1 to ``count``)."""
    def judge(text: str) -> Judgement:
        given = tokens(text.strip().rstrip(").").lstrip("("))
        if len(given) != 1 or not given[0].isdigit() or not 1 <= int(given[0]) <= count:
            shown = ascii(_short(text.strip(), 40))[1:-1]
            return Judgement(False, f"answer with the number of one choice, 1 to {count} (not {shown})", retry=True)
        if int(given[0]) == correct:
            return Judgement(True, "right")
        return Judgement(False, f"not choice {given[0]}")
    return judge


def judge_assumptions(known: dict[str, str], verifies: Callable[[frozenset], tuple[bool, str]], step: str,
                      needed: frozenset, cited: frozenset) -> Callable[[str], Judgement]:
    """Which assumptions a step needs, judged by the kernel: the step is checked again citing exactly the
    assumptions given (``verifies``); right when that verifies it and none of them can be left out (or when they
    are the ones the derivation cites)."""
    lookup = {k.lower(): k for k in known}

    def judge(text: str) -> Judgement:
        words = tokens(text)
        if [w.lower() for w in words] == ["none"]:
            given: frozenset = frozenset()
        else:
            unknown = [w for w in words if w.lower() not in lookup]
            if unknown or not words:
                shown = ascii(_short(unknown[0], 40))[1:-1] if unknown else "(empty)"
                return Judgement(False, f"not one of the choices: {shown}", retry=True)
            given = frozenset(lookup[w.lower()] for w in words)
        listed = ", ".join(sorted(given)) or "none"
        ok, why = verifies(given)
        if not ok:
            return Judgement(False, f"the kernel cannot verify {step} citing {listed}: {why}", read_as=listed)
        spare = sorted(a for a in given if verifies(given - {a})[0])
        if spare and given == cited:
            return Judgement(True, f"right: the derivation cites {listed}, though {step} also verifies without "
                                   f"{', '.join(spare)}", read_as=listed)
        if spare:
            return Judgement(False, f"enough, but not all needed: {step} verifies without "
                                    f"{', '.join(spare)}", read_as=listed)
        if given != needed:
            return Judgement(True, f"right: the kernel verifies {step} citing exactly {listed}", read_as=listed)
        if given != cited:
            return Judgement(True, f"right (the derivation cites {', '.join(sorted(cited))}, more than needed)",
                             read_as=listed)
        return Judgement(True, "right", read_as=listed)
    return judge
