"""The objects derivations talk about, as SymPy classes.

* ``Var(X)`` and ``E(X)``: variance and expectation of a random expression, kept unevaluated so that
  rules can rewrite them (``Var[X]`` and ``E[X]`` in derivation files).
* ``f(u)`` and ``df(u)``: the activation and its derivative, an abstract function until a rule needs its
  values at 0; ``d/du f(u) = df(u)``, which is what lets the chain rule differentiate through it.
* ``Uniform(lo, hi)`` and ``Normal(mu, sigma)``: a random variable with that law, as in
  ``Var[Uniform(-a, a)]``; :func:`density` gives the probability density used to integrate moments.
"""

from __future__ import annotations

import sympy as sp


class _Moment(sp.Function):
    """A moment operator M[X]: one argument, never evaluated by SymPy itself."""

    nargs = 1
    bracket_name = ""
    latex_name = ""

    def _sympystr(self, printer):
        return f"{self.bracket_name}[{printer.doprint(self.args[0])}]"

    def _latex(self, printer):
        return rf"{self.latex_name}\left[{printer._print(self.args[0])}\right]"


class Var(_Moment):
    """Variance Var[X] = E[(X - E[X])^2]."""

    bracket_name = "Var"
    latex_name = r"\operatorname{Var}"


class E(_Moment):
    """Expectation E[X]."""

    bracket_name = "E"
    latex_name = r"\mathbb{E}"


class df(sp.Function):
    """f'(u), the derivative of the activation."""

    nargs = 1

    def _latex(self, printer):
        return rf"f'\!\left({printer._print(self.args[0])}\right)"


class f(sp.Function):
    """The activation f(u), applied element-wise; d/du f(u) = f'(u)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return df(self.args[0])


class Uniform(sp.Function):
    """A random variable X ~ U(lo, hi)."""

    nargs = 2

    def _latex(self, printer):
        lo, hi = (printer._print(a) for a in self.args)
        return rf"\mathcal{{U}}\left({lo}, {hi}\right)"


class Normal(sp.Function):
    """A random variable X ~ N(mu, sigma^2), given by its mean and standard deviation."""

    nargs = 2

    def _latex(self, printer):
        mu, sigma = (printer._print(a) for a in self.args)
        return rf"\mathcal{{N}}\left({mu}, {sigma}^{{2}}\right)"


DISTRIBUTIONS = (Uniform, Normal)


def density(law: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """The density of ``law`` at ``x`` and its support (p(x), lower, upper).

    U(lo, hi): p(x) = 1/(hi - lo) on [lo, hi].  N(mu, sigma): p(x) = exp(-(x-mu)^2/(2 sigma^2))/(sigma sqrt(2 pi)).
    """
    if isinstance(law, Uniform):
        lo, hi = law.args
        return 1 / (hi - lo), lo, hi
    if isinstance(law, Normal):
        mu, sigma = law.args
        p = sp.exp(-((x - mu) ** 2) / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))
        return p, -sp.oo, sp.oo
    raise TypeError(f"not a distribution: {law}")


def moments_of(expr: sp.Expr) -> list[sp.Expr]:
    """Every Var[.] and E[.] in ``expr``."""
    return sorted(expr.atoms(Var, E), key=sp.default_sort_key)


def base_name(x: sp.Expr) -> str | None:
    """The declared name behind a symbol or indexed variable: ``z`` for z[i, j], ``a`` for a."""
    if isinstance(x, sp.Indexed):
        return x.base.name
    if isinstance(x, (sp.Symbol, sp.IndexedBase)):
        return x.name
    return None
