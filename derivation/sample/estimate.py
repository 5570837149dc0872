"""Monte Carlo estimates with standard errors, by batch means.

A sample of M draws is split into B batches of M/B. Every quantity is computed once on the whole sample and
once on each batch, so an estimate is a vector ``parts`` of B + 1 numbers: ``parts[0]`` the estimate, and
``parts[1:]`` its batch replicates. Any smooth function of estimates (products of variances, quotients, a
difference of two sides computed from the same draws) is evaluated part by part, and its standard error is

    se = sd(batch replicates) / sqrt(B),

the batch-means estimate, which needs no delta-method formula and accounts for the correlation between the
two sides of a comparison (they are computed from the same draws). A deterministic quantity has equal parts
and standard error 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z = 5.0                     # agreement within Z standard errors: a false alarm has probability about 1e-5
BATCHES = 40
RELATIVE = 1e-9             # the stated bound for deterministic parts: |a - b| <= 1e-9 max(1, |a|, |b|)


def moment_parts(kind: str, draws: np.ndarray | float, batches: int) -> np.ndarray:
    """The parts of Var[X] or E[X] over the whole sample and each batch: the moments of the empirical law
    (variance with divisor M, not M - 1), so every identity that holds for all laws, such as
    Var[X] + E[X]^2 = E[X^2], holds exactly on every batch too, and only the premises' identities carry
    sampling error."""
    if np.ndim(draws) == 0:
        value = 0.0 if kind == "Var" else float(draws)
        return np.full(batches + 1, value)
    split = draws.reshape(batches, -1)
    if kind == "Var":
        return np.concatenate(([draws.var()], split.var(axis=1)))
    return np.concatenate(([draws.mean()], split.mean(axis=1)))


def standard_error(parts: np.ndarray) -> float:
    """sd of the batch replicates over sqrt(B); 0 for a deterministic quantity."""
    batch = parts[1:]
    if len(batch) < 2 or np.all(batch == batch[0]):
        return 0.0
    return float(batch.std(ddof=1) / math.sqrt(len(batch)))


@dataclass(frozen=True)
class Reading:
    """An estimate and its standard error (0 when it is computed exactly)."""

    value: float
    se: float

    @classmethod
    def of(cls, parts: np.ndarray) -> "Reading":
        return cls(float(parts[0]), standard_error(parts))

    def texts(self) -> tuple[str, str]:
        """The value to the digits its standard error supports, and the error to one digit ("" when exact)."""
        if self.se == 0:
            return f"{self.value:.6g}", ""
        digits = max(1, 1 - int(math.floor(math.log10(self.se)))) if self.se > 0 else 4
        return (f"{self.value:.{min(digits, 12)}f}",
                np.format_float_positional(self.se, precision=1, fractional=False, trim="-"))

    def text(self) -> str:
        value, se = self.texts()
        return f"{value} ± {se}" if se else value


@dataclass(frozen=True)
class Agreement:
    """Two sides compared: their difference (from the same draws), its standard error, and the verdict."""

    difference: float
    se: float
    holds: bool
    sigmas: float | None        # |difference| / se, None when deterministic


def agree(left: np.ndarray, right: np.ndarray) -> Agreement:
    """|right - left| <= Z se(right - left), or the deterministic bound when both are exact."""
    diff = right - left
    se = standard_error(diff)
    scale = max(1.0, abs(float(left[0])), abs(float(right[0])))
    d = float(diff[0])
    if not math.isfinite(d):
        return Agreement(d, se, False, None)
    holds = abs(d) <= Z * se + RELATIVE * scale
    if abs(d) <= RELATIVE * scale:          # equal up to rounding: the paired difference's se may be rounding too
        return Agreement(d, se, holds, 0.0)
    return Agreement(d, se, holds, abs(d) / se if se > 0 else None)
