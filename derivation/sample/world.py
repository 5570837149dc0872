"""One concrete model of a derivation, and its expressions evaluated in it by Monte Carlo.

A world fixes
* every free index symbol to a small integer (layers at least 1, so that defined variables are computed
  through a layer of the network; unit indices 1 or 2) and every size (``n[l]``, ``N``) to an integer in
  2..9, different sizes different, so that ``n[i]`` and ``n[i+1]`` cannot be confused;
* every positive parameter to a number in [0.5, 2], every real one in [-1.5, 1.5], every constant to its
  declared value or, without one, a number of its own per instance;
* every primitive random instance to a law (see :mod:`.laws`) satisfying exactly the given premises: the
  instances of families in one ``independent`` declaration are independent, every other pair shares a latent
  normal (so they are correlated); ``iid`` makes the law depend on (family, layer) only; ``zero_mean`` and
  ``symmetric`` choose the shape. A variance may be imposed on a family (a requirement being examined), and
  the cited premise equations (``Var[X] == c``, ``E[X] == c``) fix the variance and mean of every instance of X.
  A family with a declared law (``law = "Bernoulli(q)"``) is drawn from it, through a normal that carries the
  same latent dependence (Bernoulli: ``[Z < Phi^-1(q)]``);
* every probability parameter to a number in [0.1, 0.9];
* a defined instance is its definition evaluated (memoised), so ``z[2, k]`` is computed through the network.
  A gradient family ``g`` with ``gradient_of = "s"`` is ``dL/ds`` for the loss ``L = sum_u g[T, u] s[T, u]``
  at the top layer T the step mentions: ``g[T, u]`` are primitive (drawn by the premises), below T they are
  central finite differences of L (step 1e-6; the truncation error is far below the sampling error).

Expressions are evaluated by walking the SymPy tree onto NumPy (never ``eval`` or ``lambdify``). Inside
``Var[...]`` and ``E[...]`` a random expression is a vector of M draws; outside, every quantity is a vector
of batch parts (see :mod:`.estimate`). ``Var[W[i]]`` with fewer indices than the family has is the common
variance of the instances of that layer: they must agree (within ``Z`` standard errors), else the expression
does not denote one number and :class:`NotOneNumber` says which instances differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import sympy as sp

from ..kernel import terms as v
from ..kernel.activation import X
from ..kernel.derivation import Assumption, Derivation, is_layered, written_arity
from .estimate import BATCHES, Z, moment_parts, standard_error
from .laws import Law, choose, stable_seed, standard

SIZES = tuple(range(2, 10))
MAX_TERMS = 400             # a Sum over more terms than this is not instantiated
MAX_DEPTH = 60              # nested definitions deeper than this are not instantiated
FD_STEP = 1e-6
MAX_WORK = 20_000_000_000  # node evaluations times draws (about a minute at most): more is refused
MAX_FLOATS = 150_000_000    # draws held by one model at most (1.2 GB): more variables or samples are refused
LATENT_WEIGHT = 0.6


class CannotSample(Exception):
    """The expression cannot be made concrete here (said per step, never pretended)."""


class NotOneNumber(CannotSample):
    """A family-level moment such as Var[W[i]] whose instances differ: the notation denotes no single number."""

    in_claim = False
    values: tuple = ()


@dataclass
class Premises:
    """The family facts a world satisfies: what the cited assumptions declare."""

    independent: tuple[frozenset[str], ...] = ()
    iid: frozenset[str] = frozenset()
    zero_mean: frozenset[str] = frozenset()
    symmetric: frozenset[str] = frozenset()
    facts: tuple = ()                # premise equations Var[X] == c, E[X] == c: imposed on every instance of X

    @classmethod
    def of(cls, assumptions: list[Assumption]) -> "Premises":
        return cls(tuple(a.independent for a in assumptions if a.independent),
                   frozenset().union(*(a.iid for a in assumptions)),
                   frozenset().union(*(a.zero_mean for a in assumptions)),
                   frozenset().union(*(a.symmetric for a in assumptions)),
                   tuple(fact for a in assumptions for fact in getattr(a, "facts", ())))

    def independent_pair(self, a: str, b: str) -> bool:
        return any(a in group and b in group for group in self.independent)


def _ufunc(function):
    return np.frompyfunc(function, 1, 1)


_ERF = _ufunc(math.erf)
UNARY = {sp.tanh: np.tanh, sp.exp: np.exp, sp.log: np.log, sp.sinh: np.sinh, sp.cosh: np.cosh, sp.sin: np.sin,
         sp.cos: np.cos, sp.atan: np.arctan, sp.Abs: np.abs, sp.sign: np.sign,
         sp.erf: lambda a: np.asarray(_ERF(a), dtype=float) if np.ndim(a) else math.erf(a)}


@dataclass
class World:
    """A concrete model (see the module docstring)."""

    derivation: Derivation
    activation: sp.Expr | None
    premises: Premises
    seed: int
    samples: int
    small: bool = False                      # laws of small spread (the linear regime of an activation)
    imposed: dict = field(default_factory=dict)   # (family, layer) -> variance imposed on its primitives
    kink: float | None = None                     # f'(0) where f has a kink, when a step fixes it
    top: int | None = None                   # the layer of the gradients drawn as primitive
    values: dict = field(default_factory=dict)    # what was fixed: text -> number (for reports)

    def __post_init__(self):
        self.samples -= self.samples % BATCHES
        self.decl = self.derivation.symbols
        self.arity = written_arity(self.derivation)
        defined = {d.lhs.base.name for d in self.derivation.definitions}
        self.layered = {name for name in self.arity if is_layered(name, self.decl, defined, self.arity)}
        self.index: dict[sp.Symbol, int] = {}
        self.sizes: dict[tuple, int] = {}
        self.params: dict[sp.Symbol, float] = {}
        self.constants: dict[tuple, float] = {}
        self.draws: dict[tuple, np.ndarray] = {}
        self.latents: dict[tuple, np.ndarray] = {}
        self.laws: dict[tuple, Law] = {}
        self.seen: dict[str, set[tuple]] = {}
        self.cache: dict[tuple, np.ndarray] = {}
        self.primitives: dict[tuple, np.ndarray] = {}
        self.work = 0                          # expression nodes evaluated (each on every draw)
        self.depth = 0
        self.shown: list = []                  # the step's expressions, whose values a report shows
        self.derivative = sp.diff(self.activation, X) if self.activation is not None else None

    # ------------------------------------------------------------------ the deterministic part

    def fix_indices(self, exprs) -> None:
        """Give every free index symbol of ``exprs`` a value: layers so that every layer mentioned is >= 1
        where possible (>= 0 always), units 1 or 2."""
        rng = np.random.default_rng(stable_seed("indices", self.seed))
        lowest: dict[sp.Symbol, int] = {}
        layered = self.layered | {name for name, d in self.decl.items() if d.kind == "size"}
        for expr in exprs:
            for node in sp.preorder_traversal(expr):
                if not isinstance(node, sp.Indexed):
                    continue
                for position, index in enumerate(node.indices):
                    for symbol in index.free_symbols:
                        if self._kind(symbol) != "index":
                            continue
                        if position == 0 and node.base.name in layered:
                            offset = sp.expand(index - symbol)
                            low = -int(offset) if offset.is_Integer else 0
                            lowest[symbol] = max(lowest.get(symbol, 0), low)
        free = set().union(*(e.free_symbols for e in exprs)) if exprs else set()
        for symbol in sorted(free, key=sp.default_sort_key):
            if self._kind(symbol) != "index" or symbol in self.index:
                continue
            if symbol in lowest:
                self.index[symbol] = lowest[symbol] + 1 + int(rng.integers(2))
            else:
                self.index[symbol] = 1 + int(rng.integers(2))
            self.values[symbol.name] = self.index[symbol]

    def _kind(self, symbol) -> str | None:
        decl = self.decl.get(getattr(symbol, "name", None))
        return decl.kind if decl is not None else None

    def exact(self, expr: sp.Expr, env: dict) -> sp.Expr:
        """An index, limit or parameter expression with every symbol given its concrete value, exactly
        (integers stay integers; parameters and constants are floats)."""
        if isinstance(expr, sp.Symbol):
            if expr in env:
                return sp.Integer(env[expr])
            kind = self._kind(expr)
            if kind == "index":
                return sp.Integer(self._free_index(expr))
            if kind == "size":
                return sp.Integer(self.size(expr.name, ()))
            if kind in ("positive", "real", "probability"):
                return sp.Float(self.parameter(expr))
            if kind == "constant":
                return sp.Float(self.constant(expr.name, ()))
            raise CannotSample(f"{expr.name} is not a number")
        if isinstance(expr, sp.Indexed):
            kind = self._kind(expr.base)
            indices = tuple(self._integer(i, env) for i in expr.indices)
            if kind == "size":
                return sp.Integer(self.size(expr.base.name, indices))
            if kind == "constant":
                return sp.Float(self.constant(expr.base.name, indices))
            raise CannotSample(f"{sp.sstr(expr)} is not a number")
        if not expr.args or expr.is_Number:
            return expr
        if isinstance(expr, (sp.Sum, *v.MOMENTS, v.f, v.df, v.Uniform, v.Normal)):
            raise CannotSample(f"{sp.sstr(expr)} is not a plain number")
        return expr.func(*[self.exact(a, env) for a in expr.args])

    def _integer(self, expr: sp.Expr, env: dict) -> int:
        value = self.exact(expr, env)
        if not value.is_Integer:
            raise CannotSample(f"{sp.sstr(expr)} is not an integer here")
        return int(value)

    def _free_index(self, symbol: sp.Symbol) -> int:
        if symbol not in self.index:
            self.fix_indices([symbol])
            if symbol not in self.index:
                self.index[symbol] = 1
                self.values[symbol.name] = 1
        return self.index[symbol]

    def size(self, name: str, indices: tuple) -> int:
        key = (name, indices)
        if key not in self.sizes:
            used = set(self.sizes.values())
            rng = np.random.default_rng(stable_seed("size", self.seed, key))
            fresh = [s for s in SIZES if s not in used] or list(SIZES)
            self.sizes[key] = int(fresh[int(rng.integers(len(fresh)))])
            self.values[_label(name, indices)] = self.sizes[key]
        return self.sizes[key]

    def parameter(self, symbol: sp.Symbol) -> float:
        if symbol not in self.params:
            rng = np.random.default_rng(stable_seed("parameter", self.seed, symbol.name))
            kind = self._kind(symbol)
            low, high = {"positive": (0.5, 2.0), "probability": (0.1, 0.9)}.get(kind, (-1.5, 1.5))
            value = float(rng.uniform(low, high))
            self.params[symbol] = round(value, 3)
            self.values[symbol.name] = self.params[symbol]
        return self.params[symbol]

    def constant(self, name: str, indices: tuple) -> float:
        key = (name, indices)
        if key not in self.constants:
            decl = self.decl[name]
            if decl.value is not None:
                value = self.exact(decl.value, {})
                if not value.is_number:
                    raise CannotSample(f"the value of {name} is not a number here")
                self.constants[key] = float(value)
            else:
                rng = np.random.default_rng(stable_seed("constant", self.seed, key))
                self.constants[key] = round(float(rng.uniform(-1.0, 1.0)), 3)
                self.values[_label(name, indices)] = self.constants[key]
        return self.constants[key]

    # ------------------------------------------------------------------ evaluation

    def number(self, expr: sp.Expr) -> np.ndarray:
        """The batch parts of a deterministic-position expression (moments estimated from the draws)."""
        out = self._walk(expr, {}, random=False)
        return np.broadcast_to(np.asarray(out, dtype=float), (BATCHES + 1,)).copy()

    def draws_of(self, expr: sp.Expr) -> np.ndarray | float:
        """The M draws of a random expression (a float when it is deterministic)."""
        return self._walk(expr, {}, random=True)

    def _walk(self, expr: sp.Expr, env: dict, random: bool):
        self.work += 1
        if self.work * self.samples > MAX_WORK:
            raise CannotSample(f"the model needs more than {MAX_WORK:.0e} operations on draws; use fewer --samples")
        if isinstance(expr, (sp.Integer, sp.Rational, sp.Float)) or expr.is_number and not expr.free_symbols \
                and not expr.has(*v.MOMENTS, v.Uniform, v.Normal, sp.Sum):
            value = complex(sp.N(expr))
            if value.imag != 0:
                raise CannotSample(f"{sp.sstr(expr)} is not real")
            return value.real
        if isinstance(expr, sp.Add):
            total = 0.0
            for a in expr.args:
                total = total + self._walk(a, env, random)
            return total
        if isinstance(expr, sp.Mul):
            total = 1.0
            for a in expr.args:
                total = total * self._walk(a, env, random)
            return total
        if isinstance(expr, sp.Pow):
            base = self._walk(expr.base, env, random)
            exponent = self._walk(expr.exp, env, random)
            with np.errstate(all="ignore"):
                return np.power(np.asarray(base, dtype=float), exponent) if np.ndim(base) else \
                    _scalar_power(base, exponent)
        if isinstance(expr, v.Cov):
            return self._covariance(expr, env, random)
        if isinstance(expr, (v.Var, v.E)):
            return self._moment(expr, env, random)
        if isinstance(expr, sp.Sum):
            return self._sum(expr, env, random)
        if isinstance(expr, (v.f, v.df)):
            if not random:
                raise CannotSample(f"{sp.sstr(expr)} is random, outside Var[...] or E[...]")
            return self._activation(expr, self._walk(expr.args[0], env, random))
        if isinstance(expr, (v.Uniform, v.Normal)):
            if not random:
                raise CannotSample(f"{sp.sstr(expr)} is random, outside Var[...] or E[...]")
            return self._law(expr, env)
        if isinstance(expr, sp.Indexed):
            return self._indexed(expr, env, random)
        if isinstance(expr, sp.Symbol):
            return self._symbol(expr, env, random)
        if isinstance(expr, (sp.Max, sp.Min)):
            parts = [np.asarray(self._walk(a, env, random), dtype=float) for a in expr.args]
            reduce = np.maximum if isinstance(expr, sp.Max) else np.minimum
            out = parts[0]
            for p in parts[1:]:
                out = reduce(out, p)
            return out if np.ndim(out) else float(out)
        if isinstance(expr, sp.Heaviside):
            a = np.asarray(self._walk(expr.args[0], env, random), dtype=float)
            out = np.heaviside(a, 0.5)
            return out if np.ndim(out) else float(out)
        function = UNARY.get(expr.func)
        if function is not None and len(expr.args) == 1:
            with np.errstate(all="ignore"):
                out = function(self._walk(expr.args[0], env, random))
            return out if np.ndim(out) else float(out)
        raise CannotSample(f"{type(expr).__name__} cannot be evaluated: {sp.sstr(expr)[:60]}")

    def _symbol(self, symbol: sp.Symbol, env: dict, random: bool):
        if symbol in env:                       # a summation variable, or x (draws) inside the activation
            value = env[symbol]
            return value if np.ndim(value) else float(value)
        if symbol == X:
            raise CannotSample("x outside an activation")
        kind = self._kind(symbol)
        if kind == "random":
            if not random:
                raise CannotSample(f"{symbol.name} is random, outside Var[...] or E[...]")
            if self.arity.get(symbol.name, 0) > 0:
                raise CannotSample(f"{symbol.name} stands for any of its instances, inside a compound expression")
            return self.instance(symbol.name, ())
        return float(self.exact(symbol, env))

    def _indexed(self, node: sp.Indexed, env: dict, random: bool):
        name = node.base.name
        kind = self._kind(node.base)
        if kind != "random":
            return float(self.exact(node, env))
        if not random:
            raise CannotSample(f"{sp.sstr(node)} is random, outside Var[...] or E[...]")
        indices = tuple(self._integer(i, env) for i in node.indices)
        if len(indices) < self.arity.get(name, 0):
            raise CannotSample(f"{sp.sstr(node)} stands for any of its instances, inside a compound expression")
        return self.instance(name, indices)

    def _sum(self, expr: sp.Sum, env: dict, random: bool):
        body, (var, lo, hi) = v.peel(expr)
        low, high = self._integer(lo, env), self._integer(hi, env)
        if high - low + 1 > MAX_TERMS:
            raise CannotSample(f"a sum of {high - low + 1} terms")
        total = 0.0
        for value in range(low, high + 1):
            total = total + self._walk(body, {**env, var: value}, random)
        return total

    def _law(self, expr, env: dict) -> np.ndarray:
        """A draw of a law written in the file: independent of everything else, the same law the same draw."""
        p, q = (float(self.exact(a, env)) for a in expr.args)
        key = ("law", sp.sstr(expr), tuple(sorted((s.name, w) for s, w in env.items())))
        if key not in self.draws:
            rng = np.random.default_rng(stable_seed("written law", self.seed, key))
            if isinstance(expr, v.Uniform):
                if not q > p:
                    raise CannotSample(f"{sp.sstr(expr)} is not a law here (hi <= lo)")
                self.draws[key] = rng.uniform(p, q, self.samples)
            else:
                if not q > 0:
                    raise CannotSample(f"{sp.sstr(expr)} is not a law here (sigma <= 0)")
                self.draws[key] = rng.normal(p, q, self.samples)
        return self.draws[key]

    def activation_at(self, function: sp.Expr, argument):
        """``function`` (an expression in x: the activation or its derivative) at ``argument`` (draws or a number)."""
        return self._walk(function, {X: argument}, True)

    def _activation(self, call, argument):
        function = self.activation if isinstance(call, v.f) else self.derivative
        if function is None:
            raise CannotSample("no activation to evaluate")
        if function.has(sp.Derivative, sp.Subs, sp.DiracDelta):
            raise CannotSample(f"the derivative of the activation is not a function: {sp.sstr(function)}")
        values = self.activation_at(function, argument)
        if isinstance(call, v.df) and self.kink is not None:     # f'(0) at a kink: the value the step chose
            values = np.where(np.asarray(argument) == 0, self.kink, values)
        return values

    # ------------------------------------------------------------------ moments

    def _moment(self, expr, env: dict, random: bool):
        kind = type(expr).__name__
        argument = expr.args[0]
        family = self._family_level(argument, env)
        if family is not None:
            parts = self._pooled(kind, *family)
        else:
            parts = moment_parts(kind, self._walk(argument, env, True), BATCHES)
        if not np.all(np.isfinite(parts)):
            raise CannotSample(f"{sp.sstr(expr)} is not finite here")
        return float(parts[0]) if random else parts

    def _covariance(self, expr, env: dict, random: bool):
        """Cov[X, Y] = E[X Y] - E[X] E[Y] of the empirical law, over the whole sample and each batch (paired
        draws of X and Y), like the other moments."""
        first, second = (np.asarray(self._walk(a, env, True), dtype=float) for a in expr.args)
        first, second = np.broadcast_to(first, (self.samples,)), np.broadcast_to(second, (self.samples,))
        parts = moment_parts("E", first * second, BATCHES) - moment_parts("E", first, BATCHES) * \
            moment_parts("E", second, BATCHES)
        if not np.all(np.isfinite(parts)):
            raise CannotSample(f"{sp.sstr(expr)} is not finite here")
        return float(parts[0]) if random else parts

    def _family_level(self, argument, env: dict):
        """(family, layer indices) when ``argument`` names a family or a layer of it, not one instance."""
        if isinstance(argument, sp.Symbol) and self._kind(argument) == "random" and self.arity.get(argument.name, 0):
            return argument.name, ()
        if isinstance(argument, sp.Indexed) and self._kind(argument.base) == "random":
            name = argument.base.name
            if len(argument.indices) < self.arity.get(name, 0):
                return name, tuple(self._integer(i, env) for i in argument.indices)
        return None

    def _pooled(self, kind: str, name: str, prefix: tuple) -> np.ndarray:
        """The common moment of the instances of ``name`` beginning with ``prefix`` (a layer): they must agree."""
        members = sorted(self.population(name, prefix))
        if not members:
            raise CannotSample(f"{_label(name, prefix)} has no instances here")
        rows = [moment_parts(kind, self.instance(name, m), BATCHES) for m in members]
        pooled = np.mean(rows, axis=0)
        for row in rows:
            se = math.hypot(standard_error(row), standard_error(pooled))
            if abs(row[0] - pooled[0]) > Z * se + 1e-9 * max(1.0, abs(pooled[0])):
                low = min(range(len(rows)), key=lambda r: rows[r][0])
                high = max(range(len(rows)), key=lambda r: rows[r][0])
                raise NotOneNumber(
                    f"{kind}[{_label(name, prefix)}] is not one number here: {kind}[{_label(name, members[low])}] = "
                    f"{rows[low][0]:.4g} but {kind}[{_label(name, members[high])}] = {rows[high][0]:.4g}")
        return pooled

    def population(self, name: str, prefix: tuple) -> set[tuple]:
        """The instances of a family (in a layer) that exist here: its declared units, or those the network and
        the step's expressions reach."""
        self._grow_network(prefix[0] if prefix else None)
        decl = self.decl[name]
        units = decl.units if decl.units is not None or not decl.gradient_of else self.decl[decl.gradient_of].units
        if units is not None and len(prefix) == 1 and self.arity.get(name, 0) == 2:
            symbol = self._units_layer(units)
            count = self._integer(units, {symbol: prefix[0]} if symbol is not None else {})
            return {(prefix[0], u) for u in range(1, count + 1)}
        found = {m for m in self.seen.get(name, set()) if m[:len(prefix)] == prefix}
        width = self.arity.get(name, 0) - len(prefix)
        if not found and width > 0:            # nothing reached it yet: instances 1 to 3 of each remaining index
            from itertools import product
            found = {prefix + rest for rest in product(range(1, 4), repeat=width)}
        return found

    def _units_layer(self, units: sp.Expr):
        symbols = [s for s in units.free_symbols if self._kind(s) == "index"]
        return symbols[0] if len(symbols) == 1 else None

    def _grow_network(self, layer: int | None) -> None:
        """Evaluate every defined family with declared units at layers up to ``layer + 1``, so that the
        primitives of those layers are drawn and recorded."""
        top = (layer if layer is not None else max([0, *self.index.values()])) + 1
        for d in self.derivation.definitions:
            name = d.lhs.base.name
            units = self.decl[name].units
            if units is None or len(d.lhs.indices) != 2:
                continue
            symbol = self._units_layer(units)
            for l in range(0, top + 1):
                try:
                    count = self._integer(units, {symbol: l} if symbol is not None else {})
                except CannotSample:
                    continue
                for u in range(1, min(count, 12) + 1):
                    try:
                        self.instance(name, (l, u))
                    except NotOneNumber:
                        raise
                    except CannotSample:
                        break

    # ------------------------------------------------------------------ random instances

    def instance(self, name: str, indices: tuple) -> np.ndarray:
        key = (name, indices)
        self.seen.setdefault(name, set()).add(indices)
        if key in self.cache:
            return self.cache[key]
        held = len(self.cache) + len(self.primitives) + len(self.latents) + 1
        if held * self.samples > MAX_FLOATS:
            raise CannotSample(f"the model would hold more than {MAX_FLOATS * 8 // 10**6} MB of draws ({held} variables "
                               f"of {self.samples}); use fewer --samples")
        decl = self.decl[name]
        matched = _match(self.derivation, name, indices)
        if matched is not None:
            rhs, env = matched
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise CannotSample(f"the definitions of {name} nest deeper than {MAX_DEPTH}")
                value = self._walk(rhs, env, True)
            finally:
                self.depth -= 1
            value = np.broadcast_to(np.asarray(value, dtype=float), (self.samples,))
        elif decl.gradient_of and indices and self.top is not None and indices[0] < self.top:
            value = self._gradient(decl.gradient_of, indices)
        else:
            if key not in self.primitives:         # drawn once: a gradient's re-evaluations keep them
                self.primitives[key] = self._primitive(name, indices)
            value = self.primitives[key]
        self.cache[key] = value
        return value

    def _primitive(self, name: str, indices: tuple) -> np.ndarray:
        layer = indices[0] if name in self.layered and indices else None
        p = self.premises
        iid = name in p.iid
        law_key = (name, layer) if iid else (name, indices)
        law = self.laws.get(law_key)
        if law is None:
            law = choose(law_key, name in p.zero_mean, name in p.symmetric, self.small, self.seed)
            imposed = self.imposed.get((name, layer))
            if imposed is not None:
                law = Law(law.shape, law.mean, math.sqrt(imposed))
            law = self._given(name, law)
            self.laws[law_key] = law
        declared = self.decl[name].law
        rng = np.random.default_rng(stable_seed("draw", self.seed, name, indices))
        base = standard("normal" if declared is not None else law.shape, rng, self.samples)
        parts = self._dependence(name, indices)
        if parts:
            weights = np.random.default_rng(stable_seed("weights", self.seed, law_key)).uniform(0.5, 1.0, len(parts))
            latent = sum(w * part for w, part in zip(weights, parts)) / math.sqrt(float(np.sum(weights**2)))
            base = math.sqrt(1 - LATENT_WEIGHT**2) * base + LATENT_WEIGHT * latent
        if declared is not None:
            return self._declared_law(declared, base)
        return law.mean + law.sd * base

    def _given(self, name: str, law: Law) -> Law:
        """The law with what the cited premise equations fix: Var[X] == c sets the sd, E[X] == c the mean."""
        for fact in self.premises.facts:
            if getattr(fact.lhs.args[0], "name", None) != name:
                continue
            value = float(self.exact(fact.rhs, {}))
            if isinstance(fact.lhs, v.Var):
                law = Law(law.shape, law.mean, math.sqrt(value))
            else:
                law = Law(law.shape, value, law.sd)
        return law

    def _declared_law(self, law: sp.Expr, normal: np.ndarray) -> np.ndarray:
        """Draws of a declared law from standard normal draws (which carry the dependence on the latents):
        Bernoulli(p) is [Z < Phi^-1(p)], Normal(mu, sigma) is mu + sigma Z, Uniform(lo, hi) is lo + (hi - lo) Phi(Z)."""
        parameters = [float(self.exact(a, {})) for a in law.args]
        if isinstance(law, v.Bernoulli):
            p = parameters[0]
            if not 0.0 <= p <= 1.0:
                raise CannotSample(f"{sp.sstr(law)} is not a law here")
            threshold = -math.inf if p == 0 else math.inf if p == 1 else NormalDist().inv_cdf(p)
            return (normal < threshold).astype(float)
        if isinstance(law, v.Normal):
            return parameters[0] + parameters[1] * normal
        low, high = parameters
        return low + (high - low) * 0.5 * (1.0 + _ERF(normal / math.sqrt(2.0)).astype(float))

    def _dependence(self, name: str, indices: tuple) -> list[np.ndarray]:
        """The standard normal components that make an instance depend on what the premises do not make it
        independent of, and on nothing else:

        * a family in no ``independent`` declaration: one normal shared by all its instances;
        * two families in no declaration together, P before Q by name: each instance P[a] has a normal link
          of its own, and Q[b] takes the link of the aligned instance P[b] (``b`` padded with 1s or cut to
          P's number of indices). Different Q[b] take different links, so Q's instances stay as independent
          of each other as they were; when cutting would make two of them share one and Q's instances must
          be independent, the link is left out.
        Every component is N(0, 1) whatever the instance, so identical distribution and symmetry are kept."""
        p = self.premises
        parts = []
        if not any(name in group for group in p.independent):
            parts.append(self._normal(("family", name)))
        own = any(name in group for group in p.independent)
        for other in self._random_families():
            if other == name or p.independent_pair(name, other):
                continue
            if name < other:
                parts.append(self._normal(("link", name, other, indices)))
                continue
            width = self.arity.get(other, 0)
            if width < len(indices) and own:
                continue                               # cutting would tie independent instances together
            aligned = (tuple(indices) + (1,) * width)[:width]
            parts.append(self._normal(("link", other, name, aligned)))
        return parts

    def _normal(self, key: tuple) -> np.ndarray:
        if key not in self.latents:
            rng = np.random.default_rng(stable_seed("latent", self.seed, key))
            self.latents[key] = rng.standard_normal(self.samples)
        return self.latents[key]

    def _random_families(self) -> list[str]:
        """The random families that have primitive instances (a definition for every layer leaves none)."""
        defined_everywhere = {d.lhs.base.name for d in self.derivation.definitions
                              if all(not i.is_Integer for i in d.lhs.indices)
                              and (not d.lhs.indices or sp.expand(d.lhs.indices[0]).is_Symbol)}
        return [name for name, d in self.decl.items() if d.kind == "random" and name not in defined_everywhere]

    def _gradient(self, of: str, indices: tuple) -> np.ndarray:
        """dL/d of[indices] by central differences, L = sum_u g[T, u] of[T, u]."""
        base = self.instance(of, indices)
        up = self._loss({(of, indices): base + FD_STEP})
        down = self._loss({(of, indices): base - FD_STEP})
        return (up - down) / (2 * FD_STEP)

    def _loss(self, override: dict) -> np.ndarray:
        gradient = next(n for n, d in self.decl.items() if d.gradient_of is not None)
        of = self.decl[gradient].gradient_of
        units = self.decl[of].units
        if units is None:
            raise CannotSample(f"the gradient {gradient} needs the units of {of} declared")
        symbol = self._units_layer(units)
        count = self._integer(units, {symbol: self.top} if symbol is not None else {})
        saved, self.cache = self.cache, {k: w for k, w in self.cache.items() if k[0] not in self._downstream(of)}
        self.cache.update(override)
        try:
            return sum(self.instance(gradient, (self.top, u)) * self.instance(of, (self.top, u))
                       for u in range(1, count + 1))
        finally:
            self.cache = saved

    def _downstream(self, of: str) -> set[str]:
        """Families whose definitions depend, directly or not, on ``of`` (their cached values are stale)."""
        out, changed = {of}, True
        while changed:
            changed = False
            for d in self.derivation.definitions:
                name = d.lhs.base.name
                used = {getattr(a, "name", None) for a in d.rhs.atoms(sp.IndexedBase, sp.Symbol)}
                if name not in out and used & out:
                    out.add(name)
                    changed = True
        return out


def _scalar_power(base: float, exponent):
    if np.ndim(exponent):
        return np.power(base, exponent)
    try:
        out = base ** exponent
    except (OverflowError, ZeroDivisionError):
        raise CannotSample("a power is not finite here") from None
    if isinstance(out, complex):
        raise CannotSample("a power is not real here")
    return out


def _match(derivation: Derivation, name: str, indices: tuple):
    """(rhs, bindings) of the definition that gives ``name[indices]``, or None for a primitive instance.
    A definition ``F[i + c, k]`` gives layers ``c, c + 1, ...`` only (layers are >= 0)."""
    for d in derivation.definitions:
        if d.lhs.base.name != name or len(d.lhs.indices) != len(indices):
            continue
        env, ok = {}, True
        for position, (pattern, value) in enumerate(zip(d.lhs.indices, indices)):
            if pattern.is_Integer:
                ok = int(pattern) == value
            else:
                (symbol,) = pattern.free_symbols
                solved = value - int(sp.expand(pattern - symbol))
                if position == 0 and solved < 0 or env.get(symbol, solved) != solved:
                    ok = False
                env[symbol] = solved
            if not ok:
                break
        if ok:
            return d.rhs, env
    return None


def _label(name: str, indices: tuple) -> str:
    return f"{name}[{', '.join(str(i) for i in indices)}]" if indices else name
