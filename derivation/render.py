"""Verified derivation -> LaTeX, PDF, Markdown and HTML, through Jinja templates shipped with the package.

Nothing here decides validity: documents are built from a :class:`verify.Verification`. Files are written
atomically (a temporary file renamed into place), and the PDF is compiled in a temporary directory with
shell escape off and paranoid file access, so a failed build leaves every previous output as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import document
from .escape import markdown_text, tex_text
from .typeset import latex, latex_lines, mathml, mathml_sequence
from .verify import Verification

FORMATS = ("pdf", "tex", "md", "html", "sheet")
TEX_INSTALL = ("sudo apt-get install texlive-latex-base texlive-latex-recommended "
               "texlive-fonts-recommended")
PDFLATEX_SECONDS = 180


class RenderError(RuntimeError):
    """The document could not be produced (one line: what failed and where to look)."""


class TexMissing(RenderError):
    """pdflatex is not installed."""


@dataclass(frozen=True)
class Written:
    format: str
    path: Path


def _environment(kind: str) -> jinja2.Environment:
    loader = jinja2.PackageLoader("derivation", "templates")
    if kind == "tex":
        env = jinja2.Environment(
            loader=loader, block_start_string="((*", block_end_string="*))",
            variable_start_string="(((", variable_end_string=")))",
            comment_start_string="((#", comment_end_string="#))",
            trim_blocks=True, lstrip_blocks=True, autoescape=False,
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        env.filters["tex"] = tex_text
    elif kind == "html":
        env = jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                 undefined=jinja2.StrictUndefined)
    else:
        env = jinja2.Environment(loader=loader, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                                 undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        env.filters["md"] = markdown_text
    return env


PRACTICE_FIGURES = ("simulate_activations", "simulate_gradients")


def practice(out_dir: Path) -> dict:
    """What `crosscheck` and `simulate` left in ``out_dir``: the cross-check rows and the figures."""
    import json
    rows = []
    table = out_dir / "crosscheck.json"
    if table.is_file():
        try:
            rows = json.loads(table.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            rows = []
    figures = [name for name in PRACTICE_FIGURES
               if (out_dir / f"{name}.pdf").is_file() and (out_dir / f"{name}.png").is_file()]
    return {"crosscheck": [_typeset_row(r) for r in rows if isinstance(r, dict)], "figures": figures, "dir": out_dir}


def _typeset_row(row: dict) -> dict:
    """A crosscheck.json row with its formula and gain parsed (safely: the file is only data) for printing."""
    from .crosscheck import NAMES
    from .parser import ParseError, parse
    out = {key: str(row.get(key, "")) for key in ("framework", "initialiser", "source")}
    out.update(match=row.get("match") is True, heuristic=row.get("heuristic") is True)
    try:
        out["formula"] = parse(str(row.get("formula", "")), NAMES, display=True)
        out["gain"] = parse(str(row.get("gain", "1")), NAMES, display=True)
    except ParseError:
        out["formula"], out["gain"] = None, None
    return out


def render_text(doc: document.Document, fmt: str, extra: dict | None = None) -> str:
    """The document as LaTeX ('tex'), Markdown ('md') or HTML ('html') source."""
    kind = {"tex": "tex", "pdf": "tex", "md": "md", "html": "html"}[fmt]
    env = _environment(kind)
    notation = doc.notation
    if kind == "html":
        env.filters["m"] = lambda e: Markup(mathml(e, notation))
        env.filters["mi"] = lambda e: Markup(mathml(e, notation, display=False))
        env.filters["chain"] = lambda line: Markup(mathml_sequence(
            ([line.left] if line.left is not None else []) + [("mo", line.relation), line.right], notation, display=True))
        env.filters["result"] = lambda r: Markup(mathml_sequence(
            ([r.variable, ("mo", "∼"), r.law, ("mo", ","), ("mtext", "\u2003")] if r.law is not None else [])
            + [r.claim.lhs, ("mo", "="), r.claim.rhs], notation, display=True))
        env.filters["fact"] = lambda label, right: Markup(mathml_sequence(
            [("mtext", label), ("mo", "="), right], notation))
    else:
        env.filters["m"] = lambda e: latex(e, notation)
        env.filters["mlines"] = lambda e: latex_lines(e, notation)
    rule_notation = document.RULE_NOTATION
    env.filters["mr"] = (lambda e: Markup(mathml(e, rule_notation, display=False))) if kind == "html" \
        else (lambda e: latex(e, rule_notation))
    failed = [a.id for a in doc.assumptions if a.holds is False]
    extra = {"crosscheck": [], "figures": [], "dir": Path("."), "sample": None, **(extra or {})}
    if kind == "html":
        import base64
        env.filters["png"] = lambda name: "data:image/png;base64," + base64.b64encode(
            (extra["dir"] / f"{name}.png").read_bytes()).decode("ascii")
    return env.get_template(f"proof.{kind}.j2").render(doc=doc, failed_assumptions=failed, practice=extra)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o666 & ~_umask())      # mkstemp makes 0600; outputs are ordinary files
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def render(verification: Verification, formats: list[str], out_dir: Path, today=None,
           sample: dict | None = None) -> list[Written]:
    """Write the requested formats into ``out_dir`` as ``<name>.<ext>``; 'pdf' also writes the .tex. ``sample``:
    the sampled cross-examination (``sampled.rows``), shown as its own section.

    Raises TexMissing (after writing the .tex) when pdflatex is absent, RenderError when it fails.
    """
    doc = document.build(verification, today)
    written = []
    wanted = list(dict.fromkeys("tex" if f == "pdf" else f for f in formats))
    if "pdf" in formats and "tex" not in wanted:
        wanted.insert(0, "tex")
    sources = {}
    extra = {**practice(out_dir), "sample": sample}
    for fmt in wanted:
        sources[fmt] = render_text(doc, fmt, extra)      # render everything before writing anything
    for fmt, text in sources.items():
        path = out_dir / f"{doc.name}.{fmt}"
        write_atomically(path, text.encode("utf-8"))
        written.append(Written(fmt, path))
    if "pdf" in formats:
        assets = [out_dir / f"{name}.pdf" for name in extra["figures"]]
        written.append(Written("pdf", compile_pdf(sources["tex"], out_dir / f"{doc.name}.pdf", assets)))
    return written


def pdflatex() -> str | None:
    return shutil.which("pdflatex")


def compile_pdf(tex_source: str, target: Path, assets: list[Path] = ()) -> Path:
    """Compile LaTeX to ``target`` in a scratch directory (``assets``, such as figures, copied beside it);
    move the PDF into place only on success."""
    program = pdflatex()
    if program is None:
        raise TexMissing(f"pdflatex not found; the .tex is written. Install TeX Live: {TEX_INSTALL}")
    env = dict(os.environ, openin_any="p", openout_any="p", shell_escape="f")
    with tempfile.TemporaryDirectory(prefix="derivation-tex-") as scratch:
        source = Path(scratch) / "proof.tex"
        source.write_text(tex_source, encoding="utf-8")
        for asset in assets:
            shutil.copyfile(asset, Path(scratch) / asset.name)
        command = [program, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                   "-file-line-error", "proof.tex"]
        for _ in range(2):      # a second pass only if LaTeX asks for one
            try:
                done = subprocess.run(command, cwd=scratch, env=env, capture_output=True,
                                      timeout=PDFLATEX_SECONDS, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise RenderError(f"pdflatex did not finish within {PDFLATEX_SECONDS} s; {target} is unchanged") from None
            log = (Path(scratch) / "proof.log").read_text(encoding="latin-1") if (Path(scratch) / "proof.log").exists() else ""
            if done.returncode != 0 or not (Path(scratch) / "proof.pdf").exists():
                kept = target.with_suffix(".log")
                write_atomically(kept, log.encode("latin-1"))
                raise RenderError(f"pdflatex failed: {_first_error(log)}; {target} is unchanged (log: {kept})")
            if "Rerun to get" not in log:
                break
        write_atomically(target, (Path(scratch) / "proof.pdf").read_bytes())
        write_atomically(target.with_suffix(".log"), log.encode("latin-1"))
    return target


def _first_error(log: str) -> str:
    match = re.search(r"^(?:\S*:\d+: |! )(.+)$", log, re.M)
    return match.group(1).strip() if match else "no error message in the log"


def render_sheet(verifications: list[Verification], out_dir: Path, today=None) -> list[Written]:
    """The one-page comparison of every built-in derivation: initialisations.tex and .pdf."""
    sheet = document.build_sheet(verifications, today)
    env = _environment("tex")
    env.filters["m"] = lambda e: latex(e, sheet.notation)
    env.filters["rhs"] = lambda claim: "" if claim is None else latex(claim.rhs, sheet.notation)
    source = env.get_template("sheet.tex.j2").render(sheet=sheet)
    tex = out_dir / "initialisations.tex"
    write_atomically(tex, source.encode("utf-8"))
    return [Written("tex", tex), Written("pdf", compile_pdf(source, out_dir / "initialisations.pdf"))]
