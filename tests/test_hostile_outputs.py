"""Hostile derivation files and output directories (issue 14, part A): every write stays inside --out, nothing
is read through a planted link or taken on trust, no TeX or Markdown injection, no pdflatex left running.

The files are in tests/hostile/, one attack each (its first line says which)."""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from derivation.escape import (_GREEK, _GREEK_AS_LATIN, _MATH_SYMBOLS, _TEX_NATIVE, _TEXT_SYMBOLS, markdown_tag,
                               markdown_text, symbol_tex, tex_char_math, tex_text, unsafe_tex)
from derivation.render import Staging, practice, render

HOSTILE = Path(__file__).parent / "hostile"
ROOT = Path(__file__).resolve().parent.parent
IN_CI = bool(os.environ.get("CI"))
needs = {tool: pytest.mark.skipif(shutil.which(tool) is None and not IN_CI, reason=f"{tool} not installed")
         for tool in ("pdflatex", "pdftotext")}
PNG = b"\x89PNG\r\n\x1a\n"
SECRET = "SECRET-7f3a9c-do-not-publish"
BLOCK_START = re.compile(r"^(?: {0,3}(?:#|[-+*](?:\s|$)|\d{1,9}[.)](?:\s|$)|>|```|~~~|<[A-Za-z/!?])| {4})")


def _with_package(env=None) -> dict:
    """The environment for `python -m derivation` run from any folder: this checkout first on the path."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def run(*args, cwd=None, env=None, timeout=300):
    env = _with_package(env)
    return subprocess.run([sys.executable, "-m", "derivation", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def tree(root: Path, skip: Path | None = None) -> dict:
    """Every entry under ``root`` (links not followed): its kind and content hash or link target."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            if skip is not None and (path == skip or skip in path.parents):
                continue
            if path.is_symlink():
                out[str(path.relative_to(root))] = ("link", os.readlink(path))
            elif path.is_dir():
                out[str(path.relative_to(root))] = ("dir",)
            else:
                out[str(path.relative_to(root))] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def pdf_text(pdf: Path) -> str:
    return " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split())


def leftovers(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.startswith(".")] if out.exists() else []


def test_every_hostile_file_says_what_it_attacks():
    files = sorted(HOSTILE.glob("*.toml"))
    assert len(files) >= 12
    for path in files:
        assert path.read_text(encoding="utf-8").startswith("# "), path.name


# --- 1. writes ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["name_parent", "name_absolute", "name_nested"])
def test_a_name_that_is_a_path_writes_nothing(tmp_path, case):
    work = tmp_path / "repo"
    work.mkdir()
    (work / "README").write_text("the real README\n")
    shutil.copy(HOSTILE / f"{case}.toml", work / f"{case}.toml")
    out = work / "out"
    before = tree(tmp_path)
    absolute = [Path(f"/tmp/derivation-hostile-absolute.{ext}") for ext in ("tex", "md", "html", "pdf", "log")]
    done = run("render", f"{case}.toml", "--format", "tex", "md", "html", "--out", "out", cwd=work)
    assert done.returncode == 2, done.stderr
    assert "'name'" in done.stderr and "cannot name the output files" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert tree(tmp_path) == before                       # not even --out was created
    assert not any(p.exists() for p in absolute)
    assert (work / "README").read_text() == "the real README\n"


def test_outputs_are_named_after_the_file_when_name_is_absent(tmp_path):
    text = (HOSTILE / "name_parent.toml").read_text().replace('name = "../README"\n', "")
    (tmp_path / "my notes.toml").write_text(text)
    before = tree(tmp_path, skip=tmp_path / "out")
    done = run("render", "my notes.toml", "--format", "md", "html", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["my notes.html", "my notes.md"]
    assert tree(tmp_path, skip=tmp_path / "out") == before


def test_a_planted_link_at_an_output_is_replaced_not_followed(tmp_path, glorot_result):
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "glorot.md").symlink_to(victim)
    (out / "glorot.html").symlink_to("../victim.txt")
    render(glorot_result, ["md", "html"], out)
    assert victim.read_text() == "untouched\n"
    assert not (out / "glorot.md").is_symlink() and (out / "glorot.md").read_text().startswith("# ")
    assert not (out / "glorot.html").is_symlink() and leftovers(out) == []


def _fake_pdflatex(folder: Path, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    program = folder / "pdflatex"
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(0o755)
    return program


def test_a_failed_pdf_changes_nothing_but_the_log(tmp_path, glorot_result, monkeypatch):
    import derivation.render as module
    from derivation.render import RenderError
    out = tmp_path / "out"
    out.mkdir()
    previous = {f"glorot.{ext}": f"previous {ext}".encode() for ext in ("tex", "md", "html", "pdf")}
    for name, data in previous.items():
        (out / name).write_bytes(data)
    failing = _fake_pdflatex(tmp_path / "bin", "echo '! Undefined control sequence.' > proof.log; exit 1")
    monkeypatch.setattr(module, "pdflatex", lambda: str(failing))
    with pytest.raises(RenderError, match="unchanged"):
        render(glorot_result, ["pdf", "md", "html"], out)
    assert {name: (out / name).read_bytes() for name in previous} == previous
    assert "Undefined control sequence" in (out / "glorot.log").read_text()
    assert leftovers(out) == []


def test_concurrent_renders_never_leave_a_mixed_set(tmp_path):
    base = (HOSTILE / "name_parent.toml").read_text().replace('name = "../README"\n', "")
    for which in ("a", "b"):
        (tmp_path / which).mkdir()
        (tmp_path / which / "x.toml").write_text(base.replace("Variance of a sample mean", f"TITLE-{which.upper()}"))
    out = tmp_path / "out"
    for _ in range(3):
        runs = [subprocess.Popen([sys.executable, "-m", "derivation", "render", str(tmp_path / which / "x.toml"),
                                  "--format", "tex", "md", "html", "--out", str(out)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_with_package())
                for which in ("a", "b")]
        assert [r.wait(timeout=300) for r in runs] == [0, 0], [r.stderr.read() for r in runs]
        titles = {ext: re.findall(r"TITLE-[AB]", (out / f"x.{ext}").read_text())[0] for ext in ("tex", "md", "html")}
        assert len(set(titles.values())) == 1, titles
        assert leftovers(out) == []


# --- 2. reads -----------------------------------------------------------------------------------------------

def _plant(out: Path, secret: Path) -> None:
    out.mkdir(exist_ok=True)
    for kind in ("png", "pdf"):
        (out / f"simulate_tanh_activations.{kind}").symlink_to(secret)
    (out / "simulate_tanh_gradients.png").write_text(SECRET)            # a regular file, but not a PNG
    (out / "simulate_tanh_gradients.pdf").write_bytes(b"%PDF-1.4 " + SECRET.encode())


def test_planted_links_are_not_read(tmp_path, glorot_result):
    secret = tmp_path / "id_rsa"
    secret.write_text(SECRET)
    out = tmp_path / "build"
    _plant(out, secret)
    warnings = []
    written = render(glorot_result, ["md", "html"], out, warn=warnings.append)
    for item in written:
        data = item.path.read_bytes()
        assert SECRET.encode() not in data and b"data:image/png" not in data, item.path
    assert any("simulate_tanh_activations.png: a symbolic link, not read" in w for w in warnings), warnings
    assert any("simulate_tanh_gradients.png: not the kind of file its name says" in w for w in warnings), warnings


def test_figures_are_read_only_when_they_are_what_they_say(tmp_path):
    out = tmp_path / "build"
    out.mkdir()
    (out / "simulate_tanh_activations.png").write_bytes(PNG + b"image")
    (out / "simulate_tanh_activations.pdf").write_bytes(b"%PDF-1.5 figure")
    os.mkfifo(out / "simulate_tanh_gradients.png")                    # a FIFO must not block the render
    (out / "simulate_tanh_gradients.pdf").write_bytes(b"%PDF-1.5 figure")
    warnings = []
    found = practice(out, warnings.append)
    assert found["figures"] == ["simulate_tanh_activations"]
    assert found["images"]["simulate_tanh_activations"]["png"] == PNG + b"image"
    assert warnings == [f"{out / 'simulate_tanh_gradients.png'}: not a regular file, not read; the figure is left out"]


@needs["pdflatex"]
@needs["pdftotext"]
def test_planted_links_do_not_reach_the_pdf(tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text(SECRET)
    out = tmp_path / "build"
    _plant(out, secret)
    done = run("render", "--format", "pdf", "md", "html", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "a symbolic link, not read" in done.stderr and "Traceback" not in done.stderr
    for name in ("glorot.pdf", "glorot.tex", "glorot.md", "glorot.html", "glorot.log"):
        assert SECRET.encode() not in (out / name).read_bytes(), name
    assert SECRET not in pdf_text(out / "glorot.pdf")


FORGED = [{"framework": "FORGED", "initialiser": "forged_init_", "formula": "1/fan_in", "gain": "1",
           "source": "nowhere", "derived": "1", "match": True, "heuristic": False}]


def test_a_forged_crosscheck_is_never_shown(tmp_path, glorot_result):
    out = tmp_path / "build"
    out.mkdir()
    (out / "crosscheck.json").write_text(json.dumps(FORGED))
    warnings = []
    written = render(glorot_result, ["md", "html"], out, warn=warnings.append)
    md, html = (w.path.read_text() for w in written)
    assert "FORGED" not in md and "FORGED" not in html and "forged" not in md
    assert "xavier_uniform_" in html                              # the rows this run computed
    assert warnings == [f"{out / 'crosscheck.json'} is not what `crosscheck` computes now; the document shows "
                        "the recomputed rows"]


@needs["pdflatex"]
@needs["pdftotext"]
def test_a_forged_crosscheck_row_is_not_in_the_pdf(tmp_path):
    out = tmp_path / "build"
    out.mkdir()
    (out / "crosscheck.json").write_text(json.dumps(FORGED))
    done = run("render", "--format", "pdf", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = pdf_text(out / "glorot.pdf")
    assert "FORGED" not in text and "forged" not in text and "xavier_uniform_" in text
    assert "recomputed rows" in done.stderr


@pytest.mark.parametrize("content, reason", [
    (b"{not json", "not valid JSON"), (b"[1, 2]", "not a list of rows"), (b"\xff\xfe", "not UTF-8"),
    (b"[" * 100_000, "nested too deep"), (b"[" + b" " * 2_000_000 + b"]", "larger than 1000000 bytes"),
])
def test_a_malformed_crosscheck_is_left_out_with_a_warning(tmp_path, glorot_result, content, reason):
    out = tmp_path / "build"
    out.mkdir()
    (out / "crosscheck.json").write_bytes(content)
    warnings = []
    written = render(glorot_result, ["md"], out, warn=warnings.append)
    assert "xavier_uniform_" not in written[0].path.read_text()          # no cross-check table
    assert len(warnings) == 1 and reason in warnings[0] and "the cross-check is left out" in warnings[0]


def test_a_malformed_crosscheck_does_not_crash_the_command(tmp_path):
    out = tmp_path / "build"
    out.mkdir()
    (out / "crosscheck.json").mkdir()                             # a directory where the file should be
    done = run("render", "--format", "md", "--out", str(out))
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith("derivation: warning: ") and done.stderr.count("\n") == 1


# --- 3. TeX -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case, problem", [
    ("latex_caret_caret", "^^"), ("latex_caret_group", "^ with nothing before it"),
    ("latex_double_script", "a double subscript"),
])
def test_symbol_latex_outside_the_grammar_is_refused(tmp_path, case, problem):
    done = run("render", str(HOSTILE / f"{case}.toml"), "--format", "tex", "md", "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "field 'latex' may not contain" in done.stderr and problem in done.stderr
    assert not (tmp_path / "out").exists()


def test_symbol_latex_is_rebuilt_by_our_code():
    assert symbol_tex(r"\sigma") == r"{{\sigma}}"
    assert symbol_tex(r"\mathbf{x}_{\sigma}") == r"{\mathbf{x}_{{\sigma}}}"
    assert symbol_tex("W'^{(l)}_ij") == r"{W^{\prime (l)}_{i}j}"
    for bad in ("^^5c", "x^^5cinput", r"x^{^^5c}", r"\input{x}", r"\csname x\endcsname", "x_1_2", "x%", "x#1",
                "x~", "$x$", "x\ny", r"\mathbf", "{x", "x}", "σ", "x" * 200, "{" * 20 + "x" + "}" * 20):
        assert unsafe_tex(bad) is not None, bad


@settings(max_examples=300, deadline=None, derandomize=True)   # the same inputs in every run
@given(st.text())
def test_prose_for_tex_is_ascii_with_every_special_escaped(text):
    _assert_only_escaped_specials(tex_text(text))


# Every math token the escape tables write into text ("${\\leq}$", "${-}$", "${^{2}}$", ...): the reviewed
# vocabulary, read from the tables themselves so that a new entry is covered without editing this test.
_MATH_TOKENS = sorted({f"${tex_char_math(c)}$" for c in (*_GREEK, *_GREEK_AS_LATIN, *_MATH_SYMBOLS)}, key=len,
                      reverse=True)
_SAFE = re.compile("|".join([re.escape(t) for t in _MATH_TOKENS]
                            + [r"\\[A-Za-z]+(\{\})?", r"\\[{}$&#_%,-]", "%\n"]))


def _assert_only_escaped_specials(out: str) -> None:
    """TeX prose holds only what the T1 fonts show, no paragraph break, no ^^ escape, and no TeX special outside
    an escape (\\&, \\ldots{}, ...) or a math token of the escape tables."""
    assert all(c.isascii() or c in _TEX_NATIVE for c in out), out
    assert "\n\n" not in out and "^^" not in out
    assert not any(c in _SAFE.sub("", out) for c in "\\$&#^_%~"), out


@pytest.mark.parametrize("char", sorted({*_GREEK, *_GREEK_AS_LATIN, *_MATH_SYMBOLS, *_TEXT_SYMBOLS}))
def test_every_mapped_character_is_escaped_prose(char):
    """Each character the tables map, alone and between letters (where a command could swallow a letter)."""
    for text in (char, f"a{char}b", f"{char}{char}"):
        out = tex_text(text)
        _assert_only_escaped_specials(out)
        assert out.count("$") % 2 == 0, out


@settings(max_examples=300, deadline=None, derandomize=True)   # the same inputs in every run
@given(st.text())
def test_prose_for_markdown_stays_on_its_line(text):
    out = markdown_text(text)
    assert "\n" not in out and "\r" not in out and "<" not in out
    assert BLOCK_START.match(out) is None or out.startswith(("\\", "&"))
    assert re.fullmatch(r"[A-Za-z0-9 .,:;()'+?-]*", markdown_tag(text))


@needs["pdflatex"]
@needs["pdftotext"]
@pytest.mark.parametrize("case", ["prose_tex_injection", "prose_unicode", "symbol_greek_name", "latex_grammar",
                                  "markdown_tag_script", "html_attribute"])
def test_hostile_text_makes_a_pdf_that_shows_it_and_runs_nothing(tmp_path, case):
    done = run("render", str(HOSTILE / f"{case}.toml"), "--format", "pdf", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    text = pdf_text(tmp_path / "out" / f"{case}.pdf")
    assert "INJECTED" not in text and "2 of 2 steps verified" in text
    if case == "prose_tex_injection":
        assert r"^^5cdef^^5cz{INJ}^^5cz ECTED and \def\y{INJ}\y ECTED } { % $ & # _ ~ \\ end" in text
    if case == "prose_unicode":
        assert "Σ of σ: une moyenne « naïve »" in text and "Variance σ2 of naïve sums second paragraph" in text
        assert "≈ ≤" in text and "é" in text and "? ?? ?" in text       # Cyrillic, CJK, emoji: a visible '?'
    if case == "markdown_tag_script":
        assert "<script>alert(1)</script>" in text


@needs["pdflatex"]
def test_pdflatex_runs_paranoid_in_its_own_group(tmp_path, glorot_result, monkeypatch):
    """What render hands pdflatex: no shell escape, paranoid reads and writes, its own session."""
    import derivation.render as module
    record = tmp_path / "record"
    fake = _fake_pdflatex(tmp_path / "bin", f'echo "$@|$openin_any|$openout_any|$(ps -o sid= -p $$)|$$" > {record}; '
                                             "cp /dev/null proof.pdf; : > proof.log")
    monkeypatch.setattr(module, "pdflatex", lambda: str(fake))
    render(glorot_result, ["pdf"], tmp_path / "out")
    args, openin, openout, sid, pid = record.read_text().strip().split("|")
    assert "-no-shell-escape" in args.split() and (openin, openout) == ("p", "p")
    assert sid.strip() == pid.strip()                              # a session (and process group) of its own


def _processes():
    """(pid, command name, the stat fields after the name) of every process /proc lists."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            yield int(entry.name), stat[stat.index("(") + 1: stat.rindex(")")], stat[stat.rindex(")") + 2:].split()


def _children_named(parent: int, name: str) -> list[int]:
    return [pid for pid, comm, fields in _processes() if comm == name and int(fields[1]) == parent]


def _group_members(group: int) -> list[int]:
    return [pid for pid, _, fields in _processes() if int(fields[2]) == group and fields[0] != "Z"]


def _terminate_during_pdflatex(out: Path, env=None, sig=signal.SIGTERM):
    render_run = subprocess.Popen([sys.executable, "-m", "derivation", "render", "--format", "pdf", "--out", str(out)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_with_package(env))
    try:
        deadline = time.monotonic() + 120
        children = []
        while not children and time.monotonic() < deadline and render_run.poll() is None:
            children = _children_named(render_run.pid, "pdflatex")
            time.sleep(0.01)
        assert children, "pdflatex never started"
        group = os.getpgid(children[0])
        assert group != os.getpgid(render_run.pid)                 # its own process group
        render_run.send_signal(sig)
        code = render_run.wait(timeout=30)
    finally:
        if render_run.poll() is None:
            render_run.kill()
    time.sleep(0.2)
    assert _group_members(group) == [], "pdflatex (or a child of it) survived"
    assert leftovers(out) == [] and not (out / "glorot.pdf").exists()
    return code, render_run.stderr.read().decode()


def test_sigterm_kills_a_slow_pdflatex_and_its_children(tmp_path):
    """A pdflatex that never ends and has a child of its own (as mktexpk would be): both go with the tool."""
    folder = tmp_path / "bin"
    _fake_pdflatex(folder, "sleep 300 &\nsleep 300")
    env = dict(os.environ, PATH=f"{folder}{os.pathsep}{os.environ['PATH']}")
    code, _ = _terminate_during_pdflatex(tmp_path / "out", env)
    assert code == 128 + signal.SIGTERM


def test_ctrl_c_kills_pdflatex_too(tmp_path):
    folder = tmp_path / "bin"
    _fake_pdflatex(folder, "sleep 300")
    env = dict(os.environ, PATH=f"{folder}{os.pathsep}{os.environ['PATH']}")
    code, _ = _terminate_during_pdflatex(tmp_path / "out", env, signal.SIGINT)
    assert code != 0


@needs["pdflatex"]
def test_sigterm_during_a_real_render_leaves_no_pdflatex(tmp_path):
    code, stderr = _terminate_during_pdflatex(tmp_path / "out")
    assert code == 128 + signal.SIGTERM and "Traceback" not in stderr


# --- 4. Markdown and HTML -----------------------------------------------------------------------------------

def _render_case(tmp_path, case, formats=("md", "html")):
    done = run("render", str(HOSTILE / f"{case}.toml"), "--format", *formats, "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    return {fmt: (tmp_path / "out" / f"{case}.{fmt}").read_text() for fmt in formats}


def test_a_step_id_cannot_leave_the_tag(tmp_path):
    out = _render_case(tmp_path, "markdown_tag_script")
    md, html = out["md"], out["html"]
    assert "<script" not in md.lower() and "<script" not in html.lower()
    assert md.count("```math\n") == md.count("\n```\n") == 2                  # the chain and the results
    inside = re.findall(r"```math\n(.*?)\n```\n", md, re.S)
    tags = [t for block in inside for t in re.findall(r"\\text\{([^}\n]*)\}", block)]
    assert len(tags) == 2 and all(re.fullmatch(r"[A-Za-z0-9 .,:;()'+?-]*", t) for t in tags), tags
    assert all("$" not in block and "<" not in block and "`" not in block for block in inside)


def test_newlines_in_prose_start_no_block(tmp_path):
    md = _render_case(tmp_path, "markdown_blocks", ("md",))["md"]
    lines = [line for line in md.splitlines() if "INJECTED" in line]
    # section title, note, the section's line in "What to remember", its line in the record: one line each (the
    # summary is not shown: it is prose, never checked)
    assert len(lines) == 4
    for line in lines:                                             # (the note is in the step's list item)
        assert BLOCK_START.match(line) is None or line.startswith(("## ", "- **S1** ", "- Sample mean")), line
    assert "<div" not in md and "~~~" not in md
    assert {line for line in md.splitlines() if "```" in line} == {"```math", "```"}      # only our math blocks


def test_html_fields_cannot_leave_their_attribute_or_element(tmp_path):
    html = _render_case(tmp_path, "html_attribute", ("html",))["html"]
    assert "<script" not in html.lower() and 'onmouseover="' not in html
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>" in html


def test_staging_folder_is_removed_when_the_build_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with Staging(tmp_path) as stage:
            stage.write("x.md", b"x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
