"""Every step cross-examined on a concrete model: what the step means there, computed by Monte Carlo.

What a step asserts, read without the kernel's rules:
* a claim that is an expression: the step's input and its claim have the same value. For a linearisation
  (relation ≈) that holds in the model where the displayed activation calls are replaced by their first-order
  Taylor polynomial ``f(0) + f'(0) u`` (and ``f'(u)`` by ``f'(0)``); the true input is also measured, and its
  relative error ``(input - claim)/claim`` shown beside the kernel's predicted first neglected term
  ``f'''(0) Var[u]`` (for a centred Gaussian ``u``: ``Var[f(u)] = Var[u] (1 + f'''(0) Var[u] + ...)`` and
  ``E[f'(u)^2] = 1 + f'''(0) Var[u] + ...``);
* a requirement ``Var[W[i]] == v(i)`` (forward or backward condition): in the model where every layer ``l``
  of W has variance ``v(l)``, the input equals the chain's start one layer down (forward) or up (backward);
* a compromise ``Var[W[i]] == v`` from two requirements ``v1``, ``v2``: ``v = 2/(1/v1 + 1/v2)`` (exact);
* a parameter solved, ``a == v``: with ``a := v`` the law it parametrises has the variance the requirement asks;
* a premise (a ``start`` that is an equation): taken as given, nothing to compare.

The model satisfies the premises of the assumptions the step cites (a step that cites none: those of the
steps it rests on); where a family-level moment such as ``Var[z[i]]`` is then not one number, the premises of
the whole chain are used instead, and the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import sympy as sp

from ..kernel import terms as v
from ..kernel.check import Verification, StepResult, sources, subjects
from ..kernel.derivation import Derivation, Step
from ..kernel.rules import APPROX, COMPROMISE, REQUIRES, RULES
from .estimate import BATCHES, Z, Agreement, Reading, agree
from .laws import stable_seed
from .world import CannotSample, NotOneNumber, Premises, World

DEFAULT_SAMPLES = 40_000
APPROXIMATION_SLACK = 0.25      # a linearisation is refuted when its error exceeds the expected one by this

EQUAL_KIND, APPROXIMATE, REQUIREMENT, COMPROMISE_KIND, SOLVE, PREMISE, NOT_SAMPLED = (
    "equal", "approximate", "requirement", "compromise", "solve", "premise", "not sampled")


@dataclass(frozen=True)
class Examination:
    """One step on a concrete model: the two sides compared, and what was compared."""

    step: str
    kind: str
    left: Reading | None = None           # the input (or what the claim must equal there)
    right: Reading | None = None          # the claim
    agreement: Agreement | None = None
    detail: str = ""                      # what was compared, or why nothing was
    values: tuple[tuple[str, object], ...] = ()   # the concrete model: indices, sizes, parameters
    measured: Reading | None = None       # ≈: the measured relative error (input - claim)/claim
    predicted: float | None = None        # ≈: the kernel's first neglected term, f'''(0) Var[u], relative
    kurtosis: float | None = None         # ≈: E[(u - E u)^4]/Var[u]^2 of the argument here (3 for a Gaussian)
    expected: float | None = None         # ≈: the first neglected term for this argument (see expected_error)
    labels: tuple[str, str] = ("input", "claim")   # what the two sides are, in words
    exprs: tuple = (None, None)           # and, where they are expressions, which (for typesetting)

    def side(self, which: int) -> str:
        """What side ``which`` (0: left, 1: right) is, as one line of text."""
        expr = self.exprs[which]
        return " ".join(p for p in (self.labels[which], "" if expr is None else sp.sstr(expr)) if p)
    chain_world: bool = False             # the premises of the whole chain were needed

    @property
    def agrees(self) -> bool | None:
        return None if self.agreement is None else self.agreement.holds


def examine(verification: Verification, activation: sp.Expr | None, seed: int = 0,
            samples: int = DEFAULT_SAMPLES) -> list[Examination]:
    """Each step of a checked derivation, examined on its own concrete model (seeded by ``seed`` and the id)."""
    derivation = verification.derivation
    third = verification.activation.third if verification.activation is not None and \
        verification.activation.holds else None
    chains = chain_uses(derivation)
    subject_of = subjects(derivation)
    return [examine_step(derivation, result, subject_of[result.step.id], chains[result.step.id], activation, third,
                         seed, samples) for result in verification.steps]


def examine_step(derivation: Derivation, result: StepResult, subject, chain: frozenset[str], activation,
                 third, seed: int, samples: int, claim: sp.Expr | None = None) -> Examination:
    """One step (its claim, or ``claim`` instead) on the model seeded by ``seed``."""
    step = result.step
    claim = step.claim if claim is None else claim
    cited = [a for a in step.uses if a in derivation.assumptions] or sorted(chain)
    attempts = [(cited, False)] + ([(sorted(chain), True)] if set(chain) != set(cited) else [])
    outcome = None
    for uses, widened in attempts:
        premises = Premises.of([derivation.assumptions[a] for a in uses])
        try:
            outcome = _examine(derivation, result, claim, subject, premises, activation, third, seed, samples)
        except NotOneNumber as exc:
            # the claim writes one number for instances that differ: refuted; in the input: not examined
            outcome = Examination(step.id, EQUAL_KIND if exc.in_claim else NOT_SAMPLED,
                                  agreement=Agreement(float("nan"), 0.0, False, None) if exc.in_claim else None,
                                  detail=str(exc), values=exc.values)
            continue
        except CannotSample as exc:
            return Examination(step.id, NOT_SAMPLED, detail=str(exc))
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            return Examination(step.id, NOT_SAMPLED, detail=f"could not be evaluated ({type(exc).__name__})")
        if widened:
            outcome = replace(outcome, chain_world=True)
        return outcome
    return outcome


def _examine(derivation: Derivation, result: StepResult, claim, subject, premises: Premises, activation, third,
             seed: int, samples: int) -> Examination:
    step = result.step
    rule = RULES.get(step.rule)
    world_seed = stable_seed("step", seed, step.id)
    if step.start is not None and isinstance(step.start, sp.Equality):
        return Examination(step.id, PREMISE, detail="a premise: its start is an equation taken as given")
    relation = rule.relation if rule is not None else None
    inputs = list(result.inputs)
    small = relation == APPROX or any(o.approximate for o in result.obligations)
    world = World(derivation, activation, premises, world_seed, samples, small=small)
    if isinstance(claim, sp.Equality):
        if relation == REQUIRES:
            return _requirement(world, step, claim, inputs, subject)
        if relation == COMPROMISE:
            return _compromise(world, step, claim, inputs)
        if isinstance(claim.lhs, sp.Symbol) and world._kind(claim.lhs) in ("positive", "real"):
            return _solve(world, step, claim, inputs)
        if inputs and isinstance(inputs[0], sp.Equality):
            return _equations(world, step, claim, inputs[0])
        raise CannotSample("an equation claim that is neither a requirement, a compromise nor a solved parameter")
    if not inputs:
        raise CannotSample("the step has no input to compare with")
    source = inputs[0].rhs if isinstance(inputs[0], sp.Equality) else inputs[0]
    if step.rule == "rectifier derivative moment":
        return _kink(world, step, claim, source)
    if relation == APPROX or any(o.approximate for o in result.obligations):
        # the kernel claims this step to first order only (a linearisation, or E[f(u)] = 0 for a centred u that
        # is not shown symmetric): that weaker claim is what is examined, and the true error is shown
        return _approximate(world, step, claim, source, third)
    world.fix_indices([source, claim])
    world.shown = [source, claim]
    _set_top(world, [source, claim], above=2 if step.rule == "chain rule" else 0)
    if _is_random(world, source) or _is_random(world, claim):
        return _random_equal(world, step, source, claim)
    left = world.number(source)
    return _done(world, step, EQUAL_KIND, left, _claimed(world, claim), "the input and the claim")


def _claimed(world: World, claim) -> np.ndarray:
    """The claim's value; a family-level moment that is not one number there refutes the claim."""
    try:
        return world.number(claim)
    except NotOneNumber as exc:
        exc.in_claim = True
        exc.values = shown(world, world.shown)
        raise


def _is_random(world: World, expr) -> bool:
    """Whether ``expr`` has a random variable outside every Var[...], E[...] and Cov[..., ...]."""
    if isinstance(expr, v.MOMENTS):
        return False
    if isinstance(expr, (v.f, v.df, v.Uniform, v.Normal)):
        return True
    if isinstance(expr, sp.Indexed):
        return world._kind(expr.base) == "random"
    if isinstance(expr, sp.Symbol):
        return world._kind(expr) == "random"
    return any(_is_random(world, a) for a in expr.args)


def _random_equal(world: World, step: Step, source, claim) -> Examination:
    """Two random expressions are equal when they are equal draw by draw: the root mean square of their
    difference must vanish (up to 1e-6 of their size, the finite differences of a gradient)."""
    a, b = np.broadcast_arrays(np.asarray(world.draws_of(source), dtype=float),
                               np.asarray(world.draws_of(claim), dtype=float))
    rms = float(np.sqrt(np.mean((a - b) ** 2)))
    scale = float(np.sqrt(np.mean(a**2) + np.mean(b**2)))
    holds = bool(np.isfinite(rms)) and rms <= 1e-6 * max(1.0, scale)
    return Examination(step.id, EQUAL_KIND, Reading(float(np.mean(a)), 0.0), Reading(float(np.mean(b)), 0.0),
                       Agreement(rms, 0.0, holds, None),
                       "the input and the claim, draw by draw (their mean shown; root mean square difference)",
                       shown(world, world.shown))


def _done(world: World, step: Step, kind: str, left: np.ndarray, right: np.ndarray, detail: str, **extra):
    return Examination(step.id, kind, Reading.of(left), Reading.of(right), agree(left, right), detail,
                       shown(world, world.shown), **extra)


def shown(world: World, exprs) -> tuple[tuple[str, object], ...]:
    """The values of the concrete model that the step's expressions mention: free indices, parameters and the
    sizes and constants they reach at those indices."""
    names = set()
    for expr in exprs:
        for node in sp.preorder_traversal(expr):
            if isinstance(node, sp.Symbol):
                names.add(node.name)
            elif isinstance(node, sp.Indexed) and world._kind(node.base) in ("size", "constant"):
                try:
                    names.add(f"{node.base.name}[{', '.join(str(world._integer(i, {})) for i in node.indices)}]")
                except CannotSample:
                    continue
    return tuple((name, value) for name, value in sorted(world.values.items()) if name in names)


def _set_top(world: World, exprs, above: int = 0) -> None:
    """The top layer of the gradients: the highest layer of a gradient variable the step mentions (plus
    ``above``: a chain rule is a fact about the network, examined with every gradient it mentions computed)."""
    gradients = {n for n, d in world.decl.items() if d.gradient_of}
    layers = []
    for expr in exprs:
        for node in sp.preorder_traversal(expr):
            if isinstance(node, sp.Indexed) and node.base.name in gradients and node.indices:
                try:
                    layers.append(world._integer(node.indices[0], {}))
                except CannotSample:
                    continue
    world.top = max(layers) + above if layers else None


def _approximate(world: World, step: Step, claim, source, third) -> Examination:
    world.fix_indices([source, claim])
    world.shown = [source, claim]
    _set_top(world, [source, claim])
    f0, f1 = _taylor(world)
    linear = source.replace(v.f, lambda u: f0 + f1 * u).replace(v.df, lambda u: f1)
    left, right, actual = world.number(linear), world.number(claim), world.number(source)
    with np.errstate(all="ignore"):
        measured = Reading.of((actual - right) / right)
    calls = sorted(source.atoms(v.f, v.df), key=sp.default_sort_key)
    predicted = kurtosis = None
    if third is not None and calls:
        u = world.draws_of(calls[0].args[0])
        spread = float(np.var(u))
        predicted = float(world.exact(sp.sympify(third), {})) * spread
        kurtosis = float(np.mean((u - np.mean(u)) ** 4) / spread**2) if spread > 0 else None
    examination = _done(world, step, APPROXIMATE, left, right,
                        f"the claim and the input with f linearised at 0 (f(u) = {f0:.4g} + {f1:.4g} u)",
                        measured=measured, predicted=predicted, kurtosis=kurtosis, labels=("linearised input", "claim"))
    expected = expected_error(examination, isinstance(calls[0], v.f) if calls else True)
    examination = replace(examination, expected=expected if predicted is not None else None)
    if examination.agrees and math.isfinite(measured.value) and \
            abs(measured.value - expected) > Z * measured.se + max(APPROXIMATION_SLACK, 3 * abs(expected)):
        examination = replace(examination, agreement=Agreement(examination.agreement.difference,
                                                               examination.agreement.se, False, None),
                              detail=f"the linearisation is not accurate to first order here: the input differs "
                                     f"from the claim by {100 * measured.value:.3g}%, where the first neglected "
                                     f"term is {100 * expected:.2g}%")
    return examination


def expected_error(examination: Examination, of_f: bool) -> float:
    """The first neglected term for this argument: for ``Var[f(u)]`` with symmetric centred ``u``,
    ``f(u) = u + f'''(0) u^3/6 + ...`` gives ``Var[f(u)]/Var[u] - 1 = (f'''(0)/3) E[u^4]/Var[u] + ...``, which is the
    kernel's Gaussian ``f'''(0) Var[u]`` times kurtosis/3; for ``E[f'(u)^2]`` it is ``f'''(0) Var[u]`` whatever
    the kurtosis. 0 when the kernel predicted nothing."""
    if examination.predicted is None:
        return 0.0
    if of_f and examination.kurtosis is not None:
        return examination.predicted * examination.kurtosis / 3
    return examination.predicted


def _kink(world: World, step: Step, claim, source) -> Examination:
    """E[f'(s)^2] = m2 for a rectifier and symmetric s holds exactly when s has no atom at 0 (the kernel says ≈
    and names that term): here f'(0) is given the value sqrt(m2) that makes the atom harmless, the input and
    the claim are compared, and the atom's measured mass P(s = 0) is shown."""
    world.fix_indices([source, claim])
    world.shown = [source, claim]
    _set_top(world, [source, claim])
    squares = [m for m in source.atoms(v.E) if isinstance(m.args[0], sp.Pow) and isinstance(m.args[0].base, v.df)]
    if not squares:
        raise CannotSample("no E[df(s)**2] in the input")
    argument = squares[0].args[0].base.args[0]
    slopes = [float(world.activation_at(world.derivative, x)) for x in (1.0, -1.0)]
    world.kink = math.sqrt((slopes[0] ** 2 + slopes[1] ** 2) / 2)
    atom = float(np.mean(np.asarray(world.draws_of(argument)) == 0))
    left, right = world.number(source), _claimed(world, claim)
    return _done(world, step, EQUAL_KIND, left, right,
                 f"the input (with f'(0) := {world.kink:.4g}) and the claim; P({sp.sstr(argument)} = 0) = {atom:.3g} here")


def _taylor(world: World) -> tuple[float, float]:
    """f(0) and f'(0) of the activation, computed here by central differences (one-sided ones must agree)."""
    if world.activation is None:
        raise CannotSample("no activation to linearise")
    h = 1e-6
    at = lambda x: float(world.activation_at(world.activation, x))  # noqa: E731
    f0 = at(0.0)
    right, left = (at(h) - f0) / h, (f0 - at(-h)) / h
    if abs(right - left) > 1e-3 * max(1.0, abs(right)):
        raise CannotSample(f"the activation has no derivative at 0 (one-sided slopes {left:.3g} and {right:.3g})")
    slope = (right + left) / 2
    try:                                   # the exact derivative at 0, where SymPy has one that agrees
        exact = float(world.activation_at(world.derivative, 0.0))
        if abs(exact - slope) <= 1e-4 * max(1.0, abs(slope)):
            slope = exact
    except (CannotSample, TypeError, ValueError):
        pass
    return f0, slope


def _requirement(world: World, step: Step, claim: sp.Equality, inputs, subject) -> Examination:
    lhs = claim.lhs
    if not (isinstance(lhs, v.Var) and isinstance(lhs.args[0], (sp.Indexed, sp.Symbol))):
        raise CannotSample("a requirement on something other than the variance of a variable")
    target = lhs.args[0]
    family = target.base.name if isinstance(target, sp.Indexed) else target.name
    if subject is None or not isinstance(subject, (v.Var, v.E)) or not isinstance(subject.args[0], sp.Indexed):
        raise CannotSample("the chain has no start of the form Var[X[layer, ...]] to keep constant")
    if not inputs or isinstance(inputs[0], sp.Equality):
        raise CannotSample("the requirement has no expression to compare")
    variable = subject.args[0]
    shift = -1 if "forward" in step.rule else 1
    moved = subject.func(variable.base[(variable.indices[0] + shift,) + tuple(variable.indices[1:])])
    world.fix_indices([inputs[0], moved, claim])
    world.shown = [inputs[0], moved, claim]
    _set_top(world, [inputs[0], moved])
    layer = target.indices[0] if isinstance(target, sp.Indexed) and target.indices else None
    if layer is not None and layer.is_Integer:
        world.imposed[(family, int(layer))] = _positive(world, claim.rhs, {})
        how = f"Var[{sp.sstr(target)}] := {sp.sstr(claim.rhs)}"
    elif layer is None:
        world.imposed[(family, None)] = _positive(world, claim.rhs, {})
        how = f"Var[{family}] := {sp.sstr(claim.rhs)}"
    else:
        (symbol,) = [s for s in layer.free_symbols if world._kind(s) == "index"] or [None]
        if symbol is None:
            raise CannotSample(f"the layer of {sp.sstr(target)} is not an index symbol plus a constant")
        offset = int(sp.expand(layer - symbol))
        for l in range(0, 16):
            if l - offset >= 0:
                world.imposed[(family, l)] = _positive(world, claim.rhs, {symbol: l - offset})
        how = f"Var[{family}[l]] := {sp.sstr(claim.rhs.xreplace({symbol: sp.Symbol('l')}))} for every layer l"
    left, right = world.number(inputs[0]), world.number(moved)
    return _done(world, step, REQUIREMENT, left, right,
                 f"with {how}: the input and {sp.sstr(moved)}, one layer {'down' if shift < 0 else 'up'}",
                 labels=("input", ""), exprs=(None, moved))


def _positive(world: World, expr, env) -> float:
    value = world.exact(expr, env)
    if not value.is_number or not value.is_real or not float(value) > 0:
        raise CannotSample(f"the required variance {sp.sstr(expr)} is not a positive number here")
    return float(value)


def _compromise(world: World, step: Step, claim: sp.Equality, inputs) -> Examination:
    facts = [f for f in inputs if isinstance(f, sp.Equality)]
    if len(facts) != 2:
        raise CannotSample("a compromise needs two requirements")
    world.fix_indices([claim, *facts])
    world.shown = [claim, *facts]
    if any(f.lhs != claim.lhs for f in facts):
        raise CannotSample("the requirements are about something other than the claim")
    v1, v2 = world.number(facts[0].rhs), world.number(facts[1].rhs)
    with np.errstate(all="ignore"):
        harmonic = 2 / (1 / v1 + 1 / v2)
    examination = _done(world, step, COMPROMISE_KIND, harmonic, world.number(claim.rhs),
                        "the harmonic mean 2/(1/v1 + 1/v2) of the two requirements and the claim",
                        labels=("harmonic mean", "claim"))
    if agree(v1, v2).holds:
        examination = replace(examination, agreement=Agreement(0.0, 0.0, False, None),
                              detail=f"no compromise: the two requirements are the same here ({float(v1[0]):.6g})")
    return examination


def _solve(world: World, step: Step, claim: sp.Equality, inputs) -> Examination:
    parameter = claim.lhs
    candidates = ([step.start] if step.start is not None else []) + list(inputs)
    laws = [c.lhs if isinstance(c, sp.Equality) else c for c in candidates
            if (c.lhs if isinstance(c, sp.Equality) else c).has(v.Uniform, v.Normal)
            and parameter in (c.lhs if isinstance(c, sp.Equality) else c).free_symbols]
    required = [c for c in candidates if isinstance(c, sp.Equality) and isinstance(c.lhs, (v.Var, v.E))
                and parameter not in c.free_symbols]
    if not laws or not required:
        raise CannotSample(f"no law in {parameter} and no requirement to solve it for")
    world.fix_indices([claim, laws[0], required[0]])
    world.shown = [claim, laws[0], required[0]]
    value = world.exact(claim.rhs, {})
    if not value.is_number or not value.is_real:
        raise CannotSample(f"{sp.sstr(claim.rhs)} is not a number here")
    world.params[parameter] = float(value)
    world.values[parameter.name] = round(float(value), 6)
    left, right = world.number(required[0].rhs), world.number(laws[0])
    return _done(world, step, SOLVE, left, right,
                 f"with {parameter.name} := {sp.sstr(claim.rhs)}: {sp.sstr(laws[0])} and the required "
                 f"{sp.sstr(required[0].lhs)}", labels=("required", ""), exprs=(required[0].lhs, laws[0]))


def _equations(world: World, step: Step, claim: sp.Equality, given: sp.Equality) -> Examination:
    world.fix_indices([claim, given])
    world.shown = [claim, given]
    _set_top(world, [claim, given])
    a = np.concatenate([world.number(given.lhs), world.number(given.rhs)])
    b = np.concatenate([world.number(claim.lhs), world.number(claim.rhs)])
    left_ok = agree(a[:BATCHES + 1], b[:BATCHES + 1]).holds
    if not left_ok:
        b = np.concatenate([world.number(claim.rhs), world.number(claim.lhs)])
    return _done(world, step, EQUAL_KIND, a[BATCHES + 1:], b[BATCHES + 1:], "the right sides of the two equations")


def chain_uses(derivation: Derivation) -> dict[str, frozenset[str]]:
    """For each step, the assumptions cited by it and every step it rests on (transitively), through the steps
    the kernel gives it (``kernel.check.sources``: structure, not a rule's computation)."""
    out: dict[str, frozenset[str]] = {}
    previous = None
    for step in derivation.steps:
        out[step.id] = frozenset(step.uses).union(*(out.get(s, frozenset()) for s in sources(step, previous)))
        previous = step.id
    return out
