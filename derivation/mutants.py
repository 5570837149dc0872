"""Systematic mutants of a claim, and an equality oracle independent of the verifier.

Each mutation operator changes one place of the expression tree:
  constant   a number c -> c + 1 (sum limits included)
  size       a size n[l] -> n[l + 1], and n[i] <-> n[i+1] swapped where both occur
  drop term  one term of a sum of terms removed
  exponent   x**p -> x**(p + 1)  (sqrt(x) -> x)
  sign       one term negated, or the whole side
  square     x**2 -> x
  moment     Var[X] -> E[X] and E[X] -> Var[X]
The oracle (``numerically_equal``) evaluates both expressions at random points, sizes made concrete and
sums expanded, with every moment an independent random number: it shares no code with the verifier's
canonical forms, so it can judge which mutants are really different.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator

import sympy as sp

from .kernel import terms as v


@dataclass(frozen=True)
class Mutant:
    operator: str
    where: str
    expr: sp.Expr


def _rebuild(node: sp.Basic, args: list) -> sp.Basic:
    if isinstance(node, sp.Equality):
        return sp.Eq(*args, evaluate=False)
    return node.func(*args)


def _replace_at(expr: sp.Basic, path: tuple[int, ...], new: sp.Basic) -> sp.Basic:
    if not path:
        return new
    args = list(expr.args)
    args[path[0]] = _replace_at(args[path[0]], path[1:], new)
    return _rebuild(expr, args)


def _nodes(expr: sp.Basic, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], sp.Basic]]:
    yield path, expr
    if isinstance(expr, sp.Indexed):
        return
    for position, arg in enumerate(expr.args):
        yield from _nodes(arg, path + (position,))


def _local(node: sp.Basic) -> Iterator[tuple[str, sp.Basic]]:
    """(operator, replacement) for every single change at this node."""
    if node.is_Number and not isinstance(node, sp.Indexed):
        yield "constant", node + 1
    if isinstance(node, sp.Add):
        for position, term in enumerate(node.args):
            rest = node.args[:position] + node.args[position + 1:]
            yield "drop term", sp.Add(*rest)
            yield "sign", sp.Add(*rest, -term)
    if isinstance(node, sp.Pow) and node.exp.is_Number:
        yield "exponent", node.base ** (node.exp + 1)
        if node.exp == 2:
            yield "square", node.base
    if isinstance(node, v.Var):
        yield "moment", v.E(node.args[0])
    if isinstance(node, v.E):
        yield "moment", v.Var(node.args[0])


def mutants(claim: sp.Expr) -> list[Mutant]:
    """Every single-place mutant of ``claim``, structurally distinct from it and from each other."""
    seen = {claim}
    out = []

    def keep(operator, where, expr):
        if expr not in seen:
            seen.add(expr)
            out.append(Mutant(operator, where, expr))

    for path, node in _nodes(claim):
        if path and isinstance(claim, sp.Equality) and len(path) == 1:
            keep("sign", f"side {path[0]}", _replace_at(claim, path, -node))
        for operator, replacement in _local(node):
            keep(operator, sp.sstr(node)[:60], _replace_at(claim, path, replacement))
    sizes = sorted({a for a in claim.atoms(sp.Indexed) if a.base.name == "n"}, key=sp.default_sort_key)
    for size in sizes:
        keep("size", sp.sstr(size), claim.xreplace({size: size.base[size.indices[0] + 1]}))
    for first, second in zip(sizes, sizes[1:]):
        keep("size", f"{first} <-> {second}", claim.xreplace({first: second, second: first}))
    if not isinstance(claim, sp.Equality):
        keep("sign", "whole", -claim)
    return out


def numerically_equal(a: sp.Expr, b: sp.Expr, trials: int = 3, seed: int = 0) -> bool:
    """True if a and b agree at ``trials`` random points (each side of an equation separately)."""
    if isinstance(a, sp.Equality) != isinstance(b, sp.Equality):
        return False
    if isinstance(a, sp.Equality):
        return numerically_equal(a.lhs, b.lhs, trials, seed) and numerically_equal(a.rhs, b.rhs, trials, seed)
    rng = random.Random(seed)
    for _ in range(trials):
        values: dict = {}
        va, vb = _evaluate(a, rng, values), _evaluate(b, rng, values)
        if va is None or vb is None or abs(va - vb) > 1e-9 * max(1.0, abs(va), abs(vb)):
            return False
    return True


def _evaluate(expr: sp.Expr, rng: random.Random, values: dict) -> float | None:
    """Concrete layer i = 2, unit k = 1, sizes 2..4, sums expanded; each distinct moment, symbol or
    indexed variable a random number (shared between the two sides through ``values``)."""
    labels = {a.base.label for a in expr.atoms(sp.Indexed)}
    integers = {s: (values.setdefault(("size", s), sp.Integer(rng.randint(2, 4))) if s.is_positive
                    else sp.Integer(2 if s.name == "i" else 1))       # a size N; an index (layer i = 2, units 1)
                for s in expr.free_symbols if isinstance(s, sp.Symbol) and s.is_integer and s not in labels}
    concrete = expr.xreplace(integers)
    sizes = {a: values.setdefault(("size", a), sp.Integer(rng.randint(2, 4)))
             for a in concrete.atoms(sp.Indexed) if a.is_integer and a.is_positive}      # n[i], C[i + 1]: sizes
    concrete = concrete.xreplace(sizes).doit()
    for atom in sorted(concrete.atoms(*v.MOMENTS), key=sp.default_sort_key):
        arg = sp.expand(atom.args[0])
        if isinstance(atom, v.Var) and arg.could_extract_minus_sign():
            arg = -arg                                        # Var[-X] = Var[X]
        key = (type(atom).__name__, sp.srepr(arg))
        concrete = concrete.xreplace({atom: values.setdefault(key, sp.Float(rng.uniform(0.5, 2.0)))})
    for atom in sorted(concrete.atoms(sp.Indexed, sp.Symbol), key=sp.default_sort_key):
        concrete = concrete.xreplace({atom: values.setdefault(("atom", sp.srepr(atom)), sp.Float(rng.uniform(0.5, 2.0)))})
    try:
        number = complex(concrete.evalf())
    except (TypeError, ValueError):
        return None
    return number.real if abs(number.imag) < 1e-12 else None
