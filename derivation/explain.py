"""Each step explained: what changes and why, the rule as a formula, the assumptions it needs and what
goes wrong without them. The words come from the derivation file (note, without) and the rules' formulas;
in depth, the rule is also run again with each cited assumption withdrawn, to show what it computes then.
Data only; the text is laid out by the template explain.txt.j2, and fitted to the terminal by :func:`laid_out`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from . import prose
from .printing import pretty
from .report import qualifiers, verdict_detail
from .kernel.rules import RULES, Choices, RuleError
from .kernel.check import STEP_SECONDS, StepResult, Verification, context_for, subjects
from .kernel.timelimit import TimeLimitExceeded, time_limit


@dataclass(frozen=True)
class Withdrawn:
    assumption: str
    outcome: str          # what the rule derives without it, or why it cannot apply


@dataclass(frozen=True)
class Explanation:
    id: str
    section: str
    rule: str
    formula: str
    inputs: list[str]
    origin: list[str]     # the steps the inputs come from (empty: the previous step)
    start: str | None
    result: str
    note: str
    needs: list[tuple[str, str, str]]        # (id, title, statement)
    without: str
    verdict: str
    ok: bool
    relation: str = "to"                     # how the result relates to the input: to, ≈ to, requires, chooses
    qualifiers: list[str] = field(default_factory=list)   # premise, requirement, first order, assumptions
    depth: list[str] = field(default_factory=list)          # the rule's docstring, in depth
    withdrawn: list[Withdrawn] = field(default_factory=list)


def laid_out(text: str, out) -> str:
    """One step's text as the template writes it, for the terminal ``out`` (derivation.terminal.Terminal): the
    heading in bold, the verdict line green or red, every line wrapped to the width with a hanging indent under
    its label (``why``, ``needs``, ...), expressions kept whole."""
    lines = text.split("\n")
    if lines and lines[0]:
        lines[0] = out.style("bold", lines[0])
    if len(lines) > 1:
        verdict = lines[-1].lstrip()
        if verdict.startswith(("✓", "✗")):
            indent = lines[-1][: len(lines[-1]) - len(verdict)]
            lines[-1] = indent + out.style("ok" if verdict.startswith("✓") else "bad", verdict)
    return out.wrap("\n".join(lines))


def explain(v: Verification, step_id: str | None = None) -> list[Explanation]:
    """Explanations for every step, or for ``step_id`` alone and in depth (KeyError if unknown)."""
    d = v.derivation
    chosen = [r for r in v.steps if step_id is None or r.step.id == step_id]
    if not chosen:
        raise KeyError(step_id)
    subject_of = subjects(d)
    return [_one(v, r, subject_of[r.step.id], in_depth=step_id is not None) for r in chosen]


def _one(v: Verification, r: StepResult, subject, in_depth: bool) -> Explanation:
    step, rule = r.step, RULES[r.step.rule]
    needs = [(a, v.derivation.assumptions[a].title, prose.plain(v.derivation.assumptions[a].statement))
             for a in step.uses]
    explanation = Explanation(
        id=step.id, section=step.section, rule=step.rule, formula=prose.plain(rule.formula),
        inputs=[pretty(x) for x in r.inputs], origin=list(step.inputs),
        start=pretty(step.start) if step.start is not None else None, result=pretty(step.claim),
        note=prose.plain(step.note), needs=needs, without=prose.plain(step.without),
        verdict=verdict_detail(r), ok=r.ok,
        relation={"≈": "≈ to", "requires": "requires", "compromise": "chooses"}.get(r.relation, "to"),
        qualifiers=qualifiers(r))
    if in_depth:
        explanation.depth.extend(inspect.cleandoc(rule.apply.__doc__ or "").splitlines())
        for aid in step.uses:
            rest = [a for a in step.uses if a != aid]
            ctx = context_for(v.derivation, rest, v.activation, v.activation, v.rectifier, subject)
            try:                # bounded as the kernel bounds a step (the input is the file's, and may be large)
                with time_limit(STEP_SECONDS) as limit:
                    derived = rule.apply(*r.inputs, ctx)
                    outcome = "the rule derives " + pretty(derived[0] if isinstance(derived, Choices) else derived)
            except RuleError as exc:
                outcome = f"the rule cannot apply: {exc}"
            except TimeLimitExceeded as exc:
                if exc.limit is not limit:
                    raise
                outcome = f"not decided within {STEP_SECONDS} s"
            except (TypeError, ValueError, NotImplementedError, ZeroDivisionError, AttributeError,
                    RecursionError) as exc:
                outcome = f"SymPy could not apply the rule ({type(exc).__name__})"
            explanation.withdrawn.append(Withdrawn(aid, outcome))
    return explanation
