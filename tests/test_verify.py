"""The engine on the shipped Glorot derivation: it verifies, and it rejects what is wrong."""

import pytest
import sympy as sp

from derivation.kernel.check import UNPROVEN
from derivation.verify import ASSUMPTION, INAPPLICABLE, VERIFIED, WRONG, verify

from conftest import failed_ids, glorot_with, verify_with

N = "(n[i] + n[i+1])"


def test_glorot_verifies_every_step(glorot_result):
    assert glorot_result.ok
    assert [r.step.id for r in glorot_result.steps] == [
        "F0", "F1", "F2", "F3", "F4", "F5", "F6", "B0", "B1", "B2", "B3", "B4", "B5", "B6", "D1", "D2", "D3", "D4"]
    assert all(r.verdict == VERIFIED for r in glorot_result.steps)
    assert [r.step.id for r in glorot_result.results] == ["D1", "D2", "D4"]


def test_rules_never_read_the_claims(glorot_result):
    """With every claim replaced by 0, every step fails and hands on what its rule derived: that chain of
    derived expressions must be the very chain derived from the real claims."""
    import re
    from conftest import ARITIES, GLOROT_TEXT
    from derivation.loader import loads
    blank, count = re.subn(r'^claim = ".*"$', 'claim = "0"', GLOROT_TEXT, flags=re.M)
    assert count == len(glorot_result.steps)
    blind = verify(loads(blank, "blank.toml", ARITIES))
    assert failed_ids(blind) == [r.step.id for r in glorot_result.steps]
    for real, derived_blind in zip(glorot_result.steps, blind.steps):
        assert derived_blind.derived == real.derived, real.step.id


WRONG_CLAIMS = {
    "square dropped from E[.]^2": ("F3", "Sum(E[z[i, j]]*Var[W[i, j, k]] + E[W[i, j, k]]**2*Var[z[i, j]] + Var[z[i, j]]*Var[W[i, j, k]], (j, 1, n[i]))"),
    "cross term dropped": ("F3", "Sum(E[W[i, j, k]]**2*Var[z[i, j]] + Var[z[i, j]]*Var[W[i, j, k]], (j, 1, n[i]))"),
    "n_i and n_{i+1} swapped (forward)": ("F6", "Var[W[i]] == 1/n[i+1]"),
    "n_i and n_{i+1} swapped (backward)": ("B6", "Var[W[i]] == 1/n[i]"),
    "arithmetic mean instead of harmonic": ("D1", f"Var[W[i]] == {N}/2"),
    "coefficient 2 -> 3": ("D1", f"Var[W[i]] == 3/{N}"),
    "sqrt(3/...) for the uniform bound": ("D4", f"a == sqrt(3/{N})"),
    "uniform variance a^2/12": ("D3", "a**2/12"),
    "normal std without sqrt": ("D2", f"sigma == 2/{N}"),
    "bias kept in the variance": ("F2", "Sum(Var[z[i, j]*W[i, j, k]], (j, 1, n[i])) + b[i, k]"),
    "sum kept after iid": ("F5", "Var[z[i]]*Var[W[i]]"),
    "fan-out n[i+2] replaced": ("B5", "n[i+1]*Var[W[i+1]]*Var[g[i+1]]"),
    "f' dropped in the chain rule": ("B0", "Var[Sum(W[i+1, k, j]*g[i+1, j], (j, 1, n[i+2]))]"),
    "wrong weight index in chain rule": ("B0", "Var[df(s[i, k])*Sum(W[i+1, j, k]*g[i+1, j], (j, 1, n[i+2]))]"),
    "mean squared kept after zero mean": ("F4", "Sum(Var[z[i, j]]*Var[W[i, j, k]] + E[z[i, j]]**2, (j, 1, n[i]))"),
    "linearisation keeps f": ("F1", "Var[f(Sum(z[i, j]*W[i, j, k], (j, 1, n[i])))]"),
}


# claims whose difference from what the rule derives is deterministic (sizes, parameters): the kernel refutes
# them exactly, with a counterexample; the others differ in moments, which the kernel's exact search does not
# evaluate
REFUTED_EXACTLY = {"n_i and n_{i+1} swapped (forward)", "n_i and n_{i+1} swapped (backward)",
                   "arithmetic mean instead of harmonic", "coefficient 2 -> 3", "sqrt(3/...) for the uniform bound",
                   "uniform variance a^2/12", "normal std without sqrt"}


@pytest.mark.parametrize("label", WRONG_CLAIMS)
def test_a_wrong_claim_fails_at_its_step_and_only_there(label):
    step_id, claim = WRONG_CLAIMS[label]
    result = verify_with(step_id, claim)
    assert not result.ok
    assert failed_ids(result) == [step_id]
    failure = next(r for r in result.steps if r.step.id == step_id)
    assert failure.derived is not None
    if label in REFUTED_EXACTLY:
        assert failure.verdict == WRONG and failure.counterexample is not None
    else:
        # a difference in moments: the kernel says UNPROVEN (not shown equal, no exact counterexample); verify()
        # may sharpen that to WRONG with a sampled counterexample, never to a success
        assert failure.verdict in (UNPROVEN, WRONG)
        assert (failure.verdict == WRONG) == (failure.counterexample is not None)


def test_failure_detail_has_difference_and_ratio():
    result = verify_with("D1", f"Var[W[i]] == 3/{N}")
    failure = next(r for r in result.steps if r.step.id == "D1")
    assert failure.comparison.ratio == sp.Rational(3, 2)
    n = sp.IndexedBase("n", positive=True, integer=True)
    i = sp.Symbol("i", integer=True)
    assert sp.simplify(failure.comparison.difference - 1 / (n[i] + n[i + 1])) == 0
    dropped = verify_with(*WRONG_CLAIMS["square dropped from E[.]^2"])
    detail = next(r for r in dropped.steps if r.step.id == "F3").comparison
    assert detail.difference is not None and detail.difference != 0


EQUAL_CLAIMS = {
    "reordered factors": ("F4", "Sum(Var[W[i, j, k]]*Var[z[i, j]], (j, 1, n[i]))"),
    "reordered product inside Var": ("F2", "Sum(Var[W[i, j, k]*z[i, j]], (j, 1, n[i]))"),
    "sqrt split": ("D4", "a == sqrt(6)/sqrt(n[i] + n[i+1])"),
    "sides swapped": ("D4", "sqrt(6/(n[i+1] + n[i])) == a"),
    "expanded harmonic mean": ("D1", "Var[W[i]] == 1/(n[i]/2 + n[i+1]/2)"),
    "expanded sum of products": ("F3", "Sum(E[z[i, j]]**2*Var[W[i, j, k]], (j, 1, n[i])) + Sum(E[W[i, j, k]]**2*Var[z[i, j]], (j, 1, n[i])) + Sum(Var[z[i, j]]*Var[W[i, j, k]], (j, 1, n[i]))"),
    "renamed summation index": ("F4", "Sum(Var[z[i, k2]]*Var[W[i, k2, k]], (k2, 1, n[i]))"),
    "f' inside the sum": ("B0", "Var[Sum(df(s[i, k])*W[i+1, k, j]*g[i+1, j], (j, 1, n[i+2]))]"),
    "uniform variance as (2a)^2/12": ("D3", "(2*a)**2/12"),
    "decimal coefficient": ("F6", "Var[W[i]] == 1.0/n[i]"),
}


@pytest.mark.parametrize("label", EQUAL_CLAIMS)
def test_an_equal_claim_written_differently_is_accepted(label):
    step_id, claim = EQUAL_CLAIMS[label]
    text_with_symbol = claim
    derivation = glorot_with(step_id, text_with_symbol) if "k2" not in claim else _with_index_k2(step_id, claim)
    assert verify(derivation).ok, label


def _with_index_k2(step_id, claim):
    from conftest import ARITIES, GLOROT_TEXT, replace_field
    from derivation.loader import loads
    text = GLOROT_TEXT.replace('k = { kind = "index", text = "unit" }',
                               'k = { kind = "index", text = "unit" }\nk2 = { kind = "index", text = "unit" }')
    return loads(replace_field(text, step_id, "claim", claim), "glorot.toml", ARITIES)


def test_after_a_wrong_step_checking_continues_from_the_derived_expression():
    # F5 claims a wrong count; F6 is then checked against what F5's rule derived, so it still verifies
    result = verify_with("F5", "2*n[i]*Var[z[i]]*Var[W[i]]")
    assert failed_ids(result) == ["F5"]
    f6 = next(r for r in result.steps if r.step.id == "F6")
    assert f6.inputs[0] != next(r for r in result.steps if r.step.id == "F5").step.claim


@pytest.mark.parametrize("activation", ["tanh", "identity", "softsign", "sin(x)", "atan(x)", "x/(1+abs(x))"])
def test_odd_activations_with_unit_slope_verify(glorot, activation):
    result = verify(glorot, activation)
    assert result.ok, activation
    assert result.activation.holds


NOT_ODD = ["F1", "F4", "F5", "F6", "B1"]     # E[f(s)] = 0 needs an odd f: F4 fails too, and F5, F6 follow it


@pytest.mark.parametrize("activation, evidence, failing", [
    ("sigmoid", ["f(-x) + f(x) = 1 (not odd)", "f'(0) = 1/4"], NOT_ODD),
    ("relu", ["not odd", "f'(0) does not exist (left 0, right 1)"], NOT_ODD),
    ("2*tanh(x)", ["f'(0) = 2"], ["F1", "B1"]),
    ("x**2", ["not odd", "f'(0) = 0"], NOT_ODD),
])
def test_other_activations_fail_at_the_linearisation_steps(glorot, activation, evidence, failing):
    result = verify(glorot, activation)
    assert not result.ok
    assert failed_ids(result) == failing
    f4 = result.steps[4]
    # F4's difference is in moments (E[z]): not shown equal by the kernel; WRONG only with a (sampled) counterexample
    assert f4.ok or (f4.verdict in (UNPROVEN, WRONG) and "E[z[i, _s0]]" in str(f4.comparison.difference))
    for r in result.steps:
        if not r.ok and r.step.rule == "linearisation":
            assert r.verdict == ASSUMPTION
            assert "A1" in r.message
            for clause in evidence:
                assert clause in r.message


def test_citing_the_wrong_assumption_fails_the_step():
    result = _uses("F4", ["A2"])                   # E[W] = 0 is A3's: without it no mean is shown 0
    assert failed_ids(result) == ["F4"]
    failure = result.steps[4]
    assert failure.verdict == INAPPLICABLE and "no cited assumption declares" in failure.message
    assert failed_ids(_uses("F2", [])) == ["F2"]
    assert failed_ids(_uses("F2", ["A2"])) == ["F2"]  # the summands are uncorrelated only through E[W] = 0 (A3)
    assert failed_ids(_uses("F1", ["A1"])) == ["F1"]


def _uses(step_id, uses):
    from conftest import ARITIES, GLOROT_TEXT
    from derivation.loader import loads
    import re
    pattern = rf'(id = "{step_id}"\nrule = "[^"]*"\n)uses = \[[^\]]*\]\n'
    text, count = re.subn(pattern, lambda m: m.group(1) + "uses = [" + ", ".join(f'"{u}"' for u in uses) + "]\n", GLOROT_TEXT)
    assert count == 1
    return verify(loads(text, "glorot.toml", ARITIES))


def test_a_rule_that_does_not_apply_is_reported():
    # iid summation on an expression without a sum
    result = verify_with("F4", "Var[z[i, j]]*Var[W[i, j, k]]")
    f5 = next(r for r in result.steps if r.step.id == "F5")
    assert "F4" in failed_ids(result)
    assert f5.verdict in (VERIFIED, INAPPLICABLE)
