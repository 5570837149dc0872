"""The quiz's bank as a GIFT file (Moodle's text format for questions): ``quiz --export FILE.gift``.

What GIFT can express faithfully, and only that:
  number       numerical questions ``{#=value:tolerance ...}``, the absolute tolerance being the quiz's relative
               one times the value; each classic mistake as a 0% answer with the quiz's own diagnosis as feedback.
               The layers are NUMBER_LAYERS per result, drawn with the seed from the fans the quiz itself uses.
  assumption   multiple-answer (``~%50%A2 ~%50%A3 ~%-100%A1``), exported only when the quiz's judge accepts exactly
               one set of assumptions (it also accepts any other set with which the kernel verifies the step, which
               a list of weights cannot say); per-choice feedback says why each is needed or not.
  concept      the author's multiple-choice questions (``=right ~%0%wrong``), the explanation as general feedback.
Left out: every question answered by an expression (next step, chain start, law, combine, and the author's
expression questions). The quiz judges those by the kernel, so that any equal form is right; Moodle's short answer
compares spelling and would mark `Var[W[i]] == 1/n[i]` wrong against `n[i]*Var[W[i]] == 1`. The header comment
says how many were left out and why.

Text is plain (``[plain]``: no HTML, no Markdown, so ``**`` and ``<`` stay as written), the math in the quiz's
syntax; GIFT's special characters ``~ = # { } :`` and the backslash are escaped, line breaks written ``\\n``.
"""

from __future__ import annotations

import itertools
import random

from . import __version__
from .crosscheck import FAN_IN, FAN_OUT, in_fans
from .quiz import RELATIVE_TOLERANCE, Question, bank
from .quizbank import classic_mistakes

NUMBER_LAYERS = 4              # layers per verified result (uniform bound, normal std) in the export
SUBSETS_LIMIT = 8              # assumption questions with more choices are not checked for a unique answer: left out
SPECIAL = "\\~=#{}:"           # the backslash first: escaping it must not escape the escapes


def escape(text: str) -> str:
    """``text`` for a GIFT file: the special characters escaped, one line (``\\n`` for a line break)."""
    for char in SPECIAL:
        text = text.replace(char, "\\" + char)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def _percent(fraction: float) -> str:
    """A weight as Moodle's import accepts it (its grade list: 100, 50, 33.33333, ...; five decimals at most)."""
    return f"{100 * fraction:.5f}".rstrip("0").rstrip(".")


def _number(value: float) -> str:
    return f"{value:.10g}"


def _title(tag: str, kind: str) -> str:
    return f"::{escape(f'[{tag}] {kind}')}::"


def _question(title: str, stem: list[str], answers: list[str], feedback: str, numerical: bool = False) -> str:
    lines = [f"{title}[plain]{escape(chr(10).join(stem))}{{" + ("#" if numerical else "")]
    lines += [f"\t{a}" for a in answers]
    if feedback:
        lines.append(f"\t####{escape(feedback)}")
    lines.append("}")
    return "\n".join(lines)


def _number_questions(b, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for label in sorted(b.layers):
        pairs = list(b.fan_pairs(label))
        rng.shuffle(pairs)
        taken: set[str] = set()
        fans = in_fans(b.layers[label])
        mistakes = classic_mistakes(label, fans)
        for fan_in, fan_out in pairs:
            if len(taken) == NUMBER_LAYERS:
                break
            q = b.number_question(label, fan_in, fan_out)
            if q.answer in taken:                      # (64, 300) and (300, 64) agree for Glorot
                continue
            taken.add(q.answer)
            layer = {FAN_IN: fan_in, FAN_OUT: fan_out}
            exact = float(fans.xreplace(layer))
            answers = [f"={_number(exact)}:{_number(RELATIVE_TOLERANCE * exact)}#{escape('right: ' + q.explanation)}"]
            for name, formula in mistakes:
                wrong = float(formula.xreplace(layer))
                answers.append(f"=%0%{_number(wrong)}:{_number(RELATIVE_TOLERANCE * wrong)}#"
                               f"{escape('that is ' + name)}")
            stem = [q.prompt[0], f"(a number; accepted within {RELATIVE_TOLERANCE:.0%} of the right value)"]
            out.append(_question(_title(q.tag, f"number, {label}"), stem, answers, q.explanation, numerical=True))
    return out


def _accepted(q: Question) -> list[frozenset] | None:
    """Every set of assumptions that the quiz's judge accepts for ``q`` (None: too many to try)."""
    ids = [text.split(" ", 1)[0] for text, _, _ in q.choices]
    if len(ids) > SUBSETS_LIMIT:
        return None
    subsets = (frozenset(c) for size in range(len(ids) + 1) for c in itertools.combinations(ids, size))
    return [s for s in subsets if q.judge(" ".join(sorted(s)) or "none").correct]


def _assumption_question(q: Question) -> str | None:
    accepted = _accepted(q)
    needed = frozenset(text.split(" ", 1)[0] for text, right, _ in q.choices if right)
    if accepted != [needed]:
        return None
    choices = list(q.choices)
    if not needed:
        choices.append(("none", True, "right: the kernel verifies it citing none of them"))
    rights = sum(1 for _, right, _ in choices if right)
    wrongs = len(choices) - rights
    answers = [f"~%{_percent(1 / rights) if right else '-' + _percent(1 / wrongs)}%{escape(text)}"
               + (f"#{escape(feedback)}" if feedback else "") for text, right, feedback in choices]
    stem = q.prompt[:2] + [q.prompt[2].split(" Choose from ")[0] + " Tick every one it needs."]
    return _question(_title(q.tag, "assumption"), stem, answers, q.explanation)


def _choice_question(q: Question) -> str:
    answers = [("=" if right else "~%0%") + escape(text) + (f"#{escape(feedback)}" if feedback else "")
               for text, right, feedback in q.choices]
    stem = q.prompt[:1]                                 # the prompt; the choices and "(answer with ...)" follow it
    return _question(_title(q.tag, "concept"), stem, answers, q.explanation)


def export(verification, layers: dict, seed: int) -> tuple[str, int]:
    """The GIFT text of the bank of ``verification`` (``layers``: the verified results for number questions) and
    how many questions it holds."""
    b = bank(verification, layers)
    d = verification.derivation
    numbers = _number_questions(b, seed)
    assumptions = [_assumption_question(q) for q in b.assumptions]
    kept = [a for a in assumptions if a is not None]
    choices = [_choice_question(q) for q in b.concepts if q.choices]
    expressions = len(b.steps) + sum(1 for q in b.concepts if not q.choices)
    questions = numbers + kept + choices
    header = [
        f"// {d.title} ({d.name}): questions of `python -m derivation quiz {d.name}`, exported as GIFT for Moodle",
        f"// by derivation {__version__}, seed {seed} (which layers the number questions use)",
        f"// {len(numbers)} numerical, {len(kept)} multiple-answer (assumptions), {len(choices)} multiple-choice",
        f"// left out: {expressions} expression question(s), since the quiz judges any equal form right and Moodle's",
        "// short answer would accept only the one spelling",
    ]
    if len(kept) < len(assumptions):
        header.append(f"// left out: {len(assumptions) - len(kept)} assumption question(s) with more than one "
                      f"right set of assumptions")
    return "\n".join(header) + "\n\n" + "\n\n".join(questions) + "\n", len(questions)
