"""The proof rules: each a pure function from the previous expression(s) to the next one.

A rule computes; it never sees the claim it will be compared with. Each :class:`Rule` names the kinds of
fact it needs (``activation``, ``independent``, ``iid``, ``zero_mean``); a step receives only the facts of
the assumptions it cites, so citing the wrong assumptions makes the rule fail or derive something else.
A rule that cannot be applied raises :class:`RuleError` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import sympy as sp

from . import vocabulary as v
from .model import Definition, SymbolDecl
from .parser import Namespace


class RuleError(ValueError):
    """The rule does not apply to this expression, or a hypothesis it needs is not available."""


@dataclass(frozen=True)
class Context:
    """What a rule may know besides its input: declarations, definitions and the cited facts."""

    symbols: Mapping[str, SymbolDecl]
    definitions: tuple[Definition, ...] = ()
    facts: Mapping[str, frozenset[str]] = field(default_factory=dict)
    activation: object = None          # assumptions.ActivationCheck, present when A1 is cited
    subject: sp.Expr | None = None     # the expression the current chain started from
    rectifier: object = None           # assumptions.RectifierCheck, present when a rectifier assumption is cited

    def names(self, kind: str) -> frozenset[str]:
        return self.facts.get(kind, frozenset())

    def is_random(self, expr: sp.Expr) -> bool:
        """True if ``expr`` involves a declared random variable or a distribution."""
        return bool(random_atoms(expr, self)) or expr.has(*v.DISTRIBUTIONS)


@dataclass(frozen=True)
class Rule:
    name: str
    apply: Callable[..., sp.Expr]
    formula: str
    needs: tuple[str, ...] = ()
    arity: int = 1


RULES: dict[str, Rule] = {}


def formula_names() -> Namespace:
    """The names the rules' formulas (prose with `expressions`) use; only typeset, never computed with,
    so only the indices need an assumption (an index must be an integer)."""
    plain = {name: sp.Symbol(name, integer=True) for name in ("i", "j", "k")}
    plain.update({name: sp.Symbol(name) for name in ("N", "a", "sigma", "v1", "v2", "m2", "u", "c0", "lo", "hi")})
    return Namespace(plain, {name: sp.IndexedBase(name) for name in ("z", "W", "s", "g", "b", "c", "X", "Y", "n")})


def rule(name: str, formula: str, needs: tuple[str, ...] = (), arity: int = 1):
    """Register ``function(inputs..., ctx)`` as the rule ``name``."""

    def register(function):
        RULES[name] = Rule(name, function, formula, needs, arity)
        return function

    return register


def arities() -> dict[str, int]:
    """Each rule's name and the number of input expressions it takes (what the loader checks steps against)."""
    return {name: r.arity for name, r in RULES.items()}


# ---------------------------------------------------------------- helpers


def random_atoms(expr: sp.Expr, ctx: Context) -> set[sp.Expr]:
    """The random variables in ``expr``: indexed or plain symbols declared with kind 'random'."""
    out = set()
    for atom in expr.atoms(sp.Indexed, sp.Symbol):
        decl = ctx.symbols.get(v.base_name(atom))
        if decl is not None and decl.kind == "random":
            out.add(atom)
    return out


def random_names(expr: sp.Expr, ctx: Context) -> set[str]:
    return {v.base_name(a) for a in random_atoms(expr, ctx)}


def map_moments(expr: sp.Expr, kind: type, transform: Callable[[sp.Expr], sp.Expr | None]) -> sp.Expr:
    """Replace every ``kind[X]`` (innermost first) by ``transform(X)``; None keeps it."""

    def visit(node):
        if not node.args:
            return node
        node = node.func(*[visit(a) for a in node.args]) if not isinstance(node, sp.Indexed) else node
        if isinstance(node, kind):
            out = transform(node.args[0])
            return node if out is None else out
        return node

    return visit(expr)


def changed_or_fail(before: sp.Expr, after: sp.Expr, message: str) -> sp.Expr:
    if after == before:
        raise RuleError(message)
    return after


def split_coefficient(term: sp.Expr, ctx: Context) -> tuple[sp.Expr, sp.Expr]:
    """term = c * X with c free of random variables: returns (c, X)."""
    if isinstance(term, sp.Mul):
        const = [a for a in term.args if not ctx.is_random(a)]
        rand = [a for a in term.args if ctx.is_random(a)]
        return sp.Mul(*const), sp.Mul(*rand)
    return (sp.S.One, term) if ctx.is_random(term) else (term, sp.S.One)


def require_independent(parts: list[sp.Expr], ctx: Context, rule_name: str) -> None:
    """The parts must involve only variables cited as independent, and no variable may appear in two parts."""
    allowed = ctx.names("independent")
    seen: dict[sp.Expr, int] = {}
    for index, part in enumerate(parts):
        for name in sorted(random_names(part, ctx) - allowed):
            raise RuleError(f"{rule_name} needs independence, and '{name}' is not among the independent "
                            f"variables of the cited assumptions")
        for atom in random_atoms(part, ctx):
            if seen.setdefault(atom, index) != index:
                raise RuleError(f"{rule_name} needs independent parts, but {sp.sstr(atom)} appears in two of them")


def fresh_index(avoid: set[sp.Symbol]) -> sp.Symbol:
    """An integer index symbol whose name is not used in ``avoid``."""
    used = {getattr(s, "name", None) for s in avoid}
    for name in ("j", "k", "l", "m", "p", "q", "r", "t", "u"):
        if name not in used:
            return sp.Symbol(name, integer=True)
    return sp.Dummy("m", integer=True)


def rename_bound(expr: sp.Expr, avoid: set[sp.Symbol]) -> sp.Expr:
    """Rename every summation variable of ``expr`` to a name not in ``avoid`` (no variable capture)."""
    avoid = set(avoid) | expr.free_symbols

    def visit(node):
        if isinstance(node, sp.Sum):
            inner, (var, lo, hi) = v.peel(node)
            body = visit(inner)
            new = var if var not in avoid else fresh_index(avoid | body.free_symbols)
            avoid.add(new)
            return sp.Sum(body.xreplace({var: new}), (new, lo, hi))
        if not node.args or isinstance(node, sp.Indexed):
            return node
        return node.func(*[visit(a) for a in node.args])

    return visit(expr)


def instantiate(definition: Definition, target: sp.Indexed) -> sp.Expr | None:
    """If ``target`` is an instance of ``definition.lhs``, the right side at that instance, else None.

    A definition holds for every value of the index symbols in its left side: s[i, k] := ... matches
    s[i+1, j] with i -> i+1, k -> j (summation variables are renamed first so none is captured).
    """
    lhs = definition.lhs
    if lhs.base != target.base or len(lhs.indices) != len(target.indices):
        return None
    variables = sorted(set().union(*(ix.free_symbols for ix in lhs.indices)), key=str)
    wilds = {s: sp.Wild(f"w_{s.name}") for s in variables}
    binding: dict = {}
    for pattern, actual in zip(lhs.indices, target.indices):
        match = actual.match(pattern.xreplace(wilds).xreplace(binding))
        if match is None:
            return None
        binding.update(match)
    values = {s: binding.get(w, s) for s, w in wilds.items()}
    avoid = set(target.free_symbols).union(*(x.free_symbols for x in values.values()))
    return rename_bound(definition.rhs, avoid).xreplace(values)


def unfold(expr: sp.Expr, definitions: tuple[Definition, ...]) -> sp.Expr:
    """Replace defined variables by their definitions, outermost first, each definition used once; so the
    unfolding stops when the same variable appears one layer down.

    Var[z[i+1, k]] -> Var[f(s[i, k])] -> Var[f(sum_j z[i,j] W[i,j,k] + b[i,k])]; from Var[s[i, k]]:
    -> Var[sum_j z[i,j] W[i,j,k] + b[i,k]] -> Var[sum_j f(s[i-1, j]) W[i,j,k] + b[i,k]].
    """
    remaining = list(definitions)
    progress = True
    while progress and remaining:
        progress = False
        for atom in sorted(expr.atoms(sp.Indexed), key=sp.default_sort_key):
            for definition in remaining:
                value = instantiate(definition, atom)
                if value is not None:
                    expr = expr.xreplace({atom: value})
                    remaining.remove(definition)
                    progress = True
                    break
            if progress:
                break
    return expr


def pull_out_of_sums(expr: sp.Expr) -> sp.Expr:
    """sum_j c * x_j = c * sum_j x_j for c not depending on j (every Sum in ``expr``)."""

    def pull(node):
        body, limit = v.peel(node)
        var = limit[0]
        factors = sp.Mul.make_args(body)
        outside = [a for a in factors if var not in a.free_symbols]
        inside = [a for a in factors if var in a.free_symbols]
        if not outside:
            return node
        return sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), limit)

    return expr.replace(lambda e: isinstance(e, sp.Sum), pull)


def eliminate_deltas(expr: sp.Expr) -> sp.Expr:
    """sum_{m=lo}^{hi} delta(k, m) h(m) = h(k), for an index k that ranges over lo..hi."""

    def collapse(node):
        body, (var, _, _) = v.peel(node)
        for factor in sp.Mul.make_args(body):
            if isinstance(factor, sp.KroneckerDelta) and var in factor.args:
                other = factor.args[0] if factor.args[1] == var else factor.args[1]
                return (body / factor).xreplace({var: other})
        return node

    return expr.replace(lambda e: isinstance(e, sp.Sum), collapse)


def layer_of(x: sp.Indexed) -> sp.Expr:
    """The layer index of a random variable: its first index (z[i, j] is in layer i)."""
    return x.indices[0]


def drop_unit_indices(x: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """z[i, j] -> z[i] (the variable of layer i, any unit); a variable whose only index is the summed
    unit, X[j] -> X (any sample)."""
    if not isinstance(x, sp.Indexed):
        return x
    if len(x.indices) > 1:
        return x.base[layer_of(x)]
    return sp.Symbol(x.base.name, real=True) if var in x.indices[0].free_symbols else x


def distribution_variance(law: sp.Expr) -> sp.Expr:
    """Var[X] = E[X^2] - E[X]^2, from the moments of the law (see vocabulary.raw_moment)."""
    return sp.factor(sp.cancel(v.raw_moment(law, 2) - v.raw_moment(law, 1) ** 2))


def polynomial_roots(expr: sp.Expr, unknown: sp.Symbol) -> list[sp.Expr]:
    """The roots of expr = 0 in ``unknown``, for expr polynomial in it after clearing denominators."""
    numerator = sp.numer(sp.together(expr))
    try:
        poly = sp.Poly(numerator, unknown)
    except sp.PolynomialError:
        raise RuleError(f"{sp.sstr(expr)} = 0 is not polynomial in {unknown}") from None
    if poly.degree() < 1:
        raise RuleError(f"{sp.sstr(expr)} = 0 does not involve {unknown}")
    if poly.degree() == 1:                       # c1 u + c0 = 0
        c1, c0 = poly.all_coeffs()
        return [sp.cancel(-c0 / c1)]
    if poly.degree() == 2:                       # c2 u^2 + c1 u + c0 = 0: the quadratic formula
        c2, c1, c0 = poly.all_coeffs()
        root = sp.sqrt(sp.cancel(c1**2 - 4 * c2 * c0))
        return [sp.cancel((-c1 + root) / (2 * c2)), sp.cancel((-c1 - root) / (2 * c2))]
    roots = sp.roots(poly)
    if sum(roots.values()) != poly.degree():
        raise RuleError(f"cannot solve {sp.sstr(expr)} = 0 for {unknown} in closed form")
    return list(roots)


def solve_positive(expr: sp.Expr, value: sp.Expr, ctx: Context) -> sp.Expr:
    """Solve expr = value for the one positive parameter in ``expr``; the positive root: Eq(a, root)."""
    unknowns = sorted((s for s in expr.free_symbols
                       if ctx.symbols.get(s.name) is not None and ctx.symbols[s.name].kind == "positive"), key=str)
    if len(unknowns) != 1:
        raise RuleError(f"expected one positive parameter to solve for in {sp.sstr(expr)}, found {len(unknowns)}")
    (unknown,) = unknowns
    roots = [r for r in polynomial_roots(expr - value, unknown) if r.is_positive is not False]
    if len(roots) != 1:
        raise RuleError(f"{sp.sstr(expr)} = {sp.sstr(value)} has {len(roots)} positive solutions for {unknown}")
    return sp.Eq(unknown, roots[0], evaluate=False)


def equation(expr: sp.Expr, what: str) -> sp.Equality:
    if not isinstance(expr, sp.Equality):
        raise RuleError(f"{what} must be an equation, got {sp.sstr(expr)}")
    return expr


def law_inside(expr: sp.Expr) -> sp.Expr:
    """The law L in Var[L], for L a distribution such as Uniform(-a, a)."""
    if isinstance(expr, v.Var) and isinstance(expr.args[0], v.DISTRIBUTIONS):  # both: E[Uniform] is refused
        return expr.args[0]
    raise RuleError(f"expected Var[Uniform(lo, hi)] or Var[Normal(mu, sigma)], got {sp.sstr(expr)}")


# ---------------------------------------------------------------- the rules


@rule("definition", "unfold each definition once, outermost first: `z[i+1, k] == f(s[i, k])`, "
                    "then `s[i, k] == Sum(z[i, j]*W[i, j, k], (j, 1, n[i])) + b[i, k]`")
def definition(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Substitute the definitions of the derivation file, outermost first, each once, so that the result
    is in terms of the same variable one layer down (see :func:`unfold`)."""
    return changed_or_fail(expr, unfold(expr, ctx.definitions), f"no definition applies to {sp.sstr(expr)}")


@rule("chain rule", "differentiate the unfolded `s[i+1, j]` with respect to `s[i, k]`: `g[i, k] == df(s[i, k])*Sum(W[i+1, k, j]*g[i+1, j], (j, 1, n[i+2]))`")
def chain_rule(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Back-propagate a gradient one layer: for g = dL/ds,

        g[l, u] = sum_{j=1}^{units of s at l+1} g[l+1, j] * d s[l+1, j] / d s[l, u],

    with s[l+1, j] written out from the definitions (so in terms of s[l, .]) and differentiated by SymPy;
    the Kronecker deltas of the derivative are summed out.
    """
    gradients = sorted((a for a in expr.atoms(sp.Indexed)
                        if ctx.symbols[a.base.name].gradient_of), key=sp.default_sort_key)
    if not gradients:
        raise RuleError(f"no gradient variable (a symbol with gradient_of) in {sp.sstr(expr)}")
    replacements = {}
    for grad in gradients:
        decl = ctx.symbols[grad.base.name]
        wrt = sp.IndexedBase(decl.gradient_of, real=True)
        layer, units = grad.indices[0], grad.indices[1:]
        s_decl = ctx.symbols[decl.gradient_of]
        if s_decl.units is None:
            raise RuleError(f"the chain rule needs 'units' declared for '{decl.gradient_of}'")
        j = fresh_index(expr.free_symbols)
        layer_symbol = _layer_symbol(s_decl.units)
        upper = s_decl.units.xreplace({layer_symbol: layer + 1})
        downstream = sp.Indexed(wrt, layer + 1, j)
        written_out = unfold(downstream, ctx.definitions)
        if written_out == downstream:
            raise RuleError(f"no definition of {sp.sstr(downstream)} to differentiate")
        local = eliminate_deltas(sp.diff(written_out, sp.Indexed(wrt, layer, *units)))
        replacements[grad] = pull_out_of_sums(sp.Sum(grad.base[layer + 1, j] * local, (j, 1, upper)))
    return expr.xreplace(replacements)


def _layer_symbol(units: sp.Expr) -> sp.Symbol:
    symbols = set().union(*(ix.free_symbols for atom in units.atoms(sp.Indexed) for ix in atom.indices))
    if len(symbols) != 1:
        raise RuleError(f"'units' must be written in one layer index, got {sp.sstr(units)}")
    return symbols.pop()


@rule("linearisation", "to first order at 0: `f(u) == f(0) + df(0)*u` and `df(u) == df(0)`, with `f(0)`, `df(0)` computed for the activation",
      needs=("activation", "zero_mean"))
def linearisation(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """First-order Taylor expansion of the activation about 0, where the centred pre-activation sits (A3):
    f(u) -> f(0) + f'(0) u and f'(u) -> f'(0), with f(0) and f'(0) computed from the actual activation.
    For tanh (A1: odd, f'(0) = 1) this is f(u) -> u and f'(u) -> 1.
    """
    check = ctx.activation
    if check is None or check.fprime0 is None or check.f0 is None:
        raise RuleError("the activation has no derivative at 0, so it cannot be linearised there")
    if not expr.has(v.f, v.df):
        raise RuleError(f"no activation f(.) or f'(.) to linearise in {sp.sstr(expr)}")
    return expr.replace(v.f, lambda u: check.f0 + check.fprime0 * u).replace(v.df, lambda u: check.fprime0)


@rule("variance additivity", "`Var[Sum(c[j]*X[j], (j, 1, N)) + c0] == Sum(c[j]**2*Var[X[j]], (j, 1, N))` for independent `X[j]` and constants `c[j]`, `c0`",
      needs=("independent",))
def variance_additivity(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Var[X + Y] = Var[X] + Var[Y] for X independent of Y; Var[X + c] = Var[X] and Var[c X] = c^2 Var[X]
    for a constant c; a sum over j splits the same way: Var[sum_j X_j] = sum_j Var[X_j] (X_j independent).
    """

    def split(arg):
        terms = [t for t in sp.Add.make_args(sp.expand(arg, deep=False, mul=True, multinomial=False))
                 if ctx.is_random(t)]
        parts = []
        for term in terms:
            coeff, rand = split_coefficient(term, ctx)
            if isinstance(rand, sp.Sum):
                inner_coeff, inner = split_coefficient(rand.function, ctx)
                parts.append((coeff, inner_coeff, inner, rand.limits))
            else:
                parts.append((coeff, sp.S.One, rand, None))
        if len(parts) == 1 and parts[0][3] is None and parts[0][0] == 1 and len(sp.Add.make_args(arg)) == 1:
            return None
        require_independent([p[2] for p in parts], ctx, "variance additivity")
        out = sp.S.Zero
        for coeff, inner_coeff, rand, limits in parts:
            term = inner_coeff**2 * v.Var(rand)
            out += coeff**2 * (sp.Sum(term, *limits) if limits else term)
        return out

    return changed_or_fail(expr, map_moments(expr, v.Var, split),
                           f"no variance of a sum or of a shifted/scaled variable in {sp.sstr(expr)}")


@rule("product variance", "`Var[X*Y] == E[X]**2*Var[Y] + E[Y]**2*Var[X] + Var[X]*Var[Y]` for independent `X`, `Y`",
      needs=("independent",))
def product_variance(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Var[XY] = E[X^2]E[Y^2] - E[X]^2 E[Y]^2 = E[X]^2 Var[Y] + E[Y]^2 Var[X] + Var[X] Var[Y] for X
    independent of Y; more factors by recursion (X times the product of the rest).
    """

    def expand_product(arg):
        coeff, rand = split_coefficient(arg, ctx)
        factors = [a for a in sp.Mul.make_args(rand)]
        if len(factors) < 2:
            return None
        require_independent(factors, ctx, "product variance")
        return coeff**2 * _product(factors)

    def _product(factors):
        if len(factors) == 1:
            return v.Var(factors[0])
        x, rest = factors[0], sp.Mul(*factors[1:])
        var_rest = _product(factors[1:])
        return v.E(x) ** 2 * var_rest + v.E(rest) ** 2 * v.Var(x) + v.Var(x) * var_rest

    return changed_or_fail(expr, map_moments(expr, v.Var, expand_product),
                           f"no variance of a product of random variables in {sp.sstr(expr)}")


@rule("zero mean", "`E[X] == 0` for every centred variable `X`", needs=("zero_mean",))
def zero_mean(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Replace E[X] by 0 for each variable X the cited assumptions declare centred (E[z] = E[W] = 0)."""
    centred = ctx.names("zero_mean")

    def vanish(arg):
        return sp.S.Zero if v.base_name(arg) in centred else None

    return changed_or_fail(expr, map_moments(expr, v.E, vanish),
                           f"no mean of a centred variable in {sp.sstr(expr)}")


@rule("iid summation", "`Sum(Var[X[j]], (j, 1, N)) == N*Var[X]` for identically distributed `X[j]`",
      needs=("iid",))
def iid_summation(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """For X_j identically distributed within a layer, Var[X^i_j] = Var[X^i] for every unit j, so
    sum_{j=lo}^{hi} (terms in Var[X^i_j], E[X^i_j]) = (hi - lo + 1) * (the same terms in Var[X^i], E[X^i]).
    """
    identical = ctx.names("iid")

    def collapse(node):
        body, (var, lo, hi) = v.peel(node)
        for kind in (v.Var, v.E):
            body = map_moments(body, kind, lambda arg, k=kind: k(drop_unit_indices(arg, var))
                               if v.base_name(arg) in identical and isinstance(arg, sp.Indexed) else None)
        if var in body.free_symbols:
            left = sorted((sp.sstr(m) for m in v.moments_of(body) if var in m.free_symbols))
            raise RuleError(f"the terms still depend on {var} ({', '.join(left) or sp.sstr(body)}): "
                            f"not identically distributed under the cited assumptions")
        return (hi - lo + 1) * body

    return changed_or_fail(expr, expr.replace(lambda e: isinstance(e, sp.Sum), collapse),
                           f"no sum over units in {sp.sstr(expr)}")


def _constant_variance(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """The gain condition. The chain computed Var[X^l] = expr, where expr contains Var[X^m] of the same
    variable at the neighbouring layer m and one other variance Var[W]; keeping Var[X^l] = Var[X^m] means
    expr = Var[X^m], solved here for Var[W]. The condition holds for every layer, so the result is
    re-indexed to the weight of layer i (B6: n_{i+2} Var[W^{i+1}] = 1 becomes Var[W^i] = 1/n_{i+1}).
    """
    subject = ctx.subject
    if not (isinstance(subject, v.Var) and isinstance(subject.args[0], sp.Indexed)):
        raise RuleError("the condition needs a chain that started from Var[X[layer, unit]]")
    target = subject.args[0].base
    same = [m for m in v.moments_of(expr) if isinstance(m, v.Var) and v.base_name(m.args[0]) == target.name]
    others = [m for m in v.moments_of(expr) if m not in same]
    if len(same) != 1 or len(others) != 1:
        raise RuleError(f"expected Var[{target.name}] of one neighbouring layer and one other variance in "
                        f"{sp.sstr(expr)}")
    unknown = sp.Dummy("u", positive=True)
    roots = [r for r in polynomial_roots(expr.xreplace({others[0]: unknown}) - same[0], unknown)
             if r.is_positive is not False]
    if len(roots) != 1:
        raise RuleError(f"{sp.sstr(expr)} = {sp.sstr(same[0])} does not determine {sp.sstr(others[0])}")
    result = sp.Eq(others[0], roots[0], evaluate=False)
    weight = others[0].args[0]
    if isinstance(weight, sp.Indexed):
        layer = layer_of(weight)
        symbols = list(layer.free_symbols)
        if len(symbols) == 1:
            shift = layer - symbols[0]
            result = result.xreplace({symbols[0]: symbols[0] - shift})
    return result


rule("forward condition", "solve `Var[z[i+1]] == Var[z[i]]` for the weight variance: `n[i]*Var[W[i]] == 1`")(_constant_variance)
rule("backward condition",
     "solve `Var[g[i]] == Var[g[i+1]]` for the weight variance, re-indexed to layer `i`: `n[i+1]*Var[W[i]] == 1`")(_constant_variance)


@rule("second moment", "`Var[X] + E[X]**2 == E[X**2]`: a variance plus a squared mean is a second moment")
def second_moment(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Var[X] = E[X^2] - E[X]^2, read backwards: in a sum of terms, c Var[X] + c E[X]^2 becomes c E[X^2]
    (the form He et al. need, since the output of a rectifier is not centred)."""

    def merge(node):
        terms = list(sp.Add.make_args(node))
        for first in terms:
            for moment in first.atoms(v.Var):
                c = sp.cancel(first / moment)
                partner = c * v.E(moment.args[0]) ** 2
                if partner not in terms:
                    continue
                terms.remove(first)
                terms.remove(partner)
                return sp.Add(*terms, c * v.E(moment.args[0] ** 2))
        return node

    return changed_or_fail(expr, expr.replace(lambda e: isinstance(e, sp.Add), merge),
                           f"no Var[X] beside E[X]^2 with the same factor in {sp.sstr(expr)}")


@rule("rectifier second moment",
      "`E[f(s)**2] == m2*Var[s]` for `s` symmetric about 0, with `m2` the integral of `f(x)**2` against the "
      "standard normal density, which is 1/2 for ReLU", needs=("rectifier", "zero_mean"))
def rectifier_second_moment(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """For f positively homogeneous (f(c x) = c f(x), c > 0) and s ~ N(0, Var[s]) (symmetric, centred):
    E[f(s)^2] = Var[s] E[f(x)^2], x ~ N(0, 1); the constant m2 = E[f(x)^2] is integrated for the activation
    (ReLU: 1/2, leaky ReLU with slope a: (1 + a^2)/2)."""
    check = ctx.rectifier
    if check is None or not check.holds:
        raise RuleError("the activation is not positively homogeneous, so E[f(s)^2] is not a multiple of Var[s]")
    centred = ctx.names("zero_mean")

    def reduce(arg):
        if isinstance(arg, sp.Pow) and arg.exp == 2 and isinstance(arg.base, v.f):
            inner = arg.base.args[0]
            if v.base_name(inner) not in centred:
                raise RuleError(f"{sp.sstr(inner)} is not among the centred variables of the cited assumptions")
            return check.second_moment * v.Var(inner)
        return None

    return changed_or_fail(expr, map_moments(expr, v.E, reduce), f"no E[f(s)**2] in {sp.sstr(expr)}")


@rule("harmonic averaging", "from `Var[W[i]] == v1` and `Var[W[i]] == v2`, their harmonic mean: `Var[W[i]] == 2/(1/v1 + 1/v2)`", arity=2)
def harmonic_averaging(forward: sp.Expr, backward: sp.Expr, ctx: Context) -> sp.Expr:
    """Both conditions Var[W] = v_1 and Var[W] = v_2 hold only if v_1 = v_2; the compromise is their harmonic
    mean 2/(1/v_1 + 1/v_2). With v_1 = 1/n_i, v_2 = 1/n_{i+1}: Var[W^i] = 2/(n_i + n_{i+1}).
    """
    first, second = equation(forward, "the first input"), equation(backward, "the second input")
    if first.lhs != second.lhs:
        raise RuleError(f"the two conditions constrain different things: {sp.sstr(first.lhs)} and {sp.sstr(second.lhs)}")
    return sp.Eq(first.lhs, sp.cancel(2 / (1 / first.rhs + 1 / second.rhs)), evaluate=False)


@rule("uniform variance", "`Var[Uniform(lo, hi)] == (hi - lo)**2/12`, integrated from the density `1/(hi - lo)`")
def uniform_variance(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Var[X] for X ~ U(lo, hi), by integrating the density 1/(hi - lo) on [lo, hi]."""
    law = law_inside(expr)
    if not isinstance(law, v.Uniform):
        raise RuleError(f"uniform variance applies to Var[Uniform(lo, hi)], got {sp.sstr(expr)}")
    return distribution_variance(law)


@rule("normal", "`Var[Normal(0, sigma)] == sigma**2` (from the moment generating function), solved for positive `sigma`", arity=2)
def normal(law_expr: sp.Expr, condition: sp.Expr, ctx: Context) -> sp.Expr:
    """Choose sigma so that W ~ N(0, sigma^2) has the required variance: integrate Var[N(0, sigma^2)] = sigma^2
    from the Gaussian density, then solve sigma^2 = Var[W] for sigma > 0.
    """
    law = law_inside(law_expr)
    if not isinstance(law, v.Normal):
        raise RuleError(f"'normal' applies to Var[Normal(mu, sigma)], got {sp.sstr(law_expr)}")
    return solve_positive(distribution_variance(law), equation(condition, "the second input").rhs, ctx)


@rule("uniform bound", "solve `a**2/3 == Var[W[i]]` for positive `a`: `a == sqrt(3*Var[W[i]])`", arity=2)
def uniform_bound(variance: sp.Expr, condition: sp.Expr, ctx: Context) -> sp.Expr:
    """Solve (variance of the law in terms of its positive bound a) = Var[W] for a > 0."""
    return solve_positive(variance, equation(condition, "the second input").rhs, ctx)
