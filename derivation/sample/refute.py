"""A counterexample, from sampled models, for a claim the kernel could not show equal.

The kernel's comparison proves equality or says "not shown equal"; it finds exact counterexamples only where
the difference is deterministic. Where moments are involved, this module looks for a concrete model (several
seeds) that satisfies the step's premises and in which the claim and the step's input differ by more than
``Z`` standard errors (or a family-level moment the claim writes is not one number). Found: the claim is
refuted, and the model's values and both sides are the counterexample. Refuting can only turn "not shown
equal" into "wrong"; nothing here can turn a failure into a success.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..kernel.check import Verification
from ..kernel.check import subjects
from .examine import Examination, chain_uses, examine_step

WORLDS = 3                   # models tried per claim
SAMPLES = 20_000


@dataclass(frozen=True)
class SampledCounterexample:
    """A concrete model in which the claim and the step's input differ."""

    values: tuple[tuple[str, object], ...]
    input: str                  # the input's value there, with its standard error
    claim: str
    detail: str                 # what was compared
    seed: int

    def text(self) -> str:
        where = ", ".join(f"{name} = {value}" for name, value in self.values)
        sides = f"input {self.input}, claim {self.claim}" if self.input else self.detail
        return f"{where}: {sides}" if where else sides


def refute(verification: Verification, step_id: str, activation: sp.Expr | None,
           samples: int = SAMPLES, worlds: int = WORLDS) -> SampledCounterexample | None:
    """A sampled counterexample to step ``step_id``'s claim, or None when every model tried agrees."""
    derivation = verification.derivation
    result = next(r for r in verification.steps if r.step.id == step_id)
    third = verification.activation.third if verification.activation is not None and \
        verification.activation.holds else None
    subject = subjects(derivation)[step_id]
    chain = chain_uses(derivation)[step_id]
    for seed in range(worlds):
        found = examine_step(derivation, result, subject, chain, activation, third, seed, samples)
        if found.agrees is False:
            return _counterexample(found, seed)
    return None


def _counterexample(found: Examination, seed: int) -> SampledCounterexample:
    if found.left is None or found.right is None:
        return SampledCounterexample(found.values, "", "", found.detail, seed)
    return SampledCounterexample(found.values, found.left.text(), found.right.text(), found.detail, seed)
