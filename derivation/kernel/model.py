"""The probability model of a derivation, and the decisions the rules' obligations rest on.

Random variables are families; an instance is a family with an index tuple (the first index is the layer,
a nonnegative integer). An instance is *primitive* where no definition gives it (inputs ``z[0, j]``,
weights, modelled gradients) and *defined* elsewhere. Every question is answered conservatively, with
evidence: unknown means no.

* :meth:`Model.reach`: the primitive instances an expression depends on, through the definitions. A defined
  family's reach is summarised per primitive family as a range of layers relative to its own (the layered
  definitions of a network go down one layer per cycle, so ``z[i, j]`` reaches ``W`` at layers 0..i-1).
* Two expressions are **independent** when their reaches are provably disjoint (distinct families; layers in
  disjoint ranges; unit indices that differ by a nonzero integer or are two distinct summation variables) and
  every family reached lies in one cited independence declaration (a premise, shown as one). A distribution
  written in an expression is a variable of its own, independent of nothing declared.
* **Uncorrelated** summands: independent, or one has a centred factor ``U`` independent of everything else in
  both (then ``Cov[U R, T] = E[U] E[R T] - E[U] E[R] E[T] = 0``).
* **Centred** (``E[X] = 0``): by linearity, a centred factor independent of the rest of a product, a declared
  premise for primitives, the definitions for defined instances, a known zero constant, a law's computed mean;
  ``E[f(u)] = 0`` exactly for odd ``f`` and symmetric ``u``, and to first order for centred ``u``.
* **Symmetric** (``X`` has the law of ``-X``): a declared premise, a law's parameters, an odd ``f`` of a
  symmetric argument, or a sign flip of symmetric independent primitives that negates the expression.
* **Identically distributed** across an index ``j``: a declared iid premise for primitives; for defined
  instances, ``j`` enters the unfolded definition only through iid primitives independent of the rest.
* **Counts**: ``hi - lo + 1`` from deterministic limits, shown an integer and nonnegative.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import terms as v
from .definitions import Shape, instantiate, nonnegative, references, shapes
from .derivation import Assumption, SymbolDecl, is_layered

DEPTH = 6            # definitions unfolded at most this deep when deciding a mean, a symmetry or a law
EXACT = 2            # definitions unfolded exactly this deep when computing what an instance reaches


@dataclass(frozen=True)
class Evidence:
    """The answer to one question about the model: whether it holds, why, on which premises, how exactly."""

    holds: bool
    text: str
    premises: tuple[str, ...] = ()      # ids of the cited assumptions it rests on
    approximate: bool = False           # true only to first order (a linearised activation)

    def __bool__(self) -> bool:
        return self.holds


def yes(text: str, premises=(), approximate: bool = False) -> Evidence:
    return Evidence(True, text, tuple(sorted(set(premises))), approximate)


def no(text: str) -> Evidence:
    return Evidence(False, text)


def both(parts: list[Evidence], text: str) -> Evidence:
    """All of ``parts`` hold: the first failure, else one Evidence carrying every premise."""
    for part in parts:
        if not part:
            return part
    premises = [p for part in parts for p in part.premises]
    return yes(text, premises, any(part.approximate for part in parts))


@dataclass(frozen=True)
class Atom:
    """A set of primitive instances: a family, a range of layers (None: unbounded), unit indices (None: any)."""

    family: str
    layers: tuple[sp.Expr | None, sp.Expr | None] | None
    units: tuple[sp.Expr, ...] | None

    def __str__(self) -> str:
        if self.layers is None or (self.layers == (None, None) and self.units is None):
            return f"{self.family.removeprefix('law ')} (every instance)" if self.layers else self.family[4:]
        lo, hi = self.layers
        layer = sp.sstr(lo) if lo == hi and lo is not None else f"{sp.sstr(lo) if lo is not None else '...'}..{sp.sstr(hi) if hi is not None else '...'}"
        units = "*" if self.units is None else ", ".join("*" if u is None else sp.sstr(u) for u in self.units)
        return f"{self.family}[{layer}{', ' + units if units else ''}]"


def law_key(law: sp.Expr) -> str:
    return sp.sstr(law)


class Model:
    """The model of one step: the derivation's declarations and definitions, and the cited premises."""

    def __init__(self, symbols: dict[str, SymbolDecl], definitions: tuple, cited: tuple[Assumption, ...],
                 activation=None, checked: dict[str, Shape] | None = None, arity: dict[str, int] | None = None):
        self.symbols = symbols
        # the most indices each family is written with anywhere: X[j] is a layer of X when X[j, k] is written too
        self.arity = dict(arity or {})
        self.definitions = tuple(definitions)
        self.shapes: dict[str, Shape] = checked if checked is not None else shapes(self.definitions)
        self.groups = [(a.id, a.independent) for a in cited if a.independent]
        self.declared = {kind: {name: a.id for a in cited for name in getattr(a, kind)}
                         for kind in ("iid", "zero_mean", "symmetric")}
        self.activation = activation          # kernel.activation.ActivationCheck, computed (not a premise)
        # known constants; a value written in index symbols could be captured by a sum: not used
        self.values = {name: d.value for name, d in symbols.items() if d.kind == "constant" and d.value is not None
                       and not any(s.is_integer and not s.is_positive for s in d.value.free_symbols)}
        self._summaries: dict[str, dict] = {}

    # ------------------------------------------------------------ vocabulary

    def is_random_name(self, name: str | None) -> bool:
        decl = self.symbols.get(name or "")
        return decl is not None and decl.kind == "random"

    def instances(self, expr: sp.Expr) -> list[sp.Expr]:
        """The random instances in ``expr`` outside moments (a moment is a number), in a fixed order."""
        return sorted({x for x, _ in self.occurrences(expr)}, key=sp.default_sort_key)

    def occurrences(self, expr: sp.Expr) -> list[tuple[sp.Expr, frozenset]]:
        """Each random instance outside moments with the summation variables bound where it stands."""
        found = set()

        def visit(node, bound):
            if isinstance(node, v.MOMENTS):
                return
            if isinstance(node, v.DISTRIBUTIONS):
                found.add((node, bound))
                return
            if isinstance(node, sp.Indexed):
                if self.is_random_name(node.base.name):
                    found.add((node, bound))
                return
            if isinstance(node, sp.Symbol) and self.is_random_name(node.name):
                found.add((node, bound))
            if isinstance(node, sp.Sum):
                body, (var, lo, hi) = v.peel(node)
                visit(lo, bound)
                visit(hi, bound)
                visit(body, bound | {var})
                return
            for arg in node.args:
                visit(arg, bound)

        visit(expr, frozenset())
        return sorted(found, key=lambda pair: (sp.default_sort_key(pair[0]), sorted(map(str, pair[1]))))

    def is_random(self, expr: sp.Expr) -> bool:
        return bool(self.instances(expr))

    def with_values(self, expr: sp.Expr) -> sp.Expr:
        """Known constants (a zero bias) replaced by their values."""
        if not self.values:
            return expr
        return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base.name in self.values,
                            lambda e: self.values[e.base.name]).xreplace(
            {s: self.values[s.name] for s in expr.free_symbols if getattr(s, "name", None) in self.values})

    # ------------------------------------------------------------ layers

    def cases(self, instance: sp.Indexed) -> tuple[bool, bool]:
        """(may be primitive, may be defined) for an instance, from its layer and its family's definition."""
        shape = self.shapes.get(instance.base.name)
        if shape is None:
            return True, False
        layer = instance.indices[0]
        if shape.layer_symbol is None:
            difference = sp.expand(layer - shape.offset)
            return difference != 0, not (difference.is_Number and difference != 0)
        # layers are nonnegative: below the offset an instance is primitive (the input z[0, j]), from it on defined
        return (shape.offset > 0 and not nonnegative(layer - shape.offset),
                not nonnegative(shape.offset - 1 - layer))

    def defined_value(self, instance: sp.Indexed) -> sp.Expr:
        """The definition's right side at ``instance``, in the case where the definition applies: its layer
        ``L`` is then at least the definition's offset ``c``, so a layer ``t + k`` is rewritten with ``t``
        replaced by ``u + c - k`` for a fresh nonnegative integer ``u`` (then ``L - c = u >= 0``)."""
        shape = self.shapes[instance.base.name]
        layer = sp.expand(instance.indices[0] - shape.offset)
        symbols = [s for s in layer.free_symbols if isinstance(s, sp.Symbol)]
        if shape.layer_symbol is not None and len(symbols) == 1 and sp.expand(layer - symbols[0]).is_Integer:
            (t,) = symbols
            u = sp.Dummy(t.name, integer=True, nonnegative=True)
            instance = instance.xreplace({t: u + t - layer})
        return instantiate(shape.definition, instance)

    def primitive_anywhere(self, family: str) -> bool:
        shape = self.shapes.get(family)
        return shape is None or shape.layer_symbol is None or shape.offset > 0

    # ------------------------------------------------------------ reach

    def _summary(self, family: str) -> dict[str, tuple]:
        """For a defined family: each family it reaches -> (lowest, highest) layer offset, None = unbounded,
        'any' when a reference's layer is not relative to the defined one. Laws reached -> None."""
        if family in self._summaries:
            return self._summaries[family]
        edges = {name: references(shape) for name, shape in self.shapes.items()}
        reachable, frontier, cyclic = {family}, [family], False
        order = [family]
        while frontier:
            current = frontier.pop()
            for target, weight in edges.get(current, []):
                if not self.is_random_name(target):
                    continue
                if target not in reachable:
                    reachable.add(target)
                    order.append(target)
                    if target in self.shapes:
                        frontier.append(target)
                elif target in self.shapes:
                    cyclic = True        # or two paths to one family: either way, no lower bound is claimed
        # longest and shortest paths (no cycle goes up a layer: kernel.definitions) bound the offsets
        highest = self._paths(family, order, edges, max)
        lowest = None if cyclic else self._paths(family, order, edges, min)
        summary: dict[str, tuple] = {}
        for target in order:
            if target == family and not cyclic:
                continue
            if not self.primitive_anywhere(target):
                continue
            high = highest.get(target, "any")
            low = None if lowest is None else lowest.get(target, "any")
            summary[target] = ("any", "any") if "any" in (high, low) else (low, high)
        for shape in self.shapes.values():
            if shape.name in reachable:
                for law in shape.definition.rhs.atoms(*v.DISTRIBUTIONS):
                    summary["law " + law_key(law)] = None
                labels = {a.base.label for a in shape.definition.rhs.atoms(sp.Indexed)}
                for plain in shape.definition.rhs.atoms(sp.Symbol) - labels:
                    if self.is_random_name(plain.name):      # a random variable without indices: every instance
                        summary[plain.name] = ("any", "any")
        self._summaries[family] = summary
        return summary

    def _paths(self, family: str, order: list[str], edges: dict, pick) -> dict[str, object]:
        """The extreme (``pick`` = max or min) sum of layer weights along paths from ``family`` to each family
        it reaches ("any" where a reference's layer is not relative), by Bellman-Ford relaxation."""
        best: dict[str, object] = {family: 0}
        for _ in range(len(order) + 1):
            for source in order:
                if source not in best or source not in self.shapes:
                    continue
                for target, weight in edges.get(source, []):
                    if not self.is_random_name(target):
                        continue
                    if weight is None or best[source] == "any":
                        best[target] = "any"
                    elif best.get(target) != "any":
                        candidate = best[source] + int(weight)
                        best[target] = candidate if target not in best else pick(best[target], candidate)
        return best

    def reach(self, expr: sp.Expr, depth: int = 0, outer: frozenset = frozenset()) -> frozenset[Atom]:
        """The primitive instances ``expr`` depends on (see the module docstring). An index that involves a
        summation variable stands for any value; a defined instance is unfolded exactly for ``EXACT`` levels,
        then summarised by family and layer range. ``outer``: summation variables bound around ``expr``."""
        out: set[Atom] = set()
        for instance, bound in self.occurrences(expr):
            bound = bound | outer
            if isinstance(instance, v.DISTRIBUTIONS):
                out.add(Atom("law " + law_key(instance), None, None))
            elif isinstance(instance, sp.Symbol):
                out.add(Atom(instance.name, (None, None), None))
            else:
                out |= self._reach_instance(instance, bound, depth)
        return frozenset(out)

    def _reach_instance(self, instance: sp.Indexed, bound: frozenset, depth: int) -> set[Atom]:
        primitive, defined = self.cases(instance)
        layer = instance.indices[0]
        loose = lambda index: bool(index.free_symbols & bound)  # noqa: E731
        units = tuple(None if loose(x) else x for x in instance.indices[1:])
        layers = (None, None) if loose(layer) else (layer, layer)
        out = set()
        if primitive:
            out.add(Atom(instance.base.name, layers, units))
        value = instantiate(self.shapes[instance.base.name].definition, instance) if defined else None
        if value is not None and depth < EXACT and not loose(layer):
            return out | set(self.reach(value, depth + 1, bound))
        if defined:
            for family, offsets in self._summary(instance.base.name).items():
                if offsets is None:
                    out.add(Atom(family, None, None))
                elif offsets[1] == "any" or layers[0] is None:
                    out.add(Atom(family, (None, None), None))
                else:
                    low, high = offsets
                    out.add(Atom(family, (None if low is None else layer + low, layer + high), None))
        return out

    # ------------------------------------------------------------ independence

    @staticmethod
    def _differ(a: sp.Expr, b: sp.Expr, distinct: frozenset) -> bool:
        difference = sp.expand(a - b)
        if difference.is_Number:
            return difference != 0
        return frozenset((a, b)) in distinct

    def distinct_atoms(self, a: Atom, b: Atom, distinct: frozenset = frozenset()) -> bool:
        """No instance lies in both ``a`` and ``b``."""
        if a.family != b.family:
            return True
        if a.layers is not None and b.layers is not None:
            (lo_a, hi_a), (lo_b, hi_b) = a.layers, b.layers
            for hi, lo in ((hi_a, lo_b), (hi_b, lo_a)):
                if hi is not None and lo is not None:
                    gap = sp.expand(lo - hi)
                    if gap.is_Number and gap > 0:
                        return True
            if lo_a is not None and lo_a == hi_a and lo_b == hi_b and lo_b is not None and \
                    self._differ(lo_a, lo_b, distinct):
                return True
        if a.units is not None and b.units is not None and len(a.units) == len(b.units):
            return any(x is not None and y is not None and self._differ(x, y, distinct)
                       for x, y in zip(a.units, b.units))
        return False

    def independent(self, first: sp.Expr, second: sp.Expr, distinct: frozenset = frozenset()) -> Evidence:
        """``first`` and ``second`` are independent (see the module docstring)."""
        reach_a, reach_b = self.reach(first), self.reach(second)
        if not reach_a or not reach_b:
            return yes("one side is not random")
        for a in sorted(reach_a, key=str):
            for b in sorted(reach_b, key=str):
                if not self.distinct_atoms(a, b, distinct):
                    shared = a if a.units is not None or b.units is None else b
                    return no(f"{sp.sstr(first)} and {sp.sstr(second)} both depend on {shared}")
        families = sorted({atom.family for atom in reach_a | reach_b})
        laws = [f for f in families if f.startswith("law ")]
        if laws:
            return no(f"{laws[0][4:]} is a distribution written in an expression: it is declared independent of "
                      f"nothing")
        for aid, group in self.groups:
            if set(families) <= group:
                return yes(f"they depend on disjoint primitives of {', '.join(families)}, declared independent "
                           f"in {aid}", [aid])
        return no(f"no cited assumption declares {', '.join(families)} independent")

    def uncorrelated(self, first: sp.Expr, second: sp.Expr, distinct: frozenset = frozenset()) -> Evidence:
        """Cov[first, second] = 0: independent, or a centred factor of one is independent of the rest of
        both (Cov[U R, T] = E[U] E[R T] - E[U] E[R] E[T] = 0)."""
        direct = self.independent(first, second, distinct)
        if direct:
            return direct
        for mine, other in ((first, second), (second, first)):
            summed = self._summand(mine)
            if summed is not None:            # Cov[sum_j B_j, T] = sum_j Cov[B_j, T]: each term, j fresh
                inner = self.uncorrelated(summed, other, distinct)
                if inner:
                    return both([inner], f"every term of {sp.sstr(mine)} is uncorrelated with {sp.sstr(other)}")
            factors = [a for a in sp.Mul.make_args(mine) if self.is_random(a)]
            for factor in factors:
                rest = sp.Mul(*[a for a in factors if a is not factor]) * other
                centred = self.centred(factor)
                if not centred:
                    continue
                apart = self.independent(factor, rest, distinct)
                if apart:
                    return both([centred, apart], f"{sp.sstr(factor)} is centred and independent of the rest, "
                                                  f"so the covariance is 0")
        return no(f"{direct.text}, and no centred factor is independent of the rest")

    def _summand(self, expr: sp.Expr) -> sp.Expr | None:
        """For c * Sum(B_j, (j, lo, hi)) with c deterministic: B with j renamed to a fresh variable (distinct
        from nothing, so no decision confuses it with a free index of the other side); None otherwise."""
        factors = [a for a in sp.Mul.make_args(expr) if self.is_random(a)]
        if len(factors) != 1 or not isinstance(factors[0], sp.Sum):
            return None
        body, (var, _, _) = v.peel(factors[0])
        return body.xreplace({var: sp.Dummy(var.name, integer=True)})

    # ------------------------------------------------------------ means and symmetry

    def _settled(self, expr: sp.Expr, depth: int, what: str) -> Evidence | None:
        """What a mean or a symmetry is without looking inside: a constant is centred and symmetric exactly
        when it is 0; past the depth bound nothing is decided. None: look inside."""
        if not self.is_random(expr):
            return yes("it is 0") if sp.expand(expr) == 0 else no(f"{sp.sstr(expr)} is a constant not known to be 0")
        if depth > DEPTH:
            return no(f"{what} of {sp.sstr(expr)} is not decided within {DEPTH} definitions")
        return None

    def centred(self, expr: sp.Expr, depth: int = 0) -> Evidence:
        """E[expr] = 0, decided (see the module docstring)."""
        expr = self.with_values(expr)
        settled = self._settled(expr, depth, "the mean")
        if settled is not None:
            return settled
        inverse = next((p for p in sp.preorder_traversal(expr) if isinstance(p, sp.Pow) and p.exp.is_negative
                        and self.is_random(p.base)), None)
        if inverse is not None:     # E[1/U], E[X/U] of a uniform U do not exist: the integral of 1/|u| diverges
            return no(f"{sp.sstr(inverse)} is a negative power of a random variable, whose mean may not exist")
        if isinstance(expr, v.DISTRIBUTIONS):
            mean = sp.cancel(v.raw_moment(expr, 1))
            return yes(f"the mean of {sp.sstr(expr)} is 0") if mean == 0 else no(f"E[{sp.sstr(expr)}] = {sp.sstr(mean)}")
        if isinstance(expr, sp.Symbol):
            return self._declared(expr.name, "zero_mean", "centred", every=True)
        if isinstance(expr, sp.Indexed):
            return self._by_cases(expr, "zero_mean", "centred", lambda e: self.centred(e, depth + 1))
        if isinstance(expr, sp.Add):
            return both([self.centred(t, depth) for t in expr.args], "every term is centred")
        if isinstance(expr, sp.Sum):
            body, _ = v.peel(expr)
            return both([self.centred(body, depth)], "every summand is centred")
        if isinstance(expr, sp.Mul):
            factors = [a for a in expr.args if self.is_random(a)]
            if len(factors) == 1:
                return self.centred(factors[0], depth)
            failures = []
            for factor in factors:
                centred = self.centred(factor, depth)
                if centred:
                    apart = self.independent(factor, sp.Mul(*[a for a in factors if a is not factor]))
                    if apart:
                        return both([centred, apart], f"{sp.sstr(factor)} is centred and independent of the rest")
                    failures.append(apart.text)
            return no(failures[0] if failures else f"no factor of {sp.sstr(expr)} is centred")
        if isinstance(expr, v.f):
            return self._odd_image(expr.args[0], depth)
        if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp % 2 == 1:
            sym = self.symmetric(expr.base, depth)
            return both([sym], "an odd power of a symmetric variable") if sym else sym
        return no(f"the mean of {sp.sstr(expr)} is not decided")

    def _odd_image(self, argument: sp.Expr, depth: int) -> Evidence:
        """E[f(u)] = 0: exactly for odd f and symmetric u; to first order (f(u) = f'(0) u + O(u^3)) for odd
        f and centred u."""
        check = self.activation
        if check is None or not check.odd or check.f0 != 0:
            return no("the activation is not shown odd with f(0) = 0, so E[f(u)] is not 0")
        sym = self.symmetric(argument, depth + 1)
        if sym:
            return both([sym], f"f is odd and {sp.sstr(argument)} is symmetric")
        centred = self.centred(argument, depth + 1)
        if centred:
            return Evidence(True, f"f is odd and {sp.sstr(argument)} is centred: E[f(u)] = f'(0) E[u] = 0 to first "
                                  f"order", centred.premises, True)
        return centred

    def symmetric(self, expr: sp.Expr, depth: int = 0) -> Evidence:
        """expr has the law of -expr, decided (see the module docstring)."""
        expr = self.with_values(expr)
        settled = self._settled(expr, depth, "the symmetry")
        if settled is not None:
            return settled
        if isinstance(expr, v.Uniform):
            return yes("a uniform law centred at 0") if v.symmetric_law(expr) else \
                no(f"{sp.sstr(expr)} is not symmetric about 0")
        if isinstance(expr, v.Normal):
            return yes("a normal law with mean 0") if v.symmetric_law(expr) else no(f"{sp.sstr(expr)} has a nonzero mean")
        if isinstance(expr, sp.Symbol):
            return self._declared(expr.name, "symmetric", "symmetric", every=True)
        if isinstance(expr, sp.Indexed):
            return self._by_cases(expr, "symmetric", "symmetric", lambda e: self.symmetric(e, depth + 1))
        if isinstance(expr, v.f):
            check = self.activation
            if check is None or not check.odd:
                return no("the activation is not shown odd")
            inner = self.symmetric(expr.args[0], depth + 1)
            return both([inner], "an odd function of a symmetric variable") if inner else inner
        if isinstance(expr, sp.Mul):
            factors = [a for a in expr.args if self.is_random(a)]
            if len(factors) == 1:
                return self.symmetric(factors[0], depth)
        return self._flip(expr, depth)

    def _flip(self, expr: sp.Expr, depth: int) -> Evidence:
        """expr(-U) = -expr(U) for the instances U of one symmetric primitive family written in it, mutually
        independent and independent of the rest: then expr has the law of -expr."""
        from .compare import canonical
        instances = [x for x in self.instances(expr) if isinstance(x, sp.Indexed)]
        occurrences = self.occurrences(expr)
        for family in sorted({x.base.name for x in instances}):
            if family in self.shapes or family not in self.declared["symmetric"]:
                continue
            flipped = [x for x in instances if x.base.name == family]
            negated = _outside_moments(expr, {x: -x for x in flipped})   # a moment is a number: not flipped
            if sp.expand(canonical(negated + expr)) != 0:
                continue
            # each occurrence with the summation variables bound where it stands (they range over every value)
            mine = [(x, b) for x, b in occurrences if x in flipped]
            rest = [(y, b) for y, b in occurrences if y not in flipped]
            apart = [self._apart(x, b, rest) for x, b in mine]
            group = self._group_of({family})
            if group is None:
                continue
            evidence = both(apart, f"flipping the sign of the {family} instances negates it")
            if evidence:
                return yes(evidence.text, [*evidence.premises, self.declared["symmetric"][family], group])
        return no(f"{sp.sstr(expr)} is not shown symmetric")

    def _apart(self, instance: sp.Expr, bound: frozenset, others: list) -> Evidence:
        """``instance`` (its summation variables ``bound``) shares no primitive with the ``others`` (each with
        its own bound variables), and one cited assumption declares all their families independent."""
        if not others:
            return yes("nothing else is random")
        mine = self.reach(instance, outer=bound)
        theirs = frozenset().union(*(self.reach(y, outer=b) for y, b in others))
        for a in sorted(mine, key=str):
            for b in sorted(theirs, key=str):
                if not self.distinct_atoms(a, b):
                    return no(f"{sp.sstr(instance)} and the rest both depend on {a}")
        families = {atom.family for atom in mine | theirs}
        group = self._group_of(families)
        if group is None or any(f.startswith("law ") for f in families):
            return no(f"no cited assumption declares {', '.join(sorted(families))} independent")
        return yes(f"{sp.sstr(instance)} depends on primitives apart from the rest, declared independent in {group}",
                   [group])

    def _group_of(self, families: set[str]) -> str | None:
        for aid, group in self.groups:
            if families <= group:
                return aid
        return None

    def _declared(self, family: str, kind: str, word: str, every: bool = False) -> Evidence:
        """A premise about the primitive instances of ``family``; ``every``: about all its instances (a bare
        name such as the representative ``Y``), which a family with a definition cannot have declared."""
        if family in self.shapes and (every or not self.primitive_anywhere(family)):
            return no(f"{family} is defined, so whether it is {word} is computed, not declared")
        aid = self.declared[kind].get(family)
        if aid is None:
            by_law = self._by_law(family, kind, word)
            return by_law if by_law is not None else no(f"no cited assumption declares {family} {word}")
        return yes(f"{family} is declared {word} in {aid}", [aid])

    def _by_law(self, family: str, kind: str, word: str) -> Evidence | None:
        """What a declared law (``law = "Bernoulli(q)"``: every primitive instance has it) settles: the mean
        (computed, E[X] = raw_moment(law, 1)), symmetry (a law symmetric about 0), identical distribution (one
        law for all). A declaration, not a premise: it holds without being cited. None: no declared law."""
        decl = self.symbols.get(family)
        law = getattr(decl, "law", None)
        if law is None:
            return None
        if kind == "iid":
            return yes(f"every {family} has the declared law {sp.sstr(law)}")
        if kind == "zero_mean":
            mean = sp.cancel(v.raw_moment(law, 1))
            return yes(f"{family} ~ {sp.sstr(law)} has mean 0") if mean == 0 else \
                no(f"{family} ~ {sp.sstr(law)} has mean {sp.sstr(mean)}")
        if kind == "symmetric":
            return yes(f"{family} ~ {sp.sstr(law)}, symmetric about 0") if v.symmetric_law(law) else \
                no(f"{family} ~ {sp.sstr(law)} is not shown symmetric about 0")
        return None

    def _by_cases(self, instance: sp.Indexed, kind: str, word: str, recurse) -> Evidence:
        """A property of an instance: declared where it may be primitive, computed where it may be defined."""
        primitive, defined = self.cases(instance)
        parts = []
        if primitive:
            parts.append(self._declared(instance.base.name, kind, word))
        if defined:
            value = self.defined_value(instance)
            parts.append(recurse(value) if value is not None else
                         no(f"{sp.sstr(instance)} does not have the indices of its definition"))
        return both(parts, f"{sp.sstr(instance)} is {word}: " + "; ".join(p.text for p in parts))

    # ------------------------------------------------------------ identical distribution, counts

    def identical(self, instance: sp.Expr, index: sp.Symbol, depth: int = 0) -> Evidence:
        """The law of ``instance`` does not depend on the value of ``index`` (see the module docstring)."""
        if index not in instance.free_symbols:
            return yes(f"{sp.sstr(instance)} does not involve {index}")
        if not isinstance(instance, sp.Indexed) or not self.is_random_name(instance.base.name):
            return no(f"{sp.sstr(instance)} is not a random variable of one family")
        if index in instance.indices[0].free_symbols and self.layered(instance):
            return no(f"the layer of {sp.sstr(instance)} depends on {index}")
        if depth > DEPTH:
            return no(f"not decided within {DEPTH} definitions")
        primitive, defined = self.cases(instance)
        parts = []
        if primitive:
            parts.append(self._declared(instance.base.name, "iid", "identically distributed"))
        if defined:
            parts.append(self._identical_definition(instance, index, depth))
        return both(parts, f"{sp.sstr(instance)} has one law for every {index}: " + "; ".join(p.text for p in parts))

    def layered(self, instance: sp.Indexed) -> bool:
        """Whether the first index of ``instance`` is a layer: kernel.derivation.is_layered for its family, and,
        where the family declares nothing, also when this instance has more than one index."""
        name = instance.base.name
        if getattr(self.symbols.get(name), "layered", None) is None and len(instance.indices) > 1:
            return True
        return is_layered(name, self.symbols, self.shapes, self.arity)

    def _identical_definition(self, instance: sp.Indexed, index: sp.Symbol, depth: int) -> Evidence:
        value = self.with_values(self.defined_value(instance))
        for moment in sorted(value.atoms(*v.MOMENTS), key=sp.default_sort_key):
            if index in moment.free_symbols:      # a number, but a different one for each value of index
                return no(f"{sp.sstr(moment)} in the definition depends on {index}")
        randoms = self.instances(value)
        bound = frozenset().union(*(b for _, b in self.occurrences(value)))
        moving = [x for x in randoms if index in x.free_symbols]
        skeleton = value.xreplace({x: sp.Dummy() for x in moving})
        if index in skeleton.free_symbols:
            return no(f"{sp.sstr(value)} depends on {index} outside its random variables")
        if len(randoms) == 1 and moving:
            return self.identical(moving[0], index, depth + 1)
        premises = []
        for x in moving:
            if not isinstance(x, sp.Indexed) or x.base.name in self.shapes:
                return no(f"{sp.sstr(x)} depends on {index} through a definition, beside other random terms")
            if any(index in ix.free_symbols and not sp.expand(ix - index).is_Integer for ix in x.indices):
                return no(f"{sp.sstr(x)} is not indexed by {index} plus a constant")
            if index in x.indices[0].free_symbols and self.layered(x):
                return no(f"the layer of {sp.sstr(x)} depends on {index}: i.i.d. holds within a layer only")
            if x.indices[0].free_symbols & bound and any(y.base.name == x.base.name for y in randoms if y != x):
                # a summation variable in the layer: other terms of the sum may be the variables index selects
                return no(f"{sp.sstr(x)} is summed over layers beside other {x.base.name} terms: they may coincide")
            declared = self._declared(x.base.name, "iid", "identically distributed")
            if not declared:
                return declared
            premises += declared.premises
            column = Atom(x.base.name, (x.indices[0], x.indices[0]), None)
            for y in randoms:
                if y not in moving and not all(self.distinct_atoms(column, a) for a in self.reach(y)):
                    return no(f"{sp.sstr(y)} may share the variables of {sp.sstr(x)} that {index} selects")
        for first, second in ((x, y) for n_, x in enumerate(moving) for y in moving[n_ + 1:]):
            if first.base.name == second.base.name and not any(
                    sp.expand(p - q).is_Integer and sp.expand(p - q) != 0 and not (p.free_symbols | q.free_symbols) & bound
                    for p, q in zip(first.indices, second.indices)):
                return no(f"{sp.sstr(first)} and {sp.sstr(second)} may be one variable for some {index}")
        group = self._group_of({a.family for a in self.reach(value)})
        if group is None:
            return no(f"the variables of {sp.sstr(value)} are not declared independent")
        return yes(f"{index} selects i.i.d. primitives independent of the rest", [*premises, group])

    def one_law_per_layer(self, instance: sp.Indexed) -> Evidence:
        """Every instance of the family in this layer has one law (what the representative Var[W[i]] means):
        a premise for a family that no definition gives; for a defined one, the law of the generic instance
        X[layer, a_1, ..., a_m] (fresh unit indices) does not depend on any a_p, each decided by
        :meth:`identical` with the others left arbitrary; any two unit tuples are joined by changing one index at
        a time, so they all have one law."""
        if instance.base.name not in self.shapes:
            return self._declared(instance.base.name, "iid", "identically distributed")
        units = [sp.Dummy(f"a{p}", integer=True) for p in range(1, len(instance.indices))]
        generic = instance.base[(instance.indices[0], *units)]
        parts = [self.identical(generic, unit) for unit in units]
        return both(parts, f"the law of {instance.base.name} in layer {sp.sstr(instance.indices[0])} does not depend "
                           f"on any unit index")

    def count(self, lo: sp.Expr, hi: sp.Expr) -> Evidence:
        """hi - lo + 1 is a nonnegative integer computed from deterministic limits: sizes are positive
        integers, index symbols integers of unknown sign."""
        for limit in (lo, hi):
            if not isinstance(limit, sp.Expr) or isinstance(limit, sp.Equality) or limit.has(*v.MOMENTS) \
                    or self.is_random(limit):
                return no(f"the limit {sp.sstr(limit)} is not a deterministic number")
        number = sp.expand(self.with_values(hi - lo + 1))
        sizes = {a: sp.Dummy(sp.sstr(a), integer=True, positive=True) for a in number.atoms(sp.Indexed)
                 if self.symbols.get(a.base.name) is not None and self.symbols[a.base.name].kind == "size"}
        plain = number.xreplace(sizes)
        # an index symbol is an integer of unknown sign here (it may be bound by an outer sum over negatives)
        plain = plain.xreplace({s: sp.Dummy(s.name, integer=True)
                                for s in plain.free_symbols if s.is_integer and not s.is_positive})
        if plain.is_integer is not True:
            return no(f"the count {sp.sstr(number)} is not shown to be an integer (declare it kind = \"size\")")
        if plain.is_nonnegative is not True:
            return no(f"the count {sp.sstr(number)} is not shown to be nonnegative")
        return yes(f"the count {sp.sstr(number)} is a nonnegative integer")


def _outside_moments(expr: sp.Expr, mapping: dict) -> sp.Expr:
    """``expr`` with ``mapping`` applied everywhere except inside Var[...] and E[...] (which are numbers)."""
    if expr in mapping:
        return mapping[expr]
    if isinstance(expr, v.MOMENTS) or not expr.args or isinstance(expr, sp.Indexed):
        return expr
    return expr.func(*[_outside_moments(a, mapping) for a in expr.args])
