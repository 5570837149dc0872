"""The witnesses: every identity holds both ways, counter-examples fail, and a false identity is caught."""

import subprocess
import sys

import numpy as np
import pytest

from derivation import witness
from derivation.layer import simulate
from derivation.kernel.rules import RULES


@pytest.fixture(scope="module")
def witnesses():
    return witness.run(seed=1, samples=100_000)


def test_every_witness_holds_and_every_counter_example_fails(witnesses):
    assert all(w.ok for w in witnesses), [w.rule for w in witnesses if not w.ok]
    counter = [w for w in witnesses if w.expect_failure]
    assert {w.rule for w in counter} == {"product variance", "variance additivity", "rectifier second moment",
                                         "product mean", "algebra", "rectifier derivative moment", "zero covariance"}
    assert all(not w.exact_holds and not w.monte_carlo.holds for w in counter)


def test_every_rule_has_a_witness(witnesses):
    assert {w.rule for w in witnesses} == set(RULES)


def test_monte_carlo_tolerance_comes_from_the_samples():
    rng = np.random.default_rng(0)
    small, large = (witness.mc_variance(rng.normal(0, 1, n), 1.0) for n in (10_000, 1_000_000))
    assert small.tolerance > 5 * large.tolerance                  # shrinks like 1/sqrt(n)
    assert small.holds and large.holds
    wrong = witness.mc_variance(rng.normal(0, 1, 1_000_000), 1.05)  # a 5% wrong "exact" value is caught
    assert not wrong.holds


def test_a_false_identity_is_caught_by_both_witnesses():
    w = witness.Witness("x", "Var[X + Y] = Var[X] (false)", exact_holds=False, exact_detail="",
                        monte_carlo=witness.mc_variance(np.random.default_rng(0).normal(0, 2, 100_000), 1.0))
    assert not w.ok


def test_layer_gains_show_the_linear_regime_and_its_price():
    tanh = {g.input_variance: g for g in simulate("tanh", seed=2)}
    assert abs(tanh[0.01].forward - 1) < 0.04 and abs(tanh[0.01].backward - 1) < 0.04
    assert tanh[1.0].forward < 0.6                                   # far from linear: the gain drops
    sigmoid = simulate("sigmoid", (0.01,), seed=2)[0]
    assert abs(sigmoid.forward - 1 / 16) < 0.005                     # f'(0)^2 = 1/16, not 1
    relu = simulate("relu", (0.1,), seed=2)[0]
    assert abs(relu.backward - 0.5) < 0.03                           # the factor 2 that He et al. restore
    assert abs(relu.forward - (0.5 - 1 / (2 * np.pi))) < 0.03


def test_witness_command():
    done = subprocess.run([sys.executable, "-m", "derivation", "witness", "--samples", "50000"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "35/35 witnesses hold" in done.stdout
    assert "fails, as it must" in done.stdout and "tanh" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "derivation", "witness", "--samples", "10"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "at least 1000" in bad.stderr
