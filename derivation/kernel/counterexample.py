"""A counterexample to a claim the comparison could not show equal to what the rule derived: a point, in the
deterministic quantities of the derivation, at which the two differ exactly.

The claim asserts an identity: ``claimed = derived`` for every value of the index symbols (layers and units:
nonnegative integers), of the sizes (positive integers), of the parameters (positive or real) and of the
constants whose value is not declared. One point where ``claimed - derived`` is a nonzero number therefore
refutes it; no finite number of points where it vanishes proves it, so when no point is found nothing is
concluded (the step is then "not shown equal", never verified).

The search is exact and only where it can be: the difference (of the canonical forms, as kernel.compare builds
them, so every rewriting used is an identity) must contain no moment, law, activation or random variable
(a variance is a nonnegative number that depends on a distribution, not a free variable; moments need a
sampled refutation, outside this module). Then, with a seeded generator (``random.Random(seed)``):

* the free index symbols get distinct small nonnegative integers (a point at which some index, such as
  ``i - 1``, would be negative is skipped), so ``n[i]`` and ``n[i + 1]`` become two atoms ``n[2]``, ``n[3]``;
* every size atom (an indexed size such as ``n[2]``, or a size symbol ``N``) an integer drawn from 1..9,
  each independently;
* positive parameters positive rationals p/q; real parameters and constants without a declared ``value``
  nonzero rationals of either sign; constants with a ``value`` that value;
* a sum whose limits are then integers is expanded term by term (at most ``MAX_TERMS`` terms; SymPy's
  convention for reversed limits, sum_{a..b} = -sum_{b+1..a-1} when b < a - 1).

The difference is then a number: a rational is decided exactly; anything else (roots, functions of rationals)
is evaluated to 50 significant digits with guaranteed precision (SymPy's strict evalf) and counts as nonzero
only above 1e-30 times the sum of the magnitudes of its terms. A point where it is not a finite real number
(a division by zero, the root of a negative number) is no point of the identity and is skipped. Bounded in
size (``MAX_OPS``), tries (``TRIES``) and time (``SECONDS``); on any failure of SymPy the answer is None.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef

from . import terms as v
from .compare import canonical, equal
from .derivation import SymbolDecl
from .timelimit import time_limit

TRIES = 20
MAX_TERMS = 100        # terms of one expanded sum
MAX_OPS = 400          # count_ops of the difference above which no search is made
SECONDS = 5
DIGITS = 50
THRESHOLD = sp.Rational(1, 10**30)   # relative to the sum of the magnitudes of the difference's terms
_ROUNDS = 6            # substitute, expand the sums that became finite, substitute what they brought, ...
_OPAQUE = (v.Var, v.E, v.Cov, v.f, v.df, v.Uniform, v.Normal, AppliedUndef, sp.Derivative, sp.Integral, sp.Subs)


@dataclass(frozen=True)
class Counterexample:
    """A point (``values``: each deterministic quantity and its value, as text) at which the claimed and the
    derived expressions (for equations: their right sides) take the values ``claimed`` and ``derived``, which
    differ."""

    values: tuple[tuple[str, str], ...]
    claimed: str
    derived: str

    def text(self) -> str:
        """``n[i] = 3, n[i + 1] = 5: claimed 3/8, derived 1/4``: the point, then both sides there."""
        point = ", ".join(f"{name} = {value}" for name, value in self.values)
        sides = f"claimed {self.claimed}, derived {self.derived}"
        return f"{point}: {sides}" if point else sides


class _Skip(Exception):
    """This point is not usable (an index out of range, a sum too long, no finite real value)."""


def counterexample(derived: sp.Expr, claimed: sp.Expr, symbols: Mapping[str, SymbolDecl], seed: int = 0,
                   tries: int = TRIES) -> Counterexample | None:
    """A point at which ``claimed - derived`` is exactly a nonzero number, or None (see the module docstring).

    Two equations are compared side by side, as kernel.compare does (also when their sides are swapped); when
    their left sides differ, there is no point to look for. Never raises on odd input."""
    try:
        with time_limit(SECONDS):
            return _search(derived, claimed, symbols, seed, tries)
    except Exception:       # noqa: BLE001 - SymPy on odd input, or the time limit: no counterexample is claimed
        return None


def _search(derived, claimed, symbols, seed, tries) -> Counterexample | None:
    d_eq, c_eq = isinstance(derived, sp.Equality), isinstance(claimed, sp.Equality)
    if d_eq != c_eq:
        return None
    if d_eq:
        if equal(derived.lhs, claimed.lhs):
            derived, claimed = derived.rhs, claimed.rhs
        elif equal(derived.lhs, claimed.rhs):
            derived, claimed = derived.rhs, claimed.lhs
        else:
            return None
    claimed, derived = canonical(claimed), canonical(derived)
    difference = sp.expand(claimed - derived)
    if difference == 0 or not _deterministic(difference, symbols) or sp.count_ops(difference) > MAX_OPS:
        return None
    shown_claimed, hidden_c = _hide(claimed, symbols)
    shown_derived, hidden_d = _hide(derived, symbols)
    hidden = {**hidden_c, **hidden_d}
    everything = (difference, shown_claimed, shown_derived)
    indices = sorted({s for e in everything for s in _free(e) if _kind(s, symbols) == "index"}, key=sp.default_sort_key)
    rng = random.Random(seed)
    for _ in range(tries):
        chosen = dict(zip(indices, (sp.Integer(x) for x in rng.sample(range(len(indices) + 4), len(indices)))))
        try:
            point = _Point(rng, symbols)
            value, at_claimed, at_derived = (point.evaluate(e.xreplace(chosen)) for e in everything)
            if not _nonzero(value):
                continue
        except _Skip:
            continue
        return Counterexample(_values(everything, chosen, point, symbols),
                              sp.sstr(at_claimed.xreplace(hidden)), sp.sstr(at_derived.xreplace(hidden)))
    return None


def _kind(atom: sp.Basic, symbols: Mapping[str, SymbolDecl]) -> str | None:
    name = atom.base.label.name if isinstance(atom, sp.Indexed) else getattr(atom, "name", None)
    decl = symbols.get(name) if name is not None else None
    return decl.kind if decl is not None else None


def _free(expr: sp.Expr) -> set[sp.Symbol]:
    """The free plain symbols (not the labels of indexed families)."""
    labels = {a.base.label for a in expr.atoms(sp.Indexed)}
    return {s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s not in labels}


def _deterministic(expr: sp.Expr, symbols) -> bool:
    """No moment, law, activation or unknown function, and every family and symbol declared and not random."""
    if expr.atoms(*_OPAQUE):
        return False
    for atom in expr.atoms(sp.Indexed):
        if _kind(atom, symbols) in (None, "random"):
            return False
    bound = {limit[0] for s in expr.atoms(sp.Sum) for limit in s.limits}
    return all(_kind(s, symbols) not in (None, "random") for s in _free(expr) - bound)


def _hide(expr: sp.Expr, symbols) -> tuple[sp.Expr, dict]:
    """``expr`` with what is not deterministic (moments, laws, random variables, sums of them) replaced by
    placeholders, and the map back: the point's values are put only into the deterministic parts."""
    hidden = {}

    def random(e):
        return isinstance(e, (sp.Indexed, sp.Symbol)) and _kind(e, symbols) == "random"

    def visit(e):
        if isinstance(e, _OPAQUE) or random(e) or (isinstance(e, sp.Sum) and (
                e.function.atoms(*_OPAQUE) or any(random(a) for a in e.function.atoms(sp.Indexed, sp.Symbol)))):
            placeholder = sp.Dummy()
            hidden[placeholder] = e
            return placeholder
        if not e.args or isinstance(e, sp.Indexed):
            return e
        return e.func(*[visit(a) for a in e.args])

    return visit(expr), hidden


class _Point:
    """Values drawn on demand for the concrete atoms met (each once), and evaluation at them."""

    def __init__(self, rng: random.Random, symbols: Mapping[str, SymbolDecl]):
        self.rng, self.symbols, self.values = rng, symbols, {}

    def draw(self, atom: sp.Basic) -> sp.Expr | None:
        kind, rng = _kind(atom, self.symbols), self.rng
        if kind == "size":
            return sp.Integer(rng.randint(1, 9))
        if kind == "positive":
            return sp.Rational(rng.randint(1, 9), rng.randint(1, 4))
        if kind == "probability":                      # strictly between 0 and 1
            return sp.Rational(rng.randint(1, 8), 9)
        if kind == "constant":
            decl = self.symbols[atom.base.label.name if isinstance(atom, sp.Indexed) else atom.name]
            if decl.value is not None:
                return decl.value
        if kind in ("real", "constant"):
            return rng.choice((-1, 1)) * sp.Rational(rng.randint(1, 9), rng.randint(1, 4))
        return None     # index symbols are chosen before; random ones are never given values

    def evaluate(self, expr: sp.Expr) -> sp.Expr:
        for _ in range(_ROUNDS):
            if any(x.is_Integer and x < 0 for atom in expr.atoms(sp.Indexed) for x in atom.indices):
                raise _Skip()       # a layer or unit below 0: not a point of the claim
            for atom in sorted(self._concrete(expr), key=sp.default_sort_key):
                if atom not in self.values:
                    value = self.draw(atom)
                    if value is not None:
                        self.values[atom] = value
            before, expr = expr, _expand_finite_sums(expr.xreplace(self.values))
            if expr == before:
                break
        return expr

    @staticmethod
    def _concrete(expr: sp.Expr) -> set[sp.Basic]:
        """Atoms that can take a value now: indexed entries at integer indices, and free plain symbols."""
        indexed = {a for a in expr.atoms(sp.Indexed) if all(x.is_Integer for x in a.indices)}
        return indexed | _free(expr)


def _expand_finite_sums(expr: sp.Expr) -> sp.Expr:
    if isinstance(expr, sp.Sum):
        body, (var, lo, hi) = v.peel(expr)
        body, lo, hi = _expand_finite_sums(body), _expand_finite_sums(lo), _expand_finite_sums(hi)
        if not (lo.is_Integer and hi.is_Integer):
            return sp.Sum(body, (var, lo, hi))
        sign, first, last = (1, lo, hi) if hi >= lo - 1 else (-1, hi + 1, lo - 1)
        if last - first + 1 > MAX_TERMS:
            raise _Skip()
        return sign * sp.Add(*[body.xreplace({var: sp.Integer(x)}) for x in range(int(first), int(last) + 1)])
    if not expr.args or isinstance(expr, sp.Indexed):
        return expr
    return expr.func(*[_expand_finite_sums(a) for a in expr.args])


def _nonzero(value: sp.Expr) -> bool:
    """Whether a number is certainly nonzero (and a finite real); raises _Skip when it is no finite real number."""
    if not value.is_number or value.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise _Skip()
    if value.is_Rational:
        return value != 0
    try:
        approx = value.evalf(DIGITS, strict=True)
        scale = sum(abs(sp.N(term, DIGITS)) for term in sp.Add.make_args(value))
    except (sp.core.evalf.PrecisionExhausted, TypeError, ValueError):
        return False
    real, imaginary = approx.as_real_imag()
    if not (real.is_Number and imaginary.is_Number) or abs(imaginary) > THRESHOLD * (1 + scale):
        raise _Skip()           # not a real number at this point: no point of the identity
    return abs(real) > THRESHOLD * (1 + scale)


def _values(everything, chosen: dict, point: _Point, symbols) -> tuple[tuple[str, str], ...]:
    """The point as read: each deterministic quantity as written (``n[i] = 3``); an index symbol's value only
    when it is needed to read it (it stands outside an indexed name, or an expanded sum brought new entries)."""
    originals, outside = set(), set()
    for expr in everything:
        indexed = sorted(expr.atoms(sp.Indexed), key=sp.default_sort_key)
        plain = expr.xreplace({a: sp.Dummy() for a in indexed})
        outside |= {s for s in _free(plain) if s in chosen}
        originals |= {a for a in indexed if not (_free(a) - set(chosen))} | {s for s in _free(expr) if s not in chosen}
    shown, images = [], set()
    for atom in sorted(originals, key=lambda a: (sp.default_sort_key(a.xreplace(chosen)), sp.default_sort_key(a))):
        image = atom.xreplace(chosen)                   # n[i] before n[i + 1]: ordered by where they stand
        if image in point.values and not _known_constant(atom, symbols):
            shown.append((sp.sstr(atom), sp.sstr(point.values[image])))
        images.add(image)
    extra = [(sp.sstr(a), sp.sstr(x)) for a, x in sorted(point.values.items(), key=lambda p: sp.default_sort_key(p[0]))
             if a not in images and not _known_constant(a, symbols)]
    needed = [s for s in chosen if s in outside or extra]
    return tuple([(sp.sstr(s), sp.sstr(chosen[s])) for s in needed] + shown + extra)


def _known_constant(atom: sp.Basic, symbols) -> bool:
    name = atom.base.label.name if isinstance(atom, sp.Indexed) else getattr(atom, "name", "")
    decl = symbols.get(name)
    return decl is not None and decl.kind == "constant" and decl.value is not None
