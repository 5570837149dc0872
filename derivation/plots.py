"""Figures of the simulation for print (matplotlib, optional): histograms per layer, as in the paper's Figures 6-7.

Per activation, two figures, ``simulate_{activation}_activations`` and ``simulate_{activation}_gradients``, each
one panel per init; as vector PDF (fonts embedded as TrueType, Computer Modern like the document's Latin Modern,
6.3 in wide: the document's text width, included at scale 1) and as PNG at 150 dpi for HTML and Markdown. No
title: the document gives the caption.
"""

from __future__ import annotations

import io
import logging
from fractions import Fraction
from pathlib import Path

from .simulate import ACTIVATION_BINS, GRADIENT_BINS, Run, bin_centres

WIDTH, HEIGHT = 6.3, 2.5             # inches
STYLE = {
    "font.family": "serif", "font.serif": ["cmr10"], "mathtext.fontset": "cm", "axes.formatter.use_mathtext": True,
    "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "legend.fontsize": 8, "pdf.fonttype": 42, "ps.fonttype": 42, "axes.unicode_minus": True, "savefig.dpi": 150,
    "lines.linewidth": 1.1,
}
INIT_NAMES = {"standard": "standard init", "normalised": "normalised init", "he": "He init"}


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def figure_names(activation: str) -> tuple[str, str]:
    """The stems (without suffix) of the activations' and the gradients' figure for this activation."""
    return f"simulate_{activation}_activations", f"simulate_{activation}_gradients"


def write_figures(runs: list[Run], out_dir: Path) -> list[Path]:
    """out_dir/{stem}.pdf and .png for both stems of figure_names(the runs' activation)."""
    import matplotlib

    from .render import write_atomically
    activation = runs[0].activation
    zeros = " (zeros left out)" if activation == "relu" else ""        # see simulate.histogram
    kinds = (("activations", f"activation $z = \\mathrm{{{activation}}}(s)${zeros}", ACTIVATION_BINS[activation]),
             ("gradients", f"back-propagated gradient $\\partial L / \\partial s${zeros}", GRADIENT_BINS))
    written = []
    fonts = logging.getLogger("fontTools")               # its subsetter warns of the fonts' old timestamps
    level = fonts.level
    fonts.setLevel(logging.ERROR)
    try:
        with matplotlib.rc_context(STYLE):
            for stem, (kind, xlabel, bins) in zip(figure_names(activation), kinds):
                figure = _figure(runs, kind, xlabel, bin_centres(*bins))
                for suffix in ("pdf", "png"):
                    image = io.BytesIO()
                    undated = {"CreationDate": None} if suffix == "pdf" else None    # the same bytes every run
                    figure.savefig(image, format=suffix, metadata=undated)
                    path = out_dir / f"{stem}.{suffix}"
                    write_atomically(path, image.getvalue())
                    written.append(path)
    finally:
        fonts.setLevel(level)
    return written


def _figure(runs: list[Run], kind: str, xlabel: str, centres):
    """One panel per init, the histogram of every layer; one legend below the panels. A Figure without pyplot:
    no backend chosen, no global state."""
    from matplotlib.figure import Figure
    figure = Figure(figsize=(WIDTH, HEIGHT), layout="constrained")
    axes = figure.subplots(1, len(runs), sharey=False, squeeze=False)
    figure.get_layout_engine().set(wspace=0.06)
    for axis, run in zip(axes[0], runs):
        for stats in run.layers:
            axis.plot(centres, stats.activation_histogram if kind == "activations" else stats.gradient_histogram,
                      label=f"layer {stats.layer}")
        factor = Fraction(run.factor).limit_denominator(100)
        axis.set_title(f"{INIT_NAMES[run.init]}, $n\\,\\mathrm{{Var}}[W] = {factor}$")
        axis.set_xlabel(xlabel)
        axis.set_xlim(centres[0], centres[-1])
        axis.set_ylim(bottom=0)
    axes[0][0].set_ylabel("fraction of units")
    figure.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=len(runs[0].layers),
                  frameon=False)
    return figure
