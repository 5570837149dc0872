"""WRONG means refuted: the kernel's exact counterexamples, and UNPROVEN where it finds none."""

import pytest
import sympy as sp

from conftest import glorot_with
from derivation.activations import activation_expr
from derivation.kernel import terms as v
from derivation.kernel.check import UNPROVEN, VERIFIED, WRONG
from derivation.kernel.check import verify as kernel_verify
from derivation.kernel.compare import compare
from derivation.kernel.counterexample import Counterexample, counterexample
from derivation.kernel.derivation import SymbolDecl

i, j, k = sp.symbols("i j k", integer=True)
n = sp.IndexedBase("n", positive=True, integer=True)
z, W, c, b = (sp.IndexedBase(name, real=True) for name in ("z", "W", "c", "b"))
N = sp.Symbol("N", positive=True, integer=True)
a = sp.Symbol("a", positive=True)
M = sp.Symbol("M", real=True)
SYMBOLS = {"i": SymbolDecl("i", "index"), "j": SymbolDecl("j", "index"), "k": SymbolDecl("k", "index"),
           "n": SymbolDecl("n", "size"), "N": SymbolDecl("N", "size"), "a": SymbolDecl("a", "positive"),
           "M": SymbolDecl("M", "real"), "z": SymbolDecl("z", "random"), "W": SymbolDecl("W", "random"),
           "c": SymbolDecl("c", "constant"), "b": SymbolDecl("b", "constant", value=sp.S.Zero)}


def kernel(derivation):
    """The kernel's verdicts alone (derivation.verify may add a sampled refutation on top)."""
    return kernel_verify(derivation, activation_expr(derivation.activation, derivation.namespace.symbols))


def step(result, step_id):
    return next(r for r in result.steps if r.step.id == step_id)


def test_a_wrong_coefficient_is_refuted_at_sizes_where_both_sides_are_computed():
    d1 = step(kernel(glorot_with("D1", "Var[W[i]] == 3/(n[i] + n[i+1])")), "D1")
    assert d1.verdict == WRONG and d1.message == "the claim does not follow"
    found = d1.counterexample
    assert isinstance(found, Counterexample)
    values = dict(found.values)
    assert set(values) == {"n[i]", "n[i + 1]"}
    sizes = sp.Integer(values["n[i]"]), sp.Integer(values["n[i + 1]"])
    assert all(1 <= size <= 9 for size in sizes)
    assert sp.Rational(found.claimed) == 3 / (sizes[0] + sizes[1])       # recomputed here, exactly
    assert sp.Rational(found.derived) == 2 / (sizes[0] + sizes[1])
    assert found.text() == f"n[i] = {sizes[0]}, n[i + 1] = {sizes[1]}: claimed {found.claimed}, derived {found.derived}"
    assert found == step(kernel(glorot_with("D1", "Var[W[i]] == 3/(n[i] + n[i+1])")), "D1").counterexample  # seeded


def test_a_difference_in_moments_is_unproven_not_wrong():
    # the sum kept after iid summation: n[i] Var[z] Var[W] against Var[z] Var[W] differ only through moments,
    # which no exact point can evaluate: not shown equal, no counterexample, and the chain goes on from the rule
    result = kernel(glorot_with("F5", "Var[z[i]]*Var[W[i]]"))
    f5 = step(result, "F5")
    assert f5.verdict == UNPROVEN and f5.counterexample is None and f5.message == "not shown equal"
    assert not f5.ok and not result.ok
    assert f5.comparison.difference is not None and f5.comparison.difference.atoms(v.Var)
    assert [r.step.id for r in result.steps if not r.ok] == ["F5"]
    assert step(result, "F6").verdict == VERIFIED and step(result, "F6").inputs[0] == f5.derived
    f3 = step(kernel(glorot_with("F3", "Sum(E[z[i, j]]*Var[W[i, j, k]] + E[W[i, j, k]]**2*Var[z[i, j]] "
                                       "+ Var[z[i, j]]*Var[W[i, j, k]], (j, 1, n[i]))")), "F3")
    assert f3.verdict == UNPROVEN and f3.counterexample is None


TRUE_BUT_NOT_SHOWN = {
    # compare() treats sums as opaque and does not evaluate them: these are true, and not shown equal
    "Gauss's sum": (sp.Sum(j, (j, 1, n[i])), n[i] * (n[i] + 1) / 2),
    "a sum split at its last term": (sp.Sum(n[j], (j, 1, n[i] + 1)), sp.Sum(n[j], (j, 1, n[i])) + n[n[i] + 1]),
    "a nested radical": ((sp.sqrt(2) + sp.sqrt(3)) * n[i], sp.sqrt(5 + 2 * sp.sqrt(6)) * n[i]),
}


@pytest.mark.parametrize("label", TRUE_BUT_NOT_SHOWN)
def test_a_true_claim_the_comparison_cannot_show_is_never_refuted(label):
    derived, claimed = TRUE_BUT_NOT_SHOWN[label]
    assert not compare(derived, claimed).equal
    assert all(counterexample(derived, claimed, SYMBOLS, seed=seed) is None for seed in range(30))


EQUAL_WRITTEN_DIFFERENTLY = [
    (sp.sqrt(6 / (n[i] + n[i + 1])), sp.sqrt(6) / sp.sqrt(n[i] + n[i + 1])),
    (2 / (n[i] + n[i + 1]), 1 / (n[i] / 2 + n[i + 1] / 2)),
    (sp.Eq(v.Var(W[i]), 1 / n[i]), sp.Eq(1 / n[i], v.Var(W[i]))),
    (a * M / (a + 1), M - M / (a + 1)),
    (sp.Sum(c[j] * N, (j, 1, n[i])), N * sp.Sum(c[k], (k, 1, n[i]))),
    (b[i] + 1 / n[i + 1], 1 / n[i + 1]),                                          # b has the value 0
    (n[i - 1] * v.Var(z[i, j]), v.Var(z[i, j]) * n[i - 1]),
]


@pytest.mark.parametrize("derived, claimed", EQUAL_WRITTEN_DIFFERENTLY)
def test_equal_expressions_written_differently_never_give_a_counterexample(derived, claimed):
    assert all(counterexample(derived, claimed, SYMBOLS, seed=seed) is None for seed in range(40))


def test_what_is_searched_and_what_is_not():
    # moments, random variables, unknown names: nothing to evaluate exactly
    assert counterexample(v.Var(z[i, j]), 2 * v.Var(z[i, j]), SYMBOLS) is None
    assert counterexample(z[i, j], 2 * z[i, j], SYMBOLS) is None
    assert counterexample(n[i], n[i] + sp.Symbol("q"), SYMBOLS) is None
    # equations: left sides must agree (either way round); an equation against an expression is no identity
    assert counterexample(sp.Eq(v.Var(W[i]), 1 / n[i]), sp.Eq(v.Var(z[i]), 2 / n[i]), SYMBOLS) is None
    assert counterexample(sp.Eq(v.Var(W[i]), 1 / n[i]), 1 / n[i], SYMBOLS) is None
    swapped = counterexample(sp.Eq(v.Var(W[i]), 1 / n[i]), sp.Eq(2 / n[i], v.Var(W[i])), SYMBOLS)
    size = sp.Integer(dict(swapped.values)["n[i]"])
    assert (sp.Rational(swapped.claimed), sp.Rational(swapped.derived)) == (2 / size, 1 / size)
    # moments or random variables that cancel leave a deterministic difference: refuted, shown as they are
    assert counterexample(z[i, j], z[i, j] + 1, SYMBOLS) == Counterexample((), "z[i, j] + 1", "z[i, j]")
    moments = counterexample(n[i] * v.Var(z[i, j]) + 1 / n[i], n[i] * v.Var(z[i, j]) + 2 / n[i], SYMBOLS)
    assert moments is not None and "Var[z[i, j]]" in moments.claimed
    # an index outside an indexed name is part of the point; a layer below 0 is never used
    shifted = counterexample(M * i, M * (i + 1), SYMBOLS)
    assert [name for name, _ in shifted.values] == ["i", "M"]
    assert sp.Rational(shifted.claimed) - sp.Rational(shifted.derived) == sp.Rational(dict(shifted.values)["M"])
    assert counterexample(n[i - 1], n[i - 1] + 1, SYMBOLS) is not None
    # a finite sum is expanded: its entries and the index that places them are shown
    summed = counterexample(sp.Sum(n[j], (j, 1, N)), 2 * sp.Sum(n[j], (j, 1, N)), SYMBOLS)
    values = dict(summed.values)
    total = sum(sp.Integer(values[f"n[{m}]"]) for m in range(1, int(values["N"]) + 1))
    assert (sp.Integer(summed.claimed), sp.Integer(summed.derived)) == (2 * total, total)
    # constants: a declared value is used (b = 0), an unknown one is given a rational
    assert counterexample(c[i], c[i] + b[i], SYMBOLS) is None
    assert counterexample(c[i], 2 * c[i], SYMBOLS) is not None


def test_only_a_clearly_nonzero_difference_refutes():
    tiny = sp.Rational(1, 10**40)                  # below the threshold: not claimed nonzero, though it is
    assert counterexample(a, a + tiny * (sp.sqrt(2) + 1), SYMBOLS) is None
    assert counterexample(a, a + tiny, SYMBOLS) is not None      # exact rational arithmetic decides it
    assert counterexample(1 / (n[i] - 1), 1 / (n[i] - 1) + 1, SYMBOLS) is not None   # n[i] = 1 skipped, not an error
    assert counterexample(sp.sqrt(M), sp.sqrt(M) + 1, SYMBOLS) is not None           # M < 0: not a real point, skipped


def test_odd_input_gives_none_not_an_exception():
    assert counterexample(sp.Sum(n[j], (j, 1, 10**6)), 0, SYMBOLS) is None          # too many terms
    assert counterexample(sp.zoo, 1, SYMBOLS) is None
    assert counterexample(sp.Integral(M, (M, 0, 1)), sp.Rational(1, 2), SYMBOLS) is None
    huge = sp.Add(*[n[i] ** p for p in range(200)])
    assert counterexample(huge, huge + v.f(n[i]), SYMBOLS) is None
