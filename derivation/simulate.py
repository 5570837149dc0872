"""The paper's picture, simulated: a deep tanh network at initialisation (Glorot & Bengio 2010, Figures 6-7).

A network of ``depth`` hidden layers of ``width`` units (inputs normalised: N(0, 1) here), biases 0, with
  standard init     W ~ U(-1/sqrt(n_in), 1/sqrt(n_in))                 n Var[W] = 1/3
  normalised init   W ~ U(-sqrt(6/(n_in + n_out)), +sqrt(6/(n_in + n_out)))   n Var[W] = 1 when n_in = n_out
For each layer: the variance (and histogram) of the activations forward, and of the back-propagated
gradients dL/ds backward (starting from unit-variance gradients at the top); the linear-regime prediction
(a factor n Var[W] per layer); and the mean singular value of the layer Jacobian dz^{i+1}/dz^i =
diag(f'(s^i)) W^T. Seeded and vectorised; data only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .layer import ACTIVATIONS

INITS = {
    "standard": lambda n_in, n_out: 1 / math.sqrt(n_in),
    "normalised": lambda n_in, n_out: math.sqrt(6 / (n_in + n_out)),
}
BINS = np.linspace(-1.0, 1.0, 81)


@dataclass(frozen=True)
class LayerStats:
    layer: int
    activation_variance: float
    gradient_variance: float
    jacobian_singular_value: float
    activation_histogram: np.ndarray = field(repr=False)
    gradient_histogram: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Run:
    init: str
    activation: str
    width: int
    depth: int
    factor: float                 # n Var[W]: the linear-regime gain per layer
    layers: list[LayerStats]


def simulate(init: str, depth: int = 5, width: int = 1000, activation: str = "tanh", batch: int = 300,
             seed: int = 0, progress=None) -> Run:
    f, df, _ = ACTIVATIONS[activation]
    rng = np.random.default_rng([seed, depth, width])
    bound = INITS[init](width, width)
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
        jacobian = df(pre[layer][0])[:, None] * weights[layer].T            # one example's dz/dz_prev
        # singular values of J are the square roots of the eigenvalues of J J^T (symmetric: cheaper than an SVD)
        singular = float(np.sqrt(np.clip(np.linalg.eigvalsh(jacobian @ jacobian.T), 0, None)).mean())
        grads = gradients[layer]
        stats.append(LayerStats(layer + 1, float(activations[layer].var()), float(grads.var()), singular,
                                np.histogram(activations[layer], BINS)[0] / activations[layer].size,
                                np.histogram(grads, BINS * 2)[0] / grads.size))   # raw: the top has unit variance
    return Run(init, activation, width, depth, width * bound**2 / 3, stats)
