"""The general rules on moments (kernel.moment_rules), declared laws and premise equations: what each derives,
and where its obligation is refused. Each derivation is a small file, so the loader and the kernel are both
exercised; every expected value is stated by hand, and every refusal says why the claim would be false."""

from __future__ import annotations

import pytest
import sympy as sp

from derivation.kernel import terms as v
from derivation.loader import LoadError, loads
from derivation.verify import verify

from conftest import ARITIES

HEAD = '''title = "t"
[symbols]
j = { kind = "index" }
N = { kind = "size" }
a = { kind = "positive" }
p = { kind = "probability" }
X = { kind = "random" }
Y = { kind = "random" }
M = { kind = "random", law = "Bernoulli(1 - p)" }
U = { kind = "random", law = "Uniform(-a, a)" }
q = { kind = "random" }
[assumptions.ind]
title = "independent"
statement = "X, Y, M independent"
independent = ["X", "Y", "M"]
[assumptions.iid]
title = "samples"
statement = "the X[j] are i.i.d. and independent"
independent = ["X"]
iid = ["X"]
[assumptions.unit]
title = "unit variance"
statement = "q has variance 2 and mean 3"
facts = ["Var[q] == 2", "E[q] == 3"]
'''


def step(rule: str, start: str, claim: str, uses: str = "", extra: str = "") -> str:
    cited = f"uses = [{', '.join(repr(u) for u in uses.split())}]\n" if uses else ""
    return (f'[[sections]]\ntitle = "s"\n[[sections.steps]]\nid = "S1"\nrule = "{rule}"\n{cited}'
            f'start = "{start}"\nclaim = "{claim}"\n{extra}')


def outcome(rule: str, start: str, claim: str, uses: str = "", head: str = HEAD):
    result = verify(loads(head + step(rule, start, claim, uses), "t.toml", ARITIES))
    (only,) = result.steps
    return only


def verified(*args, **kw) -> bool:
    return outcome(*args, **kw).verdict == "verified"


# ------------------------------------------------------------------ expectation linearity

def test_linearity_splits_sums_and_keeps_constants():
    assert verified("expectation linearity", "E[2*X - 3*Y + 5]", "2*E[X] - 3*E[Y] + 5")
    assert verified("expectation linearity", "E[Sum(a*X[j], (j, 1, N))/N]", "a*Sum(E[X[j]], (j, 1, N))/N")
    # no independence needed: linearity holds for any finite sum
    assert verified("expectation linearity", "E[X*Y + X]", "E[X*Y] + E[X]")


def test_linearity_does_not_enter_a_power():
    # E[(X + Y)**2] = E[X**2] + 2 E[XY] + E[Y**2]: the rule leaves a power whole, so the claim without the
    # cross term is not derived (the rule does not apply)
    assert outcome("expectation linearity", "E[(X + Y)**2]", "E[X**2] + E[Y**2]").verdict == "inapplicable"


# ------------------------------------------------------------------ product mean

def test_product_mean_needs_independence():
    assert verified("product mean", "E[2*X*Y]", "2*E[X]*E[Y]", uses="ind")
    # not cited: X and Y may be one variable (E[X X] = E[X**2] differs from E[X]**2)
    refused = outcome("product mean", "E[X*Y]", "E[X]*E[Y]")
    assert refused.verdict == "refused" and refused.failed == "independent factors"


def test_product_mean_of_distinct_samples_only():
    assert verified("product mean", "E[X[1]*X[2]]", "E[X[1]]*E[X[2]]", uses="iid")
    # j and its neighbour j + 0 are the same sample: not independent
    assert outcome("product mean", "E[X[j]*X[j]]", "E[X[j]]**2", uses="iid").verdict != "verified"


# ------------------------------------------------------------------ variance scaling and identity

def test_variance_scaling_squares_the_constant():
    assert verified("variance scaling", "Var[3*X + 1]", "9*Var[X]")
    assert verified("variance scaling", "Var[Sum(X[j], (j, 1, N))/N]", "Var[Sum(X[j], (j, 1, N))]/N**2")
    # 3*Var[X] is not 9*Var[X] unless Var[X] = 0: refuted with a point (X is not a number, so unproven at worst)
    assert outcome("variance scaling", "Var[3*X + 1]", "3*Var[X]").verdict in ("wrong", "unproven")


def test_variance_identity_both_directions():
    assert verified("variance identity", "Var[X]", "E[X**2] - E[X]**2")
    assert verified("variance identity", "E[X**2] + 1", "Var[X] + E[X]**2 + 1")
    assert outcome("variance identity", "E[X]", "E[X]").verdict == "inapplicable"


# ------------------------------------------------------------------ declared laws

def test_law_moments_of_declared_laws():
    p = sp.Symbol("p", positive=True)
    assert verified("law moments", "E[M]", "1 - p")
    assert verified("law moments", "Var[M]", "p*(1 - p)")
    assert verified("law moments", "E[M**3]", "1 - p")              # M**k = M for a 0/1 variable
    assert verified("law moments", "Var[U]", "a**2/3")
    assert verified("law moments", "E[U**4]", "a**4/5")
    assert outcome("law moments", "E[M]", "p").verdict == "wrong"   # the keep probability is 1 - p
    assert outcome("law moments", "E[X]", "0").verdict == "inapplicable"   # X has no declared law
    assert v.raw_moment(v.Bernoulli(p), 2) == p


def test_a_declared_law_settles_mean_and_symmetry():
    # U ~ Uniform(-a, a) is centred by its declared law, with no premise cited
    assert verified("zero mean", "E[U] + E[M]", "E[M]")
    # M ~ Bernoulli(1 - p) has mean 1 - p, so it is not centred
    assert outcome("zero mean", "E[M]", "0").verdict == "inapplicable"


@pytest.mark.parametrize("law, why", [
    ("Bernoulli(2*p)", "outside [0, 1]"), ("Bernoulli(a)", "not shown in [0, 1]"), ("Bernoulli(p**2 - p)", "not multilinear"),
    ("Uniform(a, a)", "hi - lo is not shown positive"), ("Normal(0, -a)", "sigma"),
    ("Poisson(a)", "must be one of"), ("Bernoulli(X)", "parameters"), ("Bernoulli(p, p)", "1 parameter"),
])
def test_invalid_laws_are_refused_at_load(law, why):
    text = HEAD.replace('law = "Bernoulli(1 - p)"', f'law = "{law}"') + step("algebra", "E[M]", "E[M]")
    with pytest.raises(LoadError, match=r"symbol 'M'") as info:
        loads(text, "t.toml", ARITIES)
    assert why in str(info.value)


def test_probability_products_are_laws():
    text = HEAD.replace('Bernoulli(1 - p)', 'Bernoulli((1 - p)/2)') + step("law moments", "E[M]", "(1 - p)/2")
    assert verify(loads(text, "t.toml", ARITIES)).ok


# ------------------------------------------------------------------ substitution

def test_substitution_of_a_cited_premise_equation():
    assert verified("substitution", "N*Var[q]*E[q]", "6*N", uses="unit")
    assert verified("substitution", "Sum(Var[q[j]], (j, 1, N))", "Sum(2, (j, 1, N))", uses="unit")
    result = outcome("substitution", "N*Var[q]", "2*N", uses="unit")
    assert "unit" in result.premises
    # not cited: Var[q] is whatever it is
    assert outcome("substitution", "N*Var[q]", "2*N").verdict == "inapplicable"


def test_substitution_of_an_earlier_step_and_its_premises():
    text = HEAD + '''[[sections]]
title = "s"
[[sections.steps]]
id = "S1"
rule = "substitution"
uses = ["unit"]
start = "Var[q]"
claim = "2"
[[sections.steps]]
id = "S2"
rule = "variance scaling"
start = "Var[q*a + 1]*N"
claim = "a**2*Var[q]*N"
[[sections.steps]]
id = "S3"
rule = "substitution"
from = ["S1"]
claim = "2*a**2*N"
'''
    result = verify(loads(text, "t.toml", ARITIES))
    assert result.ok, [(r.step.id, r.verdict, r.message) for r in result.steps]
    # S3 rests on S1's fact Var[q] == 2, so on the premise it cited; its chain is still the one S2 started
    assert "unit" in result.steps[2].premises
    assert result.results == [] and str(result.steps[2].inputs[0]) == "N*a**2*Var[q]"
    # a fact whose left side does not occur is not used: the rule does not apply
    missing = verify(loads(text.replace('start = "Var[q]"\nclaim = "2"', 'start = "Var[q]*N"\nclaim = "2*N"'),
                           "t.toml", ARITIES))
    assert [r.verdict for r in missing.steps] == ["verified", "verified", "inapplicable"]


@pytest.mark.parametrize("fact, why", [
    ("Var[q] == -1", "not shown nonnegative"), ("E[M] == 1", "contradicts the declared law"),
    ("Var[q] == Var[X]", "declared parameters"), ("Var[q[j]] == 1", "must be Var[X] == c"),
    ("Var[q] == X", "declared parameters"), ("E[q] == 2", "a second value"),
])
def test_contradictory_or_malformed_facts_are_refused_at_load(fact, why):
    text = HEAD.replace('facts = ["Var[q] == 2", "E[q] == 3"]', f'facts = ["Var[q] == 2", "E[q] == 3", "{fact}"]')
    with pytest.raises(LoadError, match="assumption unit") as info:
        loads(text + step("algebra", "E[q]", "E[q]"), "t.toml", ARITIES)
    assert why in str(info.value)


# ------------------------------------------------------------------ algebra

def test_algebra_uses_no_probabilistic_fact():
    assert verified("algebra", "(a**2*Var[X] + a*Var[X])/a**2", "Var[X] + Var[X]/a")
    # E[X*Y] = E[X]*E[Y] needs independence: refuted with a counterexample or not shown, never verified
    assert outcome("algebra", "E[X*Y]", "E[X]*E[Y]").verdict in ("wrong", "unproven")


# ------------------------------------------------------------------ names

@pytest.mark.parametrize("name", ["lambda", "class", "match", "None"])
def test_python_keywords_are_refused_as_names(name):
    text = HEAD.replace('q = { kind = "random" }', f'{name} = {{ kind = "random" }}')
    with pytest.raises(LoadError, match=rf"symbol '{name}': '{name}' is a Python keyword"):
        loads(text + step("algebra", "E[X]", "E[X]"), "t.toml", ARITIES)


@pytest.mark.parametrize("name", ["x", "E", "Sum", "sqrt", "pi"])
def test_reserved_names_are_refused_with_the_list(name):
    text = HEAD.replace('q = { kind = "random" }', f'{name} = {{ kind = "random" }}')
    with pytest.raises(LoadError, match="reserved by the expression language") as info:
        loads(text + step("algebra", "E[X]", "E[X]"), "t.toml", ARITIES)
    assert "Var" in str(info.value) and "sqrt" in str(info.value)


# ------------------------------------------------------------------ naming the target, kinds

def test_at_names_where_the_rule_applies():
    text = HEAD + step("variance identity", "Var[X] + Var[Y]", "Var[X] + E[Y**2] - E[Y]**2", extra='at = "Var[Y]"\n')
    assert verify(loads(text, "t.toml", ARITIES)).ok
    # without 'at' the rule rewrites both variances, so this claim is what it derives only with 'at'
    plain = HEAD + step("variance identity", "Var[X] + Var[Y]", "E[X**2] - E[X]**2 + E[Y**2] - E[Y]**2")
    assert verify(loads(plain, "t.toml", ARITIES)).ok
    missing = HEAD + step("variance identity", "Var[X]", "E[X**2] - E[X]**2", extra='at = "Var[Y]"\n')
    (only,) = verify(loads(missing, "t.toml", ARITIES)).steps
    assert only.verdict == "inapplicable" and "does not occur" in only.message


def test_at_refuses_an_equation_in_place_of_a_term():
    text = HEAD + step("variance identity", "Var[X] + Var[Y]", "Var[X] + Var[Y]", extra='at = "Var[Y] == 1"\n')
    (only,) = verify(loads(text, "t.toml", ARITIES)).steps
    assert only.verdict == "inapplicable" and "not an equation" in only.message


@pytest.mark.parametrize("kind", ["positive integer", "count"])
def test_positive_integer_kind_is_a_size(kind):
    text = HEAD.replace('N = { kind = "size" }', f'N = {{ kind = "{kind}" }}')
    derivation = loads(text + step("variance scaling", "Var[X/N]", "Var[X]/N**2"), "t.toml", ARITIES)
    assert derivation.symbols["N"].kind == "size" and verify(derivation).ok


# ------------------------------------------------------------------ covariance

def test_covariance_expansion_keeps_the_cross_term():
    assert verified("covariance expansion", "Var[X + a*Y + 3]", "Var[X] + a**2*Var[Y] + 2*a*Cov[X, Y]")
    # dropping the covariance is what variance additivity does, and needs uncorrelated parts
    assert outcome("covariance expansion", "Var[X + Y]", "Var[X] + Var[Y]").verdict in ("wrong", "unproven")


def test_covariance_bilinearity_and_symmetry():
    assert verified("covariance bilinearity", "Cov[X + 2*Y, q - X]", "Cov[X, q] - Var[X] + 2*Cov[Y, q] - 2*Cov[X, Y]")
    assert verified("covariance bilinearity", "Cov[Sum(X[j], (j, 1, N)), Y]", "Sum(Cov[X[j], Y], (j, 1, N))")
    assert verified("covariance bilinearity", "Cov[3 + 0*X, Y] + Cov[2*X, Y]", "2*Cov[Y, X]")


def test_zero_covariance_needs_uncorrelated_parts():
    assert verified("zero covariance", "Cov[X, Y] + Var[X]", "Var[X]", uses="ind")
    refused = outcome("zero covariance", "Cov[X, Y]", "0")
    assert refused.verdict == "inapplicable" and "no covariance shown to be 0" in refused.message
    # one variable is not uncorrelated with itself
    assert outcome("zero covariance", "Cov[X[1], X[1]]", "0", uses="iid").verdict != "verified"


def test_cov_is_a_moment_for_the_parser():
    with pytest.raises(LoadError, match="Cov\\[X, Y\\] takes two expressions"):
        loads(HEAD + step("algebra", "Cov[X]", "Cov[X]"), "t.toml", ARITIES)


# ------------------------------------------------------------------ which index is the layer

LAYERS = '''title = "t"
[symbols]
j = { kind = "index" }
k = { kind = "index" }
N = { kind = "size" }
A = { kind = "random", layered = false, text = "a matrix of samples: no layer" }
B = { kind = "random", text = "a layered family: B[l, u]" }
[assumptions.iid]
title = "samples"
statement = "independent and identically distributed"
independent = ["A", "B"]
iid = ["A", "B"]
'''


def test_a_family_declared_without_layer_collapses_to_one_variance():
    # A[j, k] has no layer: its iid instances all have one law, so the sum over j is N*Var[A]
    text = LAYERS + step("iid summation", "Sum(Var[A[j, k]], (j, 1, N))", "N*Var[A]", uses="iid")
    assert verify(loads(text, "t.toml", ARITIES)).ok
    # B[j, k] is layered by default: summing over its layer index is refused (different layers, different laws)
    layered = LAYERS + step("iid summation", "Sum(Var[B[j, k]], (j, 1, N))", "N*Var[B]", uses="iid")
    (only,) = verify(loads(layered, "t.toml", ARITIES)).steps
    assert only.verdict == "refused" and "layer" in only.message


def test_without_layer_the_first_index_still_needs_one_law():
    # summing A[k, j] over j leaves k: Var[A] then claims one law for every k, which needs the iid premise
    text = LAYERS + step("iid summation", "Sum(Var[A[k, j]], (j, 1, N))", "N*Var[A]")
    (only,) = verify(loads(text, "t.toml", ARITIES)).steps
    assert only.verdict == "refused"


def test_layered_is_checked_at_load():
    with pytest.raises(LoadError, match="'layered' is true or false"):
        loads(LAYERS.replace("layered = false", 'layered = "no"') + step("algebra", "Var[A[j, k]]", "Var[A[j, k]]"),
              "t.toml", ARITIES)
    defined = LAYERS + '[definitions]\n"A[j+1, k]" = "A[j, k] + B[j, k]"\n' + step("algebra", "Var[A[j, k]]", "Var[A[j, k]]")
    with pytest.raises(LoadError, match="declared layered = false, but a definition gives it"):
        loads(defined, "t.toml", ARITIES)
