"""The quiz: its bank (every step, assumptions, numbers, the author's questions), fair judging by the kernel, and
the game through standard input and through a pseudo-terminal (hints, a retry, partial credit, q, Ctrl-C, EOF).
"""

from __future__ import annotations

import collections
import math
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

import pytest

from derivation import quiz
from derivation.cli import _builtin, _layer_results
from derivation.loader import LoadError, loads
from derivation.quizbank import MARGIN
from derivation.verify import verify

from conftest import ARITIES, GLOROT_TEXT

STEP_KINDS = ("next step", "chain start", "law", "combine")
EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples"
SEEDS = 400
PYTHON_WORDS = ("BitXor", "octal", "[symbols]", "Error", "Traceback", "_s0", "_s1", "ast.", "sympy")


def run(*args, stdin: str | bytes = "", env: dict | None = None, timeout: float = 300):
    data = stdin.encode() if isinstance(stdin, str) else stdin
    done = subprocess.run([sys.executable, "-m", "derivation", *args], input=data, capture_output=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def glorot():
    return verify(_builtin("glorot"))


def questions_for(verification, seed: int, count: int = 8) -> list[quiz.Question]:
    """The questions of `quiz NAME --seed SEED --questions COUNT`, as the command draws them."""
    return quiz.session(verification, seed, count, quiz.layer_values(_layer_results(verification.derivation)))


def first_seed(verification, wanted, count: int = 8, second=None) -> tuple[int, list[quiz.Question]]:
    """The first seed whose first question satisfies ``wanted`` (and its second ``second``)."""
    for seed in range(500):
        questions = questions_for(verification, seed, count)
        if wanted(questions[0]) and (second is None or second(questions[1])):
            return seed, questions
    raise AssertionError("no seed found")


def bank(verification):
    return quiz.bank(verification, _layer_results(verification.derivation))


def step_question(verification, step_id: str) -> quiz.Question:
    return next(q for q in bank(verification).steps if q.step == step_id)


def transcript(questions, answers=None) -> str:
    """The game played in this process: every question skipped, or answered from ``answers``."""
    lines: list[str] = []
    feed = iter(answers or [])

    def read(prompt):
        if answers is None:
            return ""
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    card = quiz.Scorecard(len(questions))
    quiz.play(questions, read, lines.append, card)
    return "\n".join(lines + card.ending())


# ---------------------------------------------------------------- coverage: every step, every built-in

def test_every_verified_step_of_every_builtin_has_a_question():
    """On every built-in: a question on each verified step; what each shows can be typed back, and its answer, as
    the derivation writes it and as typed, is judged right (so are the assumption and the author's questions)."""
    from derivation.loader import builtin_names
    from derivation.parser import parse
    for name in builtin_names():
        v = verify(_builtin(name))
        b = bank(v)
        assert {q.step for q in b.steps} == {r.step.id for r in v.steps if r.ok}, name
        for q in b.steps + b.assumptions + b.concepts:
            for line in q.prompt:
                if line.startswith("    "):
                    parse(line.strip(), v.derivation.namespace)
            answers = {q.solution} | ({q.answer} if q.kind in STEP_KINDS else set())
            for text in answers:
                assert q.judge(text).correct, (name, q.tag, text)


def test_chain_starts_laws_and_combinations_are_asked(glorot):
    kinds = {q.step: q.kind for q in bank(glorot).steps}
    assert kinds["B0"] == "chain start" and kinds["F0"] == "chain start"
    assert kinds["D3"] == "law" and kinds["D1"] == kinds["D4"] == kinds["D2"] == "combine"
    b0 = step_question(glorot, "B0")
    assert "Apply chain rule to Var[g[i, k]]: what is B0?" in b0.prompt
    d1 = step_question(glorot, "D1")
    assert "Apply harmonic averaging to F6 and B6: what is D1?" in d1.prompt
    assert "    Var[W[i]] == 1/n[i]" in d1.prompt and "    Var[W[i]] == 1/n[i+1]" in d1.prompt
    d3 = step_question(glorot, "D3")
    assert d3.prompt[0] == "What is Var[Uniform(-a, a)] (uniform variance, step D3)?"
    d4 = step_question(glorot, "D4")
    assert "    Var[Uniform(-a, a)] == a**2/3" in d4.prompt and "Apply uniform bound to D3 and D1: what is D4?" in d4.prompt


def test_the_question_says_what_form_is_wanted(glorot):
    assert "(an equation: Var[W[i]] == ..., re-indexed so that the left side is Var[W[i]])" in \
        step_question(glorot, "B6").prompt
    assert "(an equation: a == ...)" in step_question(glorot, "D4").prompt
    assert any("in terms of a" in line for line in step_question(glorot, "D3").prompt)


def test_statistics_over_400_seeded_quizzes(glorot, capsys):
    """Every step of Glorot is asked in some quiz; no question's answer is on screen before it is asked; no number
    question uses equal fans, or fans where a classic mistake is within the tolerance (computed here, apart from
    the quiz's own list). The counts per step and kind are shown with pytest -s."""
    steps, kinds, counts = collections.Counter(), collections.Counter(), collections.Counter()
    for seed in range(SEEDS):
        questions = questions_for(glorot, seed)
        assert len(questions) == 8
        text = transcript(questions)
        for position, q in enumerate(questions, 1):
            kinds[q.kind] += 1
            counts[(q.step, q.kind)] += 1
            if q.kind in STEP_KINDS:
                steps[q.step] += 1
            before = text[:text.index(f"{position}/8. [{q.tag}] {q.kind}")]
            for telltale in telltales(q):
                assert not re.search(r"(?<![\w.])" + re.escape(telltale) + r"(?![\w.(\[])", before), \
                    (seed, position, q.tag, telltale)
            if q.kind == "number":
                check_fans(q)
    with capsys.disabled():
        print(f"\ncoverage over {SEEDS} quizzes of 8 questions:")
        for step in [s.id for s in glorot.derivation.steps]:
            print(f"  {step}: " + ", ".join(f"{k} {c}" for (s, k), c in sorted(counts.items()) if s == step))
        print("  by kind: " + ", ".join(f"{k} {c}" for k, c in sorted(kinds.items())))
    assert set(steps) == {s.id for s in glorot.derivation.steps}, steps
    assert min(steps.values()) >= 20
    assert {"assumption", "number", "concept", *STEP_KINDS} <= set(kinds)


def telltales(q: quiz.Question) -> list[str]:
    """The texts that would give a question's answer away."""
    if q.kind == "assumption":
        return []
    if q.kind == "concept" and re.match(r"\d\) ", q.answer):
        return [q.answer[3:]]
    out = [q.answer]
    if "==" in q.answer:
        out.append(q.answer.split("==", 1)[1].strip())
    return out


def check_fans(q: quiz.Question) -> None:
    fan_in, fan_out = map(int, q.tag.split("->"))
    assert fan_in != fan_out
    bound = "bound" in q.prompt[0]
    right = math.sqrt((6 if bound else 2) / (fan_in + fan_out))
    assert float(q.solution) == pytest.approx(right, rel=1e-8)
    scale = 3 if bound else 1
    mistakes = {
        "arithmetic mean": math.sqrt(scale * (1 / fan_in + 1 / fan_out) / 2),
        "LeCun": math.sqrt(scale / fan_in), "He": math.sqrt(2 * scale / fan_in),
        "missing root": right ** 2, "sigma for the bound / the bound for sigma":
            math.sqrt(2 / (fan_in + fan_out)) if bound else math.sqrt(6 / (fan_in + fan_out)),
        "He fan-out": math.sqrt(2 * scale / fan_out), "LeCun fan-out": math.sqrt(scale / fan_out),
    }
    for name, value in mistakes.items():
        assert abs(value / right - 1) > quiz.RELATIVE_TOLERANCE, (q.tag, name)


def test_questions_are_reproducible_and_varied(glorot):
    first = [q.tag for q in questions_for(glorot, 7)]
    assert first == [q.tag for q in questions_for(glorot, 7)]
    assert first != [q.tag for q in questions_for(glorot, 8)]
    assert len(questions_for(glorot, 3, 100)) == 100                 # the bank, then numbers


def test_lecun_and_user_files_never_ask_glorot_or_he_numbers(tmp_path):
    lecun = verify(_builtin("lecun"))
    for seed in range(40):
        for q in questions_for(lecun, seed):
            if q.kind == "number":
                assert "LeCun" in q.prompt[0] and "Glorot" not in q.prompt[0] and "He " not in q.prompt[0]
    mine = tmp_path / "mine.toml"
    mine.write_text(GLOROT_TEXT, encoding="utf-8")
    code, out, err = run("quiz", str(mine), "--seed", "4", "--questions", "40", stdin="\n" * 40)
    assert code == 0, err
    assert "what is the Glorot" not in out and "what is the He" not in out
    assert "what is the uniform bound?" in out or "what is the normal std?" in out
    sample = run("quiz", str(EXAMPLES / "sample_mean.toml"), "--seed", "1", stdin="\n" * 8)
    assert sample[0] == 0 and "fan-in" not in sample[1]


# ---------------------------------------------------------------- the author's questions ([[questions]])

QUESTIONS = '''
[[questions]]
step = "D1"
prompt = "Why the harmonic mean of `1/n[i]` and `1/n[i+1]`?"
choices = ["Because.", "A compromise: both requirements hold only if `n[i] == n[i+1]`."]
correct = 2
explanation = "The gains `n[i]*Var[W[i]]` and `n[i+1]*Var[W[i]]` add up to 2."

[[questions]]
prompt = "What is the forward gain `n[i]*Var[W[i]]` under Glorot's variance?"
answer = "2*n[i]/(n[i] + n[i+1])"
hint = "Use D1."
'''


def test_builtins_carry_the_lecturers_questions():
    for name, low in (("glorot", 5), ("he", 4), ("lecun", 3)):
        d = _builtin(name)
        assert low <= len(d.questions) <= 5
        assert all(q.explanation for q in d.questions)
    assert not _builtin("attention").questions                   # old files load without them


def test_questions_are_loaded_and_asked(glorot):
    d = loads(GLOROT_TEXT.split("# Questions for the quiz")[0] + QUESTIONS, "g.toml", ARITIES, name="g")
    assert [q.correct for q in d.questions] == [2, 0] and d.questions[1].answer is not None
    v = verify(d)
    concepts = bank(v).concepts
    assert [q.tag for q in concepts] == ["Q1", "Q2"]
    choice, free = concepts
    assert choice.judge("2").correct and not choice.judge("1").correct and choice.judge("7").retry
    assert free.judge("2*n[i]/(n[i] + n[i+1])").correct
    equal = free.judge("2/(1 + n[i+1]/n[i])")
    assert equal.correct and "the derivation writes it as 2*n[i]/(n[i] + n[i+1])" in equal.feedback
    assert "2 times" in free.judge("4*n[i]/(n[i] + n[i+1])").feedback
    assert free.hints[0] == "Use D1."
    ordered = [q.tag for q in quiz.session(v, 5, 40)]
    assert ordered.index("D1") < ordered.index("Q1")            # asked after the step it is about


@pytest.mark.parametrize("table, message", [
    ('[[questions]]\nprompt = "p"\n', "give either 'answer' (an expression) or 'choices' with 'correct'"),
    ('[[questions]]\nprompt = "p"\nanswer = "n[i]"\nchoices = ["a", "b"]\ncorrect = 1\n', "give either"),
    ('[[questions]]\nprompt = "p"\nchoices = ["a", "b"]\ncorrect = 3\n', "field 'correct' must be the number"),
    ('[[questions]]\nprompt = "p"\nchoices = ["a"]\ncorrect = 1\n', "2 to 8 non-empty strings"),
    ('[[questions]]\nprompt = "p"\nanswer = "n[i"\n', "question 1: answer, column"),
    ('[[questions]]\nprompt = "what is `x^2`?"\nanswer = "1"\n', "question 1: prompt, column"),
    ('[[questions]]\nprompt = "p"\nanswer = "1"\nstep = "Z9"\n', "'step' names unknown step 'Z9'"),
    ('[[questions]]\nprompt = "p"\nanswer = "1"\ncolour = "red"\n', "unknown field 'colour'"),
    ('[[questions]]\nanswer = "1"\n', "missing field 'prompt'"),
])
def test_bad_questions_are_refused(table, message):
    with pytest.raises(LoadError) as found:
        loads(GLOROT_TEXT.split("# Questions for the quiz")[0] + table, "g.toml", ARITIES)
    assert message in str(found.value)


# ---------------------------------------------------------------- fair judging

@pytest.mark.parametrize("step, answer, feedback", [
    ("F6", "n[i]*Var[W[i]] == 1", "right; the derivation writes it as Var[W[i]] == 1/n[i]"),
    ("F6", "1/n[i] == Var[W[i]]", "right; the derivation writes it as Var[W[i]] == 1/n[i]"),
    ("F6", "1/n[i]", "right"),
    ("F6", "Var[W[i]] == 1/n[i]", "right"),
    ("B6", "Var[W[i+1]] == 1/n[i+2]", "right for every layer; the derivation re-indexes it to Var[W[i]]: "
                                      "Var[W[i]] == 1/n[i+1]"),
    ("B6", "n[i+1]*Var[W[i]] == 1", "right; the derivation writes it as Var[W[i]] == 1/n[i+1]"),
    ("F3", "Sum(E[z[i, j]**2]*E[W[i, j, k]**2] - E[z[i, j]]**2*E[W[i, j, k]]**2, (j, 1, n[i]))", "right"),
    ("F4", "Sum(Var[W[i, j, k]]*Var[z[i, j]], (j, 1, n[i]))", "right"),
    ("F4", "Sum(Var[z[i, j]]*Var[W[i, j, k]] + E[W[i, j, k]]**2*Var[z[i, j]], (j, 1, n[i]))",
     "right (with E[W[i, j, k]] == 0)"),
    ("F2", "Sum(Var[z[i, j]*W[i, j, k]], (j, 1, n[i])) + Var[b[i, k]]", "right (with b == 0)"),
    ("B1", "Var[df(0)*Sum(W[i+1, k, j]*g[i+1, j], (j, 1, n[i+2]))]", "right (with df(0) == 1)"),
    ("D1", "(n[i] + n[i+1])*Var[W[i]] == 2", "right; the derivation writes it as Var[W[i]] == 2/(n[i] + n[i+1])"),
    ("D2", "sigma**2 == 2/(n[i] + n[i+1])", "right"),
    ("D4", "a**2 == 6/(n[i] + n[i+1])", "right; the derivation writes it as a == sqrt(6/(n[i] + n[i+1]))"),
    ("D3", "(2*a)**2/12", "right"),
])
def test_equal_forms_are_right(glorot, step, answer, feedback):
    judgement = step_question(glorot, step).judge(answer)
    assert judgement.correct, judgement
    assert judgement.feedback.startswith(feedback), judgement.feedback
    assert judgement.read_as


@pytest.mark.parametrize("step, answer, feedback", [
    ("B6", "1/n[i+2]", "a missing re-index: 1/n[i + 2] is the value for Var[W[i + 1]]"),
    ("B6", "Var[W[i]] == 1/n[i+2]", "a missing re-index"),
    ("B5", "n[i+1]*Var[W[i+1]]*Var[g[i+1]]", "n[i + 1] where n[i + 2] is needed"),
    ("D4", "a == sqrt(6/(n[i] + n[i+2]))", "n[i + 2] where n[i + 1] is needed"),
    ("F6", "Var[W[i]] == n[i]", "inverted"),
    ("F4", "2*Sum(Var[z[i, j]]*Var[W[i, j, k]], (j, 1, n[i]))", "2 times the correct one"),
    ("F3", "Sum(E[z[i, j]]**2*Var[W[i, j, k]] + E[W[i, j, k]]**2*Var[z[i, j]], (j, 1, n[i]))",
     "in the sum over j: a term is missing: Var[W[i, j, k]]*Var[z[i, j]]"),
    ("B0", "Var[Sum(W[i+1, k, j]*g[i+1, j], (j, 1, n[i+2]))]", "inside Var[...]: a factor df(s[i, k]) is missing"),
    ("F5", "n[i]*Var[z[i]]**2*Var[W[i]]", "an extra factor Var[z[i]]"),
    ("D1", "Var[W[i]] == (1/n[i] + 1/n[i+1])/2", "the arithmetic mean of the two requirements"),
    ("D1", "Var[W[i]] == 1/n[i]", "F6's requirement alone"),
    ("D4", "a == sqrt(2/(n[i] + n[i+1]))", "the normal standard deviation sqrt(Var), not the uniform bound"),
    ("D4", "a == 6/(n[i] + n[i+1])", "the square root is missing"),
    ("D2", "sigma == 2/(n[i] + n[i+1])", "the variance, not the standard deviation"),
    ("D3", "a**2/12", "the width of Uniform(lo, hi) is hi - lo"),
])
def test_wrong_answers_get_a_computed_diagnosis(glorot, step, answer, feedback):
    judgement = step_question(glorot, step).judge(answer)
    assert not judgement.correct and not judgement.retry, judgement
    assert feedback in judgement.feedback
    assert "swapped" not in judgement.feedback or step == "swap"
    assert not any(word in judgement.feedback for word in PYTHON_WORDS)


def test_swapped_fans_are_said_only_when_both_are_used(glorot):
    gain = next(q for q in bank(glorot).concepts if q.solution == "2*n[i]/(n[i + 1] + n[i])")
    assert "n[i] and n[i + 1] are swapped" in gain.judge("2*n[i+1]/(n[i] + n[i+1])").feedback
    b6 = step_question(glorot, "B6").judge("Var[W[i]] == 1/n[i]")        # one size only: not a swap
    assert "swapped" not in b6.feedback and "re-index" in b6.feedback


def test_no_answer_to_a_question_is_its_own_input_or_a_later_step(glorot):
    f1 = step_question(glorot, "F1").judge("Var[f(Sum(z[i, j]*W[i, j, k], (j, 1, n[i])) + b[i, k])]")
    assert f1.retry and "that is the expression the rule starts from: apply linearisation" in f1.feedback
    f2 = step_question(glorot, "F2").judge("Sum(Var[z[i, j]]*Var[W[i, j, k]], (j, 1, n[i]))")
    assert f2.retry and "that is the result of F4, further on" in f2.feedback


@pytest.mark.parametrize("answer, says", [
    ("n[i]^2", "^ is not a power here: write x**2"),
    ("Var[W[i]] = 1/n[i]", "column 11: an equation is written with ==, not ="),
    ("08", "a number cannot start with 0"),
    ("2n[i]", "write 2*n for a product"),
    ("foo", "unknown name 'foo' (the names here: W, a, b, g, i, j, k, n, s, sigma, z)"),
    ("Σ(Var[z])", "'Σ' cannot be typed here: write a sum as Sum(body, (j, 1, n[i]))"),
    ("Var[W[i]]·n[i]", "write * for a product"),
    ("Var[W[i]] | 2", "'|' is not part of the answer syntax"),
    ("__import__('os')", "'__import__' is not a function here"),
    ("Var[W[i]] == 1/n[i", "column 17: '[' is never closed"),
    ("a" * 5000, "the answer is 5000 characters long; the limit is 4000"),
])
def test_garbage_is_explained_in_the_players_terms(glorot, answer, says):
    judgement = step_question(glorot, "F6").judge(answer)
    assert judgement.retry and says in judgement.feedback, judgement.feedback
    assert not any(word in judgement.feedback for word in PYTHON_WORDS), judgement.feedback


def test_hostile_answers_are_only_parsed(glorot, tmp_path):
    marker = tmp_path / "pwned"
    for text in (f"__import__('os').system('touch {marker}')", "().__class__.__mro__[-1].__subclasses__()",
                 "9**9**9**9", "a+" * 5000, "\x1b]0;pwned\x07", "lambda: 1", "'x'"):
        for q in (step_question(glorot, "F4"), step_question(glorot, "D1")):
            judgement = q.judge(text)
            assert judgement.retry and not judgement.correct
    assert not marker.exists()


def test_choices_for_the_export_agree_with_the_judges(glorot):
    """The (text, right, feedback) choices that `quiz --export` writes say what the quiz's judges accept."""
    b = bank(glorot)
    for q in b.assumptions:
        needed = [text.split(" ")[0] for text, right, _ in q.choices if right]
        assert q.judge(" ".join(needed) or "none").correct and ", ".join(needed or ["none"]) == q.answer
        assert [t.split(" ")[0] for t, _, _ in q.choices] == list(glorot.derivation.assumptions)
    for q in b.concepts:
        if q.choices:
            [right] = [k for k, (_, ok, _) in enumerate(q.choices, 1) if ok]
            assert q.judge(str(right)).correct and not q.judge(str(right % len(q.choices) + 1)).correct
    assert not any(q.choices for q in b.steps)


def test_assumptions_are_judged_by_the_kernel(glorot):
    b = bank(glorot)
    f4 = next(q for q in b.assumptions if q.step == "F4")
    assert f4.judge("A2 A3").correct and f4.judge("a3, a2").correct
    assert "the kernel cannot verify F4 citing A3" in f4.judge("A3").feedback
    assert "enough, but not all needed: F4 verifies without A1" in f4.judge("A1 A2 A3").feedback
    assert f4.judge("A9").retry and "not one of the choices: A9" in f4.judge("A9").feedback
    b2 = next(q for q in b.assumptions if q.step == "B2")     # the kernel needs only A2; the file cites A2, A3
    assert b2.judge("A2").correct and b2.judge("A2 A3").correct and b2.answer == "A2"
    assert not b2.judge("none").correct


# ---------------------------------------------------------------- numbers: classic mistakes by name

MISTAKES = {      # the classic slips, computed here: name in the feedback -> value from (fan_in, fan_out, right)
    "arithmetic mean of the fans": lambda fi, fo, bound: math.sqrt((3 if bound else 1) * (1 / fi + 1 / fo) / 2),
    "LeCun's": lambda fi, fo, bound: math.sqrt((3 if bound else 1) / fi),
    "He's": lambda fi, fo, bound: math.sqrt((6 if bound else 2) / fi),
    "Glorot's": lambda fi, fo, bound: math.sqrt((6 if bound else 2) / (fi + fo)),
}


@pytest.mark.parametrize("name", ["glorot", "he", "lecun"])
def test_every_classic_number_mistake_is_diagnosed_by_name(name):
    v = verify(_builtin(name))
    b = bank(v)
    assert b.layers
    for label in b.layers:
        pairs = b.fan_pairs(label)
        assert len(pairs) > 50 and all(fi != fo for fi, fo in pairs)
        for fan_in, fan_out in pairs[::17]:
            q = b.number_question(label, fan_in, fan_out)
            right = float(q.solution)
            bound = label.endswith("bound")
            slips = {key: f(fan_in, fan_out, bound) for key, f in MISTAKES.items()}
            slips["the square root is missing"] = right ** 2
            slips["given for the uniform bound" if bound else "given for the normal std"] = \
                right / math.sqrt(3) if bound else right * math.sqrt(3)
            if name != "glorot":
                slips["swapped"] = right * math.sqrt(fan_in / fan_out)
            for key, value in slips.items():
                if abs(value / right - 1) < 1e-6:
                    continue                              # the derivation's own formula (He's bound for he)
                assert abs(value / right - 1) > MARGIN
                judgement = q.judge(f"{value:.6g}")
                assert not judgement.correct and key in judgement.feedback, (label, key, judgement.feedback)
            assert q.judge(f"{right:.4g}").correct
            assert "close, but not within 1%" in q.judge(f"{right * 1.02:.6g}").feedback
            assert q.judge("Uniform(1, 2)").retry and q.judge("n").retry


# ---------------------------------------------------------------- the game through standard input

def lines_for(questions, answer) -> str:
    return "".join(f"{line}\n" for q in questions for line in answer(q))


def test_right_answers_score_full_points_and_echo_what_was_read(glorot):
    questions = questions_for(glorot, 7, 6)
    code, out, err = run("quiz", "--seed", "7", "--questions", "6", stdin=lines_for(questions, lambda q: [q.solution]))
    assert code == 0 and err == ""
    assert "score: 6/6" in out and out.count("✓") == 6 and "read as: " in out and "to review" not in out


def test_equivalent_form_through_standard_input(glorot):
    seed, questions = first_seed(glorot, lambda q: q.step == "F6" and q.kind == "next step", 1)
    code, out, _ = run("quiz", "--seed", str(seed), "--questions", "1", stdin="n[i]*Var[W[i]] == 1\n")
    assert code == 0
    assert "read as: Var[W[i]]*n[i] == 1" in out
    assert "✓ right; the derivation writes it as Var[W[i]] == 1/n[i]" in out and "score: 1/1" in out


def test_hints_cost_a_quarter_each(glorot):
    seed, questions = first_seed(glorot, lambda q: q.kind in STEP_KINDS, 1)
    q = questions[0]
    code, out, _ = run("quiz", "--seed", str(seed), "--questions", "1", stdin=f"?\n?\n?\n?\n{q.solution}\n")
    assert code == 0
    for level, hint in enumerate(q.hints, 1):
        assert f"hint {level}/3 (costs 0.25): {hint}" in out
    assert q.hints[0].split(":")[0] in " ".join(q.prompt)             # first the rule, named as in the prompt
    assert "no more hints" in out and "(+0.25)" in out and "score: 0.25/1" in out


def test_a_wrong_answer_gets_one_more_try_for_half(glorot):
    seed, questions = first_seed(glorot, lambda q: q.kind == "next step" and "==" not in q.answer, 2)
    q = questions[0]
    wrong = f"2*({q.solution})"
    code, out, _ = run("quiz", "--seed", str(seed), "--questions", "2",
                       stdin=f"{wrong}\n{q.solution}\n\n")
    assert code == 0
    assert "✗ your answer is 2 times the correct one" in out and "one more try for 0.5 of the point" in out
    assert "(+0.5)" in out and "score: 0.5/2" in out
    assert "to review:" in out and "1. [" in out.split("to review:")[1] and "(right, 0.5 of the point)" in out


def test_skip_garbage_hostile_and_end_of_input(glorot, tmp_path):
    marker = tmp_path / "pwned"
    seed, questions = first_seed(glorot, lambda q: q.kind in STEP_KINDS, 3, lambda q: q.kind in STEP_KINDS)
    stdin = "\n".join(["", "x^2", "Var[W[i]] = 1", "\x1b]0;pwned\x07", "y" * 200_000,
                       f"__import__('os').system('touch {marker}')"]) + "\n"
    code, out, err = run("quiz", "--seed", str(seed), "--questions", "3", stdin=stdin)
    assert code == 0 and err == "" and not marker.exists()
    assert f"skipped; the answer: {questions[0].answer}" in out
    assert "an equation is written with ==, not =" in out and "the limit is 4000" in out
    assert "\x1b" not in out and "\x07" not in out
    assert not any(word in out for word in PYTHON_WORDS)
    assert "score: 0/1 (1 of 3 questions asked)" in out              # end of input: the score so far
    empty = run("quiz", "--seed", "3", stdin="")
    assert empty[0] == 0 and "score: 0/0 (0 of 8 questions asked)" in empty[1]


def test_q_stops_with_the_score_and_a_review(glorot):
    questions = questions_for(glorot, 9, 5)
    code, out, _ = run("quiz", "--seed", "9", "--questions", "5", stdin=f"{questions[0].solution}\n\nq\n")
    assert code == 0
    assert "score: 1/2 (2 of 5 questions asked)" in out
    assert out.split("to review:")[1].strip().startswith(f"2. [{questions[1].tag}]")
    assert f"the answer: {questions[1].answer}" in out.split("to review:")[1]


def test_ctrl_c_prints_the_score_and_exits_130():
    process = subprocess.Popen([sys.executable, "-m", "derivation", "quiz", "--seed", "5"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = b""
    deadline = time.monotonic() + 120
    while b"> " not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if ready:
            seen += os.read(process.stdout.fileno(), 65536)
    process.stdin.write(b"\n")                     # one question skipped
    process.stdin.flush()
    while seen.count(b"> ") < 2 and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if ready:
            seen += os.read(process.stdout.fileno(), 65536)
    time.sleep(0.5)                                # reading: the signal interrupts the wait for a line
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    out = (seen + out).decode()
    assert process.returncode == 130
    assert "score: 0/1 (1 of 8 questions asked)" in out
    assert err.decode().strip() == "derivation: interrupted"
    assert "Traceback" not in out + err.decode()


def test_every_builtin_quiz_runs_to_the_end():
    from derivation.loader import builtin_names
    for name in builtin_names():
        code, out, err = run("quiz", name, "--seed", "2", "--questions", "5", stdin="\n" * 5)
        assert code == 0 and err == "", (name, err)
        assert "score: 0/5" in out and "Σ" not in out and "·" not in out


def test_the_header_gives_no_answer_away(glorot):
    assert not any(q.answer in line for q in bank(glorot).steps for line in quiz.HEADER)


# ---------------------------------------------------------------- the game on a terminal

class Terminal:
    """`python -m derivation ARGS` on a pseudo-terminal: what it writes, and keys typed to it."""

    def __init__(self, *args: str):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:                                       # the child: the command, on the terminal
            os.execvpe(sys.executable, [sys.executable, "-m", "derivation", *args],
                       {**os.environ, "TERM": "xterm", "COLUMNS": "120"})
        self.out, self.seen = b"", 0

    def expect(self, text: str, timeout: float = 120) -> str:
        """Wait for ``text`` after what was matched last; return what came in between."""
        deadline = time.monotonic() + timeout
        while text.encode() not in self.out[self.seen:]:
            assert time.monotonic() < deadline, (text, self.out[-2000:])
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                self.out += data
        found = self.out.index(text.encode(), self.seen)
        between = self.out[self.seen:found].decode("utf-8", "replace")
        self.seen = found + len(text)
        return between

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def close(self) -> int:
        """Read what is left until the command ends; its exit code."""
        deadline, reading = time.monotonic() + 60, True
        while time.monotonic() < deadline:
            if reading:
                ready, _, _ = select.select([self.fd], [], [], 0.5)
                if ready:
                    try:
                        data = os.read(self.fd, 65536)
                    except OSError:             # the terminal is closed: the command has ended
                        data = b""
                    reading = bool(data)
                    self.out += data
            else:
                time.sleep(0.1)
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        return os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace").replace("\r\n", "\n")


def test_a_full_quiz_on_a_terminal(glorot):
    """Hint, wrong answer, retry, right, skip, q: the transcript a person sees."""
    seed, questions = first_seed(glorot, lambda q: q.kind == "next step" and "==" not in q.answer, 3)
    q = questions[0]
    term = Terminal("quiz", "--seed", str(seed), "--questions", "3")
    term.expect("> ")
    term.type("?\r")
    term.expect("> ")
    term.type(f"2*({q.solution})\r")
    assert "2 times the correct one" in term.expect("> ")
    term.type(f"{q.solution}\r")
    assert "(+0.375)" in term.expect("> ")                         # (1 - 0.25) * 0.5
    term.type("\r")
    term.expect("> ")
    term.type("q\r")
    code = term.close()
    text = term.text
    assert code == 0
    assert "score: 0.375/2 (2 of 3 questions asked)" in text and "to review:" in text
    assert "Traceback" not in text
    print("\n" + text)


def test_line_editing_and_ctrl_c_on_a_terminal(glorot):
    """Arrow keys edit the answer (readline); Ctrl-C ends with the score, a one-line message and exit 130."""
    seed, questions = first_seed(glorot, lambda q: q.step == "F6" and q.kind == "next step", 2)
    term = Terminal("quiz", "--seed", str(seed), "--questions", "2")
    term.expect("> ")
    term.type("Var[W[i]] == 1/n[]" + "\x1b[D" + "i\r")              # left arrow, then the missing i
    assert "read as: Var[W[i]] == 1/n[i]" in term.expect("> ")
    time.sleep(1)           # as a person would: a signal just before readline waits is seen at the next key
    term.type("\x03")                                               # Ctrl-C from the keyboard
    code = term.close()
    text = term.text
    assert code == 130
    assert "score: 1/1 (1 of 2 questions asked)" in text and "derivation: interrupted" in text
    assert "Traceback" not in text
