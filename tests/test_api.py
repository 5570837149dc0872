"""The Python API (derivation.load / loads / verify / render, the Report and Step objects, their displays)."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp

import derivation
from derivation import api
from derivation.kernel.check import StepResult, Verification

from conftest import GLOROT_TEXT, replace_field

STEP_IDS = ["F0", "F1", "F2", "F3", "F4", "F5", "F6", "B0", "B1", "B2", "B3", "B4", "B5", "B6", "D1", "D2", "D3", "D4"]


@pytest.fixture(scope="module")
def glorot():
    return derivation.verify("glorot")


@pytest.fixture(scope="module")
def sigmoid():
    return derivation.verify("glorot", activation="sigmoid")


@pytest.fixture(scope="module")
def three():
    """Glorot with D1 claiming 3/(n_i + n_{i+1}): refuted, with a counterexample."""
    text = replace_field(GLOROT_TEXT, "D1", "claim", "Var[W[i]] == 3/(n[i] + n[i+1])")
    return derivation.verify(derivation.loads(text, name="glorot_3"))


def test_the_docstring_examples_hold():
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    failures, tried = doctest.testmod(api, optionflags=flags)
    assert tried > 10 and failures == 0


def test_import_derivation_stays_light():
    """The API is imported on first use: `import derivation` loads neither it nor SymPy."""
    code = ("import sys, derivation; "
            "print(sorted(m for m in ('sympy', 'derivation.api', 'derivation.verify') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]"
    code = "import derivation; derivation.verify; import sys; print('derivation.api' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False"          # the engine module, made callable; the API only when called


def test_the_package_names_the_api():
    assert {"load", "loads", "verify", "render", "source", "Report", "Step", "DerivationError"} <= set(dir(derivation))
    assert derivation.load is api.load and derivation.Report is api.Report
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        derivation.nonesuch  # noqa: B018


def test_verify_and_render_are_both_the_modules_and_the_functions():
    import derivation.render as renderer
    import derivation.verify as engine
    assert engine is sys.modules["derivation.verify"] and callable(engine) and engine.subjects
    assert renderer is sys.modules["derivation.render"] and callable(renderer) and renderer.render_text
    assert derivation.verify is engine and derivation.render is renderer
    from derivation.verify import verify as core
    assert not isinstance(core, type(sys))                   # the engine's own function is untouched
    assert derivation.verify("glorot").ok


def test_a_report_has_the_steps_results_and_assumptions(glorot):
    assert glorot.ok and glorot.verified == glorot.total == 18 and not glorot.error
    assert isinstance(glorot.verification, Verification)
    assert [s.id for s in glorot.steps] == STEP_IDS
    assert glorot.name == "glorot" and glorot.title == "Xavier/Glorot initialisation"
    assert glorot.activation == sp.tanh(sp.Symbol("x", real=True)) and glorot.activation_name == "tanh"
    assert glorot.failures == ()
    assert [(a.id, a.holds, a.checked) for a in glorot.assumptions] == [("A1", True, True), ("A2", None, False),
                                                                        ("A3", None, False)]
    assert "f(-x) + f(x) = 0" in glorot.assumption("A1").evidence
    assert [(r.step_id, r.established) for r in glorot.results] == [("D1", True), ("D2", True), ("D4", True)]
    n, i = glorot.symbol("n"), glorot.symbol("i")
    assert glorot.results[0].equation == glorot.step("D1").claimed
    assert glorot.results[0].equation.rhs == 2 / (n[i] + n[i + 1])
    assert glorot.results[-1].notes[0].startswith("a compromise")


def test_a_step_carries_sympy_objects(glorot):
    f1, f5 = glorot.step("F1"), glorot["F5"]
    assert (f1.rule, f1.relation, f1.label, f1.verdict, f1.ok) == ("linearisation", "≈", "to first order",
                                                                    "verified", True)
    assert f1.uses == ("A1", "A2", "A3") and f1.section == "Forward pass"
    assert isinstance(f5.claimed, sp.Expr) and isinstance(f5.derived, sp.Expr)
    assert sp.simplify(f5.claimed - f5.derived) == 0
    n, i = glorot.symbol("n"), glorot.symbol("i")
    assert n[i] in f5.derived.free_symbols
    assert isinstance(f5.step_result, StepResult) and f5.report is glorot
    d1 = glorot.step("D1")
    assert isinstance(d1.claimed, sp.Equality) and d1.inputs == ("F6", "B6") and d1.counterexample is None
    assert repr(d1) == "<step D1 (harmonic averaging): verified>"
    with pytest.raises(KeyError, match="no step 'Z9'"):
        glorot.step("Z9")
    with pytest.raises(KeyError, match="no declared name 'q'"):
        glorot.symbol("q")


def test_a_refuted_claim(three):
    assert not three.ok and [s.id for s in three.failures] == ["D1"]
    d1 = three.step("D1")
    assert d1.verdict == "wrong" and not d1.ok
    n, i = three.symbol("n"), three.symbol("i")
    assert d1.claimed.rhs == 3 / (n[i] + n[i + 1]) and d1.derived.rhs == 2 / (n[i] + n[i + 1])
    assert d1.counterexample == "n[i] = 7, n[i + 1] = 1: claimed 3/8, derived 1/4"
    assert [(r.step_id, r.established) for r in three.results] == [("D1", False), ("D2", False), ("D4", False)]


def test_the_sigmoid_as_the_command_line_has_it(sigmoid):
    assert not sigmoid.ok and sigmoid.assumption("A1").holds is False
    assert sigmoid.step("F1").verdict == "assumption" and "A1 fails for sigmoid" in sigmoid.step("F1").message
    assert sigmoid.step("F4").verdict == "wrong"
    core = json.loads(subprocess.run([sys.executable, "-m", "derivation", "verify", "--activation", "sigmoid",
                                      "--json"], capture_output=True, text=True, timeout=300).stdout)
    assert [(s["id"], s["verdict"]) for s in core["steps"]] == [(s.id, s.verdict) for s in sigmoid.steps]
    assert json.loads(sigmoid.json())["steps"] == core["steps"]
    assert sigmoid.text().startswith("Xavier/Glorot initialisation")


def test_an_activation_chosen_when_loading_is_checked_as_the_command_line_checks_it():
    """He's assumptions are about a rectifier; an --activation given explicitly is also checked for A1."""
    he = derivation.load("he", activation="tanh")
    assert he.activation == he.chosen_activation == "tanh"
    chosen = derivation.verify(he)
    assert chosen.verification.activation is not None and not chosen.ok
    assert derivation.verify("he").verification.activation is None
    assert [s.verdict for s in derivation.verify("he", activation="tanh").steps] == [s.verdict for s in chosen.steps]
    assert derivation.verify(derivation.load("glorot"), activation="sigmoid").step("F1").verdict == "assumption"


@pytest.mark.parametrize("slope", [0.01, "0.01", "1/100", Fraction(1, 100), sp.Rational(1, 100)])
def test_a_slope_in_any_exact_form(slope):
    he = derivation.load("he", slope=slope)
    assert list(he.values.values()) == [sp.Rational(1, 100)]


def test_slope_zero_symbolic_and_refused():
    assert list(derivation.load("he").values.values()) == [0]
    assert derivation.load("he", slope="symbolic").values == {}
    alpha = derivation.load("he", slope="symbolic").namespace.symbols["alpha"]
    assert alpha in derivation.verify("he", slope="symbolic").results[0].equation.free_symbols
    for bad in (True, float("nan"), "x", "sqrt(2)", [1]):
        with pytest.raises(derivation.DerivationError, match=r"^he\.toml: --slope: "):
            derivation.load("he", slope=bad)
    with pytest.raises(derivation.DerivationError, match="no slope parameter"):
        derivation.load("glorot", slope=0.1)
    with pytest.raises(derivation.DerivationError, match="set it when loading"):
        derivation.verify(derivation.load("he"), slope=0.1)


@pytest.mark.parametrize("arguments, call", [
    (["verify", "glorrot"], lambda: derivation.load("glorrot")),
    (["verify", "he", "--slope", "x"], lambda: derivation.verify("he", slope="x")),
    (["verify", "--activation", "foo("], lambda: derivation.verify("glorot", activation="foo(")),
    (["verify", "glorot", "--slope", "0.1"], lambda: derivation.load("glorot", slope=0.1)),
])
def test_errors_carry_the_command_lines_message(arguments, call):
    done = subprocess.run([sys.executable, "-m", "derivation", *arguments], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    with pytest.raises(derivation.DerivationError) as raised:
        call()
    assert done.stderr.strip() == f"derivation: error: {raised.value}"
    assert isinstance(raised.value, ValueError) and raised.value.__cause__ is None


def test_load_errors_say_where(tmp_path):
    with pytest.raises(derivation.DerivationError) as raised:
        derivation.loads('title = "x"\n[symbols]\n', path="mine.toml")
    assert raised.value.path == "mine.toml" and str(raised.value).startswith("mine.toml: ")
    with pytest.raises(derivation.DerivationError, match="not valid TOML"):
        derivation.loads("= nonsense")
    bad = replace_field(GLOROT_TEXT, "F3", "claim", "Sum(__import__('os'), (j, 1, n[i]))")
    with pytest.raises(derivation.DerivationError) as raised:
        derivation.loads(bad, path="evil.toml")
    assert raised.value.where == "step F3" and "column" in str(raised.value)
    with pytest.raises(TypeError):
        derivation.verify(42)
    with pytest.raises(TypeError):
        derivation.loads(b"bytes")
    with pytest.raises(TypeError):
        derivation.load("glorot", activation=sp.Symbol("x"))


def test_load_a_file_by_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GLOROT_TEXT, encoding="utf-8")
    for given in (path, str(path)):
        loaded = derivation.load(given)
        assert loaded.name == "mine" and loaded.path == str(path) and len(loaded.steps) == 18
    assert derivation.verify(path).ok
    assert derivation.source(path) == GLOROT_TEXT
    assert repr(derivation.load("glorot")) == "<derivation 'glorot' (glorot.toml): 18 steps, activation tanh>"


def test_html_display_of_a_report(glorot, three):
    html = glorot._repr_html_()
    assert html.startswith('<div class="dv-report"><style>') and "<script" not in html.lower()
    assert html.count("✓ verified") == 18 and "✗" not in html and "18 of 18 steps verified" in html
    assert html.count('<table class="dv-table">') == 4 and "<caption>Backward pass</caption>" in html
    assert html.count("✓ established") == 3 and 'xmlns="http://www.w3.org/1998/Math/MathML"' in html
    bad = three._repr_html_()
    assert bad.count("✓ verified") == 17 and "✗ wrong" in bad and "rule derives" in bad
    assert "counterexample: n[i] = 7, n[i + 1] = 1: claimed 3/8, derived 1/4" in bad
    assert bad.count("✗ not established") == 3 and "17 of 18 steps verified" in bad


def test_markdown_and_text_displays(glorot, three):
    markdown = glorot._repr_markdown_()
    assert "✓ 18 of 18 steps verified" in markdown and markdown.count("| ✓ verified |") == 18
    assert r"$\operatorname{Var}" in markdown and "<" not in markdown.replace("&lt;", "")
    assert "| | rule derives |" in three._repr_markdown_()
    assert repr(glorot) == "<verification of 'glorot': 18/18 steps verified>"
    assert repr(three) == "<verification of 'glorot_3': 17/18 steps verified, NOT verified>"
    printed = []

    class Printer:
        text = printed.append
    glorot._repr_pretty_(Printer(), False)
    assert printed == [glorot.text()] and "18/18 steps verified" in printed[0]


def test_a_step_displays_itself(glorot, three):
    html = glorot.step("F3")._repr_html_()
    assert "<caption>F3 in Xavier/Glorot initialisation: Forward pass</caption>" in html
    assert "from F2" in html and "✓ verified" in html and "independent" in html     # its note
    bad = three.step("D1")._repr_html_()
    assert "from F6" in bad and "from B6" in bad and "✗ wrong" in bad and "rule derives" in bad
    assert "| **D1** |" in three.step("D1")._repr_markdown_()
    assert "start" in glorot.step("F0")._repr_html_()


def test_text_from_a_derivation_file_is_escaped():
    hostile = "<script>alert(1)</script> & <b>bold</b>"
    text = GLOROT_TEXT.replace('title = "Xavier/Glorot initialisation"', f'title = "{hostile}"')
    text = text.replace('title = "Forward pass"', 'title = "<img src=x onerror=alert(2)>"')
    text = replace_field(text, "F3", "note", "a note with <iframe> and `n[i]`")
    report = derivation.verify(derivation.loads(text, path="<hostile>"))
    for html in (report._repr_html_(), report.step("F3")._repr_html_()):
        assert "<script" not in html and "<img" not in html and "<iframe" not in html and "<b>" not in html
    html = report._repr_html_()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html and "&lt;hostile&gt;" in html
    assert "&lt;iframe&gt;" in report.step("F3")._repr_html_()
    markdown = report._repr_markdown_()
    assert "<script" not in markdown and "<img" not in markdown and "&lt;script&gt;" in markdown


def test_render_documents(glorot, three, tmp_path):
    html = derivation.render(glorot)
    assert html.startswith("<!DOCTYPE html>") and html == glorot.render("html")
    assert "Xavier/Glorot" in derivation.render("glorot", "md") and "\\begin{document}" in glorot.render("tex")
    with pytest.raises(derivation.DerivationError, match="does not verify"):
        derivation.render(three)
    assert "Not verified" in derivation.render(three, allow_unverified=True)
    with pytest.raises(derivation.DerivationError, match="give out="):
        derivation.render(glorot, "pdf")
    with pytest.raises(derivation.DerivationError, match="choose one of"):
        derivation.render(glorot, "docx")
    written = derivation.render("he", "md", tmp_path, slope=0.01)
    assert written == tmp_path / "he.md" and written.read_text(encoding="utf-8").startswith("#")
    with pytest.raises(TypeError):
        derivation.render(glorot, activation="relu")


def test_the_readme_example_runs():
    import re
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API and notebooks"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    names: dict = {}
    exec(compile(block, "README.md", "exec"), names)       # our own documentation, run as a user would
    assert names["report"].ok and not names["bad"].ok
