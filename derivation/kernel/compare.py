"""Is the claimed expression mathematically equal to the derived one?

Not string comparison: both sides are brought to a canonical form (summation variables renamed by
position, sums split over their terms with constant factors pulled out, products expanded, second moments
written as variance plus squared mean: E[X^2] = Var[X] + E[X]^2) and their difference must expand to 0. If it
does not, a bounded simplification of the difference is tried, with moments and sums treated as opaque symbols.
Only a difference proven 0 counts as equal.

The only assumptions it uses are the model's: every expression reaching it is real (kernel.domain refuses
imaginary units, and roots and logarithms of quantities not shown nonnegative or positive), so a variance
is a nonnegative real and a mean a real.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import terms as v
from .definitions import nonnegative

SIMPLIFY_LIMIT = 400   # count_ops above which simplify() is not attempted


@dataclass(frozen=True)
class Comparison:
    equal: bool
    difference: sp.Expr | None = None   # claimed - derived, simplified (None when equal or not comparable)
    ratio: sp.Expr | None = None        # claimed / derived when free of moments, laws and the activation
    reason: str = ""                    # why the two cannot be compared at all


def compare(derived: sp.Expr, claimed: sp.Expr) -> Comparison:
    """Compare two expressions, or two equations side by side (lhs with lhs, rhs with rhs)."""
    d_eq, c_eq = isinstance(derived, sp.Equality), isinstance(claimed, sp.Equality)
    if d_eq != c_eq:
        what = "an equation" if d_eq else "an expression"
        return Comparison(False, reason=f"the rule derives {what}, the claim is not")
    if d_eq:
        if not _equal(derived.lhs, claimed.lhs):
            if _equal(derived.lhs, claimed.rhs) and _equal(derived.rhs, claimed.lhs):
                return Comparison(True)
            return Comparison(False, reason=f"left sides differ: {sp.sstr(derived.lhs)} vs {sp.sstr(claimed.lhs)}")
        derived, claimed = derived.rhs, claimed.rhs
    if _equal(derived, claimed):
        return Comparison(True)
    difference = _simplified(canonical(claimed) - canonical(derived))
    ratio = None
    if derived != 0:
        quotient = _simplified(canonical(claimed) / canonical(derived))
        ratio = quotient if _plain_factor(quotient) else None
    return Comparison(False, difference, ratio)


def _plain_factor(quotient: sp.Expr) -> bool:
    """A ratio worth showing: finite, not 1, and free of what is random here (moments, laws, the activation and
    its derivative: every function of ``terms``), so a number (3/2) or a deterministic factor (sqrt(d_k), 1 - p).
    Random variables outside a moment are the caller's to recognise (the kinds are declared, not known here)."""
    if quotient == 1 or quotient.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        return False
    return not any(type(a).__module__ == v.__name__ for a in quotient.atoms(sp.Function))


def equal(a: sp.Expr, b: sp.Expr) -> bool:
    return compare(a, b).equal


def _equal(a: sp.Expr, b: sp.Expr) -> bool:
    if a == b:
        return True
    difference = sp.expand(canonical(a) - canonical(b))
    if difference == 0:
        return True
    return _simplified(difference) == 0


def _simplified(expr: sp.Expr) -> sp.Expr:
    """simplify(), with moments and sums as opaque symbols, only for expressions of bounded size."""
    opaque, back = {}, {}
    for atom in sorted(expr.atoms(*v.MOMENTS, sp.Sum), key=sp.default_sort_key):
        symbol = sp.Dummy(nonnegative=True) if isinstance(atom, v.Var) else sp.Dummy(real=True)
        opaque[atom], back[symbol] = symbol, atom
    plain = expr.xreplace(opaque)
    if sp.count_ops(plain) > SIMPLIFY_LIMIT:
        return sp.expand(expr)
    return sp.simplify(plain).xreplace(back)


def canonical(expr: sp.Expr) -> sp.Expr:
    """A normal form in which equal sums and moments look the same (see module docstring)."""
    return _second_moments(_covariances(_expand_sums(_rename_bound(expr), frozenset())))


def _covariances(expr: sp.Expr) -> sp.Expr:
    """Cov[X, Y] = Cov[Y, X] (its arguments in SymPy's canonical order), and Cov[X, X] = Var[X]: both by the
    definition E[(X - E[X]) (Y - E[Y])]."""
    def normal(node):
        first, second = sorted(node.args, key=sp.default_sort_key)
        return v.Var(first) if sp.expand(first - second) == 0 else v.Cov(first, second)
    return expr.replace(lambda e: isinstance(e, v.Cov), normal) if expr.has(v.Cov) else expr


def _second_moments(expr: sp.Expr) -> sp.Expr:
    """Every mean of a square, E[X^2], written as Var[X] + E[X]^2, then expanded.

    Var[X] = E[(X - E[X])^2] = E[X^2] - 2 E[X] E[X] + E[X]^2 = E[X^2] - E[X]^2 by linearity of E, so the
    rewriting holds for every X with a finite second moment (every random variable here has the finite moments
    the rules use). A square is what the expanded canonical form shows as one: a power with an even exponent,
    X^(2m) = (X^m)^2, or a product of such powers, prod_k X_k^(2m_k) = (prod_k X_k^(m_k))^2; a square of a sum
    is expanded inside E before this step, so it is not one. Applied to both sides of a comparison alike, it
    identifies E[A^2] E[B^2] - E[A]^2 E[B]^2 with E[A]^2 Var[B] + E[B]^2 Var[A] + Var[A] Var[B]."""
    if not expr.args or isinstance(expr, sp.Indexed):
        return expr
    rebuilt = expr.func(*[_second_moments(a) for a in expr.args])
    if isinstance(rebuilt, v.E):
        root = _square_root(rebuilt.args[0])
        if root is not None:
            return sp.expand(v.Var(root) + _second_moments(v.E(root)) ** 2)
        return rebuilt
    return sp.expand(rebuilt) if isinstance(rebuilt, (sp.Add, sp.Mul, sp.Pow)) else rebuilt


def _square_root(expr: sp.Expr) -> sp.Expr | None:
    """X when ``expr`` is written X^2: a power with an even positive integer exponent, or a product of such
    powers (no numeric factor); else None."""
    factors = sp.Mul.make_args(expr)
    if not all(isinstance(x, sp.Pow) and x.exp.is_Integer and x.exp > 0 and x.exp % 2 == 0 for x in factors):
        return None
    return sp.Mul(*[x.base ** (x.exp // 2) for x in factors])


def _rename_bound(expr: sp.Expr, depth: int = 0) -> sp.Expr:
    """Summation variables become _s0, _s1, ... by nesting depth (sibling sums are separate scopes)."""
    if isinstance(expr, sp.Sum):
        body, (var, lo, hi) = v.peel(expr)
        name = sp.Symbol(f"_s{depth}", integer=True)
        return sp.Sum(_rename_bound(body.xreplace({var: name}), depth + 1), (name, lo, hi))
    if not expr.args or isinstance(expr, sp.Indexed):
        return expr
    return expr.func(*[_rename_bound(a, depth) for a in expr.args])


def _expand_sums(expr: sp.Expr, unsigned: frozenset) -> sp.Expr:
    """sum_j (a_j + b_j) -> sum_j a_j + sum_j b_j; sum_j c x_j -> c sum_j x_j; sum_j c -> (hi - lo + 1) c when
    the limits are integers; then expand."""
    if isinstance(expr, sp.Sum):
        inner, (var, lo, hi) = v.peel(expr)
        # ``unsigned``: summation variables around this one whose range may go below 0 (not index symbols >= 0)
        within = unsigned if nonnegative(lo) and not lo.free_symbols & unsigned else unsigned | {var}
        body = sp.expand(_expand_sums(inner, within))
        out = sp.S.Zero
        for term in sp.Add.make_args(body):
            outside = [a for a in sp.Mul.make_args(term) if var not in a.free_symbols]
            inside = [a for a in sp.Mul.make_args(term) if var in a.free_symbols]
            count = hi - lo + 1                       # sum_{j=lo}^{hi} c = (hi - lo + 1) c only for integer limits,
            # and only for a count shown >= 0: an empty sum (hi < lo) is 0, not SymPy's Karr-convention -count*c
            collapse = not inside and count.is_integer and (
                count.is_nonnegative or (nonnegative(count) and not count.free_symbols & unsigned))
            out += sp.Mul(*outside) * ((hi - lo + 1) if collapse else sp.Sum(sp.Mul(*inside), (var, lo, hi)))
        return out
    if not expr.args or isinstance(expr, sp.Indexed):
        return expr
    rebuilt = expr.func(*[_expand_sums(a, unsigned) for a in expr.args])
    return sp.expand(rebuilt) if isinstance(rebuilt, (sp.Add, sp.Mul, sp.Pow)) else rebuilt
