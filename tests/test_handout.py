"""The handout (issue 12): a theorem typeset from verified results, honest approximations with their computed
correction, the figure's labels from the definitions, exercises from the quiz's bank, the paper's anchors,
the He/LeCun documents' numbering, and a layout that strands neither headings nor chains."""

import re
import shutil
import subprocess

import pytest
import sympy as sp

from derivation import handout
from derivation.document import build
from derivation.kernel import terms as v
from derivation.kernel.derivation import with_values
from derivation.kernel.rules import RULES
from derivation.loader import LoadError, load, loads
from derivation.parser import parse
from derivation.quiz import _next_step_questions
from derivation.render import meanfield_table, render, render_text, simulated_activation
from derivation.verify import verify

from conftest import ARITIES, GLOROT_TEXT

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is None,
                               reason="pdflatex/pdftotext not installed")


def builtin(name):
    d = load(name, ARITIES)
    return verify(d if d.slope is None else with_values(d, {d.namespace.symbols[d.slope]: sp.Integer(0)}))


def shown(verification):
    return {s.id: parse(s.claim_text, verification.derivation.namespace, display=True)
            for s in verification.derivation.steps}


@pytest.fixture(scope="module")
def glorot_handout(glorot_result):
    return handout.build(glorot_result, shown(glorot_result))


def test_summary_prose_is_never_typeset_the_theorem_comes_from_the_results():
    """A summary claiming 3/(n_i + n_{i+1}) is prose, never checked: it must not reach the page, while the
    theorem states the D1 that the kernel verified, 2/(n_i + n_{i+1})."""
    text = GLOROT_TEXT.replace("`Var[W[i]] == 2/(n[i] + n[i+1])`", "`Var[W[i]] == 3/(n[i] + n[i+1])`")
    assert "3/(n[i] + n[i+1])" in text
    result = verify(loads(text, "summary.toml", ARITIES, name="summary"))
    assert result.ok
    tex = render_text(build(result), "tex")
    theorem = tex[tex.index(r"\textbf{Theorem.}"):tex.index(r"\textit{Verified} means")]
    assert r"\frac{2}{n_{i} + n_{i + 1}}" in theorem
    assert r"\frac{3}" not in tex


def test_hypotheses_are_marked_approximate_only_where_the_derivation_linearises(glorot_handout):
    """A1 (the activation) is cited only by the linearisations F1 and B1, which are ≈: it is a hypothesis of the
    approximation. A2 and A3 are cited by exact steps too."""
    kinds = {h.id: (h.approximate, h.steps) for h in glorot_handout.hypotheses}
    assert kinds["A1"] == (True, ("F1", "B1"))
    assert kinds["A2"][0] is False and kinds["A3"][0] is False
    assert {s.step_id: s.kind for s in glorot_handout.statements} == {"F6": "requirement", "B6": "requirement"}


@pytest.mark.parametrize("activation, c3", [("tanh", -2), ("sin(x)", -1), ("x - x**3/6 + x**5", -1),
                                            ("identity", 0)])
def test_the_correction_term_is_computed_from_the_activation(activation, c3):
    """Var[f(s)] = v + f'''(0) v^2 + O(v^3) and E[f'(s)^2] = 1 + f'''(0) v + O(v^2) for odd f with f'(0) = 1:
    the third derivative at 0 is the kernel's, computed for each activation (tanh: -2, sin: -1)."""
    from conftest import verify_with
    result = verify_with("F0", "Var[f(Sum(z[i, j]*W[i, j, k], (j, 1, n[i])) + b[i, k])]", activation)
    x = sp.Symbol("x")
    assert c3 == sp.diff({"tanh": sp.tanh(x), "identity": x}.get(activation, None) or parse_x(activation), x, 3).subs(x, 0)
    approximations = handout.build(result, shown(result)).approximations
    assert [a.step_id for a in approximations] == ["F1", "B1"]
    s = sp.IndexedBase("s")[sp.Symbol("i", integer=True), sp.Symbol("k", integer=True)]
    forward, backward = (a.corrections[0] for a in approximations)
    variance = forward.left.args[0].args[0]
    assert isinstance(forward.left, v.Var) and variance.base.name == "s"       # folded back to s[i, k]
    O = sp.Function("O")
    scale = v.Var(variance)
    assert sp.simplify(forward.right - (scale + c3 * scale**2 + O(scale**3))) == 0
    assert sp.simplify(backward.right - (1 + c3 * scale + O(scale**2))) == 0
    assert all(a.c3 == c3 for a in approximations)
    del s


def parse_x(text):
    from derivation.activations import activation_expr
    return activation_expr(text)[1].subs(activation_expr("identity")[1], sp.Symbol("x"))


def test_the_figure_is_labelled_from_the_definitions(glorot_handout):
    net = glorot_handout.network
    i, j, k = (sp.Symbol(n, integer=True) for n in "ijk")
    assert (str(net.inputs), str(net.weight), str(net.pre), str(net.gradient)) == \
        ("z[i, j]", "W[i, j, k]", "s[i, k]", "g[i, k]")
    assert str(net.first) == "z[i, 1]" and str(net.last) == "z[i, n[i]]" and str(net.width) == "n[i]"
    renamed = GLOROT_TEXT.replace("z[", "h[").replace("z =", "h =").replace("`z", "`h").replace('"z"', '"h"')
    result = verify(loads(renamed, "renamed.toml", ARITIES, name="renamed"))
    assert str(handout.network(result.derivation).inputs) == "h[i, j]"
    assert handout.network(builtin("lecun").derivation).gradient is None          # LeCun has no gradient family
    assert handout.network(builtin("attention").derivation) is None              # no layer: no figure
    assert handout.network(builtin("glorot_conv").derivation) is None            # three sums: no figure


def test_exercises_are_the_quiz_banks_questions_with_its_answers(glorot_result, glorot_handout):
    """Each exercise's answer is the solution the quiz's next-step question for that step expects."""
    solutions = {q.tag.strip("[]"): q.solution for q in _next_step_questions(glorot_result)}
    from derivation.printing import plain
    assert [e.step_id for e in glorot_handout.exercises] == ["F1", "F6", "B1", "B6"]
    for e in glorot_handout.exercises:
        assert sp.simplify(parse(solutions[e.step_id], glorot_result.derivation.namespace)
                           - parse(plain(e.answer), glorot_result.derivation.namespace)) == 0 \
            if not isinstance(e.answer, sp.Equality) else plain(e.answer) == solutions[e.step_id]
    numbers = {str(e.name): e.value for e in glorot_handout.numbers}
    assert numbers == pytest.approx({"sigma": (2 / (784 + 1000)) ** 0.5, "a": (6 / (784 + 1000)) ** 0.5})


def test_section_summaries_state_each_chain_in_one_line(glorot_handout):
    summaries = {s.section: (s.relation, s.steps) for s in glorot_handout.summaries}
    assert summaries == {"Forward pass": ("≈", ("F0", "F5")), "Backward pass": ("≈", ("B0", "B5"))}


def test_the_papers_equation_numbers_and_table(glorot_result):
    tex = render_text(build(glorot_result), "tex")
    for step, number in (("F6", "10"), ("B6", "11"), ("D1", "12"), ("D4", "16")):
        assert re.search(rf"\\textbf{{{step}}}[^\n]*the paper's eq.~\({number}\)", tex), step
    assert "27.15" in tex and "15.60" in tex and "Table 1" not in tex.split("tab:evidence")[0][-10:]
    assert "equations 10 to 16" not in tex


@pytest.mark.parametrize("field, value, message", [
    ("paper", '"10; \\\\input"', "field 'paper' must be an equation number"),
])
def test_bad_paper_field_is_refused(field, value, message):
    text = GLOROT_TEXT.replace('paper = "10"', f"{field} = {value}")
    with pytest.raises(LoadError, match=re.escape(message)):
        loads(text, "bad.toml", ARITIES)


def test_bad_evidence_is_refused():
    text = GLOROT_TEXT.replace('["tanh, standard init", "27.15", "1.76", "55.9", "70.58"]',
                               '["tanh, standard init", "27.15"]')
    with pytest.raises(LoadError, match="row 1 has 2 cells"):
        loads(text, "bad.toml", ARITIES)


def test_old_files_without_the_new_fields_still_load():
    text = re.sub(r'(?m)^paper = "\d+"\n', "", GLOROT_TEXT)
    text = text[:text.index("[evidence]")] + text[text.index("[symbols]"):]
    d = loads(text, "old.toml", ARITIES)
    assert d.evidence is None and all(s.paper == "" for s in d.steps) and verify(d).ok


@pytest.mark.parametrize("name", ["glorot", "he", "lecun", "he_fanout", "he_conv", "glorot_conv"])
def test_numbering_is_continuous(name):
    """Assumptions A1..An, and each step prefix (F, B, D, H, ...) numbered without gaps from 0 or 1."""
    d = load(name, ARITIES)
    assert list(d.assumptions) == [f"A{n}" for n in range(1, len(d.assumptions) + 1)]
    prefixes = {}
    for step in d.steps:
        prefix, number = re.fullmatch(r"([A-Z]+)(\d+)", step.id).groups()
        prefixes.setdefault(prefix, []).append(int(number))
    for prefix, numbers in prefixes.items():
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))) and numbers[0] in (0, 1), prefix


def test_he_document_states_its_own_activation_and_rules():
    result = builtin("he")
    doc = build(result)
    tex = render_text(doc, "tex")
    assert "None" not in tex
    assert r"Checked for $f(x) = \max\left(0, x\right)$" in tex or "Checked for $f(x) = " in tex
    forward = RULES["forward condition"].formula + RULES["backward condition"].formula
    assert "== 1" not in forward             # the rules' statements are general, not Glorot's conditions
    assert simulated_activation(result) == "relu" and simulated_activation(builtin("lecun")) == "tanh"
    assert simulated_activation(builtin("attention")) is None


def test_failure_document_marks_what_is_not_established_and_has_no_double_equals(glorot):
    from derivation.kernel.derivation import with_values  # noqa: F401
    from conftest import verify_with
    result = verify_with("D1", "Var[W[i]] == 3/(n[i] + n[i+1])")
    tex = render_text(build(result), "tex")
    theorem = tex[tex.index(r"\textbf{Theorem.}"):tex.index(r"\textit{Verified} means")]
    assert theorem.count("not established") == 3            # D1 and the two results resting on it
    assert not re.search(r"&= \\operatorname\{Var\}\\left\[\\,W\^\{i\}\\,\\right\] =", tex)
    assert r"\operatorname{Var}\left[\,W^{i}\,\right] &= \frac{2}{n_{i + 1} + n_{i}}" in tex     # what D1 derives


def test_failure_messages_are_typeset_from_the_expressions_they_name(glorot):
    """With the sigmoid, F1 fails on A1 and F6 cannot apply to what F5 derives. The page shows A1's computed facts
    (the same ones as under Assumptions, the series in rising powers) and F5's derived expression typeset on a row
    of its own, not the kernel's one-line text with Python's ** in it."""
    result = verify(glorot, "sigmoid")
    lines = {line.step_id: line for section in build(result).sections for line in section.lines}
    f1, f6 = lines["F1"], lines["F6"]
    assert f1.evidence_lead == "assumption A1 fails for sigmoid"
    assert [fact.label for fact in f1.evidence] == ["f(−x) + f(x)", "f(0)", "f′(0)", "f(x)"]
    x = sp.Symbol("x", real=True)
    series = f1.evidence[-1].right
    assert sp.simplify(series.removeO() - (sp.Rational(1, 2) + x / 4 - x**3 / 48)) == 0
    assert [sp.degree(t, x) for t in series.removeO().args] == [0, 1, 3]         # written as a Taylor polynomial
    f5 = next(r for r in result.steps if r.step.id == "F5")
    assert f6.message_tail is not None and sp.simplify(f6.message_tail - f5.derived) == 0
    assert "".join(span.text for span in f6.message_lead).startswith("expected Var[z]")
    tex, md = render_text(build(result), "tex"), render_text(build(result), "md")
    assert "**" not in tex and "x**3" not in md and "E[z[i]]**2" not in md


def test_meanfield_table_is_computed_not_read():
    table = meanfield_table("tanh")
    standard, normalised = table["runs"]
    assert (standard["init"], normalised["init"]) == ("standard", "normalised")
    assert standard["gain"] == sp.Rational(1, 3) and normalised["gain"] == 1
    forward, backward = normalised["forward"], normalised["backward"]
    assert forward["first"] == pytest.approx([1.0] * 5) and backward["first"] == pytest.approx([1.0] * 5)
    assert forward["second"] == pytest.approx([0.394, 0.236, 0.167, 0.128, 0.103], abs=6e-4)   # MATH.md
    assert backward["second"][-1] == 1 and all(b < a for a, b in zip(backward["second"][1:], backward["second"]))
    assert standard["forward"]["first"] == pytest.approx([3.0 ** -layer for layer in range(1, 6)])   # (1/3)^l
    assert forward["third"] is None                                  # simulated only when figures are shown
    relu = meanfield_table("relu")
    assert relu["rectifier"] and [r["init"] for r in relu["runs"]] == ["normalised", "he"]
    for run in relu["runs"]:                         # He's derived map is the mean-field map of ReLU, exactly
        for block in ("forward", "backward"):
            assert run[block]["first"] == pytest.approx(run[block]["second"], rel=1e-9)
    simulated = meanfield_table("tanh", simulated=True)["runs"][1]["forward"]
    assert simulated["third"] == pytest.approx(simulated["second"], rel=0.03)    # the simulation follows it


def test_crosscheck_flags_the_default_that_is_not_the_papers_recommendation():
    from derivation.render import crosscheck_records
    advice = {r["initialiser"]: r["advice"] for r in crosscheck_records()}
    flagged = [name for name, text in advice.items() if text]
    assert flagged == ["nn.Linear default: Var[W] (Glorot's standard init, n Var[W] = 1/3)"]


@needs_tex
@pytest.mark.parametrize("name", ["glorot", "he", "lecun"])
def test_pdf_metadata_and_layout(tmp_path, name):
    """Title, author and subject in the PDF's metadata; no page ends with a heading (stranded) and none starts
    with the continuation of a chain (a bare '=' or '≈' line before any step's note)."""
    result = builtin(name)
    render(result, ["pdf"], tmp_path)
    pdf = tmp_path / f"{name}.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"Title:\s+\S", info) and "Author:" in info and re.search(r"Subject:\s+\S", info)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    headings = {"Notation", "Assumptions", "Forward pass", "Backward pass", "Weight distribution",
                "What to remember", "In practice", "Exercises", "Rules used", "Verification record"}
    for number, page in enumerate(text.split("\f")[:-1], 1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        body = lines[:-1] if lines and lines[-1].isdigit() else lines
        assert body and body[-1] not in headings, f"page {number} ends with the heading {body[-1]!r}"
        assert not body[0].startswith(("=", "≈")), f"page {number} starts inside a chain: {body[0]!r}"
    assert crowded_lines(pdf) == []


_PLAIN_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">[a-z]{4,}</word>')


def crowded_lines(pdf) -> list:
    """Lines of text set closer than 0.9 of their height, measured in the PDF (pdftotext -bbox): the plain words
    of one font size with one top edge are one line; two such lines of one size that share some width must be a
    line apart. (A \\vspace at the start of a paragraph acts after its first line and pulls the second onto it.)"""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True).stdout
    found = []
    for number, page in enumerate(xml.split("<page ")[1:], 1):
        lines: dict[tuple[float, float], list[float]] = {}          # (height, top) -> [left, right]
        for left, top, right, bottom in _PLAIN_WORD.findall(page):
            extent = lines.setdefault((round(float(bottom) - float(top), 1), round(float(top), 1)),
                                      [float(left), float(right)])
            extent[:] = [min(extent[0], float(left)), max(extent[1], float(right))]
        for (height, a), (la, ra) in lines.items():
            found += [(number, height, a, b) for (h, b), (lb, rb) in lines.items()
                      if h == height and 0 < b - a < 0.9 * height and lb < ra and la < rb]
    return found


PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name, shown", [("glorot", ["simulate_tanh_activations", "simulate_tanh_gradients"]),
                                         ("lecun", ["simulate_tanh_activations"]),       # no backward pass
                                         ("he", ["simulate_relu_activations"]),         # forward only
                                         ("attention", [])])                            # no activation
def test_each_document_shows_the_figures_of_its_own_activation(tmp_path, name, shown):
    for activation in ("tanh", "relu", "sigmoid"):
        for kind in ("activations", "gradients"):
            (tmp_path / f"simulate_{activation}_{kind}.png").write_bytes(PNG + b"figure")
            (tmp_path / f"simulate_{activation}_{kind}.pdf").write_bytes(b"%PDF-1.5 figure")
    render(builtin(name), ["tex"], tmp_path)
    tex = (tmp_path / f"{name}.tex").read_text(encoding="utf-8")
    assert re.findall(r"\\includegraphics\[width=\\textwidth\]\{(\w+)\.pdf\}", tex) == shown


def test_a_failing_linearisation_gets_no_decay_story(glorot):
    """With the sigmoid, A1 fails: there is no computed correction, so neither the 'why it decays' paragraph
    nor a linear prediction (which would be tanh's) is printed."""
    from conftest import verify_with
    result = verify_with("F0", "Var[f(Sum(z[i, j]*W[i, j, k], (j, 1, n[i])) + b[i, k])]", "sigmoid")
    assert not result.ok
    tex = render_text(build(result), "tex", {"meanfield": meanfield_table("sigmoid")})
    assert "Why the simulation decays" not in tex and "tab:meanfield" not in tex
