"""Property tests (Hypothesis): the parser round-trips and never fails but with its own error; the rules
agree with exact moments computed by integration on random polynomial variables."""

import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import make_context
from derivation.kernel import terms as v
from derivation.kernel.compare import equal
from derivation.kernel.derivation import SymbolDecl
from derivation.parser import Namespace, ParseError, parse
from derivation.printing import plain
from derivation.kernel.rules import RULES, Context

i, j = sp.symbols("i j", integer=True)
a, b = sp.symbols("a b", positive=True)
z = sp.IndexedBase("z", real=True)
n = sp.IndexedBase("n", positive=True, integer=True)
NAMES = Namespace({"i": i, "j": j, "a": a, "b": b}, {"z": z, "n": n})
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

atoms = st.sampled_from(["a", "b", "z[i, j]", "z[i+1, j]", "n[i]", "Var[z[i, j]]", "E[z[i, j]]", "2", "3", "0.5"])


def combine(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, st.integers(-3, 4)).map(lambda t: f"({t[0]})**{t[1]}"),
        children.map(lambda c: f"sqrt({c})"),
        children.map(lambda c: f"Var[{c}]"),
        children.map(lambda c: f"Sum({c}, (j, 1, n[i]))"),
        children.map(lambda c: f"-{c}"),
    )


expressions = st.recursive(atoms, combine, max_leaves=8)


@SETTINGS
@given(expressions)
def test_printing_a_parsed_expression_parses_back_to_it(text):
    try:
        first = parse(text, NAMES)
    except ParseError:
        assume(False)
    again = parse(plain(first), NAMES)
    assert again == first


@SETTINGS
@given(st.text(max_size=80))
def test_arbitrary_text_is_an_expression_or_our_error(text):
    try:
        parse(text, NAMES)
    except ParseError as exc:
        assert str(exc) and "\n" not in str(exc)


@SETTINGS
@given(st.text(alphabet="az[](),.*+-/=<>!'\"_:;{}\\ 0123456789ijnVarESumsqrt", max_size=60))
def test_near_valid_text_is_an_expression_or_our_error(text):
    try:
        parse(text, NAMES)
    except ParseError:
        pass


# ---------------------------------------------------------------- rules against exact moments

u = sp.Symbol("u", real=True)
X, Y = sp.symbols("X Y", real=True)
RANDOM = {"X": SymbolDecl("X", "random"), "Y": SymbolDecl("Y", "random")}
CONTEXT = make_context(RANDOM, facts={"independent": frozenset("XY")})

small = st.integers(-3, 3)
polynomials = st.tuples(small, st.integers(1, 3), small)                    # c * U**p + d
supports = st.tuples(st.integers(-3, 1), st.integers(1, 4)).map(lambda t: (t[0], t[0] + t[1]))


def moment(poly, support, power):
    """E[(c U^p + d)^power] for U ~ U(lo, hi): the integral of the density."""
    c, p, d = poly
    lo, hi = support
    return sp.integrate((c * u**p + d) ** power / (hi - lo), (u, lo, hi))


@SETTINGS
@given(polynomials, polynomials, supports, supports)
def test_product_variance_matches_exact_moments(px, py, sx, sy):
    mean = {X: moment(px, sx, 1), Y: moment(py, sy, 1)}
    var = {X: moment(px, sx, 2) - mean[X] ** 2, Y: moment(py, sy, 2) - mean[Y] ** 2}
    exact = moment(px, sx, 2) * moment(py, sy, 2) - (mean[X] * mean[Y]) ** 2       # independence: E[XY] = E[X]E[Y]
    derived = RULES["product variance"].apply(v.Var(X * Y), CONTEXT)
    values = {v.E(s): mean[s] for s in (X, Y)} | {v.Var(s): var[s] for s in (X, Y)}
    assert sp.simplify(derived.xreplace(values) - exact) == 0


@SETTINGS
@given(polynomials, polynomials, supports, supports, small, small, small)
def test_variance_additivity_matches_exact_moments(px, py, sx, sy, cx, cy, shift):
    var = {X: moment(px, sx, 2) - moment(px, sx, 1) ** 2, Y: moment(py, sy, 2) - moment(py, sy, 1) ** 2}
    exact = cx**2 * var[X] + cy**2 * var[Y]               # Var[cx X + cy Y + shift] for independent X, Y
    expr = v.Var(cx * X + cy * Y + shift)
    assume(cx != 0 and cy != 0)                             # else there is nothing to split (Var[Y] alone)
    derived = RULES["variance additivity"].apply(expr, CONTEXT) if expr.args[0].free_symbols else None
    assume(derived is not None)
    assert sp.simplify(derived.xreplace({v.Var(s): var[s] for s in (X, Y)}) - exact) == 0


@SETTINGS
@given(expressions)
def test_equivalence_accepts_expansions_and_rejects_shifts(text):
    try:
        expr = parse(text, NAMES)
    except ParseError:
        assume(False)
    assume(not expr.has(sp.zoo, sp.nan, sp.oo))
    assert equal(expr, sp.expand(expr))
    assert not equal(expr, expr + 1)
