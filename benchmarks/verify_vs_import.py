"""Time `python -m derivation verify` against `python -c "import sympy"` in the same run.

The two commands alternate, several runs each, and the median of each is compared: the ratio is what
counts on a shared, noisy machine (the import of SymPy is the floor any verify run pays).

    python benchmarks/verify_vs_import.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "verify": [sys.executable, "-m", "derivation", "verify"],
    "import sympy": [sys.executable, "-c", "import sympy"],
}


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    for command in COMMANDS.values():      # warm the file cache once
        timed(command)
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, command in COMMANDS.items():
            samples[name].append(timed(command))
    medians = {name: statistics.median(times) for name, times in samples.items()}
    for name, times in samples.items():
        print(f"{name:<13} median {medians[name]:.3f} s   runs: {' '.join(f'{t:.2f}' for t in times)}")
    print(f"ratio verify / import sympy: {medians['verify'] / medians['import sympy']:.2f} (target <= 2.0)")


if __name__ == "__main__":
    main()
