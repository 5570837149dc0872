"""Verification results for people (terminal text) and for programs (JSON)."""

from __future__ import annotations

import dataclasses
import json
import re
from itertools import groupby

import sympy as sp

from . import prose
from .diagnose import swapped_fans
from .printing import plain, pretty
from .kernel.rules import RULES
from .typeset import Notation, latex, readable
from .kernel.rules import APPROX, COMPROMISE, REQUIRES
from .kernel.check import UNPROVEN, random_names, sources
from .kernel.terms import peel
from .kernel.counterexample import Counterexample
from .verify import ASSUMPTION, INAPPLICABLE, REFUSED, WRONG, StepResult, Verification, subjects
from .terminal import Terminal, safe  # noqa: F401 - safe: where the rest of the package has long imported it

LABELS = {WRONG: "WRONG", UNPROVEN: "NOT SHOWN EQUAL", ASSUMPTION: "ASSUMPTION FAILS",
          INAPPLICABLE: "RULE DOES NOT APPLY", REFUSED: "OBLIGATION NOT SHOWN"}
COMPARED = (WRONG, UNPROVEN)      # the rule applied, and its result is not shown equal to the claim


def heuristic_gradients(v: Verification, a) -> list[str]:
    """Gradient families (``gradient_of``) that ``a`` declares independent of other families."""
    symbols = v.derivation.symbols
    return [name for name in sorted(a.independent)
            if symbols.get(name) is not None and symbols[name].gradient_of and len(a.independent) > 1]


def relation_word(r: StepResult) -> str:
    """How a step's claim relates to its input: = (identity), ≈ (to first order), or what it is."""
    if r.relation == REQUIRES:
        return "requires"
    if r.relation == COMPROMISE:
        return "compromise"
    return "≈" if r.relation == APPROX else "="


def qualifiers(r: StepResult) -> list[str]:
    """What a reader must know about a result: premise, requirement, compromise, first order, premises used."""
    out = []
    if r.is_premise:
        out.append("a premise, taken as given")
    if r.relation == REQUIRES:
        out.append("a requirement: what keeping the variance constant requires")
    elif r.relation == COMPROMISE or (r.step.inputs and r.relation == COMPROMISE):
        out.append("a compromise between two requirements, not a consequence")
    if r.approximate:
        out.append(r.approximation or "to first order")
    others = [p for p in r.premise_steps if p != r.step.id]
    if others:
        out.append(f"given the premise(s) {', '.join(others)}")
    if r.premises:
        out.append(f"assuming {', '.join(r.premises)}")
    return out
def _style(out: Terminal | bool | None) -> Terminal:
    """The terminal a report is written for (derivation.terminal: colour, width): ``True``/``False`` for colour
    alone, None for plain text."""
    return out if isinstance(out, Terminal) else Terminal(colour=bool(out))


def text_report(v: Verification, colour: Terminal | bool = False) -> str:
    """The whole verification as terminal text: assumptions, then each section's steps, then the results.
    ``colour``: the terminal (colour and width), or whether to colour."""
    style = _style(colour)
    return style.wrap(_text_report(v, style))


def _text_report(v: Verification, style: Terminal) -> str:
    d = v.derivation
    where = d.path + (f" · activation f(x) = {sp.sstr(v.checked.expr)}" if v.checked else "")
    where += "".join(f" · {name} = {value}" for name, value in d.values.items())
    lines = [style("bold", safe(d.title)), style("dim", safe(where)), ""]
    if v.error:
        return "\n".join(lines + [style("bad", safe(f"refused: {v.error}"))])
    lines.append(style("bold", "Assumptions"))
    for a in v.assumptions:
        lines.append(safe(f"  {a.assumption.id}  {a.assumption.title}: {prose.plain(a.assumption.statement)}"))
        if a.holds is not None:
            verdict = style("ok", "✓ holds") if a.holds else style("bad", "✗ FAILS" if style.unicode else "FAILS")
            lines.append(f"      {verdict} for {safe(v.checked.name)}: {safe(a.evidence)}")
        elif not a.assumption.activation and not a.assumption.rectifier:
            lines.append(style("dim", "      a modelling premise, not computed"))
            for name in heuristic_gradients(v, a.assumption):
                lines.append(style("dim", safe(f"      {name} is a gradient computed from the weights: its independence "
                                               f"from them is a heuristic (Glorot and Bengio's), not a fact")))
        for declaration in a.unused:
            lines.append(style("dim", safe(f"      not used: {declaration} (defined, so computed from the definitions)")))
    for section, results in groupby(v.steps, key=lambda r: r.step.section):
        lines += ["", style("bold", section)]
        for result in results:
            lines += _step_lines(v, result, style)
    lines += ["", _summary(v, style)]
    if v.suggestion:
        lines.append(style("bad", f"  {v.checked.name} is a rectifier: it is not odd and has no slope 1 at 0, so this "
                                  f"derivation does not apply; see `python -m derivation verify {v.suggestion}`"))
    holds = established(v)
    for result in v.results:
        mark = "" if holds[result.step.id] else style("bad", "  (not established)")
        lines.append(f"  {result_text(v, result)}{mark}")
        notes = qualifiers(result)
        if notes:
            lines.append(style("dim", safe(f"      ({'; '.join(notes)})")))
    return "\n".join(lines)


def result_text(v: Verification, result: StepResult) -> str:
    """A result as the kernel parsed it (never the file's raw text), with any parameters (--slope) set: an
    equation as claimed, an expression as what its chain's subject equals (``Var[...] = Var[X]/N``)."""
    return pretty(statement(v, result))


def statement(v: Verification, result: StepResult) -> sp.Expr:
    """What a result states: its claim when that is an equation or its chain has no subject (a step combining
    others, a chain from a premise), else ``Eq(subject, claim)``."""
    claim = result.step.claim
    subject = subjects(v.derivation).get(result.step.id)
    if isinstance(claim, sp.Equality) or subject is None or isinstance(subject, sp.Equality):
        return claim
    return sp.Eq(subject, claim, evaluate=False)


def dependencies(v: Verification) -> dict[str, frozenset[str]]:
    """For each step, the steps it rests on, itself included: the steps the kernel gives it (``kernel.check.sources``)
    and, transitively, what those rest on (a ``start`` alone rests on nothing)."""
    out: dict[str, frozenset[str]] = {}
    previous = None
    for step in v.derivation.steps:
        refs = sources(step, previous)
        out[step.id] = frozenset({step.id}).union(*(out.get(ref, frozenset({ref})) for ref in refs))
        previous = step.id
    return out


def established(v: Verification) -> dict[str, bool]:
    """For each step (results among them): established when it and every step it rests on verified, and none of
    them cites an assumption that fails. One failing step marks only the results that depend on it."""
    failing = {a.assumption.id for a in v.assumptions if a.holds is False}
    by_id = {r.step.id: r for r in v.steps}
    rests = dependencies(v)
    return {r.step.id: not v.error and all(ref in by_id and by_id[ref].ok and not failing & set(by_id[ref].step.uses)
                                           for ref in rests.get(r.step.id, {r.step.id}))
            for r in v.steps}


_CANONICAL = re.compile(r"_s\d+")


def named(expr: sp.Expr | None, sources: tuple, indices: tuple[str, ...] = ()) -> sp.Expr | None:
    """``expr`` (a difference or ratio of canonical forms) with the summation variables the comparison renamed
    (``_s0``, ``_s1``, ... by nesting depth) named as in ``sources`` (the claim and what the rule derived): the
    author's variable at that depth with the same limits, else at that depth, else any of theirs, else a
    declared index (``indices``), else with a prime; never a name the sum's body or an enclosing sum uses."""
    if expr is None or not any(_CANONICAL.fullmatch(s.name) for s in expr.atoms(sp.Symbol)):
        return expr
    written: list[tuple[int, sp.Symbol, sp.Expr, sp.Expr]] = []

    def collect(e, depth):
        if isinstance(e, sp.Sum):
            body, (var, lo, hi) = peel(e)
            written.append((depth, var, lo, hi))
            collect(body, depth + 1)
        elif e.args and not isinstance(e, sp.Indexed):
            for a in e.args:
                collect(a, depth)

    for source in sources:
        if source is not None:
            collect(source, 0)
    used = {s.name for s in expr.free_symbols if not _CANONICAL.fullmatch(s.name)}
    used |= {s.name for source in sources if source is not None for s in source.free_symbols}

    def rename(e, bound: frozenset):
        if isinstance(e, sp.Sum):
            body, (var, lo, hi) = peel(e)
            if not _CANONICAL.fullmatch(var.name):
                return sp.Sum(rename(body, bound | {var.name}), (var, lo, hi))
            depth = int(var.name[2:])
            taken = bound | used | {s.name for s in e.free_symbols}
            theirs = ([w.name for d, w, l, h in written if d == depth and (l, h) == (lo, hi)]
                      + [w.name for d, w, _, _ in written if d == depth] + [w.name for _, w, _, _ in written])
            name = next((n for n in theirs + list(indices) + ["j"] if n not in taken), None)
            while name is None or name in taken:
                name = (name or (theirs + ["j"])[0]) + "'"
            new = sp.Symbol(name, integer=True)
            return sp.Sum(rename(body.xreplace({var: new}), bound | {name}), (new, lo, hi))
        if not e.args or isinstance(e, sp.Indexed):
            return e
        return e.func(*[rename(a, bound) for a in e.args])

    return rename(expr, frozenset())


def shown_ratio(v: Verification, r: StepResult) -> sp.Expr | None:
    """claimed / derived when it is free of random variables (the comparison already leaves out moments, laws and
    the activation), with the summation variables named as written; else None."""
    ratio = r.comparison.ratio if r.comparison is not None and not r.comparison.equal else None
    if ratio is None:
        return None
    random = random_names(v.derivation)
    if any(getattr(a, "name", None) in random for a in ratio.atoms(sp.Symbol, sp.IndexedBase)):
        return None
    return named(ratio, (r.step.claim, r.derived), _indices(v))


def shown_difference(v: Verification, r: StepResult) -> sp.Expr | None:
    """claimed - derived, with the summation variables named as written (never ``_s0``)."""
    c = r.comparison
    if c is None or c.equal or c.difference is None:
        return None
    return named(c.difference, (r.step.claim, r.derived), _indices(v))


def hint(v: Verification, r: StepResult) -> str | None:
    """A computed remark on a claim the comparison refused, never a verdict: two layer sizes exchanged."""
    if r.verdict not in COMPARED or r.derived is None or r.comparison is None or r.comparison.reason:
        return None
    sizes = [name for name, decl in v.derivation.symbols.items() if decl.kind == "size"]
    return swapped_fans(r.step.claim, r.derived, sizes)


def _indices(v: Verification) -> tuple[str, ...]:
    return tuple(name for name, decl in v.derivation.symbols.items() if decl.kind == "index")


def _step_lines(v: Verification, r: StepResult, style: Terminal) -> list[str]:
    step = r.step
    uses = f" ({', '.join(step.uses)})" if step.uses else ""
    origin = f"  from {', '.join(step.inputs)}" if step.inputs else ""
    if step.at is not None:
        origin += f"  at {pretty(step.at)}"
    mark = style("ok", "✓") if r.ok else style("bad", "✗")
    head = f"  {mark} {safe(step.id):<3} {step.rule}{safe(uses)}{style('dim', safe(origin))}"
    if not r.ok:
        head += "  " + style("bad", label(r.verdict))
    elif r.approximate:
        head += "  " + style("dim", f"({r.approximation or 'to first order'})")
    lines = [head]
    if step.start is not None:
        lines.append(f"        {'premise: ' if r.is_premise else ''}{pretty(step.start)}")
    word = relation_word(r)
    if isinstance(step.claim, sp.Equality):
        prefix = {"requires": "requires: ", "compromise": "compromise: "}.get(word, "")
        lines.append(f"        {prefix}{pretty(step.claim)}")
    else:
        lines.append(f"        {word} {pretty(step.claim)}")
    if r.neglected and r.ok:
        lines.append(style("dim", f"        first neglected term: {r.neglected}"))
    if r.verdict in COMPARED:
        lines.append(style("bad", f"        rule derives: {pretty(r.derived)}"))
        c = r.comparison
        if c.reason:
            lines.append(style("bad", f"        {c.reason}"))
        difference, ratio, remark = shown_difference(v, r), shown_ratio(v, r), hint(v, r)
        if difference is not None:
            lines.append(style("bad", f"        claimed - derived = {pretty(difference)}"))
        if ratio is not None:
            lines.append(style("bad", f"        claimed / derived = {pretty(ratio)}"))
        if remark is not None:
            lines.append(style("bad", safe(f"        hint: {remark}")))
        if r.counterexample is not None:
            lines.append(style("bad", safe(f"        counterexample: {counterexample_text(r.counterexample)}")))
        elif r.verdict == UNPROVEN:
            lines.append(style("bad", "        could not be shown equal, and no counterexample was found: "
                                      "not verified, not refuted"))
    elif r.message:
        lines.append(style("bad", f"        {r.message}"))
    return lines


def label(verdict: str) -> str:
    """A verdict as shown to people: WRONG (refuted), NOT SHOWN EQUAL, ..."""
    return LABELS.get(verdict, verdict.upper())


def verdict_word(verdict: str) -> str:
    """A verdict in running text (documents, explanations): wrong, not shown equal, refused, ..."""
    return "not shown equal" if verdict == UNPROVEN else verdict


def verdict_detail(r: StepResult) -> str:
    """The verdict of a failed step with its detail in one phrase: ``wrong: the claim does not follow;
    counterexample: n[i] = 3, ...``, ``not shown equal``, ``refused: <what is not shown>``."""
    word = verdict_word(r.verdict)
    text = word if not r.message or r.message == word else f"{word}: {r.message}"
    if r.counterexample is not None:
        text += f"; counterexample: {counterexample_text(r.counterexample)}"
    return text


def counterexample_text(c) -> str:
    """A counterexample in one line: the point, then both sides there (``n[i] = 3, n[i + 1] = 5: claimed 3/8,
    derived 1/4``). Any counterexample with ``values`` and ``text()``: the kernel's exact one, or another."""
    return c.text()


def _counterexample_json(c) -> dict | None:
    """The counterexample's fields (``values`` as an object of texts), its kind (``exact``: the kernel's, found
    by exact arithmetic) and its text."""
    if c is None:
        return None
    out = {"kind": "exact" if isinstance(c, Counterexample) else type(c).__name__, "text": c.text(),
           "values": {str(name): str(value) for name, value in c.values}}
    for f in dataclasses.fields(c):
        if f.name != "values":
            value = getattr(c, f.name)
            out[f.name] = value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
    return out


def _summary(v: Verification, style: Terminal) -> str:
    count = f"{v.verified}/{len(v.steps)} steps verified"
    failed_assumptions = [a.assumption.id for a in v.assumptions if a.holds is False]
    if failed_assumptions:
        count += f"; assumption {', '.join(failed_assumptions)} fails for {v.checked.name}"
    return style("ok" if v.ok else "bad", style("bold", count))


def failure_lines(v: Verification) -> list[str]:
    """One line per failed step: step id, rule and what went wrong (for messages outside the report)."""
    out = []
    for r in v.steps:
        if r.verdict in COMPARED:
            detail = (f"; counterexample: {counterexample_text(r.counterexample)}" if r.counterexample is not None
                      else "; not shown equal" if r.verdict == UNPROVEN else "")
            out.append(f"{r.step.id} ({r.step.rule}): claimed {plain(r.step.claim)}, rule derives {plain(r.derived)}"
                       + detail)
        elif not r.ok:
            out.append(f"{r.step.id} ({r.step.rule}): {r.message}")
    return out


def _expr(expr: sp.Expr | None, notation: Notation) -> dict | None:
    if expr is None:
        return None
    return {"text": plain(expr), "latex": latex(readable(expr), notation)}


def json_report(v: Verification, sample: list[dict] | None = None) -> str:
    """One JSON document with every step's id, rule, verdict, derived and claimed forms and failure detail;
    with ``sample`` (from ``verify --sample``), the sampled cross-examination under "sample"."""
    d = v.derivation
    notation = Notation.of(d)
    holds = established(v)
    steps = []
    for r in v.steps:
        c = r.comparison
        steps.append({
            "id": r.step.id, "section": r.step.section, "rule": r.step.rule,
            "rule_formula": prose.plain(RULES[r.step.rule].formula), "uses": list(r.step.uses),
            "from": list(r.step.inputs), "at": _expr(r.step.at, notation), "start": _expr(r.step.start, notation), "note": prose.plain(r.step.note),
            "verdict": r.verdict, "ok": r.ok,
            "claimed": _expr(r.step.claim, notation), "derived": _expr(r.derived, notation),
            "difference": _expr(shown_difference(v, r), notation),
            "ratio": _expr(shown_ratio(v, r), notation),
            "hint": hint(v, r),
            "message": r.message or (c.reason if c else ""),
            "counterexample": _counterexample_json(r.counterexample),
            "result": r.step.result,
            "relation": r.relation, "approximate": r.approximate, "approximation": r.approximation, "premise": r.is_premise,
            "obligations": [{"name": o.name, "subject": o.subject, "evidence": o.evidence,
                             "premises": list(o.premises), "approximate": o.approximate} for o in r.obligations],
            "failed_obligation": r.failed or None, "neglected": r.neglected or None,
            "premises": list(r.premises), "premise_steps": list(r.premise_steps),
            "holds_for": [f"{k} = {plain(lo)}..{plain(hi)}" for k, lo, hi in r.unit_ranges],
        })
    document = {
        "derivation": d.name, "title": d.title, "file": d.path, "source": d.source,
        "activation": {"name": v.activation.name, "expression": plain(v.activation.expr),
                       "holds": v.activation.holds, "evidence": v.activation.evidence()} if v.activation else None,
        "assumptions": [{"id": a.assumption.id, "title": a.assumption.title, "statement": a.assumption.statement,
                         "checked": a.holds is not None, "holds": a.holds, "evidence": a.evidence,
                         "unused": list(a.unused), "heuristic": heuristic_gradients(v, a.assumption)}
                        for a in v.assumptions],
        "steps": steps,
        "verified": v.verified, "total": len(v.steps), "ok": v.ok, "error": v.error or None,
        "results": [{"id": r.step.id, "claim": _expr(r.step.claim, notation),
                     "statement": _expr(statement(v, r), notation), "relation": r.relation,
                     "established": holds[r.step.id], "qualifiers": qualifiers(r)} for r in v.results],
        "suggestion": v.suggestion,
    }
    if sample is not None:
        document["sample"] = sample
    return safe_json(json.dumps(document, indent=2, ensure_ascii=False))


def safe_json(text: str) -> str:
    """JSON escapes C0 controls itself; DEL and the C1 controls (a terminal reads 0x9b as CSI) are escaped here."""
    return "".join(f"\\u{ord(c):04x}" if 0x7f <= ord(c) < 0xa0 else c for c in text)


def list_report(entries: list[tuple[str, str]], out: Terminal | None = None) -> str:
    """One line per derivation: its name (bold), then its title and summary (wrapped under themselves)."""
    style = _style(out)
    width = max((len(name) for name, _ in entries), default=0)
    return style.wrap("\n".join(style("bold", f"{name:<{width}}") + f"  {summary}" for name, summary in entries))


def witness_report(witnesses, gains, seed: int, samples: int, out: Terminal | None = None) -> str:
    """The witnesses as a table, then the simulated layer gains, then one summary line. The table's rows are
    not wrapped (a row broken in two is no longer a row); the prose between them is."""
    from .witness import Z
    style = _style(out)
    lines = [style.wrap(style("bold", f"Rule witnesses: exact (integration, enumeration, sympy.stats) and Monte "
                                      f"Carlo (seed {seed}, {samples} samples, within {Z:g} standard errors)")), ""]
    lines.append(f"  {'rule':<24} {'exact':<7} {'Monte Carlo: estimate vs exact (tolerance, samples)':<52} verdict")
    for w in witnesses:
        exact = "holds" if w.exact_holds else "fails"
        mc = w.monte_carlo
        sampled = "-" if mc is None else f"{mc.estimate:.6g} vs {mc.exact:.6g} (±{mc.tolerance:.2g}, {mc.samples})"
        verdict = (style("ok", "ok") if w.ok else style("bad", "FAILED")) + (
            " (fails, as it must)" if w.expect_failure and w.ok else "")
        lines.append(f"  {w.rule:<24} {exact:<7} {sampled:<52} {verdict}")
        lines.append(style.wrap(style("dim", f"  {'':<24} {w.statement}")))
    lines += ["", style.wrap(style("bold", "One layer with Glorot uniform weights (width 512): variance gain against "
                                           "the input variance")),
              f"  {'activation':<10} {'Var[s]':>7} {'forward':>9} {'backward':>9} {'linear regime':>14} {'drift':>8}"]
    for g in gains:
        predicted = "none" if g.predicted is None else f"{g.predicted:g}"
        drift = "" if g.predicted is None else f"{(g.forward - g.predicted) / g.predicted:+.1%}"
        lines.append(f"  {g.activation:<10} {g.input_variance:>7g} {g.forward:>9.4f} {g.backward:>9.4f} "
                     f"{predicted:>14} {drift:>8}")
    failed = [w for w in witnesses if not w.ok]
    lines += ["", style.wrap(style("ok" if not failed else "bad", style("bold", (
        f"{len(witnesses) - len(failed)}/{len(witnesses)} witnesses hold"
        + ("" if not failed else ": " + ", ".join(w.rule for w in failed) + " FAILED")))))]
    return "\n".join(lines)


def crosscheck_report(rows, trunc, fan_examples, out: Terminal | None = None) -> str:
    """Each framework formula beside the verified value; heuristics labelled; the derived constants."""
    from .printing import plain as text
    style = _style(out)
    lines = ["Framework initialisers against the verified derivations (fan_in = n[i], fan_out = n[i+1]);",
             "✓: the framework's formula is the source's, transcribed correctly (not a recommendation)", ""]
    checked = [r for r in rows if not r.heuristic]
    for r in checked:
        lines.append(f"  {style.mark(r.match)} {r.framework:<14} {r.initialiser}")
        lines.append(f"      framework: {r.formula}    [{r.source}]")
        lines.append(f"      derived:   {text(r.derived_value)}" + (f"    ({r.note})" if r.note else ""))
        if r.advice:
            lines.append(f"      ✓ means transcribed correctly; {r.advice}")
    lines.append("")
    for r in rows:
        if r.heuristic:
            lines.append(f"  heuristic: {r.framework} {r.initialiser} = {r.formula} = {float(r.framework_value):.6g}"
                         f"    [{r.source}]")
            lines.append(f"      a derivation gives {float(r.derived_value):.6g}: {r.note}")
    lines.append(f"  derived constant: std of N(0, 1) truncated to [-2, 2] = {sp.N(trunc, 17)} "
                 f"(= {text(trunc)}); Keras and JAX divide by .87962566103423978")
    for (shape, layout), (fan_in, fan_out) in fan_examples:
        lines.append(f"  fans: {layout} weight of shape {shape}: fan_in {fan_in}, fan_out {fan_out}")
    matched = sum(r.match for r in checked)
    lines += ["", style("ok" if matched == len(checked) else "bad", style("bold", (
        f"{matched}/{len(checked)} framework formulas match the derivations; "
        f"{len(rows) - len(checked)} heuristic shown beside its derivation")))]
    return style.wrap("\n".join(lines))


def simulate_report(runs, batch: int, seed: int, out: Terminal | None = None) -> str:
    """One table per init: per layer, the activation and the gradient variance as the linear regime and mean field
    predict them and as simulated, and the Jacobian's mean singular value; then the standard init's compounding."""
    first = runs[0]
    lines = [f"{first.depth} layers of {first.width} {first.activation} units at initialisation, inputs N(0, 1), "
             f"biases 0; {batch} examples, seed {seed}"]
    names = {"standard": "standard init", "normalised": "normalised init (Glorot)", "he": "He init"}
    for run in runs:
        p = run.predicted
        lines += ["", f"{names[run.init]}: n Var[W] = {run.factor:.4g}",
                  f"         {'activation variance Var[z]':^32}   {'gradient variance Var[dL/ds]':^32}".rstrip(),
                  f"  layer  {'linear':>10}{'mean field':>11}{'simulated':>11}   "
                  f"{'linear':>10}{'mean field':>11}{'simulated':>11}   {'J sv':>6}"]
        for i, stats in enumerate(run.layers):
            sv = "" if stats.jacobian_singular_value is None else f"{stats.jacobian_singular_value:.3f}"
            lines.append(f"  {stats.layer:>5}  {p.linear_activation_variance[i]:>10.4g}"
                         f"{p.activation_variance[i]:>11.4g}{stats.activation_variance:>11.4g}   "
                         f"{p.linear_gradient_variance[i]:>10.4g}{p.gradient_variance[i]:>11.4g}"
                         f"{stats.gradient_variance:>11.4g}   {sv:>6}")
    for run in [run for run in runs if run.init == "standard"]:
        z = [s.activation_variance for s in run.layers]
        g = [s.gradient_variance for s in run.layers]
        top = run.depth
        lines += ["", "standard init: the linear regime's factor n Var[W] = 1/3 per layer, compounded; simulated",
                  f"  layer  {'(1/3)^l':>10}{'Var[z^l]':>11}{'vs l-1':>8}   {f'(1/3)^({top}-l)':>11}"
                  f"{'Var[dL/ds^l]':>13}{'vs l+1':>8}"]
        for i, stats in enumerate(run.layers):
            down = f"{z[i] / z[i - 1]:>8.3f}" if i else " " * 8            # Var[z^l] / Var[z^(l-1)]
            up = f"{g[i] / g[i + 1]:>8.3f}" if i + 1 < top else ""         # Var[dL/ds^l] / Var[dL/ds^(l+1)]
            lines.append(f"  {stats.layer:>5}  {run.predicted.linear_activation_variance[i]:>10.4g}{z[i]:>11.4g}"
                         f"{down}   {run.predicted.linear_gradient_variance[i]:>11.4g}{g[i]:>13.4g}{up}")
    lines += ["", "  linear: f(s) = s, x n Var[W] per layer (gradients: 1 at the top); mean field: exact as n -> inf;",
              "  simulated: over units and examples; J sv: mean singular value of the layer Jacobian dz^l/dz^(l-1)"]
    style = _style(out)
    lines[0] = style.wrap(style("bold", lines[0]))          # the tables stay whole; the prose is wrapped
    lines[-2:] = [style.wrap(style("dim", line)) for line in lines[-2:]]
    return "\n".join(lines)


def empirical_report(draws, out: Terminal | None = None) -> str:
    from .empirical import SHAPE, Z
    style = _style(out)
    lines = ["", f"Empirical: tensors of shape {SHAPE} drawn by torch.nn.init (variance within {Z:g} standard errors)"]
    for d in draws:
        bound = "" if d.bound is None else f"; max |w| {d.largest:.5f} vs bound {d.bound:.5f}"
        lines.append(f"  {style.mark(d.ok)} {d.initialiser:<24} variance {d.variance:.6g} vs derived "
                     f"{d.expected_variance:.6g} (±{d.tolerance:.2g}, {d.samples} samples){bound}")
    return style.wrap("\n".join(lines))
