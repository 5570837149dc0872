"""Expressions as text: the plain syntax of derivation files (parseable again) and a compact Unicode form."""

from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter

from .kernel.terms import peel


class PlainPrinter(StrPrinter):
    """The derivation-file syntax: Var[X], E[X], z[i, j], Sum(body, (j, 1, n)), lhs == rhs."""

    def _print_Equality(self, expr):
        return f"{self._print(expr.lhs)} == {self._print(expr.rhs)}"

    def _print_Dummy(self, expr):
        return expr.name

    def _print_Sum(self, expr):
        function, (var, lo, hi) = peel(expr)
        return f"Sum({self._print(function)}, ({self._print(var)}, {self._print(lo)}, {self._print(hi)}))"


class UnicodePrinter(PlainPrinter):
    """For the terminal: Σ_{j=1..n[i]}(...), ·, ², √. The body of a sum is always in parentheses, so that
    nothing after it reads as part of it; a sum raised to a power is parenthesised whole."""

    def _print_Sum(self, expr):
        function, (var, lo, hi) = peel(expr)
        return f"Σ_{{{self._print(var)}={self._print(lo)}..{self._print(hi)}}}({self._print(function)})"

    def _print_Pow(self, expr, rational=False):
        if isinstance(expr.base, sp.Sum) and expr.exp != -1:
            return f"({self._print(expr.base)})**{self.parenthesize(expr.exp, 100)}"
        return super()._print_Pow(expr, rational)

    def _print_Equality(self, expr):
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"


_SUPERSCRIPTS = {"**2": "²", "**3": "³", "**4": "⁴", "**": "^", "*": "·", "sqrt(": "√("}


def plain(expr: sp.Expr) -> str:
    """The expression in the syntax of derivation files."""
    return PlainPrinter().doprint(expr)


def pretty(expr: sp.Expr) -> str:
    """A compact one-line Unicode form for people."""
    text = UnicodePrinter().doprint(expr)
    for old, new in _SUPERSCRIPTS.items():
        text = text.replace(old, new)
    return text
