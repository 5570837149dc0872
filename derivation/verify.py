"""The entry point to the kernel for the rest of the package: parse the activation, then run kernel.check."""

from __future__ import annotations

from .activations import activation_expr
from .kernel.check import (ASSUMPTION, INAPPLICABLE, REFUSED, VERIFIED, WRONG, AssumptionResult,
                           StepResult, Verification, context_for, subjects)
from .kernel.check import verify as _verify
from .kernel.derivation import Derivation

__all__ = ["ASSUMPTION", "INAPPLICABLE", "REFUSED", "VERIFIED", "WRONG", "AssumptionResult", "StepResult",
           "Verification", "context_for", "subjects", "verify"]   # the kernel's results, re-exported for the rest


def verify(derivation: Derivation, activation: str | None = None) -> Verification:
    """Verify ``derivation`` with its own activation, or with ``activation`` (a name or an expression in x)."""
    spec = activation or derivation.activation
    parsed = activation_expr(spec, derivation.namespace.symbols, derivation.values)
    return _verify(derivation, parsed, explicit=activation is not None)
