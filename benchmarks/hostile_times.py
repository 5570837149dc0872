"""Time and peak memory of the bounded hostile cases (issue 14, item 5): each runs `python -m derivation` as the
tests do (tests/test_hostile_inputs.py checks their exit codes and messages; this script times them).

    python benchmarks/hostile_times.py            # every case, then the worst time and the worst memory
    python benchmarks/hostile_times.py quiz       # the cases whose name contains "quiz"

Peak memory is the child's maximum resident set (os.wait4). The last cases are the largest legitimate runs, for
comparison with the budget (derivation/budget.py: 600 s, 6 GB by default).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_hostile_inputs import INPUT, answers_for, generated  # noqa: E402


def quiz_questions():
    from derivation import cli, quiz
    from derivation.kernel.rules import arities
    from derivation.loader import load
    from derivation.verify import verify
    return quiz.session(verify(load("glorot", arities())), 1, 8, quiz.layer_values(cli._layer_results()))


def cases(folder: Path) -> list[tuple[str, list[str], str | None, dict]]:
    """(name, arguments, standard input, extra environment)."""
    questions = quiz_questions()

    def answer(kind, text):
        return answers_for(questions, kind, text)
    quiz = ["quiz", "--seed", "1", "--questions", "8"]
    out = [
        ("quiz number tanh(exp(exp(exp(100))))", quiz, answer("number", "tanh(exp(exp(exp(100))))"), {}),
        ("quiz number Max(exp(exp(exp(100))), ...)", quiz,
         answer("number", "Max(exp(exp(exp(100))), exp(exp(exp(101))))"), {}),
        ("quiz number Uniform(1, 2)", quiz, answer("number", "Uniform(1, 2)"), {}),
        ("quiz expression (5 terms)**1000", quiz,
         answer("next step", "(Var[z[i, j]] + Var[W[i, j, k]] + E[z[i, j]] + n[i] + 1)**1000"), {}),
        ("quiz expression (2 terms)**999", quiz, answer("next step", "(Var[z[i, j]] + n[i])**999"), {}),
        ("--slope tanh(exp(exp(exp(100))))", ["verify", "he", "--slope", "tanh(exp(exp(exp(100))))"], None, {}),
        ("--slope Max(exp(exp(exp(100))), ...)",
         ["verify", "he", "--slope", "Max(exp(exp(exp(100))), exp(exp(exp(101))))"], None, {}),
        ("--slope (1/3 + pi)**1000", ["verify", "he", "--slope", "(1/3 + pi)**1000"], None, {}),
        ("explain --step on a product of 40", ["explain", str(INPUT / "explain_large_product.toml"), "--step", "P1"],
         None, {}),
    ]
    for case in ("dotted_200000", "nested_arrays_deep", "long_line"):
        out.append((f"TOML {case}", ["verify", str(generated(folder, case))], None, {}))
    for case in ("nested_1000", "integer_4300", "number_tower", "expansion_power", "min_overflow",
                 "sum_equation_limit", "index_empty"):
        out.append((f"file {case}", ["verify", str(INPUT / f"{case}.toml")], None, {}))
    out += [
        ("budget: time limit 2 s", ["verify", "--sample", "--samples", "1000000"], None,
         {"DERIVATION_TIME_LIMIT": "2"}),
        ("budget: memory limit 600 MB", ["verify", "--sample", "--samples", "1000000"], None,
         {"DERIVATION_MEMORY_LIMIT": "600"}),
        ("legitimate: verify glorot --sample --samples 1000000", ["verify", "--sample", "--samples", "1000000"],
         None, {}),
        ("legitimate: witness --samples 1000000", ["witness", "--samples", "1000000"], None, {}),
    ]
    return out


def measure(args: list[str], stdin: str | None, extra: dict) -> tuple[int, float, float, str]:
    """(exit code, seconds, peak resident MB, the last line of stderr)."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as given:
        given.write((stdin or "").encode())
        given.seek(0)
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "derivation", *args], stdin=given,
                                   stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    return process.returncode, seconds, usage.ru_maxrss / 1024, lines[-1] if lines else ""


def main(selection: list[str]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        chosen = [c for c in cases(Path(folder)) if not selection or any(s in c[0] for s in selection)]
        print(f"{'case':<54} {'exit':>4} {'seconds':>8} {'peak MB':>8}  stderr")
        worst_time = worst_memory = (0.0, "")
        for name, args, stdin, extra in chosen:
            code, seconds, megabytes, line = measure(args, stdin, extra)
            print(f"{name:<54} {code:>4} {seconds:>8.2f} {megabytes:>8.0f}  {line[:90]}", flush=True)
            if not name.startswith("legitimate"):
                worst_time = max(worst_time, (seconds, name))
                worst_memory = max(worst_memory, (megabytes, name))
    print(f"\nworst time of a hostile case: {worst_time[0]:.1f} s ({worst_time[1]})")
    print(f"worst peak memory of a hostile case: {worst_memory[0]:.0f} MB ({worst_memory[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
