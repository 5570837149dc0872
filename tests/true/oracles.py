"""Oracles for the true derivation files: each COMPUTES the claimed value and must confirm it.

The helpers (results, Monte Carlo estimates with their standard errors, exact moments, the finite-difference
networks, the checks of definitions) are those of ``tests/false/oracles.py``; here a :class:`Finding` must land
within ``CONFIRM_SIGMAS`` standard errors (or exactly), and a :class:`Defect` check must find nothing. Files
whose claim rests on the first-order linearisation of the activation (an approximation, as in Glorot's F1)
have no oracle for the variance; for them the slope at 0 is checked where that is the point of the file.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import sympy as sp
from sympy import stats


def _false_oracles():
    name = "corpus_false_oracles"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent.parent / "false" / "oracles.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


F = _false_oracles()
HERE = Path(__file__).parent
SIGMAS = F.CONFIRM_SIGMAS
SAMPLES = F.SAMPLES
ORACLES: dict[str, Callable[[], object]] = {}


def oracle(function):
    ORACLES[function.__name__] = function
    return function


def samples(claimed, x, detail):
    return F.versus_samples(claimed, x, detail, sigmas=SIGMAS)


# class 1


@oracle
def t_sum_of_one_variable():
    n, y = 5, F.rng(101).standard_normal(SAMPLES)
    return samples(n**2 * 1.0, sum(y for _ in range(n)), f"n = {n}, Y ~ Normal(0, 1): n**2*Var[Y]")


@oracle
def t_distinct_terms():
    n = 5
    return samples(n * 1.0, F.rng(102).standard_normal((SAMPLES, n)).sum(axis=1), f"n = {n}: n*Var[X]")


@oracle
def t_summand_without_j():
    n, x = 4, F.rng(103).standard_normal(SAMPLES)
    j = sp.Symbol("j", integer=True)
    claimed = float(sp.Sum(j, (j, 1, n)).doit() ** 2)
    return samples(claimed, sum(k * x for k in range(1, n + 1)), f"n = {n}: Sum(j)**2*Var[X[k]]")


@oracle
def t_shared_offset_outside():
    n, r = 4, F.rng(104)
    total = r.standard_normal((SAMPLES, n)).sum(axis=1) + r.standard_normal(SAMPLES)
    return samples(n * 1.0 + 1.0, total, f"n = {n}: n*Var[X] + Var[Y]")


@oracle
def t_he_distinct_weight():
    n, r = 4, F.rng(105)
    s_prev, w = r.standard_normal((SAMPLES, n)), r.standard_normal((SAMPLES, n))
    return samples(n * 1.0 * 1.0 / 2, (F.relu(s_prev) * w).sum(axis=1), f"ReLU, n = {n}: n*Var[s]*Var[W]/2")


# class 2


def _limits(lower, upper, claimed, seed):
    terms = F.expanded_sum(lower, upper)
    r = F.rng(seed)
    return samples(claimed, F.sample_linear(terms, lambda _: r.standard_normal(SAMPLES)),
                   f"Sum(X[j], (j, {lower}, {upper})) has {len(terms)} terms")


@oracle
def t_constant_limits():
    return _limits(1, 3, 3.0, 106)


@oracle
def t_shifted_limits():
    n = 4
    return _limits(2, n + 1, n * 1.0, 107)


@oracle
def t_sample_mean_size():
    n = 4
    return samples(1.0 / n, F.rng(108).standard_normal((SAMPLES, n)).sum(axis=1) / n, f"n = {n}: Var[X]/n")


# class 4


@oracle
def t_identity_with_params():
    x = F.rng(109).standard_normal(SAMPLES)
    return samples(1.0, x, "f(x) = x: Var[f(X)] = Var[X]")


@oracle
def t_tanh_scaled():
    h, y = sp.Rational(3, 2), sp.Dummy("y", real=True)
    f = sp.tanh(h * y) / h
    odd = sp.simplify(f.subs(y, -y) + f)
    slope = sp.diff(f, y).subs(y, 0)
    # A1: odd (f(-y) + f(y) = 0, its size at y = 1 added to the slope) with f'(0) = 1
    return F.exactly(sp.Integer(1), slope + abs(odd.subs(y, 1)), f"h = {h}: f(-y) + f(y) = {odd}, f'(0) = {slope}")


@oracle
def t_normal_mean_t():
    return F.exactly(sp.Integer(9), stats.variance(stats.Normal("N", 0, 3)), "Var[Normal(0, 3)]")


# class 5


@oracle
def t_no_skip():
    return F._chain_rule_finding("plain", 110, sigmas=SIGMAS)


@oracle
def t_skip_two_back_full():
    return F._chain_rule_finding("two_back", 111, with_path=lambda gradient, ss: gradient(2 + 2, 0), sigmas=SIGMAS)


@oracle
def t_skip_from_z_full():
    def skip(gradient, ss):
        return (1 - np.tanh(ss[2][:, 0]) ** 2) * gradient(2 + 2, 0)
    return F._chain_rule_finding("from_z", 124, with_path=skip, sigmas=SIGMAS)


@oracle
def t_residual_full():
    def identity(gradient, ss):
        return (1 - np.tanh(ss[2][:, 0]) ** 2) * gradient(2 + 1, 0)
    return F._chain_rule_finding("residual", 125, with_path=identity, sigmas=SIGMAS)


# class 6


@oracle
def t_independent_cube():
    r = F.rng(112)
    x, y = r.uniform(-1, 1, SAMPLES), r.uniform(-1, 1, SAMPLES)
    claimed = F.uniform_moments(lambda u: u, -1, 1)[1] + F.uniform_moments(lambda u: u**3, -1, 1)[1]
    return samples(float(claimed), x + y**3, "X, Y ~ Uniform(-1, 1) independent: Var[X] + Var[Y**3]")


@oracle
def t_product_independent():
    X, Y = stats.Normal("X", 1, 1), stats.Normal("Y", 2, 1)
    E, V = stats.E, stats.variance
    claimed = E(X) ** 2 * V(Y) + E(Y) ** 2 * V(X) + V(X) * V(Y)
    return F.exactly(claimed, V(X * Y), "X ~ Normal(1, 1), Y ~ Normal(2, 1) independent: Var[X*Y]")


# class 7


@oracle
def t_real_coefficient():
    r = -2.0
    return samples(r**2, r * F.rng(113).standard_normal(SAMPLES), f"r = {r}: r**2*Var[X]")


@oracle
def t_sqrt_positive():
    c = 2.0
    return samples(c, np.sqrt(c) * F.rng(114).standard_normal(SAMPLES), f"c = {c}: c*Var[X]")


# class 8


@oracle
def t_recursion():
    return F.Defect(F.non_descending_cycle("t_recursion", HERE), "no cycle along which the layer never descends")


@oracle
def t_single_definition():
    return F.Defect(F.duplicate_keys("t_single_definition", HERE), "no two keys for one variable")


@oracle
def t_shift_lhs():
    return F.Defect(F.layer_coverage("t_shift_lhs", folder=HERE), "every layer covered exactly once")


# class 9


@oracle
def t_independent_layers():
    n, r = 3, F.rng(115)
    z_prev, w_prev = r.standard_normal((SAMPLES, n, n)), r.standard_normal((SAMPLES, n, n)) / np.sqrt(n)
    z = np.tanh(np.einsum("bl,blj->bj", z_prev[:, 0, :], w_prev))      # layer i, from the weights of layer i-1
    w = r.standard_normal(SAMPLES)                                        # W[i, 0, k], Var 1
    actual, se = F.variance_estimate(z[:, 0] * w)
    var_z, se_z = F.variance_estimate(z[:, 0])
    return F.versus_estimate(var_z, se_z, actual, se, "tanh layer, n = 3: Var[z[i, j]*W[i, j, k]] against "
                                                      "Var[z[i, j]]*Var[W]", sigmas=SIGMAS)


@oracle
def t_defined_sum_independent():
    r = F.rng(116)
    x, v, u = (r.standard_normal(SAMPLES) for _ in range(3))
    return samples(2.0 + 1.0, (x + v) + u, "X, V, U ~ Normal(0, 1), Y = X + V: Var[Y] + Var[U]")


# class 10


@oracle
def t_uniform_bound():
    return F._uniform_bound(sp.sqrt(3 / sp.Symbol("n", positive=True)), 4, "sqrt(3/n[i])")


@oracle
def t_uniform_bound_centred_law():
    n = 4
    a = float(sp.sqrt(sp.Rational(3, n)))
    gain, se = F.forward_gain_with_law(lambda r, shape: r.uniform(-a, a, shape), n, 126)
    return F.Finding(1.0, gain, F._tolerance(se, SIGMAS, 1.0), f"n[i] = {n}, W ~ Uniform(-a, a), a = {a:.4g}: "
                                                                f"forward gain")


@oracle
def t_normal_bound():
    n = 4
    sigma = 1 / sp.sqrt(n)
    return F.exactly(sp.Rational(1, n), stats.variance(stats.Normal("W", 0, sigma)), f"n[i] = {n}, sigma = {sigma}")


@oracle
def t_harmonic_glorot():
    n_in, n_out = 4, 12
    return F._compromise(2 / (n_in + n_out), n_in, n_out, 117, "Glorot's 2/(n[i] + n[i+1])", sigmas=SIGMAS)


@oracle
def t_backward_condition():
    n_in, n_out = 4, 12
    _, _, bwd, se = F.layer_gains(n_in, n_out, 1 / n_out, 118)
    return F.Finding(1.0, bwd, F._tolerance(se, SIGMAS, 1.0), f"n[i+1] = {n_out}, Var[W] = 1/n[i+1]: backward gain")


@oracle
def t_condition_right_layer():
    return F._forward_gain(1 / 4, 4, 12, 119, "1/n[i]", sigmas=SIGMAS)


# class 11


def _xy():
    return stats.Normal("X", 1, 1), stats.Normal("Y", 2, 1)


@oracle
def t_merge_x():
    X, Y = _xy()
    return F.exactly(stats.variance(Y) * stats.E(X**2) + stats.E(Y) ** 2 * stats.variance(X), stats.variance(X * Y),
                     "X ~ Normal(1, 1), Y ~ Normal(2, 1): Var[X*Y]")


@oracle
def t_merge_y():
    X, Y = _xy()
    return F.exactly(stats.variance(X) * stats.E(Y**2) + stats.E(X) ** 2 * stats.variance(Y), stats.variance(X * Y),
                     "X ~ Normal(1, 1), Y ~ Normal(2, 1): Var[X*Y]")


@oracle
def t_merge_both_pairs():
    X, Y = _xy()
    E, V = stats.E, stats.variance
    return F.exactly(E(X**2) + E(Y**2), V(X) + E(X) ** 2 + V(Y) + E(Y) ** 2, "X ~ Normal(1, 1), Y ~ Normal(2, 1)")


# others


@oracle
def t_additivity_two():
    x = F.rng(120).standard_normal((SAMPLES, 2))
    return samples(2.0, x[:, 0] + x[:, 1], "X[1], X[2] ~ Normal(0, 1) independent: Var[X[1]] + Var[X[2]]")


@oracle
def t_sum_two():
    return samples(2.0, F.rng(121).standard_normal((SAMPLES, 2)).sum(axis=1), "Sum of two samples: 2*Var[X]")


@oracle
def t_product_two():
    X1, X2 = stats.Normal("X1", 0, 1), stats.Normal("X2", 0, 1)
    return F.exactly(stats.variance(X1) * stats.variance(X2), stats.variance(X1 * X2), "X[1], X[2] ~ Normal(0, 1)")


@oracle
def t_zero_mean_declared():
    r = F.rng(122)
    return samples(1.0, r.standard_normal(SAMPLES) * r.standard_normal(SAMPLES), "X, W ~ Normal(0, 1): Var[X]*Var[W]")


@oracle
def t_right_count():
    j = sp.Symbol("j", integer=True)
    return F.exactly(sp.Integer(3), sp.Sum(sp.Integer(1), (j, 1, 3)).doit(), "n[i] = 3, Var[z] = Var[W] = 1")


@oracle
def t_iid_scaled_family():
    n = 3
    y = 2 * F.rng(123).standard_normal((SAMPLES, n))
    return samples(n * 4.0, y.sum(axis=1), f"n = {n}, Y = 2*X: n*Var[Y[i]]")


@oracle
def t_iid_shifted_pair_in_group():
    X = [stats.Normal(f"X{k}", 0, 1) for k in range(7)]
    V = [stats.variance(X[k] * X[k + 2]) for k in range(5)]  # Y[i, k] = X[i, k]*X[i, k+2]
    return F.exactly(sp.S.Zero, V[1] + V[2] - V[3] - V[4], "Y[i, k] = X[i, k]*X[i, k+2], X ~ Normal(0, 1) "
                                                           "independent: the variances of Y for k = 1..4 are "
                                                           + ", ".join(str(V[k]) for k in range(1, 5)))


@oracle
def t_reach_past_both_paths():
    r = F.rng(127)
    x0, x1, x2 = (r.standard_normal(SAMPLES) for _ in range(3))          # X[i, k], X[i+1, k], X[i+2, k]
    return samples((1.0 + 1.0) + 1.0, (x1 + x0) + x2, "X ~ Normal(0, 1), A[i+4, k] = X[i+1, k] + X[i, k]: "
                                                      "Var[A[i+4, k] + X[i+2, k]] against Var[A] + Var[X] = 2 + 1")


@oracle
def t_chain_rule_summed_units():
    i, batch = 2, 50_000
    ss, weights, gradient = F._network("plain", 128, batch)
    width = ss[0].shape[1]
    g_next = np.stack([gradient(i + 1, j) for j in range(width)], axis=1)
    actual = sum(gradient(i, k) for k in range(width))     # Sum(g[i, k], (k, 1, n[i+1])) by finite differences
    claimed = sum((1 - np.tanh(ss[i][:, k]) ** 2) * np.einsum("bj,bj->b", weights[i + 1][:, k, :], g_next)
                  for k in range(width))
    pathwise = float(np.abs(actual - claimed).max())
    (v_true, se_true), (v_claim, se_claim) = F.variance_estimate(actual), F.variance_estimate(claimed)
    return F.versus_estimate(v_claim, se_claim, v_true, se_true,
                             f"tanh network, width 3, 6 layers: Var[Sum(g[2, k], k)] by finite differences against "
                             f"the variance of the claimed form (largest pathwise difference {pathwise:.3g})",
                             sigmas=SIGMAS)


@oracle
def t_chain_rule_outer_unit_j():
    return t_chain_rule_summed_units()        # the same identity, with the outer and inner units named j and k


@oracle
def t_chain_rule_read_unit():
    return F._chain_rule_finding("plain", 129, sigmas=SIGMAS)


@oracle
def t_iid_noise_means():
    n = 5
    actual, se = F.mean_estimate(F.rng(130).standard_normal((SAMPLES, n)).sum(axis=1))
    return F.versus_estimate(n * 0.0, 0.0, actual, se, f"N = {n}, X ~ Normal(0, 1): E[Sum(X[k], (k, 1, N))] "
                                                        f"against N*E[X] = 0", sigmas=SIGMAS)


@oracle
def t_unfold_first_step():
    x1 = F.rng(131).standard_normal(SAMPLES)
    y1 = x1 + 1                                             # Y[1] = X[1] + 1
    return samples(0.0, y1 - x1, "X ~ Normal(0, 1), Y[1] = X[1] + 1: Var[Y[1] - X[1]] against Var[1] = 0")


# others, from a second adversarial review


@oracle
def t_iid_factor_next_layer():
    X = [stats.Normal(f"X{j}", 0, 1) for j in (1, 2)]      # X[i, 1], X[i, 2]
    Z = stats.Normal("Z", 0, 1)                             # X[i+1, 1]
    V = [stats.variance(x * Z) for x in X]                  # Var[Y[i, j]], Y[i, j] = X[i, j]*X[i+1, 1]
    return F.exactly(sp.S.Zero, V[0] + V[1] - 2 * V[1], f"Y[i, j] = X[i, j]*X[i+1, 1], X ~ Normal(0, 1) independent: "
                                                        f"Var[Y[i, 1]] = {V[0]}, Var[Y[i, 2]] = {V[1]}")


@oracle
def t_iid_with_identical_premise():
    X = [stats.Normal(f"X{j}", 0, 1) for j in (1, 2)]
    offset = stats.Normal("V", 0, 1)
    V = [stats.variance(x + offset) for x in X]                 # Var[Y[i, j]], Y[i, j] = X[i, j] + V[i]
    return F.exactly(sp.S.Zero, V[0] + V[1] - 2 * V[1], f"X[i, j], V[i] ~ Normal(0, 1) independent: "
                                                        f"Var[Y[i, 1]] = {V[0]}, Var[Y[i, 2]] = {V[1]}")


@oracle
def t_iid_nested_integer_count():
    n, m, sigma = 3, 2, sp.Rational(3, 2)
    W = {(j, k): stats.Normal(f"W{j}{k}", 0, sigma) for j in range(1, n + 1) for k in range(1, m + 1)}
    total = sum(stats.variance(w) for w in W.values())
    return F.exactly(n * m * sigma**2, total, f"N = {n}, M = {m}, W ~ Normal(0, {sigma}): the double sum of "
                                              f"variances against N*M*Var[W]")


@oracle
def t_constant_undefined():
    b = 0.7
    return samples(1.0, F.rng(132).standard_normal(SAMPLES) + b, f"X ~ Normal(0, 1), b = {b}: Var[X + b] = Var[X]")


@oracle
def t_constant_value_number():
    n, m = 2, 0
    Y = stats.Normal("Y", 1, 1)
    X = [stats.Normal(f"X{k}", 0, 1) for k in range(1, n + 1)]
    return F.exactly(sp.S.Zero, stats.E(sum(m * Y + x for x in X)), f"n = {n}, m = {m}, Y ~ Normal(1, 1), "
                                                                     f"X[k] ~ Normal(0, 1): E[Sum(m*Y + X[k])]")


@oracle
def t_normal_from_variance():
    n = 4
    sigma = 1 / np.sqrt(n)
    gain, se = F.forward_gain_with_law(lambda r, shape: r.normal(0.0, sigma, shape), n, 133)
    return F.Finding(1.0, gain, F._tolerance(se, SIGMAS, 1.0), f"n[0] = {n}, W ~ Normal(0, {sigma:.4g}): forward gain")
