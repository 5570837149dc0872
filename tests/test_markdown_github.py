"""The Markdown document read by a real CommonMark parser (markdown-it-py): every formula reaches GitHub's
MathJax intact, in the two forms GitHub documents ($`...`$ inline, ```math blocks), and prose from the
derivation file stays text: no emphasis, HTML, links or TeX made from it.

`problems` is the check; it takes the rendered text and the mathematics the renderer produced (recorded at
the filters), so it can be pointed at any template."""

from __future__ import annotations

import functools
import re

import pytest
from markdown_it import MarkdownIt

import derivation.render as render_module
from derivation.document import build
from derivation.kernel.derivation import with_values
from derivation.loader import load, loads
from derivation.render import _typeset_row, crosscheck_records, meanfield_table, render_text
from derivation.typeset import markdown_math
from derivation.verify import verify

from conftest import ARITIES, GLOROT_TEXT, replace_field

# prose a careless Markdown writer turns into emphasis, a link, HTML and escapes
HOSTILE = r"snake_case_name, *stars* and __dunder__, back\slash, <b>bold</b>, [x](y), ![i](j) and a | pipe"
TEMPLATE_CODE = {"derivation", "--slope", "python -m derivation crosscheck", "python -m derivation simulate",
                 "python -m derivation quiz", "frameworks.toml"}
TEX_COMMAND = re.compile(r"\\(?:[A-Za-z]+|[,!;:])")
FIGURES = ("simulate_one_activations", "simulate_one_gradients")


def hostile_derivation():
    text = replace_field(GLOROT_TEXT, "F2", "note", HOSTILE)
    text = replace_field(text, "B3", "note", HOSTILE + " (again)")
    toml = HOSTILE.replace("\\", "\\\\")
    text = text.replace('title = "Xavier/Glorot initialisation"', f'title = "Glorot {toml}"')
    text = text.replace('title = "Forward pass"', 'title = "Forward *pass* _here_"')
    derivation = loads(text, "hostile.toml", ARITIES, name="hostile")
    assert HOSTILE in derivation.title and derivation.steps[2].note == HOSTILE
    return derivation


def builtin(name: str):
    d = load(name, ARITIES)
    return d if d.slope is None else with_values(d, {d.namespace.symbols[d.slope]: 0})


@functools.lru_cache(maxsize=None)
def practice_for(activation: str | None) -> dict:
    """An 'In practice' section as render builds it for a document of this activation: the recomputed
    cross-check, the mean-field table beside the simulation, and two figures (none without an activation)."""
    if activation is None:
        return {}
    return {"crosscheck": [_typeset_row(r) for r in crosscheck_records()], "figures": list(FIGURES),
            "images": {}, "meanfield": meanfield_table(activation, simulated=True)}


@pytest.fixture(scope="module")
def practice():
    return practice_for("tanh")


# the activation whose simulation each case's document shows (lecun: none, the sections without it)
ACTIVATION = {"glorot": "tanh", "he": "relu", "lecun": None, "failing": "sigmoid", "hostile": "tanh"}
CASES = {
    "glorot": lambda: verify(builtin("glorot")),
    "he": lambda: verify(builtin("he")),
    "lecun": lambda: verify(builtin("lecun")),
    "failing": lambda: verify(builtin("glorot"), "sigmoid"),
    "hostile": lambda: verify(hostile_derivation()),
}


def render_recording(doc, extra, monkeypatch):
    """The Markdown, and the inline formulas and display blocks the filters produced, in order."""
    inline, blocks = [], []

    def spy(function, into, transform):
        def wrapped(*args):
            out = function(*args)
            into.append(transform(args, out))
            return out
        return wrapped

    monkeypatch.setattr(render_module, "markdown_inline",
                        spy(render_module.markdown_inline, inline, lambda args, out: markdown_math(args[0])))
    for name in ("markdown_chain", "markdown_results"):
        monkeypatch.setattr(render_module, name, spy(getattr(render_module, name), blocks, lambda args, out: out))
    return render_text(doc, "md", extra), inline, blocks


def _spans(children, opening: str):
    """The text inside each ``opening`` ... close pair of an inline token's children (code spans included)."""
    closing, out, depth, current = opening.replace("_open", "_close"), [], 0, []
    for child in children:
        if child.type == opening:
            depth, current = depth + 1, []
        elif child.type == closing:
            depth -= 1
            out.append("".join(current))
        elif depth and child.type in ("text", "code_inline"):
            current.append(child.content)
        elif depth and child.type in ("softbreak", "hardbreak"):
            current.append(" ")
    return out


def problems(markdown: str, inline: list[str], blocks: list[str], strong: list[str], em_count: int,
             images: list[str] = (), prose: str | None = None) -> list[str]:
    """What is wrong with ``markdown`` as CommonMark reads it, given the LaTeX of each inline formula and each
    display block the renderer produced (in order), the bold spans the template means (in order), the number
    of italic spans it means, the images it links, and prose that must come through as plain text."""
    found = []
    tokens = MarkdownIt("commonmark").parse(markdown)
    fences = [t for t in tokens if t.type == "fence"]
    if [t.info for t in fences] != ["math"] * len(fences):
        found.append(f"a fence that is not ```math: {[t.info for t in fences]}")
    if [t.content for t in fences] != [b + "\n" for b in blocks]:
        found.append(f"display blocks changed or lost: {len(fences)} fences for {len(blocks)} blocks")
    found += [f"{t.type} from the document: {t.content[:80]!r}" for t in tokens
              if t.type in ("html_block", "code_block")]
    math, strongs, ems, pictures, texts = [], [], 0, [], []
    for block in (t for t in tokens if t.type == "inline"):
        children = block.children or []
        for position, child in enumerate(children):
            before = children[position - 1] if position else None
            after = children[position + 1] if position + 1 < len(children) else None
            if child.type == "code_inline":
                if before is not None and before.type == "text" and before.content.endswith("$") \
                        and after is not None and after.type == "text" and after.content.startswith("$"):
                    math.append(child.content)
                elif child.content not in TEMPLATE_CODE:
                    found.append(f"a code span that is neither math nor the template's: {child.content!r}")
            elif child.type == "text":
                texts.append(child.content)
                if "\\," in child.content or "\\!" in child.content:
                    found.append(f"TeX spacing outside math: {child.content[:80]!r}")
                tex = TEX_COMMAND.search(child.content.replace(prose, "") if prose else child.content)
                if tex:
                    found.append(f"TeX outside math: {tex.group(0)!r} in {child.content[:80]!r}")
            elif child.type in ("html_inline", "link_open"):
                found.append(f"{child.type} from the document: {child.content or child.attrs}")
            elif child.type == "image":
                pictures.append(child.attrs.get("src"))
        strongs += _spans(children, "strong_open")
        ems += len(_spans(children, "em_open"))
    if math != inline:
        missing = next((x for x, y in zip(inline, math + [None] * len(inline)) if x != y), None)
        found.append(f"inline math changed or lost ({len(math)} spans for {len(inline)} formulas); "
                     f"first difference: {missing!r}")
    if strongs != list(strong):
        found.append(f"bold the template does not mean: {[s for s in strongs if s not in strong][:3]} "
                     f"(or missing: {[s for s in strong if s not in strongs][:3]})")
    if ems != em_count:
        found.append(f"{ems} italic spans where the template means {em_count}")
    if pictures != list(images):
        found.append(f"images {pictures}, expected {list(images)}")
    if prose is not None and sum(t.count(prose) for t in texts) < 1:
        found.append(f"the prose {prose!r} does not come through as text")
    return found


def shown_meanfield(doc, extra) -> bool:
    """Whether the template shows the mean-field paragraph and table (as the PDF: a rectifier's, or beside a
    linearisation whose correction is computed)."""
    meanfield = extra.get("meanfield")
    return bool(meanfield) and (meanfield["rectifier"] or any(a.corrections for a in doc.handout.approximations))


def intended(doc, extra) -> tuple[list[str], int]:
    """The bold spans the template writes (in order) and the number of italic ones, from the document."""
    h = doc.handout
    lines = [line for section in doc.sections for line in section.lines]
    strong = ["Not verified."] if not doc.ok else []
    strong += ["Theorem."] + [a.id for a in h.hypotheses]
    strong += ["The indices."] if h.network else []
    strong += [f"{a.id} ({a.title})." for a in doc.assumptions]
    for line in lines:
        strong += [line.step_id] + ([] if line.ok else [f"Not verified ({line.verdict_text})."])
    meanfield = shown_meanfield(doc, extra)
    tables = [meanfield, doc.evidence is not None, bool(extra.get("crosscheck"))]
    if meanfield:
        strong.append("Predictions." if extra["meanfield"]["rectifier"] else "Why the simulation decays.")
    strong += [f"Table {n}." for n in range(1, sum(tables) + 1)]
    strong += [f"Figure {n}." for n in range(1, len(extra.get("figures", ())) + 1)]
    strong += ["Answers."] if h.exercises or h.numbers else []
    approximations = {a.step_id for a in h.approximations}
    em = (1 + 1 + len(doc.assumptions)                      # byline, "Verified" means, each assumption's check
          + sum(1 for line in lines if line.without and line.ok)                     # "Without its assumptions"
          + sum(1 for line in lines if line.ok and line.step_id in approximations)   # "The approximation"
          + 2 * meanfield + len(extra.get("figures", ())) + len(h.exercises))       # table blocks, captions, rules
    return strong, em


@pytest.mark.parametrize("case", list(CASES))
def test_markdown_reads_as_intended_in_commonmark(case, monkeypatch):
    doc = build(CASES[case]())
    extra = practice_for(ACTIVATION[case])
    markdown, inline, blocks = render_recording(doc, extra, monkeypatch)
    assert len(inline) > 20 and len(blocks) == len(doc.sections) + 1          # a chain per section, the results
    strong, em = intended(doc, extra)
    images = [f"{name}.png" for name in extra.get("figures", ())]
    found = problems(markdown, inline, blocks, strong, em, images, HOSTILE if case == "hostile" else None)
    assert found == [], "\n".join(found)


def test_every_section_of_the_pdf_is_there(practice, monkeypatch):
    doc = build(CASES["glorot"]())
    markdown, _, _ = render_recording(doc, practice, monkeypatch)
    tokens = MarkdownIt("commonmark").parse(markdown)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]
    assert headings == ["Notation", "Assumptions", *(s.title for s in doc.sections), "What to remember", "In practice",
                        "Exercises", "Rules used", "Verification record"]
    assert "equals the derivation" in markdown and "xavier\\_uniform\\_" in markdown


def test_a_failed_step_is_marked_in_its_chain(monkeypatch):
    doc = build(CASES["failing"]())
    markdown, _, blocks = render_recording(doc, {}, monkeypatch)
    forward = blocks[1]                                              # after the theorem's results
    assert r"&\approx" in forward and r"\text{(F1) not verified}" in forward
    assert r"\text{(F4) not verified} \\" + "\n&= " in forward and r"\text{(F4) what the rule derives}" in forward
    assert "\\tag" not in markdown


def test_math_and_link_targets_are_made_safe_to_carry():
    from derivation.escape import markdown_url
    from derivation.typeset import markdown_aligned, markdown_inline
    assert markdown_inline(r"\left|x\right| < y") == r"$`\left\vert x\right\vert  \lt  y`$"
    assert "`" not in markdown_inline("a`b")[2:-2] and "$" not in markdown_inline("a$b")[2:-2].replace(r"\$", "")
    assert markdown_aligned([("a", "=", "b", "(S1)"), ("", r"\qquad", "{}+ c", "")]) == (
        "\\begin{aligned}\na &= b && \\text{(S1)} \\\\\n&\\qquad {}+ c\n\\end{aligned}")
    assert markdown_url("fig one(2).png") == "fig%20one%282%29.png"
    assert markdown_url("javascript:x") == "javascript%3Ax" and markdown_url("σ") == "%CF%83"
