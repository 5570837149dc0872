"""Edges of the rule helpers and of the engine that the Glorot derivation alone never reaches
(found by mutation testing: each test here kills mutants that survived the others)."""

import time

import pytest
import sympy as sp

import derivation.kernel.check as kernel_check
import derivation.verify as engine
from derivation.kernel import terms as v
from derivation.kernel.derivation import SymbolDecl
from derivation.kernel.rules import (RULES, Context, Rule, RuleError, representative, fresh_index, polynomial_roots,
                              solve_positive)
from derivation.verify import ASSUMPTION, INAPPLICABLE, verify

from conftest import glorot_with

u = sp.Symbol("u", positive=True)
i, j, k = sp.symbols("i j k", integer=True)
z, W, g = (sp.IndexedBase(name, real=True) for name in "zWg")
n = sp.IndexedBase("n", positive=True, integer=True)


def test_polynomial_roots_linear_quadratic_cubic():
    assert polynomial_roots(3 * u - 6, u) == [2]
    assert sorted(polynomial_roots(u**2 - 3 * u + 2, u)) == [1, 2]           # c1 != 0: both signs matter
    assert sorted(polynomial_roots(2 * u**2 - 10 * u + 12, u)) == [2, 3]      # c2 != 1
    assert sorted(polynomial_roots(u**3 - 6 * u**2 + 11 * u - 6, u)) == [1, 2, 3]


def test_polynomial_roots_refuses_what_it_cannot_solve():
    with pytest.raises(RuleError, match="not polynomial"):
        polynomial_roots(sp.exp(u) - 2, u)
    with pytest.raises(RuleError, match="does not involve"):
        polynomial_roots(sp.Integer(5), u)
    with pytest.raises(RuleError, match="closed form"):
        polynomial_roots(u**5 - u - 1, u)


def test_solve_positive_needs_exactly_one_parameter_and_root():
    a, b = sp.symbols("a b", positive=True)
    ctx = Context({"a": SymbolDecl("a", "positive"), "b": SymbolDecl("b", "positive"), "c": SymbolDecl("c", "real")})
    result = solve_positive(a**2 / 3, sp.Rational(4, 3), v.Uniform(-a, a), ctx)
    assert result == sp.Eq(a, 2, evaluate=False) and isinstance(result, sp.Equality)
    with pytest.raises(RuleError, match="found 2"):
        solve_positive(a * b, 1, v.Uniform(-a, b), ctx)
    with pytest.raises(RuleError, match="found 0"):
        solve_positive(sp.Symbol("c", real=True) ** 2, 1, v.Uniform(0, sp.Symbol("c", real=True)), ctx)
    with pytest.raises(RuleError, match="2 positive solutions for a"):
        solve_positive(a**2 - 3 * a, -2, v.Uniform(-a, a), ctx)                  # a = 1 or a = 2


def test_conditions_check_their_inputs():
    rule = RULES["forward condition"].apply
    ok = n[i] * v.Var(z[i]) * v.Var(W[i])
    with pytest.raises(RuleError, match="started from Var"):
        rule(ok, Context({}, subject=None))
    with pytest.raises(RuleError, match="started from Var"):
        rule(ok, Context({}, subject=v.E(z[i + 1, k])))
    with pytest.raises(RuleError, match="one neighbouring layer and one other variance"):
        rule(n[i] * v.Var(z[i]) * v.Var(W[i]) * v.Var(g[i]), Context({}, subject=v.Var(z[i + 1, k])))
    with pytest.raises(RuleError, match="one neighbouring layer"):
        rule(n[i] * v.Var(W[i]), Context({}, subject=v.Var(z[i + 1, k])))
    with pytest.raises(RuleError, match="does not determine"):
        # Var[z] (Var[W]^2 - 3 Var[W] + 3) = Var[z] holds for Var[W] = 1 and for Var[W] = 2
        rule(v.Var(z[i]) * (v.Var(W[i]) ** 2 - 3 * v.Var(W[i]) + 3), Context({}, subject=v.Var(z[i + 1, k])))
    shifted = rule(n[i + 3] * v.Var(z[i + 2]) * v.Var(W[i + 2]), Context({}, subject=v.Var(z[i + 3, k])))
    assert shifted == sp.Eq(v.Var(W[i]), 1 / n[i + 1], evaluate=False)


def test_representative():
    X = sp.IndexedBase("X", real=True)
    assert representative(z[i, j], j) == z[i]
    assert representative(W[i, j, k], j) == W[i]
    assert representative(X[j], j) == sp.Symbol("X", real=True)
    assert representative(X[k], j) == X[k]                                   # not the summed unit
    assert representative(z[i], j) == z[i]
    assert representative(sp.Symbol("Y"), j) == sp.Symbol("Y")


def test_fresh_index_avoids_used_names_and_is_an_integer():
    taken = {sp.Symbol(name) for name in "jklmpqrtu"}
    assert fresh_index(set()).name == "j"
    assert fresh_index({sp.Symbol("j"), n[i]}).name == "k"
    last = fresh_index(taken)
    assert last.is_integer and last not in taken


def test_missing_assumption_is_named_with_what_the_step_cites():
    from conftest import ARITIES, GLOROT_TEXT
    from derivation.loader import loads
    text = GLOROT_TEXT.replace('rule = "linearisation"\nuses = ["A1", "A2", "A3"]', 'rule = "linearisation"\nuses = ["A3"]', 1)
    failure = verify(loads(text, "g.toml", ARITIES)).steps[1]
    assert failure.verdict == ASSUMPTION
    assert failure.message == "rule 'linearisation' needs an activation assumption; the step cites A3"
    assert failure.inputs and failure.derived is None
    # without a cited centring premise the zero-mean step has nothing to show: refused, naming why
    text = GLOROT_TEXT.replace('rule = "zero mean"\nuses = ["A2", "A3"]', 'rule = "zero mean"\nuses = []', 1)
    failure = verify(loads(text, "g.toml", ARITIES)).steps[4]
    assert failure.verdict == INAPPLICABLE and "no cited assumption declares" in failure.message


def test_inapplicable_step_keeps_its_inputs_and_reason():
    result = verify(glorot_with("F5", "chain rule", field="rule"))         # no gradient in F4's expression
    f5 = next(r for r in result.steps if r.step.id == "F5")
    assert f5.verdict == INAPPLICABLE
    assert f5.inputs == (result.steps[4].step.claim,)
    assert f5.message.startswith("no gradient variable")
    assert f5.step.id == "F5" and f5.derived is None


def test_assumption_results(glorot_result):
    by_id = {a.assumption.id: a for a in glorot_result.assumptions}
    assert by_id["A1"].holds is True and "f'(0) = 1" in by_id["A1"].evidence
    assert by_id["A2"].holds is None and by_id["A2"].evidence == ""
    assert glorot_result.derivation.name == "glorot"
    assert glorot_result.activation.name == "tanh"


def test_a_rule_that_runs_too_long_is_reported_not_hung(monkeypatch):
    def slow(expr, ctx):
        time.sleep(5)
        return expr
    monkeypatch.setattr(kernel_check, "STEP_SECONDS", 0.3)
    monkeypatch.setitem(RULES, "zero mean", Rule("zero mean", slow, "slow", ("zero_mean",)))
    start = time.perf_counter()
    f4 = verify(glorot_with("F4", "Sum(Var[z[i, j]]*Var[W[i, j, k]], (j, 1, n[i]))")).steps[4]
    assert time.perf_counter() - start < 4
    assert f4.verdict == INAPPLICABLE and f4.message == "not decided within 0.3 s" and f4.inputs
    assert f4.step.id == "F4"


def test_steps_combining_others_have_no_chain_subject():
    subjects = engine.subjects(glorot_with("F4", "Sum(Var[z[i, j]]*Var[W[i, j, k]], (j, 1, n[i]))"))
    assert subjects["F0"] == v.Var(z[i + 1, k]) and subjects["F6"] == v.Var(z[i + 1, k])
    assert subjects["D1"] is None                   # D1: from F6 and B6


def test_he_through_the_engine_uses_the_rectifier_check_and_the_slope():
    from conftest import ARITIES
    from derivation.loader import load
    from derivation.kernel.derivation import with_values
    he = load("he", ARITIES)
    alpha = he.namespace.symbols["alpha"]
    quarter = verify(with_values(he, {alpha: sp.Rational(1, 4)}))
    assert quarter.ok and quarter.rectifier is not None and quarter.checked is quarter.rectifier
    assert quarter.rectifier.second_moment == sp.Rational(17, 32)            # (1 + 1/16)/2: the slope was used
    a3 = next(a for a in quarter.assumptions if a.assumption.id == "A3")
    assert a3.holds is True and a3.assumption.rectifier and "17/32" in a3.evidence
    h5 = quarter.steps[5]
    assert h5.step.id == "H5" and h5.ok
    general = verify(he)
    assert sp.simplify(general.rectifier.second_moment - (alpha**2 + 1) / 2) == 0 and general.suggestion is None


def test_relu_on_glorot_suggests_he_and_only_then(glorot_result):
    from conftest import ARITIES, GLOROT_TEXT
    from derivation.loader import loads
    glorot = loads(GLOROT_TEXT, "glorot.toml", ARITIES, name="glorot")
    relu = verify(glorot, "relu")
    assert relu.suggestion == "he" and relu.rectifier is None and relu.activation.name == "relu"
    assert verify(glorot, "sigmoid").suggestion is None and glorot_result.suggestion is None
    failure = relu.steps[1]
    assert failure.inputs and failure.message.startswith("assumption A1 fails for relu: f(-x) + f(x) = Abs(x)")


def test_sympy_failure_on_odd_input_is_a_one_line_verdict(monkeypatch):
    def broken(expr, ctx):
        raise TypeError("cannot determine truth value")
    monkeypatch.setitem(RULES, "zero mean", Rule("zero mean", broken, "broken", ("zero_mean",)))
    f4 = verify(glorot_with("F4", "Sum(Var[z[i, j]]*Var[W[i, j, k]], (j, 1, n[i]))")).steps[4]
    assert f4.verdict == INAPPLICABLE and f4.step.id == "F4" and f4.inputs
    assert f4.message == "SymPy could not apply the rule (TypeError)"


def test_step_results_carry_their_comparison(glorot_result):
    from derivation.verify import VERIFIED, WRONG
    f3 = glorot_result.steps[3]
    assert f3.verdict == VERIFIED and f3.comparison is not None and f3.comparison.equal and f3.message == ""
    wrong = verify(glorot_with("D1", "Var[W[i]] == 3/(n[i] + n[i+1])"))
    d1 = next(r for r in wrong.steps if r.step.id == "D1")
    assert d1.verdict == WRONG and d1.message == "the claim does not follow" and len(d1.inputs) == 2
    assert d1.comparison.ratio == sp.Rational(3, 2)


def test_a_failed_activation_assumption_only_fails_rules_that_need_it():
    from conftest import ARITIES, GLOROT_TEXT
    from derivation.loader import loads
    text = GLOROT_TEXT.replace('rule = "variance additivity"\nuses = ["A2", "A3"]', 'rule = "variance additivity"\nuses = ["A1", "A2", "A3"]', 1)
    result = verify(loads(text, "g.toml", ARITIES), "sigmoid")
    # F2 cites A1 but does not need it; F4 fails because E[sigmoid(s)] = 1/2 is not 0 (so F5, F6 follow it)
    assert [r.step.id for r in result.steps if not r.ok] == ["F1", "F4", "F5", "F6", "B1"]


def test_distribution_rules_refuse_other_moments():
    a = sp.Symbol("a", positive=True)
    for wrong in (v.E(v.Uniform(-a, a)), v.Var(a)):
        with pytest.raises(RuleError, match="expected Var"):
            RULES["uniform variance"].apply(wrong, Context({}))
