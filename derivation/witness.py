"""Independent witnesses for every rule: the identity the rule relies on, checked two ways that share
none of the rule's code.

* exact: computed on concrete distributions by integrating their densities (or enumerating outcomes, or
  with sympy.stats where it is reliable), with symbolic parameters where that stays fast;
* Monte Carlo: the same identity sampled with NumPy (seeded); it holds when the estimate is within
  ``Z`` standard errors of the exact value, the standard error computed from the same samples.

Counter-examples show that a rule's hypothesis matters: with Y = X (not independent) product variance
and additivity fail, and the witness reports that they fail. Data only; the CLI prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from typing import Callable

import numpy as np
import sympy as sp

Z = 5.0                     # tolerance in standard errors: a false alarm has probability below 1e-6
DEFAULT_SAMPLES = 400_000

x, y = sp.symbols("x y", real=True)
mu = sp.Symbol("mu", real=True)
sigma = sp.Symbol("sigma", positive=True)
lo, hi = sp.symbols("lo hi", real=True)


@dataclass(frozen=True)
class MonteCarlo:
    """A sampled (or numerical) estimate of the exact value. ``tolerance`` is Z standard errors of the
    estimate for a sampled one, or the stated bound of the numerical method otherwise."""

    estimate: float
    exact: float
    tolerance: float
    samples: int

    @property
    def holds(self) -> bool:
        return abs(self.estimate - self.exact) <= self.tolerance


@dataclass(frozen=True)
class Witness:
    rule: str
    statement: str
    exact_holds: bool
    exact_detail: str
    monte_carlo: MonteCarlo | None
    expect_failure: bool = False       # a counter-example: the identity must NOT hold

    @property
    def ok(self) -> bool:
        holds = self.exact_holds and (self.monte_carlo is None or self.monte_carlo.holds)
        fails = not self.exact_holds and (self.monte_carlo is None or not self.monte_carlo.holds)
        return fails if self.expect_failure else holds


# ---------------------------------------------------------------- exact moments, by integration

def normal_mean(g: sp.Expr, m=mu, s=sigma) -> sp.Expr:
    """E[g(X)] for X ~ N(m, s^2): the integral of g(x) exp(-(x-m)^2/(2 s^2)) / (s sqrt(2 pi))."""
    density = sp.exp(-((x - m) ** 2) / (2 * s**2)) / (s * sp.sqrt(2 * sp.pi))
    return sp.simplify(sp.integrate(sp.expand(g) * density, (x, -sp.oo, sp.oo)))


def uniform_mean(g: sp.Expr, a=lo, b=hi) -> sp.Expr:
    """E[g(Y)] for Y ~ U(a, b): the integral of g(y) / (b - a) over [a, b]."""
    return sp.factor(sp.integrate(g / (b - a), (y, a, b)))


def independent_mean(gx: sp.Expr, gy: sp.Expr) -> sp.Expr:
    """E[gx(X) gy(Y)] for independent X ~ N(mu, sigma^2), Y ~ U(lo, hi): the double integral against the
    product density, which is what independence means."""
    return sp.expand(normal_mean(gx) * uniform_mean(gy))


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    return sp.simplify(sp.expand(a - b)) == 0


# ---------------------------------------------------------------- Monte Carlo helpers

def mc_variance(samples: np.ndarray, exact: float) -> MonteCarlo:
    """Sample variance; tolerance Z times its standard error sd((X - mean)^2)/sqrt(n)."""
    centred = (samples - samples.mean()) ** 2
    return MonteCarlo(float(centred.mean()), float(exact), Z * float(centred.std() / math.sqrt(len(samples))),
                      len(samples))


def mc_mean(samples: np.ndarray, exact: float) -> MonteCarlo:
    """Sample mean; tolerance Z times its standard error sd(X)/sqrt(n)."""
    return MonteCarlo(float(samples.mean()), float(exact), Z * float(samples.std() / math.sqrt(len(samples))),
                      len(samples))


NUMERIC = {mu: sp.Rational(1, 2), sigma: 2, lo: -1, hi: 3}       # X ~ N(1/2, 4), Y ~ U(-1, 3)


def draw_xy(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(0.5, 2.0, n), rng.uniform(-1.0, 3.0, n)


# ---------------------------------------------------------------- the witnesses

def product_variance(rng, n) -> list[Witness]:
    ex, ex2 = normal_mean(x), normal_mean(x**2)
    ey, ey2 = uniform_mean(y), uniform_mean(y**2)
    vx, vy = ex2 - ex**2, ey2 - ey**2
    formula = ex**2 * vy + ey**2 * vx + vx * vy
    actual = independent_mean(x**2, y**2) - independent_mean(x, y) ** 2
    xs, ys = draw_xy(rng, n)
    out = [Witness("product variance", "Var[XY] = E[X]^2 Var[Y] + E[Y]^2 Var[X] + Var[X] Var[Y], "
                   "X ~ N(mu, sigma^2), Y ~ U(lo, hi) independent",
                   _same(actual, formula), f"Var[XY] = {sp.factor(actual)}",
                   mc_variance(xs * ys, float(formula.subs(NUMERIC))))]
    # a discrete pair, enumerated exactly: a die D and a coin C with P(C = 1) = 1/3
    die = {Fraction(d): Fraction(1, 6) for d in range(1, 7)}
    coin = {Fraction(0): Fraction(2, 3), Fraction(1): Fraction(1, 3)}

    def moments(law):
        mean = sum(v * p for v, p in law.items())
        return mean, sum(v * v * p for v, p in law.items()) - mean**2

    (ed, vd), (ec, vc) = moments(die), moments(coin)
    joint = {(d * c): 0 for d, c in product(die, coin)}
    for (d, pd), (c, pc) in product(die.items(), coin.items()):
        joint[d * c] = joint.get(d * c, 0) + pd * pc
    _, v_dc = moments(joint)
    discrete_formula = ed**2 * vc + ec**2 * vd + vd * vc
    dice = rng.integers(1, 7, n)
    coins = (rng.random(n) < 1 / 3).astype(float)
    out.append(Witness("product variance", "the same for a die D and a coin C (P = 1/3), enumerated",
                       v_dc == discrete_formula, f"Var[DC] = {v_dc}",
                       mc_variance(dice * coins, float(discrete_formula))))
    # the hypothesis matters: Y = X is not independent of X
    dependent = normal_mean(x**4) - normal_mean(x**2) ** 2
    wrong = 2 * ex**2 * vx + vx**2
    out.append(Witness("product variance", "counter-example Y = X (dependent): the formula must fail",
                       _same(dependent, wrong), f"Var[X X] = {sp.factor(dependent)}, formula {sp.factor(wrong)}",
                       mc_variance(xs * xs, float(wrong.subs(NUMERIC))), expect_failure=True))
    return out


def variance_additivity(rng, n) -> list[Witness]:
    vx = normal_mean(x**2) - normal_mean(x) ** 2
    vy = uniform_mean(y**2) - uniform_mean(y) ** 2
    mean_sum = normal_mean(x) + uniform_mean(y)
    second = normal_mean(x**2) + 2 * independent_mean(x, y) + uniform_mean(y**2)
    actual = second - mean_sum**2
    xs, ys = draw_xy(rng, n)
    return [
        Witness("variance additivity", "Var[X + Y + 3] = Var[X] + Var[Y], X ~ N(mu, sigma^2), Y ~ U(lo, hi) "
                "independent", _same(actual, vx + vy), f"Var[X + Y] = {sp.factor(actual)}",
                mc_variance(xs + ys + 3, float((vx + vy).subs(NUMERIC)))),
        Witness("variance additivity", "counter-example Y = X (dependent): Var[X + X] = 4 Var[X], not 2 Var[X]",
                _same(4 * vx, 2 * vx), f"Var[2X] = {4 * vx}, additivity {2 * vx}",
                mc_variance(xs + xs, float((2 * vx).subs(NUMERIC))), expect_failure=True),
    ]


def zero_mean(rng, n) -> list[Witness]:
    a = sp.Symbol("a", positive=True)
    means = (normal_mean(x, 0, sigma), uniform_mean(y, -a, a))
    return [Witness("zero mean", "E[X] = 0 for X ~ N(0, sigma^2) and for X ~ U(-a, a)", all(m == 0 for m in means),
                    f"E = {means[0]}, {means[1]}", mc_mean(rng.uniform(-2.0, 2.0, n), 0.0))]


def iid_summation(rng, n) -> list[Witness]:
    # three dice, all 216 outcomes enumerated: Var[D1 + D2 + D3] = 3 Var[D]
    faces = range(1, 7)
    totals = [sum(t) for t in product(faces, repeat=3)]
    mean = Fraction(sum(totals), len(totals))
    var_sum = Fraction(sum(t * t for t in totals), len(totals)) - mean**2
    var_one = Fraction(sum(f * f for f in faces), 6) - Fraction(sum(faces), 6) ** 2
    uniforms = rng.uniform(-1.0, 1.0, (n, 5)).sum(axis=1)
    return [Witness("iid summation", "Var[D1 + D2 + D3] = 3 Var[D] for three dice (enumerated); "
                    "Var[sum of 5 U(-1, 1)] = 5/3 (sampled)", var_sum == 3 * var_one,
                    f"Var[sum] = {var_sum}, 3 Var[D] = {3 * var_one}", mc_variance(uniforms, 5 / 3))]


def linearisation(rng, n) -> list[Witness]:
    """tanh(s) = s - s^3/3 + ...: the linear term is s; for s ~ N(0, v) the neglected part has
    E[(tanh s - s)^2] = (5/3) v^3 + O(v^4) (so relative size (5/3) v^2), and Var[tanh s] = v - 2 v^2 + ..."""
    v = sp.Symbol("v", positive=True)
    series = sp.series(sp.tanh(x), x, 0, 10).removeO()
    linear_ok = sp.Poly(series, x).coeff_monomial(x) == 1 and series.subs(x, 0) == 0
    gaussian = {k: sp.factorial2(k - 1) * v ** (k // 2) if k % 2 == 0 else 0 for k in range(0, 19)}

    def moment(poly):
        return sp.expand(sum(c * gaussian[m[0]] for m, c in sp.Poly(sp.expand(poly), x).terms()))

    neglected = sp.series(moment((series - x) ** 2), v, 0, 4).removeO()
    var_tanh = sp.series(moment(series**2), v, 0, 4).removeO()      # E[tanh^2]; E[tanh] = 0 by oddness
    level = 0.01
    s = rng.normal(0.0, math.sqrt(level), n)
    return [Witness("linearisation", "tanh(s) = s + O(s^3); for s ~ N(0, v): E[(tanh s - s)^2] = "
                    f"{sp.sstr(neglected)}, Var[tanh s] = {sp.sstr(var_tanh)} (sampled at v = {level})",
                    bool(linear_ok) and sp.Poly(neglected, v).coeff_monomial(v**3) == sp.Rational(5, 3),
                    f"series {sp.sstr(series)}", mc_variance(np.tanh(s), float(var_tanh.subs(v, level))))]


def uniform_variance(rng, n) -> list[Witness]:
    import sympy.stats as stats
    a = sp.Symbol("a", positive=True)
    exact = stats.variance(stats.Uniform("U", -a, a))          # sympy.stats, not the rule's integral
    return [Witness("uniform variance", "Var[U(-a, a)] = a^2/3 (sympy.stats)", _same(exact, a**2 / 3),
                    f"Var = {exact}", mc_variance(rng.uniform(-1.5, 1.5, n), 1.5**2 / 3))]


def normal(rng, n) -> list[Witness]:
    exact = normal_mean(x**2, 0, sigma) - normal_mean(x, 0, sigma) ** 2        # the Gaussian integral
    return [Witness("normal", "Var[N(0, sigma^2)] = sigma^2 (Gaussian integral, not the MGF)",
                    _same(exact, sigma**2), f"Var = {exact}", mc_variance(rng.normal(0.0, 0.7, n), 0.49))]


def uniform_bound(rng, n) -> list[Witness]:
    import sympy.stats as stats
    n1, n2 = sp.symbols("n_1 n_2", positive=True)
    bound = sp.sqrt(6 / (n1 + n2))
    exact = stats.variance(stats.Uniform("U", -bound, bound))
    limit = math.sqrt(6 / (256 + 512))
    return [Witness("uniform bound", "U(-sqrt(6/(n1 + n2)), +sqrt(6/(n1 + n2))) has variance 2/(n1 + n2); "
                    "sampled for 256 -> 512", _same(exact, 2 / (n1 + n2)), f"Var = {sp.simplify(exact)}",
                    mc_variance(rng.uniform(-limit, limit, n), 2 / 768))]


def harmonic_averaging(rng, n) -> list[Witness]:
    n1, n2 = sp.symbols("n_1 n_2", positive=True)
    harmonic = 2 / (1 / (1 / n1) + 1 / (1 / n2))
    fans = rng.integers(1, 4097, (min(n, 100_000), 2)).astype(float)
    v1, v2 = 1 / fans[:, 0], 1 / fans[:, 1]
    h = 2 / (1 / v1 + 1 / v2)
    between = np.all((h >= np.minimum(v1, v2) * (1 - 1e-12)) & (h <= np.maximum(v1, v2) * (1 + 1e-12)))
    error = float(np.max(np.abs(h - 2 / (fans[:, 0] + fans[:, 1])) / h))
    return [Witness("harmonic averaging", "the harmonic mean of 1/n1 and 1/n2 is 2/(n1 + n2), between the two "
                    "(sampled: random fans up to 4096, relative error)", _same(harmonic, 2 / (n1 + n2)) and bool(between),
                    f"H = {sp.simplify(harmonic)}", MonteCarlo(error, 0.0, 1e-12, len(fans)))]   # float64 rounding


def conditions(rng, n) -> list[Witness]:
    """Gain 1: a linear layer with n_in inputs and Var[W] = 1/n_in keeps the forward variance; with
    Var[W] = 1/n_out, the backward one."""
    fan_in, fan_out, batch = 256, 512, max(n // 512, 200)
    var_w = sp.Symbol("w", positive=True)
    solved = sp.solve(sp.Eq(sp.Integer(fan_in) * var_w, 1), var_w)
    solved_back = sp.solve(sp.Eq(sp.Integer(fan_out) * var_w, 1), var_w)
    z = rng.normal(0.0, 1.0, (batch, fan_in))
    forward = z @ rng.normal(0.0, math.sqrt(1 / fan_in), (fan_in, fan_out))
    g = rng.normal(0.0, 1.0, (batch, fan_out))
    backward = g @ rng.normal(0.0, math.sqrt(1 / fan_out), (fan_in, fan_out)).T
    return [
        Witness("forward condition", f"n Var[W] = 1 solves to Var[W] = 1/n; a linear {fan_in} -> {fan_out} layer "
                "with Var[W] = 1/fan_in keeps Var[z] = 1", solved == [sp.Rational(1, fan_in)],
                f"Var[W] = {solved}", mc_variance(forward.ravel(), 1.0)),
        Witness("backward condition", "fan_out Var[W] = 1 solves to Var[W] = 1/fan_out; the same layer with "
                "Var[W] = 1/fan_out keeps Var[dL/ds] = 1 backwards", solved_back == [sp.Rational(1, fan_out)],
                f"Var[W] = {solved_back}", mc_variance(backward.ravel(), 1.0)),
    ]


def chain_rule(rng, n) -> list[Witness]:
    """dL/ds^0_k = f'(s^0_k) sum_j W_kj dL/ds^1_j, for s^1 = f(s^0) W + b and L = c . s^1: SymPy's own
    differentiation of the explicit network (matrices), and central finite differences of a random one."""
    units = 3
    s0 = sp.Matrix(1, units, sp.symbols(f"s0:{units}", real=True))
    W = sp.Matrix(units, units, sp.symbols(f"W0:{units * units}", real=True))
    c = sp.Matrix(1, units, sp.symbols(f"c0:{units}", real=True))
    s1 = s0.applyfunc(sp.tanh) * W
    loss = (c * s1.T)[0]                                # dL/ds^1 = c
    exact_ok = all(
        sp.simplify(sp.diff(loss, s0[k]) - sp.diff(sp.tanh(s0[k]), s0[k]) * sum(W[k, j] * c[j] for j in range(units))) == 0
        for k in range(units))
    width = 64
    s0n, Wn, cn = rng.normal(0, 1, width), rng.normal(0, 0.2, (width, width)), rng.normal(0, 1, width)
    formula = (1 - np.tanh(s0n) ** 2) * (Wn @ cn)
    h = 1e-5
    numeric = np.array([(cn @ (np.tanh(s0n + h * e) @ Wn) - cn @ (np.tanh(s0n - h * e) @ Wn)) / (2 * h)
                        for e in np.eye(width)])
    error = float(np.max(np.abs(numeric - formula)))
    return [Witness("chain rule", f"dL/ds^0_k = f'(s^0_k) sum_j W_kj dL/ds^1_j (SymPy on a {units}-unit network; "
                    f"finite differences on a {width}-unit one)", exact_ok,
                    f"largest finite-difference error {error:.1e}",
                    MonteCarlo(error, 0.0, 1e-6, width))]      # central differences, h = 1e-5: error ~ h^2


def definition(rng, n) -> list[Witness]:
    """z^{i+1}_k = f(sum_j z^i_j W^i_jk + b^i_k) is the k-th entry of f(z W + b): SymPy matrices against
    the sum, and NumPy's matrix product against an explicit loop."""
    units = 3
    z = sp.Matrix(1, units, sp.symbols(f"z0:{units}", real=True))
    W = sp.Matrix(units, units, sp.symbols(f"W0:{units * units}", real=True))
    b = sp.Matrix(1, units, sp.symbols(f"b0:{units}", real=True))
    matrix = (z * W + b).applyfunc(sp.tanh)
    exact_ok = all(matrix[k] == sp.tanh(sum(z[j] * W[j, k] for j in range(units)) + b[k]) for k in range(units))
    zn, Wn, bn = rng.normal(0, 1, 50), rng.normal(0, 0.1, (50, 40)), rng.normal(0, 1, 40)
    loop = np.array([np.tanh(sum(zn[j] * Wn[j, k] for j in range(50)) + bn[k]) for k in range(40)])
    error = float(np.max(np.abs(np.tanh(zn @ Wn + bn) - loop)))
    return [Witness("definition", "z^{i+1}_k = f(sum_j z^i_j W^i_jk + b^i_k) is entry k of f(z W + b)", exact_ok,
                    f"largest difference {error:.1e}", MonteCarlo(error, 0.0, 1e-12, 40))]   # float64 rounding


def second_moment(rng, n) -> list[Witness]:
    """Var[X] + E[X]^2 = E[X^2], for X ~ N(mu, sigma^2) (integrated) and sampled."""
    variance = normal_mean((x - mu) ** 2)                       # Var[X] as E[(X - mu)^2], integrated
    left = variance + normal_mean(x) ** 2
    xs = rng.normal(0.5, 2.0, n)                                # mu = 1/2, sigma = 2: E[X^2] = 17/4
    return [Witness("second moment", "Var[X] + E[X]^2 = E[X^2] for X ~ N(mu, sigma^2)", _same(left, normal_mean(x**2)),
                    f"E[X^2] = {normal_mean(x**2)}", mc_mean(xs**2, float(left.subs(NUMERIC))))]


def rectifier_second_moment(rng, n) -> list[Witness]:
    """E[relu(s)^2] = Var[s]/2 for s ~ N(0, sigma^2), and (1 + a^2)/2 Var[s] for a leaky slope a, integrated
    over each half-line; with a mean (s ~ N(1, 1), not symmetric about 0) the identity must fail."""
    slope = sp.Symbol("alpha", real=True)
    p = sp.Symbol("p", positive=True)
    density = sp.exp(-(p**2) / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))
    leaky = sp.integrate(p**2 * density, (p, 0, sp.oo)) + sp.integrate(slope**2 * p**2 * density, (p, 0, sp.oo))
    shifted = sp.integrate(x**2 * sp.exp(-((x - 1) ** 2) / 2) / sp.sqrt(2 * sp.pi), (x, 0, sp.oo))
    s = rng.normal(0.0, 1.5, n)
    s_shifted = rng.normal(1.0, 1.0, n)
    return [
        Witness("rectifier second moment", "E[f(s)^2] = (1 + alpha^2)/2 Var[s], f leaky ReLU, s ~ N(0, sigma^2); "
                "sampled for ReLU", _same(leaky, (1 + slope**2) * sigma**2 / 2), f"E[f(s)^2] = {sp.factor(leaky)}",
                mc_mean(np.maximum(s, 0) ** 2, 1.5**2 / 2)),
        Witness("rectifier second moment", "counter-example s ~ N(1, 1), not centred: E[relu(s)^2] is not Var[s]/2",
                _same(shifted, sp.Rational(1, 2)), f"E[relu(s)^2] = {sp.N(shifted, 6)}",
                mc_mean(np.maximum(s_shifted, 0) ** 2, 0.5), expect_failure=True),
    ]


def expectation_linearity(rng, n) -> list[Witness]:
    """E[2X - 3X^2 + 5] = 2 E[X] - 3 E[X^2] + 5 for X ~ N(mu, sigma^2): linearity needs no independence (the
    two terms here are functions of one variable), integrated against the density."""
    whole = normal_mean(2 * x - 3 * x**2 + 5)
    parts = 2 * normal_mean(x) - 3 * normal_mean(x**2) + 5
    xs = rng.normal(0.5, 2.0, n)
    return [Witness("expectation linearity", "E[2X - 3X^2 + 5] = 2 E[X] - 3 E[X^2] + 5, X ~ N(mu, sigma^2)",
                    _same(whole, parts), f"E = {sp.factor(whole)}",
                    mc_mean(2 * xs - 3 * xs**2 + 5, float(parts.subs(NUMERIC))))]


def product_mean(rng, n) -> list[Witness]:
    """E[XY] = E[X] E[Y] for independent X ~ N(mu, sigma^2), Y ~ U(lo, hi): the double integral against the
    product density; a die times a coin enumerated; with Y = X (dependent) it must fail."""
    t = sp.Symbol("t", real=True)             # X = mu + sigma t, t standard normal
    inner = sp.integrate(sp.expand((mu + sigma * t) * y * sp.exp(-(t**2) / 2) / sp.sqrt(2 * sp.pi)), (t, -sp.oo, sp.oo))
    joint = sp.factor(sp.integrate(inner / (hi - lo), (y, lo, hi)))      # the product density, integrated twice
    xs, ys = draw_xy(rng, n)
    die_coin = sum(Fraction(d * c) * Fraction(1, 6) * (Fraction(1, 3) if c else Fraction(2, 3))
                   for d in range(1, 7) for c in (0, 1))
    return [
        Witness("product mean", "E[XY] = E[X] E[Y], X ~ N(mu, sigma^2), Y ~ U(lo, hi) independent",
                _same(joint, normal_mean(x) * uniform_mean(y)), f"E[XY] = {sp.factor(joint)}",
                mc_mean(xs * ys, float((normal_mean(x) * uniform_mean(y)).subs(NUMERIC)))),
        Witness("product mean", "a die D and a coin C (P = 1/3), enumerated: E[DC] = 7/2 * 1/3",
                die_coin == Fraction(7, 6), f"E[DC] = {die_coin}",
                mc_mean(rng.integers(1, 7, n) * (rng.random(n) < 1 / 3), 7 / 6)),
        Witness("product mean", "counter-example Y = X (dependent): E[X X] is not E[X]^2",
                _same(normal_mean(x**2), normal_mean(x) ** 2), f"E[X^2] = {normal_mean(x**2)}",
                mc_mean(xs * xs, float((normal_mean(x) ** 2).subs(NUMERIC))), expect_failure=True),
    ]


def variance_scaling(rng, n) -> list[Witness]:
    """Var[aX + b] = a^2 Var[X], X ~ N(mu, sigma^2): E[(aX + b - E[aX + b])^2] integrated."""
    a, b = sp.symbols("a b", real=True)
    shifted = normal_mean((a * x + b - normal_mean(a * x + b)) ** 2)
    xs = rng.normal(0.5, 2.0, n)
    return [Witness("variance scaling", "Var[aX + b] = a^2 Var[X], X ~ N(mu, sigma^2)",
                    _same(shifted, a**2 * sigma**2), f"Var[aX + b] = {sp.factor(shifted)}",
                    mc_variance(-3 * xs + 7, 9 * 4.0))]


def variance_identity(rng, n) -> list[Witness]:
    """Var[Y] = E[(Y - E[Y])^2] = E[Y^2] - E[Y]^2 for Y ~ U(lo, hi), both sides integrated."""
    centred = uniform_mean((y - uniform_mean(y)) ** 2)
    raw = uniform_mean(y**2) - uniform_mean(y) ** 2
    ys = rng.uniform(-1.0, 3.0, n)
    return [Witness("variance identity", "E[(Y - E[Y])^2] = E[Y^2] - E[Y]^2, Y ~ U(lo, hi)", _same(centred, raw),
                    f"Var[Y] = {sp.factor(centred)}", mc_mean(ys**2 - float(uniform_mean(y).subs(NUMERIC)) ** 2,
                                                               float(raw.subs(NUMERIC))))]


def law_moments(rng, n) -> list[Witness]:
    """The moments the rule reads from kernel.terms.raw_moment, against outcomes enumerated (Bernoulli) and
    densities integrated (uniform, normal) here."""
    from .kernel.terms import Bernoulli, Normal, Uniform, raw_moment
    p = sp.Symbol("p", positive=True)
    bernoulli = all(sp.expand(raw_moment(Bernoulli(p), k) - (0**k * (1 - p) + 1**k * p)) == 0 for k in range(1, 5))
    uniform = all(_same(raw_moment(Uniform(lo, hi), k), uniform_mean(y**k)) for k in range(1, 5))
    normal_ok = all(_same(raw_moment(Normal(mu, sigma), k), normal_mean(x**k)) for k in range(1, 5))
    mask = (rng.random(n) < 0.3).astype(float)
    return [Witness("law moments", "E[X^k] for X ~ Bernoulli(p) (enumerated), U(lo, hi) and N(mu, sigma^2) "
                    "(integrated), k = 1..4; Var[Bernoulli(0.3)] = 0.21 sampled", bernoulli and uniform and normal_ok,
                    f"Bernoulli {bernoulli}, uniform {uniform}, normal {normal_ok}", mc_variance(mask, 0.21))]


def substitution(rng, n) -> list[Witness]:
    """Replacing equals by equals, checked where the attention derivation uses it: Var[sum_{j<=3} q_j k_j] =
    3 Var[q] Var[k] becomes 3 when Var[q] = Var[k] = 1, for q, k ~ N(0, 1) independent (integrated)."""
    second = 3 * normal_mean(x**2, 0, 1) ** 2          # E[(sum q_j k_j)^2]: cross terms have mean 0
    q, k = rng.standard_normal((n, 3)), rng.standard_normal((n, 3))
    return [Witness("substitution", "Var[q·k] = 3 Var[q] Var[k] = 3 for three unit-variance components",
                    second == 3, f"E[(q·k)^2] = {second}", mc_variance((q * k).sum(axis=1), 3.0))]


def algebra(rng, n) -> list[Witness]:
    """An algebra step may use no probabilistic fact: E[XY] and E[X] E[Y] differ for Y = X, so writing one for
    the other is not algebra (it must fail)."""
    xs = rng.normal(0.5, 2.0, n)
    return [Witness("algebra", "counter-example: E[X X] = E[X] E[X] is not an identity of algebra",
                    _same(normal_mean(x * x), normal_mean(x) ** 2), f"E[X^2] = {normal_mean(x**2)}",
                    mc_mean(xs * xs, 0.25), expect_failure=True)]


def rectifier_derivative_moment(rng, n) -> list[Witness]:
    """E[f'(s)^2] = (1 + alpha^2)/2 for a leaky ReLU and s ~ N(0, sigma^2): the squared slope integrated over
    each half-line against the density; with an atom at 0 (s = 0 with probability 1/2, else N(0, 1); f'(0) = 0 as
    frameworks take it) it must fail: 1/4, not 1/2."""
    slope = sp.Symbol("alpha", real=True)
    p = sp.Symbol("p", positive=True)
    density = sp.exp(-(p**2) / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))
    moment = sp.integrate(1 * density, (p, 0, sp.oo)) + sp.integrate(slope**2 * density, (p, 0, sp.oo))
    s = rng.normal(0.0, 1.5, n)
    atom = np.where(rng.random(n) < 0.5, 0.0, rng.standard_normal(n))
    return [
        Witness("rectifier derivative moment", "E[f'(s)^2] = (1 + alpha^2)/2, f leaky ReLU, s ~ N(0, sigma^2); "
                "sampled for ReLU", _same(moment, (1 + slope**2) / 2), f"E[f'(s)^2] = {sp.factor(moment)}",
                mc_mean((s > 0).astype(float), 0.5)),
        Witness("rectifier derivative moment", "counter-example: s = 0 with probability 1/2 (an atom), f'(0) = 0",
                sp.Rational(1, 2) * sp.Rational(1, 2) == sp.Rational(1, 2), "E[f'(s)^2] = 1/4",
                mc_mean((atom > 0).astype(float), 0.5), expect_failure=True),
    ]


def telescoping(rng, n) -> list[Witness]:
    """x_{l+1} = x_l + F_l unrolled: x_L = x_0 + sum_{l<L} F_l, checked by iterating the recurrence on symbols for
    L = 0..6 (exact), and Var[x_L] = Var[x_0] + L Var[F] for independent N(0, 1) branches, L = 5 (sampled)."""
    x0 = sp.Symbol("x0")
    branches = sp.symbols("F0:6")
    state, exact = x0, True
    for depth in range(7):
        exact = exact and sp.expand(state - (x0 + sum(branches[:depth], sp.S.Zero))) == 0
        if depth < 6:
            state = state + branches[depth]
    stream = rng.standard_normal(n)
    for _ in range(5):
        stream = stream + rng.standard_normal(n)
    return [Witness("telescoping", "x_L = x_0 + sum_{l<L} F_l for x_{l+1} = x_l + F_l (L = 0..6); "
                    "Var[x_5] = 6 for unit variances", exact, "the recurrence iterated", mc_variance(stream, 6.0))]


def covariance_expansion(rng, n) -> list[Witness]:
    """Var[X + Y] = Var[X] + Var[Y] + 2 Cov[X, Y] for the dependent pair X ~ N(mu, sigma^2), Y = X^2: every
    moment integrated against the one density."""
    m = normal_mean
    var_sum = m((x + x**2) ** 2) - m(x + x**2) ** 2
    parts = (m(x**2) - m(x) ** 2) + (m(x**4) - m(x**2) ** 2) + 2 * (m(x**3) - m(x) * m(x**2))
    xs = rng.normal(0.5, 2.0, n)
    return [Witness("covariance expansion", "Var[X + Y] = Var[X] + Var[Y] + 2 Cov[X, Y], X ~ N(mu, sigma^2), Y = X^2",
                    _same(var_sum, parts), f"Var[X + X^2] = {sp.factor(var_sum)}",
                    mc_variance(xs + xs**2, float(parts.subs(NUMERIC))))]


def covariance_bilinearity(rng, n) -> list[Witness]:
    """Cov[2X + 3, X^2] = 2 Cov[X, X^2] for X ~ N(mu, sigma^2), integrated."""
    m = normal_mean
    whole = m((2 * x + 3) * x**2) - m(2 * x + 3) * m(x**2)
    parts = 2 * (m(x**3) - m(x) * m(x**2))
    xs = rng.normal(0.5, 2.0, n)
    centred = (2 * xs + 3 - (2 * 0.5 + 3)) * (xs**2 - (0.25 + 4.0))        # exact means: E[X] = 1/2, E[X^2] = 17/4
    return [Witness("covariance bilinearity", "Cov[2X + 3, X^2] = 2 Cov[X, X^2], X ~ N(mu, sigma^2)",
                    _same(whole, parts), f"Cov = {sp.factor(whole)}", mc_mean(centred, float(parts.subs(NUMERIC))))]


def zero_covariance(rng, n) -> list[Witness]:
    """Cov[X, Y] = 0 for independent X ~ N(mu, sigma^2), Y ~ U(lo, hi) (the product density integrated twice);
    with Y = X it must fail: Cov[X, X] = Var[X]."""
    t = sp.Symbol("t", real=True)
    inner = sp.integrate(sp.expand((mu + sigma * t) * y * sp.exp(-(t**2) / 2) / sp.sqrt(2 * sp.pi)), (t, -sp.oo, sp.oo))
    joint = sp.integrate(inner / (hi - lo), (y, lo, hi))
    covariance = sp.factor(joint - normal_mean(x) * uniform_mean(y))
    xs, ys = draw_xy(rng, n)
    return [
        Witness("zero covariance", "Cov[X, Y] = 0, X ~ N(mu, sigma^2), Y ~ U(lo, hi) independent", covariance == 0,
                f"Cov[X, Y] = {covariance}", mc_mean((xs - 0.5) * (ys - 1.0), 0.0)),
        Witness("zero covariance", "counter-example Y = X: Cov[X, X] = Var[X] is not 0",
                _same(normal_mean((x - mu) ** 2), 0), f"Cov[X, X] = {normal_mean((x - mu) ** 2)}",
                mc_mean((xs - 0.5) * (xs - 0.5), 0.0), expect_failure=True),
    ]


WITNESSES: tuple[Callable[[np.random.Generator, int], list[Witness]], ...] = (
    definition, linearisation, variance_additivity, product_variance, zero_mean, iid_summation, conditions,
    chain_rule, harmonic_averaging, normal, uniform_variance, uniform_bound, second_moment,
    rectifier_second_moment, expectation_linearity, product_mean, variance_scaling, variance_identity, law_moments,
    substitution, algebra, rectifier_derivative_moment, telescoping, covariance_expansion, covariance_bilinearity,
    zero_covariance)


def run(seed: int = 0, samples: int = DEFAULT_SAMPLES,
        progress: Callable[[int, int, str], None] | None = None) -> list[Witness]:
    """Every witness, each with its own generator derived from ``seed`` (reproducible, order-independent).
    ``progress(done, total, name)`` is called before each rule's witnesses are computed."""
    out = []
    for position, witness in enumerate(WITNESSES):
        if progress is not None:
            progress(position, len(WITNESSES), witness.__name__.replace("_", " "))
        out += witness(np.random.default_rng([seed, position]), samples)
    return out
