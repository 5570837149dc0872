"""The handout's sections in the Markdown and the HTML as in the PDF: the theorem (never the file's summary), the
network figure, the notation, each step's paper equation and what breaks without its assumptions, the
approximations with their corrections, what to remember, the mean-field and evidence tables, the exercises with
their answers and the verification record; a failing document marks what is not established. Each test fails if
its section goes missing from a format."""

from __future__ import annotations

import re

import pytest

from derivation.document import build
from derivation.escape import markdown_text
from derivation.loader import loads
from derivation.render import render_text
from derivation.typeset import latex, markdown_inline, mathml
from derivation.verify import verify

from conftest import ARITIES, GLOROT_TEXT
from test_markdown_github import CASES, practice_for


@pytest.fixture(scope="module")
def docs():
    return {case: build(CASES[case]()) for case in ("glorot", "he", "lecun", "failing")}


@pytest.fixture(scope="module")
def rendered(docs):
    """Every document in every format, with the 'In practice' of its activation (figures, tables)."""
    activation = {"glorot": "tanh", "he": "relu", "lecun": "tanh", "failing": "sigmoid"}

    def extra(case):
        practice = practice_for(activation[case])
        return {**practice, "images": {name: {"png": b"\x89PNG\r\n\x1a\n"} for name in practice["figures"]}}
    return {case: {fmt: render_text(doc, fmt, extra(case)) for fmt in ("tex", "md", "html")}
            for case, doc in docs.items()}


def md_math(expr, doc) -> str:
    return markdown_inline(latex(expr, doc.notation))


def html_math(expr, doc, display=False) -> str:
    return mathml(expr, doc.notation, display=display)


def between(text: str, start: str, end: str) -> str:
    assert start in text, start
    part = text.split(start, 1)[1]
    assert end in part, end
    return part.split(end, 1)[0]


# --- the order of the sections ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["glorot", "he", "failing"])
def test_the_sections_come_in_the_order_of_the_pdf(rendered, docs, case):
    tex, md, html = (rendered[case][fmt] for fmt in ("tex", "md", "html"))
    pdf = re.findall(r"\\section\*\{(.*?)\}", tex)
    assert "Results" not in pdf and "What to remember" in pdf and ("Exercises" in pdf) == bool(docs[case].handout.exercises or docs[case].handout.numbers)
    assert re.findall(r"^## (.*)$", md, re.M) == pdf
    assert re.findall(r"<h2[^>]*>(.*?)</h2>", html) == pdf
    # before the first section: the theorem, the source, the figure of the indices
    assert tex.index(r"\textbf{Theorem.}") < tex.index("Source: ") < tex.index("tikzpicture") \
        < tex.index(r"\section*{Notation}")
    assert md.index("**Theorem.**") < md.index("Source: ") < md.index("**The indices.**") < md.index("## Notation")
    assert html.index('class="box theorem"') < html.index("Source: ") < html.index('id="fig-network"') \
        < html.index("<h2>Notation</h2>")


# --- the theorem ----------------------------------------------------------------------------------------------

def test_the_theorem_states_the_verified_d1_never_the_summary():
    """A summary claiming 3/(n_i + n_{i+1}) is prose, never checked: neither format shows it, and the theorem
    states the D1 the kernel verified, 2/(n_i + n_{i+1})."""
    text = GLOROT_TEXT.replace("`Var[W[i]] == 2/(n[i] + n[i+1])`", "`Var[W[i]] == 3/(n[i] + n[i+1])`")
    assert "3/(n[i] + n[i+1])" in text
    doc = build(verify(loads(text, "summary.toml", ARITIES, name="summary")))
    claimed = next(part.math for part in doc.summary if part.math is not None)        # Var[W^i] = 3/(n_i + n_i+1)
    d1 = doc.results[0].claim
    assert "2" in str(d1.rhs) and "3" in str(claimed.rhs)
    md, html = render_text(doc, "md"), render_text(doc, "html")
    theorem = between(md, "**Theorem.**", "*Verified* means")
    assert f"{latex(d1.lhs, doc.notation)} &= {latex(d1.rhs, doc.notation)}" in theorem
    assert latex(claimed.rhs, doc.notation) not in md and "for tanh networks" not in md
    box = between(html, '<div class="box theorem">', "<em>Verified</em> means")
    assert html_math(d1.rhs, doc, "cell") in box
    assert html_math(claimed.rhs, doc) not in html and html_math(claimed, doc) not in html
    assert "for tanh networks" not in html


def test_the_theorem_marks_each_hypothesis_and_states_the_requirements(rendered, docs):
    doc, md, html = docs["glorot"], rendered["glorot"]["md"], rendered["glorot"]["html"]
    theorem = between(md, "**Theorem.**", "*Verified* means")
    assert "- **A1** (activation): checked for this $`f`$; used only where the derivation approximates (≈): F1, B1" \
        in theorem
    assert "- **A2** (independence): a modelling premise; exact" in theorem
    for s in doc.handout.statements:
        assert f"{md_math(s.claim, doc)} in the {s.section.lower()} ({s.step_id}, the paper's eq. ({s.paper}))" \
            in theorem
    assert "✓ Each result is established" in theorem and "to first order; assuming A2, A3." in theorem
    box = between(html, '<div class="box theorem">', "<em>Verified</em> means")
    assert box.count('<span class="ok">✓</span>') == len(doc.results)
    assert all(html_math(s.claim, doc) in box for s in doc.handout.statements)
    assert '<a href="#F6">F6</a>, the paper\'s eq. (10)' in box


# --- the figure of the indices and the notation ---------------------------------------------------------------

def test_the_network_figure_is_drawn_in_html_and_explained_in_markdown(rendered, docs):
    doc, md, html = docs["glorot"], rendered["glorot"]["md"], rendered["glorot"]["html"]
    net = doc.handout.network
    figure = between(html, '<figure id="fig-network">', "</figure>")
    assert figure.count("<svg") == 1 and "<circle" in figure and "foreignObject" not in figure
    drawing, caption = figure.split("<figcaption", 1)
    for label in (net.first, net.inputs, net.last, net.weight, net.pre, net.output, net.width, net.gradient):
        assert html_math(label, doc) in drawing, label
    assert "<strong>Figure 1.</strong> The indices." in caption and html_math(net.weight, doc) in caption
    indices = between(md, "**The indices.**", "\n")
    assert md_math(net.weight, doc) in indices and md_math(net.gradient, doc) in indices
    assert f"{latex(net.output, doc.notation)} = f\\left({latex(net.pre, doc.notation)}\\right)" in indices


def test_the_notation_has_the_activation_and_the_layer_variances(rendered, docs):
    doc, md, html = docs["glorot"], rendered["glorot"]["md"], rendered["glorot"]["html"]
    assert doc.layer_notation
    assert "| $`f`$, $`f'`$ | the activation, here $`f(x) = \\tanh{\\left(x \\right)}`$, and its derivative |" in md
    row = ", ".join(md_math(e, doc) for e in doc.layer_notation) + " | a family's common variance in a layer"
    assert row in md
    notation = between(html, "<h2>Notation</h2>", "</table>")
    assert "and its derivative" in notation and all(html_math(e, doc) in notation for e in doc.layer_notation)


# --- the steps: the paper's equation, without the assumptions, the approximations -------------------------------

@pytest.mark.parametrize("case", ["glorot", "failing"])
def test_each_step_shows_its_paper_equation_and_what_breaks_without_its_assumptions(rendered, docs, case):
    doc, md, html = docs[case], rendered[case]["md"], rendered[case]["html"]
    lines = [line for section in doc.sections for line in section.lines]
    shown = [line for line in lines if line.without and line.ok]
    assert shown and md.count("*Without its assumptions:*") == len(shown)
    assert html.count('<div class="note without">') == len(shown)
    for line in (line for line in lines if line.paper):
        assert f"**{line.step_id}** · {line.rule}" in md and f", the paper's eq. ({line.paper})" in md
        assert f"<strong>{line.step_id}</strong> · {line.rule}" in html
    assert md.count("the paper's eq. (") == html.count("the paper's eq. (") == \
        len([x for x in lines if x.paper]) + len([s for s in doc.handout.statements if s.paper])
    if case == "failing":       # F1 fails: its text of what breaks without A1 is not shown beside it
        f1 = between(md, "**F1** · ", "\n- ")
        assert "Without its assumptions" not in f1


def test_each_approximation_shows_its_correction_and_regime(rendered, docs):
    doc, md, html = docs["glorot"], rendered["glorot"]["md"], rendered["glorot"]["html"]
    approximations = doc.handout.approximations
    assert [a.step_id for a in approximations] == ["F1", "B1"]
    for a in approximations:
        paragraph = between(md, f"*The approximation ({a.step_id}).*", "\n")
        for c in a.corrections:
            assert markdown_inline(f"{latex(c.left, doc.notation)} = {latex(c.right, doc.notation)}") in paragraph
            assert "O{\\left(" in paragraph
        assert "$`f'''(0) = -2`$" in paragraph and f"{latex(a.scale, doc.notation)} \\ll \\frac{{1}}{{2}}" in paragraph
    notes = re.findall(r'<div class="note approx">(.*?)</div>', html)
    assert len(notes) == 2 and all("<mi>O</mi>" in n and "<mi>o</mi>" not in n for n in notes)
    assert all("&#8244;" in n and "≪" in n for n in notes)
    # a failing F1 has no correction shown
    failing = rendered["failing"]["md"]
    assert "*The approximation (F1).*" not in failing and '<div class="note approx">' not in rendered["failing"]["html"]


# --- what to remember -----------------------------------------------------------------------------------------

def test_what_to_remember_sums_up_each_chain_and_the_hypotheses(rendered, docs):
    doc, md, html = docs["glorot"], rendered["glorot"]["md"], rendered["glorot"]["html"]
    remember = between(md, "## What to remember", "\n## ")
    box = between(html, "<h2>What to remember</h2>", "</div>")
    for s in doc.handout.summaries:
        relation = "\\approx" if s.relation == "≈" else "="
        assert f"- {s.section} ({s.steps[0]}, {s.steps[1]}): " + markdown_inline(
            f"{latex(s.left, doc.notation)} {relation} {latex(s.right, doc.notation)}") in remember
    assert "- F1, B1 are approximations (to first order), exact only as" in remember
    assert "- Without A2 (independence) the steps F1, F2, F3, F4, F5, B1, B2, B3, B5 do not follow." in remember
    assert box.count("<li>") == len(doc.handout.summaries) + len(doc.results) + 1 + 2
    assert "Without A3 (centring) the steps" in box and "not established" not in box
    he = between(rendered["he"]["md"], "## What to remember", "\n## ")
    assert "- Without A3 (rectifier) step H5 does not follow." in he


# --- in practice ----------------------------------------------------------------------------------------------

def meanfield_rows(table: dict) -> list[list[str]]:
    columns = ("first", "second", "third") if table["simulated"] else ("first", "second")
    return [[str(layer + 1)] + [f"{run[block][c][layer]:.4f}" for run in table["runs"] for c in columns]
            for block in ("forward", "backward") for layer in range(table["depth"])]


@pytest.mark.parametrize("case, activation", [("glorot", "tanh"), ("he", "relu")])
def test_the_mean_field_table_has_its_numbers_beside_the_figures(rendered, case, activation):
    practice = practice_for(activation)
    table = practice["meanfield"]
    assert practice["figures"] and table["simulated"]
    md, html = rendered[case]["md"], rendered[case]["html"]
    rows = meanfield_rows(table)
    assert len(rows) == 10 and len(rows[0]) == 7
    for row in rows:
        assert "| " + " | ".join(row) + " |" in md
        assert "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" in html
    paragraph = "**Predictions.**" if table["rectifier"] else "**Why the simulation decays.**"
    assert paragraph in md and paragraph.replace("**", "<strong>", 1).replace("**", "</strong>") in html
    assert "**Table 1.** Layer by layer" in md and '<p class="note caption" id="tab-meanfield">' in html
    assert md.count("**Figure ") == 2 and html.count("<figure id=\"fig-simulate") == 2


def test_the_mean_field_table_is_left_out_where_the_pdf_leaves_it_out(rendered):
    """The sigmoid fails A1: no linearisation has a computed correction, so, as in the PDF, no mean-field
    paragraph or table."""
    for fmt, marker in (("md", "Why the simulation decays"), ("html", 'id="tab-meanfield"'),
                        ("tex", "tab:meanfield")):
        assert marker not in rendered["failing"][fmt]


def test_the_evidence_rows_are_shown(rendered, docs):
    doc, md, html = docs["glorot"], rendered["glorot"]["md"], rendered["glorot"]["html"]
    evidence = doc.evidence
    assert evidence is not None and len(evidence.rows) == 2
    assert f"**Table 2.** {markdown_text(evidence.caption)}." in md
    assert "| |" + "".join(f" {markdown_text(c)} |" for c in evidence.columns) in md
    for row in evidence.rows:
        assert "|" + "".join(f" {markdown_text(cell)} |" for cell in row) in md
        assert "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" in html
    assert '<p class="note caption" id="tab-evidence"><strong>Table 2.</strong>' in html
    assert "**Table 3.** What the frameworks run" in md and "<strong>Table 3.</strong> What the frameworks run" in html


# --- exercises ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["glorot", "he", "lecun"])
def test_the_exercises_have_their_answers(rendered, docs, case):
    doc, md, html = docs[case], rendered[case]["md"], rendered[case]["html"]
    h = doc.handout
    assert h.exercises and h.numbers
    questions = between(md, "## Exercises", "**Answers.**")
    answers = between(md, "**Answers.**", "\n## ")
    total = len(h.exercises) + len(h.numbers)
    assert re.findall(r"^(\d+)\. ", questions, re.M) == re.findall(r"^(\d+)\. ", answers, re.M) == \
        [str(n) for n in range(1, total + 1)]
    for e in h.exercises:
        assert f"to step {e.given_id}, {md_math(e.given, doc)}: what is step {e.step_id}?" in questions
        assert f"{md_math(e.answer, doc)} (step {e.step_id})." in answers
    for e in h.numbers:
        assert markdown_inline(f"{latex(e.name, doc.notation)} = {latex(e.formula, doc.notation)} = "
                               f"{e.value:.4f}") in answers
    html_answers = between(html, '<ol class="answers">', "</ol>")
    assert html_answers.count("<li>") == total and between(html, '<ol class="exercises">', "</ol>").count("<li>") == total
    for e in h.exercises:
        assert f"{html_math(e.answer, doc)} (step <a href=\"#{e.step_id}\">{e.step_id}</a>)." in html_answers
    assert all(f"<mn>{e.value:.4f}</mn>" in html_answers for e in h.numbers)


# --- a failing document and the verification record -----------------------------------------------------------

def test_a_failing_document_marks_what_is_not_established(rendered, docs):
    doc, md, html = docs["failing"], rendered["failing"]["md"], rendered["failing"]["html"]
    h = doc.handout
    assert not doc.ok and not any(r.ok for r in doc.results) and not any(s.ok for s in h.statements)
    theorem = between(md, "**Theorem.**", "*Verified* means")
    assert "✗ fails for this $`f`$" in theorem
    assert theorem.count("✗ not established") == len(h.statements)
    assert theorem.count(r"&& \text{not established}") == len(doc.results)
    assert "✗ No result is established" in theorem and "✓" not in theorem
    remember = between(md, "## What to remember", "\n## ")
    assert remember.count("✗ not established") == len(h.summaries) + len(h.statements) + len(doc.results)
    box = between(html, '<div class="box theorem">', "<em>Verified</em> means")
    assert box.count("✗ not established") == len(h.statements) + len(doc.results) and "✓" not in box
    remember_box = between(html, "<h2>What to remember</h2>", "</div>")
    assert remember_box.count("✗ not established") == len(h.summaries) + len(h.statements) + len(doc.results)
    # the full record, each step's verdict
    record = between(md, "## Verification record", "| step |")
    assert "| step | rule | assumptions | verdict |" in md.split("## Verification record", 1)[1]
    assert "13 of 18 steps verified" in record
    assert html.split("<h2>Verification record</h2>", 1)[1].count("<tr>") == 1 + doc.total


def test_a_verified_document_has_the_compact_record(rendered, docs):
    doc, md, html = docs["glorot"], rendered["glorot"]["md"], rendered["glorot"]["html"]
    record = md.split("## Verification record", 1)[1]
    assert "| step |" not in record and "✗" not in record
    for section in doc.sections:
        assert f"✓ {section.title}: {', '.join(line.step_id for line in section.lines)} verified." in record
    html_record = html.split("<h2>Verification record</h2>", 1)[1]
    assert "<table>" not in html_record and html_record.count('<span class="ok">✓</span>') == len(doc.sections)
    assert "not established" not in md and "not established" not in html
