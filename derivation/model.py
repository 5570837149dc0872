"""A derivation as data: declared symbols, assumptions, definitions and steps (no behaviour here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp


@dataclass(frozen=True)
class SymbolDecl:
    """A declared name. ``kind`` is index, size, random, constant, positive or real."""

    name: str
    kind: str
    text: str = ""
    latex: str = ""
    units: sp.Expr | None = None          # random/constant: number of units in layer i, e.g. n[i+1]
    gradient_of: str | None = None        # g[l, u] = dL/d s[l, u] when gradient_of = "s"


@dataclass(frozen=True)
class Assumption:
    """A named hypothesis and the facts it provides to the rules of the steps that cite it.

    ``activation``: the activation check (A1).  ``independent``, ``iid``, ``zero_mean``: names of random
    variables that are mutually independent, identically distributed within a layer, centred.
    """

    id: str
    title: str
    statement: str
    activation: bool = False
    independent: frozenset[str] = frozenset()
    iid: frozenset[str] = frozenset()
    zero_mean: frozenset[str] = frozenset()

    def provides(self) -> set[str]:
        kinds = {"activation"} if self.activation else set()
        for kind in ("independent", "iid", "zero_mean"):
            if getattr(self, kind):
                kinds.add(kind)
        return kinds


@dataclass(frozen=True)
class Definition:
    """``lhs := rhs`` for every value of the index symbols free in ``lhs`` (e.g. z[i+1, k] := f(s[i, k]))."""

    lhs: sp.Indexed
    rhs: sp.Expr
    text: str


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

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)
