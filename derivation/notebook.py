"""How the API's reports show themselves in Jupyter: compact HTML with the mathematics as MathML (self-contained:
no JavaScript, nothing fetched, styles scoped to the report), and Markdown with LaTeX as the fallback.

A table per section (step, rule, the step's line as its author wrote it, the verdict with ✓ or ✗); under a failed
step what its rule derives and why it failed; then the results, each established or not. The lines are those of
the rendered documents (derivation.document), so a notebook shows what the PDF and HTML show. Every text from a
derivation file (titles, ids, rule names, messages, prose) is escaped by markupsafe, or for Markdown by
escape.markdown_text; the mathematics goes through our MathML and LaTeX printers.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from .activations import ACTIVATIONS
from .escape import markdown_text
from .report import COMPARED, label
from .kernel import terms as v
from .kernel.activation import X
from .kernel.check import ASSUMPTION, sources
from .typeset import latex, markdown_math, mathml_lines, mathml_sequence, readable, width

STYLE = Markup("""<style>
.dv-report { line-height: 1.45; overflow-x: auto; max-width: 100%; }
.dv-report .dv-head { margin: 0.1em 0 0.2em; }
.dv-report .dv-summary { margin: 0.2em 0 0.5em; font-weight: bold; }
.dv-report ul.dv-assumptions { list-style: none; padding-left: 0; margin: 0.2em 0 0.6em; }
.dv-report ul.dv-assumptions li { margin: 0.15em 0; }
.dv-report table.dv-table { border-collapse: collapse; table-layout: auto; margin: 0.3em 0 0.9em; width: auto; }
.dv-report table.dv-table caption { caption-side: top; text-align: left; font-weight: bold; padding: 0.3em 0; }
.dv-report table.dv-table th, .dv-report table.dv-table td { text-align: left; vertical-align: middle;
  padding: 0.22em 0.7em 0.22em 0; border: none; border-bottom: 1px solid rgba(128, 128, 128, 0.25);
  white-space: normal; background: none; }
.dv-report table.dv-table th { font-weight: normal; opacity: 0.7; border-bottom: 1px solid rgba(128, 128, 128, 0.6); }
.dv-report table.dv-table td.dv-id { font-weight: bold; white-space: nowrap; }
.dv-report table.dv-table td.dv-rule { white-space: nowrap; }
.dv-report table.dv-table td.dv-verdict { white-space: nowrap; }
.dv-report table.dv-table tr.dv-more td { border-bottom: none; }
.dv-report table.dv-table tr.dv-after td { padding-top: 0; }
.dv-report .dv-ok { color: #1a7f37; }
.dv-report .dv-bad { color: #cf222e; }
.dv-report .dv-dim { opacity: 0.72; font-size: 0.9em; }
.dv-report .dv-note { font-size: 0.92em; opacity: 0.85; margin: 0.3em 0; max-width: 48em; }
.dv-report math { font-size: 1.05em; }
.dv-report .dv-lines > div { white-space: nowrap; }
.dv-report .dv-lines > div.dv-cont { padding-left: 2.2em; }
</style>""")

TICK, CROSS = "✓", "✗"


def _lines(report) -> dict:
    """The document's lines by step id."""
    return {line.step_id: line for section in report.document.sections for line in section.lines}


def _math(items, notation) -> Markup:
    return Markup(mathml_sequence(list(items), notation, display="cell"))


def _line_items(left, relation: str, right) -> list:
    return ([left] if left is not None else []) + [("mo", relation), right]


LINE_WIDTH = 105     # estimated characters of a claim before its right side is broken between terms


def _claim(left, relation: str, right, notation) -> Markup:
    """``left relation right`` in a table cell; a long right side broken between its terms (as the documents
    break it), the continuation rows indented."""
    if width(right, notation) <= LINE_WIDTH:
        return _math(_line_items(left, relation, right), notation)
    rows = mathml_lines(right, notation, limit=LINE_WIDTH)
    head = _math(([left] if left is not None else []) + [("mo", relation)], notation)
    return Markup('<div class="dv-lines"><div>{}{}</div>{}</div>').format(
        head, Markup(rows[0]), Markup("").join(Markup('<div class="dv-cont">{}</div>').format(Markup(row))
                                               for row in rows[1:]))


def _verdict(step) -> Markup:
    if step.ok:
        return Markup('<span class="dv-ok">{} verified</span>').format(TICK)
    return Markup('<span class="dv-bad">{} {}</span>').format(CROSS, label(step.verdict).lower())


def _rule(step) -> Markup:
    parts = [escape(step.rule)]
    if step.uses:
        parts.append(Markup(" [{}]").format(", ".join(step.uses)))
    extra = []
    if step.inputs:
        extra.append(Markup("from {}").format(", ".join(step.inputs)))
    if step.label:
        extra.append(escape(step.label))
    if extra:
        parts.append(Markup(' <span class="dv-dim">({})</span>').format(Markup("; ").join(extra)))
    return Markup("").join(parts)


def _detail(step) -> Markup | None:
    """Why a step failed, in words: the counterexample of a refuted claim, or the kernel's message."""
    if step.ok:
        return None
    if step.verdict in COMPARED:
        if step.counterexample:
            return Markup("counterexample: {}").format(step.counterexample)
        return Markup("could not be shown equal, and no counterexample was found: not verified, not refuted")
    if step.verdict == ASSUMPTION and step.message.startswith("assumption ") and " fails for " in step.message \
            and ": " in step.message:           # "assumption A1 fails for sigmoid: <evidence>", shown above with A1
        return Markup("{} (above)").format(step.message.split(": ", 1)[0])
    return escape(step.message) if step.message else None


def _inputs(step) -> list[tuple[str, object]]:
    """What the rule was given, each named: ``start`` (the chain's first expression), or the step it comes from."""
    d = step.report.derivation
    position = [s.id for s in d.steps].index(step.id)
    refs = sources(d.steps[position], d.steps[position - 1].id if position else None)
    given = step.step_result.inputs
    names = ["start"] if d.steps[position].start is not None else []
    names += [f"from {ref}" for ref in refs]
    return list(zip(names, given)) if len(names) == len(given) else [("input", g) for g in given]


def _checked_name(report) -> str:
    """The activation as a word (tanh, sigmoid) when it is one, else "this f" (its formula is in the heading)."""
    name = report.activation_name or ""
    return name if name in ACTIVATIONS else "this f"


def _step_rows(step, line, notation, alone: bool = False) -> list[Markup]:
    """The rows of one step: its line; if it failed, what the rule derives and why."""
    rows = []
    failed_rows = not step.ok and (line.derived is not None or _detail(step) is not None)
    row_class = Markup(' class="dv-more"') if failed_rows else Markup("")
    if alone:
        for name, given in _inputs(step):
            rows.append(Markup('<tr class="dv-more"><td class="dv-id"></td><td class="dv-dim">{}</td>'
                               '<td>{}</td><td></td></tr>').format(name, _math([readable(given)], notation)))
    rows.append(Markup('<tr{}><td class="dv-id">{}</td><td class="dv-rule">{}</td><td>{}</td>'
                       '<td class="dv-verdict">{}</td></tr>').format(
        row_class, step.id, _rule(step), _claim(line.left, line.relation, line.right, notation),
        _verdict(step)))
    if not step.ok:
        if line.derived is not None:
            rows.append(Markup('<tr class="dv-more dv-after"><td></td><td class="dv-bad">rule derives</td>'
                               '<td>{}</td><td></td></tr>').format(
                _claim(line.derived_left, "=", line.derived_right, notation)))
        detail = _detail(step)
        if detail is not None:
            rows.append(Markup('<tr class="dv-after"><td></td><td colspan="3" class="dv-bad dv-dim">{}</td></tr>')
                        .format(detail))
    return rows


_HEADER = Markup("<tr><th>step</th><th>rule</th><th>claim</th><th>verdict</th></tr>")


def _table(rows, caption: str | None = None) -> Markup:
    head = Markup("<caption>{}</caption>").format(caption) if caption is not None else Markup("")
    return Markup('<table class="dv-table">{}{}{}</table>').format(head, _HEADER, Markup("").join(rows))


def _prose(spans, notation) -> Markup:
    return Markup("").join(escape(s.text) if s.math is None
                           else Markup(mathml_sequence([s.math], notation)) for s in spans)


def _heading(report) -> Markup:
    doc, d = report.document, report.derivation
    where = [escape(d.path)]
    if doc.activation is not None:
        where.append(Markup("activation {}").format(
            Markup(mathml_sequence([("tokens", "f(x)"), ("mo", "="), doc.activation], doc.notation))))
    for symbol, value in doc.parameters:
        where.append(Markup(mathml_sequence([symbol, ("mo", "="), value], doc.notation)))
    return Markup('<div class="dv-head"><strong>{}</strong> <span class="dv-dim">· {}</span></div>').format(
        d.title, Markup(" · ").join(where))


def _summary(report) -> Markup:
    v = report.verification
    if report.error:
        return Markup('<div class="dv-summary dv-bad">{} refused: {}</div>').format(CROSS, report.error)
    text = f"{report.verified} of {report.total} steps verified"
    failing = [a.id for a in report.assumptions if a.holds is False]
    if failing:
        text += f"; assumption {', '.join(failing)} fails for {_checked_name(report)}"
    out = Markup('<div class="dv-summary {}">{} {}</div>').format(
        "dv-ok" if report.ok else "dv-bad", TICK if report.ok else CROSS, text)
    if v.suggestion:
        out += Markup('<div class="dv-note dv-bad">{} is a rectifier: not odd, no slope 1 at 0, so this derivation '
                      'does not apply; see <code>derivation.verify("{}")</code></div>').format(
            _checked_name(report), v.suggestion)
    return out


def _fact_label(text: str):
    """The left side of a computed fact about the activation (document.Fact.label, our own text): as tokens, but
    the rectifier's second moment as the expression it is (a superscript after a bracket is beyond the tokens)."""
    if text == "E[f(x)²]":
        return v.E(v.f(X) ** 2)
    return ("tokens", text)


def _assumptions(report) -> Markup:
    doc = report.document
    items = []
    for a in doc.assumptions:
        if a.checked:
            facts = Markup(", ").join(
                Markup('<span class="{}">{}</span>').format(
                    "" if f.ok else "dv-bad",
                    Markup(mathml_sequence([_fact_label(f.label), ("mo", "=")] + ([f.right] if f.right is not None
                                                                                    else [("mtext", "?")]),
                                           doc.notation)) + (Markup(" ({})").format(f.words) if f.words else ""))
                for f in a.facts)
            mark = Markup('<span class="{}">{}</span>').format("dv-ok" if a.holds else "dv-bad",
                                                              TICK if a.holds else CROSS)
            state = Markup("{} for {}: {}").format("holds" if a.holds else "fails", _checked_name(report), facts)
        else:
            mark, state = Markup('<span class="dv-dim">·</span>'), Markup('<span class="dv-dim">a modelling '
                                                                          'premise</span>')
        items.append(Markup("<li>{} <strong>{}</strong> {}: {}</li>").format(mark, a.id, a.title, state))
    return Markup('<ul class="dv-assumptions">{}</ul>').format(Markup("").join(items)) if items else Markup("")


def _result_math(r, notation) -> Markup:
    if r.law is not None:
        return _math([r.variable, ("mo", "∼"), r.law, ("mo", ","), ("mspace", "1em"), r.claim.lhs, ("mo", "="),
                      r.claim.rhs], notation)
    if r.equation:
        return _math([r.claim.lhs, ("mo", "="), r.claim.rhs], notation)
    return _math([r.claim], notation)


def _results(report) -> Markup:
    """The results, each established or not; what a reader must know of them (first order, a compromise, ...)
    beside each, or once below when it is the same for all (as the documents do)."""
    doc = report.document
    if not doc.results:
        return Markup("")
    kinds = {r.notes for r in doc.results}
    shared = len(kinds) == 1 and len(doc.results) > 1
    rows = [Markup('<tr><td>{}</td><td class="dv-verdict {}">{}</td><td class="dv-dim">{}</td></tr>').format(
        _result_math(r, doc.notation), "dv-ok" if r.ok else "dv-bad",
        f"{TICK} established" if r.ok else f"{CROSS} not established", "" if shared else "; ".join(r.notes))
        for r in doc.results]
    out = Markup('<table class="dv-table"><caption>Results</caption>{}</table>').format(Markup("").join(rows))
    if shared and doc.results[0].notes:
        out += Markup('<div class="dv-note">Each result is {}.</div>').format("; ".join(doc.results[0].notes))
    return out


def report_html(report) -> str:
    """The whole report: heading, summary, assumptions, a table per section, the results."""
    doc = report.document
    by_id = {s.id: s for s in report.steps}
    tables = []
    for section in doc.sections:
        rows = [row for line in section.lines for row in _step_rows(by_id[line.step_id], line, doc.notation)]
        tables.append(_table(rows, section.title))
    body = _heading(report) + _summary(report) + _assumptions(report) + Markup("").join(tables) + _results(report)
    return str(Markup('<div class="dv-report">{}{}</div>').format(STYLE, body))


def step_html(step) -> str:
    """One step: its input, its line, what the rule derives if it failed, and the author's note."""
    report = step.report
    doc = report.document
    line = _lines(report)[step.id]
    body = _table(_step_rows(step, line, doc.notation, alone=True),
                  f"{step.id} in {report.derivation.title}: {step.section}")
    if line.note:
        body += Markup('<div class="dv-note">{}</div>').format(_prose(line.note, doc.notation))
    return str(Markup('<div class="dv-report">{}{}</div>').format(STYLE, body))


# --- Markdown, with LaTeX between $ signs (Jupyter's Markdown typesets it) ---------------------------------

def _tex(items, notation) -> str:
    parts = []
    for item in items:
        if isinstance(item, tuple):
            parts.append({"=": "=", "≈": r"\approx", "∼": r"\sim"}[item[1]])
        else:
            parts.append(latex(item, notation))
    return "$" + markdown_math(" ".join(parts)) + "$"


def _md_verdict(step) -> str:
    return f"{TICK} verified" if step.ok else f"{CROSS} {label(step.verdict).lower()}"


def _md_step_rows(step, line, notation) -> list[str]:
    extra = ([f"from {', '.join(step.inputs)}"] if step.inputs else []) + ([step.label] if step.label else [])
    rule = markdown_text(step.rule + (f" [{', '.join(step.uses)}]" if step.uses else "")
                         + (f" ({'; '.join(extra)})" if extra else ""))
    rows = [f"| **{markdown_text(step.id)}** | {rule} | "
            f"{_tex(_line_items(line.left, line.relation, line.right), notation)} | {_md_verdict(step)} |"]
    if not step.ok:
        if line.derived is not None:
            rows.append(f"| | rule derives | {_tex(_line_items(line.derived_left, '=', line.derived_right), notation)}"
                        f" | |")
        detail = _detail(step)
        if detail is not None:
            rows.append(f"| | | {markdown_text(detail.unescape())} | |")
    return rows


_MD_HEADER = ["| step | rule | claim | verdict |", "|---|---|---|---|"]


def report_markdown(report) -> str:
    doc = report.document
    by_id = {s.id: s for s in report.steps}
    mark = TICK if report.ok else CROSS
    state = f"refused: {report.error}" if report.error else f"{report.verified} of {report.total} steps verified"
    out = [f"**{markdown_text(report.title)}** ({markdown_text(report.derivation.path)})", "",
           f"{mark} {markdown_text(state)}"]
    for a in report.assumptions:
        if a.holds is not None:
            out += ["", f"{TICK if a.holds else CROSS} {markdown_text(a.id)} {markdown_text(a.title)}: "
                        f"{'holds' if a.holds else 'fails'} for {markdown_text(_checked_name(report))}"]
    for section in doc.sections:
        out += ["", f"**{markdown_text(section.title)}**", "", *_MD_HEADER]
        for line in section.lines:
            out += _md_step_rows(by_id[line.step_id], line, doc.notation)
    if doc.results:
        out += ["", "**Results**", ""]
        for r in doc.results:
            law = _tex([r.variable, ("mo", "∼"), r.law], doc.notation) + ", " if r.law is not None else ""
            claim = [r.claim.lhs, ("mo", "="), r.claim.rhs] if r.equation else [r.claim]
            math = law + _tex(claim, doc.notation)
            out.append(f"- {math}: {TICK + ' established' if r.ok else CROSS + ' not established'}")
    return "\n".join(out) + "\n"


def step_markdown(step) -> str:
    report = step.report
    doc = report.document
    line = _lines(report)[step.id]
    out = [f"**{markdown_text(step.id)}** in {markdown_text(report.title)}", "", *_MD_HEADER,
           *_md_step_rows(step, line, doc.notation)]
    return "\n".join(out) + "\n"
