"""The verified derivation as a document: what each line of the proof shows, independent of the format.

Claims are shown as their authors wrote them (the parser's display form: same terms, same order); a step
that failed also carries the expression its rule derived. Results read as "W ~ law, parameter = value"
when they come from a distribution.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from itertools import groupby

import sympy as sp

from . import __version__, handout
from .kernel import terms as v
from .kernel.derivation import Evidence, written_arity
from .kernel.rules import APPROX, COMPROMISE, REQUIRES, RULES
from .parser import Namespace, parse
from .printing import plain
from .prose import Span, spans
from .report import counterexample_text, established, qualifiers, verdict_word
from .typeset import Notation, readable
from .verify import Verification, subjects

# how the rules' generic formulas are typeset: layer superscripts, g = dL/ds
RULE_NOTATION = Notation(frozenset("zWsgb"), {"g": "s"})


def formula_names() -> Namespace:
    """The names the rules' formulas (prose with `expressions`) use; only typeset, never computed with,
    so only the indices need an assumption (an index must be an integer)."""
    plain = {name: sp.Symbol(name, integer=True) for name in ("i", "j", "k")}
    plain.update({name: sp.Symbol(name) for name in ("N", "a", "sigma", "v1", "v2", "m2", "u", "c0", "lo", "hi")})
    return Namespace(plain, {name: sp.IndexedBase(name) for name in ("z", "W", "s", "g", "b", "c", "X", "Y", "n")})

@dataclass(frozen=True)
class Line:
    """One line of an equation chain: ``left  relation  right``, tagged with its step."""

    step_id: str
    rule: str
    uses: tuple[str, ...]
    inputs: tuple[str, ...]
    note: list[Span]
    left: sp.Expr | None
    right: sp.Expr
    ok: bool
    verdict: str
    message: str = ""
    derived: sp.Expr | None = None
    relation: str = "="               # "=" or "≈" (to first order)
    label: str = ""                   # "premise", "requirement", "compromise", "to first order"
    counterexample: str = ""          # a wrong step: where claimed and derived differ, as text
    without: list[Span] = field(default_factory=list)   # what breaks without the step's assumptions
    paper: str = ""                   # the source's equation number the step restores
    message_spans: list[Span] = field(default_factory=list)    # the message, its expressions typeset
    evidence: list["Fact"] = field(default_factory=list)       # a failed activation assumption's computed facts
    evidence_lead: str = ""                                    # "assumption A1 fails for sigmoid"

    @property
    def message_tail(self) -> sp.Expr | None:
        """The expression that ends the message ("... in EXPR"), for a display row of its own: a long formula
        cannot break inside a line of text."""
        spans = self.message_spans
        return spans[-1].math if len(spans) > 1 and spans[-1].math is not None else None

    @property
    def message_lead(self) -> list[Span]:
        """The message without its closing expression when that has a display row (message_tail)."""
        return self.message_spans[:-1] if self.message_tail is not None else self.message_spans

    @property
    def verdict_text(self) -> str:
        """The verdict in words: "wrong" (refuted), "not shown equal", "refused", ..."""
        return verdict_word(self.verdict)

    @property
    def relation_tex(self) -> str:
        return r"\approx" if self.relation == "≈" else "="

    @property
    def derived_left(self) -> sp.Expr | None:
        """The left side of what the rule derived, when it is an equation (shown ``left = right``)."""
        return self.derived.lhs if isinstance(self.derived, sp.Equality) else None

    @property
    def derived_right(self) -> sp.Expr | None:
        return self.derived.rhs if isinstance(self.derived, sp.Equality) else self.derived


@dataclass(frozen=True)
class Section:
    title: str
    lines: list[Line]


@dataclass(frozen=True)
class Fact:
    """Evidence for an assumption: ``left = right``, with whether it is what the assumption needs.
    ``left`` is LaTeX from this module (never from a file); ``label`` is the same in Unicode."""

    left: str
    label: str
    right: sp.Expr | None
    ok: bool
    words: str = ""


@dataclass(frozen=True)
class AssumptionView:
    id: str
    title: str
    statement: list[Span]
    checked: bool
    holds: bool | None
    facts: list[Fact] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    variable: sp.Expr | None
    law: sp.Expr | None
    claim: sp.Expr                    # an equation (``subject = claim`` for a chain's expression), or an expression
    ok: bool                          # established: it and every step it rests on verified (report.established)
    notes: tuple[str, ...] = ()       # premise, requirement, compromise, first order, assumptions (report.qualifiers)

    @property
    def equation(self) -> bool:
        """Whether the result reads ``left = right`` (else it is shown as the expression it establishes)."""
        return isinstance(self.claim, sp.Equality)


@dataclass(frozen=True)
class SymbolView:
    example: sp.Expr
    text: list[Span]


@dataclass(frozen=True)
class Document:
    name: str
    title: str
    source: str
    summary: list[Span]
    notation: Notation
    activation_name: str | None
    activation: sp.Expr | None
    symbols: list[SymbolView]
    assumptions: list[AssumptionView]
    sections: list[Section]
    results: list[Result]
    rules: list[tuple[str, list[Span], tuple[str, ...]]]     # name, formula, the facts it needs
    parameters: list[tuple[sp.Expr, sp.Expr]]       # (symbol, value) substituted, e.g. the slope
    verified: int
    total: int
    ok: bool
    sympy_version: str
    version: str
    date: str
    handout: handout.Handout | None = None
    evidence: Evidence | None = None
    summary_text: str = ""            # plain words for the PDF's subject field
    layer_notation: list[sp.Expr] = field(default_factory=list)   # Var[W[i]]: a family's variance in a layer

    @property
    def section_steps(self) -> dict[str, set[str]]:
        return {s.title: {line.step_id for line in s.lines} for s in self.sections}


def build(verification: Verification, today: _dt.date | None = None) -> Document:
    """The document for a verification (any verdicts; the caller decides whether to publish)."""
    d = verification.derivation
    notation = Notation.of(d)
    shown = {s.id: _shown(s.claim_text, d) for s in d.steps}
    by_id = {r.step.id: r for r in verification.steps}
    check = verification.checked
    assumptions = [_assumption(a, check, d.namespace) for a in verification.assumptions]
    known = _printed_expressions(verification)
    sections = []
    for title, results in groupby(verification.steps, key=lambda r: r.step.section):
        lines = []
        for r in results:
            step, claim = r.step, shown[r.step.id]
            if isinstance(claim, sp.Equality):
                left, right = claim.lhs, claim.rhs
            else:
                left = _shown(step.start_text, d) if step.start is not None else None
                right = claim
            lines.append(Line(step.id, step.rule, step.uses, step.inputs,
                              spans(step.note, d.namespace),
                              left, right, r.ok, r.verdict, r.message,
                              readable(r.derived) if not r.ok and r.derived is not None else None,
                              "≈" if r.relation == APPROX else "=", _label(r),
                              counterexample_text(r.counterexample) if r.counterexample is not None else "",
                              spans(step.without, d.namespace), step.paper, message_spans(r.message, known),
                              *_failed_activation(verification, r, assumptions)))
        sections.append(Section(title, lines))
    used_rules = dict.fromkeys(r.step.rule for r in verification.steps)
    results = _results(verification, by_id, shown)
    return Document(
        name=d.name, title=d.title, source=d.source, summary=spans(d.summary, d.namespace), notation=notation,
        activation_name=check.name if check else None, activation=readable(check.expr) if check else None,
        symbols=_symbols(d),
        assumptions=assumptions,
        sections=sections,
        results=results,
        rules=[(name, spans(RULES[name].formula, formula_names()), RULES[name].needs) for name in used_rules],
        parameters=list(d.values.items()),
        verified=verification.verified, total=len(verification.steps), ok=verification.ok,
        sympy_version=sp.__version__, version=__version__,
        date=_long_date(today or _dt.date.today()),
        handout=handout.build(verification, shown), evidence=d.evidence,
        summary_text=f"{d.title}: a derivation machine-checked step by step, {verification.verified} of "
                     f"{len(verification.steps)} steps verified",
        layer_notation=_layer_notation(d),
    )


def _shown(text: str, d) -> sp.Expr:
    """An expression as its author wrote it; with parameters set (--slope), with their values put in."""
    expr = parse(text, d.namespace, display=True)
    return readable(expr.xreplace(d.values)) if d.values else expr


def _symbols(d) -> list[SymbolView]:
    """Each declared non-index name, shown as it first appears in the derivation (z[i, j] -> z^i_j)."""
    expressions = [x for s in d.steps for x in (s.start, s.claim) if x is not None]
    expressions += [x for df in d.definitions for x in (df.lhs, df.rhs)]
    out = []
    for decl in d.symbols.values():
        if decl.kind == "index":
            continue
        instances = [a for e in expressions for a in e.atoms(sp.Indexed) if a.base.name == decl.name]
        simplest = lambda a: (sum(sp.count_ops(ix) for ix in a.indices), sp.default_sort_key(a))  # noqa: E731
        example = min(instances, key=simplest, default=None)
        if example is None:
            example = d.namespace.symbols.get(decl.name, sp.Symbol(decl.name))
        out.append(SymbolView(example, spans(decl.text, d.namespace)))
    return out


def _layer_notation(d) -> list[sp.Expr]:
    """The variances written with the layer index alone (Var[W[i]] for a family written W[i, j, k]), one per
    family: a family's common variance in a layer, which the iid summation rule introduces."""
    arity = written_arity(d)
    seen, out = set(), []
    for s in d.steps:
        for e in (s.claim, s.start):
            for m in sorted(e.atoms(v.Var) if e is not None else (), key=sp.default_sort_key):
                x = m.args[0]
                if isinstance(x, sp.Indexed) and len(x.indices) == 1 < arity.get(x.base.name, 0) \
                        and x.base.name not in seen:
                    seen.add(x.base.name)
                    out.append(readable(m))
    return out


def _printed_expressions(verification: Verification) -> dict[str, sp.Expr]:
    """Every expression a kernel message may print, by its plain text (printing.plain, the syntax messages use):
    the steps' starts, claims, inputs and derived expressions. Only formulas (an operator or a bracket, three
    characters or more), so no word or lone number of a message is ever read as one."""
    known: dict[str, sp.Expr] = {}
    for r in verification.steps:
        for expr in (r.step.start, r.step.claim, *r.inputs, r.derived):
            if isinstance(expr, sp.Basic):
                text = plain(expr)
                if len(text) >= 3 and any(c in text for c in "*/+-[("):
                    known.setdefault(text, expr)
    return known


def message_spans(message: str, known: dict[str, sp.Expr]) -> list[Span]:
    """The kernel's one-line message with each expression it prints typeset: an occurrence of the plain text of a
    known expression (longest first, not inside a name) becomes that expression; the rest stays text. Nothing is
    parsed: only texts our printer made for expressions we hold are matched."""
    if not message or not known:
        return [Span(message)] if message else []
    pattern = re.compile(r"(?<![\w.])(?:" + "|".join(re.escape(t) for t in sorted(known, key=len, reverse=True))
                         + r")(?![\w(\[])")
    out, at = [], 0
    for match in pattern.finditer(message):
        if match.start() > at:
            out.append(Span(message[at:match.start()]))
        out.append(Span(match.group(), readable(known[match.group()])))
        at = match.end()
    if at < len(message):
        out.append(Span(message[at:]))
    return out


def _failed_activation(verification: Verification, r, views: list[AssumptionView]) -> tuple[list[Fact], str]:
    """For a step the kernel refused because a cited assumption about the activation fails
    (StepResult.failed_assumption), that assumption's computed facts and the words before them; else nothing."""
    view = next((view for view in views if view.id == r.failed_assumption), None)
    if view is None or not view.facts:
        return [], ""
    return view.facts, f"assumption {view.id} fails for {verification.checked.name}"


def _assumption(a, check, names) -> AssumptionView:
    view = AssumptionView(a.assumption.id, a.assumption.title, spans(a.assumption.statement, names),
                          a.holds is not None, a.holds)
    if a.holds is None or check is None:
        return view
    if not hasattr(check, "odd_residual"):           # He et al.'s rectifier check
        view.facts.append(Fact("f(cx) - c f(x)", "f(cx) − c f(x)", sp.Integer(0) if check.homogeneous else None,
                               check.homogeneous, "for every c > 0" if check.homogeneous else "not homogeneous"))
        if check.second_moment is not None:
            view.facts.append(Fact(r"\mathbb{E}[{f(x)}^2]", "E[f(x)²]", check.second_moment, True,
                                   "for x a standard normal"))
        return view
    facts = [Fact("f(-x) + f(x)", "f(−x) + f(x)", readable(check.odd_residual) if check.odd_residual is not None else None, check.odd,
                  "" if check.odd_residual is not None else "undecided")]
    if check.f0 is not None and check.f0 != 0:
        facts.append(Fact("f(0)", "f(0)", readable(check.f0), False))
    if check.fprime0 is not None:
        facts.append(Fact("f'(0)", "f′(0)", check.fprime0, check.fprime0 == 1))
    elif check.one_sided is not None:
        left, right = check.one_sided
        facts.append(Fact("f'(0^-)", "f′(0⁻)", left, False))
        facts.append(Fact("f'(0^+)", "f′(0⁺)", right, False, "no derivative at 0"))
    if check.series is not None:
        facts.append(Fact("f(x)", "f(x)", _ascending(check.series), True, check.note))
    view.facts.extend(facts)
    return view


def _ascending(series: sp.Expr) -> sp.Expr:
    """A Taylor polynomial as it is written, in rising powers of x: 1/2 + x/4 - x**3/48 + O(x**5) (SymPy's own
    order of terms would print 1/2 - x**3/48 + x/4 + ...). Display only: the same sum, unevaluated."""
    order = series.getO() if isinstance(series, sp.Add) else None
    body = series.removeO() if order is not None else series
    if not isinstance(body, sp.Add) or len(body.free_symbols) != 1:
        return series
    (x,) = body.free_symbols
    terms = sorted(body.args, key=lambda t: sp.Poly(t, x).degree() if t.is_polynomial(x) else 0)
    return sp.Add(*terms, *([order] if order is not None else []), evaluate=False)


def _long_date(day: _dt.date) -> str:
    months = ("January February March April May June July August September October November December").split()
    return f"{day.day} {months[day.month - 1]} {day.year}"


def _results(verification: Verification, by_id, shown) -> list[Result]:
    """The results, each marked established only when no step it rests on failed."""
    d = verification.derivation
    holds = established(verification)
    subject_of = subjects(d)
    starts = {}                                     # a chain's subject as its author wrote it (the start's text)
    for step in d.steps:
        if step.start is not None:
            starts[step.start] = step.start_text
    return [_result(r, by_id, shown, holds[r.step.id], subject_of.get(r.step.id), starts, d)
            for r in verification.results]


def _result(r, by_id, shown, ok: bool, subject, starts, d) -> Result:
    """A result, with the distribution it parameterises when it solved for a law's parameter. A claim that is
    not an equation is shown as what its chain's subject equals, or alone when it has none."""
    step = r.step
    claim = shown[step.id]
    if not isinstance(claim, sp.Equality) and subject is not None and not isinstance(subject, sp.Equality):
        claim = sp.Eq(_shown(starts[subject], d), claim, evaluate=False)
    sources = [step] + [by_id[ref].step for ref in step.inputs]
    law = next((s.start.args[0] for s in sources
                if isinstance(s.start, v.Var) and isinstance(s.start.args[0], v.DISTRIBUTIONS)), None)
    variable = next((by_id[ref].step.claim.lhs.args[0] for ref in step.inputs
                     if isinstance(by_id[ref].step.claim, sp.Equality) and isinstance(by_id[ref].step.claim.lhs, v.Var)),
                    None)
    if variable is None or not isinstance(claim, sp.Equality):
        law = variable = None                      # "W ~ law, a = ..." only when both are known
    return Result(variable, law, claim, ok, tuple(qualifiers(r)))


def _label(r) -> str:
    """What kind of line a step is, when it is not a plain identity: an approximation itself (≈), or a
    requirement or compromise drawn from a chain that rests on one. A step equal to the line before it is not
    labelled, even in a chain that began with ≈ (the ≈ at its start already says so)."""
    concludes = r.relation in (REQUIRES, COMPROMISE)
    words = ["premise" if r.is_premise else "", {REQUIRES: "requirement", COMPROMISE: "compromise"}.get(r.relation, ""),
             (r.approximation or "to first order") if r.relation == APPROX or (concludes and r.approximate) else ""]
    return ", ".join(w for w in words if w)


@dataclass(frozen=True)
class SheetRow:
    name: str
    title: str
    differs: list[Span]
    suits: list[Span]
    variance: sp.Expr | None       # Var[W] = ...
    std: sp.Expr | None            # sigma = ...
    bound: sp.Expr | None          # a = ...
    verified: int
    total: int
    ok: bool


@dataclass(frozen=True)
class Sheet:
    rows: list[SheetRow]
    notation: Notation
    sympy_version: str
    version: str
    date: str

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)


def build_sheet(verifications: list[Verification], today: _dt.date | None = None) -> Sheet:
    """One row per derivation: what differs, what it suits, and its verified results, read off the
    result steps by what they solve for (Var[W], the normal's sigma, the uniform's bound a)."""
    rows = []
    for v_ in verifications:
        d = v_.derivation
        shown = {r.step.id: _shown(r.step.claim_text, d) for r in v_.results}

        def find(test):
            return next((shown[r.step.id] for r in v_.results if test(r.step)), None)

        rows.append(SheetRow(
            d.name, d.title, spans(d.differs, d.namespace), spans(d.suits, d.namespace),
            find(lambda s: isinstance(getattr(s.claim, "lhs", None), v.Var)),
            find(lambda s: s.start is not None and isinstance(s.start.args[0], v.Normal)),
            find(lambda s: any(isinstance(getattr(st.start, "args", [None])[0], v.Uniform)
                               for st in d.steps if st.id in s.inputs)),
            v_.verified, len(v_.steps), v_.ok))
    notation = Notation(frozenset().union(*(Notation.of(v_.derivation).layered for v_ in verifications)))
    return Sheet(rows, notation, sp.__version__, __version__, _long_date(today or _dt.date.today()))
