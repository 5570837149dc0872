"""The sampled semantics (``derivation.sample``) against the kernel, on the corpora and on targeted cases.

``derivation.sample.examine.examine`` evaluates every step of a checked derivation on a concrete model drawn
at random (sizes, indices, parameters, and laws for the primitive random variables that satisfy exactly the
premises the step cites), by Monte Carlo: ``agrees`` is True (within 5 standard errors), False (refuted) or
None (not compared). It shares no rule code with the kernel, so the two are independent witnesses:

* what the kernel verifies (built-ins, examples, the true corpus), the sampler must not refute;
* every false derivation (``tests/false``) is refused at load, not verified, or refuted by the sampler;
  and how many each semantics catches is counted;
* Glorot in detail (the linearisations, the requirements, the compromise, the solved parameters);
* small false derivations written here, refuted for the reason they are false, and their corrections not;
* determinism, and the laws of a world built directly respecting (only) the premises.

Sampler bugs these tests found (instances correlated through another family; a variance estimator bias) are
regression tests at the end.

Every run uses 20000 samples and is cached per file, so that the corpus tests and the count share it.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from derivation.activations import activation_expr
from derivation.kernel.rules import arities
from derivation.loader import LoadError, builtin_names, load, loads
from derivation.sample.examine import examine, expected_error
from derivation.sample.world import Premises, World
from derivation.verify import verify

HERE = Path(__file__).parent
ROOT = HERE.parent
SAMPLES = 20_000
Z = 5.0
BUILTINS = builtin_names()
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
TRUE_FILES = sorted((HERE / "true").glob("*.toml"))
FALSE_FILES = sorted((HERE / "false").glob("*.toml"))
# Measured (20000 samples, seed 0): 86 false files, 12 refused at load, 74 loadable, of which the kernel
# refuses all 74 and the sampler refutes a step of 61 (82%): 8 of the 9 class-13 files (not
# c13_normal_negative_root, whose defect is a solved parameter's sign), and 53 of the 77 older files (54 when
# first measured; c10_forward_from_gradient has not been refuted since). The bound is set a little below.
MIN_SAMPLER_REFUTED = 57


# ---------------------------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Run:
    """A derivation through both semantics: the load error, or the kernel's verification and the
    sampler's examinations (one per step, in order)."""

    name: str
    error: LoadError | None = None
    verification: object = None
    exams: tuple = ()

    @property
    def refuted(self) -> list:
        return [e for e in self.exams if e.agrees is False]

    def exam(self, step_id: str):
        return next(e for e in self.exams if e.step == step_id)


def _through_both(name: str, derivation, seed: int) -> Run:
    verification = verify(derivation)
    fx = activation_expr(derivation.activation, derivation.namespace.symbols, derivation.values)[1]
    # a convolution's model holds C*R*S inputs per layer: fewer draws keep it within the sampler's memory bound
    samples = 3000 if "conv" in name else SAMPLES
    return Run(name, None, verification, tuple(examine(verification, fx, seed=seed, samples=samples)))


@functools.lru_cache(maxsize=None)
def run(name: str, seed: int = 0) -> Run:
    """A built-in (by name) or a file (by path) through the kernel and the sampler (cached)."""
    try:
        derivation = load(name, arities())
    except LoadError as exc:
        return Run(name, exc)
    return _through_both(name, derivation, seed)


def run_text(text: str, seed: int = 0) -> Run:
    """A derivation written in a test through the kernel and the sampler (the loader must accept it)."""
    return _through_both("test.toml", loads(text, "test.toml", arities()), seed)


def not_ok(run_: Run) -> list[str]:
    return [f"{r.step.id} ({r.verdict})" for r in run_.verification.steps if not r.ok]


def describe(exam) -> str:
    return f"step {exam.step} [{exam.kind}]: {exam.detail} (input {exam.left}, claim {exam.right}; " \
           f"model {dict(exam.values)})"


def _label(path: Path) -> str:
    return path.name


# ---------------------------------------------------------------- 1. what the kernel accepts is not refuted

ACCEPTED = BUILTINS + [str(p) for p in EXAMPLES + TRUE_FILES]


@pytest.mark.parametrize("name", ACCEPTED, ids=[Path(n).name for n in ACCEPTED])
def test_accepted_derivation_is_not_refuted(name):
    """A built-in, example or true-corpus derivation is verified by the kernel, and the sampler, evaluating
    every step on a concrete model satisfying its premises, refutes none of its steps."""
    r = run(name)
    assert r.error is None, f"{name}: {r.error}"
    assert r.verification.ok, f"{name}: the kernel does not verify {not_ok(r)}"
    assert not r.refuted, f"{name}: verified by the kernel, but the sampler refutes " + \
        "; ".join(describe(e) for e in r.refuted)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_every_step_compared_and_agrees(name):
    """Every step of a built-in derivation (Glorot, He, LeCun) is actually compared on the model, none
    "not sampled" and none a mere premise, and every one agrees."""
    r = run(name)
    assert r.error is None and r.verification.ok
    assert len(r.exams) == len(r.verification.steps)
    bad = [f"{e.step}: {e.kind}, agrees {e.agrees}: {e.detail}" for e in r.exams if e.agrees is not True]
    assert not bad, f"{name}: " + "; ".join(bad)


# ------------------------------------------------------------- 2. false derivations: refused or refuted


@pytest.mark.parametrize("path", FALSE_FILES, ids=_label)
def test_false_derivation_is_refused_or_refuted(path):
    """A false derivation is refused at load, not verified by the kernel, or refuted by the sampler. One the
    kernel verifies while the sampler refutes a step is a kernel bug: the test fails naming file and step."""
    assert path.read_text(encoding="utf-8").startswith("# FALSE"), f"{path.name}: no '# FALSE:' header"
    r = run(str(path))
    if r.error is not None:
        return                                           # refused at load
    if r.verification.ok:
        if r.refuted:
            pytest.fail(f"{path.name}: the kernel verifies every step, but the sampler refutes "
                        + "; ".join(describe(e) for e in r.refuted))
        pytest.fail(f"{path.name}: verified by the kernel and refuted by no step of the sampler")
    assert not_ok(r)


def test_false_corpus_counts():
    """Over the false corpus, how many the kernel alone refuses, the sampler alone refutes, and both: the
    sampler independently refutes most loadable false derivations (print with ``pytest -s``)."""
    counts: Counter = Counter()
    for path in FALSE_FILES:
        r = run(str(path))
        if r.error is not None:
            counts["refused at load"] += 1
            continue
        kernel, sampler = not r.verification.ok, bool(r.refuted)
        counts[{(True, False): "kernel only", (False, True): "sampler only",
                (True, True): "both", (False, False): "neither"}[kernel, sampler]] += 1
    loadable = len(FALSE_FILES) - counts["refused at load"]
    sampler = counts["sampler only"] + counts["both"]
    print(f"\nfalse corpus: {len(FALSE_FILES)} files, {counts['refused at load']} refused at load, {loadable} "
          f"loadable: kernel only {counts['kernel only']}, sampler only {counts['sampler only']}, both "
          f"{counts['both']}, neither {counts['neither']}; refuted by the sampler {sampler}/{loadable}")
    assert counts["neither"] == 0
    assert sampler >= 0.6 * loadable, f"the sampler refutes only {sampler} of {loadable}"
    assert sampler >= MIN_SAMPLER_REFUTED, f"the sampler refutes {sampler}, fewer than the measured bound"


# ---------------------------------------------------------------------------------- 3. Glorot in detail


def test_glorot_linearisations_measured_error():
    """Glorot's linearisations F1 (of Var[f(s)]) and B1 (of E[f'(s)^2] inside a variance) agree with the
    linearised model, and the true input differs from the claim by a relative error of the sign the kernel
    predicts (negative for tanh: f'''(0) = -2) and within a factor 3 of the expected first neglected term."""
    r = run("glorot")
    for step, of_f in (("F1", True), ("B1", False)):
        e = r.exam(step)
        assert e.kind == "approximate" and e.agrees is True, describe(e)
        assert e.predicted is not None and e.predicted < 0, f"{step}: predicted {e.predicted}"
        assert e.measured is not None and e.measured.value < 0, f"{step}: measured {e.measured}"
        assert math.copysign(1, e.measured.value) == math.copysign(1, e.predicted)
        expected = expected_error(e, of_f)
        assert expected < 0
        ratio = abs(e.measured.value) / abs(expected)
        assert 1 / 3 <= ratio <= 3, f"{step}: measured {e.measured.value:.3g}, expected {expected:.3g}"


def test_glorot_kinds_of_steps():
    """Glorot's F6 and B6 are examined as requirements, D1 as a compromise of the two, D2 and D4 as a
    parameter (sigma, a) solved: each with its own meaning on the model, and each agrees."""
    r = run("glorot")
    kinds = {"F6": "requirement", "B6": "requirement", "D1": "compromise", "D2": "solve", "D4": "solve"}
    for step, kind in kinds.items():
        e = r.exam(step)
        assert e.kind == kind, f"{step}: {e.kind}"
        assert e.agrees is True, describe(e)


# ------------------------------------------------------------------------------ 4. targeted refutations

PAIR = """
title = "two variables"

[symbols]
X = {{ kind = "random", text = "X[j]" }}
Y = {{ kind = "random", text = "Y[j]" }}

[assumptions.A]
title = "premises"
statement = "the premises"
{facts}

[[sections]]
title = "one step"

[[sections.steps]]
id = "S1"
rule = "{rule}"
uses = ["A"]
start = "{start}"
claim = "{claim}"
"""


def test_refuted_additivity_without_independence():
    """Variance additivity for X[1] + X[2] with X declared i.i.d. and centred but not independent: the
    kernel refuses, the sampler refutes (its model correlates the two), and it agrees with the corrected
    claim that keeps the covariance, and with the additivity once independence is declared."""
    # FALSE: without independence Var[X[1] + X[2]] = Var[X[1]] + Var[X[2]] + 2 Cov(X[1], X[2]), and
    # nothing makes the covariance (here E[X[1]*X[2]], the means being 0) vanish.
    false = run_text(PAIR.format(facts='iid = ["X"]\nzero_mean = ["X"]', rule="variance additivity",
                                 start="Var[X[1] + X[2]]", claim="Var[X[1]] + Var[X[2]]"))
    assert not false.verification.ok
    e = false.exam("S1")
    assert e.agrees is False, describe(e)
    assert e.left.value > e.right.value + Z * e.agreement.se, describe(e)      # positively correlated
    corrected = run_text(PAIR.format(facts='iid = ["X"]\nzero_mean = ["X"]', rule="variance additivity",
                                     start="Var[X[1] + X[2]]",
                                     claim="Var[X[1]] + Var[X[2]] + 2*E[X[1]*X[2]]"))
    assert corrected.exam("S1").agrees is True, describe(corrected.exam("S1"))
    independent = run_text(PAIR.format(facts='independent = ["X", "Y"]\niid = ["X"]\nzero_mean = ["X"]',
                                       rule="variance additivity", start="Var[X[1] + X[2]]",
                                       claim="Var[X[1]] + Var[X[2]]"))
    assert independent.verification.ok
    assert independent.exam("S1").agrees is True, describe(independent.exam("S1"))


def test_refuted_zero_mean_of_uncentred_variable():
    """A zero-mean step that drops the E[X[1]]**2 term when only Y is declared centred: the kernel finds the
    claim wrong, the sampler refutes it (its X has a non-zero mean), and agrees with the rule's result,
    which keeps the term."""
    # FALSE: X is independent of Y but not centred, so E[X[1]]**2*Var[Y[1]] is not 0.
    start = "E[X[1]]**2*Var[Y[1]] + E[Y[1]]**2*Var[X[1]] + Var[X[1]]*Var[Y[1]]"
    facts = 'independent = ["X", "Y"]\nzero_mean = ["Y"]'
    false = run_text(PAIR.format(facts=facts, rule="zero mean", start=start, claim="Var[X[1]]*Var[Y[1]]"))
    assert not false.verification.ok
    e = false.exam("S1")
    assert e.agrees is False, describe(e)
    corrected = run_text(PAIR.format(facts=facts, rule="zero mean", start=start,
                                     claim="E[X[1]]**2*Var[Y[1]] + Var[X[1]]*Var[Y[1]]"))
    assert corrected.verification.ok
    assert corrected.exam("S1").agrees is True, describe(corrected.exam("S1"))


DEFINED = """
title = "a defined family"

[symbols]
i = {{ kind = "index", text = "layer" }}
j = {{ kind = "index", text = "unit" }}
n = {{ kind = "size", text = "units" }}
X = {{ kind = "random", text = "i.i.d. inputs" }}
Y = {{ kind = "random", text = "scaled inputs" }}

[definitions]
"Y[i, j]" = "j*X[i, j]"

[assumptions.A]
title = "i.i.d."
statement = "the X are independent, identically distributed and centred"
independent = ["X"]
iid = ["X"]
zero_mean = ["X"]

[[sections]]
title = "sum"

[[sections.steps]]
id = "S1"
rule = "iid summation"
uses = ["A"]
start = "Sum(Var[Y[i, j]], (j, 1, n[i]))"
claim = "{claim}"
"""


def test_refuted_iid_summation_over_differing_instances():
    """An i.i.d. summation over the defined family Y[i, j] = j*X[i, j]: the kernel refuses, and the sampler
    refutes the claim n[i]*Var[Y[i]] because Var[Y[i]] is not one number; it agrees with the sum computed
    from the i.i.d. X, n(n + 1)(2n + 1)/6 Var[X[i]]."""
    # FALSE: Var[Y[i, j]] = j**2 Var[X], different for every unit j, so "Var[Y[i]]" names no single number.
    false = run_text(DEFINED.format(claim="n[i]*Var[Y[i]]"))
    assert not false.verification.ok
    e = false.exam("S1")
    assert e.agrees is False, describe(e)
    assert "not one number" in e.detail, describe(e)
    corrected = run_text(DEFINED.format(claim="n[i]*(n[i] + 1)*(2*n[i] + 1)/6*Var[X[i]]"))
    assert corrected.exam("S1").agrees is True, describe(corrected.exam("S1"))


SHIFTED = """
title = "linearisation of f(X + {shift})"
activation = "tanh"

[symbols]
i = {{ kind = "index", text = "unit" }}
X = {{ kind = "random", text = "a centred input" }}
Y = {{ kind = "random", text = "the shifted input" }}

[definitions]
"Y[i]" = "X[i] + {shift}"

[assumptions.A1]
title = "activation"
statement = "the activation is odd with slope 1 at 0"
activation = true

[assumptions.A2]
title = "independence"
statement = "the inputs are independent"
independent = ["X"]

[assumptions.A3]
title = "centring"
statement = "the input X is centred"
zero_mean = ["X"]

[[sections]]
title = "shifted input"

[[sections.steps]]
id = "S1"
rule = "definition"
start = "Var[f(Y[i])]"
claim = "Var[f(X[i] + {shift})]"

[[sections.steps]]
id = "S2"
rule = "linearisation"
uses = ["A1", "A2", "A3"]
claim = "Var[X[i] + {shift}]"
"""


def test_refuted_linearisation_away_from_zero():
    """The linearisation of tanh(X + 5) (as in tests/false/c3_bias_5.toml): the linearised model agrees with
    the claim, but the true input differs from it by far more than the first neglected term, so the sampler
    refutes it; unshifted (X + 0) the same step is accurate to first order and agrees."""
    # FALSE: X + 5 is centred at 5, where tanh is nearly flat (tanh'(5) = 1.8e-4): Var[tanh(X + 5)] is close
    # to 0, not Var[X + 5] = Var[X]; X is centred, the argument of f is not.
    false = run_text(SHIFTED.format(shift=5))
    assert not false.verification.ok
    e = false.exam("S2")
    assert e.kind == "approximate" and e.agrees is False, describe(e)
    expected = expected_error(e, True)
    assert abs(e.measured.value) > 0.9, f"measured {e.measured}"        # the input is nearly 0: error ~ -100%
    assert abs(e.measured.value - expected) > Z * e.measured.se + 3 * abs(expected) + 0.25, \
        f"measured {e.measured}, expected {expected}"
    corrected = run_text(SHIFTED.format(shift=0))
    e0 = corrected.exam("S2")
    assert e0.kind == "approximate" and e0.agrees is True, describe(e0)
    assert abs(e0.measured.value) < 0.25


# ----------------------------------------------------------------------------------------- 5. determinism


def _readings(exams) -> list:
    return [(e.step, e.kind, e.left, e.right, e.measured, e.values) for e in exams]


def test_examine_is_deterministic_per_seed():
    """Examining Glorot twice with the same seed gives identical readings; another seed draws another model
    (different readings of every sampled step) but reaches the same verdicts."""
    r = run("glorot")
    d = r.verification.derivation
    fx = activation_expr(d.activation, d.namespace.symbols, d.values)[1]
    again = examine(r.verification, fx, seed=0, samples=SAMPLES)
    assert _readings(again) == _readings(r.exams)
    assert [e.agreement for e in again] == [e.agreement for e in r.exams]
    other = examine(r.verification, fx, seed=1, samples=SAMPLES)
    assert [e.agrees for e in other] == [e.agrees for e in r.exams] == [True] * len(r.exams)
    sampled = [(a, b) for a, b in zip(r.exams, other) if a.left is not None and a.left.se > 0]
    assert len(sampled) >= 10
    assert all(a.left.value != b.left.value for a, b in sampled), \
        [a.step for a, b in sampled if a.left.value == b.left.value]


# ----------------------------------------------------------------------- 6. the laws respect the premises


def _weights(derivation, premises: Premises, seed: int = 0):
    world = World(derivation, activation_expr("tanh")[1], premises, seed, SAMPLES)
    W = derivation.namespace.indexed["W"]
    return np.asarray(world.draws_of(W[1, 1, 1]), float), np.asarray(world.draws_of(W[1, 2, 1]), float)


def _var_se(x: np.ndarray) -> float:
    """The standard error of the sample variance: sqrt((m4 - var^2)/M)."""
    centred = x - x.mean()
    return math.sqrt((np.mean(centred**4) - np.var(x) ** 2) / len(x))


def test_world_laws_respect_the_premises():
    """A Glorot world with the premises A2 (independent, i.i.d.) and A3 (centred, W symmetric): two weights
    of one layer have equal variances, zero means and no correlation, each within 5 standard errors."""
    d = load("glorot", arities())
    a, b = _weights(d, Premises.of([d.assumptions["A2"], d.assumptions["A3"]]))
    m = len(a)
    assert abs(a.var() - b.var()) <= Z * math.hypot(_var_se(a), _var_se(b))
    for x in (a, b):
        assert abs(x.mean()) <= Z * x.std() / math.sqrt(m)
    assert abs(np.corrcoef(a, b)[0, 1]) <= Z / math.sqrt(m)


def test_world_without_premises_is_generic():
    """With no premises the same two weights are generic: correlated (|corr| > 0.1) and not centred, so an
    identity that needs independence or a zero mean fails visibly on the model."""
    d = load("glorot", arities())
    a, b = _weights(d, Premises())
    m = len(a)
    assert abs(np.corrcoef(a, b)[0, 1]) > 0.1
    for x in (a, b):
        assert abs(x.mean()) > Z * x.std() / math.sqrt(m)


# ---------------------------------------------------- regressions: sampler bugs these tests found, now fixed


def test_regression_independent_instances_correlated_through_another_family():
    """X declared independent (Y, declared but unused, not): Var[X[1] + X[2]] = Var[X[1]] + Var[X[2]] is true
    and the kernel verifies it; the sampler should agree."""
    r = run_text(PAIR.format(facts='independent = ["X"]', rule="variance additivity",
                             start="Var[X[1] + X[2]]", claim="Var[X[1]] + Var[X[2]]"))
    assert r.verification.ok
    assert r.exam("S1").agrees is not False, describe(r.exam("S1"))


def test_regression_true_claim_made_wrong_through_another_family():
    """Var[X[1] + X[2]] = 2*Var[X[1]] is true for independent, identically distributed X; the kernel may leave
    it unproven, but must not call it wrong."""
    facts = 'independent = ["X"]\niid = ["X"]\nzero_mean = ["X"]'
    r = run_text(PAIR.format(facts=facts, rule="variance additivity", start="Var[X[1] + X[2]]",
                             claim="2*Var[X[1]]"))
    result = r.verification.steps[0]
    assert result.verdict != "wrong", f"{result.verdict}: {result.message}"


SECOND_MOMENT = """
title = "second moments"

[symbols]
j = { kind = "index", text = "unit" }
X = { kind = "random", text = "X[j]" }

[assumptions.A]
title = "independence"
statement = "the X are independent"
independent = ["X"]

[[sections]]
title = "sum"

[[sections.steps]]
id = "S1"
rule = "second moment"
uses = ["A"]
start = "Sum(Var[X[j]] + E[X[j]]**2, (j, 1, 50))"
claim = "Sum(E[X[j]**2], (j, 1, 50))"
"""


def test_regression_second_moment_sum_refuted_by_estimator_bias():
    """Sum over 50 units of Var[X[j]] + E[X[j]]**2 = Sum of E[X[j]**2] is an identity the kernel verifies; the
    sampler should agree on every seed."""
    text = SECOND_MOMENT
    for seed in range(3):
        r = run_text(text, seed=seed)
        assert r.verification.ok
        assert r.exam("S1").agrees is not False, f"seed {seed}: " + describe(r.exam("S1"))
