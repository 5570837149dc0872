"""Each rule on its own: what it derives, and where its hypothesis is missing."""

import pytest
import sympy as sp

from conftest import make_context
from derivation.kernel import terms as v
from derivation.activations import check_activation
from derivation.kernel.compare import equal
from derivation.kernel.derivation import Definition, SymbolDecl
from derivation.kernel.rules import COMPROMISE, EQUAL, REQUIRES, RULES, Context, RuleError

i, j, k = sp.symbols("i j k", integer=True)
a = sp.Symbol("a", positive=True)
z, W, g, s, b = (sp.IndexedBase(name, real=True) for name in "zWgsb")
n = sp.IndexedBase("n", positive=True, integer=True)
X, Y = sp.symbols("X Y", real=True)
SYMBOLS = {
    "z": SymbolDecl("z", "random", units=n[i]), "W": SymbolDecl("W", "random"),
    "s": SymbolDecl("s", "random", units=n[i + 1]), "g": SymbolDecl("g", "random", gradient_of="s"),
    "b": SymbolDecl("b", "constant", value=sp.S.Zero), "X": SymbolDecl("X", "random"), "Y": SymbolDecl("Y", "random"),
    "a": SymbolDecl("a", "positive"), "sigma": SymbolDecl("sigma", "positive"),
    **{name: SymbolDecl(name, "index") for name in "ijk"}, "n": SymbolDecl("n", "size"),   # as a file declares
}
PRE = sp.Sum(z[i, j] * W[i, j, k], (j, 1, n[i])) + b[i, k]
DEFINITIONS = (Definition(z[i + 1, k], v.f(s[i, k]), "z"), Definition(s[i, k], PRE, "s"))
EVERYTHING = {"independent": frozenset("zWgXY"), "iid": frozenset("zWg"), "zero_mean": frozenset("zWgXY")}


def ctx(facts=EVERYTHING, activation="tanh", subject=None, relations=(), input_rules=(), input_premises=None):
    return make_context(SYMBOLS, DEFINITIONS, facts, check_activation(activation) if activation else None, subject,
                        relations=relations, input_rules=input_rules, input_premises=input_premises)


def apply(name, *inputs, **kw):
    return RULES[name].apply(*inputs, ctx(**kw))


def test_definition_unfolds_each_definition_once():
    assert apply("definition", v.Var(z[i + 1, k])) == v.Var(v.f(PRE))


def test_definition_fails_when_nothing_is_defined():
    with pytest.raises(RuleError, match="no definition"):
        apply("definition", v.Var(W[i, j, k]))


def test_chain_rule_differentiates_the_next_layer():
    derived = apply("chain rule", v.Var(g[i, k]))
    expected = v.Var(v.df(s[i, k]) * sp.Sum(W[i + 1, k, j] * g[i + 1, j], (j, 1, n[i + 2])))
    assert equal(derived, expected)


def test_chain_rule_holds_for_the_units_later_layers_read():
    """The definitions read units 1..n[i+1] of s[i] (the sum over j in s[i+1, k]). Unit 0 and unit n[i+1] + 1
    reach no later layer: their gradient is 0. Unit 1 gets the chain rule's form; a free k is any unit 1..n[i+1]
    (recorded as an obligation); a sum over k keeps its own range."""
    form = v.df(s[i, k]) * sp.Sum(W[i + 1, k, j] * g[i + 1, j], (j, 1, n[i + 2]))
    assert apply("chain rule", g[i, 0]) == 0
    assert apply("chain rule", g[i, n[i + 1] + 1]) == 0
    assert equal(apply("chain rule", g[i, 1]), form.xreplace({k: 1}))
    context = ctx()
    RULES["chain rule"].apply(g[i, k], context)
    assert [o.name for o in context.obligations][:1] == ["a unit of the layer"]
    inside = apply("chain rule", sp.Sum(g[i, k], (k, 1, n[i + 1])))
    assert equal(inside, sp.Sum(form, (k, 1, n[i + 1])))
    assert not equal(apply("chain rule", sp.Sum(g[i, k], (k, 0, n[i + 1]))), sp.Sum(form, (k, 0, n[i + 1])))


def test_chain_rule_refuses_units_fewer_than_the_definitions_read():
    """'units' of s declared n[i+1] - 1 while s[i+1, k] sums z[i+1, j] = f(s[i, j]) over j = 1..n[i+1]: the sum
    over the units of s[i+1] would drop unit n[i+2], which the loss reaches."""
    short = dict(SYMBOLS, s=SymbolDecl("s", "random", units=n[i + 1] - 1))
    with pytest.raises(RuleError, match="the units summed are the units read not shown for s"):
        RULES["chain rule"].apply(g[i, k], make_context(short, DEFINITIONS, EVERYTHING, check_activation("tanh")))


def test_a_chain_rule_fact_stays_within_the_units():
    """The chain rule records that its result holds for k = 1..n[i+1]; a sum that takes k outside is refused."""
    from derivation.kernel.rules import at_least_zero, range_binder
    context = ctx()
    RULES["chain rule"].apply(g[i, k], context)
    assert context.unit_ranges == [(k, 1, n[i + 1])]
    ranges = context.unit_ranges
    assert range_binder(sp.Sum(g[i, k], (k, 0, n[i + 1])), g[i, k], ranges).startswith("the sum over k from 0")
    assert range_binder(sp.Sum(g[i, k], (k, 1, n[i + 1])), g[i, k], ranges) == ""
    assert range_binder(sp.Sum(g[i, k], (k, 2, n[i + 1] - 1)), g[i, k], ranges) == ""
    assert range_binder(sp.Sum(g[i, k], (k, 1, n[i + 1] + 1)), g[i, k], ranges) != ""
    assert range_binder(sp.Sum(g[i, k], (i, 0, 1)), g[i, k], ranges).startswith("the sum over i binds the i")
    both = ranges + [(k, sp.S.One, n[i + 2])]                        # k in both ranges: each must hold
    assert range_binder(sp.Sum(g[i, k], (k, 1, n[i + 1])), g[i, k], both) != ""
    assert [at_least_zero(d) for d in (n[i] - 1, n[i] - 2, 2 * n[i] - 2, n[i] + n[j] - 2, -n[i], k)] == \
        [True, False, True, True, False, False]


def test_linearisation_uses_the_activation_values_at_zero():
    u = sp.Sum(z[i, j], (j, 1, n[i]))
    assert apply("linearisation", v.Var(v.f(u))) == v.Var(u)
    assert apply("linearisation", v.Var(v.df(u) * X)) == v.Var(X)
    # sigmoid: f(u) ~ 1/2 + u/4, so the rule derives something else than u
    assert equal(apply("linearisation", v.Var(v.f(X)), activation="sigmoid"), v.Var(sp.Rational(1, 2) + X / 4))
    # the expansion is about 0, so the argument must be shown centred: X + 1 is not, nor an undeclared X
    with pytest.raises(RuleError, match=r"a centred argument not shown for X \+ 1"):
        apply("linearisation", v.Var(v.f(X + 1)))
    with pytest.raises(RuleError, match="no cited assumption declares X centred"):
        apply("linearisation", v.Var(v.f(X)), facts={"independent": frozenset("X")})


def test_linearisation_cannot_expand_relu_at_zero():
    with pytest.raises(RuleError, match="derivative"):
        apply("linearisation", v.Var(v.f(X)), activation="relu")


def test_variance_additivity_drops_constants_and_squares_coefficients():
    assert apply("variance additivity", v.Var(X + Y + b[i, k])) == v.Var(X) + v.Var(Y)
    assert equal(apply("variance additivity", v.Var(3 * X + 2)), 9 * v.Var(X))
    assert equal(apply("variance additivity", v.Var(PRE)), sp.Sum(v.Var(z[i, j] * W[i, j, k]), (j, 1, n[i])))


def test_variance_additivity_needs_independence():
    with pytest.raises(RuleError, match="independ"):
        apply("variance additivity", v.Var(X + Y), facts={})
    with pytest.raises(RuleError, match="both depend on"):       # Cov[X, X**2] = E[X**3]: not shown 0
        apply("variance additivity", v.Var(X + X**2))
    # X and X*Y are uncorrelated when Y is centred and independent of X: Cov = E[X**2] E[Y] = 0
    assert apply("variance additivity", v.Var(X + X * Y)) == v.Var(X) + v.Var(X * Y)


def test_product_variance():
    expected = v.E(X) ** 2 * v.Var(Y) + v.E(Y) ** 2 * v.Var(X) + v.Var(X) * v.Var(Y)
    assert equal(apply("product variance", v.Var(X * Y)), expected)
    assert equal(apply("product variance", v.Var(2 * X * Y)), 4 * expected)


def test_product_variance_refuses_dependent_factors():
    with pytest.raises(RuleError, match="both depend on X"):
        apply("product variance", v.Var(X * (X + Y)))
    with pytest.raises(RuleError, match="independ"):
        apply("product variance", v.Var(X * Y), facts={"independent": frozenset("X")})


def test_zero_mean_removes_only_centred_means():
    expr = v.E(X) ** 2 * v.Var(Y) + v.E(Y) ** 2 * v.Var(X) + v.Var(X) * v.Var(Y)
    assert apply("zero mean", expr, facts={"zero_mean": frozenset("XY")}) == v.Var(X) * v.Var(Y)
    assert apply("zero mean", expr, facts={"zero_mean": frozenset("X")}) == v.E(Y) ** 2 * v.Var(X) + v.Var(X) * v.Var(Y)
    with pytest.raises(RuleError, match="no mean"):
        apply("zero mean", expr, facts={})


def test_iid_summation_counts_identical_terms():
    expr = sp.Sum(v.Var(z[i, j]) * v.Var(W[i, j, k]), (j, 1, n[i]))
    assert apply("iid summation", expr) == n[i] * v.Var(z[i]) * v.Var(W[i])
    assert apply("iid summation", sp.Sum(v.Var(z[i, j]), (j, 2, 7))) == 6 * v.Var(z[i])


def test_iid_summation_needs_identical_distribution():
    with pytest.raises(RuleError, match="identically distributed"):
        apply("iid summation", sp.Sum(v.Var(z[i, j]), (j, 1, n[i])), facts={"iid": frozenset("W")})


def test_conditions_solve_for_the_weight_variance_and_reindex():
    forward = apply("forward condition", n[i] * v.Var(z[i]) * v.Var(W[i]), subject=v.Var(z[i + 1, k]))
    assert forward == sp.Eq(v.Var(W[i]), 1 / n[i])
    backward = apply("backward condition", n[i + 2] * v.Var(W[i + 1]) * v.Var(g[i + 1]), subject=v.Var(g[i, k]))
    assert backward == sp.Eq(v.Var(W[i]), 1 / n[i + 1])
    gain_two = apply("forward condition", 2 * n[i] * v.Var(z[i]) * v.Var(W[i]), subject=v.Var(z[i + 1, k]))
    assert gain_two.rhs == 1 / (2 * n[i])


def test_harmonic_averaging():
    both = dict(relations=(REQUIRES, REQUIRES), input_rules=("forward condition", "backward condition"))
    forward, backward = sp.Eq(v.Var(W[i]), 1 / n[i]), sp.Eq(v.Var(W[i]), 1 / n[i + 1])
    derived = apply("harmonic averaging", forward, backward, **both)
    assert equal(derived, sp.Eq(v.Var(W[i]), 2 / (n[i] + n[i + 1])))
    with pytest.raises(RuleError, match="different"):
        apply("harmonic averaging", forward, sp.Eq(v.Var(z[i]), 1), **both)
    # a requirement averaged with itself, two forward ones, or an equation no condition derived: refused
    with pytest.raises(RuleError, match="two distinct requirements"):
        apply("harmonic averaging", forward, forward, **both)
    with pytest.raises(RuleError, match="a forward and a backward requirement"):
        apply("harmonic averaging", forward, backward, relations=(REQUIRES, REQUIRES),
              input_rules=("forward condition", "forward condition"))
    with pytest.raises(RuleError, match="requirement as input"):
        apply("harmonic averaging", forward, backward, relations=(REQUIRES, EQUAL), input_rules=both["input_rules"])


def test_uniform_variance_is_integrated():
    assert apply("uniform variance", v.Var(v.Uniform(-a, a))) == a**2 / 3
    assert equal(apply("uniform variance", v.Var(v.Uniform(0, a))), a**2 / 12)
    with pytest.raises(RuleError):
        apply("uniform variance", v.Var(X))


def test_normal_and_uniform_bound_take_the_positive_root():
    sigma = sp.Symbol("sigma", positive=True)
    target = sp.Eq(v.Var(W[i]), 2 / (n[i] + n[i + 1]))
    chosen = (EQUAL, COMPROMISE)
    assert equal(apply("normal", v.Var(v.Normal(0, sigma)), target, relations=chosen),
                 sp.Eq(sigma, sp.sqrt(2 / (n[i] + n[i + 1]))))
    uniform = sp.Eq(v.Var(v.Uniform(-a, a)), a**2 / 3)
    assert equal(apply("uniform bound", uniform, target, relations=chosen), sp.Eq(a, sp.sqrt(6 / (n[i] + n[i + 1]))))
    # a requirement for centred weights does not allow an uncentred law
    centred = {"zero_mean": frozenset("W")}
    with pytest.raises(RuleError, match="a law the premises allow"):
        apply("uniform bound", sp.Eq(v.Var(v.Uniform(0, a)), a**2 / 12), target, relations=chosen, input_premises=centred)
    assert apply("uniform bound", uniform, target, relations=chosen, input_premises=centred).lhs == a
    # the uniform variance must come from a chain that started from Var[Uniform(...)]: any expression is refused
    with pytest.raises(RuleError, match="variance of a uniform law"):
        apply("uniform bound", sp.Eq(v.Var(X), a**2 / 3), target, relations=chosen)


def test_every_rule_states_its_formula_and_has_a_docstring():
    from derivation.prose import spans
    from derivation.document import formula_names
    for rule in RULES.values():
        assert rule.formula and rule.apply.__doc__, rule.name
        assert any(span.math is not None for span in spans(rule.formula, formula_names())), rule.name
