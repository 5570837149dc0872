"""Activation specifications (``--activation``, a file's ``activation``): a known name or an expression in x,
parsed by the safe parser into the expression the kernel checks (kernel.activation)."""

from __future__ import annotations

import sympy as sp

from .kernel import terms as v
from .kernel.activation import X
from .parser import Namespace, ParseError, parse

ACTIVATIONS = {
    "tanh": "tanh(x)",
    "sigmoid": "1/(1 + exp(-x))",
    "relu": "Max(0, x)",
    "identity": "x",
    "softsign": "x/(1 + abs(x))",
}
_VOCABULARY = (v.f, v.df, v.Var, v.E, v.Cov, v.Uniform, v.Normal)


class ActivationError(ValueError):
    """An --activation that is neither a known name nor an expression in x."""


def activation_expr(spec: str, parameters: dict | None = None, values: dict | None = None) -> tuple[str, sp.Expr]:
    """(display name, f(x)) for a known activation name or an expression in x (and the derivation's
    declared ``parameters``, such as a slope), with ``values`` substituted."""
    text = ACTIVATIONS.get(spec, spec)
    parameters = {name: s for name, s in (parameters or {}).items() if not s.is_integer}
    try:
        expr = parse(text, Namespace({**parameters, "x": X}, {}))
    except ParseError as exc:
        known = ", ".join(ACTIVATIONS)
        raise ActivationError(f"--activation {spec!r}: {exc} (use one of {known}, or an expression in x)") from None
    if not isinstance(expr, sp.Equality):
        expr = expr.xreplace(values or {})
    if isinstance(expr, sp.Equality) or expr.free_symbols - {X} - set(parameters.values()):
        raise ActivationError(f"--activation {spec!r}: must be an expression in x alone")
    if expr.has(sp.Sum, *_VOCABULARY):
        raise ActivationError(f"--activation {spec!r}: must be built from x and elementary functions")
    return spec, expr


def check_activation(spec: str, parameters: dict | None = None, values: dict | None = None):
    """The kernel's A1 check of the activation ``spec`` (a name or an expression in x)."""
    from .kernel.activation import check_activation as check
    return check(*activation_expr(spec, parameters, values))


def check_rectifier(spec: str, parameters: dict | None = None, values: dict | None = None):
    """The kernel's rectifier check of the activation ``spec``."""
    from .kernel.activation import check_rectifier as check
    return check(*activation_expr(spec, parameters, values))
