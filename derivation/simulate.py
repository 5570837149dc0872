"""The paper's picture, simulated: a deep network at initialisation (Glorot & Bengio 2010, Figures 6-7).

A network of ``depth`` hidden layers of ``width`` units (inputs N(0, 1), biases 0), with weights
  standard    W ~ U(-1/sqrt(n_in), 1/sqrt(n_in))                                n Var[W] = 1/3
  normalised  W ~ U(-sqrt(6/(n_in + n_out)), +sqrt(6/(n_in + n_out)))  (Glorot)  n Var[W] = 1 when n_in = n_out
  he          W ~ U(-sqrt(6/n_in), +sqrt(6/n_in))                       (He)      n Var[W] = 2
(tanh and sigmoid: standard and normalised; ReLU: normalised and he). For each layer: the variance (and
histogram) of the activations z^l = f(s^l), s^l = z^{l-1} W^l, forward, and of the back-propagated gradients
dL/ds^l = f'(s^l) (dL/ds^{l+1} W^{l+1 T}) backward, starting from unit-variance gradients at the top layer; the
mean singular value of the layer Jacobian dz^l/dz^{l-1} = diag(f'(s^l)) W^{l T}; and beside them the predictions
of derivation.meanfield (mean field, and the linear regime). Seeded and vectorised; data only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import meanfield
from .layer import ACTIVATIONS

BOUNDS = {                                                   # the uniform bound a of W ~ U(-a, a): Var[W] = a^2/3
    "standard": lambda n_in, n_out: 1 / math.sqrt(n_in),
    "normalised": lambda n_in, n_out: math.sqrt(6 / (n_in + n_out)),
    "he": lambda n_in, n_out: math.sqrt(6 / n_in),
}
INITS = {"tanh": ("standard", "normalised"), "sigmoid": ("standard", "normalised"), "relu": ("normalised", "he")}
# histogram bins, one centred on every multiple of the step (0 included): (first centre, last centre, step)
ACTIVATION_BINS = {"tanh": (-1.0, 1.0, 0.025), "sigmoid": (0.0, 1.0, 0.025), "relu": (0.0, 3.0, 0.05)}
GRADIENT_BINS = (-2.0, 2.0, 0.05)                            # the top layer's gradients are N(0, 1)


def bin_centres(first: float, last: float, step: float) -> np.ndarray:
    """first, first + step, ..., last."""
    return np.linspace(first, last, round((last - first) / step) + 1)


def histogram(values: np.ndarray, bins: tuple[float, float, float]) -> np.ndarray:
    """The fraction of all values in each bin (of width step, centred on bin_centres(*bins)), exact zeros left
    out (the ReLU's inactive units and their gradients: half of them, which would dwarf the rest; other
    activations have none)."""
    first, last, step = bins
    return np.histogram(values[values != 0], len(bin_centres(*bins)), (first - step / 2, last + step / 2))[0] \
        / values.size


@dataclass(frozen=True)
class LayerStats:
    layer: int
    activation_variance: float
    gradient_variance: float
    jacobian_singular_value: float | None      # None: not computed
    activation_histogram: np.ndarray = field(repr=False)
    gradient_histogram: np.ndarray = field(repr=False)
    pre_activation_variance: float = float("nan")   # Var[s^l]: what He's derivation tracks


@dataclass(frozen=True)
class Run:
    init: str
    activation: str
    width: int
    depth: int
    factor: float                              # n Var[W] = sigma_w^2: the linear-regime gain per layer
    layers: list[LayerStats]
    predicted: meanfield.Prediction            # mean field and linear regime, for inputs N(0, 1)


def simulate(init: str, depth: int = 5, width: int = 1000, activation: str = "tanh", batch: int = 300,
             seed: int = 0, progress=None, jacobian: bool = True) -> Run:
    """One seeded run, ``batch`` examples; ``jacobian=False`` leaves out the singular values (an eigenvalue
    problem of width x width per layer: most of a run's time)."""
    f, df, _ = ACTIVATIONS[activation]
    rng = np.random.default_rng([seed, depth, width])
    bound = BOUNDS[init](width, width)
    weights = [rng.uniform(-bound, bound, (width, width)) for _ in range(depth)]
    z = rng.normal(0.0, 1.0, (batch, width))
    pre = []
    activations = []
    for W in weights:                                  # forward
        s = z @ W
        z = f(s)
        pre.append(s)
        activations.append(z)
    g = rng.normal(0.0, 1.0, (batch, width))           # dL/ds at the top, unit variance
    gradients = [None] * depth
    for layer in range(depth - 1, -1, -1):             # backward: dL/ds^i = f'(s^i) * (dL/ds^{i+1} W^{i+1 T})
        gradients[layer] = g
        if layer:
            g = df(pre[layer - 1]) * (g @ weights[layer].T)
    stats = []
    for layer in range(depth):
        if progress:
            progress(f"{init}: layer {layer + 1}/{depth}")
        singular = None
        if jacobian:
            J = df(pre[layer][0])[:, None] * weights[layer].T                # one example's dz/dz_prev
            # singular values of J: the square roots of the eigenvalues of J J^T (symmetric: cheaper than an SVD)
            singular = float(np.sqrt(np.clip(np.linalg.eigvalsh(J @ J.T), 0, None)).mean())
        z, grads = activations[layer], gradients[layer]
        stats.append(LayerStats(layer + 1, float(z.var()), float(grads.var()), singular,
                                histogram(z, ACTIVATION_BINS[activation]), histogram(grads, GRADIENT_BINS),
                                float(pre[layer].var())))
    factor = width * bound**2 / 3
    return Run(init, activation, width, depth, factor, stats, meanfield.predict(activation, factor, depth))
