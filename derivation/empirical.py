"""Against the real thing: tensors drawn by torch.nn.init (when PyTorch is installed) compared with the
derived variances and bounds. A sample variance must lie within Z standard errors of the derived variance
(the standard error from the same samples); a uniform's largest |w| must lie in [b (1 - 20/N), b], which
fails by chance with probability below e^-20. Data only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z = 5.0
SHAPE = (512, 256)            # a PyTorch Linear weight: (fan_out, fan_in)


@dataclass(frozen=True)
class Draw:
    initialiser: str
    samples: int
    variance: float
    expected_variance: float
    tolerance: float
    largest: float
    bound: float | None           # for uniform initialisers

    @property
    def ok(self) -> bool:
        in_range = self.bound is None or self.bound * (1 - 20 / self.samples) <= self.largest <= self.bound * (1 + 1e-6)
        return abs(self.variance - self.expected_variance) <= self.tolerance and in_range


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def draws(derived: dict[str, float], seed: int = 0) -> list[Draw]:
    """``derived``: initialiser -> the derived std (normal) or bound (uniform) for SHAPE."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    fan_out, fan_in = SHAPE
    def empty():
        return torch.empty(SHAPE, dtype=torch.float64)

    makers = {
        "xavier_uniform_": (lambda: nn.init.xavier_uniform_(empty()), "uniform"),
        "xavier_normal_": (lambda: nn.init.xavier_normal_(empty()), "normal"),
        "kaiming_uniform_ (relu)": (lambda: nn.init.kaiming_uniform_(empty(), nonlinearity="relu"), "uniform"),
        "kaiming_normal_ (relu)": (lambda: nn.init.kaiming_normal_(empty(), nonlinearity="relu"), "normal"),
        "nn.Linear default": (lambda: nn.Linear(fan_in, fan_out, dtype=torch.float64).weight, "uniform"),
    }
    out = []
    for name, value in derived.items():
        make, law = makers[name]
        weights = make().detach().reshape(-1)
        centred = (weights - weights.mean()) ** 2
        expected = value**2 / 3 if law == "uniform" else value**2
        out.append(Draw(name, weights.numel(), float(centred.mean()), expected,
                        Z * float(centred.std()) / math.sqrt(weights.numel()), float(weights.abs().max()),
                        value if law == "uniform" else None))
    return out
