"""`quiz --export FILE.gift`: the bank written as Moodle's GIFT, read back with a small GIFT parser written here
(questions split on blank lines; title, stem, answer block; escapes undone as Moodle's importer undoes them) and
checked against the quiz's own judges: the number questions' values and tolerances, the multiple-choice questions'
right choices, the escaping, the header, and the refusal of a bad path."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from derivation import __version__, quiz
from derivation.cli import _builtin, _layer_results
from derivation.verify import verify

from conftest import GLOROT_TEXT

SEED = 3
SPECIAL = "~=#{}:"


def run(*args, cwd=None):
    done = subprocess.run([sys.executable, "-m", "derivation", *args], capture_output=True, timeout=300,
                          env=dict(os.environ), cwd=cwd)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


# ---------------------------------------------------------------- a small GIFT reader

@dataclass
class Answer:
    mark: str               # "=" or "~"
    weight: float | None    # percent, when given (%50%)
    text: str
    feedback: str


@dataclass
class Gift:
    title: str
    stem: str
    numerical: bool
    answers: list[Answer] = field(default_factory=list)
    general: str = ""


def _chars(text: str) -> list[tuple[str, bool]]:
    """``text`` as (character, escaped) pairs: ``\\{`` is a literal brace, ``\\n`` a line break, ``\\\\`` a
    backslash; an unescaped special character is markup."""
    out, k = [], 0
    while k < len(text):
        c = text[k]
        if c == "\\" and k + 1 < len(text) and text[k + 1] in SPECIAL + "\\n":
            nxt = text[k + 1]
            out.append(("\n" if nxt == "n" else nxt, True))
            k += 2
            continue
        assert c != "\\", f"a lone backslash at {k}: {text[k:k + 20]!r}"
        out.append((c, False))
        k += 1
    return out


def _text(chars) -> str:
    return "".join(c for c, _ in chars)


def _split(chars, markers: str):
    """Split on unescaped characters of ``markers``: [(marker before, part)]."""
    parts, current, marker = [], [], ""
    for c, escaped in chars:
        if not escaped and c in markers:
            parts.append((marker, current))
            current, marker = [], c
        else:
            current.append((c, escaped))
    parts.append((marker, current))
    return parts


def _find(chars, target: str, start: int = 0) -> int:
    for k in range(start, len(chars)):
        if chars[k] == (target, False):
            return k
    return -1


def parse_gift(text: str) -> tuple[list[str], list[Gift]]:
    """The comment lines at the top and the questions of a GIFT file."""
    blocks = text.split("\n\n")
    comments: list[str] = []
    questions = []
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if all(line.startswith("//") for line in lines):
            comments += lines
            continue
        chars = _chars("\n".join(line.strip() for line in lines if not line.startswith("//")))
        assert chars[:2] == [(":", False), (":", False)], "no title"
        end = next(k for k in range(2, len(chars)) if chars[k] == (":", False) and chars[k + 1] == (":", False))
        title, rest = _text(chars[2:end]), chars[end + 2:]
        opening, closing = _find(rest, "{"), _find(rest, "}")
        assert 0 < opening < closing == len(rest) - 1, f"the answer block of {title!r} is not one {{...}} at the end"
        stem = _text(rest[:opening])
        assert stem.startswith("[plain]")
        block_chars = rest[opening + 1:closing]
        numerical = block_chars[:1] == [("#", False)]
        if numerical:
            block_chars = block_chars[1:]
        body = _text(block_chars)
        general = ""
        gf = [k for k in range(len(block_chars) - 3) if block_chars[k:k + 4] == [("#", False)] * 4]
        if gf:
            general = _text(block_chars[gf[-1] + 4:]).strip()
            block_chars = block_chars[:gf[-1]]
        q = Gift(title, stem[len("[plain]"):].strip(), numerical, general=general)
        for marker, part in _split(block_chars, "=~"):
            if not marker:
                assert not _text(part).strip(), f"text before the first answer of {title!r}: {body!r}"
                continue
            weight = None
            raw = _text(part)
            found = re.match(r"%(-?[0-9.]+)%", raw) if not part or not part[0][1] else None
            if found:
                weight = float(found.group(1))
                part = part[found.end():]
            pieces = _split(part, "#")
            assert len(pieces) <= 2, f"an unescaped # in an answer of {title!r}"
            q.answers.append(Answer(marker, weight, _text(pieces[0][1]).strip(),
                                    _text(pieces[1][1]).strip() if len(pieces) > 1 else ""))
        questions.append(q)
    return comments, questions


# ---------------------------------------------------------------- glorot

@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "glorot.gift"
    code, out, err = run("quiz", "glorot", "--export", str(path), "--seed", str(SEED))
    assert code == 0, err
    assert f"to {path}" in out
    text = path.read_text(encoding="utf-8")
    return text, *parse_gift(text)


@pytest.fixture(scope="module")
def bank():
    v = verify(_builtin("glorot"))
    return quiz.bank(v, _layer_results(v.derivation))


def test_the_header_says_where_it_came_from(exported):
    text, comments, questions = exported
    assert text.startswith("// ")
    header = "\n".join(comments)
    assert "(glorot)" in header and f"derivation {__version__}" in header and f"seed {SEED}" in header
    assert "left out" in header and "expression question" in header
    assert "\n\n\n" not in text and text.endswith("}\n")          # one blank line between questions
    assert len(text.split("\n\n")) == len(questions) + 1


def test_number_questions_keep_the_quizs_value_and_tolerance(exported, bank):
    _, _, questions = exported
    numbers = [q for q in questions if q.numerical]
    labels = {re.match(r"\[(\d+)->(\d+)\] number, (.+)", q.title).group(3) for q in numbers}
    assert labels == set(bank.layers) and len(numbers) >= 2 * len(labels)
    for g in numbers:
        fan_in, fan_out, label = re.match(r"\[(\d+)->(\d+)\] number, (.+)", g.title).groups()
        q = bank.number_question(label, int(fan_in), int(fan_out))
        assert f"fan-in {fan_in} (n[i]) and fan-out {fan_out} (n[i+1])" in g.stem
        right = [a for a in g.answers if a.weight is None]
        assert len(right) == 1 and right[0].mark == "="
        value, tolerance = map(float, right[0].text.split(":"))
        assert abs(value / float(q.solution) - 1) < 1e-8              # the quiz's expected value
        assert tolerance == pytest.approx(quiz.RELATIVE_TOLERANCE * value, rel=1e-6)
        for inside in (value - 0.99 * tolerance, value + 0.99 * tolerance):   # the quiz agrees on both edges
            assert q.judge(repr(inside)).correct
        for outside in (value - 1.01 * tolerance, value + 1.01 * tolerance):
            assert not q.judge(repr(outside)).correct
        assert right[0].feedback == "right: " + q.explanation and g.general == q.explanation
        mistakes = [a for a in g.answers if a.weight is not None]
        assert mistakes and all(a.weight == 0 and a.mark == "=" for a in mistakes)
        for a in mistakes:                           # each slip: the quiz's own diagnosis, the same range
            slip, margin = map(float, a.text.split(":"))
            assert margin == pytest.approx(quiz.RELATIVE_TOLERANCE * slip, rel=1e-6)
            verdict = q.judge(repr(slip))
            assert not verdict.correct and verdict.feedback == a.feedback


def test_multiple_choice_marks_exactly_the_right_choices(exported, bank):
    _, _, questions = exported
    d = bank.d
    concepts = [g for g in questions if g.title.endswith("] concept")]
    assert len(concepts) == sum(1 for q in d.questions if q.choices) >= 3
    for g in concepts:
        number = int(re.match(r"\[Q(\d+)\]", g.title).group(1))
        authored = d.questions[number - 1]
        assert [a.text for a in g.answers] == [" ".join(c.replace("`", "").split()) for c in authored.choices]
        marked = [k for k, a in enumerate(g.answers, 1) if a.mark == "="]
        assert marked == [authored.correct]
        assert all(a.weight == 0 for a in g.answers if a.mark == "~")
    assumptions = [g for g in questions if g.title.endswith("] assumption")]
    assert len(assumptions) >= 5
    for g in assumptions:
        q = next(q for q in bank.assumptions if f"[{q.tag}] assumption" == g.title)
        assert all(a.mark == "~" and a.weight is not None for a in g.answers)      # several may be ticked
        ticked = {a.text.split(" ")[0] for a in g.answers if a.weight > 0}
        assert sum(a.weight for a in g.answers if a.weight > 0) == pytest.approx(100, abs=1e-3)
        assert all(a.feedback.startswith("needed" if a.weight > 0 else "not needed") for a in g.answers)
        assert q.judge(" ".join(sorted(ticked)) or "none").correct
        ids = [a.text.split(" ")[0] for a in g.answers]
        for size in range(len(ids) + 1):               # and no other set is right for the quiz
            for other in itertools.combinations(ids, size):
                if set(other) != ticked:
                    assert not q.judge(" ".join(other) or "none").correct, (g.title, other)


def test_expression_questions_are_left_out(exported, bank):
    _, _, questions = exported
    steps = {q.tag for q in bank.steps}
    assert not [g for g in questions if g.title.split("]")[0][1:] in steps and "assumption" not in g.title]
    assert all(g.numerical or g.answers and all(a.mark in "=~" for a in g.answers) for g in questions)


# ---------------------------------------------------------------- escaping

HOSTILE = r'''
[[questions]]
step = "D1"
prompt = "In {a, b} ~ c = d # e: which \\ one? Is `n[i] == n[i+1]`? ::[F4] x:: {=no}"
choices = ["{x}: yes ~ = #", "no \\ :: } ####", "%50%plain"]
correct = 2
explanation = "Because {} ~ = # : and \\n, `a**2/3` < 1."
'''


def test_special_characters_round_trip(tmp_path):
    source = tmp_path / "hostile.toml"
    source.write_text(GLOROT_TEXT.split("# Questions for the quiz")[0] + HOSTILE, encoding="utf-8")
    path = tmp_path / "hostile.gift"
    code, _, err = run("quiz", str(source), "--export", str(path), "--seed", "1")
    assert code == 0, err
    text = path.read_text(encoding="utf-8")
    for char in SPECIAL:
        assert "\\" + char in text
    _, questions = parse_gift(text)
    [g] = [g for g in questions if g.title == "[Q1] concept"]
    assert g.stem == r"In {a, b} ~ c = d # e: which \ one? Is n[i] == n[i+1]? ::[F4] x:: {=no}"
    assert [a.text for a in g.answers] == ["{x}: yes ~ = #", r"no \ :: } ####", "%50%plain"]
    assert [a.mark for a in g.answers] == ["~", "=", "~"] and [a.weight for a in g.answers] == [0, None, 0]
    assert g.general == r"Because {} ~ = # : and \n, a**2/3 < 1."


def test_the_reader_refuses_an_unescaped_brace():
    """The reader is strict: the checks above would fail on a file with a brace or a # left unescaped."""
    good = "// c\n\n::[Q1] concept::[plain]a \\{b\\} c{\n\t=x\n\t~%0%y\n}\n"
    assert parse_gift(good)[1][0].stem == "a {b} c"
    with pytest.raises(AssertionError):
        parse_gift(good.replace("\\{b\\}", "{b}"))
    with pytest.raises(AssertionError):
        parse_gift(good.replace("=x", "=x # y # z"))


# ---------------------------------------------------------------- bad paths

@pytest.mark.parametrize("where, says", [
    ("folder", "is a directory"),
    ("missing/quiz.gift", "does not exist"),
    ("quiz.txt", "ending in .gift"),
])
def test_a_bad_path_is_refused_in_one_line(tmp_path, where, says):
    (tmp_path / "folder").mkdir()
    code, out, err = run("quiz", "glorot", "--export", str(tmp_path / where))
    assert code == 2 and says in err and err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
