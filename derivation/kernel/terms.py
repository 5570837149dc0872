"""The objects derivations talk about, as SymPy classes.

* ``Var(X)`` and ``E(X)``: variance and expectation of a random expression, kept unevaluated so that
  rules can rewrite them (``Var[X]`` and ``E[X]`` in derivation files).
* ``f(u)`` and ``df(u)``: the activation and its derivative, an abstract function until a rule needs its
  values at 0; ``d/du f(u) = df(u)``, which is what lets the chain rule differentiate through it.
* ``Uniform(lo, hi)`` and ``Normal(mu, sigma)``: a random variable with that law, as in
  ``Var[Uniform(-a, a)]``; :func:`raw_moment` computes its moments.
"""

from __future__ import annotations

import sympy as sp


class _Moment(sp.Function):
    """A moment operator M[X]: one argument, never evaluated by SymPy itself."""

    nargs = 1
    bracket_name = ""

    def _sympystr(self, printer):
        return f"{self.bracket_name}[{printer._print(self.args[0])}]"


class Var(_Moment):
    """Variance Var[X] = E[(X - E[X])^2]."""

    bracket_name = "Var"


class E(_Moment):
    """Expectation E[X]."""

    bracket_name = "E"


class Cov(sp.Function):
    """Covariance Cov[X, Y] = E[(X - E[X]) (Y - E[Y])], kept unevaluated (``Cov[X, Y]`` in derivation files)."""

    nargs = 2

    def _sympystr(self, printer):
        return f"Cov[{printer._print(self.args[0])}, {printer._print(self.args[1])}]"


MOMENTS = (Var, E, Cov)        # numbers computed from laws: a random variable inside one is not random outside


class df(sp.Function):
    """f'(u), the derivative of the activation."""

    nargs = 1


class f(sp.Function):
    """The activation f(u), applied element-wise; d/du f(u) = f'(u)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return df(self.args[0])


class _Law(sp.Function):
    """A random variable given by its law and two parameters, printed as Name(p, q)."""

    nargs = 2

    def _sympystr(self, printer):
        return f"{type(self).__name__}({printer._print(self.args[0])}, {printer._print(self.args[1])})"


class Uniform(_Law):
    """A random variable X ~ U(lo, hi)."""


class Normal(_Law):
    """A random variable X ~ N(mu, sigma^2), given by its mean and standard deviation."""


class Bernoulli(sp.Function):
    """A random variable X ~ Bernoulli(p): 1 with probability p, else 0. Only a declared law (a symbol's
    ``law``), never written inside an expression."""

    nargs = 1

    def _sympystr(self, printer):
        return f"Bernoulli({printer._print(self.args[0])})"


DISTRIBUTIONS = (Uniform, Normal)
LAWS = (Uniform, Normal, Bernoulli)          # what a symbol's ``law`` may declare


def raw_moment(law: sp.Expr, order: int) -> sp.Expr:
    """E[X^order] for X with the given law, computed (never quoted).

    U(lo, hi): the integral of x^order / (hi - lo) over [lo, hi], by its antiderivative
    x^(order+1) / ((order+1) (hi - lo)) (the witnesses integrate the density independently).
    N(mu, sigma): the recurrence E[X^k] = mu E[X^(k-1)] + (k - 1) sigma^2 E[X^(k-2)], E[X^0] = 1, E[X] = mu
    (Stein's identity, E[(X - mu) g(X)] = sigma^2 E[g'(X)], with g(x) = x^(k-1): the Gaussian integral by parts;
    the soundness witnesses integrate the density independently).
    Bernoulli(p): X^k = X for k >= 1, so E[X^k] = p (the witnesses enumerate the two outcomes).
    """
    if isinstance(law, Uniform):
        lo, hi = law.args
        return sp.cancel((hi ** (order + 1) - lo ** (order + 1)) / ((order + 1) * (hi - lo)))
    if isinstance(law, Normal):
        mu, sigma = law.args
        moments = [sp.S.One, mu]
        for k in range(2, order + 1):
            moments.append(sp.expand(mu * moments[k - 1] + (k - 1) * sigma**2 * moments[k - 2]))
        return moments[order]
    if isinstance(law, Bernoulli):
        # X in {0, 1}, so X^k = X for k >= 1: E[X^k] = 1*p + 0*(1 - p) = p
        return sp.S.One if order == 0 else law.args[0]
    raise TypeError(f"not a distribution: {law}")


def law_variance(law: sp.Expr) -> sp.Expr:
    """Var[X] = E[X^2] - E[X]^2, from the moments of the law (raw_moment)."""
    return sp.factor(sp.cancel(raw_moment(law, 2) - raw_moment(law, 1) ** 2))


def symmetric_law(law: sp.Expr) -> bool:
    """Whether the law is symmetric about 0: U(lo, hi) with lo + hi = 0, N(0, sigma); a Bernoulli law (values 0
    and 1) never is."""
    if isinstance(law, Uniform):
        return sp.expand(law.args[0] + law.args[1]) == 0
    return isinstance(law, Normal) and law.args[0] == 0


def moments_of(expr: sp.Expr) -> list[sp.Expr]:
    """Every Var[.], E[.] and Cov[., .] in ``expr``."""
    return sorted(expr.atoms(*MOMENTS), key=sp.default_sort_key)


def peel(s: sp.Sum) -> tuple[sp.Expr, tuple[sp.Symbol, sp.Expr, sp.Expr]]:
    """A sum as (body, outermost limit). SymPy merges a sum of a sum into one Sum with several limits,
    innermost first; peeling the last limit treats every Sum as nested single sums."""
    *inner, outer = s.limits
    return (sp.Sum(s.function, *inner) if inner else s.function), tuple(outer)
