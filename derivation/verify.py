"""The engine: apply each step's rule to the previous expression and compare with the claim.

Data only: no printing. For each step the rule gets, as input, the step's ``start`` expression (a new
chain), the expressions of the steps named in ``from``, or else the previous step's expression. The
expression a step hands on is its claim as written when the step verified; when the claim was wrong it is
the expression the rule derived, so one wrong step is reported once and does not cascade.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .assumptions import ActivationCheck, RectifierCheck, check_activation, check_rectifier
from .equivalence import Comparison, compare
from .model import Assumption, Derivation, Step
from .rules import RULES, Context, RuleError
from .timelimit import TimeLimitExceeded, time_limit

STEP_SECONDS = 20

VERIFIED = "verified"
WRONG = "wrong"                  # the claim does not follow from the rule
ASSUMPTION = "assumption"        # a hypothesis the rule needs is missing or false
INAPPLICABLE = "inapplicable"    # the rule does not apply to its input


@dataclass(frozen=True)
class AssumptionResult:
    assumption: Assumption
    holds: bool | None               # None: a modelling hypothesis, not computable
    evidence: str = ""


@dataclass(frozen=True)
class StepResult:
    step: Step
    verdict: str
    inputs: tuple[sp.Expr, ...]
    derived: sp.Expr | None = None
    comparison: Comparison | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict == VERIFIED


@dataclass(frozen=True)
class Verification:
    derivation: Derivation
    activation: ActivationCheck | None        # None when no assumption is about the activation
    assumptions: tuple[AssumptionResult, ...]
    steps: tuple[StepResult, ...]
    rectifier: RectifierCheck | None = None
    suggestion: str | None = None              # a built-in derivation that suits the activation better

    @property
    def checked(self) -> ActivationCheck | RectifierCheck | None:
        """The activation as checked, whichever assumption was about it."""
        return self.activation or self.rectifier

    @property
    def verified(self) -> int:
        return sum(r.ok for r in self.steps)

    @property
    def ok(self) -> bool:
        return self.verified == len(self.steps) and all(a.holds is not False for a in self.assumptions)

    @property
    def results(self) -> list[StepResult]:
        return [r for r in self.steps if r.step.result]


def verify(derivation: Derivation, activation: str | None = None) -> Verification:
    """Check every assumption that can be computed, then every step, in order."""
    spec = activation or derivation.activation
    parameters, values = derivation.namespace.symbols, derivation.values
    uses = {kind: any(getattr(a, kind) for a in derivation.assumptions.values()) for kind in ("activation", "rectifier")}
    check = check_activation(spec, parameters, values) if uses["activation"] or activation else None
    rectifier = check_rectifier(spec, parameters, values) if uses["rectifier"] else None
    assumption_results = tuple(_assumption_result(a, check, rectifier) for a in derivation.assumptions.values())
    handed_on: dict[str, sp.Expr] = {}
    results: list[StepResult] = []
    previous: Step | None = None
    for step, subject in zip(derivation.steps, subjects(derivation)):
        inputs = _inputs(step, previous, handed_on)
        result = _check_step(step, inputs, context_for(derivation, step.uses, check, rectifier, subject), derivation,
                             assumption_results)
        handed_on[step.id] = result.derived if result.verdict == WRONG else step.claim
        results.append(result)
        previous = step
    suggestion = None
    if check is not None and not check.holds and rectifier is None and check_rectifier(spec, parameters, values).holds:
        suggestion = "he"           # a rectifier: A1 cannot hold, He et al.'s derivation is the one for it
    return Verification(derivation, check, assumption_results, tuple(results), rectifier, suggestion)


def subjects(derivation: Derivation) -> list[sp.Expr | None]:
    """For each step, the expression its chain started from (None for steps that combine others)."""
    out, subject = [], None
    for step in derivation.steps:
        if step.start is not None:
            subject = step.start
        elif step.inputs:
            subject = None
        out.append(subject)
    return out


def _assumption_result(a: Assumption, check: ActivationCheck | None, rectifier: RectifierCheck | None):
    if a.activation:
        return AssumptionResult(a, check.holds, check.evidence())
    if a.rectifier:
        return AssumptionResult(a, rectifier.holds, rectifier.evidence())
    return AssumptionResult(a, None)


def _inputs(step: Step, previous: Step | None, handed_on: dict[str, sp.Expr]) -> tuple[sp.Expr, ...]:
    inputs = [step.start] if step.start is not None else []
    inputs += [handed_on[ref] for ref in step.inputs]
    if not inputs and previous is not None:
        inputs = [handed_on[previous.id]]
    return tuple(inputs)


def context_for(derivation: Derivation, uses, check: ActivationCheck | None, rectifier: RectifierCheck | None,
                subject: sp.Expr | None) -> Context:
    """What a rule may know when the assumptions ``uses`` are cited: only their facts."""
    facts: dict[str, frozenset[str]] = {}
    cited = [derivation.assumptions[a] for a in uses]
    for kind in ("independent", "iid", "zero_mean"):
        facts[kind] = frozenset().union(*(getattr(a, kind) for a in cited))
    activation = check if any(a.activation for a in cited) else None
    rectifier = rectifier if any(a.rectifier for a in cited) else None
    return Context(derivation.symbols, tuple(derivation.definitions), facts, activation, subject, rectifier)


def _check_step(step: Step, inputs: tuple[sp.Expr, ...], ctx: Context, derivation: Derivation,
                assumptions: tuple[AssumptionResult, ...]) -> StepResult:
    rule = RULES[step.rule]
    provided = set().union(*(derivation.assumptions[a].provides() for a in step.uses))
    missing = [kind for kind in rule.needs if kind not in provided]
    if missing:
        kinds = ", ".join(kind.replace("_", "-") for kind in missing)
        cited = ", ".join(step.uses) or "none"
        return StepResult(step, ASSUMPTION, inputs, message=f"rule '{rule.name}' needs a {kinds} assumption; "
                                                            f"the step cites {cited}")
    for result in assumptions:
        a = result.assumption
        if a.id in step.uses and result.holds is False and (a.provides() & set(rule.needs)):
            name = (ctx.activation or ctx.rectifier).name
            return StepResult(step, ASSUMPTION, inputs, message=f"assumption {a.id} fails for {name}: {result.evidence}")
    try:
        with time_limit(STEP_SECONDS):
            derived = rule.apply(*inputs, ctx)
            comparison = compare(derived, step.claim)
    except RuleError as exc:
        return StepResult(step, INAPPLICABLE, inputs, message=str(exc))
    except TimeLimitExceeded:
        return StepResult(step, INAPPLICABLE, inputs, message=f"not decided within {STEP_SECONDS} s")
    except (TypeError, ValueError, NotImplementedError, ZeroDivisionError, AttributeError) as exc:
        # SymPy failing on an unusual expression in a user's file: the step is not verified, said in one line
        return StepResult(step, INAPPLICABLE, inputs, message=f"SymPy could not apply the rule ({type(exc).__name__})")
    if comparison.equal:
        return StepResult(step, VERIFIED, inputs, derived, comparison)
    return StepResult(step, WRONG, inputs, derived, comparison, message="the claim does not follow")
