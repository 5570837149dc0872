"""The entry point to the kernel for the rest of the package: parse the activation, run kernel.check, and seek a
sampled counterexample for every claim the kernel could not show equal.

The kernel says WRONG only with an exact counterexample (a deterministic difference); where moments are
involved it says UNPROVEN ("not shown equal"). :func:`verify` then asks the second semantics
(:mod:`derivation.sample.refute`) for a concrete model in which the claim and the step's input differ: found,
the step is WRONG with that model as its counterexample. This can only sharpen a failure; a step the kernel
did not verify is never turned into a success here.
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from .activations import activation_expr
from .kernel.check import (ASSUMPTION, INAPPLICABLE, REFUSED, UNPROVEN, VERIFIED, WRONG, AssumptionResult,
                           StepResult, Verification, context_for, subjects)
from .kernel.check import verify as _verify
from .kernel.counterexample import Counterexample
from .kernel.derivation import Derivation

__all__ = ["ASSUMPTION", "INAPPLICABLE", "REFUSED", "UNPROVEN", "VERIFIED", "WRONG", "AssumptionResult",
           "Counterexample", "StepResult", "Verification", "activation_of", "context_for", "subjects",
           "verify"]   # the kernel's results, re-exported for the rest


def activation_of(derivation: Derivation, activation: str | None = None) -> sp.Expr:
    """f(x) for ``derivation``: its own activation, or ``activation`` (a name or an expression in x)."""
    return activation_expr(activation or derivation.activation, derivation.namespace.symbols, derivation.values)[1]


def verify(derivation: Derivation, activation: str | None = None, refute: bool = True) -> Verification:
    """Verify ``derivation`` with its own activation, or with ``activation`` (a name or an expression in x).
    With ``refute``, every UNPROVEN step for which a sampled model refutes the claim becomes WRONG."""
    spec = activation or derivation.activation
    parsed = activation_expr(spec, derivation.namespace.symbols, derivation.values)
    result = _verify(derivation, parsed, explicit=activation is not None)
    if not refute or not any(r.verdict == UNPROVEN for r in result.steps):
        return result
    from .sample.refute import refute as sampled
    steps = []
    for r in result.steps:
        found = sampled(result, r.step.id, parsed[1]) if r.verdict == UNPROVEN else None
        steps.append(r if found is None else dataclasses.replace(
            r, verdict=WRONG, message="the claim does not follow: a sampled model refutes it", counterexample=found))
    return dataclasses.replace(result, steps=tuple(steps))
