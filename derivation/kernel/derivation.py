"""A derivation as data: declared symbols, assumptions, definitions and steps (no behaviour here).

The loader builds these from text; the kernel re-checks everything it is handed (see kernel.definitions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp


@dataclass(frozen=True)
class SymbolDecl:
    """A declared name. ``kind`` is index, size, random, constant, positive, probability (a real in [0, 1]) or
    real."""

    name: str
    kind: str
    text: str = ""
    latex: str = ""
    units: sp.Expr | None = None          # random/constant: number of units in layer i, e.g. n[i+1]
    gradient_of: str | None = None        # g[l, u] = dL/d s[l, u] when gradient_of = "s"
    value: sp.Expr | None = None          # constant: its known value (a zero bias: 0); None when unknown
    law: sp.Expr | None = None            # random: the law of every primitive instance, e.g. Bernoulli(q)
    layered: bool | None = None           # random: whether its first index is a layer (None: the default rule)


FAMILY_FACTS = ("independent", "iid", "zero_mean", "symmetric")


@dataclass(frozen=True)
class Assumption:
    """A named hypothesis and the facts it provides to the rules of the steps that cite it.

    ``activation``: the activation is odd with f'(0) = 1 (A1, checked). ``rectifier``: the activation is
    positively homogeneous (He et al., checked). ``independent``, ``iid``, ``zero_mean``, ``symmetric``: families
    whose *primitive* instances (those no definition gives: inputs, weights, modelled gradients) are mutually
    independent, identically distributed within a layer, centred, symmetric about 0. These are modelling
    premises; about defined instances the kernel decides from the definitions instead.
    """

    id: str
    title: str
    statement: str
    activation: bool = False
    rectifier: bool = False
    independent: frozenset[str] = frozenset()
    iid: frozenset[str] = frozenset()
    zero_mean: frozenset[str] = frozenset()
    symmetric: frozenset[str] = frozenset()
    facts: tuple[sp.Equality, ...] = ()   # premise equations Var[X] == c, E[X] == c about primitive families

    def provides(self) -> set[str]:
        kinds = ({"activation"} if self.activation else set()) | ({"rectifier"} if self.rectifier else set())
        for kind in FAMILY_FACTS:
            if getattr(self, kind):
                kinds.add(kind)
        if self.facts:
            kinds.add("facts")
        return kinds


@dataclass(frozen=True)
class Definition:
    """``lhs := rhs`` for every value of the index symbols free in ``lhs`` (e.g. z[i+1, k] := f(s[i, k]))."""

    lhs: sp.Indexed
    rhs: sp.Expr
    text: str
    line: int = 0                         # where it stands in the file (for messages)


@dataclass(frozen=True)
class Step:
    id: str
    rule: str
    claim: sp.Expr
    claim_text: str
    section: str
    uses: tuple[str, ...] = ()
    note: str = ""
    start: sp.Expr | None = None          # begins a new chain from this expression
    start_text: str = ""
    inputs: tuple[str, ...] = ()          # ids of earlier steps whose expressions the rule takes
    result: bool = False                  # a headline result of the derivation
    without: str = ""                     # prose: what goes wrong without the step's assumptions
    at: sp.Expr | None = None             # the subexpression the rule is applied to (where it could apply twice)
    paper: str = ""                       # the source's equation number this step restores, e.g. "10" (display only)


@dataclass(frozen=True)
class Evidence:
    """A table quoted from the source, shown with the claim it supports (display only, never computed with):
    ``rows`` of ``(label, cell, ...)`` under ``columns``."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class AuthoredQuestion:
    """A question written by the derivation's author (``[[questions]]``), for the quiz: a free ``answer``
    (an expression, judged by the kernel's comparison) or ``choices`` with the 1-based ``correct`` one; prose
    may hold `math` in backticks. ``step``: the step it is about (asked after that step's own question)."""

    prompt: str
    explanation: str = ""
    answer: sp.Expr | None = None
    answer_text: str = ""
    choices: tuple[str, ...] = ()
    correct: int = 0
    step: str = ""
    hint: str = ""


@dataclass
class Derivation:
    name: str
    title: str
    source: str
    path: str
    activation: str
    summary: str
    symbols: dict[str, SymbolDecl]
    assumptions: dict[str, Assumption]
    definitions: list[Definition]
    sections: list[str]
    steps: list[Step]
    namespace: object = field(repr=False, default=None)   # parser.Namespace for this derivation's names
    slope: str | None = None                              # the symbol `--slope` sets (He: alpha)
    values: dict = field(default_factory=dict)            # symbol -> value substituted everywhere
    differs: str = ""                                     # prose for the comparison sheet: the key assumption
    suits: str = ""                                       # prose: which activations it suits
    evidence: "Evidence | None" = None                    # a table quoted from the source (display only)
    questions: tuple[AuthoredQuestion, ...] = ()          # the author's questions for the quiz ([[questions]])

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)


def with_values(derivation: Derivation, values: dict) -> Derivation:
    """The derivation with declared symbols replaced by values everywhere (claims, starts, definitions)."""
    from dataclasses import replace

    def put(expr):
        return None if expr is None else expr.xreplace(values)

    steps = [replace(s, claim=put(s.claim), start=put(s.start)) for s in derivation.steps]
    definitions = [replace(d, rhs=put(d.rhs)) for d in derivation.definitions]
    return replace(derivation, steps=steps, definitions=definitions, values={**derivation.values, **values})


def is_layered(name: str, symbols, defined: set[str] | frozenset[str], arity: dict[str, int]) -> bool:
    """Whether the first index of family ``name`` is its layer: as declared (``layered = true/false``), else
    when the family is defined (a definition's left side is F[i + c, ...]) or written somewhere with more than
    one index. One rule for the kernel, the sampler and the documents."""
    decl = symbols.get(name)
    declared = getattr(decl, "layered", None)
    if declared is not None:
        return declared
    return name in defined or arity.get(name, 0) > 1


def written_arity(derivation: Derivation) -> dict[str, int]:
    """The most indices each family is written with, in the definitions and every step."""
    exprs = tuple(e for d in derivation.definitions for e in (d.lhs, d.rhs))
    exprs += tuple(e for s in derivation.steps for e in (s.claim, s.start) if e is not None)
    return dict(_written_arity(exprs))


@lru_cache(maxsize=64)
def _written_arity(exprs: tuple[sp.Expr, ...]) -> tuple[tuple[str, int], ...]:
    """written_arity of these expressions, remembered by their content (a verification asks once per step)."""
    out: dict[str, int] = {}
    for expr in exprs:
        for node in sp.preorder_traversal(expr):
            if isinstance(node, sp.Indexed):
                out[node.base.name] = max(out.get(node.base.name, 0), len(node.indices))
    return tuple(out.items())
