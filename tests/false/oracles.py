"""Oracles for the false derivation files: each COMPUTES why its file is false.

An oracle shares no code with the verifier. It instantiates the file's symbols with concrete values (sizes as
small integers, random variables with concrete laws) and computes the true value of what the file claims,
either exactly (SymPy integrals, ``sympy.stats``, sums expanded by ``doit``) or by a seeded NumPy Monte Carlo
whose standard error comes from the same samples. The result is a :class:`Finding` (the file's claimed value
against the computed one, with the tolerance beyond which they differ) or, for a file the loader must refuse,
a :class:`Defect` (the cycle, the duplicate key or the uncovered layer that was found, or None).

``ORACLES`` maps each file stem in this folder to its oracle. ``tests/test_corpus.py`` runs them; the helpers
here are shared with ``tests/true/oracles.py``, whose oracles must *confirm* their files instead.
"""

from __future__ import annotations

import ast
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import sympy as sp
from sympy import stats

HERE = Path(__file__).parent
SAMPLES = 200_000        # Monte Carlo draws per estimate
REFUTE_SIGMAS = 8.0      # a false claim must miss by more than this many standard errors
CONFIRM_SIGMAS = 5.0     # a true claim must land within this many standard errors
EXACT_TOLERANCE = 1e-9   # relative, for exact (SymPy) comparisons


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Finding:
    """The value a file claims, under a concrete instantiation, against the value computed for it."""

    claimed: complex
    actual: complex
    tolerance: float
    detail: str

    @property
    def gap(self) -> float:
        return abs(complex(self.claimed) - complex(self.actual))

    @property
    def refutes(self) -> bool:
        return self.gap > self.tolerance

    @property
    def confirms(self) -> bool:
        return self.gap <= self.tolerance

    def __str__(self) -> str:
        return f"claimed {self.claimed:.6g}, computed {self.actual:.6g} (tolerance {self.tolerance:.3g}): {self.detail}"


@dataclass(frozen=True)
class Defect:
    """A defect of the file's definitions, as found by a computation (``witness`` None: nothing found)."""

    witness: object
    detail: str

    @property
    def refutes(self) -> bool:
        return bool(self.witness)

    @property
    def confirms(self) -> bool:
        return not self.witness

    def __str__(self) -> str:
        return f"{self.witness!r}: {self.detail}"


# ------------------------------------------------------------------------------------------ helpers


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def variance_estimate(x: np.ndarray) -> tuple[float, float]:
    """Var[x] = E[|x - E[x]|^2] (complex x allowed) and its standard error, from the same samples."""
    x = np.asarray(x)
    squares = np.abs(x - x.mean()) ** 2
    return float(squares.mean()), float(squares.std(ddof=1) / math.sqrt(len(squares)))


def mean_estimate(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def _tolerance(se: float, sigmas: float, scale: float) -> float:
    return max(sigmas * se, 1e-9 * max(1.0, abs(scale)))


def versus_samples(claimed: complex, samples: np.ndarray, detail: str, sigmas: float = REFUTE_SIGMAS) -> Finding:
    """The claimed variance against the Monte Carlo variance of ``samples``."""
    actual, se = variance_estimate(samples)
    return Finding(complex(claimed) if isinstance(claimed, complex) else float(claimed), actual,
                   _tolerance(se, sigmas, actual), detail)


def versus_estimate(claimed: float, claimed_se: float, actual: float, actual_se: float, detail: str,
                    sigmas: float = REFUTE_SIGMAS) -> Finding:
    """Two Monte Carlo estimates, their standard errors combined."""
    return Finding(float(claimed), float(actual), _tolerance(math.hypot(claimed_se, actual_se), sigmas, actual), detail)


def exactly(claimed: sp.Expr, actual: sp.Expr, detail: str) -> Finding:
    """Two exact values (SymPy numbers), compared as numbers after exact computation."""
    c, a = complex(sp.N(claimed, 30)), complex(sp.N(actual, 30))
    c = c.real if c.imag == 0 else c
    a = a.real if a.imag == 0 else a
    return Finding(c, a, EXACT_TOLERANCE * max(1.0, abs(a)), f"{detail} [claimed {sp.nsimplify(claimed)}, "
                                                              f"exact {sp.nsimplify(actual)}]")


def gaussian_moment(mu, sigma, order: int) -> sp.Expr:
    """E[X**order] for X ~ Normal(mu, sigma), by integrating the density."""
    x = sp.Symbol("x", real=True)
    density = sp.exp(-(x - mu) ** 2 / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))
    return sp.simplify(sp.integrate(x**order * density, (x, -sp.oo, sp.oo)))


def uniform_moments(expr_of_u: Callable[[sp.Symbol], sp.Expr], lo, hi) -> tuple[sp.Expr, sp.Expr]:
    """(E[g(U)], Var[g(U)]) for U ~ Uniform(lo, hi), by integrating the density 1/(hi - lo)."""
    u = sp.Symbol("u", real=True)
    g = expr_of_u(u)
    mean = sp.integrate(g / (hi - lo), (u, lo, hi))
    return sp.simplify(mean), sp.simplify(sp.integrate(g**2 / (hi - lo), (u, lo, hi)) - mean**2)


def expanded_sum(lower, upper) -> dict[int, sp.Expr]:
    """Sum(X[j], (j, lower, upper)).doit() for concrete limits, as {index: coefficient} (SymPy's Karr convention)."""
    X, j = sp.IndexedBase("X"), sp.Symbol("j", integer=True)
    total = sp.Sum(X[j], (j, lower, upper)).doit()
    return {int(term.indices[0]): total.coeff(term) for term in total.atoms(sp.Indexed)}


def sample_linear(coefficients: dict[int, sp.Expr], draw: Callable[[int], np.ndarray]) -> np.ndarray:
    """Samples of sum_j c_j X[j] for independent X[j] drawn by ``draw``."""
    return sum(float(c) * draw(index) for index, c in coefficients.items())


def relu(x):
    return np.maximum(0.0, x)


# the linear layer of the class-10 files: z[i+1, k] = Sum(z[i, j]*W[i, j, k]), gradients g[i] = W g[i+1]


def layer_gains(n_in: int, n_out: int, var_w: float, seed: int) -> tuple[float, float, float, float]:
    """Forward gain Var[z[i+1, k]]/Var[z[i, j]] and backward gain Var[g[i, k]]/Var[g[i+1, j]] of a linear layer
    with n_in inputs, n_out outputs and weights Normal(0, sqrt(var_w)), by Monte Carlo: (fwd, se, bwd, se)."""
    r = rng(seed)
    z = r.standard_normal((SAMPLES, n_in))                      # Var[z[i, j]] = 1
    w_in = r.normal(0.0, math.sqrt(var_w), (SAMPLES, n_in))    # W[i, j, k] for one k
    forward = variance_estimate((z * w_in).sum(axis=1))
    g_next = r.standard_normal((SAMPLES, n_out))               # Var[g[i+1, j]] = 1
    w_out = r.normal(0.0, math.sqrt(var_w), (SAMPLES, n_out))  # W[i, k, j] for one k
    backward = variance_estimate((w_out * g_next).sum(axis=1))
    return forward[0], forward[1], backward[0], backward[1]


# the networks of the class-5 files: gradients by finite differences, no chain rule


def _network(kind: str, seed: int, batch: int, width: int = 3, layers: int = 6):
    """A batch of random tanh networks s[i] = z[i] @ W[i] + skip(i), z[i+1] = tanh(s[i]), loss c . s[last]
    (``unread_first``: s[i] = z[i, 1:] @ W[i, 1:], unit 0 of every layer never read; ``stream``: a residual
    stream z[i+1] = z[i] + tanh(s[i]), s[i] = z[i] @ W[i])."""
    r = rng(seed)
    z0 = r.standard_normal((batch, width))
    weights = [r.normal(0.0, 1.0 / math.sqrt(width), (batch, width, width)) for _ in range(layers)]
    c = r.standard_normal((batch, width))

    def forward(override: tuple[int, int, float] | None = None):
        zs, ss = [z0], []
        for i in range(layers):
            if kind == "unread_first":                      # unit 0 of z[i] is never read: the sum starts at 1
                s = np.einsum("bj,bjk->bk", zs[i][:, 1:], weights[i][:, 1:, :])
            else:
                s = np.einsum("bj,bjk->bk", zs[i], weights[i])
            if kind == "two_back" and i >= 2:
                s = s + ss[i - 2]
            elif kind == "from_z" and i >= 1:
                s = s + zs[i - 1]
            elif kind == "residual":
                s = s + zs[i]
            if override is not None and override[0] == i:
                s = s.copy()
                s[:, override[1]] += override[2]
            ss.append(s)
            zs.append(zs[i] + np.tanh(s) if kind == "stream" else np.tanh(s))
        return ss, (c * ss[-1]).sum(axis=1)

    def gradient(i: int, k: int, h: float = 1e-5) -> np.ndarray:
        """dL/ds[i, k] for every network of the batch, by central differences."""
        return (forward((i, k, h))[1] - forward((i, k, -h))[1]) / (2 * h)

    return forward()[0], weights, gradient


def chain_rule_gap(kind: str, seed: int, i: int = 2, k: int = 0, batch: int = 50_000, with_path=None,
                   main_path: bool = True):
    """Var[g[i, k]] (finite differences) against the variance of the claimed form: df(s[i, k])*Sum(W[i+1, k, j]*
    g[i+1, j], j) (without it if not ``main_path``) plus ``with_path(gradient, ss)`` (a skip path), if given."""
    ss, weights, gradient = _network(kind, seed, batch)
    g = gradient(i, k)
    g_next = np.stack([gradient(i + 1, j) for j in range(ss[0].shape[1])], axis=1)
    claimed = (1 - np.tanh(ss[i][:, k]) ** 2) * np.einsum("bj,bj->b", weights[i + 1][:, k, :], g_next)
    if not main_path:
        claimed = np.zeros_like(claimed)
    if with_path is not None:
        claimed = claimed + with_path(gradient, ss)
    pathwise = float(np.abs(g - claimed).max())
    (v_true, se_true), (v_claim, se_claim) = variance_estimate(g), variance_estimate(claimed)
    return v_claim, se_claim, v_true, se_true, pathwise


# definitions of a file, read for the class-8 oracles with Python's ast (the files are ours)


def definitions_of(stem: str, folder: Path = HERE) -> list[tuple[str, str, tuple, str]]:
    """[(key, name, indices as SymPy expressions, right side)] of the file's [definitions]."""
    data = tomllib.loads((folder / f"{stem}.toml").read_text(encoding="utf-8"))
    out = []
    for key, rhs in data.get("definitions", {}).items():
        node = ast.parse(key, mode="eval").body
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        indices = tuple(sp.sympify(ast.unparse(item), locals=_INDEX_SYMBOLS) for item in items)
        out.append((key, node.value.id, indices, rhs))
    return out


_INDEX_SYMBOLS = {name: sp.Symbol(name, integer=True) for name in ("i", "j", "k")}


def references(rhs: str) -> list[tuple[str, tuple]]:
    """The indexed variables name[indices] a right side refers to."""
    out = []
    for node in ast.walk(ast.parse(rhs, mode="eval")):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id not in ("Var", "E"):
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            out.append((node.value.id, tuple(sp.sympify(ast.unparse(x), locals=_INDEX_SYMBOLS) for x in items)))
    return out


def non_descending_cycle(stem: str, folder: Path = HERE) -> list[str] | None:
    """A cycle of definitions along which the layer (first index) never goes down: such definitions define
    nothing (a[i] = b[i], b[i] = a[i]), unlike a recursion a[i+1] = a[i] + ... that descends to a base layer.
    Returns the cycle as a list of names, or None."""
    edges: dict[str, list[tuple[str, sp.Expr]]] = {}
    for _, name, indices, rhs in definitions_of(stem, folder):
        for target, target_indices in references(rhs):
            shift = sp.simplify(target_indices[0] - indices[0]) if target_indices and indices else sp.S.Zero
            edges.setdefault(name, []).append((target, shift))

    def walk(node, path, total):
        for target, shift in edges.get(node, []):
            if not shift.is_number:
                continue
            if target == path[0] and total + shift >= 0:
                return path + [target]
            if target not in path:
                found = walk(target, path + [target], total + shift)
                if found:
                    return found
        return None

    for start in edges:
        found = walk(start, [start], sp.S.Zero)
        if found:
            return found
    return None


def duplicate_keys(stem: str, folder: Path = HERE) -> tuple[str, str] | None:
    """Two keys of [definitions] that denote the same variable (same name and equal index expressions)."""
    seen: dict[tuple, str] = {}
    for key, name, indices, _ in definitions_of(stem, folder):
        normal = (name, tuple(sp.expand(ix) for ix in indices))
        if normal in seen:
            return seen[normal], key
        seen[normal] = key
    return None


def layer_coverage(stem: str, layers=range(-3, 5), folder: Path = HERE) -> list[tuple[str, int, list[int]]]:
    """For each definition, the integer layers t that its left side's layer index e(i) = t covers zero times
    or more than once (a definition for every layer covers each exactly once)."""
    i = _INDEX_SYMBOLS["i"]
    bad = []
    for key, _, indices, _ in definitions_of(stem, folder):
        for t in layers:
            roots = [r for r in sp.solve(sp.Eq(indices[0], t), i) if r.is_integer]
            if len(roots) != 1:
                bad.append((key, t, roots))
    return bad


# ------------------------------------------------------------------------------------------ oracles

ORACLES: dict[str, Callable[[], Finding | Defect]] = {}


def oracle(function):
    ORACLES[function.__name__] = function
    return function


# class 1: sums whose terms are not distinct variables


@oracle
def c1_sum_of_one_variable():
    n, y = 5, rng(1).standard_normal(SAMPLES)               # Var[Y] = 1
    total = sum(y for _ in range(n))                        # Sum(Y, (j, 1, n)): the same Y n times
    return versus_samples(n * 1.0, total, f"n = {n}, Y ~ Normal(0, 1): claimed n*Var[Y]")


@oracle
def c1_summand_without_j():
    n, x = 4, rng(2).standard_normal(SAMPLES)               # X[k], Var = 1
    total = sum(j * x for j in range(1, n + 1))
    claimed = sum(j**2 for j in range(1, n + 1)) * 1.0      # Sum(j**2*Var[X[k]])
    return versus_samples(claimed, total, f"n = {n}, X[k] ~ Normal(0, 1): claimed Sum(j**2)*Var[X[k]]")


@oracle
def c1_shared_offset():
    n, r = 4, rng(3)
    x, y = r.standard_normal((SAMPLES, n)), r.standard_normal(SAMPLES)
    total = (x + y[:, None]).sum(axis=1)
    return versus_samples(n * 1.0 + n * 1.0, total, f"n = {n}, X[j], Y ~ Normal(0, 1): claimed n*Var[X] + n*Var[Y]")


@oracle
def c1_he_shared_weight():
    n, r, bias = 4, rng(4), 0.3
    s_prev, w = r.standard_normal((SAMPLES, n)), r.standard_normal(SAMPLES)   # one W[i, k] for all j
    s = (relu(s_prev) * w[:, None]).sum(axis=1) + bias
    return versus_samples(n * 1.0 * 1.0 / 2, s, f"ReLU, n = {n}, s[i-1, j], W ~ Normal(0, 1), b = {bias}: "
                                               f"claimed n*Var[s]*Var[W]/2")


# class 2: summation limits


@oracle
def c2_reversed_limits():
    n = 5
    terms = expanded_sum(n, 1)                              # -X[2] - X[3] - X[4]
    r = rng(5)
    total = sample_linear(terms, lambda _: r.standard_normal(SAMPLES))
    return versus_samples((2 - n) * 1.0, total, f"n = {n}: Sum(X[j], (j, {n}, 1)) = "
                                                f"{sp.sstr(sum(c * sp.Symbol(f'X{j}') for j, c in terms.items()))} "
                                                f"(the empty-sum reading gives 0; either way >= 0)")


@oracle
def c2_reversed_constant_limits():
    terms = expanded_sum(3, 1)                              # -X[2]
    r = rng(6)
    total = sample_linear(terms, lambda _: r.standard_normal(SAMPLES))
    return versus_samples((1 - 3 + 1) * 1.0, total, "Sum(X[j], (j, 3, 1)) = -X[2]; claimed -Var[X]")


@oracle
def c2_count_real():
    m = -3
    terms = expanded_sum(1, m)                              # -(X[-2] + X[-1] + X[0])
    r = rng(7)
    total = sample_linear(terms, lambda _: r.standard_normal(SAMPLES))
    return versus_samples(m * 1.0, total, f"M = {m}: Sum(X[j], (j, 1, M)) has {len(terms)} terms; claimed M*Var[X]")


@oracle
def c2_count_fraction():
    m = sp.Rational(5, 2)
    indices = [j for j in range(1, 10) if j <= m]           # the integers j with 1 <= j <= M
    r = rng(8)
    total = sum(r.standard_normal(SAMPLES) for _ in indices) / float(m)
    return versus_samples(float(1 / m), total, f"M = {m}: the sum runs over j in {indices}; claimed Var[X]/M")


@oracle
def c2_random_upper_limit():
    r = rng(9)
    count = r.integers(1, 6, SAMPLES)                       # K uniform on 1..5
    x = r.normal(1.0, 1.0, (SAMPLES, 5))
    total = (x * (np.arange(1, 6)[None, :] <= count[:, None])).sum(axis=1)
    expected_k = float(count.mean())
    return versus_samples(expected_k * 1.0, total, "K uniform on 1..5, X ~ Normal(1, 1): the claim K*Var[X] is "
                                                   "random; compared at its mean E[K]*Var[X]")


# class 3: linearisation of an argument that is not centred


def _tanh_layer(bias: float, seed: int, n: int = 4):
    r = rng(seed)
    z, w = r.standard_normal((SAMPLES, n)), r.normal(0.0, 1.0 / math.sqrt(n), (SAMPLES, n))
    return np.tanh((z * w).sum(axis=1) + bias), n * 1.0 * (1.0 / n)


@oracle
def c3_bias_100():
    out, claimed = _tanh_layer(100.0, 10)
    return versus_samples(claimed, out, "n = 4, z ~ Normal(0, 1), Var[W] = 1/4: Var[tanh(S + 100)] against "
                                        "the claimed Var[S] = n*Var[z]*Var[W]")


@oracle
def c3_unknown_bias():
    out, claimed = _tanh_layer(2.0, 11)
    return versus_samples(claimed, out, "b = 2, n = 4, z ~ Normal(0, 1), Var[W] = 1/4: Var[tanh(S + b)] against "
                                        "the claimed Var[S]")


@oracle
def c3_bias_5():
    x = rng(12).standard_normal(SAMPLES)
    return versus_samples(1.0, np.tanh(x + 5), "X ~ Normal(0, 1): Var[tanh(X + 5)] against the claimed Var[X]")


@oracle
def c3_he_bias_one():
    n, r = 4, rng(39)
    z, w = r.standard_normal((SAMPLES, n)), r.normal(0.0, 0.5, (SAMPLES, n))
    s = (z * w).sum(axis=1) + 1.0                            # s[i-1, j] with the bias 1
    actual, se = mean_estimate(relu(s) ** 2)
    var_s, se_s = variance_estimate(s)
    return versus_estimate(var_s / 2, se_s / 2, actual, se, "ReLU, n = 4, z ~ Normal(0, 1), W ~ Normal(0, 1/2), b = 1: "
                                                            "E[f(s)**2] against the claimed Var[s]/2")


# class 4: name capture in the activation (and in a law)


def _slope_at_zero(activation: str, **values) -> sp.Expr:
    """f'(0) for f given as text in x, its parameters replaced by values (fresh symbols, nothing captured)."""
    y = sp.Dummy("y", real=True)
    names = {"x": y, **{k: sp.sympify(v) for k, v in values.items()}}
    return sp.diff(sp.sympify(activation, locals=names), y).subs(y, 0)


@oracle
def c4_capture_h_linear():
    h = 1.0
    slope = _slope_at_zero("x + h*x", h=h)
    x = rng(13).standard_normal(SAMPLES)
    return versus_samples(1.0, x + h * x, f"h = {h}: f'(0) = {slope}; Var[f(X)] for X ~ Normal(0, 1) against "
                                          f"the claimed Var[X]")


@oracle
def c4_capture_h_tanh():
    h, scale = 1.0, 0.01                                    # small inputs: the first-order regime
    slope = _slope_at_zero("tanh(x) + h*sin(x)", h=h)
    x = rng(14).normal(0.0, scale, SAMPLES)
    ratio, se = variance_estimate((np.tanh(x) + h * np.sin(x)) / scale)
    return Finding(1.0, ratio, _tolerance(se, REFUTE_SIGMAS, ratio),
                   f"h = {h}: f'(0) = {slope}; Var[f(X)]/Var[X] for X ~ Normal(0, {scale}) against the claimed 1")


@oracle
def c4_capture_c_nonodd():
    c, y = sp.Integer(1), sp.Symbol("y", real=True)
    f = lambda u: u + c * u**2                              # noqa: E731
    residual = sp.expand(f(-y) + f(y))
    X = stats.Normal("X", 0, 1)
    return exactly(stats.variance(X), stats.variance(f(X)),
                   f"c = {c}: f(-y) + f(y) = {residual} (not odd); Var[f(X)] for X ~ Normal(0, 1) against Var[X]")


@oracle
def c4_capture_p_rectifier():
    p, var_s, y = sp.Integer(1), sp.Integer(2), sp.Symbol("y", positive=True)
    f = lambda u: u**2 / p                                  # noqa: E731
    homogeneity = sp.simplify(f(2 * y) - 2 * f(y))
    S = stats.Normal("S", 0, sp.sqrt(var_s))
    return exactly(var_s, stats.E(f(S) ** 2), f"p = {p}, Var[s] = {var_s}: f(2*y) - 2*f(y) = {homogeneity} "
                                              f"(not homogeneous); E[f(s)**2] against the claimed Var[s]")


@oracle
def c4_capture_t_normal():
    t, sigma = sp.Rational(7, 10), sp.sqrt(7)              # any mean t; the claimed sigma
    N = stats.Normal("N", t, sigma)
    return exactly(sp.Integer(9), stats.variance(N), f"t = {t}: Var[Normal(t, sqrt(7))], against the Var[W] = 9 "
                                                     f"it was solved for")


# class 5: chain rule through a skip connection


def _chain_rule_finding(kind: str, seed: int, with_path=None, sigmas: float = REFUTE_SIGMAS,
                        main_path: bool = True) -> Finding:
    v_claim, se_claim, v_true, se_true, pathwise = chain_rule_gap(kind, seed, with_path=with_path, main_path=main_path)
    detail = (f"{kind} network, width 3, 6 layers: Var[g[2, 0]] by finite differences against the variance of "
              f"the claimed form (largest pathwise difference {pathwise:.3g})")
    return versus_estimate(v_claim, se_claim, v_true, se_true, detail, sigmas)


@oracle
def c5_skip_two_back():
    return _chain_rule_finding("two_back", 15)


@oracle
def c5_skip_from_z():
    return _chain_rule_finding("from_z", 16)


@oracle
def c5_residual():
    return _chain_rule_finding("residual", 17)


@oracle
def c5_skip_from_z_only_skip():
    def skip(gradient, ss):
        return (1 - np.tanh(ss[2][:, 0]) ** 2) * gradient(2 + 2, 0)         # df(s[i, k])*g[i+2, k] alone
    return _chain_rule_finding("from_z", 37, with_path=skip, main_path=False)


@oracle
def c5_residual_only_identity():
    def identity(gradient, ss):
        return (1 - np.tanh(ss[2][:, 0]) ** 2) * gradient(2 + 1, 0)         # df(s[i, k])*g[i+1, k] alone
    return _chain_rule_finding("residual", 38, with_path=identity, main_path=False)


# class 6: one law written twice in one moment


@oracle
def c6_uniform_plus_cube():
    a = sp.Integer(1)
    _, actual = uniform_moments(lambda u: u + u**3, -a, a)
    claimed = uniform_moments(lambda u: u, -a, a)[1] + uniform_moments(lambda u: u**3, -a, a)[1]
    return exactly(claimed, actual, f"a = {a}: Var[U + U**3] of one U ~ Uniform(-a, a), integrated")


@oracle
def c6_normal_product():
    sigma = sp.Rational(3, 2)
    N = stats.Normal("N", 0, sigma)
    claimed = 2 * stats.E(N) ** 2 * stats.variance(N) + stats.variance(N) ** 2
    return exactly(claimed, stats.variance(N * N), f"sigma = {sigma}: Var[N*N] of one N ~ Normal(0, sigma)")


@oracle
def c6_uniform_times_shifted():
    a = sp.Integer(1)
    _, actual = uniform_moments(lambda u: u * (u + 1), -a, a)
    mean_u, var_u = uniform_moments(lambda u: u, -a, a)
    mean_v, var_v = uniform_moments(lambda u: u + 1, -a, a)
    claimed = mean_u**2 * var_v + mean_v**2 * var_u + var_u * var_v
    return exactly(claimed, actual, f"a = {a}: Var[U*(U + 1)] of one U ~ Uniform(-a, a), integrated")


@oracle
def c6_normal_plus_cube():
    sigma = sp.Integer(1)
    N = stats.Normal("N", 0, sigma)
    claimed = stats.variance(N) + stats.variance(N**3)
    return exactly(claimed, stats.variance(N + N**3), f"sigma = {sigma}: Var[N + N**3] of one N ~ Normal(0, sigma)")


# class 7: sign and domain tricks (the variance of a complex Z is E[|Z - E[Z]|**2] >= 0)


def _complex_scale(coefficient: complex, claimed: float, seed: int, what: str) -> Finding:
    x = rng(seed).standard_normal(SAMPLES)
    return versus_samples(claimed, coefficient * x, f"X ~ Normal(0, 1), {what} = {coefficient:.4g}: "
                                                    f"E[|Z - E[Z]|**2] against the claimed value")


@oracle
def c7_imaginary_unit():
    claimed = complex(sp.sqrt(-sp.Integer(1)) ** 2)                 # sqrt(-Var[X])**2 at Var[X] = 1
    return _complex_scale(1j, claimed.real, 18, "the coefficient I")


@oracle
def c7_sqrt_negative():
    c = 2.0
    return _complex_scale(complex(np.sqrt(complex(-c))), -c * 1.0, 19, f"sqrt(-c) at c = {c}")


@oracle
def c7_log_negative():
    return _complex_scale(complex(np.log(complex(-1))), float(-sp.pi**2), 20, "log(-1)")


@oracle
def c7_sqrt_unknown_sign():
    r = -2.0
    return _complex_scale(complex(np.sqrt(complex(r))), r * 1.0, 21, f"sqrt(r) at r = {r}")


# class 8: definitions the loader must refuse


@oracle
def c8_circular_pair():
    cycle = non_descending_cycle("c8_circular_pair")
    return Defect(cycle, "a cycle of definitions along which the layer never descends")


@oracle
def c8_self_reference():
    cycle = non_descending_cycle("c8_self_reference")
    return Defect(cycle, "a definition that refers to itself at the same layer")


def _duplicate(stem: str) -> Defect:
    pair = duplicate_keys(stem)
    rhs = {key: value for key, _, _, value in definitions_of(stem)}
    detail = "two keys for one variable"
    if pair:
        detail += f": {rhs[pair[0]]!r} and {rhs[pair[1]]!r}; with f = tanh they disagree at s = 1 by " \
                  f"{abs(math.tanh(1.0) - 1.0):.3f}"
    return Defect(pair, detail)


@oracle
def c8_duplicate_space():
    return _duplicate("c8_duplicate_space")


@oracle
def c8_duplicate_commuted():
    return _duplicate("c8_duplicate_commuted")


@oracle
def c8_non_affine_double():
    return Defect(layer_coverage("c8_non_affine_double"), "(key, layer, integer solutions) for the layers the left "
                                                          "side covers zero times or more than once")


@oracle
def c8_non_affine_square():
    return Defect(layer_coverage("c8_non_affine_square"), "(key, layer, integer solutions) for the layers the left "
                                                          "side covers zero times or more than once")


# class 9: declared independence contradicted by the definitions


@oracle
def c9_glorot_z_next_W():
    n, r = 2, rng(22)
    z, w = r.standard_normal((SAMPLES, n)), r.standard_normal((SAMPLES, n))
    z_next = np.tanh((z * w).sum(axis=1))
    actual, se = variance_estimate(z_next * w[:, 0])
    var_z, se_z = variance_estimate(z_next)
    return versus_estimate(var_z * 1.0, se_z, actual, se, "n = 2, z, W ~ Normal(0, 1): Var[z[i+1, k]*W[i, j, k]] "
                                                          "against Var[z[i+1, k]]*Var[W]")


@oracle
def c9_he_s_and_W():
    n, r = 3, rng(23)
    s_prev, w = r.standard_normal((SAMPLES, n)), r.standard_normal((SAMPLES, n))
    s = (relu(s_prev) * w).sum(axis=1)
    actual, se = variance_estimate(s * w[:, 0])
    var_s, se_s = variance_estimate(s)
    return versus_estimate(var_s * 1.0, se_s, actual, se, "ReLU, n = 3, s[i-1], W ~ Normal(0, 1): "
                                                          "Var[s[i, k]*W[i, j, k]] against Var[s[i, k]]*Var[W]")


@oracle
def c9_defined_sum():
    r = rng(24)
    x, v = r.standard_normal(SAMPLES), r.standard_normal(SAMPLES)
    y = x + v
    return versus_samples((1.0 + 1.0) + 1.0, y + x, "X, V ~ Normal(0, 1), Y = X + V: Var[Y + X] against the "
                                                    "claimed Var[Y] + Var[X] = 2 + 1")


@oracle
def c9_defined_square():
    X = stats.Normal("X", 0, 1)
    Y = X**2
    claimed = stats.E(Y) ** 2 * stats.variance(X) + stats.variance(X) * stats.variance(Y)
    return exactly(claimed, stats.variance(X * Y), "X ~ Normal(0, 1), Y = X**2: Var[X*Y] = Var[X**3]")


# class 10: presentation and overstatement


def _uniform_bound(bound: sp.Expr, n: int, what: str) -> Finding:
    n_symbol = sp.Symbol("n", positive=True)
    a = bound.subs(n_symbol, n)
    _, variance = uniform_moments(lambda u: u, -a, a)
    return exactly(sp.Integer(1) / n, variance, f"n[i] = {n}, a = {sp.nsimplify(a)} ({what}): Var[Uniform(-a, a)] "
                                                f"against the Var[W[i]] = 1/n[i] the bound is claimed to give")


@oracle
def c10_uniform_bound_quartic():
    return _uniform_bound(sp.Symbol("n", positive=True) ** sp.Rational(-1, 4), 4, "solved from a**4")


@oracle
def c10_uniform_bound_normal_variance():
    return _uniform_bound(1 / sp.sqrt(sp.Symbol("n", positive=True)), 4, "solved from a**2")


def forward_gain_with_law(draw_w, n_in: int, seed: int) -> tuple[float, float]:
    """Var[Sum(z[i, j]*W[i, j, k], j)]/Var[z[i, j]] for centred unit-variance inputs and weights drawn by
    ``draw_w(generator, shape)``, by Monte Carlo: (gain, standard error)."""
    r = rng(seed)
    z = r.standard_normal((SAMPLES, n_in))
    return variance_estimate((z * draw_w(r, (SAMPLES, n_in))).sum(axis=1))


@oracle
def c10_uniform_bound_uncentred_law():
    n = 4
    a = math.sqrt(12 / n)                                   # the claimed bound
    gain, se = forward_gain_with_law(lambda r, shape: r.uniform(0.0, a, shape), n, 35)
    return Finding(1.0, gain, _tolerance(se, REFUTE_SIGMAS, 1.0),
                   f"n[i] = {n}, W ~ Uniform(0, {a:.4g}): forward gain Var[z[i+1, k]]/Var[z[i, j]] against the 1 "
                   f"the forward condition promised (it assumed centred weights)")


@oracle
def c10_forward_two_layers_apart():
    n, r = 4, rng(36)
    z0, z1 = r.normal(0.0, 1.0, (SAMPLES, n)), r.normal(0.0, math.sqrt(2.0), (SAMPLES, n))   # the inputs
    w0, w1 = (r.normal(0.0, math.sqrt(1 / n), (SAMPLES, n)) for _ in range(2))                # Var[W] = 1/n
    (v2, se2), (v3, se3) = variance_estimate((z0 * w0).sum(axis=1)), variance_estimate((z1 * w1).sum(axis=1))
    ratio = v3 / v2
    return Finding(1.0, ratio, _tolerance(ratio * math.hypot(se2 / v2, se3 / v3), REFUTE_SIGMAS, 1.0),
                   f"n = {n}, Var[z[0]] = 1, Var[z[1]] = 2, Var[W] = 1/n: Var[z[3]]/Var[z[2]] (z[2] from z[0], "
                   f"z[3] from z[1]) against the claimed 1")


def _compromise(var_w: float, n_in: int, n_out: int, seed: int, what: str, sigmas: float = REFUTE_SIGMAS) -> Finding:
    fwd, se_f, bwd, se_b = layer_gains(n_in, n_out, var_w, seed)
    return Finding(1.0, (fwd + bwd) / 2, _tolerance(math.hypot(se_f, se_b) / 2, sigmas, 1.0),
                   f"n[i] = {n_in}, n[i+1] = {n_out}, Var[W] = {var_w:.4g} ({what}): mean of the forward gain "
                   f"{fwd:.4g} and the backward gain {bwd:.4g}, against 1 for a forward/backward compromise")


@oracle
def c10_harmonic_self():
    n_in, n_out = 4, 12
    v = 2 / (1 / (1 / n_in) + 1 / (1 / n_in))               # the harmonic mean of 1/n[i] with itself
    return _compromise(v, n_in, n_out, 25, "harmonic mean of 1/n[i] with itself")


@oracle
def c10_harmonic_unrelated():
    n_in, n_out = 4, 12
    v = 2 / (1 / (1 / n_in) + 1 / (1 / (2 * n_in)))        # of 1/n[i] and 1/(2*n[i])
    return _compromise(v, n_in, n_out, 26, "harmonic mean of 1/n[i] and 1/(2*n[i])")


def _forward_gain(var_w: float, n_in: int, n_out: int, seed: int, what: str, sigmas: float = REFUTE_SIGMAS) -> Finding:
    fwd, se_f, _, _ = layer_gains(n_in, n_out, var_w, seed)
    return Finding(1.0, fwd, _tolerance(se_f, sigmas, 1.0),
                   f"n[i] = {n_in}, n[i+1] = {n_out}, Var[W] = {var_w:.4g} ({what}): forward gain "
                   f"Var[z[i+1, k]]/Var[z[i, j]] against the claimed 1")


@oracle
def c10_forward_from_gradient():
    return _forward_gain(1 / 12, 4, 12, 27, "1/n[i+1], from the gradient chain")


# class 11: second moment, two merges


def _xy():
    return stats.Normal("X", 1, 1), stats.Normal("Y", 2, 1)


@oracle
def c11_both_merges_one_term():
    X, Y = _xy()
    claimed = stats.variance(Y) * stats.E(X**2) + stats.variance(X) * stats.E(Y**2)
    return exactly(claimed, stats.variance(X * Y), "X ~ Normal(1, 1), Y ~ Normal(2, 1) independent: Var[X*Y]")


@oracle
def c11_shared_partner():
    X, Y = _xy()
    E, V = stats.E, stats.variance
    start = V(X) * E(Y) ** 2 + V(Y) * E(X) ** 2 + E(X) ** 2 * E(Y) ** 2
    claimed = E(X**2) * E(Y) ** 2 + E(X) ** 2 * E(Y**2)
    return exactly(claimed, start, "X ~ Normal(1, 1), Y ~ Normal(2, 1): the start expression's value")


@oracle
def c11_coefficient_mismatch():
    X, Y = _xy()
    E, V = stats.E, stats.variance
    start = 2 * V(X) + E(X) ** 2 + V(Y) + E(Y) ** 2
    claimed = 2 * E(X**2) + V(Y) + E(Y) ** 2
    return exactly(claimed, start, "X ~ Normal(1, 1), Y ~ Normal(2, 1): the start expression's value")


@oracle
def c11_uncentred_weights():
    n, r = 3, rng(28)
    z, w = r.normal(1.0, 1.0, (SAMPLES, n)), r.normal(0.5, 1.0, (SAMPLES, n))
    Z, W = stats.Normal("Z", 1, 1), stats.Normal("W", sp.Rational(1, 2), 1)
    claimed = n * (stats.E(Z**2) * stats.variance(W) + stats.E(W**2) * stats.variance(Z))
    return versus_samples(float(claimed), (z * w).sum(axis=1), f"n = {n}, z ~ Normal(1, 1), W ~ Normal(1/2, 1): "
                                                               f"Var[Sum(z[i, j]*W[i, j, k])] against the claim")


# class 12: others


@oracle
def o_aliased_additivity():
    x = rng(29).standard_normal(SAMPLES)
    return versus_samples(1.0 + 1.0, x + x, "j = k, X ~ Normal(0, 1): Var[X[j] + X[k]] against Var[X[j]] + Var[X[k]]")


@oracle
def o_aliased_product():
    X = stats.Normal("X", 0, 1)
    return exactly(stats.variance(X) ** 2, stats.variance(X * X), "j = k, X ~ Normal(0, 1): Var[X[j]*X[k]] against "
                                                                  "Var[X[j]]*Var[X[k]]")


@oracle
def o_product_same_factor():
    X = stats.Normal("X", 1, 1)
    claimed = 2 * stats.E(X) ** 2 * stats.variance(X) + stats.variance(X) ** 2
    return exactly(claimed, stats.variance(X * X), "X ~ Normal(1, 1): Var[X*X] against the product-variance value")


@oracle
def o_additivity_same():
    x = rng(30).standard_normal(SAMPLES)
    return versus_samples(1.0 + 1.0, x + x, "X[1] ~ Normal(0, 1): Var[X[1] + X[1]] against Var[X[1]] + Var[X[1]]")


@oracle
def o_iid_defined_family():
    n, r = 3, rng(31)
    x = r.standard_normal((SAMPLES, n))
    y = x * np.arange(1, n + 1)[None, :]                    # Y[i, j] = j*X[i, j]
    actual, se = variance_estimate(y.sum(axis=1))
    readings = [n * variance_estimate(y[:, unit])[0] for unit in range(n)]   # n*Var[Y[i, j]] for each unit j
    closest = min(readings, key=lambda value: abs(value - actual))
    return Finding(closest, actual, _tolerance(se, REFUTE_SIGMAS, actual),
                   f"n = {n}, X ~ Normal(0, 1): Var[Sum(Y[i, j])] against n*Var[Y[i, j]] for each unit j "
                   f"({', '.join(f'{v:.3g}' for v in readings)}; the closest shown)")


@oracle
def o_zero_mean_defined():
    r = rng(32)
    x, w = r.standard_normal(SAMPLES), r.standard_normal(SAMPLES)
    return versus_samples(1.0 * 1.0, (x + 1) * w, "X, W ~ Normal(0, 1), Y = X + 1: Var[Y*W] against Var[Y]*Var[W]")


@oracle
def o_zero_mean_uncited():
    r = rng(33)
    x, w = r.exponential(1.0, SAMPLES), r.standard_normal(SAMPLES)
    return versus_samples(1.0 * 1.0, x * w, "X ~ Exponential(1), W ~ Normal(0, 1): "
                                            "E[X]**2*Var[W] + Var[X]*Var[W] = Var[X*W] against Var[X]*Var[W]")


@oracle
def o_wrong_count():
    n_in, n_out = 3, 7
    j, var_z, var_w = sp.Symbol("j", integer=True), sp.Integer(1), sp.Integer(1)
    total = sp.Sum(var_z * var_w, (j, 1, n_in)).doit()
    return exactly(n_out * var_z * var_w, total, f"n[i] = {n_in}, n[i+1] = {n_out}, Var[z] = Var[W] = 1: the sum")


@oracle
def o_condition_wrong_layer():
    return _forward_gain(1 / 12, 4, 12, 34, "the claimed 1/n[i+1]")


# class 12: tricks found by an adversarial review of the kernel (capture, reach, layers below a definition, counts)


def _mirrored_pairs(what: str) -> Finding:
    X = [stats.Normal(f"X{k}", 0, 1) for k in range(5)]
    Y = [X[k] * X[4 - k] for k in range(5)]                 # Y[2] = X[2]**2; the others products of two samples
    V = [stats.variance(Y[k]) for k in range(5)]
    listed = ", ".join(str(V[k]) for k in range(1, 5))
    return exactly(sp.S.Zero, V[1] + V[2] - V[3] - V[4], f"{what}, X ~ Normal(0, 1) independent: the variances "
                                                       f"of Y for k = 1..4 are {listed}")


@oracle
def c12_iid_mirrored_pair():
    return _mirrored_pairs("Y[k] = X[k]*X[4 - k]")


@oracle
def c12_iid_mirrored_pair_in_group():
    return _mirrored_pairs("Y[i, k] = X[i, k]*X[i, 4 - k]")


@oracle
def c12_reach_two_paths():
    r = rng(40)
    x0, x1 = r.standard_normal(SAMPLES), r.standard_normal(SAMPLES)      # X[i, k], X[i+1, k]
    a = x1 + x0                                             # A[i+4, k] = D[i+3, k] = B[i+2, k]
    return versus_samples((1.0 + 1.0) + 1.0, a + x0, "X ~ Normal(0, 1), A[i+4, k] = X[i+1, k] + X[i, k]: Var[A[i+4, k] "
                                                     "+ X[i, k]] against the claimed Var[A] + Var[X] = 2 + 1")


@oracle
def c12_chain_rule_captured_unit():
    i, batch = 2, 50_000
    ss, weights, gradient = _network("plain", 41, batch)
    width = ss[0].shape[1]                                  # n[i+1] = n[i+2] = 3
    g_next = np.stack([gradient(i + 1, j) for j in range(width)], axis=1)
    actual = sum(gradient(i, j) for j in range(width))     # Sum(g[i, j], (j, 1, n[i+1])) by finite differences
    diagonal = sum((1 - np.tanh(ss[i][:, j]) ** 2) * weights[i + 1][:, j, j] * g_next[:, j] for j in range(width))
    claimed = width * diagonal                              # the outer sum over j of a summand without j
    pathwise = float(np.abs(actual - claimed).max())
    (v_true, se_true), (v_claim, se_claim) = variance_estimate(actual), variance_estimate(claimed)
    return versus_estimate(v_claim, se_claim, v_true, se_true,
                           f"tanh network, width 3, 6 layers: Var[Sum(g[2, j], j)] by finite differences against the "
                           f"variance of the claimed n[i+1]*Sum(df(s[i, j])*W[i+1, j, j]*g[i+1, j], j) (largest "
                           f"pathwise difference {pathwise:.3g})")


@oracle
def c12_chain_rule_vacuous_outer_sum():
    i, batch = 2, 50_000
    ss, weights, gradient = _network("plain", 44, batch)
    width = ss[0].shape[1]                                  # n[i+1] = n[i+2] = 3
    g_next = np.stack([gradient(i + 1, k) for k in range(width)], axis=1)
    actual = sum(gradient(i, j) for j in range(width))     # Sum(g[i, j], (j, 1, n[i+1])) by finite differences
    inner = sum((1 - np.tanh(ss[i][:, j]) ** 2) * (weights[i + 1][:, j, :] * g_next).sum(axis=1) for j in range(width))
    claimed = width * inner                                 # the outer sum over j of a summand that no longer has j
    (v_true, se_true), (v_claim, se_claim) = variance_estimate(actual), variance_estimate(claimed)
    return versus_estimate(v_claim, se_claim, v_true, se_true,
                           "tanh network, width 3: Var[Sum(g[2, j], j)] by finite differences against the variance "
                           "of the claimed n[i+1]*Sum(df(s[i, j])*Sum(W[i+1, j, k]*g[i+1, k], k), j)")


@oracle
def c12_chain_rule_unread_unit():
    return _chain_rule_finding("unread_first", 42)


@oracle
def c12_iid_family_with_input():
    n, r = 5, rng(43)
    x = r.standard_normal((SAMPLES, n))                     # X[1..N] ~ Normal(0, 1)
    y = x + 1                                               # Y[k] = X[k] + 1 for k = 1..N
    actual, se = mean_estimate(y.sum(axis=1))
    return versus_estimate(n * 0.0, 0.0, actual, se, f"N = {n}, X ~ Normal(0, 1): E[Sum(Y[k], (k, 1, N))] against the "
                                                      f"claimed N*E[Y] = 0 (E[Y] = 0 for the centred input Y[0])")


@oracle
def c12_unfold_input_layer():
    r = rng(44)
    y0, x0 = r.standard_normal(SAMPLES), r.standard_normal(SAMPLES)      # the input Y[0], independent of X[0]
    return versus_samples(0.0, y0 - x0, "Y[0], X[0] ~ Normal(0, 1) independent: Var[Y[0] - X[0]] against the "
                                        "claimed Var[1] = 0")


@oracle
def c12_count_outer_negative():
    v = sp.Integer(1)
    # an empty sum (upper limit below the lower) is 0: Sum(X[l], (l, 1, j)) for j = -2, -1, 0 has no terms
    left = sum(v * sum(c**2 for c in expanded_sum(1, upper).values()) if upper >= 1 else sp.Integer(0)
               for upper in range(-2, 1))
    right = sum(j * v for j in range(-2, 1))
    return exactly(right, left, f"Var[X] = {v}: Var of each (empty) Sum(X[l], (l, 1, j)) for j = -2..0, summed, "
                                f"against the claimed Sum(j*Var[X], (j, -2, 0))")


# class 12: tricks found by a second adversarial review (laws of defined families, requirements, values)


@oracle
def c12_iid_representative_other_unit():
    n = 3
    X = [stats.Normal(f"X{j}", 0, 1) for j in range(1, n + 1)]
    V = {k: [stats.variance(k * X[j]) for j in range(n)] for k in (1, 2)}    # Var[Y[i, j, k]], Y[i, j, k] = k*X[i, j]
    return exactly(sp.S.Zero, sum(V[2]) - sum(V[1]), f"n[i] = {n}, Y[i, j, k] = k*X[i, j], X ~ Normal(0, 1) "
                                                     f"independent: Var[Y[i, j, 2]] = {V[2][0]} and Var[Y[i, j, 1]] = "
                                                     f"{V[1][0]} for every j")


@oracle
def c12_iid_shared_unit_factor():
    X = [stats.Normal(f"X{j}", 0, 1) for j in (1, 2)]
    Y = [X[j] * X[0] for j in range(2)]                    # Y[i, 1] = X[i, 1]**2, Y[i, 2] = X[i, 2]*X[i, 1]
    V = [stats.variance(y) for y in Y]
    return exactly(sp.S.Zero, V[0] + V[1] - 2 * V[1], f"Y[i, j] = X[i, j]*X[i, 1], X ~ Normal(0, 1) independent: "
                                                      f"Var[Y[i, 1]] = {V[0]}, Var[Y[i, 2]] = {V[1]}")


@oracle
def c12_iid_without_identical_premise():
    X = [stats.Normal("X1", 0, 1), stats.Normal("X2", 0, 2)]   # independent, not identically distributed
    offset = stats.Normal("V", 0, 1)
    V = [stats.variance(x + offset) for x in X]                 # Var[Y[i, j]], Y[i, j] = X[i, j] + V[i]
    return exactly(sp.S.Zero, V[0] + V[1] - 2 * V[1], f"X[i, 1] ~ Normal(0, 1), X[i, 2] ~ Normal(0, 2), V[i] ~ "
                                                      f"Normal(0, 1) independent: Var[Y[i, 1]] = {V[0]}, "
                                                      f"Var[Y[i, 2]] = {V[1]}")


@oracle
def c12_constant_value_index():
    n, k = 2, 0                                             # the free index k, and m = k, outside the sum
    Y = stats.Normal("Y", 1, 1)
    X = [stats.Normal(f"X{l}", 0, 1) for l in range(1, n + 1)]
    total = sum((l - k) * Y + X[l - 1] for l in range(1, n + 1))    # the summation variable renamed l: nothing captured
    return exactly(sp.S.Zero, stats.E(total), f"n = {n}, m = k = {k}, Y ~ Normal(1, 1), X[l] ~ Normal(0, 1): "
                                              f"E[Sum((l - m)*Y + X[l], (l, 1, n))] against the claimed 0")


@oracle
def c12_normal_from_second_moment():
    n, c = 4, sp.Integer(1)
    W = stats.Normal("W", c, 1 / sp.sqrt(n))               # sigma = 1/sqrt(n[0]), as claimed
    gain, se = forward_gain_with_law(lambda r, shape: r.normal(float(c), 1 / math.sqrt(n), shape), n, 45)
    return exactly(sp.Integer(1) / n, stats.E(W**2), f"n[0] = {n}, W ~ Normal({c}, 1/sqrt(n[0])): E[W**2] against the "
                                                     f"1/n[0] the forward condition requires (Monte Carlo forward gain "
                                                     f"{gain:.4g} +- {se:.2g}, not 1)")


@oracle
def c12_constant_defined_random():
    X = stats.Normal("X", 0, 1)
    b = X                                                   # b[i, k] = X[i, k]
    return exactly(stats.variance(X), stats.variance(X + b), "X ~ Normal(0, 1), b[i, k] = X[i, k]: Var[X + b] = "
                                                             "Var[2*X] against the claimed Var[X]")


@oracle
def c12_iid_nested_inner_count():
    n, m, var_w = sp.Integer(5), 1, sp.Integer(1)
    inner = [j for j in range(1, 10) if j <= n / 2]         # the integers j with 1 <= j <= N/2
    left = sum(var_w for _ in range(1, m + 1) for _ in inner)
    return exactly(n * m * var_w / 2, left, f"N = {n}, M = {m}, Var[W] = {var_w}: the inner sum runs over j in "
                                            f"{inner}; claimed N*M*Var[W]/2")


# class 13: found by the sampled semantics (an adversarial review run against derivation.sample)


def _variance_sum(terms: list[tuple[float, np.ndarray]]) -> tuple[float, float]:
    """Sum of c*Var[x] over (c, samples x) of independent draws, and its standard error."""
    estimates = [(c, *variance_estimate(x)) for c, x in terms]
    return sum(c * v for c, v, _ in estimates), math.sqrt(sum((c * se) ** 2 for c, _, se in estimates))


@oracle
def c13_iid_layer_moving_unit():
    r = rng(46)
    x = {(l, u): r.normal(0.0, math.sqrt(l), SAMPLES) for l in range(1, 5) for u in (1, 2)}   # X[l, u], Var = l
    y = {k: x[k, 1] + x[k, 2] for k in range(1, 5)}          # Y[i, k] = X[k, 1] + X[k, 2], whatever the layer i
    actual, se = _variance_sum([(1.0, y[1]), (1.0, y[2]), (-1.0, y[3]), (-1.0, y[4])])
    return versus_estimate(0.0, 0.0, actual, se, "X[l, u] ~ Normal(0, sqrt(l)) independent (iid within a layer), "
                                                 "Y[i, k] = X[k, 1] + X[k, 2]: Sum(Var[Y[i, k]], (k, 1, 2)) - "
                                                 "Sum(Var[Y[i, k]], (k, 3, 4)) against the claimed 0")


@oracle
def c13_iid_sum_over_layers_alias():
    i = 0
    X = {(l, u): stats.Normal(f"X_{l}_{u}", 0, 1) for l in range(i, i + 3) for u in (1, 2)}

    def Y(k):                                               # Y[i, k] = Sum(X[i+m, k] + X[i+m+1, 1], (m, 0, 1))
        return sum(X[i + m, k] + X[i + m + 1, 1] for m in (0, 1))

    V = {k: stats.variance(Y(k)) for k in (1, 2)}
    return exactly(sp.S.Zero, V[1] - V[2], f"X[l, u] ~ Normal(0, 1) independent: Y[i, 1] = {Y(1)} and Y[i, 2] = "
                                           f"{Y(2)} have variances {V[1]} and {V[2]}; Var[Y[i, 1]] - Var[Y[i, 2]] "
                                           f"against the claimed 0")


@oracle
def c13_flip_bound_alias():
    x = rng(47).standard_normal((SAMPLES, 4))               # X[1, 1..3] (column 0 unused)

    def u(v):                                               # Sum(X[1, m], (m, 1, 2))*Sum(Z[1, m+1], (m, 1, 2)), Z = X
        return (v[:, 1] + v[:, 2]) * (v[:, 2] + v[:, 3])

    unchanged = bool(np.array_equal(u(-x), u(x)))
    actual, se = mean_estimate(np.tanh(u(x)))
    return versus_estimate(0.0, 0.0, actual, se, f"X ~ Normal(0, 1) independent, u = (X1 + X2)*(X2 + X3) (flipping "
                                                 f"every X leaves u unchanged: {unchanged}): E[tanh(u)] against the "
                                                 f"claimed 0")


@oracle
def c13_chain_rule_residual_stream():
    return _chain_rule_finding("stream", 48)


def _defined_from_below(layer: int, body: Callable[[int], np.ndarray], primitive: Callable[[], np.ndarray]):
    """Samples of Y[layer, 1] for a definition Y[l+1, k] := body(l) over the layers l >= 0: the definition where
    l + 1 = layer has a root l >= 0, a primitive draw elsewhere (layer 0)."""
    l = sp.Symbol("l", integer=True)
    roots = [int(root) for root in sp.solve(sp.Eq(l + 1, layer), l) if root >= 0]
    return body(roots[0]) if roots else primitive()


@oracle
def c13_definition_negative_bound():
    r = rng(49)
    x = {l: r.standard_normal(SAMPLES) for l in (-1, 0)}   # X[l, 1] (X[-1, 1] read as another sample)
    y0 = r.standard_normal(SAMPLES)                         # the primitive Y[0, 1]
    start = sum(_defined_from_below(l + 1, lambda m: 2 * x[m] + 1, lambda: y0) for l in (-1, 0))
    claim = sum(2 * x[l] + 1 for l in (-1, 0))              # the definition unfolded at l = -1 as well
    (actual, se), (claimed, claimed_se) = mean_estimate(start), mean_estimate(claim)
    return versus_estimate(claimed, claimed_se, actual, se,
                           "Y[l+1, k] := 2*X[l, k] + 1 for the layers l >= 0 (Y[0, 1] primitive), Y[0, 1], X ~ "
                           "Normal(0, 1): E[Sum(Y[l+1, 1], (l, -1, 0))] against the claimed "
                           "E[Sum(2*X[l, 1] + 1, (l, -1, 0))]")


@oracle
def c13_zero_mean_negative_bound_layer():
    r = rng(50)
    x0, y0 = r.standard_normal(SAMPLES), r.normal(1.0, 1.0, SAMPLES)     # X[0, 1] centred; the primitive Y[0, 1]
    total = sum(_defined_from_below(l + 1, lambda m: x0, lambda: y0) for l in (-1, 0))
    actual, se = mean_estimate(total)
    return versus_estimate(0.0, 0.0, actual, se, "Y[l+1, k] := X[l, k] for the layers l >= 0, Y[0, 1] ~ Normal(1, 1) "
                                                 "(primitive), X ~ Normal(0, 1): E[Sum(Y[l+1, 1], (l, -1, 0))] "
                                                 "against the claimed 0")


@oracle
def c13_iid_mixed_arity():
    r = rng(51)
    x1, x2, x11 = (r.normal(0.0, math.sqrt(layer), SAMPLES) for layer in (1, 2, 1))   # X[1], X[2], X[1, 1]
    actual, se = _variance_sum([(1.0, x1), (-1.0, x2), (1.0, x11)])
    claimed, claimed_se = variance_estimate(x11)
    return versus_estimate(claimed, claimed_se, actual, se,
                           "X[l, u] ~ Normal(0, sqrt(l)) (iid within a layer; X[j] a variable of layer j): "
                           "Var[X[1]] - Var[X[2]] + Var[X[1, 1]] against the claimed Var[X[1, 1]]")


@oracle
def c13_empty_constant_sum():
    X = stats.Normal("X", 0, 1)
    E, V = stats.E, stats.variance
    empty = sum((V(X) for _ in range(2, 0 + 1)), sp.S.Zero)  # Sum(Var[X], (j, 2, 0)): no j with 2 <= j <= 0
    karr = sp.Sum(V(X), (sp.Symbol("j", integer=True), 2, 0)).doit()
    return exactly(E(X**2) - V(X), V(X) + E(X) ** 2 + empty,
                   f"X ~ Normal(0, 1): Var[X] + E[X]**2 + Sum(Var[X], (j, 2, 0)) with the empty sum = {empty} "
                   f"(SymPy's Karr convention would give {karr}), against the claimed E[X**2] - Var[X]")


@oracle
def c13_normal_negative_root():
    n, sigma = sp.Integer(4), sp.Symbol("sigma", positive=True)
    claimed = 1 / sp.sqrt(n) - 1
    positive = sp.solve(sp.Eq(stats.variance(stats.Normal("W", 0, sigma + 1)), 1 / n), sigma)
    residual = sp.simplify((claimed + 1) ** 2 - 1 / n)
    witness = (f"n[i] = {n}", f"sigma = {claimed}") if claimed.is_negative and claimed not in positive else None
    return Defect(witness, f"n[i] = {n}: the claimed sigma = 1/sqrt(n[i]) - 1 = {claimed} (it solves (sigma + 1)**2 = "
                           f"1/n[i]: residual {residual}) is negative, and the positive solutions of "
                           f"Var[Normal(0, sigma + 1)] = 1/n[i] are {positive}")


@oracle
def c13_nested_empty_sum():
    v = sp.Integer(1)                                        # X ~ Normal(0, 1): Var[X] = 1, E[X] = 0, E[X**2] = 1
    mean, second = sp.Integer(0), sp.Integer(1)
    # every inner Sum(Var[X], (j, 1, m)) for m = -3..0 has no terms: an empty sum is 0
    nested = sum((sum(v for _ in range(1, m + 1)) if m >= 1 else sp.Integer(0)) for m in range(-3, 1))
    start = v + mean**2 + nested
    claim = second + sum(m * v for m in range(-3, 1))
    return exactly(claim, start, "X ~ Normal(0, 1): Var[X] + E[X]**2 + (four empty sums) against the claimed "
                                 "E[X**2] + Sum(m*Var[X], (m, -3, 0))")


@oracle
def c13_iid_moment_in_definition():
    v = sp.Rational(1, 4)                                    # X[1, u] i.i.d. with variance v
    # Y[1, 1] = X[1, 1]*Var[2*X[1, 1]] = 4*v*X[1, 1]; Y[1, 2] = X[1, 2]*Var[X[1, 2] + X[1, 1]] = 2*v*X[1, 2]
    var_y1 = (4 * v) ** 2 * v
    var_y2 = (2 * v) ** 2 * v
    return exactly(sp.S.Zero, var_y1 - var_y2, f"Var[X[1, u]] = {v}: Var[Y[1, 1]] = {var_y1}, Var[Y[1, 2]] = {var_y2}; "
                                               f"their difference against the claimed 0")


@oracle
def c13_flip_inside_moment():
    x = rng(52).standard_normal(SAMPLES)                     # X[1, 1] ~ Normal(0, 1), Y = X
    v = 1.0                                                  # E[X*Y] = Var[X] = 1, E[-X*Y] = -1
    base = x + v - (-v)
    return versus_estimate(0.0, 0.0, *mean_estimate(base**3),
                           "X ~ Normal(0, 1), Y = X: E[(X + E[X*Y] - E[-X*Y])**3] = E[(X + 2)**3] (exactly 14) "
                           "against the claimed 0")


# ------------------------------------------------------------------ general rules, declared laws, premise equations


@oracle
def p_dropout_dependent_mask():
    r = rng(41)
    u = r.standard_normal(SAMPLES)
    m = (u > 0).astype(float)                      # a Bernoulli(1/2) mask that drops every negative input
    actual, se = mean_estimate(m * u)
    return Finding(0.0, actual, _tolerance(se, REFUTE_SIGMAS, actual),
                   "u ~ Normal(0, 1), m = [u > 0]: E[m]*E[u] = 0 against E[m*u] (1/sqrt(2*pi) exactly)")


@oracle
def p_bernoulli_invalid():
    p = sp.Rational(9, 10)
    value = 2 * p
    return Defect(value if not 0 <= value <= 1 else None, "Bernoulli(2*p) at p = 9/10: a probability of 9/5")


@oracle
def p_negative_variance_fact():
    r = rng(42)
    q = r.standard_normal(SAMPLES)
    variance, _ = variance_estimate(q)
    return Defect(-1 if variance >= 0 else None, f"any real q has Var[q] >= 0 (sampled: {variance:.3f}); the premise says -1")


@oracle
def p_fact_against_zero_mean():
    r = rng(43)
    u = r.standard_normal(SAMPLES)               # a centred law; no centred law has mean 1
    mean, se = mean_estimate(u)
    return Defect(1 if abs(mean - 1) > REFUTE_SIGMAS * se else None, "E[u] = 0 for a centred u, so E[u] == 1 contradicts it")


@oracle
def p_algebra_independence():
    second = gaussian_moment(1, 1, 2)            # Y = X ~ Normal(1, 1): E[X*Y] = E[X**2]
    return exactly(gaussian_moment(1, 1, 1) ** 2, second, "Y = X ~ Normal(1, 1): E[X]*E[Y] against E[X*Y] = E[X**2]")


@oracle
def p_substitution_uncited():
    r = rng(44)
    d = 3
    q, k = r.normal(0, 2, (SAMPLES, d)), r.normal(0, 2, (SAMPLES, d))
    var_q, _ = variance_estimate(q[:, 0])
    var_k, _ = variance_estimate(k[:, 0])
    return Finding(float(d), d * var_q * var_k, 0.05 * d * var_q * var_k,
                   "q, k ~ Normal(0, 2), d = 3: d*Var[q]*Var[k] (sampled, 5% tolerance) against the claimed d")


@oracle
def p_dropout_wrong_keep():
    r = rng(45)
    p = 0.3
    u = r.normal(0.5, 1.0, SAMPLES)
    m = (r.random(SAMPLES) < 1 - p).astype(float)
    actual, se = mean_estimate(m * u / (1 - p))
    return Finding(p / (1 - p) * 0.5, actual, _tolerance(se, REFUTE_SIGMAS, actual),
                   "p = 0.3, u ~ Normal(0.5, 1), m ~ Bernoulli(0.7) independent: E[m*u/(1 - p)] against p/(1 - p)*E[u]")


@oracle
def p_variance_scaling_unsquared():
    r = rng(46)
    return versus_samples(3.0, 3 * r.standard_normal(SAMPLES) + 1, "X ~ Normal(0, 1): Var[3*X + 1] against 3*Var[X] = 3")


@oracle
def p_linearity_of_square():
    x = sp.Symbol("x", real=True)
    density = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
    square = sp.integrate((2 * x) ** 2 * density, (x, -sp.oo, sp.oo))      # Y = X: (X + Y)**2 = 4*X**2
    return exactly(2 * gaussian_moment(0, 1, 2), square, "Y = X ~ Normal(0, 1): E[X**2] + E[Y**2] against E[(X + Y)**2]")


@oracle
def p_product_mean_same_variable():
    return exactly(gaussian_moment(1, 1, 1) ** 2, gaussian_moment(1, 1, 2), "X ~ Normal(1, 1): E[X]**2 against E[X*X]")


# ------------------------------------------------------------------ found by an adversarial review of the general rules


@oracle
def p_telescoping_capture():
    r = rng(47)
    w0, w1 = r.standard_normal(SAMPLES), r.standard_normal(SAMPLES)        # W[0, 1, k], W[1, 1, k]; y[0, k] = 0
    return versus_samples(4.0, w0 + w1, "L = 2, N = 1, y[0, k] = 0, W ~ N(0, 1) iid: Var[y[2, k]] against L**2*N = 4")


@oracle
def p_law_random_parameter():
    x = sp.Symbol("x", positive=True)
    u = sp.Symbol("u", real=True)
    mean_given = sp.integrate(u / x, (u, 0, x))           # E[U | X = x] for U ~ Uniform(0, x): x/2, a function of X
    values = [mean_given.subs(x, 1), mean_given.subs(x, 3)]
    # E[Uniform(0, X)] is one number, E[X]/2 = 1; the file treats it as the random X/2 and gets Var[X/2] = 1/4
    number = sum(values) / 2
    return exactly(sp.Rational(1, 4), (number - number) ** 2, "X = 1 or 3: E[Uniform(0, X)] = 1 is a number, Var = 0")


@oracle
def p_substitution_negative_index():
    mean = sp.Symbol("EX", real=True)
    k, l = sp.symbols("k l", integer=True)
    left = sum(mean + kk for kk in (-2, -1))                       # the summand E[X] + k at k = -2, -1
    right = sum(mean + sum(1 for _ in range(0, kk)) for kk in (-2, -1))   # empty sums (range(0, k) for k < 0) are 0
    return exactly(sp.expand(right - left).subs(mean, 0), 0, "Sum over k = -2, -1: right side minus left side")


@oracle
def p_law_against_zero_mean():
    p = sp.Rational(3, 10)
    mean = 0 * p + 1 * (1 - p)                                      # E[Bernoulli(1 - p)], enumerated
    return Defect(mean if mean != 0 else None, "a Bernoulli(1 - p) mask has mean 1 - p = 7/10, not 0")


@oracle
def p_gradient_fact():
    r = rng(48)
    n = 4
    w, g = r.standard_normal((SAMPLES, n)), r.standard_normal((SAMPLES, n))   # unit variances, independent
    variance, _ = variance_estimate((w * g).sum(axis=1))
    return Defect(variance if abs(variance - 1) > 0.5 else None,
                  f"the chain rule gives Var[g[i, k]] = N Var[W] Var[g] = {variance:.2f} for N = 4, not 1")


# the chain rule's unit range (an adversarial review, stop 19): a tanh network whose definitions hold for every
# unit, including 0 and n + 1, while the sums read units 1..n only


class _UnitNetwork:
    """z[l+1, k] = tanh(s[l, k]), s[l, k] = sum_{j=1..n[l]} z[l, j] W[l, j, k] for l = 0..2, every s[l, k]
    computed for k = 0..WIDE - 1 (the definitions hold for every unit), and the loss L = sum_{u=1..n[3]} c_u s[2, u];
    n = (3, 4, 5, 2) unless given, seeded weights (``zero``: every weight 0). ``grad(l, k)`` is dL/ds[l, k] by
    central finite differences."""

    top = 2
    WIDE = 12

    def __init__(self, seed: int, zero: bool = False, n: tuple = (3, 4, 5, 2)):
        r = rng(seed)
        self.n = dict(enumerate(n))
        self.w = {l: (0.0 if zero else 1.0) * r.standard_normal((self.WIDE, self.WIDE)) for l in range(self.top + 1)}
        self.z0 = r.standard_normal(self.WIDE)
        self.c = r.standard_normal(self.WIDE)
        self.s = self._forward()[1]

    def _forward(self, nudge=None):
        z, s_all = self.z0, {}
        for l in range(self.top + 1):
            s = np.array([sum(z[j] * self.w[l][j, k] for j in range(1, self.n[l] + 1)) for k in range(self.WIDE)])
            if nudge is not None and nudge[0] == l:
                s[nudge[1]] += nudge[2]
            s_all[l], z = s, np.tanh(s)
        return sum(self.c[u] * s_all[self.top][u] for u in range(1, self.n[self.top + 1] + 1)), s_all

    def grad(self, l: int, k: int, h: float = 1e-6) -> float:
        return (self._forward((l, k, h))[0] - self._forward((l, k, -h))[0]) / (2 * h)

    def chain_form(self, k: int, last: int, layer: int = 0) -> float:
        """df(s[l, k])*Sum(W[l+1, k, j]*g[l+1, j], (j, 1, last)): the chain rule's form at unit k of layer l."""
        return (1 - np.tanh(self.s[layer][k]) ** 2) * sum(self.w[layer + 1][k, j] * self.grad(layer + 1, j)
                                                           for j in range(1, last + 1))


FD_TOLERANCE = 1e-6      # central differences of a smooth loss: errors near 1e-9


@oracle
def c13_chain_rule_unit_zero():
    net = _UnitNetwork(51)
    return Finding(net.chain_form(0, net.n[2]), net.grad(0, 0), FD_TOLERANCE,
                   "tanh network n = (3, 4, 5, 2): dL/ds[0, 0] (unit 0, read by no layer) against the chain "
                   "rule's form at k = 0")


@oracle
def c13_chain_rule_units_short():
    net = _UnitNetwork(52)
    return Finding(net.chain_form(1, net.n[2] - 1), net.grad(0, 1), FD_TOLERANCE,
                   "tanh network n = (3, 4, 5, 2): dL/ds[0, 1] against the chain rule's form with n[2] - 1 terms")


def _sum_from_unit_zero(seed: int) -> Finding:
    net = _UnitNetwork(seed)
    claimed = sum(net.chain_form(k, net.n[2]) for k in range(0, net.n[1] + 1))
    actual = sum(net.grad(0, k) for k in range(0, net.n[1] + 1))
    return Finding(claimed, actual, FD_TOLERANCE, "tanh network n = (3, 4, 5, 2): the sum of dL/ds[0, k] over "
                                                  "k = 0..n[1] against the sum of the chain rule's forms")


@oracle
def c13_chain_rule_sum_from_unit_zero():
    return _sum_from_unit_zero(53)


@oracle
def c13_chain_rule_substituted_from_unit_zero():
    return _sum_from_unit_zero(54)


@oracle
def c13_chain_rule_premise_from_unit_zero():
    return _sum_from_unit_zero(56)            # Y = g, as the file's premise says


@oracle
def c12_gradient_also_defined():
    net = _UnitNetwork(55, zero=True)
    gradient = net.grad(0, 1)
    return Defect((gradient, 1) if abs(gradient - 1) > FD_TOLERANCE else None,
                  f"with every weight 0, dL/ds[0, 1] = {gradient:.3g} (the chain rule's value), while the "
                  f"definition says g = 1")


@oracle
def c12_inverse_power_mean():
    u, e, a = sp.symbols("u epsilon a", positive=True)
    tail = sp.limit(sp.integrate(1 / u, (u, e, a)) / a, e, 0, "+")      # E[|1/U|] = (1/a) int_0^a du/u
    return Defect(tail if tail.is_infinite else None, f"E[|1/U|] for U ~ Uniform(-a, a) is {tail}: 1/U has no mean")


# a second adversarial review (stop 19) of the unit ranges: a layer sum capturing the range's i, two gradients
# sharing one unit k (ranges intersect), a range inherited along a chain, and a negative power inside a product


@oracle
def c13_chain_rule_layer_captured():
    net = _UnitNetwork(57, n=(3, 2, 4, 2))                # the free layer i = 1: k runs to n[2] = 4
    claimed = sum(net.chain_form(k, net.n[layer + 2], layer) for k in range(1, net.n[2] + 1) for layer in (0, 1))
    actual = sum(net.grad(layer, k) for k in range(1, net.n[2] + 1) for layer in (0, 1))
    return Finding(claimed, actual, FD_TOLERANCE, "tanh network n = (3, 2, 4, 2), i = 1: the sum over k = 1..n[2] "
                                                  "and the layers 0, 1 of dL/ds[layer, k] against the chain rule's forms")


def _two_layers_summed(seed: int, n: tuple, last: int) -> Finding:
    net = _UnitNetwork(seed, n=n)                          # the free layer i = 0
    claimed = sum(net.chain_form(k, net.n[2], 0) + net.chain_form(k, net.n[3], 1) for k in range(1, last + 1))
    actual = sum(net.grad(0, k) + net.grad(1, k) for k in range(1, last + 1))
    return Finding(claimed, actual, FD_TOLERANCE, f"tanh network n = {n}, i = 0: the sum over k = 1..{last} of "
                                                  f"dL/ds[0, k] + dL/ds[1, k] against the chain rule's forms")


@oracle
def c13_chain_rule_two_gradients_one_unit():
    return _two_layers_summed(58, (3, 4, 2, 3), 4)        # k runs to n[1] = 4, past n[2] = 2 units of s[1]


@oracle
def c13_chain_rule_inherited_range():
    return _two_layers_summed(59, (3, 2, 4, 3), 4)        # k runs to n[2] = 4, past n[1] = 2 units of s[0]


@oracle
def c12_inverse_in_product():
    u, e, a = sp.symbols("u epsilon a", positive=True)
    tail = sp.limit(sp.integrate(1 / u, (u, e, a)) / a, e, 0, "+")      # E[1/|U|], and E[|X|] = a/2 > 0
    return Defect(tail if tail.is_infinite else None, f"E[|X/U|] = E[|X|]*E[1/|U|] = (a/2)*{tail} for independent "
                                                     f"uniforms: X/U has no mean")


@oracle
def c13_iid_gradient_beyond_units():
    nets = [_UnitNetwork(100 + seed) for seed in range(200)]
    outside = np.var([net.grad(0, net.n[1] + 1) for net in nets])     # unit n[1] + 1 = 5, read by no layer
    inside = np.var([net.grad(0, 1) for net in nets])                  # a unit of the layer
    return Finding(inside, outside, FD_TOLERANCE,
                   f"the variance over 200 seeded networks of dL/ds[0, 5] ({outside:.3g}) against dL/ds[0, 1]'s")
