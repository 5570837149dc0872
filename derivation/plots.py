"""Figures of the simulation (matplotlib, optional): histograms per layer, as in the paper's Figures 6-7."""

from __future__ import annotations

import io
from pathlib import Path

from .simulate import BINS, Run


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_figures(runs: list[Run], out_dir: Path) -> list[Path]:
    """build/simulate_activations.{png,pdf} and build/simulate_gradients.{png,pdf}."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .render import write_atomically
    written = []
    for kind, title, xlabel, bins in (("activations", "Activation values", "activation value", BINS),
                                      ("gradients", "Back-propagated gradients dL/ds (unit variance at the top layer)",
                                       "gradient", BINS * 2)):
        figure, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 3.8), sharey=True, squeeze=False)
        for axis, run in zip(axes[0], runs):
            centres = (bins[1:] + bins[:-1]) / 2
            for stats in run.layers:
                histogram = stats.activation_histogram if kind == "activations" else stats.gradient_histogram
                variance = stats.activation_variance if kind == "activations" else stats.gradient_variance
                axis.plot(centres, histogram, label=f"layer {stats.layer}: Var = {variance:.3g}")
            axis.set_title(f"{run.init} init (n Var[W] = {run.factor:.3g}), {run.activation}")
            axis.set_xlabel(xlabel)
            axis.legend(fontsize=8)
        axes[0][0].set_ylabel("fraction of units")
        figure.suptitle(title)
        figure.tight_layout()
        for suffix in ("png", "pdf"):
            path = out_dir / f"simulate_{kind}.{suffix}"
            image = io.BytesIO()
            figure.savefig(image, format=suffix, dpi=120)
            write_atomically(path, image.getvalue())
            written.append(path)
        plt.close(figure)
    return written
