"""Domains: every expression the kernel accepts is real, because it takes square roots, logarithms and
fractional powers only of quantities it shows nonnegative (positive for log), and has no imaginary unit.

The sign rules, each a fact about real numbers (unknown = no):
  a number by its value; a symbol by its declared kind (positive, size); Var[X] >= 0 for real X;
  x**(2m) >= 0; |x| >= 0; exp(x) > 0; sqrt(x) >= 0; a sum of nonnegatives >= 0 (positive if one term is);
  a product of nonnegatives >= 0 (positive if all are); E[X**(2m)] >= 0; a constant by its known value.
Only then may the comparison treat Var[.] as nonnegative and E[.] as real.
"""

from __future__ import annotations

import sympy as sp

from . import terms as v

BAD_ATOMS = (sp.I, sp.zoo, sp.oo, -sp.oo, sp.nan)


def sign_of(expr: sp.Expr, positive: bool = False) -> bool:
    """True when ``expr`` is shown >= 0 (``positive``: > 0) by the rules of the module docstring."""
    if expr.is_Number:
        return bool(expr > 0) if positive else bool(expr >= 0)
    if expr in (sp.pi, sp.E):
        return True
    if isinstance(expr, (sp.Symbol, sp.Indexed)):
        return bool(expr.is_positive) if positive else bool(expr.is_nonnegative)
    if isinstance(expr, v.Var):
        return not positive
    if isinstance(expr, sp.exp):
        return _real(expr.args[0])
    if isinstance(expr, sp.Abs):
        return not positive and _real(expr.args[0])
    if isinstance(expr, v.E):
        inner = expr.args[0]
        return not positive and isinstance(inner, sp.Pow) and _even(inner.exp) and _real(inner.base)
    if isinstance(expr, sp.Pow):
        base, exponent = expr.args
        if _even(exponent):
            return _real(base) and (not positive or sign_of(base, True) or sign_of(-base, True))
        return sign_of(base, positive) and _real(exponent)
    if isinstance(expr, sp.Add):
        return all(sign_of(a) for a in expr.args) and (not positive or any(sign_of(a, True) for a in expr.args))
    if isinstance(expr, sp.Mul):
        return all(sign_of(a, positive) for a in expr.args)
    return False


def _even(exponent: sp.Expr) -> bool:
    return bool(exponent.is_Integer and exponent % 2 == 0)


def _real(expr: sp.Expr) -> bool:
    """Real-valued: no imaginary unit, and every root and logarithm inside it of an admissible argument."""
    return problem(expr) is None


def problem(expr: sp.Expr) -> str | None:
    """The first reason ``expr`` may not be real, or None: an imaginary unit, an infinity, a root or a
    fractional power of something not shown nonnegative, a logarithm of something not shown positive."""
    if not isinstance(expr, sp.Basic):
        return "not an expression"
    for atom in BAD_ATOMS:
        if expr.has(atom):
            return f"{sp.sstr(atom)} is not a real number"
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Pow) and not node.exp.is_Integer:
            if not node.exp.is_Rational and node.exp.free_symbols:
                if not sign_of(node.base, positive=True):
                    return f"{sp.sstr(node)}: a symbolic power of something not shown positive"
            elif not sign_of(node.base):
                return f"{sp.sstr(node)}: a root or fractional power of something not shown nonnegative"
        if isinstance(node, sp.log) and not sign_of(node.args[0], positive=True):
            return f"{sp.sstr(node)}: the logarithm of something not shown positive"
    return None
