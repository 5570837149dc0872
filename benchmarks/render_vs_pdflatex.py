"""Time `python -m derivation render` (verify + templates + pdflatex) against a bare `pdflatex` run on the
same generated .tex, alternating, several runs each; prints the medians and their ratio.

    python benchmarks/render_vs_pdflatex.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from timing import alternate, report, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    if shutil.which("pdflatex") is None:
        sys.exit("pdflatex is not installed")
    with tempfile.TemporaryDirectory() as work:
        render = [sys.executable, "-m", "derivation", "render", "--out", work]
        timed(render, work)                                    # warm up, and produce the .tex
        (Path(work) / "bare").mkdir()
        bare = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                "-output-directory", str(Path(work) / "bare"), str(Path(work) / "glorot.tex")]
        samples = alternate({"render": render, "pdflatex": bare}, runs, work)
    print(report(samples, "render", "pdflatex"))


if __name__ == "__main__":
    main()
