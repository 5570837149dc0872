"""Documents: the real PDF (pdflatex, pdftotext, chktex), Markdown and HTML, safety of prose, atomic output."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from derivation.escape import markdown_text, tex_text
from derivation.loader import loads
from derivation.render import RenderError, TexMissing, compile_pdf, render, render_text
from derivation.document import build
from derivation.verify import WRONG, verify

from conftest import ARITIES, GLOROT_TEXT, replace_field

IN_CI = bool(os.environ.get("CI"))
needs = {tool: pytest.mark.skipif(shutil.which(tool) is None and not IN_CI, reason=f"{tool} not installed")
         for tool in ("pdflatex", "pdftotext", "chktex", "chromium")}
STEP_IDS = ["F0", "F1", "F2", "F3", "F4", "F5", "F6", "B0", "B1", "B2", "B3", "B4", "B5", "B6", "D1", "D2", "D3", "D4"]
HOSTILE = r"Literally \input{/etc/passwd} and \write18{touch PWNED} with a_b, 50% & <script>alert(1)</script>"


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "derivation", *args], capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, glorot_result):
    out = tmp_path_factory.mktemp("render")
    return out, render(glorot_result, ["pdf", "md", "html"], out)


def hostile_verification():
    text = replace_field(GLOROT_TEXT, "F2", "note", HOSTILE)
    text = text.replace('title = "Xavier/Glorot initialisation"', 'title = "Glorot 100% _safe_ & <b>bold</b>"')
    return verify(loads(text, "hostile.toml", ARITIES, name="hostile"))


@needs["pdflatex"]
@needs["pdftotext"]
def test_pdf_has_every_step_and_the_results(rendered):
    out, written = rendered
    pdf = out / "glorot.pdf"
    assert [w.format for w in written] == ["tex", "md", "html", "pdf"]
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    for step in STEP_IDS:
        assert f"({step})" in text, step
    for phrase in ("Theorem", "What to remember", "Exercises", "Forward pass", "Backward pass", "Weight distribution", "Verification record",
                   "18 of 18 steps verified", "harmonic averaging", "uniform bound"):
        assert phrase in text, phrase
    assert "Checked for f (x) = tanh" in text or "Checked for f(x) = tanh" in text


@needs["pdflatex"]
def test_no_overfull_boxes(rendered):
    out, _ = rendered
    log = (out / "glorot.log").read_text(encoding="latin-1")
    assert "Overfull" not in log and "Underfull" not in log


@needs["chktex"]
@pytest.mark.parametrize("which", ["verified", "unverified"])
def test_chktex_reports_nothing(tmp_path, glorot_result, which):
    if which == "verified":
        verification = glorot_result
    else:
        text = replace_field(GLOROT_TEXT, "B3", "claim", "Sum(E[W[i+1, k, j]]*Var[g[i+1, j]], (j, 1, n[i+2]))")
        verification = verify(loads(text, "wrong.toml", ARITIES, name="wrong"))
        assert not verification.ok
    render(verification, ["tex"], tmp_path)
    tex = next(tmp_path.glob("*.tex"))
    done = subprocess.run(["chktex", "-q", "-v0", str(tex)], capture_output=True, text=True)
    assert done.stdout.strip() == "" and done.returncode == 0, done.stdout


def test_unverified_document_marks_the_failure(tmp_path):
    text = replace_field(GLOROT_TEXT, "B3", "claim", "Sum(E[W[i+1, k, j]]*Var[g[i+1, j]], (j, 1, n[i+2]))")
    verification = verify(loads(text, "wrong.toml", ARITIES, name="wrong"))
    doc = build(verification)
    tex, md, html = (render_text(doc, f) for f in ("tex", "md", "html"))
    # E for Var: a difference in moments, which the kernel cannot refute exactly: "not shown equal" (verify may
    # sharpen it to "wrong" with a sampled counterexample)
    b3 = next(r for r in verification.steps if r.step.id == "B3")
    word = "wrong" if b3.verdict == WRONG else "not shown equal"
    assert r"\notok\ \textbf{B3}" in tex and f"Not verified ({{}}{word}{{}}): the rule derives" in tex
    assert r"\color{bad}" in tex and "17 of 18" in tex
    assert f"**Not verified ({word}).** The rule derives the row after (B3)" in md
    assert r"&& \text{(B3) not verified}" in md and r"&& \text{(B3) what the rule derives}" in md
    assert 'class="step bad" id="B3"' in html and f"✗ {word}</td>" in html


def test_a_refuted_step_shows_its_counterexample():
    verification = verify(loads(replace_field(GLOROT_TEXT, "D1", "claim", "Var[W[i]] == 3/(n[i] + n[i+1])"),
                                "wrong.toml", ARITIES, name="wrong"))
    d1 = next(r for r in verification.steps if r.step.id == "D1")
    assert d1.verdict == WRONG and d1.counterexample is not None
    text = d1.counterexample.text()
    assert text.startswith("n[i] = ") and ": claimed " in text
    tex, md, html = (render_text(build(verification), f) for f in ("tex", "md", "html"))
    assert r"Not verified ({}wrong{}): the rule derives" in tex and f"counterexample: {tex_text(text)}" in tex
    assert "**Not verified (wrong).** The rule derives" in md and f"Counterexample: {markdown_text(text)}\n" in md
    assert f"counterexample: {text}" in html and "✗ wrong</td>" in html


@needs["pdflatex"]
@needs["pdftotext"]
def test_hostile_prose_appears_literally_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = render(hostile_verification(), ["pdf", "md", "html"], tmp_path / "out")
    files = {w.format: w.path for w in written}
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "out" / "PWNED").exists()
    tex = files["tex"].read_text()
    assert r"\textbackslash{}input\{/etc/passwd\}" in tex and r"\textbackslash{}write18" in tex
    assert r"a\_b, 50\% \&" in tex
    pdf_text = " ".join(subprocess.run(["pdftotext", str(files["pdf"]), "-"], capture_output=True, text=True).stdout.split())
    assert r"\input{/etc/passwd}" in pdf_text and r"\write18{touch PWNED}" in pdf_text
    assert "root:x:0" not in pdf_text
    assert "50% & <script>alert(1)</script>" in pdf_text
    html = files["html"].read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    md = files["md"].read_text()
    assert "&lt;script&gt;" in md and "<script>" not in md and r"a\_b" in md


def test_symbol_latex_cannot_inject(tmp_path):
    from derivation.loader import LoadError
    text = GLOROT_TEXT.replace('a = { kind = "positive",', r'a = { kind = "positive", latex = "\\input{/etc/passwd}",')
    with pytest.raises(LoadError, match=r"may not contain the command \\input"):
        loads(text, "evil.toml", ARITIES)


def test_html_is_self_contained(rendered):
    out, _ = rendered
    html = (out / "glorot.html").read_text()
    assert "<script" not in html.lower()
    assert re.findall(r"(?:src|href)=\"(?!#|data:image/png;base64,)", html) == []
    assert [u for u in re.findall(r"https?://[^\"' )]+", html) if u != "http://www.w3.org/1998/Math/MathML"] == []
    assert html.count("<math") > 40 and "Content-Security-Policy" in html


def test_markdown_uses_display_math(rendered):
    out, _ = rendered
    md = (out / "glorot.md").read_text()
    assert md.count("```math\n") == 4 and "$$" not in md          # a chain for each section, the results
    for step in STEP_IDS:
        assert f"&& \\text{{({step})}}" in md, step
    assert "\\tag" not in md and "✓ Forward pass: F0, F1, F2, F3, F4, F5, F6 verified." in md    # compact record


def test_failed_build_keeps_the_previous_pdf(tmp_path):
    if shutil.which("pdflatex") is None and not IN_CI:
        pytest.skip("pdflatex not installed")
    target = tmp_path / "proof.pdf"
    target.write_bytes(b"%PDF previous good version")
    with pytest.raises(RenderError, match="unchanged"):
        compile_pdf(r"\documentclass{article}\begin{document}\undefinedcommand\end{document}", target)
    assert target.read_bytes() == b"%PDF previous good version"
    assert (tmp_path / "proof.log").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_tex_writes_the_tex_and_says_how_to_install(tmp_path, monkeypatch, glorot_result):
    import derivation.render as module
    monkeypatch.setattr(module, "pdflatex", lambda: None)
    with pytest.raises(TexMissing, match="apt-get install texlive-latex-base"):
        render(glorot_result, ["pdf"], tmp_path)
    assert (tmp_path / "glorot.tex").exists() and not (tmp_path / "glorot.pdf").exists()


def test_cli_without_tex_exits_3_with_one_line(tmp_path):
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))
    done = run("render", "--out", str(tmp_path), env=env)
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1 and "apt-get install" in done.stderr
    assert (tmp_path / "glorot.tex").exists() and not (tmp_path / "glorot.pdf").exists()


def test_cli_refuses_to_render_an_unverified_derivation(tmp_path):
    done = run("render", "--activation", "sigmoid", "--out", str(tmp_path), "--format", "md")
    assert done.returncode == 1
    assert "not rendered" in done.stderr and "--allow-unverified" in done.stderr
    assert "F1 (linearisation): assumption A1 fails for sigmoid" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_allow_unverified_renders_with_marks(tmp_path):
    done = run("render", "--activation", "sigmoid", "--allow-unverified", "--out", str(tmp_path), "--format", "md", "html")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["glorot.html", "glorot.md"]
    md = (tmp_path / "glorot.md").read_text()
    assert "**Not verified.** 13 of 18 steps verified; assumption A1 does not hold" in md
    assert "$`f(0) = \\frac{1}{2}`$ ✗" in md


def test_cli_formats_and_output_directory(tmp_path):
    done = run("render", "--format", "md", "html", "--out", str(tmp_path / "notes"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == ["glorot.html", "glorot.md"]
    assert "wrote" in done.stdout


@needs["chromium"]
def test_html_renders_in_a_real_browser(rendered, tmp_path):
    """Load the page in headless Chromium: every <math> element is laid out with a size, and nothing errs.
    A wrapper page (ours, not the product's) measures the document in an iframe and prints the result."""
    out, _ = rendered
    page = out / "glorot.html"
    probe = tmp_path / "probe.html"
    probe.write_text(f"""<!DOCTYPE html><html><body><iframe id="f" src="{page.as_uri()}" width="1000" height="800"></iframe>
<pre id="result">pending</pre><script>
window.addEventListener('load', () => {{
  const d = document.getElementById('f').contentDocument;
  const maths = [...d.querySelectorAll('math')];
  const sized = maths.filter(m => {{ const r = m.getBoundingClientRect(); return r.width > 0 && r.height > 0; }});
  const cell = d.querySelector('.chain math'); const display = cell ? getComputedStyle(cell).display : 'none';
  document.getElementById('result').textContent = 'MATHS=' + maths.length + ' SIZED=' + sized.length +
      ' MIDISPLAY=' + display + ' TITLE=' + d.title;
}});
</script></body></html>""")
    chromium = shutil.which("chromium")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--allow-file-access-from-files"]
    dom = subprocess.run([chromium, *flags, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    match = re.search(r"MATHS=(\d+) SIZED=(\d+) MIDISPLAY=(.+?) TITLE=(.*)</pre>", dom)
    assert match, re.search(r"<pre id=\"result\">(.*?)</pre>", dom, re.S).group(1)
    maths, sized = int(match.group(1)), int(match.group(2))
    assert maths > 40 and sized == maths
    assert match.group(3) == "math"              # laid out by the browser's native MathML engine
    assert "Xavier/Glorot" in match.group(4)
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *flags, "--window-size=1000,1400", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000


@needs["pdflatex"]
@needs["pdftotext"]
@needs["chktex"]
def test_interview_sheet_compares_every_builtin(tmp_path):
    done = run("render", "--format", "sheet", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "initialisations.pdf"), "-"],
                                   capture_output=True, text=True).stdout.split())
    for phrase in ("Xavier/Glorot", "He initialisation", "LeCun", "18 of 18 steps verified", "11 of 11",
                   "10 of 10", "Suits", "ReLU", "tanh"):
        assert phrase in text, phrase
    lint = subprocess.run(["chktex", "-q", "-v0", str(tmp_path / "initialisations.tex")], capture_output=True, text=True)
    assert lint.stdout.strip() == ""
    assert "Overfull" not in (tmp_path / "initialisations.log").read_text(encoding="latin-1")
    assert run("render", "--format", "sheet", "md").returncode == 2


@needs["pdflatex"]
@pytest.mark.parametrize("name", ["he", "lecun"])
def test_he_and_lecun_render(tmp_path, name):
    done = run("render", name, "--out", str(tmp_path), "--format", "pdf", "html")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"{name}.pdf").exists() and (tmp_path / f"{name}.html").exists()


@needs["pdflatex"]
@needs["pdftotext"]
def test_in_practice_section_uses_crosscheck_and_simulate_outputs(tmp_path):
    import json
    assert run("crosscheck", "--out", str(tmp_path)).returncode == 0
    assert run("simulate", "--depth", "2", "--width", "100", "--batch", "50", "--out", str(tmp_path)).returncode == 0
    rows = json.loads((tmp_path / "crosscheck.json").read_text())
    rows.append({"framework": r"\input{/etc/passwd}", "initialiser": "<script>x</script>", "formula": "1",
                 "gain": "1", "match": True, "heuristic": False})
    rows.append({"framework": "evil", "initialiser": "evil", "formula": "__import__('os').system('x')",
                 "gain": "1", "match": True, "heuristic": False})
    (tmp_path / "crosscheck.json").write_text(json.dumps(rows))
    done = run("render", "--format", "pdf", "html", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "glorot.pdf"), "-"], capture_output=True,
                                   text=True).stdout.split())
    assert "In practice" in text and "xavier_uniform_" in text and "heuristic" in text
    # the rows are recomputed: the forged ones are not shown, and the user is told the file differs
    assert r"\input{/etc/passwd}" not in text and "root:x:0" not in text and "evil" not in text
    assert "crosscheck.json is not what `crosscheck` computes now" in done.stderr
    html = (tmp_path / "glorot.html").read_text()
    assert html.count('src="data:image/png;base64,') == 2 and "<script>x" not in html
    assert "0.87962566103423978" in (tmp_path / "glorot.tex").read_text()
