"""Questions on a verified derivation, and the judging of answers: by mathematics, never by string matching.

Three kinds, drawn reproducibly from a seed:
  next step    the previous expression and the rule; the answer is parsed by the safe parser and compared
               with what the rule derives (``equivalence.compare``), with specific feedback when it differs;
  assumption   which assumptions a step uses, from the derivation's list;
  number       a layer with random fan-in and fan-out; the value comes from the verified results of the
               built-in derivations (Glorot uniform bound and normal std, He normal std).
Answer text is only ever parsed (never evaluated as code). Data only; the CLI asks and prints.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

import sympy as sp

from .crosscheck import FAN_IN, FAN_OUT, in_fans
from .diagnose import swapped_fans
from .kernel.compare import compare
from .parser import Exceeded, Namespace, ParseError, bounded, parse
from .printing import plain, pretty
from .kernel.rules import RULES
from .verify import Verification

RELATIVE_TOLERANCE = 0.01
JUDGE_SECONDS = 10          # judging one answer (parsing, comparing, evaluating a number)
FANS = (64, 128, 256, 300, 512, 784, 1000, 1024, 2048)
EXAMPLE = "Sum(Var[z[i, j]]*Var[W[i, j, k]], (j, 1, n[i]))   or   Var[W[i]] == 1/n[i]"


@dataclass(frozen=True)
class Judgement:
    correct: bool
    feedback: str
    retry: bool = False         # not an answer at all (malformed): ask again


@dataclass(frozen=True)
class Question:
    kind: str
    tag: str                    # e.g. "[F4]"
    prompt: list[str]
    hint: str
    answer: str                 # the correct answer, shown after a wrong one
    solution: str               # the same, in the answer syntax
    judge: Callable[[str], Judgement]


def session(verification: Verification, seed: int, count: int, numbers: Callable[[int, int], dict]) -> list[Question]:
    """``count`` questions drawn with ``seed``: about half next-step, the rest assumptions and numbers."""
    rng = random.Random(seed)
    pool_next = _next_step_questions(verification)
    pool_assumption = _assumption_questions(verification)
    rng.shuffle(pool_next)
    rng.shuffle(pool_assumption)
    questions = []
    kinds = ["next", "next", "assumption"] + (["number"] if numbers(2, 3) else [])
    count = count if "number" in kinds else min(count, len(pool_next) + len(pool_assumption))
    while len(questions) < count:
        kind = rng.choice(kinds)
        if kind == "next" and pool_next:
            questions.append(pool_next.pop())
        elif kind == "assumption" and pool_assumption:
            questions.append(pool_assumption.pop())
        elif kind == "number":
            fan_in, fan_out = rng.choice(FANS), rng.choice(FANS)
            values = numbers(fan_in, fan_out)
            label = rng.choice(sorted(values))
            questions.append(_number_question(label, fan_in, fan_out, values[label]))
    return questions


# ---------------------------------------------------------------- next step

def next_step_items(v: Verification) -> list[tuple]:
    """The bank of next-step questions: (previous, current) step results where ``current`` continues the chain
    of ``previous`` in the same section by its rule alone (no new start, no cited steps) and verified, so the
    answer is what the rule derives. The quiz asks them; the handout's exercises are drawn from them."""
    return [(previous, current) for previous, current in zip(v.steps, v.steps[1:])
            if current.step.start is None and not current.step.inputs and current.ok
            and previous.step.section == current.step.section]


def _next_step_questions(v: Verification) -> list[Question]:
    out = []
    for previous, current in next_step_items(v):
        step = current.step
        derived = current.derived
        prompt = [f"Step {previous.step.id} gives:", f"    {pretty(previous.step.claim)}",
                  f"Apply {step.rule}" + (f" (using {', '.join(step.uses)})" if step.uses else "")
                  + f": what is step {step.id}?"]
        hint = f"{step.rule}: {_plain_formula(step.rule)}"
        out.append(Question("next step", f"[{step.id}]", prompt, hint, pretty(derived), plain(derived),
                            _expression_judge(derived, v.derivation.namespace)))
    return out


def _plain_formula(rule: str) -> str:
    from .prose import plain
    return plain(RULES[rule].formula)


def _bounded_judge(judge: Callable[[str], Judgement]) -> Callable[[str], Judgement]:
    """``judge`` within JUDGE_SECONDS and without raising: an answer too costly, or one SymPy cannot compare, is
    said so in one line and asked again."""
    def bounded_judge(text: str) -> Judgement:
        try:
            with bounded(JUDGE_SECONDS) as limit:
                return judge(text)
        except Exceeded as exc:
            if exc.limit is not limit:
                raise
            return Judgement(False, f"this answer could not be judged within {JUDGE_SECONDS} s; write it more simply",
                             retry=True)
        except MemoryError:
            return Judgement(False, "this answer is too large to judge; write it more simply", retry=True)
        except (ArithmeticError, TypeError, ValueError, AttributeError, NotImplementedError, RecursionError,
                IndexError) as exc:
            return Judgement(False, f"this answer cannot be compared ({type(exc).__name__})", retry=True)
    return bounded_judge


def _expression_judge(correct: sp.Expr, names: Namespace) -> Callable[[str], Judgement]:
    def judge(text: str) -> Judgement:
        try:
            answer = parse(text, names)
        except ParseError as exc:
            return Judgement(False, f"not an expression: {exc}", retry=True)
        comparison = compare(correct, answer)
        if comparison.equal:
            return Judgement(True, "correct")
        return Judgement(False, _feedback(correct, answer, comparison))
    return _bounded_judge(judge)


def _feedback(correct: sp.Expr, answer: sp.Expr, comparison) -> str:
    """The most specific thing that can be computed about a wrong answer."""
    if comparison.reason:
        return comparison.reason
    swapped = swapped_fans(answer, correct)
    if swapped is not None:
        return swapped
    if comparison.ratio is not None:
        return f"your answer is {pretty(comparison.ratio)} times the correct one"
    difference = comparison.difference
    if difference is not None and not isinstance(difference, sp.Add):
        if difference.could_extract_minus_sign():
            return f"a term is missing: {pretty(-difference)}"
        return f"there is an extra term: {pretty(difference)}"
    return "not equal to what the rule gives"


# ---------------------------------------------------------------- which assumption

def _assumption_questions(v: Verification) -> list[Question]:
    choices = list(v.derivation.assumptions.values())
    listing = ", ".join(f"{a.id} ({a.title})" for a in choices)
    out = []
    for r in v.steps:
        step = r.step
        if not step.uses:
            continue
        prompt = [f"Step {step.id} uses {step.rule}:", f"    {pretty(step.claim)}",
                  f"Which assumptions does it need? Choose from {listing} (e.g. A1, A3)."]
        hint = f"{step.rule} needs: " + (", ".join(RULES[step.rule].needs).replace("_", "-") or "no assumption")
        out.append(Question("assumption", f"[{step.id}]", prompt, hint, ", ".join(step.uses), ", ".join(step.uses),
                            _choice_judge(set(step.uses), {a.id for a in choices})))
    return out


def _choice_judge(correct: set[str], known: set[str]) -> Callable[[str], Judgement]:
    lookup = {k.lower(): k for k in known}

    def judge(text: str) -> Judgement:
        tokens = [t for t in text.replace(",", " ").split() if t]
        unknown = [t for t in tokens if t.lower() not in lookup]
        if unknown or not tokens:
            shown = ascii(unknown[0][:40])[1:-1] if unknown else "(empty)"
            return Judgement(False, f"not one of the choices: {shown}", retry=True)
        given = {lookup[t.lower()] for t in tokens}
        if given == correct:
            return Judgement(True, "correct")
        parts = []
        if correct - given:
            parts.append("missing " + ", ".join(sorted(correct - given)))
        if given - correct:
            parts.append("not needed here: " + ", ".join(sorted(given - correct)))
        return Judgement(False, "; ".join(parts))
    return judge


# ---------------------------------------------------------------- numbers

def _number_question(label: str, fan_in: int, fan_out: int, value: sp.Expr) -> Question:
    prompt = [f"A layer with fan-in {fan_in} and fan-out {fan_out}: what is the {label}?",
              f"(a number or an expression such as 0.05 or sqrt(2)/10; accepted within "
              f"{RELATIVE_TOLERANCE:.0%})"]
    exact = float(value)
    hints = {"Glorot uniform bound": "a = sqrt(6/(fan_in + fan_out))",
             "Glorot normal std": "sigma = sqrt(2/(fan_in + fan_out))",
             "He normal std": "sigma = sqrt(2/fan_in) for ReLU",
             "He uniform bound": "a = sqrt(6/fan_in) for ReLU",
             "LeCun uniform bound": "a = sqrt(3/fan_in)",
             "LeCun normal std": "sigma = sqrt(1/fan_in)",
             "He fan_out normal std": "sigma = sqrt(2/fan_out) for ReLU",
             "He fan_out uniform bound": "a = sqrt(6/fan_out) for ReLU"}

    def judge(text: str) -> Judgement:
        try:
            answer = parse(text, Namespace())
        except ParseError as exc:
            return Judgement(False, f"not a number: {exc}", retry=True)
        if isinstance(answer, sp.Equality) or not answer.is_number:
            return Judgement(False, "not a number", retry=True)
        value = answer.evalf(30)
        if not value.is_Number:                  # a law (Uniform(1, 2)), a moment: no numerical value
            return Judgement(False, "not a number", retry=True)
        if not value.is_real or value <= 0 or not value.is_finite:
            return Judgement(False, "a standard deviation or a bound is a positive number")
        ratio = float(value / exact) if exact else float("inf")
        if abs(ratio - 1) <= RELATIVE_TOLERANCE:
            return Judgement(True, f"correct ({exact:.6g})")
        return Judgement(False, f"your answer is {ratio:.3g} times the correct one")

    return Question("number", f"[{fan_in}->{fan_out}]", prompt, hints.get(label, ""), f"{exact:.6g}", f"{exact:.9g}",
                    _bounded_judge(judge))


def layer_values(results: dict[str, sp.Expr]) -> Callable[[int, int], dict]:
    """From verified results (name -> formula in n[i], n[i+1]) to the numbers of one concrete layer."""
    def values(fan_in: int, fan_out: int) -> dict:
        layer = {FAN_IN: fan_in, FAN_OUT: fan_out}
        return {label: in_fans(formula).xreplace(layer) for label, formula in results.items()}
    return values
