"""Verified derivation -> LaTeX, PDF, Markdown and HTML, through Jinja templates shipped with the package.

Nothing here decides validity: documents are built from a :class:`verify.Verification`. Outputs are named by
an identifier or the derivation's file name (never a path), built in a private folder inside the output
directory and moved into place together under a lock; the PDF is compiled there by pdflatex with shell escape
off, paranoid file access, a time limit and a file-size limit, in its own process group, which is killed with
the tool. A failed build leaves every previous output as it was (but the log). Render reads only what it made
or what is checked: figures opened without following links and recognised by their first bytes, and a
cross-check recomputed, never taken from crosscheck.json on trust.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import document
from .escape import markdown_tag, markdown_text, markdown_url, tex_text
from .typeset import (latex, latex_lines, markdown_chain, markdown_inline, markdown_results, mathml,
                      mathml_lines, mathml_sequence)
from .verify import Verification

FORMATS = ("pdf", "tex", "md", "html", "sheet")
TEX_INSTALL = ("sudo apt-get install texlive-latex-base texlive-latex-recommended texlive-pictures "
               "texlive-fonts-recommended")


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
        env.filters["paren"] = lambda text: f"({text})"      # "(((( x ))))" would read as a Jinja expression
        env.filters["key"] = lambda step_id: "step-" + str(step_id).encode("utf-8").hex()   # a label from any id
    elif kind == "html":
        env = jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                 undefined=jinja2.StrictUndefined)
    else:
        env = jinja2.Environment(loader=loader, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                                 undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        env.filters["md"] = markdown_text
    return env


from .plots import figure_names
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}
MAX_FIGURE_BYTES = 20_000_000
MAX_TABLE_BYTES = 1_000_000


def _warn(message: str) -> None:
    print(f"derivation: warning: {message}", file=sys.stderr)


def read_inside(folder: Path, name: str, limit: int, magic: bytes | None = None) -> bytes | None:
    """The bytes of the regular file ``name`` directly in ``folder``, opened without following a symbolic link
    (a planted ``build/x.png -> ~/.ssh/id_rsa`` is not read). None when there is no such entry; ValueError
    saying why when there is one that is not a plain file of at most ``limit`` bytes starting with ``magic``."""
    if "/" in name or name in (".", ".."):
        raise ValueError(f"{name!r} is not a file name")
    try:
        directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        try:
            handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=directory)
        except FileNotFoundError:
            return None
        except OSError as exc:          # ELOOP: a symbolic link
            raise ValueError("a symbolic link, not read" if exc.errno == errno.ELOOP else exc.strerror) from None
    finally:
        os.close(directory)
    status = os.fstat(handle)
    if not stat.S_ISREG(status.st_mode) or status.st_nlink != 1:
        os.close(handle)
        raise ValueError("not a regular file, not read" if not stat.S_ISREG(status.st_mode)
                         else "a file with other hard links, not read")
    with os.fdopen(handle, "rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit} bytes, not read")
    if magic is not None and not data.startswith(magic):
        raise ValueError("not the kind of file its name says, not read")
    return data


def simulated_activation(verification: Verification) -> str | None:
    """The name `simulate` knows the derivation's activation by (tanh, sigmoid, relu), or None: a document shows
    only the figures of its own activation."""
    from .activations import activation_expr
    from .layer import ACTIVATIONS as SIMULATED
    check = verification.checked
    if check is None:
        return None
    return next((name for name in SIMULATED if check.expr == activation_expr(name)[1]), None)


PRACTICE_DEPTH, PRACTICE_WIDTH = 5, 1000     # the network `simulate` draws by default


def meanfield_table(activation: str | None, depth: int = PRACTICE_DEPTH, width: int = PRACTICE_WIDTH,
                    simulated: bool = False) -> dict | None:
    """The predictions beside `simulate`'s network, computed here (never read from the output directory), for
    each of the activation's two initialisations (simulate.INITS), sigma_w^2 = n Var[W] = n a^2/3, inputs N(0, 1),
    gradients of unit variance at the top layer L:
      forward, the activation variance Var[z^l]: linear regime sigma_w^{2l}; mean field Var[f(sqrt(q^l) xi)]
        with q^1 = sigma_w^2, q^{l+1} = sigma_w^2 E[f(sqrt(q^l) xi)^2] (meanfield.predict);
      backward, Var[dL/ds^l]: linear regime sigma_w^{2(L-l)}; mean field the product of chi = sigma_w^2
        E[f'(sqrt(q) xi)^2] over the layers above.
    For a rectifier, whose steps need no linearisation, the derived maps instead of the linear ones, and the
    pre-activation variance q^l forward: q^1 = sigma_w^2, then a factor sigma_w^2 m2 per layer (m2 = 1/2), and
    (sigma_w^2 m2)^(L-l) backward. With ``simulated``, a third column: the same quantities measured on
    `simulate`'s seeded network, run here."""
    if activation is None:
        return None
    import sympy as sp

    from . import meanfield
    from .simulate import BOUNDS, INITS, simulate
    rectifier = activation == "relu"
    runs = []
    for init in INITS[activation]:
        sigma_w2 = width * BOUNDS[init](width, width) ** 2 / 3
        p = meanfield.predict(activation, sigma_w2, depth)
        half = sigma_w2 / 2
        forward = {"first": [sigma_w2 * half ** layer for layer in range(depth)] if rectifier
                   else list(p.linear_activation_variance),
                   "second": list(p.q if rectifier else p.activation_variance), "third": None}
        backward = {"first": [half ** (depth - layer) for layer in range(1, depth + 1)] if rectifier
                    else list(p.linear_gradient_variance), "second": list(p.gradient_variance), "third": None}
        if simulated:
            measured = simulate(init, depth, width, activation, jacobian=False).layers
            forward["third"] = [s.pre_activation_variance if rectifier else s.activation_variance for s in measured]
            backward["third"] = [s.gradient_variance for s in measured]
        runs.append({"init": init, "gain": sp.nsimplify(sigma_w2, rational=True, tolerance=1e-9),
                     "forward": forward, "backward": backward})
    return {"activation": activation, "depth": depth, "width": width, "runs": runs, "rectifier": rectifier,
            "simulated": simulated}


def practice(out_dir: Path, warn=_warn, table=None, activation: str | None = "tanh") -> dict:
    """What `crosscheck` and `simulate` left in ``out_dir``, checked: the figures, read without following links
    and recognised by their first bytes, and the cross-check, recomputed by this run (``table()``: the rows as
    `crosscheck` writes them) and shown only so; a crosscheck.json that says otherwise is reported, not shown."""
    figures, images = [], {}
    names = figure_names(activation) if activation is not None else ()
    for name in names:
        found = {}
        for kind in ("png", "pdf"):
            try:
                found[kind] = read_inside(out_dir, f"{name}.{kind}", MAX_FIGURE_BYTES, MAGIC[kind])
            except ValueError as exc:
                warn(f"{out_dir / f'{name}.{kind}'}: {exc}; the figure is left out")
                found[kind] = None
        if found["png"] is not None and found["pdf"] is not None:
            figures.append(name)
            images[name] = found
    rows = []
    try:
        data = read_inside(out_dir, "crosscheck.json", MAX_TABLE_BYTES)
        saved = None if data is None else json.loads(data.decode("utf-8"))
        if saved is not None and not (isinstance(saved, list) and all(isinstance(r, dict) for r in saved)):
            raise ValueError("not a list of rows")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = "not valid JSON" if isinstance(exc, json.JSONDecodeError) else \
            "not UTF-8" if isinstance(exc, UnicodeDecodeError) else "nested too deep" \
            if isinstance(exc, RecursionError) else str(exc)
        warn(f"{out_dir / 'crosscheck.json'}: {reason}; the cross-check is left out (run `crosscheck` again)")
        saved = None
    if saved is not None:
        computed = (table or crosscheck_records)()
        if saved != computed:
            warn(f"{out_dir / 'crosscheck.json'} is not what `crosscheck` computes now; the document shows the "
                 "recomputed rows")
        rows = computed
    return {"crosscheck": [_typeset_row(r) for r in rows], "figures": figures, "images": images, "dir": out_dir}


def crosscheck_table():
    """The frameworks' initialisers against the verified built-in derivations (what `crosscheck` prints)."""
    import sympy as sp

    from .crosscheck import rows
    from .kernel.derivation import with_values
    from .kernel.rules import arities
    from .loader import load
    from .verify import verify

    def results(derivation) -> dict:
        return {str(r.step.claim.lhs): r.step.claim.rhs for r in verify(derivation).results if r.ok}

    def builtin(name: str):             # as `verify NAME`: a slope parameter at its default, 0
        d = load(name, arities())
        return d if d.slope is None else with_values(d, {d.namespace.symbols[d.slope]: sp.Integer(0)})

    verified = {name: results(builtin(name)) for name in ("glorot", "he", "lecun")}
    he = load("he", arities())
    return rows(verified, lambda slope: results(with_values(he, {he.namespace.symbols[he.slope]: slope})))


def crosscheck_records(table=None) -> list[dict]:
    """The cross-check rows as crosscheck.json holds them (``table``: crosscheck_table(), computed if absent)."""
    from .printing import plain
    return [{"framework": r.framework, "initialiser": r.initialiser, "formula": r.formula_only, "gain": r.gain,
             "source": r.source,
             "derived": plain(r.derived_value) if not r.heuristic else f"{float(r.derived_value):.6g}",
             "match": r.match, "heuristic": r.heuristic, "advice": r.advice} for r in (crosscheck_table() if table is None else table)]


def _typeset_row(row: dict) -> dict:
    """A cross-check row with its formula and gain parsed (safely: the file is only data) for printing."""
    from .crosscheck import NAMES
    from .parser import ParseError, parse
    out = {key: str(row.get(key, "")) for key in ("framework", "initialiser", "source", "advice")}
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
        # an equation chain is laid out by the page's CSS grid: each side in a cell of its own, aligned at =
        env.filters["cell"] = lambda e: Markup(mathml(e, notation, display="cell"))
        env.filters["cells"] = lambda e: [Markup(row) for row in mathml_lines(e, notation)]
        env.filters["rel"] = lambda relation: Markup(mathml_sequence([("mo", relation)], notation, display="cell"))
        env.filters["lawrhs"] = lambda r: Markup(mathml_sequence(
            [r.law, ("mo", ","), ("mspace", "2em"), r.claim.lhs, ("mo", "="), r.claim.rhs], notation, display="cell"))
        env.filters["fact"] = lambda label, right: Markup(mathml_sequence(
            [("tokens", label), ("mo", "="), right], notation))
        # one <math> from expressions and ("mo" | "mi" | "mn" | "tokens", text) or ("mspace", width) pairs the
        # template writes; eq: left = right (= more), a text side being a short formula of the template's ("0.0335")
        env.filters["math"] = lambda items, display=False: Markup(mathml_sequence(list(items), notation, display))
        env.filters["eq"] = lambda left, *rights, relation="=": Markup(mathml_sequence(
            [("tokens", x) if isinstance(x, str) else x
             for x in [left, *(item for right in rights for item in (("mo", relation), right))]], notation))
        # an expression's MathML without its <math>, for formulas the template writes in MathML around it
        env.filters["mrow"] = lambda e: Markup(re.sub(r"^<math[^>]*>|</math>$", "", mathml(e, notation, display=False)))
        # SymPy's MathML printer lowers a function's name: the order term O(v^3) would read o(v^3), another claim
        env.filters["expansion"] = lambda c: Markup(mathml_sequence([c.left, ("mo", "="), c.right], notation).replace(
            '<mi>o</mi><mrow><mo stretchy="false">(', '<mi>O</mi><mrow><mo stretchy="false">('))
    elif kind == "md":
        relations = {"≈": r"\approx", "∼": r"\sim", "→": r"\to", "≪": r"\ll", "=": "="}
        env.filters["m"] = lambda e: markdown_inline(latex(e, notation))
        # left = right (= more): an expression through our printer, a string as LaTeX the template itself wrote
        env.filters["eq"] = lambda left, *rights, relation="=": markdown_inline(
            f" {relations[relation]} ".join(x if isinstance(x, str) else latex(x, notation) for x in (left, *rights)))
        # LaTeX written in the template, never a file's (typeset when rendered, not folded when compiled)
        env.filters["tm"] = jinja2.pass_context(lambda context, tex: markdown_inline(tex))
        env.filters["latex"] = lambda e: latex(e, notation)
        env.filters["chain"] = lambda lines: markdown_chain(lines, notation)
        env.filters["results"] = lambda results: markdown_results(results, notation)
        env.filters["mdurl"] = markdown_url
    else:
        env.filters["m"] = lambda e: latex(e, notation)
        env.filters["mlines"] = lambda e: latex_lines(e, notation)
    rule_notation = document.RULE_NOTATION
    env.filters["mr"] = (lambda e: Markup(mathml(e, rule_notation, display=False))) if kind == "html" \
        else (lambda e: markdown_inline(latex(e, rule_notation))) if kind == "md" else (lambda e: latex(e, rule_notation))
    failed = [a.id for a in doc.assumptions if a.holds is False]
    extra = {"crosscheck": [], "figures": [], "images": {}, "dir": Path("."), "sample": None,
             "meanfield": None, **(extra or {})}
    if kind == "md":
        env.filters["mdtag"] = markdown_tag
    if kind == "html":
        import base64
        env.filters["png"] = lambda name: "data:image/png;base64," + base64.b64encode(
            extra["images"][name]["png"]).decode("ascii")
    return env.get_template(f"proof.{kind}.j2").render(doc=doc, failed_assumptions=failed, practice=extra)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part (a planted
    symbolic link at ``path`` is replaced, not followed)."""
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


# --- output names, and publishing every output of a run together -----------------------------------------

OUTPUT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,99}")


class BadOutputName(RenderError):
    """The derivation's ``name`` cannot name files (it is not letters, digits, '-' and '_')."""


def output_name(derivation) -> str:
    """The stem of a derivation's output files: its ``name`` when that is an identifier (letters, digits, '-'
    and '_'), or the name of its file; never a path, so every output lands directly in --out."""
    name = str(derivation.name)
    if OUTPUT_NAME.fullmatch(name):
        return name
    stem = Path(str(derivation.path)).stem
    if name == stem and stem not in ("", ".", "..") and not stem.startswith(".") and len(stem.encode()) <= 200 \
            and all(c.isprintable() and c not in "/\\" for c in stem):
        return stem
    shown = name if len(name) <= 60 else name[:57] + "..."
    raise BadOutputName(f"{derivation.path}: 'name' = {ascii(shown)} cannot name the output files: use letters, "
                        "digits, '-' and '_' (or leave it out: the file's name is used)")


class _Terminated(SystemExit):
    """SIGTERM or SIGHUP during a build: unwinds like an exit, so every `finally` below cleans up."""


def _terminate(signum, frame):
    signal.signal(signum, signal.SIG_IGN)       # one is enough: do not interrupt the cleanup
    raise _Terminated(128 + signum)


class Staging:
    """A private folder inside ``out_dir`` (a unique name per run) where a run builds every output; `publish`
    moves them into ``out_dir`` together, under a lock on the directory, so two concurrent runs never leave a
    mixed set. The folder is removed on leaving, including on SIGTERM, SIGHUP and Ctrl-C."""

    SIGNALS = (signal.SIGTERM, signal.SIGHUP)

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.path: Path | None = None
        self._handlers = {}

    def __enter__(self) -> "Staging":
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._handlers[signum] = signal.signal(signum, _terminate)
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=".derivation-", dir=self.out_dir))
        except BaseException:
            self._restore()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.path is not None:
                shutil.rmtree(self.path, ignore_errors=True)
        finally:
            self._restore()

    def _restore(self) -> None:
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._handlers = {}

    def file(self, name: str) -> Path:
        """Where the output ``name`` is built (a plain file name, never a path)."""
        if not name or "/" in name or "\0" in name or name in (".", ".."):
            raise RenderError(f"{name!r} is not a file name")
        return self.path / name

    def write(self, name: str, data: bytes) -> None:
        handle = os.open(self.file(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)

    def publish(self, names: list[str]) -> None:
        """Move the built ``names`` into ``out_dir``, each replacing what was there (a planted link is replaced,
        not followed), all of them under one lock."""
        staged = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        target = os.open(self.out_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(target, fcntl.LOCK_EX)
            for name in names:
                self.file(name)
                os.replace(name, name, src_dir_fd=staged, dst_dir_fd=target)
        finally:
            os.close(target)            # (closing releases the lock)
            os.close(staged)


def render(verification: Verification, formats: list[str], out_dir: Path, today=None,
           sample: dict | None = None, warn=_warn) -> list[Written]:
    """Write the requested formats into ``out_dir`` as ``<name>.<ext>``; 'pdf' also writes the .tex. ``sample``:
    the sampled cross-examination (``sampled.rows``), shown as its own section. Everything is built in a private
    folder first and published together: a failed PDF build changes nothing but the log.

    Raises BadOutputName when the derivation's name cannot name files, TexMissing (after writing the other
    formats) when pdflatex is absent, RenderError when it fails.
    """
    out_dir = Path(out_dir)
    name = output_name(verification.derivation)
    doc = document.build(verification, today)
    wanted = list(dict.fromkeys("tex" if f == "pdf" else f for f in formats))
    if "pdf" in formats and "tex" not in wanted:
        wanted.insert(0, "tex")
    activation = simulated_activation(verification)
    found = practice(out_dir, warn, activation=activation)
    if not doc.notation.gradients:              # no backward pass here: no figure of the gradients
        found["figures"] = [name for name in found["figures"] if not name.endswith("gradients")]
    extra = {**found, "sample": sample, "meanfield": meanfield_table(activation, simulated=bool(found["figures"]))}
    sources = {fmt: render_text(doc, fmt, extra) for fmt in wanted}    # everything rendered before anything written
    written = [Written(fmt, out_dir / f"{name}.{fmt}") for fmt in sources]
    with Staging(out_dir) as stage:
        for fmt, text in sources.items():
            stage.write(f"{name}.{fmt}", text.encode("utf-8"))
        files = [f"{name}.{fmt}" for fmt in sources]
        if "pdf" in formats:
            assets = {f"{figure}.pdf": extra["images"][figure]["pdf"] for figure in extra["figures"]}
            try:
                _build_pdf(sources["tex"], stage, name, assets)
            except TexMissing:
                stage.publish(files)
                raise
            except RenderError as exc:
                stage.publish([f"{name}.log"] if stage.file(f"{name}.log").exists() else [])
                raise RenderError(f"{exc}; {out_dir / f'{name}.pdf'} and the other outputs are unchanged "
                                  f"(log: {out_dir / f'{name}.log'})") from None
            files += [f"{name}.pdf", f"{name}.log"]
            written.append(Written("pdf", out_dir / f"{name}.pdf"))
        stage.publish(files)
    return written


def pdflatex() -> str | None:
    return shutil.which("pdflatex")


PDFLATEX_SECONDS = 90           # for all passes together
PDFLATEX_FILE_BYTES = 64 << 20  # the largest file pdflatex may write (its log, the PDF)
LOG_BYTES = 1 << 20             # read of the log: its first and its last MB at most


def compile_pdf(tex_source: str, target: Path, assets: dict[str, bytes] | None = None) -> Path:
    """Compile LaTeX to ``target`` (its log beside it) in a private folder inside ``target``'s directory
    (``assets``, such as figures, put beside the source); the PDF replaces ``target`` only on success."""
    target = Path(target)
    with Staging(target.parent) as stage:
        try:
            _build_pdf(tex_source, stage, target.stem, assets or {})
        except TexMissing:
            raise
        except RenderError as exc:
            log = f"{target.stem}.log"
            stage.publish([log] if stage.file(log).exists() else [])
            raise RenderError(f"{exc}; {target} is unchanged (log: {target.with_suffix('.log')})") from None
        stage.publish([target.name, f"{target.stem}.log"])
    return target


def _build_pdf(tex_source: str, stage: Staging, stem: str, assets: dict[str, bytes]) -> None:
    """pdflatex on ``tex_source`` in a folder of ``stage``: ``<stem>.pdf`` and ``<stem>.log`` in the stage on
    success; RenderError (with ``<stem>.log`` in the stage, if pdflatex wrote one) on failure."""
    program = pdflatex()
    if program is None:
        raise TexMissing(f"pdflatex not found; the .tex is written. Install TeX Live: {TEX_INSTALL}")
    scratch = stage.file("tex")
    scratch.mkdir()
    (scratch / "proof.tex").write_text(tex_source, encoding="utf-8")
    for name, data in assets.items():
        if "/" in name or name.startswith("."):
            raise RenderError(f"{name!r} is not a file name")
        (scratch / name).write_bytes(data)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TEXMF", "TEXINPUTS"))}
    env.update(openin_any="p", openout_any="p", shell_escape="f")
    command = [program, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
               "-file-line-error", "proof.tex"]
    deadline = time.monotonic() + PDFLATEX_SECONDS
    log = ""
    for _ in range(2):      # a second pass only if LaTeX asks for one
        code = _run_pdflatex(command, scratch, env, deadline)
        log = _read_log(scratch / "proof.log")
        if code is None or code != 0 or not (scratch / "proof.pdf").is_file():
            if log:
                stage.write(f"{stem}.log", log.encode("latin-1"))
            if code is None:
                raise RenderError(f"pdflatex did not finish within {PDFLATEX_SECONDS} s")
            raise RenderError(f"pdflatex failed: {_first_error(log)}")
        if "Rerun to get" not in log:
            break
    os.replace(scratch / "proof.pdf", stage.file(f"{stem}.pdf"))
    stage.write(f"{stem}.log", log.encode("latin-1"))


def _limit_pdflatex() -> None:      # in the child, before exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (PDFLATEX_FILE_BYTES, PDFLATEX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (PDFLATEX_SECONDS, PDFLATEX_SECONDS + 5))


def _run_pdflatex(command: list[str], cwd: Path, env: dict, deadline: float) -> int | None:
    """Run pdflatex in its own process group; its exit code, or None when the deadline passed. However this
    returns (the deadline, an exception, SIGTERM, Ctrl-C), nothing of that process group is left running."""
    child = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=_limit_pdflatex)
    try:
        return child.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return None
    finally:
        if child.returncode is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            child.wait()


def _read_log(path: Path) -> str:
    """pdflatex's log, at most its first and its last LOG_BYTES (where the error and 'Rerun' are)."""
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size <= 2 * LOG_BYTES:
                return stream.read(2 * LOG_BYTES).decode("latin-1")
            head = stream.read(LOG_BYTES)
            stream.seek(size - LOG_BYTES)
            tail = stream.read(LOG_BYTES)
    except FileNotFoundError:
        return ""
    left = size - 2 * LOG_BYTES
    return (head.decode("latin-1") + f"\n[... {left} bytes of the log left out ...]\n" + tail.decode("latin-1"))


def _first_error(log: str) -> str:
    match = re.search(r"^(?:\S*:\d+: |! )(.+)$", log, re.M)
    return match.group(1).strip()[:200] if match else "no error message in the log"


def render_sheet(verifications: list[Verification], out_dir: Path, today=None) -> list[Written]:
    """The one-page comparison of every built-in derivation: initialisations.tex and .pdf, published together
    (or, when the PDF fails, nothing but its log)."""
    out_dir = Path(out_dir)
    sheet = document.build_sheet(verifications, today)
    env = _environment("tex")
    env.filters["m"] = lambda e: latex(e, sheet.notation)
    env.filters["rhs"] = lambda claim: "" if claim is None else latex(claim.rhs, sheet.notation)
    source = env.get_template("sheet.tex.j2").render(sheet=sheet)
    with Staging(out_dir) as stage:
        stage.write("initialisations.tex", source.encode("utf-8"))
        try:
            _build_pdf(source, stage, "initialisations", {})
        except TexMissing:
            stage.publish(["initialisations.tex"])
            raise
        except RenderError as exc:
            stage.publish(["initialisations.log"] if stage.file("initialisations.log").exists() else [])
            raise RenderError(f"{exc}; {out_dir / 'initialisations.pdf'} is unchanged "
                              f"(log: {out_dir / 'initialisations.log'})") from None
        stage.publish(["initialisations.tex", "initialisations.pdf", "initialisations.log"])
    return [Written("tex", out_dir / "initialisations.tex"), Written("pdf", out_dir / "initialisations.pdf")]
