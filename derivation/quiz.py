"""Questions on a verified derivation, the judging of answers (by mathematics, never by spelling), and the game.

The bank (derivation.quizbank) has a question on every verified step (the next step of a chain, a chain's start,
a law's moment, a step that combines earlier ones), on which assumptions a step needs, on numbers for a layer, and
the author's own questions (``[[questions]]`` in the derivation file). Answers are judged by derivation.judge:
parsed by the safe parser (never evaluated) and compared by the kernel under the step's facts. A session is drawn
reproducibly from a seed and ordered so that no question shows the answer of a later one.

:func:`play` asks the questions: graduated hints (``?``, each costing HINT_COST of the point), one more try after a
wrong answer for RETRY_CREDIT of it, an empty line skips, ``q`` stops; :class:`Scorecard` keeps the score and
ends with a review of what was missed. Reading and writing are the caller's (the CLI: a terminal or a pipe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from .crosscheck import FAN_IN, FAN_OUT, in_fans
from .judge import Expected, Judgement, judge_expression
from .kernel.timelimit import TimeLimitExceeded, time_limit
from .parser import Namespace
from .printing import plain
from .verify import Verification

__all__ = ["HEADER", "Judgement", "Question", "Scorecard", "layer_values", "next_step_items", "play", "session"]

RELATIVE_TOLERANCE = 0.01
JUDGE_SECONDS = 10          # judging one answer (parsing, comparing, evaluating a number)
HINT_COST = 0.25            # of the point, per hint taken
RETRY_CREDIT = 0.5          # of the point, for a right answer at the second try
QUIT = ("q", "quit", "exit")
HEADER = [
    "Answers use the syntax of derivation files: + - * / **, one == for an equation, Var[X], E[X],",
    "z[i, j], Sum(body, (j, 1, n[i])), sqrt(x) and numbers. The verifier judges: any equal form is right.",
    f"?: a hint (each costs {HINT_COST:g} of the point)   empty line: skip   q: stop   "
    f"a wrong answer: one more try for {RETRY_CREDIT:g}",
]


@dataclass(frozen=True)
class Question:
    kind: str                   # next step, chain start, law, combine, assumption, number, concept
    tag: str                    # what it is about: a step id (F4), a layer (784->300), an author's question (Q2)
    prompt: list[str]
    hints: tuple[str, ...]      # graduated: the rule and what it does, its formula, the shape of the answer
    answer: str                 # the correct answer as the derivation writes it (shown after)
    solution: str               # a typed answer that is right (the answer syntax)
    judge: Callable[[str], Judgement]
    step: str = ""              # the step it is about
    explanation: str = ""       # shown after the question: why
    asks: frozenset = frozenset()     # keys of its answer (quizbank: what no earlier question may show)
    shows: frozenset = frozenset()    # keys of everything it displays
    after: frozenset = frozenset()    # "step:F4": asked after the question on that step, when both are drawn
    choices: tuple = ()         # (text, right, feedback) per choice, for a question with choices (the GIFT export)

    @property
    def hint(self) -> str:
        return self.hints[0] if self.hints else ""


def session(verification: Verification, seed: int, count: int, numbers: Callable[[int, int], dict] | None = None
            ) -> list[Question]:
    """``count`` questions drawn with ``seed`` (fewer when the derivation has fewer to ask); ``numbers`` from
    :func:`layer_values` gives the verified formulas that number questions use (none: no number questions)."""
    return bank(verification, getattr(numbers, "results", None) or {}).session(seed, count)


_BANKS: dict = {}


def bank(verification: Verification, layers: dict | None = None):
    """The bank of questions on ``verification`` (built once per verification and set of layer results)."""
    from .quizbank import Bank
    key = (id(verification), tuple(sorted((k, sp.srepr(f)) for k, f in (layers or {}).items())))
    found = _BANKS.get(key)
    if found is None or found[0] is not verification:
        if len(_BANKS) > 16:
            _BANKS.clear()
        found = _BANKS[key] = (verification, Bank(verification, layers))
    return found[1]


# ---------------------------------------------------------------- the bank's next-step questions (handout)

def next_step_items(v: Verification) -> list[tuple]:
    """The bank of next-step questions: (previous, current) step results where ``current`` continues the chain
    of ``previous`` in the same section by its rule alone (no new start, no cited steps) and verified, so the
    answer is what the rule derives. The quiz asks them; the handout's exercises are drawn from them."""
    return [(previous, current) for previous, current in zip(v.steps, v.steps[1:])
            if current.step.start is None and not current.step.inputs and current.ok
            and previous.step.section == current.step.section]


def _next_step_questions(v: Verification) -> list[Question]:
    """The quiz's questions on the steps of :func:`next_step_items`."""
    ids = {current.step.id for _, current in next_step_items(v)}
    return [q for q in bank(v).steps if q.step in ids]


# ---------------------------------------------------------------- judging, bounded

def _bounded_judge(judge: Callable[[str], Judgement]) -> Callable[[str], Judgement]:
    """``judge`` within JUDGE_SECONDS and without raising: an answer too costly, or one SymPy cannot compare, is
    said so in one line and asked again."""
    def bounded_judge(text: str) -> Judgement:
        try:
            with time_limit(JUDGE_SECONDS) as limit:
                return judge(text)
        except TimeLimitExceeded as exc:
            if exc.limit is not limit:
                raise
            return Judgement(False, f"this answer could not be judged within {JUDGE_SECONDS} s; write it more simply",
                             retry=True)
        except MemoryError:
            return Judgement(False, "this answer is too large to judge; write it more simply", retry=True)
        except (ArithmeticError, TypeError, ValueError, AttributeError, NotImplementedError, RecursionError,
                IndexError, KeyError):
            return Judgement(False, "this answer cannot be compared with the expected one; write it another way",
                             retry=True)
    return bounded_judge


def _expression_judge(correct: sp.Expr, names: Namespace) -> Callable[[str], Judgement]:
    """A bounded judge of answers equal to ``correct`` (no facts of a step)."""
    return _bounded_judge(judge_expression(Expected(correct, plain(correct)), names))


# ---------------------------------------------------------------- numbers

class LayerValues:
    """The verified results for number questions (label -> formula in n[i], n[i+1]); called with a layer's fans,
    their values."""

    def __init__(self, results: dict[str, sp.Expr]):
        self.results = dict(results)

    def __call__(self, fan_in: int, fan_out: int) -> dict:
        layer = {FAN_IN: fan_in, FAN_OUT: fan_out}
        return {label: in_fans(formula).xreplace(layer) for label, formula in self.results.items()}


def layer_values(results: dict[str, sp.Expr]) -> LayerValues:
    """From verified results (name -> formula in n[i], n[i+1]) to the numbers of one concrete layer."""
    return LayerValues(results)


# ---------------------------------------------------------------- the game

@dataclass
class Outcome:
    number: int
    question: Question
    credit: float
    status: str                 # right, wrong, skipped


@dataclass
class Scorecard:
    """The score so far: what each question asked earned (hints and a second try cost part of the point)."""

    total: int
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(o.credit for o in self.outcomes)

    @property
    def asked(self) -> int:
        return len(self.outcomes)

    def line(self) -> str:
        unasked = f" ({self.asked} of {self.total} questions asked)" if self.asked < self.total else ""
        return f"score: {points(self.score)}/{self.asked}{unasked}"

    def ending(self) -> list[str]:
        """The score, then each question not fully earned with its correct form."""
        lines = ["", self.line()]
        missed = [o for o in self.outcomes if o.credit < 1]
        if missed:
            lines.append("to review:")
            for o in missed:
                earned = "" if o.credit == 0 else f", {points(o.credit)} of the point"
                lines.append(f"  {o.number}. [{o.question.tag}] {o.question.kind} ({o.status}{earned})")
                lines.append(f"     the answer: {o.question.answer}")
        return lines


def points(value: float) -> str:
    """6.5, 7, 0.375: a score without trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def play(questions: list[Question], read: Callable[[str], str], write: Callable[[str], None],
         card: Scorecard) -> None:
    """Ask ``questions`` in turn. ``read(prompt)`` returns a line (EOFError at the end of input: the game ends,
    as with ``q``); ``write(line)`` shows one. KeyboardInterrupt is the caller's: ``card`` has the score so far."""
    for number, question in enumerate(questions, 1):
        write("")
        write(f"{number}/{len(questions)}. [{question.tag}] {question.kind}")
        for line in question.prompt:
            write(f"   {line}")
        if not _ask(number, question, read, write, card):
            return
        if question.explanation:
            write(f"   why: {question.explanation}")


def _ask(number: int, question: Question, read, write, card: Scorecard) -> bool:
    """One question, until it is answered, skipped or failed twice; False when the game ends here."""
    hints = tries = 0
    while True:
        try:
            text = read("> ")
        except EOFError:
            write("")
            return False
        text = text.strip()
        if text.lower() in QUIT:
            return False
        if text == "?":
            if hints < len(question.hints):
                hints += 1
                write(f"   hint {hints}/{len(question.hints)} (costs {HINT_COST:g}): {question.hints[hints - 1]}")
            else:
                write("   no more hints; an empty line shows the answer")
            continue
        if not text:
            status = "wrong" if tries else "skipped"
            write(f"   {status}; the answer: {question.answer}")
            card.outcomes.append(Outcome(number, question, 0.0, status))
            return True
        judgement = question.judge(text)
        if judgement.read_as:
            write(f"   read as: {judgement.read_as}")
        if judgement.retry:
            write(f"   {judgement.feedback}; try again (? for a hint, empty line to skip)")
            continue
        if judgement.correct:
            credit = max(0.0, 1 - HINT_COST * hints) * (RETRY_CREDIT if tries else 1.0)
            write(f"   ✓ {judgement.feedback}" + (f"  (+{points(credit)})" if credit < 1 else ""))
            card.outcomes.append(Outcome(number, question, credit, "right"))
            return True
        tries += 1
        if tries == 1:
            write(f"   ✗ {judgement.feedback}")
            write(f"   one more try for {RETRY_CREDIT:g} of the point (? for a hint, empty line: show the answer)")
            continue
        write(f"   ✗ {judgement.feedback}; the answer: {question.answer}")
        card.outcomes.append(Outcome(number, question, 0.0, "wrong"))
        return True
