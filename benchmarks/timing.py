"""Shared by the benchmarks: run commands alternately, several times each, and report the medians."""

from __future__ import annotations

import statistics
import subprocess
import time


def timed(command: list[str], cwd: str | None = None) -> float:
    """Wall-clock seconds of one run of ``command`` (which must succeed)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def alternate(commands: dict[str, list[str]], runs: int, cwd: str | None = None) -> dict[str, list[float]]:
    """Each command once per round, ``runs`` rounds, so that load on the machine hits both alike."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(timed(command, cwd))
    return samples


def report(samples: dict[str, list[float]], numerator: str, denominator: str) -> str:
    """The medians, every run, and the ratio of the two medians."""
    medians = {name: statistics.median(times) for name, times in samples.items()}
    width = max(len(name) for name in samples)
    lines = [f"{name:<{width}}  median {medians[name]:.3f} s   runs: {' '.join(f'{t:.2f}' for t in times)}"
             for name, times in samples.items()]
    lines.append(f"ratio {numerator} / {denominator}: {medians[numerator] / medians[denominator]:.2f}")
    return "\n".join(lines)
