"""The engine: apply each step's rule to its input and compare with the claim. Data only: no printing.

For each step the rule gets, as input, the step's ``start`` expression (a new chain), the established facts of
the steps named in ``from`` (for a combining rule, a chain's result as ``Eq(chain start, result)``), or else
the previous step's expression. The expression a step hands on is its claim when the step verified; when the
claim was not shown equal to what the rule derived (wrong or unproven) it is the expression the rule derived, so
one failing step is reported once and does not cascade.

A claim the comparison cannot show equal is WRONG only when it is refuted: kernel.counterexample finds a point at
which claimed - derived is exactly a nonzero number (carried with the result). Otherwise it is UNPROVEN ("not
shown equal"): a failure too, but one that says the kernel could not decide, not that the claim is false.

Besides its verdict, each step carries: the obligations its rule discharged (with evidence and premises), its
relation (``=``, ``≈``, ``requires``, ``compromise``), whether it holds only to first order (it or a step it
rests on linearised), the first neglected term of a linearisation, the premise equations it rests on (a
``start`` that is an equation), and the cited assumptions whose declarations it used.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import sympy as sp

from . import domain
from .activation import ActivationCheck, RectifierCheck, check_activation, check_rectifier
from .compare import Comparison, compare
from .counterexample import Counterexample, counterexample
from .definitions import DefinitionError, negative_layers, shapes
from .laws import declaration_problem
from .derivation import FAMILY_FACTS, Assumption, Derivation, Step, is_layered, written_arity
from .model import Model
from .rules import APPROX, COMPROMISE, EQUAL, REQUIRES, RULES, Choices, Context, Obligation, ObligationFailed, RuleError, \
    negative_binder, range_binder
from .timelimit import TimeLimitExceeded, time_limit

STEP_SECONDS = 20

VERIFIED = "verified"
WRONG = "wrong"                  # refuted: a counterexample shows the claim differs from what the rule derives
UNPROVEN = "unproven"            # not shown equal to what the rule derives, and no counterexample found
ASSUMPTION = "assumption"        # a cited assumption about the activation is missing or false
REFUSED = "refused"              # an obligation of the rule is not shown
INAPPLICABLE = "inapplicable"    # the rule does not apply to its input


@dataclass(frozen=True)
class AssumptionResult:
    assumption: Assumption
    holds: bool | None               # None: a modelling premise, not computable
    evidence: str = ""
    unused: tuple[str, ...] = ()     # declarations about defined families: computed instead, never assumed


@dataclass(frozen=True)
class StepResult:
    step: Step
    verdict: str
    inputs: tuple[sp.Expr, ...]
    derived: sp.Expr | None = None
    comparison: Comparison | None = None
    message: str = ""
    relation: str = EQUAL
    approximate: bool = False                 # holds to first order only (itself or what it rests on)
    obligations: tuple[Obligation, ...] = ()
    neglected: str = ""
    premises: tuple[str, ...] = ()            # cited assumptions whose declarations it (or its inputs) used
    premise_steps: tuple[str, ...] = ()       # steps whose start is an equation taken as given
    failed: str = ""                          # the obligation that was not shown
    approximation: str = ""                   # how it is approximate: "to first order" (a linearisation), ...
    counterexample: Counterexample | None = None   # WRONG: where claimed and derived differ
    unit_ranges: tuple[tuple[sp.Symbol, sp.Expr, sp.Expr], ...] = ()   # (k, lo, hi): holds for k in lo..hi only
    failed_assumption: str = ""               # ASSUMPTION: the cited assumption about the activation that fails

    @property
    def ok(self) -> bool:
        return self.verdict == VERIFIED

    @property
    def is_premise(self) -> bool:
        return self.step.id in self.premise_steps


@dataclass(frozen=True)
class Verification:
    derivation: Derivation
    activation: ActivationCheck | None        # None when no assumption is about the activation
    assumptions: tuple[AssumptionResult, ...]
    steps: tuple[StepResult, ...]
    rectifier: RectifierCheck | None = None
    suggestion: str | None = None              # a built-in derivation that suits the activation better
    error: str = ""                            # the derivation as a whole is refused (its definitions)

    @property
    def checked(self) -> ActivationCheck | RectifierCheck | None:
        """The activation as checked, whichever assumption was about it."""
        return self.activation or self.rectifier

    @property
    def verified(self) -> int:
        return sum(r.ok for r in self.steps)

    @property
    def ok(self) -> bool:
        return (not self.error and self.verified == len(self.steps)
                and all(a.holds is not False for a in self.assumptions))

    @property
    def results(self) -> list[StepResult]:
        return [r for r in self.steps if r.step.result]


@dataclass
class _Chain:
    """What the engine carries from step to step."""

    handed_on: dict = field(default_factory=dict)       # step id -> expression
    facts: dict = field(default_factory=dict)           # step id -> established fact (an equation when possible)
    status: dict = field(default_factory=dict)          # step id -> StepResult


def verify(derivation: Derivation, activation: tuple[str, sp.Expr], explicit: bool = False) -> Verification:
    """Check every assumption that can be computed, then every step, in order. ``activation`` is the
    (name, f(x)) to check; ``explicit`` when the user chose it (then A1 is computed even if nobody cites it)."""
    name, fx = activation
    uses = {kind: any(getattr(a, kind) for a in derivation.assumptions.values()) for kind in ("activation", "rectifier")}
    computed = check_activation(name, fx)
    check = computed if uses["activation"] or explicit else None
    rectifier = check_rectifier(name, fx) if uses["rectifier"] else None
    try:
        found = shapes(tuple(derivation.definitions), random_names(derivation))
    except DefinitionError as exc:
        return Verification(derivation, check, (), (), rectifier, None, error=str(exc))
    declared = declaration_problem(derivation.symbols, derivation.assumptions, derivation.definitions)
    if declared is not None:
        return Verification(derivation, check, (), (), rectifier, None, error=": ".join(declared))
    assumption_results = tuple(_assumption_result(a, check, rectifier, found, derivation)
                               for a in derivation.assumptions.values())
    chain = _Chain()
    results: list[StepResult] = []
    previous: Step | None = None
    subject_of = subjects(derivation)
    for step in derivation.steps:
        subject = subject_of[step.id]
        result = _check_step(step, previous, subject, chain, derivation, computed, check, rectifier, assumption_results,
                             found)
        chain.status[step.id] = result
        chain.handed_on[step.id] = result.derived if result.verdict in (WRONG, UNPROVEN) else step.claim
        chain.facts[step.id] = _fact(chain.handed_on[step.id], subject)
        results.append(result)
        previous = step
    suggestion = None
    if check is not None and not check.holds and rectifier is None and check_rectifier(name, fx).holds:
        suggestion = "he"           # a rectifier: A1 cannot hold, He et al.'s derivation is the one for it
    return Verification(derivation, check, assumption_results, tuple(results), rectifier, suggestion)


def _ranges(groups) -> tuple[tuple[sp.Symbol, sp.Expr, sp.Expr], ...]:
    """The unit ranges of several results together: every constraint (k, lo, hi) of each, all of which hold (k
    in their intersection), without repeats, in a fixed order."""
    out = {tuple(r) for group in groups for r in group}
    return tuple(sorted(out, key=sp.default_sort_key))


def layered_names(derivation: Derivation, found: dict) -> frozenset[str]:
    """Random families whose first index is a layer (kernel.derivation.is_layered)."""
    arity = written_arity(derivation)
    return frozenset(name for name in random_names(derivation)
                     if is_layered(name, derivation.symbols, frozenset(found), arity))


def random_names(derivation: Derivation) -> frozenset[str]:
    return frozenset(name for name, decl in derivation.symbols.items() if decl.kind == "random")


def _fact(expr: sp.Expr | None, subject: sp.Expr | None) -> sp.Expr | None:
    """What a step establishes: its expression, or ``Eq(chain start, expression)`` for a chain."""
    if expr is None or isinstance(expr, sp.Equality) or subject is None or isinstance(subject, sp.Equality):
        return expr
    return sp.Eq(subject, expr, evaluate=False)


def subjects(derivation: Derivation) -> dict[str, sp.Expr | None]:
    """For each step id, the expression its chain started from (None for steps that combine others; a rule that
    takes the chain's expression and cites facts with ``from`` keeps the chain)."""
    out, subject = {}, None
    for step in derivation.steps:
        if step.start is not None:
            subject = step.start
        elif step.inputs and RULES[step.rule].arity != 0:
            subject = None
        out[step.id] = subject
    return out


def sources(step: Step, previous: str | None) -> tuple[str, ...]:
    """The earlier steps a step takes (``previous``: the id of the step before it): its ``from`` steps; without
    ``start`` and ``from``, the previous step; for a rule that takes the chain's expression and cites facts
    (arity 0, substitution), the previous step (without ``start``) and then its ``from`` steps. One rule for the
    engine, the reports and the sampled semantics."""
    chained = (previous,) if previous is not None and step.start is None else ()
    if RULES[step.rule].arity == 0:
        return chained + tuple(step.inputs)
    return tuple(step.inputs) if step.start is not None or step.inputs else chained


def _assumption_result(a: Assumption, check, rectifier, found, derivation: Derivation) -> AssumptionResult:
    unused = tuple(f"{kind.replace('_', ' ')} {name}" for kind in FAMILY_FACTS for name in sorted(getattr(a, kind))
                   if name in found and found[name].layer_symbol is not None and found[name].offset == 0)
    if a.activation:
        return AssumptionResult(a, check.holds, check.evidence(), unused)
    if a.rectifier:
        return AssumptionResult(a, rectifier.holds, rectifier.evidence(), unused)
    return AssumptionResult(a, None, "", unused)


def context_for(derivation: Derivation, uses, computed: ActivationCheck | None, check: ActivationCheck | None,
                rectifier: RectifierCheck | None, subject: sp.Expr | None, relations: tuple[str, ...] = (),
                found: dict | None = None, before: tuple[StepResult, ...] = ()) -> Context:
    """What a rule may know when the assumptions ``uses`` are cited: the model of their premises (with the
    computed facts about the activation), and the activation checks only if an assumption about it is cited."""
    cited = tuple(derivation.assumptions[a] for a in uses)
    model = Model(derivation.symbols, tuple(derivation.definitions), cited, computed, found, written_arity(derivation))
    resting = [derivation.assumptions[p] for r in before for p in r.premises]
    premises = {kind: frozenset().union(*(getattr(a, kind) for a in resting)) for kind in FAMILY_FACTS}
    return Context(derivation.symbols, tuple(derivation.definitions), model,
                   check if any(a.activation for a in cited) else None, subject,
                   rectifier if any(a.rectifier for a in cited) else None, relations,
                   tuple(r.step.rule for r in before), premises)


def _first_equal(derived, claim) -> tuple[sp.Expr, Comparison]:
    """The first of a rule's results (several when it returns Choices) equal to the claim, with its comparison;
    else the first result and its comparison."""
    options = derived if isinstance(derived, Choices) else (derived,)
    for option in options:
        comparison = compare(option, claim)
        if comparison.equal:
            return option, comparison
    return options[0], (comparison if len(options) == 1 else compare(options[0], claim))


def _apply(rule, step: Step, inputs: list, ctx: Context):
    """The rule on the step's input; with ``at``, on that subexpression only, put back in place of every
    occurrence of it (a term replaced by an equal one, for every value of its free indices)."""
    if step.at is None:
        return rule.apply(*inputs, ctx)
    if len(inputs) != 1 or isinstance(step.at, sp.Equality) or isinstance(inputs[0], sp.Equality):
        raise RuleError("'at' applies a rule to a subexpression of one input expression (not an equation)")
    if not inputs[0].has(step.at):
        raise RuleError(f"{sp.sstr(step.at)} (the step's 'at') does not occur in {sp.sstr(inputs[0])}")
    below = negative_binder(inputs[0], step.at)
    if below:
        raise RuleError(f"'at' cannot be used here: {below}")
    found = rule.apply(step.at, ctx)
    below = range_binder(inputs[0], step.at, ctx.unit_ranges)       # what the rule derived holds for those only
    if below:
        raise RuleError(f"'at' cannot be used here: {below}")
    options = found if isinstance(found, Choices) else (found,)
    if any(isinstance(o, sp.Equality) for o in options):
        raise RuleError(f"'{rule.name}' gives an equation, which cannot stand in place of a subexpression")
    out = [inputs[0].xreplace({step.at: o}) for o in options]
    return Choices(out) if isinstance(found, Choices) else out[0]


def _check_step(step: Step, previous: Step | None, subject, chain: _Chain, derivation: Derivation,
                computed: ActivationCheck, check, rectifier, assumptions, found) -> StepResult:
    rule = RULES[step.rule]
    refs = list(sources(step, previous.id if previous is not None else None))
    cited_facts: tuple = ()
    if rule.arity == 0:           # the chain's expression; the steps in 'from' are facts the rule may use
        cited_facts = tuple((ref, chain.facts[ref]) for ref in step.inputs)
        chained = refs[:len(refs) - len(step.inputs)]
        inputs = [step.start] if step.start is not None else [chain.handed_on[ref] for ref in chained]
    else:
        taken = [chain.facts[ref] if rule.arity > 1 else chain.handed_on[ref] for ref in refs]
        inputs = ([step.start] if step.start is not None else []) + taken
    before = [chain.status[ref] for ref in refs]
    premise_steps = {p for r in before for p in r.premise_steps}
    if step.start is not None and isinstance(step.start, sp.Equality):
        premise_steps.add(step.id)
    inherited = dict(approximate=any(r.approximate for r in before), premise_steps=tuple(sorted(premise_steps)),
                     premises=tuple(sorted({p for r in before for p in r.premises})),
                     approximation=", ".join(dict.fromkeys(r.approximation for r in before if r.approximation)),
                     unit_ranges=_ranges(r.unit_ranges for r in before))

    mentioned = set().union(*(e.free_symbols for e in (step.claim, subject) if e is not None))   # what it is about

    def result(verdict, derived=None, comparison=None, message="", failed="", ctx=None, failed_assumption=""):
        if ctx is None:
            return StepResult(step, verdict, tuple(inputs), derived, comparison, message, rule.relation,
                              failed=failed, failed_assumption=failed_assumption, **inherited)
        own = {p for o in ctx.obligations for p in o.premises}
        approximate = inherited["approximate"] or ctx.relation == APPROX or any(o.approximate for o in ctx.obligations)
        carried = [r.relation for r in before if r.relation in (REQUIRES, COMPROMISE)]
        if ctx.relation in (EQUAL, APPROX) and carried:
            ctx.relation = carried[0]        # rewriting a requirement gives a requirement, not a fact
        kinds = [inherited["approximation"]] if inherited["approximation"] else []
        if ctx.relation == APPROX or any(o.approximate for o in ctx.obligations):
            kinds.append(ctx.approximation)
        return StepResult(step, verdict, tuple(inputs), derived, comparison, message, ctx.relation, approximate,
                          tuple(ctx.obligations), ctx.neglected, tuple(sorted(own | set(inherited["premises"]))),
                          inherited["premise_steps"], failed, approximation=", ".join(dict.fromkeys(kinds)),
                          unit_ranges=tuple(r for r in _ranges([inherited["unit_ranges"], ctx.unit_ranges])
                                            if r[0] in mentioned))

    layered = layered_names(derivation, found)
    for expr in [step.claim, step.start, *inputs]:
        problem = domain.problem(expr) if expr is not None else None
        if problem:
            return result(REFUSED, message=f"not a real expression: {problem}", failed="a real expression")
        below = negative_layers(expr, layered) if expr is not None else None
        if below:
            return result(REFUSED, message=below, failed="nonnegative layers")
    cited = tuple(derivation.assumptions[a] for a in step.uses)
    for kind in ("activation", "rectifier"):
        if kind in rule.needs and not any(getattr(a, kind) for a in cited):
            return result(ASSUMPTION, message=f"rule '{rule.name}' needs an {kind} assumption; the step cites "
                                              f"{', '.join(step.uses) or 'none'}")
    for outcome in assumptions:
        a = outcome.assumption
        if a in cited and outcome.holds is False and ((a.activation and "activation" in rule.needs)
                                                      or (a.rectifier and "rectifier" in rule.needs)):
            name = (check or rectifier).name
            return result(ASSUMPTION, message=f"assumption {a.id} fails for {name}: {outcome.evidence}",
                          failed_assumption=a.id)
    ctx = context_for(derivation, step.uses, computed, check, rectifier, subject,
                      tuple(r.relation for r in before), found, tuple(before))
    ctx.relation = rule.relation
    ctx.cited_facts, ctx.cited = cited_facts, cited
    ctx.cited_ranges = {ref: chain.status[ref].unit_ranges for ref, _ in cited_facts}
    try:
        with time_limit(STEP_SECONDS):
            derived, comparison = _first_equal(_apply(rule, step, inputs, ctx), step.claim)
    except ObligationFailed as exc:
        return result(REFUSED, message=str(exc), failed=exc.name, ctx=ctx)
    except RuleError as exc:
        return result(INAPPLICABLE, message=str(exc), ctx=ctx)
    except TimeLimitExceeded:
        return result(INAPPLICABLE, message=f"not decided within {STEP_SECONDS} s", ctx=ctx)
    except (TypeError, ValueError, NotImplementedError, ZeroDivisionError, AttributeError, RecursionError) as exc:
        # SymPy failing on an unusual expression in a user's file: the step is not verified, said in one line
        return result(INAPPLICABLE, message=f"SymPy could not apply the rule ({type(exc).__name__})", ctx=ctx)
    if comparison.equal:
        return result(VERIFIED, derived, comparison, ctx=ctx)
    refuted = counterexample(derived, step.claim, derivation.symbols)      # bounded in time itself, never raises
    if refuted is None:
        return result(UNPROVEN, derived, comparison, message="not shown equal", ctx=ctx)
    return dataclasses.replace(result(WRONG, derived, comparison, message="the claim does not follow", ctx=ctx),
                               counterexample=refuted)
