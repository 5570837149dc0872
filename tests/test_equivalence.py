import sympy as sp

from derivation.kernel import terms as v
from derivation.kernel.compare import canonical, compare, equal

i, j, m = sp.symbols("i j m", integer=True)
z, W = sp.IndexedBase("z", real=True), sp.IndexedBase("W", real=True)
n = sp.IndexedBase("n", positive=True, integer=True)
a = sp.Symbol("a", positive=True)


def test_sums_equal_up_to_bound_variable_and_constant_factors():
    assert equal(sp.Sum(z[i, j], (j, 1, n[i])), sp.Sum(z[i, m], (m, 1, n[i])))
    assert equal(sp.Sum(2 * z[i, j] + W[i, j], (j, 1, n[i])), 2 * sp.Sum(z[i, j], (j, 1, n[i])) + sp.Sum(W[i, j], (j, 1, n[i])))
    assert equal(sp.Sum(a, (j, 1, n[i])), a * n[i])


def test_radicals_and_fractions_in_other_forms():
    assert equal(sp.sqrt(6 / (n[i] + n[i + 1])), sp.sqrt(6) / sp.sqrt(n[i] + n[i + 1]))
    assert equal(2 / (n[i] + n[i + 1]), 1 / ((n[i] + n[i + 1]) / 2))
    assert equal(sp.Eq(a, 1 / n[i]), sp.Eq(1 / n[i], a))


def test_differences_and_ratios_are_reported():
    c = compare(2 / (n[i] + n[i + 1]), 3 / (n[i] + n[i + 1]))
    assert not c.equal and c.ratio == sp.Rational(3, 2)
    c = compare(v.Var(z[i]) * v.Var(W[i]), v.Var(z[i]) * v.Var(W[i]) + v.E(z[i]) ** 2)
    assert not c.equal and c.difference == v.E(z[i]) ** 2 and c.ratio is None


def test_equation_against_expression_is_not_equal():
    c = compare(sp.Eq(a, 1), a)
    assert not c.equal and "equation" in c.reason


def test_moment_arguments_are_compared_canonically():
    assert equal(v.Var(W[i] * z[i] + 1), v.Var(1 + z[i] * W[i]))
    assert not equal(v.Var(z[i]), v.E(z[i]))
    assert canonical(v.Var(sp.Sum(2 * z[i, j], (j, 1, n[i])))) == canonical(v.Var(2 * sp.Sum(z[i, m], (m, 1, n[i]))))
