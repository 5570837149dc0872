"""General rules, beyond the network pattern: linearity of expectation, the mean of an independent product,
variance scaling and the variance identity, the moments of declared laws, substitution of a fact, a pure
algebra step, and the unrolling of a recurrence (telescoping). Registered with kernel.rules.rule like the others; each discharges its obligations through the
model (kernel.model) and never sees the claim.
"""

from __future__ import annotations

import sympy as sp

from . import terms as v
from .definitions import fresh_index, rename_bound
from .model import yes
from .rules import Choices, Context, ObligationFailed, RuleError, changed_or_fail, map_moments, oblige_count, \
    negative_binder, oblige_independent_factors, oblige_law, range_binder, rule, split_coefficient


@rule("expectation linearity",
      "`E[Sum(c[j]*X[j], (j, 1, N)) + c0] == Sum(c[j]*E[X[j]], (j, 1, N)) + c0` for constants `c[j]`, `c0`")
def expectation_linearity(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """E[sum_t c_t X_t + c] = sum_t c_t E[X_t] + c, and E[sum_{j=lo}^{hi} Y_j] = sum_{j=lo}^{hi} E[Y_j] (nested
    sums too): the expectation is linear on finite sums (every moment is assumed finite). Products are
    multiplied out first, powers are not: E[(X + Y)**2] stays one term.
    Obligation: each sum's count is a nonnegative integer from deterministic limits (a finite sum)."""

    def linear(arg):
        terms = sp.Add.make_args(sp.expand_mul(arg))
        out = sp.S.Zero
        for term in terms:
            coeff, rand = split_coefficient(term, ctx)
            if not ctx.is_random(rand):
                out += term
            elif isinstance(rand, sp.Sum):
                body, limit = v.peel(rand)
                oblige_count(ctx, limit)
                out += coeff * sp.Sum(linear(body), limit)
            else:
                out += coeff * v.E(rand)
        return out

    def apply(arg):
        out = linear(arg)
        return None if out == v.E(arg) else out

    return changed_or_fail(expr, map_moments(expr, v.E, apply),
                           f"no mean of a sum, of a scaled variable or of a constant in {sp.sstr(expr)}")


@rule("variance scaling", "`Var[a*X + c0] == a**2*Var[X]` for constants `a`, `c0` (`X` itself is not split)")
def variance_scaling(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Var[c X + c0] = E[(c X - c E[X])^2] = c^2 Var[X] for deterministic c and c0; X is the whole random part
    (a sum stays one variable: nothing about its terms is needed). No obligation beyond finite moments."""

    def scale(arg):
        terms = sp.Add.make_args(sp.expand_mul(arg))
        random = sp.Add(*[t for t in terms if ctx.is_random(t)])
        if random == 0:
            return sp.S.Zero                          # the variance of a constant
        coeff, rand = split_coefficient(sp.factor_terms(random), ctx)
        out = coeff**2 * v.Var(rand)
        return None if out == v.Var(arg) else out

    return changed_or_fail(expr, map_moments(expr, v.Var, scale),
                           f"no variance of a scaled or shifted variable in {sp.sstr(expr)}")


@rule("product mean", "`E[X*Y] == E[X]*E[Y]` for independent `X`, `Y`", needs=("independent",))
def product_mean(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """E[c X_1 X_2 ... X_m] = c E[X_1] E[X_2] ... E[X_m] for mutually independent factors (a power X**2 is one
    factor: E[X**2] is not E[X]**2). Obligation: each factor independent of the product of the factors after
    it (kernel.model.Model.independent), which makes them mutually independent."""

    def split(arg):
        coeff, rand = split_coefficient(arg, ctx)
        factors = sorted(sp.Mul.make_args(rand), key=sp.default_sort_key)
        if len(factors) < 2:
            return None
        oblige_independent_factors(ctx, factors)
        return coeff * sp.Mul(*[v.E(factor) for factor in factors])

    return changed_or_fail(expr, map_moments(expr, v.E, split),
                           f"no mean of a product of random variables in {sp.sstr(expr)}")


@rule("variance identity", "`Var[X] == E[X**2] - E[X]**2`, in either direction")
def variance_identity(expr: sp.Expr, ctx: Context) -> Choices:
    """Var[X] = E[(X - E[X])^2] = E[X^2] - E[X]^2 (expand the square; E is linear). Two results, in this order:
    every Var[X] written E[X^2] - E[X]^2, and every E[X^2] written Var[X] + E[X]^2 (X random). No obligation
    beyond finite moments."""
    forward = map_moments(expr, v.Var, lambda x: v.E(x**2) - v.E(x) ** 2)

    def backward(arg):
        if isinstance(arg, sp.Pow) and arg.exp == 2 and ctx.is_random(arg.base):
            return v.Var(arg.base) + v.E(arg.base) ** 2
        return None

    options = [out for out in (forward, map_moments(expr, v.E, backward)) if out != expr]
    if not options:
        raise RuleError(f"no Var[X] and no E[X**2] in {sp.sstr(expr)}")
    return Choices(dict.fromkeys(options))


def _declared_law(x: sp.Expr, ctx: Context) -> sp.Expr | None:
    """The law of a primitive instance whose family declares one (``law = "Bernoulli(q)"``)."""
    name = x.base.name if isinstance(x, sp.Indexed) else getattr(x, "name", None)
    decl = ctx.symbols.get(name or "")
    if decl is None or decl.kind != "random" or getattr(decl, "law", None) is None:
        return None
    if name in {d.lhs.base.name for d in ctx.definitions}:
        raise ObligationFailed("a primitive variable", sp.sstr(x), f"{name} has a definition, so its law is computed")
    return decl.law


@rule("law moments", "`E[X**2]`, `E[X]` and `Var[X]` for `X` with a declared law, computed from the law: "
                     "for a Bernoulli law with parameter `a`, `E[X**2] == E[X]` and `E[X] == a`, `Var[X] == a*(1 - a)`")
def law_moments(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """The moments of a variable with a declared law (or a law written in place), computed by
    terms.raw_moment: E[X^k] = raw_moment(law, k) and Var[X] = E[X^2] - E[X]^2. Bernoulli(p): X^k = X, so
    E[X^k] = p and Var[X] = p (1 - p). Obligation: the variable has that law (declared for its family, which
    no definition gives; the law was checked valid when the file loaded)."""

    def law_of(x):
        if isinstance(x, v.DISTRIBUTIONS):
            oblige_law(ctx, x)                 # written in place: deterministic parameters, a valid law
            return x
        law = _declared_law(x, ctx)
        if law is not None:
            ctx.oblige("a declared law", x, yes(f"{sp.sstr(x)} ~ {sp.sstr(law)}"))
        return law

    def moment(arg, kind):
        base, order = (arg.base, arg.exp) if isinstance(arg, sp.Pow) else (arg, sp.S.One)
        if not (order.is_Integer and order > 0):
            return None
        law = law_of(base)
        if law is None:
            return None
        raw = v.raw_moment(law, int(order))
        if kind is v.E:
            return raw
        return sp.factor(sp.cancel(v.raw_moment(law, 2 * int(order)) - raw**2))

    out = map_moments(expr, v.E, lambda a: moment(a, v.E))
    out = map_moments(out, v.Var, lambda a: moment(a, v.Var))
    return changed_or_fail(expr, out, f"no moment of a variable with a declared law in {sp.sstr(expr)}")


@rule("substitution", "replace `Var[X]` (or `E[X]`) by `c0` where a cited assumption's fact `Var[X] == c0` or an "
                      "earlier step's equation (cited with 'from') gives it", arity=0)
def substitution(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Replace equals by equals. The facts are the premise equations of the cited assumptions (``Var[X] == c``:
    every instance of the primitive family X, Var[X[j]] included) and the equations of the steps cited with
    ``from`` (their left side exactly as written, for every value of its free indices). Every fact that occurs is
    used, in the order cited. Obligations: the fact is cited (recorded as a premise of this step and, through
    the chain, of everything after it); a step's fact is an equation; no index of the fact's right side that is
    not on its left is captured by a sum of the expression."""
    out = expr
    bound = {limit[0] for s in expr.atoms(sp.Sum) for limit in s.limits}
    for assumption in ctx.cited:
        for fact in assumption.facts:
            family = fact.lhs.args[0].name

            def matches(x, family=family):
                return (isinstance(x, sp.Indexed) and x.base.name == family) or getattr(x, "name", None) == family

            moment = type(fact.lhs)
            replaced = map_moments(out, moment, lambda x, fact=fact, m=matches: fact.rhs if m(x) else None)
            if replaced != out:
                ctx.oblige("a cited fact", fact.lhs, yes(f"{sp.sstr(fact)}, given in {assumption.id}", [assumption.id]))
                out = replaced
    for step_id, fact in ctx.cited_facts:
        if not isinstance(fact, sp.Equality):
            raise RuleError(f"step {step_id} did not establish an equation, so it cannot be substituted")
        captured = (fact.rhs.free_symbols - fact.lhs.free_symbols) & bound
        if captured:
            raise RuleError(f"substituting step {step_id} would put {', '.join(sorted(map(str, captured)))} under a "
                            f"sum over it")
        ranges = ctx.cited_ranges.get(step_id, ())                     # where the fact holds
        below = negative_binder(out, fact.lhs) or range_binder(out, fact.lhs, ranges)
        if below:
            raise RuleError(f"step {step_id} cannot be substituted here: {below}")
        replaced = out.xreplace({fact.lhs: fact.rhs})
        if replaced == out:
            raise RuleError(f"{sp.sstr(fact.lhs)} (the left side of step {step_id}) does not occur in {sp.sstr(out)}")
        ctx.oblige("a cited fact", fact.lhs, yes(f"{sp.sstr(fact)}, established by step {step_id}"))
        out = replaced
    return changed_or_fail(expr, out, f"no cited fact applies to {sp.sstr(expr)} (cite an assumption with 'facts' "
                                      f"in 'uses', or a step with 'from')")


@rule("algebra", "rewrite without any probabilistic fact, e.g. `(a**2*Var[X] + a*Var[X])/a**2 == Var[X] + Var[X]/a`: "
                 "the claim must equal the input as an expression")
def algebra(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """The identity: the claim is compared with the input itself (kernel.compare: canonical forms, a bounded
    simplify), so a step of pure algebra (cancelling, collecting, factoring) verifies, and anything that needs
    a fact about the random variables does not."""
    return expr


@rule("telescoping", "unroll a recurrence: with the definition `z[j+1, k] == z[j, k] + c0*X[j]`, "
                     "`z[i, k] == z[0, k] + Sum(c0*X[j], (j, 0, i - 1))`")
def telescoping(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """For a definition X[l+1, u] := X[l, u] + G(l, u) (a residual stream: the next layer is this one plus a
    branch), every instance X[m, v] with m not 0 is X[0, v] + sum_{t=0}^{m-1} G(t, v): by induction on m >= 0
    (m = 0: the empty sum; m -> m + 1: the definition). Each such instance of the input is replaced once (the
    X[t, .] inside the branches stay). Obligations: the definition has the telescoping form (checked); m is a
    layer, a nonnegative integer (layers are, by the format's convention: kernel.definitions refuses negative
    ones)."""
    mapping = {}
    for definition in ctx.definitions:
        lhs, layer = definition.lhs, definition.lhs.indices[0]
        symbols = sorted(layer.free_symbols, key=str)
        if len(symbols) != 1 or sp.expand(layer - symbols[0]) != 1:
            continue
        step = symbols[0]
        below = lhs.base[(step, *lhs.indices[1:])]
        terms = sp.Add.make_args(definition.rhs)
        if below not in terms:
            continue
        branch = sp.Add(*[t for t in terms if t != below])
        for instance in sorted(expr.atoms(sp.Indexed), key=sp.default_sort_key):
            if instance.base != lhs.base or len(instance.indices) != len(lhs.indices) or instance.indices[0] == 0:
                continue
            top = instance.indices[0]
            if top.is_Integer and top < 0:
                raise ObligationFailed("a nonnegative layer", sp.sstr(instance), f"the layer {top} is negative")
            # no capture: the branch's own summation variables renamed away from every name in the input (bound
            # ones too) and in the instance, and the new layer variable fresh among all of them
            avoid = expr.atoms(sp.Symbol) | lhs.free_symbols | instance.free_symbols
            safe = rename_bound(branch, avoid)
            t = fresh_index(avoid | safe.atoms(sp.Symbol))
            units = dict(zip(lhs.indices[1:], instance.indices[1:]))
            term = safe.xreplace({**units, step: t})
            mapping[instance] = lhs.base[(0, *instance.indices[1:])] + sp.Sum(term, (t, 0, top - 1))
            ctx.oblige("a telescoping definition", instance,
                       yes(f"{definition.text} := {sp.sstr(definition.rhs)} adds a branch to the layer below, so "
                           f"{sp.sstr(instance)} is layer 0 plus the branches of layers 0..{sp.sstr(top - 1)}"))
    return changed_or_fail(expr, expr.xreplace(mapping),
                           f"no instance of a family defined by a recurrence z[i+1, k] := z[i, k] + ... in "
                           f"{sp.sstr(expr)}")


@rule("covariance expansion", "`Var[X + Y] == Var[X] + Var[Y] + 2*Cov[X, Y]`, for any number of terms (constants "
                              "drop out, scales come out squared)")
def covariance_expansion(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Var[sum_t c_t X_t + c] = sum_t c_t^2 Var[X_t] + 2 sum_{s<t} c_s c_t Cov[X_s, X_t]: the square of the
    centred sum expanded, E linear. No independence needed (that is what the covariances carry); a sum over an
    index is one term X_t. No obligation beyond finite moments."""

    def expand(arg):
        parts = [split_coefficient(t, ctx) for t in sp.Add.make_args(sp.expand_mul(arg)) if ctx.is_random(t)]
        if len(parts) < 2:
            return None
        out = sum((c**2 * v.Var(x) for c, x in parts), sp.S.Zero)
        for first in range(len(parts)):
            for second in range(first + 1, len(parts)):
                out += 2 * parts[first][0] * parts[second][0] * v.Cov(parts[first][1], parts[second][1])
        return out

    return changed_or_fail(expr, map_moments(expr, v.Var, expand),
                           f"no variance of a sum of several random terms in {sp.sstr(expr)}")


@rule("covariance bilinearity", "`Cov[a*X + c0*Y, z] == a*Cov[X, z] + c0*Cov[Y, z]` in each argument, sums too; "
                                "constants drop out")
def covariance_bilinearity(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Cov[sum_s a_s X_s + a, sum_t b_t Y_t + b] = sum_s sum_t a_s b_t Cov[X_s, Y_t] (E is linear), with a sum
    over an index as a sum of covariances (its variable renamed where the other side uses the name).
    Obligation: each sum's count is a nonnegative integer from deterministic limits (a finite sum)."""

    def linear(a, b, side):
        """Cov[a, b] spread over the terms of argument ``side`` (0: a, 1: b); a term of the first that is a
        single variable is spread over the second in turn."""
        spread, other = (a, b) if side == 0 else (b, a)
        out = sp.S.Zero
        for term in sp.Add.make_args(sp.expand_mul(spread)):
            coeff, rand = split_coefficient(term, ctx)
            if not ctx.is_random(rand):
                continue                                   # Cov[c, Y] = 0
            if isinstance(rand, sp.Sum):
                body, limit = v.peel(rand)
                oblige_count(ctx, limit)
                fresh = fresh_index(other.free_symbols | rand.free_symbols | body.free_symbols)
                body, limit = body.xreplace({limit[0]: fresh}), (fresh, *limit[1:])
                pair = (body, other) if side == 0 else (other, body)
                out += coeff * sp.Sum(linear(*pair, side), limit)
            else:
                pair = (rand, other) if side == 0 else (other, rand)
                out += coeff * (linear(*pair, 1) if side == 0 else v.Cov(*pair))
        return out

    def split(a, b):
        out = linear(a, b, 0)
        return None if out == v.Cov(a, b) else out

    return changed_or_fail(expr, map_moments(expr, v.Cov, split),
                           f"no covariance of a sum, a scaled variable or a constant in {sp.sstr(expr)}")


@rule("zero covariance", "`Cov[X, Y] == 0` for uncorrelated `X` and `Y`: independent, or with a centred factor "
                         "independent of the rest", needs=("independent",))
def zero_covariance(expr: sp.Expr, ctx: Context) -> sp.Expr:
    """Cov[X, Y] = 0 wherever the model shows X and Y uncorrelated (kernel.model.Model.uncorrelated: independent
    parts, or Cov[U R, T] = E[U] E[R T] - E[U] E[R] E[T] = 0 for a centred U independent of R and T); every
    other covariance stays. Obligation: uncorrelated, for each covariance replaced."""
    refused = []

    def vanish(first, second):
        evidence = ctx.model.uncorrelated(first, second)
        if evidence:
            ctx.oblige("uncorrelated parts", f"{sp.sstr(first)} and {sp.sstr(second)}", evidence)
            return sp.S.Zero
        refused.append(f"Cov[{sp.sstr(first)}, {sp.sstr(second)}]: {evidence.text}")
        return None

    out = map_moments(expr, v.Cov, vanish)
    if out == expr:
        raise RuleError("no covariance shown to be 0" + (f" ({refused[0]})" if refused else f" in {sp.sstr(expr)}"))
    return out
