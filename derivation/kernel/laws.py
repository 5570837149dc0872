"""Declarations the kernel re-checks: declared laws (a symbol's ``law``), premise equations (an assumption's
``facts``), and ``layered = false`` (refused for a family a definition gives layer by layer).

A declared law must be valid, decided from the declarations:

* ``Bernoulli(p)``: 0 <= p <= 1. ``p`` must be multilinear in the declared probabilities (each a real in (0, 1))
  with no other free symbol; a multilinear function on the box [0, 1]^m takes its extremes at the corners, so
  evaluating it at the 2^m corners decides the bounds exactly (``1 - q`` and ``q*r`` pass, ``2*q`` and ``q - 1/2``
  do not).
* ``Uniform(lo, hi)``: hi - lo shown positive; ``Normal(mu, sigma)``: sigma shown positive (kernel.domain).

A premise equation ``Var[X] == c`` or ``E[X] == c`` is about every instance of a random family X that no
definition gives (a defined family's moments are computed, never assumed), with c deterministic (numbers and
parameters); premises that contradict each other would let anything be derived, so these are refused: a
negative variance, two values for one moment, a mean other than 0 for a family declared centred or symmetric,
a moment other than the declared law's.
"""

from __future__ import annotations

import itertools

import sympy as sp

from . import terms as v
from .derivation import Assumption, Definition, SymbolDecl
from .domain import sign_of

MAX_PROBABILITIES = 8          # corners evaluated: 2^8


def invalid_law(law: sp.Expr, probabilities: set[str]) -> str:
    """Why ``law`` is not shown a valid law ('' when it is)."""
    if isinstance(law, v.Bernoulli):
        return _probability_problem(law.args[0], probabilities)
    if isinstance(law, v.Uniform):
        return "" if sign_of(sp.expand(law.args[1] - law.args[0]), positive=True) else "hi - lo is not shown positive"
    if isinstance(law, v.Normal):
        return "" if sign_of(law.args[1], positive=True) else "sigma is not shown positive"
    return f"{sp.sstr(law)} is not a law"


def _probability_problem(p: sp.Expr, probabilities: set[str]) -> str:
    free = sorted(p.free_symbols, key=str)
    if any(s.name not in probabilities for s in free):
        return f"{sp.sstr(p)} is not shown in [0, 1] (its parameters must be numbers or kind = \"probability\")"
    if len(free) > MAX_PROBABILITIES:
        return f"{sp.sstr(p)} has more than {MAX_PROBABILITIES} probabilities"
    expanded = sp.expand(p)
    for s in free:
        if sp.degree(expanded, s) > 1 if expanded.is_polynomial(s) else True:
            return f"{sp.sstr(p)} is not multilinear in {s}, so its bounds are not decided"
    for corner in itertools.product((0, 1), repeat=len(free)):
        value = expanded.xreplace(dict(zip(free, map(sp.Integer, corner))))
        if not (value.is_Number and 0 <= value <= 1):
            return f"{sp.sstr(p)} = {sp.sstr(value)} at {dict(zip(map(str, free), corner))}, outside [0, 1]"
    return ""


def declaration_problem(symbols: dict[str, SymbolDecl], assumptions: dict[str, Assumption],
                        definitions: list[Definition] | tuple) -> tuple[str, str] | None:
    """(where, what) for the first declaration refused: a family declared without a layer that a definition gives
    layer by layer, a gradient that a definition also gives (two computations of one family), a declared law, a
    premise equation; None when all hold."""
    probabilities = {n for n, d in symbols.items() if d.kind == "probability"}
    defined = {d.lhs.base.name for d in definitions}
    for name, decl in symbols.items():
        if decl.layered is False and name in defined:
            return f"symbol '{name}'", ("is declared layered = false, but a definition gives it layer by layer (the "
                                        "first index of a definition's left side is its layer)")
        if decl.gradient_of and name in defined:
            return f"symbol '{name}'", (f"is declared gradient_of = '{decl.gradient_of}', a gradient the chain rule "
                                        f"computes from the definitions, and is also given a definition")
        if decl.law is not None:
            problem = invalid_law(decl.law, probabilities) or _law_against_premises(name, decl, assumptions, defined)
            if problem:
                return f"symbol '{name}'", f"{sp.sstr(decl.law)} is not a law it can have: {problem}"
    centred = {n for a in assumptions.values() for n in a.zero_mean | a.symmetric}
    seen: dict[sp.Expr, sp.Expr] = {}
    for aid, assumption in assumptions.items():
        for fact in assumption.facts:
            problem = _fact_problem(fact, symbols, defined, centred, seen)
            if problem:
                shown = f"{sp.sstr(fact.lhs)} == {sp.sstr(fact.rhs)}" if isinstance(fact, sp.Equality) else sp.sstr(fact)
                return f"assumption {aid}", f"fact '{shown}' {problem}"
            seen[fact.lhs] = fact.rhs
    return None


def _law_against_premises(name: str, decl: SymbolDecl, assumptions: dict[str, Assumption], defined: set) -> str:
    """A declared law must agree with what assumptions declare of the family (a mean other than 0 for a family
    declared centred, or a law not symmetric about 0 for one declared symmetric, would let anything follow), and
    only a primitive family can have one (a defined family or a gradient is computed)."""
    if name in defined or decl.gradient_of:
        return f"{name} is computed ({'by the chain rule' if decl.gradient_of else 'by its definition'}), not drawn"
    mean = sp.cancel(v.raw_moment(decl.law, 1))
    for aid, assumption in assumptions.items():
        if name in assumption.zero_mean and mean != 0:
            return f"its mean is {sp.sstr(mean)}, and {aid} declares {name} centred"
        if name in assumption.symmetric and not v.symmetric_law(decl.law):
            return f"it is not symmetric about 0, and {aid} declares {name} symmetric"
    return ""


def _fact_problem(fact, symbols: dict[str, SymbolDecl], defined: set, centred: set, seen: dict) -> str:
    if not isinstance(fact, sp.Equality) or not isinstance(fact.lhs, (v.Var, v.E)) \
            or not isinstance(fact.lhs.args[0], sp.Symbol):
        return "must be Var[X] == c or E[X] == c for a random family X"
    family = fact.lhs.args[0].name
    decl = symbols.get(family)
    if decl is None or decl.kind != "random" or family in defined or decl.gradient_of:
        return f"is about {family}, which is not a random family without a definition (a gradient is computed)"
    rhs = fact.rhs
    if rhs.atoms(sp.Indexed, *v.MOMENTS) or any(
            symbols.get(s.name) is None or symbols[s.name].kind not in ("positive", "probability", "real", "size")
            for s in rhs.free_symbols):
        return "must give a number or an expression in declared parameters"
    if isinstance(fact.lhs, v.Var) and not sign_of(sp.expand(rhs)):
        return "gives a variance not shown nonnegative"
    if isinstance(fact.lhs, v.E) and family in centred and sp.expand(rhs) != 0:
        return f"contradicts a zero-mean or symmetry declaration of {family}"
    if decl.law is not None:
        moment = v.raw_moment(decl.law, 1) if isinstance(fact.lhs, v.E) else v.law_variance(decl.law)
        if sp.cancel(moment - rhs) != 0:
            return f"contradicts the declared law {sp.sstr(decl.law)}"
    if fact.lhs in seen and sp.cancel(seen[fact.lhs] - rhs) != 0:
        return f"gives {sp.sstr(fact.lhs)} a second value"
    return ""
