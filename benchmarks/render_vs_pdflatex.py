"""Time `python -m derivation render` (verify + templates + pdflatex) against a bare `pdflatex` run on the
same generated .tex, alternating, several runs each; prints the medians and their ratio.

    python benchmarks/render_vs_pdflatex.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(command: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    if shutil.which("pdflatex") is None:
        sys.exit("pdflatex is not installed")
    with tempfile.TemporaryDirectory() as work:
        render = [sys.executable, "-m", "derivation", "render", "--out", work]
        timed(render, work)                                    # warm up, and produce the .tex
        bare = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                "-output-directory", str(Path(work) / "bare"), str(Path(work) / "glorot.tex")]
        (Path(work) / "bare").mkdir()
        samples: dict[str, list[float]] = {"render": [], "pdflatex": []}
        for _ in range(runs):
            samples["render"].append(timed(render, work))
            samples["pdflatex"].append(timed(bare, work))
    medians = {name: statistics.median(times) for name, times in samples.items()}
    for name, times in samples.items():
        print(f"{name:<9} median {medians[name]:.3f} s   runs: {' '.join(f'{t:.2f}' for t in times)}")
    print(f"ratio render / pdflatex: {medians['render'] / medians['pdflatex']:.2f}")


if __name__ == "__main__":
    main()
