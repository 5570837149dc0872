"""The derivations next door (He, LeCun) and explain (the quiz: tests/test_quiz.py)."""

import subprocess
import sys

import pytest
import sympy as sp

from derivation.kernel import terms as v
from derivation.activations import check_rectifier
from derivation.loader import load
from derivation.kernel.derivation import SymbolDecl, with_values
from derivation.kernel.rules import RULES, Context, RuleError
from derivation.verify import verify

from conftest import ARITIES, failed_ids, make_context

i, j, k = sp.symbols("i j k", integer=True)
n = sp.IndexedBase("n", positive=True, integer=True)
W, s = sp.IndexedBase("W", real=True), sp.IndexedBase("s", real=True)


def run(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "derivation", *args], input=stdin, capture_output=True,
                          text=True, timeout=300)


def he(slope=0):
    d = load("he", ARITIES)
    return d if slope is None else with_values(d, {d.namespace.symbols["alpha"]: sp.nsimplify(slope)})


def result(verification, lhs):
    return next(r.step.claim.rhs for r in verification.results if str(r.step.claim.lhs) == lhs)


# ---------------------------------------------------------------- He and LeCun

def test_he_relu_gives_two_over_fan_in():
    verification = verify(he())
    assert verification.ok
    assert sp.simplify(result(verification, "Var[W[i]]") - 2 / n[i]) == 0
    assert sp.simplify(result(verification, "a") - sp.sqrt(6 / n[i])) == 0


def test_he_leaky_and_symbolic_slope():
    leaky = verify(he(sp.Rational(1, 4)))
    assert leaky.ok and sp.simplify(result(leaky, "Var[W[i]]") - 32 / (17 * n[i])) == 0
    general = verify(he(None))
    alpha = general.derivation.namespace.symbols["alpha"]
    assert general.ok and sp.simplify(result(general, "Var[W[i]]") - 2 / ((1 + alpha**2) * n[i])) == 0


def test_he_rejects_a_wrong_factor_and_a_non_rectifier():
    import dataclasses
    d = he()
    steps = [dataclasses.replace(st, claim=sp.Eq(v.Var(W[i]), 1 / n[i], evaluate=False)) if st.id == "H7" else st
             for st in d.steps]
    assert failed_ids(verify(dataclasses.replace(d, steps=steps))) == ["H7"]
    tanh = verify(he(), "tanh")
    assert failed_ids(tanh) == ["H5"] and "A3 fails for tanh" in tanh.steps[5].message


def test_lecun_forward_only():
    verification = verify(load("lecun", ARITIES))
    assert verification.ok
    assert result(verification, "Var[W[i]]") == 1 / n[i]
    assert sp.simplify(result(verification, "a") - sp.sqrt(3 / n[i])) == 0


def test_rectifier_second_moment_is_computed():
    relu = check_rectifier("relu")
    assert relu.holds and relu.second_moment == sp.Rational(1, 2)
    assert not check_rectifier("tanh").holds
    ctx = make_context({"s": SymbolDecl("s", "random")}, facts={"symmetric": frozenset("s")}, rectifier=relu)
    expr = v.E(v.f(s[i, j]) ** 2) * v.Var(W[i, j, k])
    assert RULES["rectifier second moment"].apply(expr, ctx) == v.Var(s[i, j]) * v.Var(W[i, j, k]) / 2
    with pytest.raises(RuleError, match="symmetric"):
        RULES["rectifier second moment"].apply(expr, Context(ctx.symbols, rectifier=relu))


def test_second_moment_merges_variance_and_squared_mean():
    X = sp.Symbol("X", real=True)
    c = v.Var(W[i, j, k])
    assert RULES["second moment"].apply(v.E(X) ** 2 * c + v.Var(X) * c, Context({})) == (v.E(X**2) * c,)
    with pytest.raises(RuleError):
        RULES["second moment"].apply(v.E(X) ** 2 * c + v.Var(X), Context({}))


def test_cli_list_and_suggestion():
    done = run("list")
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["attention", "dropout", "glorot", "glorot_conv", "he", "he_conv", "he_fanout", "lecun", "residual"]
    relu = run("verify", "--activation", "relu")
    assert relu.returncode == 1 and "python -m derivation verify he" in relu.stdout
    assert "  Var[W[i]] = 32/(17·n[i])\n" in run("verify", "he", "--slope", "0.25").stdout
    assert run("verify", "--slope", "1").returncode == 2


# ---------------------------------------------------------------- explain

def test_explain_prints_every_step_straight_through_when_not_a_terminal():
    done = run("explain")
    assert done.returncode == 0
    assert done.stdout.count("\n[") == 18 and "without  Without zero means" in done.stdout
    assert "rule     Var[X*Y] = E[X]**2*Var[Y]" in done.stdout


def test_explain_one_step_in_depth():
    done = run("explain", "--step", "F4")
    assert done.returncode == 0 and done.stdout.count("\n[") == 1
    assert "in depth" in done.stdout and "without A3, computed: the rule cannot apply" in done.stdout
    bad = run("explain", "--step", "Z9")
    assert bad.returncode == 2 and "no such step" in bad.stderr
