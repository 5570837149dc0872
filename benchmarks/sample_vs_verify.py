"""Time `verify --sample` (the sampled cross-examination, default draws) against plain `verify`, same run.

The commands alternate, several runs each, and the medians are compared: the ratio is what counts on a
shared, noisy machine. Plain `verify` stays symbolic; `--sample` adds NumPy and one Monte Carlo model per
step. Target: a few seconds for glorot on 2 cores.

    python benchmarks/sample_vs_verify.py [--runs 5] [--derivation glorot]
"""

from __future__ import annotations

import argparse
import sys

from timing import alternate, report, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--derivation", default="glorot")
    args = parser.parse_args()
    commands = {
        "verify --sample": [sys.executable, "-m", "derivation", "verify", args.derivation, "--sample"],
        "verify": [sys.executable, "-m", "derivation", "verify", args.derivation],
    }
    for command in commands.values():      # warm the file cache once
        timed(command)
    print(report(alternate(commands, args.runs), "verify --sample", "verify"))


if __name__ == "__main__":
    main()
