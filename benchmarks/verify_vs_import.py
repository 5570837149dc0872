"""Time `python -m derivation verify` against `python -c "import sympy"` in the same run.

The two commands alternate, several runs each, and the medians are compared: the ratio is what counts on
a shared, noisy machine (the import of SymPy is the floor any verify run pays). Target: at most 2.0.

    python benchmarks/verify_vs_import.py [--runs 7]
"""

from __future__ import annotations

import argparse
import sys

from timing import alternate, report, timed

COMMANDS = {
    "verify": [sys.executable, "-m", "derivation", "verify"],
    "import sympy": [sys.executable, "-c", "import sympy"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    for command in COMMANDS.values():      # warm the file cache once
        timed(command)
    print(report(alternate(COMMANDS, runs), "verify", "import sympy"))


if __name__ == "__main__":
    main()
