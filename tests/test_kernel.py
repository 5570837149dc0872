"""The kernel's obligations on their edge cases: definitions, reach and independence, counts, means,
symmetry, identical distribution, domains, and the linearisation's computed error term."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from conftest import ARITIES, GLOROT_TEXT
from derivation.activations import check_activation
from derivation.kernel import domain
from derivation.kernel import terms as v
from derivation.kernel.definitions import DefinitionError, shapes
from derivation.kernel.derivation import Assumption, Definition, SymbolDecl
from derivation.kernel.model import Model
from derivation.loader import LoadError, builtin_names, loads
from derivation.verify import REFUSED, verify

i, j, k, m = sp.symbols("i j k m", integer=True)
jj = sp.Dummy("j'", integer=True)
z, W, s, X, b, a_, c = (sp.IndexedBase(name, real=True) for name in ("z", "W", "s", "X", "b", "a", "c"))
n = sp.IndexedBase("n", positive=True, integer=True)
N = sp.Symbol("N", positive=True, integer=True)
M = sp.Symbol("M", real=True)
Y = sp.Symbol("Y", real=True)

SYMBOLS = {"z": SymbolDecl("z", "random"), "W": SymbolDecl("W", "random"), "s": SymbolDecl("s", "random"),
           "X": SymbolDecl("X", "random"), "Y": SymbolDecl("Y", "random"), "n": SymbolDecl("n", "size"),
           "N": SymbolDecl("N", "size"), "M": SymbolDecl("M", "real"),
           "b": SymbolDecl("b", "constant", value=sp.S.Zero), "c": SymbolDecl("c", "constant")}
LAYERED = (Definition(z[i + 1, k], v.f(s[i, k]), "z[i+1, k]"),
           Definition(s[i, k], sp.Sum(z[i, j] * W[i, j, k], (j, 1, n[i])) + b[i, k], "s[i, k]"))
PREMISES = Assumption("A", "premises", "test", independent=frozenset("zWXY"), iid=frozenset("zWX"),
                      zero_mean=frozenset("zWXY"), symmetric=frozenset("W"))


def model(definitions=LAYERED, premises=(PREMISES,), activation="tanh"):
    return Model(SYMBOLS, definitions, premises, check_activation(activation) if activation else None)


# ---------------------------------------------------------------- definitions


@pytest.mark.parametrize("definitions, message", [
    ((Definition(a_[i], c[i], "a[i]"), Definition(c[i], a_[i], "c[i]")), "circular"),
    ((Definition(z[i, k], z[i, k] + 1, "z[i, k]"),), "circular"),
    ((Definition(z[i + 1, k], z[i + 2, k], "z[i+1, k]"),), "circular"),          # goes up a layer
    ((Definition(z[i, k], s[i, k], "z[i, k]"), Definition(z[i, k], W[i, k, k], "z[i,k]")), "both define z"),
    ((Definition(z[2 * i, k], s[i, k], "z[2*i, k]"),), "must be an index symbol"),
    ((Definition(z[i, i], s[i, i], "z[i, i]"),), "each symbol once"),
    ((Definition(z[i, k], W[i, j, k], "z[i, k]"),), "does not bind"),
])
def test_bad_definitions_are_refused(definitions, message):
    with pytest.raises(DefinitionError, match=message):
        shapes(definitions)


def test_layered_and_skip_definitions_are_accepted():
    assert set(shapes(LAYERED)) == {"z", "s"}
    skip = (LAYERED[0], Definition(s[i, k], LAYERED[1].rhs + s[i - 2, k], "s[i, k]"))
    assert set(shapes(skip)) == {"z", "s"}


def test_loader_refuses_bad_definitions_with_exit_2_naming_both():
    text = GLOROT_TEXT.replace('"s[i, k]" = ', '"s[i,k]" = "f(z[i, k])"\n"s[i, k]" = ', 1)
    with pytest.raises(LoadError, match="'s\\[i,k\\]' and 's\\[i, k\\]' both define s"):
        loads(text, "g.toml", ARITIES)


# ---------------------------------------------------------------- reach and independence


def test_independence_is_derived_through_the_definitions():
    mdl = model()
    assert mdl.independent(z[i, j], W[i, j, k])                       # z of layer i reaches W below i only
    refused = mdl.independent(z[i + 1, k], W[i, j, k])                # z[i+1, k] is a function of W[i, *, k]
    assert not refused and "both depend on W" in refused.text
    assert mdl.independent(v.f(s[i - 1, j]), W[i, j, k])


def test_reach_beyond_the_exact_unfoldings_keeps_every_variable():
    # a[i+1, k] = a[i, k] + Y: every a reaches Y and the laws written in definitions, however deep
    chain = (Definition(a_[i + 1, k], a_[i, k] + Y + v.Uniform(-1, 1), "a[i+1, k]"),)
    symbols = {**SYMBOLS, "a": SymbolDecl("a", "random")}
    mdl = Model(symbols, chain, (Assumption("A", "p", "p", independent=frozenset("aY")),))
    for depth in range(5):
        assert not mdl.independent(a_[i + depth, k], Y)
        assert not mdl.independent(a_[i + depth, k], v.Uniform(-1, 1))


def test_independence_needs_provably_distinct_instances():
    mdl = model()
    assert mdl.independent(X[1], X[2])
    assert not mdl.independent(X[j], X[j])
    assert not mdl.independent(X[j], X[k])                             # j and k may be equal
    assert mdl.independent(X[j], X[jj], frozenset({frozenset((j, jj))}))
    assert not mdl.independent(Y, Y)


def test_independence_needs_a_cited_declaration_for_every_family():
    undeclared = Assumption("B", "b", "b", independent=frozenset("X"))
    assert not model(premises=(undeclared,)).independent(X[1], Y)
    assert not model(premises=()).independent(X[1], X[2])


def test_a_distribution_written_twice_is_one_variable():
    mdl = model()
    u = v.Uniform(-1, 1)
    assert not mdl.independent(u, u**3)
    assert not mdl.independent(u, v.Uniform(0, 1))                      # nothing declares two laws independent


def test_uncorrelated_through_a_centred_independent_factor():
    mdl = model()
    distinct = frozenset({frozenset((j, jj))})
    # the z[i, j] of one layer share earlier weights: not independent, but the centred W makes them uncorrelated
    assert not mdl.independent(z[i, j] * W[i, j, k], z[i, jj] * W[i, jj, k], distinct)
    assert mdl.uncorrelated(z[i, j] * W[i, j, k], z[i, jj] * W[i, jj, k], distinct)
    # a shared weight W[i, k] (one index missing) is in both terms: refused
    assert not mdl.uncorrelated(z[i, j] * W[i, k], z[i, jj] * W[i, k], distinct)


# ---------------------------------------------------------------- counts


@pytest.mark.parametrize("lo, hi, holds", [
    (1, n[i], True), (2, 7, True), (1, N, True), (1, 0, True),
    (N, 1, False), (1, M, False), (3, 1, False), (1, X[1], False), (1, sp.Rational(5, 2), False),
])
def test_counts(lo, hi, holds):
    assert bool(model().count(sp.sympify(lo), sp.sympify(hi))) is holds


# ---------------------------------------------------------------- means and symmetry


def test_centred_is_computed_from_the_definitions():
    mdl = model()
    assert mdl.centred(s[i, k])
    assert mdl.centred(z[i, j])                                        # input declared; odd f of symmetric s
    assert not mdl.centred(s[i, k] + 100)
    biased = (LAYERED[0], Definition(s[i, k], LAYERED[1].rhs + c[i, k], "s[i, k]"))
    refused = model(biased).centred(s[i, k])
    assert not refused and "not known to be 0" in refused.text
    assert not model(activation="sigmoid").centred(z[i + 1, k])       # E[sigmoid(s)] = 1/2
    assert not model(premises=()).centred(W[i, j, k])


def test_mean_of_an_odd_function_is_exact_for_a_symmetric_argument_first_order_otherwise():
    exact = model().centred(v.f(s[i, k]))
    assert exact and not exact.approximate
    no_symmetry = Assumption("A", "p", "p", independent=frozenset("zW"), zero_mean=frozenset("zW"))
    approximate = model(premises=(no_symmetry,)).centred(v.f(s[i, k]))
    assert approximate and approximate.approximate


def test_symmetry():
    mdl = model()
    assert mdl.symmetric(s[i, k]) and mdl.symmetric(v.Uniform(-1, 1)) and mdl.symmetric(v.Normal(0, 2))
    assert not mdl.symmetric(v.Uniform(0, 1))
    assert not mdl.symmetric(s[i, k] + 5)
    assert not mdl.symmetric(X[1])                                     # centred, but not declared symmetric


def test_identical_distribution():
    mdl = model()
    assert mdl.identical(z[i, j], j) and mdl.identical(W[i, j, k], j) and mdl.identical(s[i - 1, j], j)
    per_unit = (LAYERED[0], Definition(s[i, k], LAYERED[1].rhs + c[i, k], "s[i, k]"))
    assert not model(per_unit).identical(z[i, j], j)                  # each unit has its own constant c[i, j]
    assert not model(premises=()).identical(W[i, j, k], j)


# ---------------------------------------------------------------- domains


@pytest.mark.parametrize("expr, real", [
    (sp.sqrt(v.Var(Y)), True), (sp.sqrt(-v.Var(Y)), False), (sp.sqrt(M**2), True), (sp.sqrt(M), False),
    (sp.log(N), True), (sp.log(v.Var(Y)), False), (sp.I * v.Var(Y), False), (M ** sp.Rational(1, 3), False),
    (sp.sqrt(v.E(Y**2)), True), (sp.sqrt(v.E(Y) ** 2), True), (sp.sqrt(v.E(Y)), False),
])
def test_domains(expr, real):
    assert (domain.problem(expr) is None) is real


def test_the_imaginary_unit_is_not_a_name():
    text = GLOROT_TEXT.replace('claim = "Var[W[i]] == 1/n[i]"', 'claim = "Var[W[i]] == I/n[i]"')
    with pytest.raises(LoadError, match="unknown name 'I'"):
        loads(text, "g.toml", ARITIES)


# ---------------------------------------------------------------- the linearisation's error term


def test_linearisation_is_approximate_with_its_neglected_term(glorot_result):
    f1 = glorot_result.steps[1]
    assert f1.relation == "≈" and f1.approximate and "(-2)*Var[u]**2" in f1.neglected
    chains = [r.approximate for r in glorot_result.steps]
    assert chains[1:7] == [True] * 6 and chains[8:16] == [True] * 8   # everything after F1 and B1, to first order
    assert not chains[0] and not chains[7]                              # F0, B0: exact
    assert not glorot_result.steps[16].approximate                     # D3 does not rest on it


@pytest.mark.parametrize("activation", ["tanh", "atan(x)", "sin(x)"])
def test_the_predicted_term_matches_sampled_gains(activation):
    """Var[f(s)] = v + f'''(0) v^2 + O(v^3) and E[f'(s)^2] = 1 + f'''(0) v + O(v^2) for s ~ N(0, v): the sampled
    gains sit within O(v^2) of the prediction, and the neglected term is much larger than the sampling error."""
    check = check_activation(activation)
    c3 = float(check.third)
    x = sp.Symbol("x", real=True)
    f = sp.lambdify(x, check.expr.subs(sp.Symbol("x", real=True), x), "numpy")
    df = sp.lambdify(x, sp.diff(check.expr, x), "numpy")
    rng = np.random.default_rng(7)
    level = 0.05
    s_ = rng.normal(0.0, np.sqrt(level), 400_000)
    forward_gain = np.var(f(s_)) / level
    backward_gain = np.mean(df(s_) ** 2)
    assert abs(forward_gain - (1 + c3 * level)) < 12 * level**2
    assert abs(backward_gain - (1 + c3 * level)) < 12 * level**2
    assert abs(forward_gain - 1) > 0.5 * abs(c3) * level               # the linear picture alone is off


# ---------------------------------------------------------------- the engine


def test_a_start_equation_is_a_premise_listed_under_what_depends_on_it():
    text = GLOROT_TEXT.replace('start = "Var[Uniform(-a, a)]"\nclaim = "a**2/3"',
                               'start = "Var[Uniform(-a, a)] == a**2/3"\nclaim = "Var[Uniform(-a, a)] == a**2/3"')
    text = text.replace('rule = "uniform variance"', 'rule = "definition"', 1)
    result = verify(loads(text, "g.toml", ARITIES))
    d3 = next(r for r in result.steps if r.step.id == "D3")
    d4 = next(r for r in result.steps if r.step.id == "D4")
    assert d3.is_premise and "D3" in d4.premise_steps


def test_harmonic_averaging_of_one_requirement_with_itself_is_refused():
    text = GLOROT_TEXT.replace('from = ["F6", "B6"]', 'from = ["F6", "F6"]')
    d1 = next(r for r in verify(loads(text, "g.toml", ARITIES)).steps if r.step.id == "D1")
    assert d1.verdict == REFUSED and d1.failed == "a forward and a backward requirement"


def test_conditions_know_their_direction():
    # a chain from the gradients solved by the forward condition is refused: it keeps the backward variance
    text = GLOROT_TEXT.replace('rule = "backward condition"', 'rule = "forward condition"')
    b6 = next(r for r in verify(loads(text, "g.toml", ARITIES)).steps if r.step.id == "B6")
    assert b6.verdict == REFUSED and b6.failed == "a forward chain"


def test_uniform_bound_needs_the_variance_of_a_uniform_law():
    text = GLOROT_TEXT.replace('from = ["D3", "D1"]', 'from = ["F6", "D1"]')
    d4 = next(r for r in verify(loads(text, "g.toml", ARITIES)).steps if r.step.id == "D4")
    assert d4.verdict == REFUSED and d4.failed == "the variance of a uniform law"


def test_obligations_are_listed_with_their_evidence_in_json():
    done = subprocess.run([sys.executable, "-m", "derivation", "verify", "--json"], capture_output=True, text=True)
    steps = {s["id"]: s for s in json.loads(done.stdout)["steps"]}
    names = {o["name"] for o in steps["F2"]["obligations"]}
    assert names == {"a nonnegative integer count", "distinct summands uncorrelated"}
    assert steps["F1"]["relation"] == "≈" and steps["F1"]["neglected"]
    assert steps["F6"]["relation"] == "requires" and steps["D1"]["relation"] == "compromise"
    assert all(o["evidence"] for s in steps.values() for o in s["obligations"])


def test_verdicts_do_not_depend_on_the_hash_seed():
    files = builtin_names() + [os.path.join(os.path.dirname(__file__), os.pardir, "examples", "sample_mean.toml")]
    for name in files:
        outputs = set()
        for seed in ("1", "2"):
            env = {**os.environ, "PYTHONHASHSEED": seed}
            done = subprocess.run([sys.executable, "-m", "derivation", "verify", name, "--json"],
                                  capture_output=True, text=True, env=env)
            outputs.add(done.stdout)
        assert len(outputs) == 1, name


def test_control_characters_in_a_file_are_refused():
    text = GLOROT_TEXT.replace('title = "Xavier/Glorot initialisation"', 'title = "X\\u001b[2Jverified"')
    with pytest.raises(LoadError, match="control character U\\+001B"):
        loads(text, "g.toml", ARITIES)


def test_a_requirement_rewritten_stays_a_requirement():
    """F3 is what keeping the variance constant requires; F4 splits its variance: still a requirement, and the
    result says so (W, Q ~ N(0, 1) satisfy every premise and give Var[W] + Var[Q] = 2, not 1)."""
    path = os.path.join(os.path.dirname(__file__), "data", "requirement_continued.toml")
    from derivation.loader import load
    result = verify(load(path, ARITIES))
    f4 = result.steps[-1]
    assert f4.ok and f4.relation == "requires"
    from derivation.report import qualifiers
    assert "a requirement: what keeping the variance constant requires" in qualifiers(f4)


def test_a_sum_of_a_constant_collapses_only_over_integer_limits():
    from derivation.kernel.compare import equal
    w = sp.Symbol("w", positive=True)
    assert equal(sp.Sum(w, (j, 1, n[i])), n[i] * w)
    assert not equal(sp.Sum(w, (j, 1, N / 2)), N * w / 2)


# ---------------------------------------------------------------- edges found by mutation testing


V = sp.IndexedBase("V", real=True)


def _family(definition_lhs, definition_rhs, premises):
    symbols = {**SYMBOLS, "Y": SymbolDecl("Y", "random"), "V": SymbolDecl("V", "random")}
    return Model(symbols, (Definition(definition_lhs, definition_rhs, "Y"),), premises, None)


@pytest.mark.parametrize("rhs, holds, says", [
    (X[i, k] * X[i, k + 2], True, "selects i.i.d. primitives"),
    (X[i, k] * X[i, 4 - k], False, "is not indexed by k plus a constant"),        # k = 2: X[i, 2]**2
    (X[i, k] * X[i, 1], False, "may share the variables"),                       # k = 1: X[i, 1]**2
    (X[i, k, 1] * X[i, 1, k], False, "may be one variable"),                    # k = 1: X[i, 1, 1]**2
    (k * X[i, k], False, "outside its random variables"),
    (X[i, k] + V[i, 0], True, "selects i.i.d. primitives"),
])
def test_identical_distribution_of_a_defined_family(rhs, holds, says):
    Yb = sp.IndexedBase("Y", real=True)
    premises = (Assumption("A", "p", "p", independent=frozenset("XV"), iid=frozenset("X")),)
    evidence = _family(Yb[i, k], rhs, premises).identical(Yb[i, k], k)
    assert bool(evidence) is holds and says in evidence.text
    if holds:
        assert evidence.premises == ("A",)


def test_identical_distribution_needs_the_iid_premise_and_a_layer_that_stays():
    Yb = sp.IndexedBase("Y", real=True)
    no_iid = (Assumption("A", "p", "p", independent=frozenset("XV")),)
    refused = _family(Yb[i, k], X[i, k] + V[i, 0], no_iid).identical(Yb[i, k], k)
    assert not refused and "no cited assumption declares X identically distributed" in refused.text
    mdl = model()
    assert mdl.identical(X[j], j)                                     # one index, no definition: a unit index
    layered = mdl.identical(z[j, k], j)
    assert not layered and "the layer of z[j, k] depends on j" in layered.text
    assert not mdl.identical(v.f(X[j]), j)                            # not one family's instance


def test_one_law_per_layer():
    mdl = model()
    assert mdl.one_law_per_layer(W[i, j, k])
    # defined: decided index by index (s[i, k] depends on k only through iid weights independent of the rest)
    decided = mdl.one_law_per_layer(s[i, k])
    assert decided and "does not depend on any unit index" in decided.text
    # a definition in which the unit index scales the value: the units of a layer have different laws
    scaled = model(LAYERED + (Definition(X[i + 1, k], k * z[i, k], "X[i+1, k]"),))
    assert not scaled.one_law_per_layer(X[i, k])


def test_counts_need_declared_sizes_and_no_moments():
    plain = sp.IndexedBase("m")                                         # no assumptions on the base itself
    symbols = {**SYMBOLS, "m": SymbolDecl("m", "size")}
    mdl = Model(symbols, (), (), None)
    assert mdl.count(sp.S.One, plain[i])                                # a declared size is a positive integer
    assert not Model({**SYMBOLS, "m": SymbolDecl("m", "constant")}, (), (), None).count(sp.S.One, plain[i])
    assert not mdl.count(sp.S.One, v.E(X[1]))
    assert not mdl.count(sp.S.One, v.Var(X[1]))
    assert mdl.count(j, j) and not mdl.count(sp.S.One, j)


def test_evidence_carries_its_premises():
    mdl = model()
    assert mdl.independent(z[i, j], W[i, j, k]).premises == ("A",)
    assert mdl.symmetric(s[i, k]).premises == ("A",)
    assert mdl.independent(X[j], X[j + 1])                             # j and j + 1 differ by a constant
    distinct = frozenset({frozenset((j, jj))})
    assert mdl.uncorrelated(z[i, j] * W[i, j, k], z[i, jj] * W[i, jj, k], distinct).premises == ("A",)
    assert not mdl.uncorrelated(X[j] * Y, X[jj] * Y)                    # j, j' not known distinct; Y shared


def test_a_definition_of_one_fixed_layer():
    """Y[0, k] := 2*X[0, k] defines layer 0 only: Y[1, k] is primitive, Y[i, k] may be either."""
    Yb = sp.IndexedBase("Y", real=True)
    symbols = {**SYMBOLS, "Y": SymbolDecl("Y", "random")}
    mdl = Model(symbols, (Definition(Yb[0, k], 2 * X[0, k], "Y[0, k]"),), (PREMISES,), None)
    assert mdl.cases(Yb[0, k]) == (False, True)
    assert mdl.cases(Yb[1, k]) == (True, False)
    assert mdl.cases(Yb[i, k]) == (True, True)
    from derivation.kernel.definitions import instantiate
    definition = mdl.shapes["Y"].definition
    assert instantiate(definition, Yb[0, j]) == 2 * X[0, j] and instantiate(definition, Yb[1, j]) is None


def test_odd_powers_and_sign_flips():
    mdl = model()
    assert mdl.centred(W[i, j, k] ** 3)                                # symmetric W: odd powers are centred
    assert not mdl.centred(W[i, j, k] ** 2)
    assert not mdl.centred(X[1] ** 3)                                   # centred is not symmetric
    assert mdl.symmetric(W[i, 1, k] * z[i, 1] + W[i, 2, k] * z[i, 2])
    assert not mdl.symmetric(W[i, 1, k] ** 2 + W[i, 2, k])
    assert not mdl.symmetric(X[1] + X[2])                               # X is not declared symmetric


def test_independence_of_a_constant_needs_no_declaration():
    bare = model(premises=())
    assert bare.independent(X[1], sp.Integer(3)) and bare.independent(sp.Integer(3), X[1])
    not_centred = Assumption("A", "p", "p", independent=frozenset("X"))
    distinct = frozenset({frozenset((j, jj))})
    assert model(premises=(not_centred,)).uncorrelated(X[j], X[jj], distinct)      # by independence alone


def test_only_random_families_are_defined_by_random_expressions():
    with pytest.raises(DefinitionError, match="not declared random"):
        shapes((Definition(c[i, k], X[i, k], "c[i, k]"),), frozenset("X"))
    with pytest.raises(DefinitionError, match="not declared random"):
        shapes((Definition(c[i, k], v.Uniform(0, 1), "c[i, k]"),), frozenset("X"))
    assert shapes((Definition(c[i, k], 2 * n[i], "c[i, k]"),), frozenset("X"))


def test_symbolic_powers_need_a_positive_base():
    t = sp.Symbol("t", real=True)
    assert domain.problem(N**t) is None
    assert domain.problem(M**t) is not None
    assert domain.problem(2**M) is None


def test_layer_boundaries_of_a_shifted_definition():
    mdl = model()
    assert mdl.cases(z[0, k]) == (True, False) and mdl.cases(z[1, k]) == (False, True)
    from derivation.kernel.definitions import instantiate
    assert instantiate(LAYERED[0], z[0, k]) is None and instantiate(LAYERED[0], z[i, k]) is None
    assert instantiate(LAYERED[0], z[i + 1, j]) == v.f(s[i, j])
    Yb = sp.IndexedBase("Y", real=True)
    fixed = Model({**SYMBOLS, "Y": SymbolDecl("Y", "random")}, (Definition(Yb[2, k], X[2, k], "Y[2, k]"),), (), None)
    assert fixed.cases(Yb[2, k]) == (False, True) and fixed.cases(Yb[-2 + 4, k]) == (False, True)
    assert fixed.cases(Yb[1, k]) == (True, False)


def test_only_the_layer_may_be_a_constant_on_the_left():
    with pytest.raises(DefinitionError, match="must be an index symbol"):
        shapes((Definition(z[i, 0], s[i, 0], "z[i, 0]"),))


def test_symbolic_powers_of_a_variance_are_refused():
    t = sp.Symbol("t", real=True)
    assert domain.problem(v.Var(Y) ** t) is not None                   # Var may be 0: 0**t is not real for t < 0


def test_a_side_branch_leaves_the_gradient_undetermined():
    from derivation.loader import load
    path = os.path.join(os.path.dirname(__file__), "data", "side_branch.toml")
    b0 = verify(load(path, ARITIES)).steps[0]
    assert b0.verdict == REFUSED and b0.failed == "the definitions determine the gradient"
    assert "y uses s but never reaches a later s" in b0.message


def test_second_moments_are_variance_plus_squared_mean():
    # E[X^2] = Var[X] + E[X]^2: the product variance claimed in second moments is the rule's result
    from derivation.kernel.compare import canonical, equal
    from derivation.loader import load
    assert equal(v.E(X[j] ** 2), v.Var(X[j]) + v.E(X[j]) ** 2)
    assert equal(v.E(X[j] ** 2 * W[j] ** 2), v.Var(X[j] * W[j]) + v.E(X[j] * W[j]) ** 2)   # E[(X W)^2]
    assert canonical(v.E(X[j] + X[j] ** 2)) == v.E(X[j] + X[j] ** 2)        # not a square: left alone
    assert not equal(v.E(X[j] ** 2), v.Var(X[j]))
    path = os.path.join(os.path.dirname(__file__), "data", "product_second_moments.toml")
    p1 = verify(load(path, ARITIES)).steps[0]
    assert p1.ok, (p1.verdict, p1.message)
