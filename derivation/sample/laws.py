"""The laws given to primitive random variables in a concrete model.

A primitive instance is ``X = mean + sd * (sqrt(1 - w^2) * B + w * L)`` where ``B`` is a standardised draw of
its own shape (mean 0, variance 1) and ``L`` a standardised combination of shared latent normals (the
dependence the premises do not exclude); so ``E[X] = mean`` and ``Var[X] = sd^2`` exactly, whatever ``w``.

What the premises say decides the shape and parameters:
* symmetric about 0: a symmetric shape (uniform, normal, Laplace) and mean 0 (symmetric latents keep it so);
* centred only: a skewed centred shape (exponential or gamma minus its mean), mean 0;
* neither: a skewed shape and a non-zero mean, so that identities that need a zero mean fail visibly;
* identically distributed within a layer: the parameters depend on (family, layer) only, otherwise on the
  whole instance (unequal variances and means).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

SYMMETRIC_SHAPES = ("uniform", "normal", "laplace")
SKEWED_SHAPES = ("exponential", "gamma2")


def stable_seed(*parts: object) -> int:
    """A seed from text, the same in every run (not Python's salted hash)."""
    return zlib.crc32(repr(parts).encode("utf-8"))


def standard(shape: str, rng: np.random.Generator, m: int) -> np.ndarray:
    """m draws of a shape standardised to mean 0 and variance 1.

    uniform: sqrt(3) U(-1, 1); normal: N(0, 1); laplace: Laplace(0, 1/sqrt 2) (variance 2 b^2 = 1);
    exponential: Exp(1) - 1 (mean 1, variance 1); gamma2: (Gamma(2, 1) - 2)/sqrt 2 (mean 2, variance 2)."""
    if shape == "uniform":
        return rng.uniform(-math.sqrt(3.0), math.sqrt(3.0), m)
    if shape == "normal":
        return rng.standard_normal(m)
    if shape == "laplace":
        return rng.laplace(0.0, 1.0 / math.sqrt(2.0), m)
    if shape == "exponential":
        return rng.exponential(1.0, m) - 1.0
    if shape == "gamma2":
        return (rng.gamma(2.0, 1.0, m) - 2.0) / math.sqrt(2.0)
    raise ValueError(shape)


@dataclass(frozen=True)
class Law:
    """The law of one primitive instance: ``mean + sd * standard(shape)`` (before the latent part)."""

    shape: str
    mean: float
    sd: float

    def text(self) -> str:
        return f"{self.shape}, mean {self.mean:.3g}, sd {self.sd:.3g}"


def choose(key: tuple, centred: bool, symmetric: bool, small: bool, seed: int) -> Law:
    """The law for a law key (family and layer when identically distributed, else the whole instance)."""
    rng = np.random.default_rng(stable_seed("law", seed, key))
    if symmetric:
        shape = SYMMETRIC_SHAPES[int(rng.integers(len(SYMMETRIC_SHAPES)))]
    else:
        shape = SKEWED_SHAPES[int(rng.integers(len(SKEWED_SHAPES)))]
    low, high = (0.1, 0.3) if small else (0.5, 1.5)
    sd = float(rng.uniform(low, high))
    mean = 0.0
    if not (centred or symmetric):
        sign = 1.0 if rng.random() < 0.5 else -1.0
        mean = sign * float(rng.uniform(0.1, 0.3) if small else rng.uniform(0.4, 1.2))
    return Law(shape, mean, sd)
