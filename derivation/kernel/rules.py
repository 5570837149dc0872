"""The proof rules: each a function from the step's input expression(s) to the expression it derives.

A rule computes; it never sees the claim it will be compared with. Every side condition is an obligation
discharged through :meth:`Context.oblige` with the model's evidence (kernel.model); an obligation that does
not hold raises :class:`ObligationFailed`, naming it. A rule that does not apply raises :class:`RuleError`.
A rule also states the relation of its result to its input: ``=`` (an identity under its obligations),
``≈`` (to first order: linearisation), ``requires`` (what keeping a variance constant requires),
``compromise`` (between two requirements).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import sympy as sp

from . import terms as v
from .definitions import fresh_index, instantiate, unfold
from .derivation import Definition, SymbolDecl
from .domain import sign_of
from .model import Evidence, Model

EQUAL, APPROX, REQUIRES, COMPROMISE = "=", "≈", "requires", "compromise"


class RuleError(ValueError):
    """The rule does not apply to this expression."""


class ObligationFailed(RuleError):
    """A side condition of the rule is not shown: ``name`` (what was needed), ``subject``, ``evidence``."""

    def __init__(self, name: str, subject: str, evidence: str):
        self.name, self.subject, self.evidence = name, subject, evidence
        super().__init__(f"{name} not shown for {subject}: {evidence}")


class Choices(tuple):
    """Several results of one rule, each a valid consequence of its input; the claim may be any of them (tried in
    this order, which is deterministic)."""


@dataclass(frozen=True)
class Obligation:
    """One discharged side condition, with how it was discharged."""

    name: str
    subject: str
    evidence: str
    premises: tuple[str, ...] = ()
    approximate: bool = False


@dataclass
class Context:
    """What a rule may know besides its input: declarations, definitions, the model of the cited premises,
    and, for combining rules, the relations of its inputs. It collects the obligations discharged."""

    symbols: Mapping[str, SymbolDecl]
    definitions: tuple[Definition, ...] = ()
    model: Model | None = None
    activation: object = None          # kernel.activation.ActivationCheck, present when A1 is cited
    subject: sp.Expr | None = None     # the expression the current chain started from
    rectifier: object = None           # kernel.activation.RectifierCheck, present when a rectifier assumption is cited
    input_relations: tuple[str, ...] = ()
    input_rules: tuple[str, ...] = ()  # the rules of the steps a combining rule takes
    input_premises: Mapping[str, frozenset[str]] = field(default_factory=dict)   # kind -> families, from the
    obligations: list[Obligation] = field(default_factory=list)                   # assumptions inputs rest on
    cited_facts: tuple[tuple[str, sp.Expr], ...] = ()      # (step id, its fact) cited with 'from' (substitution)
    cited: tuple = ()                                      # the cited assumptions (their premise equations)
    cited_ranges: Mapping[str, tuple] = field(default_factory=dict)   # step id -> its unit_ranges (see below)
    unit_ranges: list = field(default_factory=list)        # (k, lo, hi): the result holds for k in lo..hi only
    relation: str = EQUAL
    neglected: str = ""                # the first neglected term of an approximation, computed
    approximation: str = "to first order"   # what kind of approximation an APPROX relation is

    def __post_init__(self):
        if self.model is None:          # no premises cited: the model still knows declarations and definitions
            self.model = Model(dict(self.symbols), self.definitions, ())

    def oblige(self, name: str, subject: sp.Expr | str, evidence: Evidence) -> None:
        shown = subject if isinstance(subject, str) else sp.sstr(subject)
        if not evidence:
            raise ObligationFailed(name, shown, evidence.text)
        self.obligations.append(Obligation(name, shown, evidence.text, evidence.premises, evidence.approximate))

    def is_random(self, expr: sp.Expr) -> bool:
        return self.model.is_random(expr)


@dataclass(frozen=True)
class Rule:
    name: str
    apply: Callable[..., sp.Expr]
    formula: str
    needs: tuple[str, ...] = ()        # the kinds of cited assumption its obligations consult
    arity: int = 1                     # 0: the chain's expression, plus any facts cited with 'from'
    relation: str = EQUAL              # the relation of its result to its input (combining rules may inherit)


RULES: dict[str, Rule] = {}


def rule(name: str, formula: str, needs: tuple[str, ...] = (), arity: int = 1, relation: str = EQUAL):
    """Register ``function(inputs..., ctx)`` as the rule ``name``."""

    def register(function):
        RULES[name] = Rule(name, function, formula, needs, arity, relation)
        return function

    return register


def arities() -> dict[str, int]:
    """Each rule's name and the number of input expressions it takes (what the loader checks steps against)."""
    return {name: r.arity for name, r in RULES.items()}


# ---------------------------------------------------------------- helpers


def map_moments(expr: sp.Expr, kind: type, transform: Callable[..., sp.Expr | None]) -> sp.Expr:
    """Replace every ``kind[X]`` (innermost first) by ``transform(X)`` (``Cov[X, Y]``: ``transform(X, Y)``); None
    keeps it."""

    def visit(node):
        if not node.args:
            return node
        node = node.func(*[visit(a) for a in node.args]) if not isinstance(node, sp.Indexed) else node
        if isinstance(node, kind):
            out = transform(*node.args)
            return node if out is None else out
        return node

    return visit(expr)


def changed_or_fail(before: sp.Expr, after: sp.Expr, message: str) -> sp.Expr:
    if after == before:
        raise RuleError(message)
    return after


def split_coefficient(term: sp.Expr, ctx: Context) -> tuple[sp.Expr, sp.Expr]:
    """term = c * X with c free of random variables: returns (c, X)."""
    factors = sp.Mul.make_args(term)
    const = [a for a in factors if not ctx.is_random(a)]
    rand = [a for a in factors if ctx.is_random(a)]
    return sp.Mul(*const), sp.Mul(*rand)


def oblige_independent_factors(ctx: Context, factors: list) -> None:
    """Mutually independent factors: each independent of the product of the factors after it."""
    for position, factor in enumerate(factors[:-1]):
        rest = sp.Mul(*factors[position + 1:])
        ctx.oblige("independent factors", f"{sp.sstr(factor)} and {sp.sstr(rest)}", ctx.model.independent(factor, rest))


def negative_binder(expr: sp.Expr, target: sp.Expr) -> str:
    """Index symbols stand for nonnegative integers (the format's convention), so an equation about ``target``
    with a free index k is established for k >= 0 only. Where a sum in ``expr`` binds k around ``target``, its
    values must stay >= 0: its lower limit shown nonnegative (index symbols in it taken >= 0). '' when they do."""
    free = {s for s in target.free_symbols if s.is_integer}
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Sum) and node.function.has(target):
            for var, lo, _ in node.limits:
                if var not in free:
                    continue
                low = sp.expand(lo).xreplace({s: sp.Dummy(s.name, integer=True, nonnegative=True)
                                              for s in lo.free_symbols if s.is_integer})
                if low.is_nonnegative is not True:
                    return f"the sum over {var} from {sp.sstr(lo)} takes {var} below 0, where {sp.sstr(target)} is not established"
    return ""


def range_binder(expr: sp.Expr, target: sp.Expr, ranges) -> str:
    """A result may hold for a free index k in a range only (``ranges``: constraints (k, lo, hi), all of which
    hold): the chain rule's g[l, k] = ... holds for the layer's units k = 1..units, as g of unit 0 is 0 (nothing
    reads s of unit 0), and every step resting on it inherits the constraint (StepResult.unit_ranges). Where a
    sum in ``expr`` binds such a k around ``target``, its range must lie inside each constraint (lo' - lo and
    hi - hi' shown >= 0, at_least_zero); a sum that binds a symbol of a constraint's bounds (the layer i of
    n[i+1]) is refused, as the constraint speaks of another i. '' when all hold."""
    for node in sp.preorder_traversal(expr):
        if not (isinstance(node, sp.Sum) and node.function.has(target)):
            continue
        for var, lo, hi in node.limits:
            for k, first, last in ranges:
                if var in first.free_symbols | last.free_symbols:
                    return (f"the sum over {var} binds the {var} of {sp.sstr(first)}..{sp.sstr(last)}, the values of "
                            f"{k} for which {sp.sstr(target)} is established")
                if var == k and not within(lo, hi, first, last):
                    return (f"the sum over {var} from {sp.sstr(lo)} to {sp.sstr(hi)} leaves {sp.sstr(first)}.."
                            f"{sp.sstr(last)}, the values of {var} for which {sp.sstr(target)} is established")
    return ""


def oblige_count(ctx: Context, limit: tuple) -> None:
    var, lo, hi = limit
    ctx.oblige("a nonnegative integer count", f"{var} = {sp.sstr(lo)}..{sp.sstr(hi)}", ctx.model.count(lo, hi))


def pull_out_of_sums(expr: sp.Expr) -> sp.Expr:
    """sum_j c * x_j = c * sum_j x_j for c not depending on j (every Sum in ``expr``)."""

    def pull(node):
        # a Sum of sums is one node with several limits: a factor free of all its variables leaves all of them
        bound = {limit[0] for limit in node.limits}
        factors = sp.Mul.make_args(node.function)
        outside = [a for a in factors if not a.free_symbols & bound]
        inside = [a for a in factors if a.free_symbols & bound]
        if not outside:
            return node
        return sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), *node.limits)

    return expr.replace(lambda e: isinstance(e, sp.Sum), pull)


def eliminate_deltas(expr: sp.Expr, ranges: dict) -> sp.Expr:
    """sum_{m=lo}^{hi} delta(k, m) h(m) = h(k), for an index k whose range (``ranges[k]`` = (first, last))
    is shown to lie inside lo..hi (first - lo and hi - last shown >= 0, kernel.rules.at_least_zero), and 0 when
    it is shown to lie outside (last < lo or first > hi); otherwise the delta stays.
    (A sum over units 2..n of the layer below does not reach unit 1: its gradient has no such term.)"""

    def inside(other, lo, hi) -> bool:
        if other not in ranges:
            return False
        first, last = ranges[other]
        return within(first, last, lo, hi)

    def outside(other, lo, hi) -> bool:             # every value of k misses lo..hi: the delta is 0 throughout
        if other not in ranges:
            return False
        first, last = ranges[other]
        return at_least_zero(lo - last - 1) or at_least_zero(first - hi - 1)

    def collapse(node):
        # a Sum of sums is one node with its limits innermost first: the outermost is summed out here, through
        # the inner ones (sum_m sum_{w in L(m)} delta(k, m) h(m, w) = sum_{w in L(k)} h(k, w))
        *inner, limit = node.limits
        var, lo, hi = limit
        if not any(var in d.args for d in node.function.atoms(sp.KroneckerDelta)):
            return node
        wrap = (lambda e: sp.Sum(e, *inner)) if inner else (lambda e: e)     # noqa: E731
        out = sp.S.Zero
        for term in sp.Add.make_args(sp.expand(node.function)):
            delta = next((d for d in sp.Mul.make_args(term) if isinstance(d, sp.KroneckerDelta) and var in d.args), None)
            other = None if delta is None else (delta.args[0] if delta.args[1] == var else delta.args[1])
            if delta is not None and outside(other, lo, hi):
                continue
            if delta is None or not inside(other, lo, hi) or any(x[0] == other for x in inner):   # no capture
                out += sp.Sum(wrap(term), limit)
            else:
                out += wrap(term / delta).xreplace({var: other})
        return out

    return expr.replace(lambda e: isinstance(e, sp.Sum), collapse)


def layer_of(x: sp.Indexed) -> sp.Expr:
    """The layer index of a random variable: its first index (z[i, j] is in layer i)."""
    return x.indices[0]


def representative(x: sp.Expr, var: sp.Symbol, layered: bool | None = None) -> sp.Expr:
    """z[i, j] -> z[i] (the variable of layer i, any unit); a variable without a layer, X[j] or X[j, k] (declared
    ``layered = false``) -> X (any instance). ``layered`` None: the first index is a layer when there are several.
    Anything that does not involve ``var`` stays as it is."""
    if not isinstance(x, sp.Indexed) or var not in x.free_symbols:
        return x
    if layered if layered is not None else len(x.indices) > 1:
        return x.base[layer_of(x)]
    return sp.Symbol(x.base.name, real=True)


def oblige_law(ctx: Context, law: sp.Expr) -> None:
    """A valid law: deterministic parameters; Uniform(lo, hi) with hi - lo > 0; Normal(mu, sigma) with sigma > 0."""
    for parameter in law.args:
        if ctx.is_random(parameter) or parameter.has(*v.MOMENTS):
            raise ObligationFailed("a valid law", sp.sstr(law), f"the parameter {sp.sstr(parameter)} is not deterministic")
    width = law.args[1] - law.args[0] if isinstance(law, v.Uniform) else law.args[1]
    what = "hi - lo" if isinstance(law, v.Uniform) else "sigma"
    shown = sign_of(sp.expand(width), positive=True)
    ctx.oblige("a valid law", law, Evidence(shown, f"{what} = {sp.sstr(width)} is " +
                                           ("positive" if shown else "not shown positive")))


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


def solve_positive(expr: sp.Expr, value: sp.Expr, law: sp.Expr, ctx: Context) -> sp.Expr:
    """Solve expr = value for the one positive parameter of ``law``; the positive root: Eq(a, root)."""
    unknowns = sorted((s for s in law.free_symbols
                       if ctx.symbols.get(s.name) is not None and ctx.symbols[s.name].kind == "positive"), key=str)
    if len(unknowns) != 1:
        raise RuleError(f"expected one positive parameter of {sp.sstr(law)} to solve for, found {len(unknowns)}")
    (unknown,) = unknowns
    roots = [r for r in polynomial_roots(expr - value, unknown) if r.is_positive is not False]
    if len(roots) != 1:
        raise RuleError(f"{sp.sstr(expr)} = {sp.sstr(value)} has {len(roots)} positive solutions for {unknown}")
    if roots[0].is_positive is not True:
        raise ObligationFailed("a positive solution", str(unknown),
                               f"{unknown} = {sp.sstr(roots[0])} is not shown positive, and {unknown} is declared positive")
    return sp.Eq(unknown, roots[0], evaluate=False)


def equation(expr: sp.Expr, what: str) -> sp.Equality:
    if not isinstance(expr, sp.Equality):
        raise RuleError(f"{what} must be an equation, got {sp.sstr(expr)}")
    return expr


def law_inside(expr: sp.Expr) -> sp.Expr:
    """The law L in Var[L], for L a distribution such as Uniform(-a, a)."""
    if isinstance(expr, v.Var) and isinstance(expr.args[0], v.DISTRIBUTIONS):
        return expr.args[0]
    raise RuleError(f"expected Var[Uniform(lo, hi)] or Var[Normal(mu, sigma)], got {sp.sstr(expr)}")


def oblige_premises_allow(ctx: Context, law: sp.Expr, target: sp.Equality) -> None:
    """A law chosen for a variable must satisfy what the requirement's premises say of it: mean 0 where its
    family is declared centred, symmetric where declared symmetric (a requirement derived for centred weights
    says nothing of Uniform(0, a))."""
    chosen = target.lhs.args[0] if isinstance(target.lhs, v.Var) else None
    family = chosen.base.name if isinstance(chosen, sp.Indexed) else getattr(chosen, "name", None)
    for kind, test in (("zero_mean", ctx.model.centred), ("symmetric", ctx.model.symmetric)):
        if family in ctx.input_premises.get(kind, ()):
            ctx.oblige("a law the premises allow", law, test(law))


def requirement(expr: sp.Expr, relation: str, what: str) -> sp.Equality:
    """An input that must be a requirement (or a compromise between requirements) on a variance Var[W]."""
    if relation not in (REQUIRES, COMPROMISE):
        raise ObligationFailed("a requirement as input", what,
                               f"{sp.sstr(expr)} was not derived by a forward or backward condition")
    target = equation(expr, what)
    if not isinstance(target.lhs, v.Var):
        raise ObligationFailed("a requirement on a variance", what, f"{sp.sstr(target.lhs)} is not a variance")
    return target


# ---------------------------------------------------------------- the rules


@rule("definition", "unfold each definition once, outermost first: `z[i+1, k] == f(s[i, k])`, "
                    "then `s[i, k] == Sum(z[i, j]*W[i, j, k], (j, 1, n[i])) + b[i, k]`")
def definition(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Substitute the definitions of the derivation file (checked acyclic, one per variable), outermost first,
    each once, so that the result is in terms of the same variable one layer down."""
    return changed_or_fail(expr, unfold(expr, ctx.definitions), f"no definition applies to {sp.sstr(expr)}")


@rule("chain rule", "differentiate every later `s` whose definition uses `s[i, k]`: "
                    "`g[i, k] == df(s[i, k])*Sum(W[i+1, k, j]*g[i+1, j], (j, 1, n[i+2]))` in a layered network")
def chain_rule(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Back-propagate a gradient: for g = dL/ds and every layer distance d at which some definition of s uses
    s one layer-distance d below (d = 1 in a layered network; a skip connection adds another),

        g[l, u] = sum_d sum_{j=1}^{units of s at l+d} g[l+d, j] * d s[l+d, j] / d s[l, u],

    with s[l+d, j] written out from the definitions and differentiated by SymPy (Kronecker deltas summed out).
    Obligations: the definitions determine the gradient (every use of s is at a lower layer); the gradient's
    unit u is one of the layer's units, 1 <= u <= units: a free index k is read as any unit, so the step holds
    for k = 1..units only and no later sum or substitution may take k outside (unit 0 is read by no layer: its
    gradient is 0); a unit summed over keeps its sum's range, and a given unit stands for itself; and the later
    definitions read only units 1..units of s, so the sum over the units misses no path to the loss (a declared
    ``units`` smaller than what the definitions read is refused).
    """
    gradients = sorted((a for a in expr.atoms(sp.Indexed)
                        if getattr(ctx.symbols.get(a.base.name), "gradient_of", None)), key=sp.default_sort_key)
    if not gradients:
        raise RuleError(f"no gradient variable (a symbol with gradient_of) in {sp.sstr(expr)}")
    bound = {limit[0] for node in expr.atoms(sp.Sum) for limit in node.limits}
    replacements = {}
    for grad in gradients:
        decl = ctx.symbols[grad.base.name]
        family = decl.gradient_of
        wrt = sp.IndexedBase(family, real=True)
        layer, units = grad.indices[0], grad.indices[1:]
        s_decl = ctx.symbols[family]
        if s_decl.units is None:
            raise RuleError(f"the chain rule needs 'units' declared for '{family}'")
        distances = _uses(family, ctx)
        layer_symbol = _layer_symbol(s_decl.units)
        total = sp.S.Zero
        here = units_at(s_decl.units, layer_symbol, layer)
        ranges = {}                     # the values the gradient's unit takes: (first, last)
        for u in units:
            if _free_index(u, expr, bound, ctx.symbols) and not here.free_symbols & bound:
                ranges[u] = (sp.S.One, here)      # (a count written in a summed layer index would mean another)
                ctx.unit_ranges.append((u, sp.S.One, here))
                ctx.oblige("a unit of the layer", u, Evidence(True, f"{u} is a free index, read as any unit "
                                                                   f"{u} = 1..{sp.sstr(here)} of {family}"))
            elif u in bound and u not in expr.free_symbols and not here.free_symbols & bound:
                binders = {(lo, hi) for node in expr.atoms(sp.Sum) for var, lo, hi in node.limits if var == u}
                if len(binders) == 1 and not set().union(*(e.free_symbols for e in next(iter(binders)))) & bound:
                    ranges[u] = binders.pop()            # summed over: the sum's range
            elif not isinstance(u, sp.Symbol):
                ranges[u] = (u, u)                       # a given unit (0, n[i+1], n[i+1] + 1): itself
        for distance in distances:
            _oblige_units_read(family, s_decl.units, layer_symbol, layer + distance, distances, ctx,
                               expr.atoms(sp.Symbol) | ({layer_symbol} - {None}))
        for distance in distances:
            j = fresh_index(expr.atoms(sp.Symbol) | {layer_symbol} - {None})   # bound ones too: no capture
            upper = units_at(s_decl.units, layer_symbol, layer + distance)
            downstream = sp.Indexed(wrt, layer + distance, j)
            written_out = unfold(downstream, ctx.definitions, expr.atoms(sp.Symbol))   # no sum reuses a unit's name
            local = eliminate_deltas(sp.diff(written_out, sp.Indexed(wrt, layer, *units)), ranges)
            total += pull_out_of_sums(eliminate_deltas(sp.Sum(grad.base[layer + distance, j] * local, (j, 1, upper)),
                                                       ranges))
        ctx.oblige("the definitions determine the gradient", grad,
                   Evidence(True, f"{family} is used by the definitions at layer distance(s) "
                                  f"{', '.join(map(str, distances))} above"))
        replacements[grad] = total
    return expr.xreplace(replacements)


def _free_index(u: sp.Expr, expr: sp.Expr, bound: set, symbols: Mapping[str, SymbolDecl]) -> bool:
    """A declared index symbol that no sum of the expression binds (a unit the step speaks of, any unit)."""
    return (isinstance(u, sp.Symbol) and u not in bound and u in expr.free_symbols
            and getattr(symbols.get(u.name), "kind", None) == "index")


def at_least_zero(d: sp.Expr) -> bool:
    """d >= 0 shown for a difference of unit counts: a number >= 0, or c + sum a_t x_t with positive integer
    coefficients a_t on positive integer sizes x_t (each >= 1), so d >= c + sum a_t >= 0 (n[i+1] - 1 is)."""
    d = sp.expand(d)
    if d.is_Number:
        return bool(d >= 0)
    least, rest = d.as_coeff_Add()
    for term in sp.Add.make_args(rest):
        coefficient, atom = term.as_coeff_Mul()
        if not (coefficient.is_Integer and coefficient > 0 and isinstance(atom, (sp.Symbol, sp.Indexed))
                and atom.is_integer and atom.is_positive):
            return False
        least += coefficient
    return bool(least >= 0)


def within(lo: sp.Expr, hi: sp.Expr, first: sp.Expr, last: sp.Expr) -> bool:
    """lo..hi shown to lie inside first..last: lo - first and last - hi shown >= 0 (at_least_zero)."""
    return at_least_zero(lo - first) and at_least_zero(last - hi)


def _oblige_units_read(family: str, units: sp.Expr, layer_symbol, layer: sp.Expr, distances: list[int],
                       ctx: Context, avoid: set) -> None:
    """Obligation: the later definitions read only units 1..units(layer) of ``family`` at ``layer``, so
    sum_{j=1}^{units(layer)} g[layer, j] d s[layer, j]/d s[...] covers every unit through which the loss depends
    on them. For each definition of ``family`` at layer + d written out, a read s[layer, e] is either summed over
    (e the sum's variable, from lo to hi: shown 1 <= lo and hi <= units, kernel.rules.at_least_zero), the reading
    unit itself (e = j, which runs over 1..units(layer + d): shown units(layer + d) <= units(layer)), or a number
    in 1..units; anything else is refused."""
    declared = units_at(units, layer_symbol, layer)
    wrt = sp.IndexedBase(family, real=True)
    for distance in distances:
        j = fresh_index(set(avoid))
        written = unfold(sp.Indexed(wrt, layer + distance, j), ctx.definitions, frozenset(avoid | {j}))
        for unit, limits in _reads(written, family, layer):
            if limits is not None:
                lo, hi = limits
            elif unit == j:
                lo, hi = sp.S.One, units_at(units, layer_symbol, layer + distance)
            elif unit.is_Integer:
                lo = hi = unit
            else:
                lo = hi = None
            if lo is None or not within(lo, hi, sp.S.One, declared):
                read = "an index of its own" if lo is None else f"units {sp.sstr(lo)}..{sp.sstr(hi)}"
                raise ObligationFailed("the units summed are the units read", family,
                                       f"the definition of {family} at layer {sp.sstr(layer + distance)} reads "
                                       f"{read} of {family} at layer {sp.sstr(layer)}, which has "
                                       f"{sp.sstr(declared)} units (its 'units')")
    ctx.oblige("the units summed are the units read", family,
               Evidence(True, f"the definitions read units 1..{sp.sstr(declared)} of {family} at layer "
                              f"{sp.sstr(layer)}, as 'units' declares"))


def _reads(expr: sp.Expr, family: str, layer: sp.Expr) -> list[tuple[sp.Expr, tuple | None]]:
    """Each unit index at which ``expr`` reads ``family`` at ``layer``, with the (lo, hi) of the sum that binds
    it, or None when no sum of ``expr`` binds it (every unit index of a many-index family, each on its own)."""
    out: list[tuple[sp.Expr, tuple | None]] = []

    def walk(node: sp.Basic, limits: dict) -> None:
        if isinstance(node, sp.Indexed) and node.base.name == family and sp.expand(node.indices[0] - layer) == 0:
            out.extend((unit, limits.get(unit)) for unit in node.indices[1:])
        if isinstance(node, sp.Sum):
            inner = dict(limits)
            inner.update({var: (lo, hi) for var, lo, hi in node.limits})
            walk(node.function, inner)
            return
        for arg in node.args:
            walk(arg, limits)

    walk(expr, {})
    return out


def _uses(family: str, ctx: Context) -> list[int]:
    """The layer distances d > 0 at which the definitions (unfolded through the other families) use
    ``family`` to define ``family`` at a higher layer; refused if any use is not strictly lower."""
    defining = [d for d in ctx.definitions if d.lhs.base.name == family]
    if not defining:
        raise RuleError(f"no definition of {family} to differentiate")
    (own,) = defining
    others = tuple(d for d in ctx.definitions if d is not own)
    # written out at a layer high enough that every definition applies on the way down (layers are >= 0)
    lift = sum(len(d.lhs.indices) + 2 for d in ctx.definitions)
    top = own.lhs.indices[0].xreplace({s: s + lift for s in own.lhs.indices[0].free_symbols})
    written = unfold(_at_layer(own, top), others)
    distances = set()
    for atom in written.atoms(sp.Indexed):
        if atom.base.name != family:
            continue
        distance = sp.expand(top - atom.indices[0])
        if not (distance.is_Integer and distance > 0):
            raise ObligationFailed("the definitions determine the gradient", family,
                                   f"{sp.sstr(atom)} is used at layer {sp.sstr(top)}, not strictly lower")
        distances.add(int(distance))
    if not distances:
        raise RuleError(f"the definitions never use {family} to define a later {family}")
    through = _through(family, others)
    left = sorted({a.base.name for a in written.atoms(sp.Indexed) if a.base.name in through})
    if left:
        # e.g. a residual stream h[i+1] = h[i] + f(s[i]): unfolded once, h[i] still hides every earlier s
        raise ObligationFailed("the definitions determine the gradient", family,
                               f"{left[0]} is defined through itself and uses {family}: {family} reaches later "
                               f"layers through every depth of {left[0]}, which one unfolding does not show")
    feeding = _feeding(own, others)
    for d in others:
        if any(a.base.name == family for a in d.rhs.atoms(sp.Indexed)) and d.lhs.base.name not in feeding:
            raise ObligationFailed("the definitions determine the gradient", family,
                                   f"{d.lhs.base.name} uses {family} but never reaches a later {family}")
    return sorted(distances)


def _at_layer(definition: Definition, layer: sp.Expr) -> sp.Expr:
    """The right side of ``definition`` at the instance of its left side whose layer is ``layer``."""
    target = definition.lhs.func(definition.lhs.base, layer, *definition.lhs.indices[1:])
    value = instantiate(definition, target)
    if value is None:
        raise RuleError(f"the definition '{definition.text}' does not apply at layer {sp.sstr(layer)}")
    return value


def _through(family: str, definitions: tuple[Definition, ...]) -> set[str]:
    """The defined families whose definitions use ``family``, directly or through other definitions."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for d in definitions:
            used = {a.base.name for a in d.rhs.atoms(sp.Indexed)}
            if d.lhs.base.name not in found and used & (found | {family}):
                found.add(d.lhs.base.name)
                changed = True
    return found


def _feeding(own: Definition, others: tuple[Definition, ...]) -> set[str]:
    """The families whose values reach the right side of ``own`` through the definitions (transitively)."""
    found: set[str] = set()
    frontier = [own]
    while frontier:
        for atom in frontier.pop().rhs.atoms(sp.Indexed):
            name = atom.base.name
            if name not in found:
                found.add(name)
                frontier += [d for d in others if d.lhs.base.name == name]
    return found


def _layer_symbol(units: sp.Expr) -> sp.Symbol | None:
    """The layer symbol 'units' is written in (n[i+1]: i), or None for a width that is the same in every layer."""
    symbols = set().union(*(ix.free_symbols for atom in units.atoms(sp.Indexed) for ix in atom.indices))
    if len(symbols) > 1:
        raise RuleError(f"'units' must be written in one layer index, got {sp.sstr(units)}")
    return symbols.pop() if symbols else None


def units_at(units: sp.Expr, layer_symbol: sp.Symbol | None, layer: sp.Expr) -> sp.Expr:
    return units if layer_symbol is None else units.xreplace({layer_symbol: layer})


@rule("linearisation", "replaces `f(u)` by its first-order Taylor polynomial at 0, `f(0) + df(0)*u`, and `df(u)` by "
                       "`df(0)` (≈), with `f(0)`, `df(0)` computed for the activation, for a centred `u`", needs=("activation", "zero_mean"),
      relation=APPROX)
def linearisation(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """First-order Taylor expansion of the activation about 0: f(u) ≈ f(0) + f'(0) u and f'(u) ≈ f'(0).

    Obligations: f has a derivative at 0 (computed); every argument u is centred (E[u] = 0, decided by the
    model), the point the expansion is about. The relation is ≈, and the first neglected term is computed for
    an odd f with f'(0) = 1 and a centred Gaussian u: Var[f(u)] = Var[u] + f'''(0) Var[u]^2 + O(Var[u]^3) and
    E[f'(u)^2] = 1 + f'''(0) Var[u] + O(Var[u]^2) (tanh: f'''(0) = -2).
    """
    check = ctx.activation
    if check is None or check.fprime0 is None or check.f0 is None:
        raise RuleError("the activation has no derivative at 0, so it cannot be linearised there")
    calls = sorted(expr.atoms(v.f, v.df), key=sp.default_sort_key)
    if not calls:
        raise RuleError(f"no activation f(.) or f'(.) to linearise in {sp.sstr(expr)}")
    for call in calls:
        ctx.oblige("a centred argument", call.args[0], ctx.model.centred(call.args[0]))
    ctx.relation = APPROX
    c3 = check.third if check.holds else None
    if c3 is not None:
        terms = []
        for call in calls:
            u = sp.sstr(call.args[0])
            name = "u" if len(calls) == 1 and len(u) > 12 else u
            term = (f"Var[f({name})] = Var[{name}] + ({sp.sstr(c3)})*Var[{name}]**2 + O(Var[{name}]**3)"
                    if isinstance(call, v.f) else
                    f"E[df({name})**2] = 1 + ({sp.sstr(c3)})*Var[{name}] + O(Var[{name}]**2)")
            terms.append(term + (f" with u = {u}" if name == "u" else "") + ", for a centred Gaussian argument")
        ctx.neglected = "; ".join(terms)
    else:
        ctx.neglected = "not computed: the activation is not odd with f'(0) = 1"
    return expr.replace(v.f, lambda u: check.f0 + check.fprime0 * u).replace(v.df, lambda u: check.fprime0)


@rule("variance additivity", "`Var[Sum(c[j]*X[j], (j, 1, N)) + c0] == Sum(c[j]**2*Var[X[j]], (j, 1, N))` for "
                             "pairwise uncorrelated `X[j]` and constants `c[j]`, `c0`", needs=("independent",))
def variance_additivity(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Var[sum_t c_t X_t + c] = sum_t c_t^2 Var[X_t] for pairwise uncorrelated X_t and constants c_t, c.

    Obligations: each pair of parts uncorrelated (kernel.model.Model.uncorrelated); for a sum over j, a
    nonnegative integer count and two *distinct* summands j != j' uncorrelated (a summand that does not
    depend on j, or shares a variable across j, is refused).
    """

    def split(arg):
        terms = [t for t in sp.Add.make_args(sp.expand(arg, deep=False, mul=True, multinomial=False))
                 if ctx.is_random(t)]
        parts = []
        for term in terms:
            coeff, rand = split_coefficient(term, ctx)
            if isinstance(rand, sp.Sum):
                body, limit = v.peel(rand)
                oblige_count(ctx, limit)
                inner_coeff, inner = split_coefficient(body, ctx)
                var = limit[0]
                if var not in inner.free_symbols:    # one variable in every term: sum_j c_j X = (sum_j c_j) X
                    weight = sp.Sum(inner_coeff, limit) if var in inner_coeff.free_symbols \
                        else (limit[2] - limit[1] + 1) * inner_coeff
                    parts.append((coeff * weight, sp.S.One, inner, None))
                    continue
                other = sp.Dummy(f"{var}'", integer=True)
                ctx.oblige("distinct summands uncorrelated", f"{sp.sstr(inner)} over {var}",
                           ctx.model.uncorrelated(inner, inner.xreplace({var: other}), frozenset({frozenset((var, other))})))
                parts.append((coeff, inner_coeff, inner, limit))
            else:
                parts.append((coeff, sp.S.One, rand, None))
        if len(parts) == 1 and parts[0][3] is None and parts[0][0] == 1 and len(sp.Add.make_args(arg)) == 1:
            return None
        whole = [c * ic * (sp.Sum(x, lim) if lim else x) for c, ic, x, lim in parts]
        for first in range(len(whole)):
            for second in range(first + 1, len(whole)):
                ctx.oblige("uncorrelated parts", f"{sp.sstr(whole[first])} and {sp.sstr(whole[second])}",
                           ctx.model.uncorrelated(whole[first], whole[second]))
        out = sp.S.Zero
        for coeff, inner_coeff, rand, limits in parts:
            nested = split(rand) if limits and isinstance(rand, sp.Sum) else None   # nested sums: every level
            term = inner_coeff**2 * (v.Var(rand) if nested is None else nested)
            out += coeff**2 * (sp.Sum(term, limits) if limits else term)
        return out

    return changed_or_fail(expr, map_moments(expr, v.Var, split),
                           f"no variance of a sum or of a shifted/scaled variable in {sp.sstr(expr)}")


@rule("product variance", "`Var[X*Y] == E[X]**2*Var[Y] + E[Y]**2*Var[X] + Var[X]*Var[Y]` for independent `X`, `Y`",
      needs=("independent",))
def product_variance(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Var[XY] = E[X^2]E[Y^2] - E[X]^2 E[Y]^2 = E[X]^2 Var[Y] + E[Y]^2 Var[X] + Var[X] Var[Y] for X
    independent of Y; more factors by recursion (X times the product of the rest).
    Obligation: each factor independent of the product of the factors after it."""

    def expand_product(arg):
        coeff, rand = split_coefficient(arg, ctx)
        factors = list(sp.Mul.make_args(rand))
        if len(factors) < 2:
            return None
        oblige_independent_factors(ctx, factors)
        return coeff**2 * _product(factors)

    def _product(factors):
        if len(factors) == 1:
            return v.Var(factors[0])
        x, rest = factors[0], sp.Mul(*factors[1:])
        var_rest = _product(factors[1:])
        return v.E(x) ** 2 * var_rest + v.E(rest) ** 2 * v.Var(x) + v.Var(x) * var_rest

    return changed_or_fail(expr, map_moments(expr, v.Var, expand_product),
                           f"no variance of a product of random variables in {sp.sstr(expr)}")


@rule("zero mean", "`E[X] == 0` for every `X` the model shows centred", needs=("zero_mean",))
def zero_mean(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Replace E[X] by 0 wherever the model shows X centred (declared for primitives, computed through the
    definitions for the rest); every other mean stays. Obligation: E[X] = 0 for each mean replaced."""
    refused = []

    def vanish(arg):
        evidence = ctx.model.centred(arg)
        if evidence:
            ctx.oblige("a centred variable", arg, evidence)
            return sp.S.Zero
        refused.append(f"E[{sp.sstr(arg)}]: {evidence.text}")
        return None

    out = map_moments(expr, v.E, vanish)
    if out == expr:
        raise RuleError("no mean shown to be 0" + (f" ({refused[0]})" if refused else f" in {sp.sstr(expr)}"))
    return out


@rule("iid summation", "`Sum(Var[X[j]], (j, 1, N)) == N*Var[X]` for identically distributed `X[j]`",
      needs=("iid",))
def iid_summation(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """sum_{j=lo}^{hi} (terms in Var[X_j], E[X_j]) = (hi - lo + 1) (the same terms in Var[X], E[X]) when every
    X_j has one law. Obligations: the count hi - lo + 1 is a nonnegative integer; each X_j is identically
    distributed across j (kernel.model.Model.identical); for a gradient g[l, j], the units j = lo..hi are units of
    the layer, 1..units (outside, nothing reads s and the gradient is 0, whatever an iid premise says)."""

    def collapse(node):
        body, limit = v.peel(node)
        var = limit[0]
        oblige_count(ctx, limit)

        def common(arg, kind):
            if var not in arg.free_symbols:
                return None
            if not isinstance(arg, sp.Indexed):
                raise ObligationFailed("identically distributed terms", sp.sstr(arg),
                                       f"a moment of a compound expression that depends on {var}")
            ctx.oblige("identically distributed terms", arg, ctx.model.identical(arg, var))
            _oblige_gradient_units(arg, limit, ctx)
            layered = ctx.model.layered(arg)
            units = arg.indices[1:] if layered else arg.indices       # without a layer every index is a unit
            others = [ix for ix in units if var not in ix.free_symbols]
            if others:      # Var[W[i]] stands for every unit of layer i (Var[X] for every instance): all must agree
                ctx.oblige("one law for every unit of the layer", arg, ctx.model.one_law_per_layer(arg))
            return kind(representative(arg, var, layered))

        for kind in (v.Var, v.E):
            body = map_moments(body, kind, lambda arg, k=kind: common(arg, k))
        if var in body.free_symbols:
            raise RuleError(f"the terms still depend on {var} ({sp.sstr(body)})")
        return (limit[2] - limit[1] + 1) * body

    out = expr
    for _ in range(8):                        # nested sums: every level, each with its own count obligation
        collapsed = out.replace(lambda e: isinstance(e, sp.Sum), collapse)
        if collapsed == out:
            break
        out = collapsed
    return changed_or_fail(expr, out, f"no sum over units in {sp.sstr(expr)}")


def _oblige_gradient_units(arg: sp.Indexed, limit: tuple, ctx: Context) -> None:
    """Obligation, for a gradient g[l, j] summed over its unit j = lo..hi: 1 <= lo and hi <= units of s at l
    (at_least_zero), the units at which g is the gradient of a unit the later layers read."""
    decl = ctx.symbols.get(arg.base.name)
    if decl is None or not decl.gradient_of:
        return
    var, lo, hi = limit
    if not any(var in ix.free_symbols for ix in arg.indices[1:]):
        return
    if any(ix != var for ix in arg.indices[1:] if var in ix.free_symbols):
        raise ObligationFailed("units of the layer", sp.sstr(arg), f"the unit is written as more than {var}")
    of = ctx.symbols.get(decl.gradient_of)
    if of is None or of.units is None:
        raise ObligationFailed("units of the layer", sp.sstr(arg), f"'units' of {decl.gradient_of} are not declared")
    count = units_at(of.units, _layer_symbol(of.units), arg.indices[0])
    inside = within(lo, hi, sp.S.One, count)
    ctx.oblige("units of the layer", f"{var} = {sp.sstr(lo)}..{sp.sstr(hi)}",
               Evidence(inside, f"{var} runs over units {sp.sstr(lo)}..{sp.sstr(hi)} of {sp.sstr(arg)}, "
                                f"{'within' if inside else 'not shown within'} its layer's 1..{sp.sstr(count)}"))


def _constant_variance(expr: sp.Expr, ctx: Context, direction: int) -> sp.Expr:
    """The gain condition, a requirement. The chain computed Var[X^l] = expr, where expr contains Var[X^m] of
    the same variable one layer away (m = l - 1 forward, m = l + 1 backward) and one other variance Var[W];
    keeping Var[X^l] = Var[X^m] requires expr = Var[X^m], solved here for Var[W], re-indexed to the weight of
    layer i (B6: n_{i+2} Var[W^{i+1}] = 1 becomes Var[W^i] = 1/n_{i+1}). Obligations: the chain started from
    Var[X[layer, unit]], of an activation (forward) or of a gradient (backward); the variance of X in expr is
    one layer below it (forward) or above it (backward)."""
    subject = ctx.subject
    if not (isinstance(subject, v.Var) and isinstance(subject.args[0], sp.Indexed)):
        raise ObligationFailed("a chain from the variance of a variable", "the chain",
                               "the condition needs a chain that started from Var[X[layer, unit]]")
    target = subject.args[0]
    declared = ctx.symbols.get(target.base.name)
    gradient = bool(declared is not None and declared.gradient_of)
    kind, other_kind = ("backward", "forward") if direction > 0 else ("forward", "backward")
    ctx.oblige(f"a {kind} chain", subject,
               Evidence(gradient == (direction > 0), f"{target.base.name} is " +
                        ("a gradient" if gradient else "not a gradient") +
                        ("" if gradient == (direction > 0) else f": use the {other_kind} condition")))
    same = [m for m in v.moments_of(expr) if isinstance(m, v.Var) and isinstance(m.args[0], sp.Indexed)
            and m.args[0].base.name == target.base.name]
    others = [m for m in v.moments_of(expr) if m not in same]
    if len(same) != 1 or len(others) != 1:
        raise RuleError(f"expected Var[{target.base.name}] of one neighbouring layer and one other variance in "
                        f"{sp.sstr(expr)}")
    gap = sp.expand(layer_of(same[0].args[0]) - layer_of(target))
    where = "above" if direction > 0 else "below"
    ctx.oblige(f"the same variable one layer {where}", same[0],
               Evidence(gap == direction, f"{sp.sstr(same[0])} is {sp.sstr(gap)} layer(s) from {sp.sstr(subject)}"))
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


@rule("forward condition", "set the chain's end equal to its start one layer down, `Var[z[i+1]] == Var[z[i]]`, and "
                           "solve for the weight variance `Var[W[i]]`",
      relation=REQUIRES)
def forward_condition(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Keeping the activations' variance: Var[X^{l}] = Var[X^{l-1}] (see :func:`_constant_variance`)."""
    return _constant_variance(expr, ctx, -1)


@rule("backward condition",
      "set the chain's end equal to its start one layer up, `Var[g[i]] == Var[g[i+1]]`, solve for the weight "
      "variance and re-index it to the weights `W[i]`",
      relation=REQUIRES)
def backward_condition(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Keeping the gradients' variance: Var[g^{l}] = Var[g^{l+1}] (see :func:`_constant_variance`)."""
    return _constant_variance(expr, ctx, +1)


@rule("second moment", "`Var[X] + E[X]**2 == E[X**2]`: a variance plus a squared mean is a second moment")
def second_moment(expr: sp.Expr, ctx: Context) -> "Choices":
    """Var[X] = E[X^2] - E[X]^2, read backwards: in a sum of terms, c Var[X] + c E[X]^2 becomes c E[X^2]
    (the form He et al. need, since the output of a rectifier is not centred). Where several merges are
    possible (Var[X] Var[Y] pairs with E[X]^2 Var[Y] or with E[Y]^2 Var[X]) each is a valid result: they are
    returned in SymPy's canonical order, so what is accepted does not depend on the hash seed."""
    candidates = []
    for node in sorted(expr.atoms(sp.Add), key=sp.default_sort_key):
        terms = list(sp.Add.make_args(node))
        for first in sorted(terms, key=sp.default_sort_key):
            for moment in sorted(first.atoms(v.Var), key=sp.default_sort_key):
                c = sp.cancel(first / moment)
                partner = c * v.E(moment.args[0]) ** 2
                if partner in terms:
                    rest = [t for t in terms if t not in (first, partner)]
                    candidates.append(expr.xreplace({node: sp.Add(*rest, c * v.E(moment.args[0] ** 2))}))
    if not candidates:
        raise RuleError(f"no Var[X] beside E[X]^2 with the same factor in {sp.sstr(expr)}")
    return Choices(dict.fromkeys(candidates))


@rule("rectifier second moment",
      "`E[f(s)**2] == m2*Var[s]` for `s` symmetric about 0, with `m2` the integral of `f(x)**2` against the "
      "standard normal density, which is 1/2 for ReLU", needs=("rectifier", "symmetric"))
def rectifier_second_moment(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """For f positively homogeneous (f(c x) = c f(x), c > 0) and s symmetric about 0:
    E[f(s)^2] = E[s^2 1(s > 0)] f(1)^2 + E[s^2 1(s < 0)] f(-1)^2 = m2 E[s^2] = m2 Var[s], with
    m2 = (f(1)^2 + f(-1)^2)/2, computed as E[f(x)^2] for x ~ N(0, 1) (ReLU: 1/2; slope a: (1 + a^2)/2).
    Obligations: f positively homogeneous (computed); s symmetric (decided by the model; so centred)."""
    check = ctx.rectifier
    if check is None or not check.holds:
        raise RuleError("the activation is not positively homogeneous, so E[f(s)^2] is not a multiple of Var[s]")

    def reduce(arg):
        if isinstance(arg, sp.Pow) and arg.exp == 2 and isinstance(arg.base, v.f):
            inner = arg.base.args[0]
            ctx.oblige("a symmetric argument", inner, ctx.model.symmetric(inner))
            return check.second_moment * v.Var(inner)
        return None

    return changed_or_fail(expr, map_moments(expr, v.E, reduce), f"no E[f(s)**2] in {sp.sstr(expr)}")


@rule("rectifier derivative moment",
      "`E[df(s)**2] == m2` for `s` symmetric about 0, with `m2` the mean of the squared slopes on the two "
      "half-lines, which is 1/2 for ReLU; exact when `s` has no atom at 0", needs=("rectifier", "symmetric"),
      relation=APPROX)
def rectifier_derivative_moment(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """For f positively homogeneous, f'(x) = f'(0+) for x > 0 and f'(0-) for x < 0; for s symmetric about 0,
    P(s > 0) = P(s < 0) = (1 - P0)/2 with P0 = P(s = 0), so
    E[f'(s)^2] = (1 - P0) (f'(0+)^2 + f'(0-)^2)/2 + P0 f'(0)^2 = m2 + P0 (f'(0)^2 - m2)
    (ReLU: m2 = 1/2; slope a: (1 + a^2)/2). The model cannot decide P0 = 0 (a hidden rectified layer is 0
    everywhere with a small probability, so s has an atom at 0; at a kink f'(0) is a convention), so the
    relation is ≈ and the neglected term P(s = 0) (f'(0)^2 - m2) is stated.
    Obligations: f positively homogeneous (computed); s symmetric (decided by the model)."""
    check = ctx.rectifier
    if check is None or not check.holds or check.derivative_moment is None:
        raise RuleError("the activation is not positively homogeneous, so E[f'(s)^2] is not a constant")

    def reduce(arg):
        if isinstance(arg, sp.Pow) and arg.exp == 2 and isinstance(arg.base, v.df):
            inner = arg.base.args[0]
            ctx.oblige("a symmetric argument", inner, ctx.model.symmetric(inner))
            return check.derivative_moment
        return None

    out = changed_or_fail(expr, map_moments(expr, v.E, reduce), f"no E[df(s)**2] in {sp.sstr(expr)}")
    m2 = sp.sstr(check.derivative_moment)
    ctx.relation, ctx.approximation = APPROX, "neglecting an atom at 0"
    ctx.neglected = (f"E[df(s)**2] = {m2} + P(s = 0)*(df(0)**2 - {m2}): exact when s has no atom at 0 (a hidden "
                     f"rectified layer of n units is all zero with probability about 2**-n)")
    return out


@rule("harmonic averaging", "a compromise between two requirements `Var[W[i]] == v1` and `Var[W[i]] == v2`: their "
                            "harmonic mean `Var[W[i]] == 2/(1/v1 + 1/v2)`", arity=2,
      relation=COMPROMISE)
def harmonic_averaging(forward: sp.Expr, backward: sp.Expr, ctx: Context) -> sp.Expr:
    """Both requirements Var[W] = v_1 and Var[W] = v_2 hold only if v_1 = v_2; the compromise is their
    harmonic mean 2/(1/v_1 + 1/v_2) (Var[W^i] = 2/(n_i + n_{i+1})). It is a choice, not a consequence.
    Obligations: both inputs are requirements on the same variance, one forward and one backward, and they
    are distinct."""
    relations = ctx.input_relations or ("", "")
    first = requirement(forward, relations[0], "the first input")
    second = requirement(backward, relations[1], "the second input")
    kinds = sorted(ctx.input_rules)
    ctx.oblige("a forward and a backward requirement", ", ".join(kinds) or "the inputs",
               Evidence(kinds == ["backward condition", "forward condition"],
                        f"the inputs come from {' and '.join(kinds) or 'no condition'}"))
    if first.lhs != second.lhs:
        raise RuleError(f"the two conditions constrain different things: {sp.sstr(first.lhs)} and {sp.sstr(second.lhs)}")
    ctx.oblige("two distinct requirements", first.lhs,
               Evidence(sp.cancel(first.rhs - second.rhs) != 0,
                        f"{sp.sstr(first.rhs)} and {sp.sstr(second.rhs)}" +
                        (" differ" if sp.cancel(first.rhs - second.rhs) != 0 else " are the same requirement")))
    ctx.relation = COMPROMISE
    return sp.Eq(first.lhs, sp.cancel(2 / (1 / first.rhs + 1 / second.rhs)), evaluate=False)


@rule("uniform variance", "`Var[Uniform(lo, hi)] == (hi - lo)**2/12`, integrated from the density `1/(hi - lo)`")
def uniform_variance(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Var[X] for X ~ U(lo, hi), by integrating the density 1/(hi - lo) on [lo, hi].
    Obligation: a valid law (deterministic lo < hi)."""
    law = law_inside(expr)
    if not isinstance(law, v.Uniform):
        raise RuleError(f"uniform variance applies to Var[Uniform(lo, hi)], got {sp.sstr(expr)}")
    oblige_law(ctx, law)
    return v.law_variance(law)


@rule("normal", "`Var[Normal(0, sigma)] == sigma**2` (moments by Stein's recurrence), solved for positive `sigma`", arity=2)
def normal(law_expr: sp.Expr, condition: sp.Expr, ctx: Context) -> sp.Expr:
    """Choose sigma so that W ~ N(0, sigma^2) has the required variance: Var[N(mu, sigma^2)] = sigma^2 (from
    Stein's recurrence for the moments, terms.raw_moment), solved sigma^2 = Var[W] for sigma > 0.
    Obligations: a valid law (deterministic, sigma > 0); the condition is a requirement on a variance; the law
    satisfies what the requirement's premises declare of the variable (centred, symmetric)."""
    law = law_inside(law_expr)
    if not isinstance(law, v.Normal):
        raise RuleError(f"'normal' applies to Var[Normal(mu, sigma)], got {sp.sstr(law_expr)}")
    oblige_law(ctx, law)
    relations = ctx.input_relations or ("", "")
    target = requirement(condition, relations[-1], "the second input")
    oblige_premises_allow(ctx, law, target)
    ctx.relation = relations[-1]
    return solve_positive(v.law_variance(law), target.rhs, law, ctx)


@rule("uniform bound", "solve `Var[Uniform(-a, a)] == Var[W[i]]` for positive `a`: `a == sqrt(3*Var[W[i]])`", arity=2)
def uniform_bound(variance: sp.Expr, condition: sp.Expr, ctx: Context) -> sp.Expr:
    """Solve Var[U(lo, hi)] = Var[W] for the law's positive parameter, where the first input is an established
    Var[Uniform(lo, hi)] = expression (a chain started from that variance) and the second a requirement.
    Obligations: the first input is the variance of a valid uniform law; the second a requirement; the law
    satisfies what the requirement's premises declare of the variable (centred, symmetric)."""
    fact = equation(variance, "the first input")
    law = fact.lhs.args[0] if isinstance(fact.lhs, v.Var) else None
    if not isinstance(law, v.Uniform):
        raise ObligationFailed("the variance of a uniform law", sp.sstr(fact.lhs),
                               "the first input must be a chain that started from Var[Uniform(lo, hi)]")
    oblige_law(ctx, law)
    relations = ctx.input_relations or ("", "")
    target = requirement(condition, relations[-1], "the second input")
    oblige_premises_allow(ctx, law, target)
    ctx.relation = relations[-1]
    return solve_positive(fact.rhs, target.rhs, law, ctx)


from . import moment_rules  # noqa: E402,F401  the general rules on moments register themselves here
