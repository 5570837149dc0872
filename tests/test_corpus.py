"""The adversarial corpus: false derivations the verifier must refuse, true ones it must accept.

``tests/false/*.toml`` each state something false. Their header says why (``# FALSE:``), which class of
trick they use (``# CLASS:``, 1 to 11, 12 for the others, 13 for those found by the sampled semantics) and,
for files the loader must refuse (bad definitions, expressions that are not real), the exit code
(``# EXPECT: exit 2``; default exit 1). ``tests/false/oracles.py`` computes, for every one of them and
without the verifier's code, why it is false. ``tests/true/*.toml`` are near-identical true variants
(``# TRUE:``, ``# VARIANT OF:``); ``tests/true/oracles.py`` confirms the claimed values it can compute.

Files whose verdict once depended on hash order (the ``second moment`` rule iterating over a set) say
``# HASH SEEDS: ...``: the verifier is run under each ``PYTHONHASHSEED`` and must give the same exit code.

``python -m pytest tests/test_corpus.py -k oracle`` runs only the oracles (a few seconds).
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent
FALSE_DIR, TRUE_DIR = HERE / "false", HERE / "true"
FALSE_FILES = sorted(FALSE_DIR.glob("*.toml"))
TRUE_FILES = sorted(TRUE_DIR.glob("*.toml"))
CLASSES = range(1, 12)
MIN_FALSE, MIN_PER_CLASS, MIN_TRUE = 40, 3, 20


def _module(path: Path, name: str):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module            # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


FALSE_ORACLES = _module(FALSE_DIR / "oracles.py", "corpus_false_oracles").ORACLES
TRUE_ORACLES = _module(TRUE_DIR / "oracles.py", "corpus_true_oracles").ORACLES


def header(path: Path) -> dict[str, str]:
    """The ``# KEY: value`` lines at the top of a file."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        match = re.match(r"#\s*([A-Z][A-Z ]*[A-Z])\s*:\s*(.*)$", line)
        if match:
            out[match.group(1)] = match.group(2).strip()
    return out


def expected_exit(path: Path) -> int:
    return int(re.search(r"\d+", header(path).get("EXPECT", "exit 1")).group())


def hash_seeds(path: Path) -> list[str]:
    return header(path).get("HASH SEEDS", "0").split()


def step_ids(path: Path) -> set[str]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {step["id"] for section in data.get("sections", []) for step in section.get("steps", [])}


def run_verify(path: Path, seed: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": seed, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "derivation", "verify", str(path)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)


def failing_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "✗" in line]


def _ids(paths):
    return [p.stem for p in paths]


def _check_numbers(result) -> None:
    """A Finding carries two finite computed numbers and a finite tolerance."""
    if hasattr(result, "claimed"):
        for value in (result.claimed, result.actual, result.tolerance):
            assert math.isfinite(abs(complex(value))), result


# ------------------------------------------------------------------------------------------ the corpus


def test_corpus_size_and_classes():
    assert len(FALSE_FILES) >= MIN_FALSE
    classes = Counter(int(header(p)["CLASS"]) for p in FALSE_FILES)
    thin = {c: classes[c] for c in CLASSES if classes[c] < MIN_PER_CLASS}
    assert not thin, f"classes with fewer than {MIN_PER_CLASS} false files: {thin}"
    assert len(TRUE_FILES) >= MIN_TRUE


@pytest.mark.parametrize("path", FALSE_FILES, ids=_ids(FALSE_FILES))
def test_false_file_header(path):
    h = header(path)
    assert h.get("FALSE"), "missing '# FALSE: <why>'"
    assert int(h["CLASS"]) in range(1, 14)
    # the loader refuses bad definitions (class 8) and expressions that are not real (class 7) with their
    # column (exit 2); a class-12 file may be refused either way; every other false file fails at a step (exit 1)
    if int(h["CLASS"]) == 12:
        assert expected_exit(path) in (1, 2)
    else:
        assert expected_exit(path) == (2 if int(h["CLASS"]) in (7, 8) else 1)


@pytest.mark.parametrize("path", TRUE_FILES, ids=_ids(TRUE_FILES))
def test_true_file_header(path):
    h = header(path)
    assert h.get("TRUE"), "missing '# TRUE: <why>'"
    assert (FALSE_DIR / f"{h['VARIANT OF']}.toml").is_file(), "VARIANT OF names no false file"


# ------------------------------------------------------------------------------------------ oracles


def test_every_false_file_has_an_oracle():
    assert set(FALSE_ORACLES) == {p.stem for p in FALSE_FILES}


def test_true_oracles_name_true_files():
    assert set(TRUE_ORACLES) <= {p.stem for p in TRUE_FILES}


@pytest.mark.parametrize("stem", sorted(FALSE_ORACLES))
def test_false_oracle_refutes(stem):
    result = FALSE_ORACLES[stem]()
    _check_numbers(result)
    assert result.refutes, f"{stem}: the oracle does not refute the file: {result}"


@pytest.mark.parametrize("stem", sorted(TRUE_ORACLES))
def test_true_oracle_confirms(stem):
    result = TRUE_ORACLES[stem]()
    _check_numbers(result)
    assert result.confirms, f"{stem}: the oracle does not confirm the file: {result}"


# ------------------------------------------------------------------------------------------ the verifier


@pytest.mark.parametrize("path", FALSE_FILES, ids=_ids(FALSE_FILES))
def test_verifier_refuses_false_file(path):
    expected = expected_exit(path)
    for seed in hash_seeds(path):
        done = run_verify(path, seed)
        output = done.stdout + done.stderr
        assert done.returncode == expected, (f"{path.name} (PYTHONHASHSEED={seed}): exit {done.returncode}, "
                                             f"expected {expected}; {header(path)['FALSE']}\n{output}")
        if expected == 1:
            ids = step_ids(path)
            named = [line for line in failing_lines(done.stdout)
                     if any(re.search(rf"(?<![\w\[]){re.escape(i)}(?!\w)", line) for i in ids)]
            assert named, f"{path.name}: no failing line names a step ({sorted(ids)})\n{output}"
        else:
            assert path.name in done.stderr, f"{path.name}: the error does not name the file\n{output}"


@pytest.mark.parametrize("path", TRUE_FILES, ids=_ids(TRUE_FILES))
def test_verifier_accepts_true_file(path):
    for seed in hash_seeds(path):
        done = run_verify(path, seed)
        assert done.returncode == 0, (f"{path.name} (PYTHONHASHSEED={seed}): exit {done.returncode}; "
                                      f"{header(path)['TRUE']}\n{done.stdout}{done.stderr}")
