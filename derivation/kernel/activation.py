"""The computable part of the assumptions: is the activation odd with f'(0) = 1 (assumption A1)?

For an activation f(x) the check computes
  * oddness: f(-x) + f(x), simplified; f is odd iff it is 0;
  * f(0), and f'(0) as the two one-sided limits of (f(h) - f(0))/h for h -> 0+ and h -> 0-
    (ReLU has 0 on the left and 1 on the right: no derivative at 0);
  * the series of f at 0, whose first term must be x: f(x) = f(0) + f'(0) x + O(x^2) = x + O(x^2).
A1 holds iff f is odd, f(0) = 0 and f'(0) = 1. Internal symbols are Dummies, so a user's parameter of
the same name cannot be captured. Independence and centring are decided by kernel.model.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .timelimit import TimeLimitExceeded, time_limit

X = sp.Symbol("x", real=True)     # the activation's variable; every other symbol here is a Dummy (no capture)
CHECK_SECONDS = 10


@dataclass(frozen=True)
class ActivationCheck:
    """What was computed about an activation f, and whether A1 holds."""

    name: str
    expr: sp.Expr
    odd_residual: sp.Expr | None      # f(-x) + f(x), simplified (None: undecided)
    f0: sp.Expr | None
    fprime0: sp.Expr | None           # None when f has no derivative at 0
    one_sided: tuple[sp.Expr, sp.Expr] | None   # (left, right) derivatives at 0
    series: sp.Expr | None
    note: str = ""

    @property
    def third(self) -> sp.Expr | None:
        """The third derivative at 0, which sets the first neglected term of the linearisation."""
        if self.series is None:
            return None
        return self.series.removeO().coeff(X, 3) * 6

    @property
    def odd(self) -> bool:
        return self.odd_residual is not None and self.odd_residual == 0

    @property
    def holds(self) -> bool:
        return self.odd and self.f0 == 0 and self.fprime0 == 1

    def findings(self) -> list[str]:
        """The evidence, one clause each, with what fails marked."""
        out = []
        if self.odd_residual is None:
            out.append("f(-x) + f(x): undecided")
        else:
            out.append(f"f(-x) + f(x) = {sp.sstr(self.odd_residual)}" + ("" if self.odd else " (not odd)"))
        if self.f0 is not None and self.f0 != 0:
            out.append(f"f(0) = {sp.sstr(self.f0)}")
        if self.fprime0 is not None:
            out.append(f"f'(0) = {sp.sstr(self.fprime0)}")
        elif self.one_sided is not None:
            left, right = (sp.sstr(d) for d in self.one_sided)
            out.append(f"f'(0) does not exist (left {left}, right {right})")
        else:
            out.append("f'(0): undecided")
        if self.series is not None:
            out.append(f"f(x) = {sp.sstr(self.series)}")
        if self.note:
            out.append(self.note)
        return out

    def evidence(self) -> str:
        return ", ".join(self.findings())


def check_activation(name: str, fx: sp.Expr) -> ActivationCheck:
    """Compute the A1 evidence for the activation ``fx``, an expression in :data:`X` (see the module docstring)."""
    try:
        with time_limit(CHECK_SECONDS):
            return _check(name, fx)
    except TimeLimitExceeded:
        return ActivationCheck(name, fx, None, None, None, None, None,
                               note=f"not decided within {CHECK_SECONDS} s")


def _check(name: str, fx: sp.Expr) -> ActivationCheck:
    residual = fx.subs(X, -X) + fx
    if residual != 0:
        residual = sp.simplify(residual)
    if residual.has(sp.Max, sp.Min):   # Max(0, -x) + Max(0, x) reads better as Abs(x)
        residual = min(residual, sp.simplify(residual.rewrite(sp.Abs)), key=sp.count_ops)
    f0 = fx.subs(X, 0)
    if not f0.is_finite:
        return ActivationCheck(name, fx, residual, f0, None, None, None, note="f(0) is not finite")
    h = sp.Dummy("h", positive=True)
    quotient = lambda step: (fx.subs(X, step) - f0) / step  # noqa: E731
    right = sp.limit(quotient(h), h, 0, "+")
    left = sp.limit(quotient(-h), h, 0, "+")
    fprime0 = right if (right == left and right.is_finite) else None
    series, note = None, ""
    if fprime0 is not None:
        try:
            series = sp.series(fx, X, 0, 5)
        except (NotImplementedError, ValueError, TypeError, ZeroDivisionError):
            note = "series at 0: not computed"
        if series is not None and fx.has(sp.Abs, sp.Max, sp.Min, sp.sign, sp.Heaviside, sp.Piecewise):
            note = "series taken for x -> 0+"
    return ActivationCheck(name, fx, residual, f0, fprime0, (left, right), series, note)


@dataclass(frozen=True)
class RectifierCheck:
    """He et al.'s hypothesis, computed: f is positively homogeneous, f(c x) = c f(x) for c > 0, so that for
    s symmetric about 0 (normal here) E[f(s)^2] = m2 Var[s] with m2 = E[f(x)^2] for x ~ N(0, 1), integrated
    over each half-line. ReLU: m2 = 1/2; leaky ReLU with slope a: m2 = (1 + a^2)/2."""

    name: str
    expr: sp.Expr
    homogeneous: bool
    second_moment: sp.Expr | None
    derivative_moment: sp.Expr | None = None   # E[f'(x)^2] for x symmetric without an atom at 0

    @property
    def holds(self) -> bool:
        return self.homogeneous and self.second_moment is not None

    def evidence(self) -> str:
        parts = ["f(c x) = c f(x) for c > 0" if self.homogeneous else "f(c x) != c f(x): not positively homogeneous"]
        if self.second_moment is not None:
            parts.append(f"E[f(x)^2] = {sp.sstr(self.second_moment)} for x ~ N(0, 1)")
        return ", ".join(parts)


def check_rectifier(name: str, fx: sp.Expr) -> RectifierCheck:
    """Compute He et al.'s hypothesis for the activation ``fx`` (see :class:`RectifierCheck`)."""
    p, c = sp.Dummy("p", positive=True), sp.Dummy("c", positive=True)
    try:
        with time_limit(CHECK_SECONDS):
            halves = (fx.subs(X, p), fx.subs(X, -p))
            homogeneous = all(sp.simplify(h.subs(p, c * p) - c * h) == 0 for h in halves)
            if not homogeneous:
                return RectifierCheck(name, fx, False, None)
            density = sp.exp(-p**2 / 2) / sp.sqrt(2 * sp.pi)
            moment = sp.factor(sum(sp.integrate(h**2 * density, (p, 0, sp.oo)) for h in halves))
            # f'(x) = f(1) for x > 0 and -f(-1) for x < 0 (homogeneity): for s symmetric with P(s = 0) = 0,
            # E[f'(s)^2] = (f'(0+)^2 + f'(0-)^2)/2, the one-sided slopes differentiated on each half-line
            slopes = (sp.diff(halves[0], p), -sp.diff(halves[1], p))
            derivative = sp.factor(sp.simplify((slopes[0] ** 2 + slopes[1] ** 2) / 2))
            return RectifierCheck(name, fx, True, moment, derivative)
    except TimeLimitExceeded:
        return RectifierCheck(name, fx, False, None)
