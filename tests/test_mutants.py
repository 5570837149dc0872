"""Mutation testing of the shipped derivation: every claim, mutated systematically, must be rejected at
the mutated step and only there, unless the mutant is mathematically equal to the claim (skipped, counted)."""

import dataclasses

import sympy as sp

from derivation.mutants import mutants, numerically_equal
from derivation.verify import verify

from conftest import failed_ids


def test_oracle_is_not_fooled_by_rewriting():
    a, b = sp.symbols("a b", positive=True)
    assert numerically_equal(2 / (a + b), 1 / (a / 2 + b / 2))
    assert not numerically_equal(2 / (a + b), 3 / (a + b))
    assert numerically_equal(sp.Eq(a, sp.sqrt(6 / (a + b))), sp.Eq(a, sp.sqrt(6) / sp.sqrt(a + b)))


def test_every_operator_is_exercised(glorot):
    operators = {m.operator for step in glorot.steps for m in mutants(step.claim)}
    assert operators == {"constant", "size", "drop term", "exponent", "sign", "square", "moment"}


def test_every_mutant_of_every_claim_is_rejected_at_its_step(glorot, capsys):
    killed, equal, survivors = 0, 0, []
    for position, step in enumerate(glorot.steps):
        for mutant in mutants(step.claim):
            if numerically_equal(mutant.expr, step.claim):
                equal += 1
                continue
            steps = list(glorot.steps)
            steps[position] = dataclasses.replace(step, claim=mutant.expr)
            result = verify(dataclasses.replace(glorot, steps=steps))
            if failed_ids(result) == [step.id]:
                killed += 1
            else:
                survivors.append(f"{step.id} {mutant.operator} at {mutant.where}: {sp.sstr(mutant.expr)} "
                                 f"-> failed {failed_ids(result)}")
    total = killed + len(survivors)
    with capsys.disabled():
        print(f"\nderivation mutants: {killed}/{total} killed ({killed / total:.0%}), {equal} equal to the claim skipped")
    assert not survivors, "\n".join(survivors)
    assert total > 100
