"""The library of derivations beside Glorot, He and LeCun: each verifies, each of its claims mutated is refused
at its own step, and it renders, explains and quizzes. (That the sampled semantics compares and agrees with every
step of every built-in is tests/test_sample.py's test_builtin_every_step_compared_and_agrees.)"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from derivation.loader import builtin_names, load
from derivation.mutants import mutants, numerically_equal
from derivation.verify import verify

from conftest import ARITIES, failed_ids

LIBRARY = ("attention", "dropout", "he_fanout", "he_conv", "glorot_conv", "residual")


def run(*args, stdin: str = ""):
    return subprocess.run([sys.executable, "-m", "derivation", *args], input=stdin, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module", params=LIBRARY)
def derivation(request):
    return load(request.param, ARITIES)


def test_list_shows_the_library():
    done = run("list")
    assert done.returncode == 0
    for name in LIBRARY:
        assert name in builtin_names() and name in done.stdout


def test_each_verifies_and_cites_its_source(derivation):
    result = verify(derivation)
    assert result.ok, [(r.step.id, r.verdict, r.message) for r in result.steps if not r.ok]
    assert derivation.source and result.results


def test_attention_results():
    result = verify(load("attention", ARITIES))
    d = sp.Symbol("d", positive=True, integer=True)
    finals = {r.step.id: r.step.claim for r in result.results}
    assert finals == {"Q5": d, "S2": sp.Integer(1)}
    # the unit variance is a premise of the results, cited through the chain
    assert "A2" in next(r for r in result.steps if r.step.id == "S2").premises


def test_dropout_results():
    result = verify(load("dropout", ARITIES))
    p = sp.Symbol("p", positive=True)
    u = sp.Symbol("u", real=True)
    finals = {r.step.id: r.step.claim for r in result.results}
    from derivation.kernel.terms import E, Var
    assert sp.simplify(finals["M3"] - E(u)) == 0
    assert sp.simplify(finals["V5"] - Var(u) / (1 - p)) == 0


def _some(found, per_operator: int = 2):
    """At most ``per_operator`` mutants of each kind (constant, size, term dropped, exponent, sign, square, moment),
    in a fixed order: every operator is exercised on every claim, in bounded time."""
    counts: dict = {}
    for mutant in found:
        counts[mutant.operator] = counts.get(mutant.operator, 0) + 1
        if counts[mutant.operator] <= per_operator:
            yield mutant


def _mutants_outcome(derivation) -> tuple[int, list[str]]:
    """Each claim mutated (a bounded sample): (mutants refused at their own step and only there, the others)."""
    killed, survivors = 0, []
    for position, step in enumerate(derivation.steps):
        for mutant in _some(mutants(step.claim)):
            if numerically_equal(mutant.expr, step.claim):
                continue
            steps = list(derivation.steps)
            steps[position] = dataclasses.replace(step, claim=mutant.expr)
            # the mutated step and the one after it: the mutant fails there, and the failure does not cascade
            kept = steps[:position + 2]
            result = verify(dataclasses.replace(derivation, steps=kept), refute=False)   # unproven fails too
            if failed_ids(result) == [step.id]:
                killed += 1
            else:
                survivors.append(f"{step.id} {mutant.operator}: {sp.sstr(mutant.expr)} -> failed {failed_ids(result)}")
    return killed, survivors


def test_every_mutant_of_every_claim_is_refused_at_its_step(derivation):
    killed, survivors = _mutants_outcome(derivation)
    assert not survivors, "\n".join(survivors)
    assert killed >= 10


def test_explain_and_quiz(derivation):
    done = run("explain", derivation.name)
    assert done.returncode == 0 and derivation.steps[-1].id in done.stdout
    quiz = run("quiz", derivation.name, "--seed", "3", "--questions", "6", stdin="\n" * 6)
    assert quiz.returncode == 0, quiz.stderr
    # number questions come from the derivation's own results in the fans n[i], n[i+1], never Glorot's for another
    assert "what is the Glorot" not in quiz.stdout and "score" in quiz.stdout


def test_renders_markdown_and_html(derivation, tmp_path):
    done = run("render", derivation.name, "--format", "md", "html", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    for suffix in ("md", "html"):
        text = (tmp_path / f"{derivation.name}.{suffix}").read_text(encoding="utf-8")
        assert derivation.title.split(":")[0].split(",")[0] in text and derivation.steps[-1].id in text


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs TeX Live")
def test_renders_pdf(derivation, tmp_path):
    done = run("render", derivation.name, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"{derivation.name}.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("path", sorted((Path(__file__).parent.parent / "examples").glob("*.toml")), ids=lambda p: p.stem)
def test_examples_verify_and_their_mutants_are_refused(path):
    example = load(str(path), ARITIES)
    assert verify(example).ok
    killed, survivors = _mutants_outcome(example)
    assert not survivors, "\n".join(survivors)
    assert killed >= 3
