"""Definitions, checked and used: ``F[i + c, k, ...] := rhs`` for every layer ``i >= 0`` and every unit.

Checked when a derivation is handed to the kernel (:func:`check_definitions`), whatever the loader did:

* one definition per family (two would have to agree, which nothing checks);
* every index on the left is an index symbol, or the layer symbol plus an integer constant, each symbol once;
  the first index is the layer (``z[i+1, k]`` defines layers 1, 2, ...; ``z[0, k]`` is then a primitive, the
  input);
* the right side uses no index symbol the left side does not bind (summation variables aside);
* no circularity: every cycle of definitions must go down a layer. A reference from the definition of F at
  layer ``i + c`` to G at layer ``i + d`` is an edge of weight ``d - c``; a cycle whose weights add to 0 or
  more would define a variable through itself, and a reference whose layer is not ``i + constant`` cannot
  be ordered at all.

Layer indices are nonnegative integers throughout the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import terms as v
from .derivation import Definition


class DefinitionError(ValueError):
    """A set of definitions the kernel refuses, naming the definition(s) at fault."""


@dataclass(frozen=True)
class Shape:
    """A checked definition: family ``name`` is defined at layers ``layer_symbol + offset`` (offset >= 0)."""

    name: str
    layer_symbol: sp.Symbol | None   # None for a definition of fixed layers (z[0, k] := ...)
    offset: sp.Integer
    definition: Definition


def _pattern(index: sp.Expr) -> tuple[sp.Symbol | None, sp.Expr] | None:
    """index = symbol + integer constant (or a bare integer): (symbol, constant); None otherwise."""
    if index.is_Integer:
        return None, index
    symbols = index.free_symbols
    if len(symbols) != 1:
        return None
    (symbol,) = symbols
    constant = sp.expand(index - symbol)
    if not (isinstance(symbol, sp.Symbol) and symbol.is_integer and constant.is_Integer):
        return None
    return symbol, constant


def shapes(definitions: tuple[Definition, ...], random: frozenset | None = None) -> dict[str, Shape]:
    """Check the definitions (see the module docstring) and return each family's shape. With ``random`` (the
    names declared random), a family not declared random may only be defined by a deterministic expression."""
    out: dict[str, Shape] = {}
    for d in definitions:
        name = d.lhs.base.name
        if random is not None and name not in random and (
                d.rhs.has(*v.DISTRIBUTIONS) or any(getattr(a, "name", None) in random
                                                   for a in d.rhs.atoms(sp.Symbol, sp.IndexedBase))):
            raise DefinitionError(f"definition '{d.text}': {name} is not declared random, but its right side is")
        if name in out:
            raise DefinitionError(f"definitions '{out[name].definition.text}' and '{d.text}' both define {name}: "
                                  f"one definition per variable")
        layered = {e.lhs.base.name for e in definitions} | {x.base.name for x in d.rhs.atoms(sp.Indexed)
                                                             if len(x.indices) > 1}
        below = negative_layers(d.rhs, frozenset(n for n in layered if random is None or n in random))
        if below:
            raise DefinitionError(f"definition '{d.text}': {below}")
        bound: set[sp.Symbol] = set()
        layer_symbol, offset = None, sp.S.Zero
        for position, index in enumerate(d.lhs.indices):
            parsed = _pattern(index)
            if parsed is None or (parsed[0] is None and position > 0) or parsed[0] in bound:
                raise DefinitionError(f"definition '{d.text}': index {sp.sstr(index)} on the left must be an index "
                                      f"symbol (the layer may add an integer, as in z[i+1, k]), each symbol once")
            symbol, constant = parsed
            if position == 0:
                layer_symbol, offset = symbol, constant
                if constant < 0:
                    raise DefinitionError(f"definition '{d.text}': the layer {sp.sstr(index)} may be negative")
            elif constant != 0:
                raise DefinitionError(f"definition '{d.text}': only the layer index may add a constant")
            bound.add(symbol)
        loose = _free_indices(d.rhs) - bound
        if loose:
            raise DefinitionError(f"definition '{d.text}': the right side uses {', '.join(sorted(map(str, loose)))}, "
                                  f"which the left side does not bind")
        out[name] = Shape(name, layer_symbol, offset, d)
    _check_cycles(out)
    return out


def _free_indices(expr: sp.Expr) -> set[sp.Symbol]:
    labels = {a.base.label for a in expr.atoms(sp.Indexed)}
    return {s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s.is_integer and not s.is_positive
            and s not in labels}


def references(shape: Shape) -> list[tuple[str, sp.Expr | None]]:
    """Each instance of a defined family in the definition's right side, as (family, layer weight): the
    referenced layer minus the defined one, an integer, or None when it is not ``layer symbol + constant``."""
    out = []
    for atom in sorted(shape.definition.rhs.atoms(sp.Indexed), key=sp.default_sort_key):
        layer = atom.indices[0]
        weight = sp.expand(layer - (shape.layer_symbol or 0) - shape.offset)
        out.append((atom.base.name, weight if weight.is_Integer else None))
    return out


def _check_cycles(found: dict[str, Shape]) -> None:
    """Refuse a cycle of definitions that does not go down a layer (Bellman-Ford on the longest paths)."""
    edges = []
    for name, shape in found.items():
        for target, weight in references(shape):
            if target not in found:
                continue
            if weight is None:
                raise DefinitionError(f"definition '{shape.definition.text}' refers to {target} at a layer that is "
                                      f"not its own layer plus a constant, so the definitions cannot be ordered")
            edges.append((name, target, int(weight), shape))
    # a cycle of weight sum >= 0 is a cycle of positive sum under w -> (V + 1) w + 1: find one by longest paths
    scale = len(found) + 1
    best = {name: 0 for name in found}
    for _ in range(len(found) + 1):
        changed = None
        for source, target, weight, shape in edges:
            if best[source] + scale * weight + 1 > best[target]:
                best[target] = best[source] + scale * weight + 1
                changed = (source, target, shape)
        if changed is None:
            return
    source, target, shape = changed
    raise DefinitionError(f"definitions '{shape.definition.text}' and '{found[target].definition.text}' are circular: "
                          f"{source} is defined through {target} without going down a layer")


def negative_layers(expr: sp.Expr, layered: frozenset[str]) -> str | None:
    """What is wrong when a sum runs a layer below 0: every layer is a nonnegative integer, and the kernel reasons
    with every summation variable as one (see :func:`nonnegative`), so a sum whose variable stands in a layer
    (the first index of a family in ``layered``) must start at a value shown >= 0. None when all do."""
    for node in sp.preorder_traversal(expr):
        if not isinstance(node, sp.Sum):
            continue
        body, (var, lo, _) = v.peel(node)
        in_layer = [x for x in body.atoms(sp.Indexed)
                    if x.base.name in layered and x.indices and var in x.indices[0].free_symbols]
        if in_layer and not nonnegative(lo):
            return (f"the sum over {var} from {sp.sstr(lo)} runs the layer of {sp.sstr(in_layer[0])} over values not "
                    f"shown >= 0: layers are nonnegative, start the sum at 0 or above")
    return None


def nonnegative(expr: sp.Expr) -> bool:
    """Shown >= 0 when every index symbol is a nonnegative integer (layers are): a sum of nonnegative numbers
    and nonnegative multiples of symbols."""
    expr = sp.expand(expr)
    if expr.is_Number:
        return bool(expr >= 0)
    for term in sp.Add.make_args(expr):
        coefficient, rest = term.as_coeff_Mul()
        if not (coefficient.is_Number and coefficient >= 0 and (rest == 1 or isinstance(rest, sp.Symbol))):
            return False
    return True


def fresh_index(avoid: set[sp.Symbol]) -> sp.Symbol:
    """An integer index symbol whose name is not used in ``avoid``."""
    used = {getattr(s, "name", None) for s in avoid}
    for name in ("j", "k", "l", "m", "p", "q", "r", "t", "u"):
        if name not in used:
            return sp.Symbol(name, integer=True)
    return sp.Dummy("m", integer=True)


def rename_bound(expr: sp.Expr, avoid: set[sp.Symbol]) -> sp.Expr:
    """Rename every summation variable of ``expr`` to a name not in ``avoid`` (no variable capture)."""
    avoid = set(avoid) | expr.free_symbols

    def visit(node):
        if isinstance(node, sp.Sum):
            inner, (var, lo, hi) = v.peel(node)
            body = visit(inner)
            new = var if var not in avoid else fresh_index(avoid | body.free_symbols)
            avoid.add(new)
            return sp.Sum(body.xreplace({var: new}), (new, lo, hi))
        if not node.args or isinstance(node, sp.Indexed):
            return node
        return node.func(*[visit(a) for a in node.args])

    return visit(expr)


def instantiate(definition: Definition, target: sp.Indexed, avoid: frozenset = frozenset()) -> sp.Expr | None:
    """If ``target`` is an instance of ``definition.lhs``, the right side at that instance, else None.

    A definition holds for every value of the index symbols in its left side, the layer symbol >= 0: s[i, k] := ...
    matches s[i+1, j] with i -> i+1, k -> j (summation variables are renamed first so none is captured), and
    z[i+1, k] := ... matches z[i+1, j] but not z[i, j] or z[0, j] (i - 1 >= 0 is not shown). Left sides are
    checked to be symbol + constant (see :func:`shapes`), so the match is a subtraction. ``avoid``: further
    names the renamed summation variables must not take (those bound around the target).
    """
    lhs = definition.lhs
    if lhs.base.name != target.base.name or len(lhs.indices) != len(target.indices):
        return None
    values = {}
    for position, (pattern, actual) in enumerate(zip(lhs.indices, target.indices)):
        parsed = _pattern(pattern)
        if parsed is None:
            return None
        symbol, constant = parsed
        if symbol is None:
            if sp.expand(actual - constant) != 0:
                return None
            continue
        values[symbol] = sp.expand(actual - constant)
        if position == 0 and not nonnegative(values[symbol]):
            return None          # z[i+1, k] := ... says nothing of z[0, k]: the layer symbol is >= 0
    avoid = set(avoid) | set(target.free_symbols).union(*(x.free_symbols for x in values.values()))
    return rename_bound(definition.rhs, avoid).xreplace(values)


def unfold(expr: sp.Expr, definitions: tuple[Definition, ...], avoid: frozenset = frozenset()) -> sp.Expr:
    """Replace defined variables by their definitions, outermost first, each definition used in one round
    (every instance it matches at once); so the unfolding stops when the same variable appears one layer down.

    Var[z[i+1, k]] -> Var[f(s[i, k])] -> Var[f(sum_j z[i,j] W[i,j,k] + b[i,k])].
    """
    remaining = list(definitions)
    progress = True
    while progress and remaining:
        progress = False
        for atom in sorted(expr.atoms(sp.Indexed), key=sp.default_sort_key):
            definition = next((d for d in remaining if instantiate(d, atom) is not None), None)
            if definition is None:
                continue
            names = frozenset(avoid) | expr.atoms(sp.Symbol)      # bound ones too: nothing is captured
            matches = {a: instantiate(definition, a, names) for a in expr.atoms(sp.Indexed)}
            expr = expr.xreplace({a: value for a, value in matches.items() if value is not None})
            remaining.remove(definition)
            progress = True
            break
    return expr
