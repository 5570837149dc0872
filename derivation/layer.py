"""One layer at initialisation, simulated: how far the variance gains drift from 1 outside the linear regime.

For pre-activations s ~ N(0, v) (the variance Glorot weights carry forward when n_in = n_out) and weights
W ~ U(-a, a) with a = sqrt(6/(n_in + n_out)):
  forward gain   Var[f(z W)] / Var[z]                    with z ~ N(0, v)
  backward gain  Var[f'(s) * (g W^T)] / Var[g]           with g ~ N(0, 1)
The derivation predicts f'(0)^2 n Var[W] = f'(0)^2 for both (1 for tanh) in the linear regime v -> 0.
Seeded and vectorised; data only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ACTIVATIONS = {
    "tanh": (np.tanh, lambda s: 1 - np.tanh(s) ** 2, 1.0),
    "sigmoid": (lambda s: 1 / (1 + np.exp(-s)), lambda s: np.exp(-s) / (1 + np.exp(-s)) ** 2, 0.25),
    "relu": (lambda s: np.maximum(s, 0), lambda s: (s > 0).astype(float), None),
}
INPUT_VARIANCES = (0.01, 0.03, 0.1, 0.3, 1.0)


@dataclass(frozen=True)
class LayerGain:
    activation: str
    input_variance: float
    forward: float
    backward: float
    predicted: float | None          # f'(0)^2: the linear-regime gain (None: no derivative at 0)


def simulate(activation: str, variances=INPUT_VARIANCES, width: int = 512, batch: int = 1000,
             seed: int = 0) -> list[LayerGain]:
    f, df, slope = ACTIVATIONS[activation]
    rng = np.random.default_rng([seed, width])
    bound = math.sqrt(6 / (width + width))
    out = []
    for v in variances:
        W = rng.uniform(-bound, bound, (width, width))
        z = rng.normal(0.0, math.sqrt(v), (batch, width))
        forward = f(z @ W).var() / z.var()
        s = rng.normal(0.0, math.sqrt(v), (batch, width))
        g = rng.normal(0.0, 1.0, (batch, width))
        backward = (df(s) * (g @ W.T)).var() / g.var()
        out.append(LayerGain(activation, v, float(forward), float(backward), None if slope is None else slope**2))
    return out
