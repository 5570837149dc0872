"""The frameworks' initialisers against our verified results.

Each entry of frameworks.toml (a citation: framework, version, source location) gives the documented formula;
it is compared, symbolically, with the result of a verified built-in derivation for a layer with fan_in
n[i] and fan_out n[i+1]. The constant trunc = std of N(0, 1) truncated to [-2, 2], which Keras and JAX divide
by, is derived by integration: trunc^2 = int_{-2}^{2} x^2 phi(x) dx / int_{-2}^{2} phi(x) dx. Heuristic
constants (PyTorch's tanh gain 5/3) are shown beside what a derivation gives. Data only.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

import sympy as sp

from .parser import Namespace, parse
from .kernel.terms import Uniform, raw_moment

FAN_IN, FAN_OUT = sp.symbols("fan_in fan_out", positive=True, integer=True)
GAIN, TRUNC = sp.symbols("gain trunc", positive=True)
DOUBLE = 2.3e-16                 # two units in the last place of a double near 1
NAMES = Namespace({"fan_in": FAN_IN, "fan_out": FAN_OUT, "gain": GAIN, "trunc": TRUNC}, {})


@dataclass(frozen=True)
class Row:
    framework: str
    source: str
    initialiser: str
    formula: str                 # as the framework writes it, with its gain
    framework_value: sp.Expr
    derived_value: sp.Expr
    match: bool
    heuristic: bool = False
    note: str = ""
    formula_only: str = ""       # the formula alone, and its gain (for typesetting)
    gain: str = "1"
    advice: str = ""             # a default that is not the paper's recommendation says so


def truncated_normal_std() -> sp.Expr:
    """The std of N(0, 1) truncated to [-2, 2], exactly (in erf), by integrating the density."""
    x = sp.Symbol("x", real=True)
    density = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
    return sp.simplify(sp.sqrt(sp.integrate(x**2 * density, (x, -2, 2)) / sp.integrate(density, (x, -2, 2))))


def tanh_gain() -> sp.Expr:
    """1/sqrt(E[tanh(z)^2]) for z ~ N(0, 1), numerically (20 digits)."""
    z = sp.Symbol("z", real=True)
    second = sp.Integral(sp.tanh(z) ** 2 * sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi), (z, -sp.oo, sp.oo)).evalf(20)
    return 1 / sp.sqrt(second)


def fans(shape: tuple[int, ...], layout: str) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight tensor: PyTorch (out, in, *kernel), Keras (*kernel, in, out);
    a kernel's receptive field multiplies both."""
    if len(shape) < 2:
        raise ValueError("a weight tensor has at least two dimensions")
    if layout == "pytorch":
        out_channels, in_channels, *kernel = shape
    elif layout == "keras":
        *kernel, in_channels, out_channels = shape
    else:
        raise ValueError(f"unknown layout {layout!r}")
    field = int(sp.prod(kernel)) if kernel else 1
    return in_channels * field, out_channels * field


def rows(results: dict[str, dict[str, sp.Expr]], slope_results) -> list[Row]:
    """``results``: derivation name -> {symbol: verified formula in n[i], n[i+1]};
    ``slope_results(value)``: the He results with that slope."""
    data = tomllib.loads((resources.files("derivation") / "frameworks.toml").read_text(encoding="utf-8"))
    trunc = truncated_normal_std()
    out = []
    for entry in data["entry"]:
        gain = parse(entry["gain"], NAMES)
        stated = parse(entry["formula"], NAMES).subs(GAIN, gain)
        effective = parse(entry.get("effective", entry["formula"]), NAMES).subs({GAIN: gain, TRUNC: trunc})
        name, symbol = entry["derived"].split(":", 1)
        if name == "uniform":           # Var of U(-b, b), b given: the uniform-variance rule's integral
            bound = parse(symbol, NAMES)
            derived = raw_moment(Uniform(-bound, bound), 2) - raw_moment(Uniform(-bound, bound), 1) ** 2
        else:
            source = slope_results(sp.nsimplify(entry["slope"])) if "slope" in entry else results[name]
            derived = in_fans(source[symbol])
        ratio = sp.simplify(effective / derived)
        # exactly equal, or equal to double precision where a framework writes an irrational constant as a decimal
        match = ratio == 1 or (ratio.is_number and abs(float(ratio) - 1) < DOUBLE)
        note = "" if ratio == 1 else "equal in double precision: the constant is written as a decimal"
        formula = entry["formula"] + ("" if entry["gain"] == "1" and "gain" not in entry["formula"] else
                                      f", gain = {entry['gain']}")
        out.append(Row(entry["framework"], entry["source"], entry["initialiser"], formula, stated, derived,
                       bool(match), note=note, formula_only=entry["formula"], gain=entry["gain"],
                       advice=entry.get("advice", "")))
    for entry in data["heuristic"]:
        out.append(Row(entry["framework"], entry["source"], entry["initialiser"], entry["value"],
                       parse(entry["value"], NAMES), tanh_gain(), False, heuristic=True, note=entry["derivation"],
                       formula_only=entry["value"]))
    return out


def in_fans(formula: sp.Expr) -> sp.Expr:
    """A result in n[i], n[i+1] as a formula in fan_in, fan_out: n[i] is the fan-in of W[i], n[i+1] its fan-out."""
    return formula.xreplace({a: FAN_IN if a.indices[0].is_Symbol else FAN_OUT for a in formula.atoms(sp.Indexed)})
