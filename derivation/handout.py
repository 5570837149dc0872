"""What a handout adds to the proof, each part computed from the verification (never from the file's prose):
the theorem it proves, with each hypothesis marked exact or approximate; what each approximation neglects;
what to remember; exercises with answers, drawn from the quiz's bank; and the labels of the network figure.

The theorem states the derivation's requirements, compromises and results as the steps claim them, each
marked established or not (report.established), and its hypotheses as the steps cite them: an assumption
cited only by approximate steps (≈) is a hypothesis of the approximation, used in a regime, not exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .crosscheck import FAN_IN, FAN_OUT, in_fans
from .kernel import terms as v
from .kernel.rules import APPROX, COMPROMISE, REQUIRES, RULES
from .quiz import next_step_items
from .report import established
from .typeset import readable
from .verify import Verification, subjects

EXERCISE_FANS = (784, 1000)        # a layer of an MNIST network: fan-in 784, fan-out 1000 (unequal on purpose)


@dataclass(frozen=True)
class Hypothesis:
    id: str
    title: str
    checked: bool                  # decided by computation (the activation), else a modelling premise
    holds: bool | None
    approximate: bool              # cited only by ≈ steps: a hypothesis of the approximation
    steps: tuple[str, ...]         # the steps citing it


@dataclass(frozen=True)
class Statement:
    """A requirement or a compromise of the derivation: ``claim`` as its step writes it."""

    step_id: str
    section: str
    kind: str                      # "requirement", "compromise"
    claim: sp.Expr
    ok: bool                       # established: it and every step it rests on verified
    approximate: bool              # rests on a ≈ step
    paper: str = ""


@dataclass(frozen=True)
class Correction:
    """``left = right`` where ``right`` is the linear term, the first neglected term and the order of the rest."""

    left: sp.Expr
    right: sp.Expr


@dataclass(frozen=True)
class Approximation:
    step_id: str
    words: str                     # "to first order", "neglecting an atom at 0"
    corrections: tuple[Correction, ...]
    scale: sp.Expr | None          # the variance the expansion is in, e.g. Var[s[i, k]]
    c3: sp.Expr | None             # f'''(0): the relative size of the first neglected term per unit of variance
    text: str                      # the kernel's statement of the neglected term, when it is not an expansion


@dataclass(frozen=True)
class Summary:
    """One section in one line: its chain's subject, the relation, the last expression before its condition."""

    section: str
    left: sp.Expr
    relation: str                  # "=" or "≈"
    right: sp.Expr
    steps: tuple[str, str]         # first and last step summarised


@dataclass(frozen=True)
class Exercise:
    step_id: str
    given_id: str
    given: sp.Expr                 # the expression the step starts from (as claimed)
    rule: str
    uses: tuple[str, ...]
    answer: sp.Expr                # what the rule derives (the quiz's expected answer)


@dataclass(frozen=True)
class NumberExercise:
    name: sp.Expr                  # the quantity asked for, e.g. a
    formula: sp.Expr               # its verified formula in n[i], n[i+1]
    fan_in: int
    fan_out: int
    value: float


@dataclass(frozen=True)
class Network:
    """The labels of the figure of two layers, read off the definitions z[i+1, k] = f(s[i, k]) and
    s[i, k] = Sum(z[i, j]*W[i, j, k], (j, 1, n[i])) + b[i, k]."""

    inputs: sp.Expr                # z[i, j]
    weight: sp.Expr                # W[i, j, k]
    pre: sp.Expr                   # s[i, k]
    output: sp.Expr                # z[i+1, k]
    width: sp.Expr                 # n[i]
    gradient: sp.Expr | None       # g[i, k] = dL/ds[i, k], when the derivation has one
    unit: sp.Symbol                # j, the unit of layer i the sum runs over
    start: sp.Expr                 # where the sum starts (1)

    @property
    def first(self) -> sp.Expr:
        """z[i, 1]: the first unit of layer i."""
        return self.inputs.xreplace({self.unit: self.start})

    @property
    def last(self) -> sp.Expr:
        """z[i, n[i]]: the last unit of layer i."""
        return self.inputs.xreplace({self.unit: self.width})


@dataclass(frozen=True)
class Handout:
    hypotheses: list[Hypothesis]
    statements: list[Statement]
    approximations: list[Approximation]
    summaries: list[Summary]
    exercises: list[Exercise]
    numbers: list[NumberExercise]
    network: Network | None


def build(verification: Verification, shown: dict[str, sp.Expr]) -> Handout:
    """The handout's parts for a verification; ``shown``: step id -> the claim as its author wrote it."""
    return Handout(_hypotheses(verification), _statements(verification, shown), _approximations(verification),
                   _summaries(verification, shown), _exercises(verification, shown),
                   _numbers(verification, shown), network(verification.derivation))


def _hypotheses(verification: Verification) -> list[Hypothesis]:
    """Each assumption, approximate when every step citing it is itself a ≈ step (its own relation, not one
    inherited): the activation's Taylor polynomial is used only where the derivation linearises."""
    out = []
    for a in verification.assumptions:
        citing = [r for r in verification.steps if a.assumption.id in r.step.uses]
        approximate = bool(citing) and all(r.relation == APPROX for r in citing)
        out.append(Hypothesis(a.assumption.id, a.assumption.title, a.holds is not None, a.holds, approximate,
                              tuple(r.step.id for r in citing)))
    return out


def _statements(verification: Verification, shown) -> list[Statement]:
    """The requirements and compromises that are not results themselves (a result is stated with the results):
    the steps whose own rule concludes with "requires" or "is a compromise between"."""
    holds = established(verification)
    out = []
    for r in verification.steps:
        kind = {REQUIRES: "requirement", COMPROMISE: "compromise"}.get(RULES[r.step.rule].relation)
        if kind and not r.step.result:
            out.append(Statement(r.step.id, r.step.section, kind, shown[r.step.id], holds[r.step.id], r.approximate, r.step.paper))
    return out


def _approximations(verification: Verification) -> list[Approximation]:
    """The ≈ steps, with the first neglected term. For a linearisation of an odd f with f'(0) = 1 about a
    centred Gaussian s with v = Var[s] (the kernel's c3 = f'''(0)):
        Var[f(s)] = v + c3 v^2 + O(v^3),      E[f'(s)^2] = 1 + c3 v + O(v^2),
    so the relative error of the linear step is c3 v: the regime is |c3| Var[s] << 1 (tanh: c3 = -2)."""
    check = verification.activation
    c3 = check.third if check is not None and check.holds else None
    fold = {d.rhs: d.lhs for d in verification.derivation.definitions}
    out = []
    for r in verification.steps:
        if r.relation != APPROX:
            continue
        corrections, scale = [], None
        if r.step.rule == "linearisation" and c3 is not None and r.inputs:
            for call in sorted(r.inputs[0].atoms(v.f, v.df), key=sp.default_sort_key):
                s = fold.get(call.args[0], call.args[0])
                scale = v.Var(s)
                if isinstance(call, v.f):
                    corrections.append(Correction(v.Var(v.f(s)), sp.Add(
                        scale, c3 * scale**2, sp.Function("O")(scale**3), evaluate=False)))
                else:
                    corrections.append(Correction(v.E(v.df(s)**2), sp.Add(
                        sp.Integer(1), c3 * scale, sp.Function("O")(scale**2), evaluate=False)))
        out.append(Approximation(r.step.id, r.approximation or "to first order", tuple(corrections), scale,
                                 c3 if corrections else None, "" if corrections else r.neglected))
    return out


def _summaries(verification: Verification, shown) -> list[Summary]:
    """Per section, its first chain in one line: the subject, then ≈ if a step of it is approximate, then the
    last expression of the chain before its requirement (F5 for Glorot's forward pass)."""
    subject_of = subjects(verification.derivation)
    out = []
    sections = dict.fromkeys(r.step.section for r in verification.steps)
    for section in sections:
        chain = []
        for r in verification.steps:
            if r.step.section != section:
                continue
            if chain and (r.step.start is not None or r.step.inputs or r.relation in (REQUIRES, COMPROMISE)):
                break
            if not chain and r.step.start is None:
                break
            chain.append(r)
        if len(chain) < 2 or isinstance(shown[chain[-1].step.id], sp.Equality):
            continue
        subject = subject_of.get(chain[-1].step.id)
        if subject is None or isinstance(subject, sp.Equality):
            continue
        relation = "≈" if any(r.relation == APPROX for r in chain) else "="
        out.append(Summary(section, shown_start(chain[0], verification), relation, shown[chain[-1].step.id],
                           (chain[0].step.id, chain[-1].step.id)))
    return out


def shown_start(r, verification: Verification) -> sp.Expr:
    from .parser import parse
    return parse(r.step.start_text, verification.derivation.namespace, display=True)


def _exercises(verification: Verification, shown) -> list[Exercise]:
    """From the quiz's bank of next-step questions: per section the first and the last, so each chain is
    practised where it starts and where it ends (Glorot: F1, F6, B1, B6)."""
    picked = []
    holds = established(verification)
    items = [(previous, current) for previous, current in next_step_items(verification) if holds[current.step.id]]
    for section in dict.fromkeys(r.step.section for r in verification.steps):
        own = [item for item in items if item[1].step.section == section]
        picked += own[:1] + own[-1:] if len(own) > 1 else own
    return [Exercise(current.step.id, previous.step.id, shown[previous.step.id], current.step.rule,
                     current.step.uses, shown[current.step.id])          # verified: the claim is what it derives
            for previous, current in picked]


def _numbers(verification: Verification, shown) -> list[NumberExercise]:
    """A number for one concrete layer (EXERCISE_FANS) from each established result that solves for a law's
    parameter in the fans n[i], n[i+1] alone (the uniform bound a, the normal's sigma)."""
    holds = established(verification)
    fan_in, fan_out = EXERCISE_FANS
    out = []
    for r in verification.results:
        claim = shown[r.step.id]
        if not (holds[r.step.id] and isinstance(claim, sp.Equality) and isinstance(claim.lhs, sp.Symbol)):
            continue
        atoms = claim.rhs.atoms(sp.Indexed)
        if not atoms or any(a.base.name != "n" for a in atoms) or claim.rhs.free_symbols - {
                s for a in atoms for s in a.free_symbols}:
            continue
        value = in_fans(claim.rhs).xreplace({FAN_IN: fan_in, FAN_OUT: fan_out})
        out.append(NumberExercise(claim.lhs, claim.rhs, fan_in, fan_out, float(value)))
    return out


def network(d) -> Network | None:
    """The figure's labels when the definitions have the two-layer pattern (one sum over the units of layer i),
    else None (no figure rather than a wrong one)."""
    by_base = {df.lhs.base.name: df for df in d.definitions}
    for df in d.definitions:
        call = df.rhs
        if not (isinstance(call, v.f) and isinstance(call.args[0], sp.Indexed)):
            continue
        pre = call.args[0]
        inner = by_base.get(pre.base.name)
        if inner is None or inner.lhs != pre:
            continue
        sums = [t for t in sp.Add.make_args(inner.rhs) if isinstance(t, sp.Sum)]
        if len(sums) != 1 or len(sums[0].limits) != 1:
            continue
        total = sums[0]
        j, bottom, top = total.limits[0]
        factors = [a for a in sp.Mul.make_args(total.function) if isinstance(a, sp.Indexed)]
        source = next((a for a in factors if a.base.name == df.lhs.base.name), None)
        weight = next((a for a in factors if a is not source and j in a.free_symbols), None)
        if source is None or weight is None or len(factors) != 2:
            continue
        gradient = next((sp.IndexedBase(decl.name)[pre.indices] for decl in d.symbols.values()
                         if decl.gradient_of == pre.base.name), None)
        return Network(*(readable(e) for e in (source, weight, pre, df.lhs, top)),
                       None if gradient is None else readable(gradient), j, bottom)
    return None
