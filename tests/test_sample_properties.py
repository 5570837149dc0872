"""Property tests: the kernel and the sampled semantics (``derivation.sample``) on random small derivations.

Hypothesis writes small derivations from a grammar: families ``X`` and ``Y`` (one unit index, no layer), a
size ``N``, a parameter ``c`` (``real`` or ``positive``), one assumption ``A`` whose facts (``independent``,
``iid``, ``zero_mean``, ``symmetric``) are random subsets of ``{X, Y}``, and one step per rule among those
that rewrite moments ("variance additivity", "product variance", "zero mean", "iid summation", "second
moment"), each with its own random ``start`` and citing ``A``. (One step per rule in every example, rather
than one random rule per example, because Hypothesis draws the first entries of a list far more often: the
rules would not be covered evenly.)

The kernel is run once with the dummy claim ``0`` everywhere, to learn what each rule computes
(``StepResult.derived``, None when the rule refused or did not apply); that expression, printed by
``sp.sstr`` and read back by the loader (checked to round-trip), becomes the claim. Two properties:

* soundness against the model: a step the kernel verifies is never refuted by the sampler (``agrees is
  False``), which evaluates it on a concrete model satisfying exactly the cited premises;
* power: a wrong claim (``2*derived`` or ``derived + 1``) at a step whose correct claim the kernel verifies
  is refuted by the sampler in most cases (a rate over the examples, not each case).

Deterministic (``derandomize=True``) and bounded: 40 examples each, 20000 samples per model.
"""

from __future__ import annotations

from collections import Counter

import pytest
import sympy as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given, settings, strategies as st  # noqa: E402

from derivation.activations import activation_expr  # noqa: E402
from derivation.kernel.rules import arities  # noqa: E402
from derivation.loader import LoadError, loads  # noqa: E402
from derivation.sample.examine import examine  # noqa: E402
from derivation.verify import verify  # noqa: E402

ARITIES = arities()
SAMPLES = 20_000
FAMILIES = ("X", "Y")
FACTS = ("independent", "iid", "zero_mean", "symmetric")
DUMMY = "0"

# Starts by the rule they are written for: {a} and {b} are coefficients (small non-zero integers or the
# parameter c). A step takes a start written for its rule or, one time in five, any start (the rule may
# then refuse or not apply: such steps are skipped, since only what the kernel verifies is examined).
STARTS = {
    "variance additivity": (
        "Var[Sum({a}*X[j] + {b}*Y[j], (j, 1, N))]",
        "Var[{a}*X[1] + {b}*Y[1]]",
        "Var[{a}*X[1] + {b}*X[2]]",
        "Var[X[1] + {b}]",
        "Var[Sum(X[j], (j, 1, N))/N]",
    ),
    "product variance": (
        "Var[X[1]*Y[1]]",
        "Var[{a}*X[1]*Y[2]]",
        "Sum(Var[X[j]*Y[j]], (j, 1, N))",
    ),
    "zero mean": (
        "E[X[1]]**2*Var[Y[1]] + Var[X[1]]",
        "E[X[1]]**2*Var[Y[1]] + E[Y[1]]**2*Var[X[1]] + Var[X[1]]*Var[Y[1]]",
        "E[{a}*X[1] + {b}*Y[2]]",
    ),
    "iid summation": (
        "Sum(Var[X[j]], (j, 1, N))",
        "Sum({a}*Var[Y[j]], (j, 1, N))",
        "Sum(Var[X[j]]*Var[Y[j]], (j, 1, N))",
    ),
    "second moment": (
        "Var[X[1]] + E[X[1]]**2",
        "{a}*Var[Y[2]] + {a}*E[Y[2]]**2",
        # a sum of such terms was refuted by a variance estimator's bias, since fixed
        # (test_sample.py::test_regression_second_moment_sum_refuted_by_estimator_bias)
        "Sum(Var[X[j]] + E[X[j]]**2, (j, 1, N))",
    ),
}
RULES = tuple(STARTS)
ANY_START = tuple(s for starts in STARTS.values() for s in starts)

HEAD = """\
title = "generated"

[symbols]
i = {{ kind = "index", text = "index" }}
j = {{ kind = "index", text = "unit" }}
N = {{ kind = "size", text = "count" }}
X = {{ kind = "random", text = "X[j]" }}
Y = {{ kind = "random", text = "Y[j]" }}
c = {{ kind = "{ckind}", text = "a parameter" }}

[assumptions.A]
title = "premises"
statement = "generated premises"
{facts}

[[sections]]
title = "generated"
"""
STEP = """
[[sections.steps]]
id = "{id}"
rule = "{rule}"
uses = ["A"]
start = "{start}"
claim = "{claim}"
"""

coefficients = st.sampled_from(["1", "2", "3", "-1", "-2", "c"])


def toml_list(names) -> str:
    return "[" + ", ".join(f'"{n}"' for n in sorted(names)) + "]"


@st.composite
def cases(draw, partial_independence: bool = False):
    """Premises, the kind of c, and one start per rule. ``independent`` declares neither or both of X and Y,
    or, with ``partial_independence``, exactly one of them."""
    facts = []
    for fact in FACTS:
        if fact == "independent":
            chosen = [draw(st.sampled_from(FAMILIES))] if partial_independence else \
                draw(st.sampled_from([[], list(FAMILIES)]))
        else:
            chosen = draw(st.lists(st.sampled_from(FAMILIES), unique=True, max_size=2))
        if chosen:
            facts.append(f"{fact} = {toml_list(chosen)}")
    starts = {}
    for rule in RULES:
        pool = STARTS[rule] if draw(st.integers(0, 4)) else ANY_START
        starts[rule] = draw(st.sampled_from(pool)).format(a=draw(coefficients), b=draw(coefficients))
    return dict(facts="\n".join(facts), ckind=draw(st.sampled_from(["real", "positive"])), starts=starts)


def step_id(rule: str) -> str:
    return "S" + str(RULES.index(rule) + 1)


def text_of(case: dict, claims: dict[str, str]) -> str:
    """The derivation: one step per rule, with the claims given (``DUMMY`` where none is)."""
    return HEAD.format(facts=case["facts"], ckind=case["ckind"]) + "".join(
        STEP.format(id=step_id(rule), rule=rule, start=case["starts"][rule], claim=claims.get(rule, DUMMY))
        for rule in RULES)


def kernel(text: str):
    derivation = loads(text, "generated.toml", ARITIES)
    return derivation, verify(derivation)


def sampled(derivation, verification) -> dict:
    fx = activation_expr(derivation.activation, derivation.namespace.symbols, derivation.values)[1]
    return {e.step: e for e in examine(verification, fx, seed=0, samples=SAMPLES)}


def derived_of(case: dict) -> dict:
    """What each rule computes from its start, where it computes something (an expression, not 0)."""
    _, verification = kernel(text_of(case, {}))
    out = {}
    for rule, result in zip(RULES, verification.steps):
        if result.derived is not None and not isinstance(result.derived, sp.Equality) and result.derived != 0:
            out[rule] = result.derived
    return out


def round_trip(claims: dict) -> dict[str, str]:
    """``sp.sstr`` of each claim, where the loader reads it back as the same expression."""
    out = {}
    for rule, expr in claims.items():
        text = sp.sstr(expr)
        try:
            derivation = loads(HEAD.format(facts="", ckind="real") + STEP.format(
                id="S1", rule=rule, start="0", claim=text), "roundtrip.toml", ARITIES)
        except LoadError:
            continue
        if sp.simplify(derivation.steps[0].claim - expr) == 0:
            out[rule] = text
    return out


def accepted(case: dict):
    """(derivation, verification, derived, claims): the derivation written with each rule's own result as
    its claim (for the rules whose result round-trips)."""
    derived = derived_of(case)
    claims = round_trip(derived)
    assume(claims)
    derivation, verification = kernel(text_of(case, claims))
    return derivation, verification, derived, claims


def _label(agrees) -> str:
    return {True: "agrees", None: "not sampled", False: "refuted"}[agrees]


def _accepted_not_refuted(case, counts: Counter) -> None:
    derivation, verification, derived, claims = accepted(case)
    exams = sampled(derivation, verification)
    refuted = []
    for rule, result in zip(RULES, verification.steps):
        if rule not in claims:
            continue
        if not result.ok:
            counts["kernel does not verify"] += 1
            continue
        exam = exams[result.step.id]
        counts[_label(exam.agrees)] += 1
        counts[f"{rule}: {_label(exam.agrees)}"] += 1
        if exam.agrees is False:
            refuted.append(f"{rule}: {case['starts'][rule]} -> {claims[rule]} under [{case['facts']}]: "
                           f"{exam.detail} (input {exam.left}, claim {exam.right})")
    assert not refuted, "the kernel verifies, the sampler refutes:\n" + "\n".join(refuted)


def test_kernel_accepted_steps_are_not_refuted():
    """Every randomly generated step the kernel verifies, with the claim its rule derives, agrees with the
    sampled model that satisfies the cited premises: the sampler never refutes it. (``independent`` here
    declares none or both of X and Y; declaring one alone hits the bug documented below.)"""
    counts: Counter = Counter()

    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(cases())
    def check(case):
        _accepted_not_refuted(case, counts)

    check()
    print(f"\naccepted-claim property: {dict(sorted(counts.items()))}")
    # Measured: 40 examples, 93 verified steps compared, every one agreeing; each rule 14 to 23 times.
    assert counts["agrees"] >= 70, dict(counts)
    for rule in RULES:
        assert counts[f"{rule}: agrees"] >= 3, f"{rule} was hardly exercised: {dict(counts)}"


def test_kernel_accepted_steps_are_not_refuted_partial_independence():
    """The same property when ``independent`` declares exactly one of X and Y: instances of the declared
    family must be independent of one another whatever the other family does."""
    counts: Counter = Counter()

    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(cases(partial_independence=True))
    def check(case):
        _accepted_not_refuted(case, counts)

    check()


def test_wrong_claims_are_mostly_refuted():
    """A claim that is twice, or one more than, what the rule derives, at a step whose correct claim the
    kernel verifies, is refuted by the sampler in most cases (and, incidentally, never verified by the
    kernel)."""
    counts: Counter = Counter()

    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(cases(), st.lists(st.sampled_from(["times 2", "plus 1"]), min_size=len(RULES), max_size=len(RULES)))
    def check(case, hows):
        _, verification, derived, claims = accepted(case)
        good = {rule for rule, result in zip(RULES, verification.steps) if rule in claims and result.ok}
        wrong = {rule: 2 * derived[rule] if how == "times 2" else derived[rule] + 1
                 for rule, how in zip(RULES, hows) if rule in good}
        texts = round_trip(wrong)
        assume(texts)
        derivation, verification = kernel(text_of(case, {**claims, **texts}))
        exams = sampled(derivation, verification)
        for rule, result in zip(RULES, verification.steps):
            if rule not in texts:
                continue
            assert not result.ok, f"the kernel verifies the wrong claim {texts[rule]} ({rule})"
            counts["wrong claims"] += 1
            counts[_label(exams[result.step.id].agrees)] += 1

    check()
    print(f"\nwrong-claim property: {dict(sorted(counts.items()))}")
    # Measured: every wrong claim refuted, 72 of 72 (rate 1.0); the bound leaves room.
    assert counts["wrong claims"] >= 55, dict(counts)
    assert counts["refuted"] >= 0.9 * counts["wrong claims"], dict(counts)
