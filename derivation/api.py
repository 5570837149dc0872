"""The Python API: load a derivation, verify it, and read the verdicts as SymPy objects (or see them in Jupyter).

Everything here is reached from the package itself (``derivation.load``, ``derivation.verify``, ...), imported on
first use so that ``import derivation`` stays light. It does what the command line does, with the same checks:
text from a file, a string or an argument is read by the safe parser and the loader (never ``eval`` or
``sympify``), and the verdicts are the kernel's, unchanged.

    >>> import derivation
    >>> report = derivation.verify("glorot")
    >>> report.ok, report.verified, report.total
    (True, 18, 18)
    >>> step = report.step("D1")
    >>> step.rule, step.verdict, step.ok
    ('harmonic averaging', 'verified', True)
    >>> step.claimed
    Eq(Var[W[i]], 2/(n[i + 1] + n[i]))
    >>> [(r.step_id, r.established) for r in report.results]
    [('D1', True), ('D2', True), ('D4', True)]

A wrong variant fails the way ``verify --activation sigmoid`` does:

    >>> bad = derivation.verify("glorot", activation="sigmoid")
    >>> bad.ok, bad.assumption("A1").holds
    (False, False)
    >>> [(s.id, s.verdict) for s in bad.failures][:2]
    [('F1', 'assumption'), ('F4', 'wrong')]

Bad input raises :class:`DerivationError`, whose message is the line the command line prints:

    >>> derivation.load("glorrot")
    Traceback (most recent call last):
    ...
    derivation.api.DerivationError: glorrot: no such file, and not a built-in derivation (...); did you mean 'glorot'?

In Jupyter a :class:`Report` and a :class:`Step` display themselves: the chain of steps with ✓ or ✗, the
mathematics as MathML (no JavaScript, nothing fetched), and Markdown with LaTeX where HTML is not shown.
"""

from __future__ import annotations

import dataclasses
import os
from functools import cached_property
from pathlib import Path

import sympy as sp

from . import loader as _loader
from .activations import ActivationError, activation_expr
from .kernel import derivation as _model
from .kernel.check import StepResult, Verification
from .kernel.rules import APPROX, arities
from .loader import LoadError
from .verify import verify as _verify

__all__ = ["Assumption", "Derivation", "DerivationError", "Report", "Result", "Step", "load", "loads", "render",
           "source", "verify"]

FORMATS = ("html", "md", "tex", "pdf")


class DerivationError(ValueError):
    """Input that cannot be used: an unknown name, a file that does not load, a bad activation or slope.

    ``str(error)`` is the one line the command line prints after ``derivation: error:`` (the file, the step or
    section, and for expressions the column). ``path`` and ``where`` say where, when the loader knew.
    """

    def __init__(self, message: str, path: str | None = None, where: str | None = None):
        super().__init__(message)
        self.message, self.path, self.where = message, path, where


def _error(exc: Exception) -> DerivationError:
    if isinstance(exc, LoadError):
        return DerivationError(str(exc), exc.path, exc.where)
    if isinstance(exc, RecursionError):
        return DerivationError("the input is nested too deeply to be checked")
    return DerivationError(str(exc))


@dataclasses.dataclass
class Derivation(_model.Derivation):
    """A derivation as :func:`load` returns it: the kernel's :class:`~derivation.kernel.derivation.Derivation`
    (``name``, ``title``, ``symbols``, ``assumptions``, ``definitions``, ``sections``, ``steps``, ...) with the
    activation chosen when loading, if one was (``chosen_activation``; ``activation`` is then that one too)."""

    chosen_activation: str | None = None

    def __repr__(self) -> str:
        parameters = "".join(f", {name} = {value}" for name, value in self.values.items())
        return (f"<derivation {self.name!r} ({self.path}): {len(self.steps)} steps, "
                f"activation {self.activation}{parameters}>")


def source(name_or_path: str | os.PathLike) -> str:
    """The TOML text of a built-in derivation or a derivation file, for instance to change a claim and check the
    variant with :func:`loads`.

    >>> text = source("glorot")
    >>> 'claim = "Var[W[i]] == 2/(n[i] + n[i+1])"' in text
    True
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"source() takes a built-in name or a path, not {type(name_or_path).__name__}")
    try:
        return _loader.resolve(os.fspath(name_or_path))[0]
    except LoadError as exc:
        raise _error(exc) from None


def load(name_or_path: str | os.PathLike, activation: str | None = None, slope=None) -> Derivation:
    """A built-in derivation by name (``"glorot"``, ``"he"``, ...; see ``python -m derivation list``) or a
    derivation file by path, as ``python -m derivation verify NAME`` reads it.

    ``activation``: as ``--activation``: ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"identity"``, ``"softsign"`` or an
    expression in ``x`` such as ``"x/(1 + abs(x))"`` (default: the derivation's own). ``slope``: as ``--slope``, for
    a derivation with a slope parameter (He's ``alpha``): a number (``0.01``, ``Fraction(1, 100)``, ``"1/100"``;
    default 0, ReLU) or ``"symbolic"`` for the general PReLU form.

    >>> he = load("he", slope=0.01)
    >>> he.name, [str(value) for value in he.values.values()]
    ('he', ['1/100'])

    Raises :class:`DerivationError` with the command line's message.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"load() takes a built-in name or a path, not {type(name_or_path).__name__}")
    try:
        derivation = _loader.load(os.fspath(name_or_path), arities())
    except (LoadError, RecursionError) as exc:
        raise _error(exc) from None
    return _prepare(derivation, activation, slope)


def loads(text: str, activation: str | None = None, slope=None, *, name: str = "derivation",
          path: str = "<string>") -> Derivation:
    """A derivation from the TOML text of a derivation file (``path`` is only used in messages).

    >>> variant = source("glorot").replace("2/(n[i] + n[i+1])", "3/(n[i] + n[i+1])")
    >>> report = verify(loads(variant, name="glorot_variant"))
    >>> report.step("D1").verdict, report.step("D1").counterexample
    ('wrong', 'n[i] = 7, n[i + 1] = 1: claimed 3/8, derived 1/4')
    """
    if not isinstance(text, str):
        raise TypeError(f"loads() takes the text of a derivation file, not {type(text).__name__}")
    try:
        derivation = _loader.loads(text, path, arities(), name=name)
    except (LoadError, RecursionError) as exc:
        raise _error(exc) from None
    return _prepare(derivation, activation, slope)


def _prepare(derivation: _model.Derivation, activation: str | None, slope) -> Derivation:
    """The API's Derivation: the slope set (as the command line's ``--slope``) and the activation checked."""
    return _choose(_with_slope(_as_api(derivation), slope), activation)


def _as_api(derivation: _model.Derivation) -> Derivation:
    if isinstance(derivation, Derivation):
        return derivation
    return Derivation(**{f.name: getattr(derivation, f.name) for f in dataclasses.fields(_model.Derivation)})


def _choose(derivation: Derivation, activation: str | None) -> Derivation:
    if activation is None:
        return derivation
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a name or an expression in x as text, not {type(activation).__name__}")
    try:
        activation_expr(activation, derivation.namespace.symbols, derivation.values)
    except (ActivationError, RecursionError) as exc:
        raise _error(exc) from None
    return dataclasses.replace(derivation, activation=activation, chosen_activation=activation)


def _with_slope(derivation: Derivation, slope) -> Derivation:
    """As ``--slope`` (loader.with_slope), its error as a DerivationError."""
    try:
        return _loader.with_slope(derivation, slope)
    except LoadError as exc:
        raise _error(exc) from None


def verify(derivation: str | os.PathLike | _model.Derivation = "glorot", activation: str | None = None, slope=None,
           *, refute: bool = True) -> "Report":
    """Verify a derivation, step by step, as ``python -m derivation verify`` does, and return a :class:`Report`.

    ``derivation``: a built-in name, a path, or a derivation from :func:`load` or :func:`loads` (default: Glorot).
    ``activation`` and ``slope``: as for :func:`load` (a slope is set when loading, so with a loaded derivation
    give it to :func:`load`). ``refute``: seek a sampled counterexample for each claim the kernel could not show
    equal, as the command line does (it can only turn "not shown equal" into "wrong", never into a success).

    >>> report = verify("he")
    >>> report.ok, [str(r.equation) for r in report.results][:1]
    (True, ['Eq(Var[W[i]], 2/n[i])'])
    """
    if isinstance(derivation, (str, os.PathLike)):
        derivation = load(derivation, activation, slope)
    elif isinstance(derivation, _model.Derivation):
        if slope is not None:
            raise DerivationError("slope: set it when loading: derivation.load(name, slope=...)")
        derivation = _choose(_as_api(derivation), activation)
    else:
        raise TypeError(f"verify() takes a built-in name, a path or a loaded derivation, not "
                        f"{type(derivation).__name__}")
    try:
        verification = _verify(derivation, derivation.chosen_activation, refute=refute)
    except (ActivationError, RecursionError) as exc:       # the file's own activation, checked only now
        raise _error(exc) from None
    return Report(verification)


def render(derivation, format: str = "html", out: str | os.PathLike | None = None, *,
           allow_unverified: bool = False, **options):
    """The verified derivation as a document, as ``python -m derivation render`` writes it.

    ``derivation``: a :class:`Report`, or anything :func:`verify` takes (with ``options``: ``activation``,
    ``slope``). ``format``: ``"html"``, ``"md"``, ``"tex"`` (returned as text when ``out`` is None) or ``"pdf"``
    (needs ``out`` and pdflatex). With ``out``, the file is written into that folder and its path returned. A
    derivation that does not verify is refused unless ``allow_unverified`` (the document then marks the failures).

    >>> html = render("glorot")
    >>> html.startswith("<!DOCTYPE html>") and "<math" in html
    True
    """
    if format not in FORMATS:
        raise DerivationError(f"format {format!r}: choose one of {', '.join(FORMATS)}")
    report = derivation if isinstance(derivation, Report) else verify(derivation, **options)
    if isinstance(derivation, Report) and options:
        raise TypeError(f"render() of a Report takes no {', '.join(sorted(options))}")
    v = report.verification
    if not v.ok and not allow_unverified:
        raise DerivationError(f"not rendered: {v.derivation.path} does not verify ({v.verified}/{len(v.steps)} "
                              f"steps); fix it, or pass allow_unverified=True")
    from .render import render as write
    if out is None:
        if format == "pdf":
            raise DerivationError("format 'pdf' is written to a folder: give out='build' (or another folder)")
        return report.render(format)
    written = write(v, [format], Path(out))
    return next(w.path for w in written if w.format == format)


@dataclasses.dataclass(frozen=True)
class Assumption:
    """An assumption of the derivation and what the verifier found about it: ``holds`` is True or False when it
    was computed (the activation's shape: A1 for Glorot, the rectifier for He), None for a modelling premise."""

    id: str
    title: str
    statement: str
    holds: bool | None
    evidence: str = ""

    @property
    def checked(self) -> bool:
        return self.holds is not None


@dataclasses.dataclass(frozen=True, repr=False)
class Result:
    """A headline result: ``equation`` (a SymPy equation, or the expression a chain establishes), ``established``
    when it and every step it rests on verified under assumptions that hold, and what a reader must know about it
    (``notes``: a requirement, a compromise, to first order, the assumptions it needs)."""

    step_id: str
    equation: sp.Basic
    established: bool
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (f"Result({self.step_id}: {sp.sstr(self.equation)}, "
                f"{'established' if self.established else 'not established'})")


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Step:
    """One step as verified.

    ``claimed``: the claim as the kernel read it (a SymPy expression or equation); ``derived``: what the step's
    rule computed from its input (None when the rule did not apply); ``relation``: ``"="`` or ``"≈"`` (to first
    order); ``verdict``: ``"verified"``, ``"wrong"`` (refuted: see ``counterexample``), ``"unproven"`` (not shown
    equal), ``"refused"`` (an obligation not shown), ``"assumption"`` (a cited assumption fails) or
    ``"inapplicable"``; ``message``: why it failed; ``label``: premise, requirement, compromise, to first order.
    ``step_result`` is the kernel's record (its obligations, comparison, counterexample object).
    """

    id: str
    rule: str
    section: str
    uses: tuple[str, ...]
    inputs: tuple[str, ...]
    verdict: str
    ok: bool
    claimed: sp.Basic
    derived: sp.Basic | None
    relation: str
    message: str
    label: str
    counterexample: str | None
    step_result: StepResult
    report: "Report"

    def __repr__(self) -> str:
        return f"<step {self.id} ({self.rule}): {self.verdict}>"

    def _repr_html_(self) -> str:
        from .notebook import step_html
        return step_html(self)

    def _repr_markdown_(self) -> str:
        from .notebook import step_markdown
        return step_markdown(self)


class Report:
    """The outcome of :func:`verify`.

    ``ok``: every step verified and every computed assumption holds. ``steps``: each :class:`Step`, in order
    (``step(id)`` or ``report[id]`` for one). ``results``: the headline :class:`Result` equations.
    ``assumptions``: each :class:`Assumption`. ``verification``: the kernel's
    :class:`~derivation.kernel.check.Verification`, for everything else. ``text()`` is the command line's report,
    ``json()`` its ``--json``, ``render(format)`` the document; in Jupyter the report displays itself.
    """

    def __init__(self, verification: Verification):
        from .document import _label
        from .report import counterexample_text, established, qualifiers, statement
        self.verification = verification
        v = verification
        self.derivation = v.derivation
        self.ok: bool = v.ok
        self.error: str = v.error
        self.verified: int = v.verified
        self.total: int = len(v.steps)
        check = v.checked
        self.activation: sp.Expr | None = check.expr if check is not None else None
        self.activation_name: str | None = check.name if check is not None else None
        self.steps: tuple[Step, ...] = tuple(
            Step(r.step.id, r.step.rule, r.step.section, r.step.uses, r.step.inputs, r.verdict, r.ok, r.step.claim,
                 r.derived, "≈" if r.relation == APPROX else "=", r.message, _label(r),
                 counterexample_text(r.counterexample) if r.counterexample is not None else None, r, self)
            for r in v.steps)
        holds = established(v) if v.steps else {}
        self.results: tuple[Result, ...] = tuple(
            Result(r.step.id, statement(v, r), holds[r.step.id], tuple(qualifiers(r))) for r in v.results)
        self.assumptions: tuple[Assumption, ...] = tuple(
            Assumption(a.assumption.id, a.assumption.title, _plain(a.assumption.statement), a.holds, a.evidence)
            for a in v.assumptions)

    @property
    def name(self) -> str:
        return self.derivation.name

    @property
    def title(self) -> str:
        return self.derivation.title

    @property
    def failures(self) -> tuple[Step, ...]:
        """The steps that did not verify."""
        return tuple(s for s in self.steps if not s.ok)

    def step(self, step_id: str) -> Step:
        """The step with this id (KeyError naming the ids there are, if none)."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"no step {step_id!r} (steps: {', '.join(s.id for s in self.steps)})")

    __getitem__ = step

    def symbol(self, name: str) -> sp.Basic:
        """The SymPy object of a declared name, to build expressions with: an indexed family (``n``, ``W``) as its
        ``IndexedBase``, else the symbol (``i``, ``sigma``).

        >>> report = verify("glorot")
        >>> n, i = report.symbol("n"), report.symbol("i")
        >>> report.results[-1].equation.rhs.subs({n[i]: 784, n[i + 1]: 1000}).evalf(4)
        0.05799
        """
        names = self.derivation.namespace
        found = names.indexed.get(name, names.symbols.get(name))
        if found is None:
            raise KeyError(f"no declared name {name!r} (declared: {', '.join(self.derivation.symbols)})")
        return found

    def assumption(self, assumption_id: str) -> Assumption:
        for a in self.assumptions:
            if a.id == assumption_id:
                return a
        raise KeyError(f"no assumption {assumption_id!r} (assumptions: {', '.join(a.id for a in self.assumptions)})")

    def text(self) -> str:
        """The report ``python -m derivation verify`` prints (without colour)."""
        from .report import text_report
        return text_report(self.verification)

    def json(self) -> str:
        """The JSON document ``python -m derivation verify --json`` prints."""
        from .report import json_report
        return json_report(self.verification)

    def render(self, format: str = "html") -> str:
        """The document as ``python -m derivation render --format`` writes it: ``"html"``, ``"md"`` or ``"tex"``
        source (whatever the verdicts: a failing derivation's document marks its failures)."""
        if format not in ("html", "md", "tex"):
            raise DerivationError(f"format {format!r}: as text, choose html, md or tex (pdf: derivation.render(..., "
                                  f"format='pdf', out=folder))")
        from .render import render_text
        return render_text(self.document, format)

    @cached_property
    def document(self):
        """The document the renderers typeset (derivation.document.Document): each line as its author wrote it."""
        from .document import build
        return build(self.verification)

    def __repr__(self) -> str:
        state = f"refused: {self.error}" if self.error else \
            f"{self.verified}/{self.total} steps verified{'' if self.ok else ', NOT verified'}"
        return f"<verification of {self.name!r}: {state}>"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self) if cycle else self.text())

    def _repr_html_(self) -> str:
        from .notebook import report_html
        return report_html(self)

    def _repr_markdown_(self) -> str:
        from .notebook import report_markdown
        return report_markdown(self)


def _plain(text: str) -> str:
    from .prose import plain
    return plain(text)
