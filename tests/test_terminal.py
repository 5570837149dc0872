"""Terminal manners in every command (derivation.terminal): a closed pipe, Ctrl-C, the width, ASCII, colour, progress.

The subprocess tests run the real command line, on pipes and on pseudo-terminals (the standard `pty` module), as a
person or a script would meet it.
"""

from __future__ import annotations

import io
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from derivation import terminal

ROOT = Path(__file__).resolve().parent.parent
ESC = b"\x1b["


def environment(**extra: str) -> dict:
    """This process's environment without what changes the terminal policy (so each test says what it sets),
    with UTF-8 asked for explicitly."""
    env = {k: v for k, v in os.environ.items() if k not in (
        "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TERM", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONIOENCODING",
        "PYTHONUTF8")}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
               PYTHONUTF8="1", TERM="xterm")
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def run(*args: str, env: dict | None = None, timeout: float = 120):
    done = subprocess.run([sys.executable, "-m", "derivation", *args], capture_output=True,
                          env=env or environment(), timeout=timeout, cwd=ROOT)
    return done.returncode, done.stdout, done.stderr


def on_terminal(*args: str, env: dict | None = None, stdout_tty: bool = True, columns: int = 100,
                timeout: float = 120):
    """Run with stderr (and stdout, unless ``stdout_tty`` is false) on a pseudo-terminal of ``columns``: the exit
    code, what the terminal received, and what came through the stdout pipe."""
    import fcntl
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "derivation", *args], stdin=subprocess.DEVNULL,
                               stdout=slave if stdout_tty else subprocess.PIPE, stderr=slave,
                               env=env or environment(), cwd=ROOT)
    os.close(slave)
    screen, piped, deadline = b"", b"", time.monotonic() + timeout
    streams = [master] + ([] if stdout_tty else [process.stdout.fileno()])
    while streams and time.monotonic() < deadline:
        ready, _, _ = select.select(streams, [], [], 1.0)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:                     # EIO: the terminal's other side is closed
                chunk = b""
            if not chunk:
                streams.remove(fd)
            elif fd == master:
                screen += chunk
            else:
                piped += chunk
    os.close(master)
    code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    return code, screen, piped


# ------------------------------------------------------------------------------ a closed pipe, Ctrl-C

@pytest.mark.parametrize("args", [["verify", "lecun"], ["explain", "lecun"], ["list"], ["--version"], ["--help"]])
def test_a_pipe_closed_early_ends_silently_with_141(args):
    """The reader is gone before anything is written (`derivation ... | head -0`): exit 141, as the README says,
    and nothing on stderr."""
    read, write = os.pipe()
    os.close(read)
    process = subprocess.Popen([sys.executable, "-m", "derivation", *args], stdout=write, stderr=subprocess.PIPE,
                               env=environment(), cwd=ROOT)
    os.close(write)
    err = process.stderr.read()
    assert process.wait(timeout=120) == terminal.EXIT_BROKEN_PIPE, err
    assert err == b""


def test_verify_into_head_is_quiet():
    """`derivation verify | head -1`: the first line, then 141 (the reader left while output was still coming) or
    0 (all of it was in the pipe before), never a traceback."""
    script = f"{sys.executable} -m derivation verify lecun | head -1; echo \"exit=${{PIPESTATUS[0]}}\" >&2"
    done = subprocess.run(["bash", "-c", script], capture_output=True, env=environment(), cwd=ROOT, timeout=120)
    err = done.stderr.decode()
    assert done.stdout.decode().splitlines() == ["LeCun initialisation"]
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert err.strip() in ("exit=141", "exit=0")


def test_ctrl_c_during_witness_is_one_line_and_130():
    process = subprocess.Popen([sys.executable, "-m", "derivation", "witness", "--samples", "1000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(), cwd=ROOT)
    time.sleep(3)
    assert process.poll() is None, "witness ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == terminal.EXIT_INTERRUPTED
    assert err.decode().splitlines() == ["derivation: interrupted"]
    assert b"Traceback" not in out + err


def test_interrupted_clears_the_progress_line_and_says_it_in_one_line():
    stream = _FakeTerminal()
    with pytest.raises(KeyboardInterrupt):
        with terminal.Terminal(progress_stream=stream).progress("witness") as progress:
            progress.update("1/26 definition")
            progress._draw()
            raise KeyboardInterrupt
    messages = io.StringIO()
    assert terminal.interrupted(stream=messages) == 130
    assert messages.getvalue() == "derivation: interrupted\n"
    assert stream.getvalue().endswith("\r\x1b[2K")


# ------------------------------------------------------------------------------------------ width

def _unbreakable(text: str) -> bool:
    """No space in ``text`` where prose could break: each is inside brackets or beside an operator."""
    depth = 0
    for position, char in enumerate(text):
        depth += char in "([{"
        depth -= char in ")]}"
        if char == " " and depth == 0:
            before, after = text[:position].rstrip()[-1:], text[position:].lstrip()[:1]
            if before not in "=+-*/^<>~·≈≤≥" and after not in "=+-*/^<>~·≈≤≥":
                return False
    return True


def test_explain_is_wrapped_to_columns_80_with_expressions_kept_whole():
    """On a terminal 200 columns wide, COLUMNS=80 is honoured: no line over 80 but an expression that is."""
    code, screen, _ = on_terminal("explain", "--step", "F1", env=environment(COLUMNS="80"), columns=200)
    _, wide, _ = on_terminal("explain", "--step", "F1", columns=1000)
    assert code in (0, 1)
    narrow, wide = (terminal.plain_text(text.decode()).replace("\r\n", "\n") for text in (screen, wide))
    assert max(map(len, wide.splitlines())) > 200              # what needs wrapping: the 220-column lines
    assert narrow.split() == wide.split()                       # the same words, only the lines differ
    lines = narrow.splitlines()
    long = [line for line in lines if terminal.display_width(line) > 80]
    for line in long:                                           # only an expression longer than the line
        label = terminal._LABEL.match(line)
        assert _unbreakable(line[label.end() if label else len(line) - len(line.lstrip()):]), line
    assert len(long) <= 2
    # a hanging indent: the lines after "  needs    A2 ..." stand under its text, at column 11
    needs = next(i for i, line in enumerate(lines) if line.startswith("  needs    A2"))
    assert lines[needs + 1].startswith(" " * 11) and lines[needs + 1][11] != " "


def test_piped_output_is_not_wrapped_even_with_columns():
    """One logical line stays one line in a pipe (grep, awk: `list | awk '{print $1}'` names every derivation),
    whatever COLUMNS says (readline exports COLUMNS=80 to the children of any Python that imported it)."""
    _, out, _ = run("list", env=environment(COLUMNS="80"))
    names = [line.split()[0] for line in out.decode().splitlines()]
    assert "glorot" in names and "lecun" in names and len(names) == len(set(names))
    assert all(name.isidentifier() for name in names)
    assert max(map(len, out.decode().splitlines())) > 80


def test_wrap_keeps_expressions_whole_and_hangs_under_the_label():
    line = "  needs    A1 (activation): the activation is odd, f(-x) = -f(x), with df(0) = 1; so near 0 its " \
           "first-order Taylor polynomial is f(x) = x - x**3/3 + O(x**5) for every x"
    lines = terminal.wrap_line(line, 60)
    assert all(len(part) <= 60 for part in lines) and len(lines) > 1
    assert all(part.startswith(" " * 11) and part[11] != " " for part in lines[1:])
    assert any("f(-x) = -f(x)" in part for part in lines) and any("x - x**3/3 + O(x**5)" in part for part in lines)
    assert terminal.wrap_line("  = " + "Var[W[i, j, k]]·Var[z[i, j]] + " * 5 + "1", 40) == \
        ["  = " + "Var[W[i, j, k]]·Var[z[i, j]] + " * 5 + "1"]          # too long, but one expression
    coloured = terminal.Terminal(colour=True).style("dim", "      " + "word " * 30)
    assert all(terminal.display_width(part) <= 40 for part in terminal.wrap_line(coloured, 40))


def test_width_policy(monkeypatch):
    class Pipe(io.StringIO):
        def isatty(self):
            return False
    assert terminal.width_of(Pipe(), {}) is None
    assert terminal.width_of(Pipe(), {"COLUMNS": "80"}) is None
    assert terminal.width_of(_FakeTerminal(), {}) == 80             # a terminal whose size cannot be told
    assert terminal.width_of(_FakeTerminal(), {"COLUMNS": "100"}) == 100


# ------------------------------------------------------------------------------------------ characters

@pytest.mark.parametrize("variables", [{"LANG": "C", "PYTHONUTF8": None}, {"LC_ALL": "C", "PYTHONUTF8": None},
                                       {"PYTHONIOENCODING": "ascii"}])
def test_ascii_fallback(variables):
    code, out, err = run("verify", "lecun", "--activation", "sigmoid", env=environment(**variables))
    assert code == 1 and b"Traceback" not in err and b"UnicodeEncodeError" not in err
    text = out.decode("ascii")                                  # nothing but ASCII
    assert "?" not in text
    assert "  OK F0" in text and "  FAIL F1" in text and "~= Var[" in text and "Sum_{j=1..n[i]}" in text
    assert "FAILS for sigmoid" in text and "FAIL FAILS" not in text


def test_ascii_json_is_the_same_document():
    _, utf8, _ = run("verify", "lecun", "--json")
    _, ascii_, _ = run("verify", "lecun", "--json", env=environment(PYTHONIOENCODING="ascii"))
    assert ascii_.isascii() and json.loads(ascii_) == json.loads(utf8)


def test_ascii_text_forms():
    assert terminal.ascii_text("✓ ✗ ≈ Σ_{j} a·b x² x⁻¹ ± σ é ℵ") == \
        "OK FAIL ~= Sum_{j} a*b x^2 x^(-1) +/- sigma e \\u2135"
    assert terminal.ascii_json('{"a": "≈ 𝔼"}') == '{"a": "\\u2248 \\ud835\\udd3c"}'
    assert json.loads(terminal.ascii_json('{"a": "≈ 𝔼"}')) == {"a": "≈ 𝔼"}


# ------------------------------------------------------------------------------------------ colour

def test_colour_on_a_terminal_and_never_with_no_color_or_a_dumb_terminal():
    code, screen, _ = on_terminal("verify", "lecun")
    assert code == 0 and ESC in screen
    for env in (environment(NO_COLOR="1"), environment(TERM="dumb"), environment(NO_COLOR="")):
        code, screen, _ = on_terminal("verify", "lecun", env=env)
        assert code == 0 and ESC not in screen and "✓ F0".encode() in screen
    code, screen, _ = on_terminal("--color", "never", "verify", "lecun")
    assert code == 0 and ESC not in screen


def test_color_always_colours_a_pipe_and_never_is_the_default_there():
    code, out, _ = run("--color", "always", "verify", "lecun")
    assert code == 0 and ESC + b"32m" in out
    code, out, _ = run("verify", "lecun", "--color", "always")        # after the command too
    assert code == 0 and ESC in out
    code, out, _ = run("verify", "lecun")
    assert code == 0 and ESC not in out


def test_colour_policy():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    assert terminal.colour_wanted("auto", Tty(), {"TERM": "xterm"})
    assert not terminal.colour_wanted("auto", io.StringIO(), {"TERM": "xterm"})
    assert not terminal.colour_wanted("auto", Tty(), {"TERM": "xterm", "NO_COLOR": "1"})
    assert not terminal.colour_wanted("auto", Tty(), {"TERM": "dumb"})
    assert terminal.colour_wanted("always", io.StringIO(), {"NO_COLOR": "1", "TERM": "dumb"})
    assert not terminal.colour_wanted("never", Tty(), {})


# ------------------------------------------------------------------------------------------ progress

def test_crosscheck_shows_progress_on_a_terminal_and_clears_it(tmp_path):
    code, screen, piped = on_terminal("crosscheck", "--out", str(tmp_path), stdout_tty=False)
    assert code == 0, screen
    assert b"\r\x1b[2K" in screen and b"crosscheck" in screen
    assert screen.endswith(b"\r\x1b[2K")                        # cleared before the program ended
    assert b"\r" not in piped and ESC not in piped               # the output itself is clean
    assert b"framework formulas match" in piped


def test_no_progress_in_a_pipe(tmp_path):
    code, out, err = run("crosscheck", "--out", str(tmp_path))
    assert code == 0 and err == b"" and b"\r" not in out and ESC not in out


def test_progress_object():
    stream = _FakeTerminal()
    with terminal.Terminal(progress_stream=stream, progress_width=30).progress("witness") as progress:
        progress.update("a rather long description of the current step")
        progress._draw()
        drawn = stream.getvalue()
        assert drawn.startswith("\r\x1b[2K") and "witness" in drawn
        assert all(terminal.display_width(part) < 30 for part in drawn.split("\r\x1b[2K"))   # one line, never wrapped
    assert stream.getvalue().endswith("\r\x1b[2K")
    with terminal.Terminal().progress("nothing shown") as progress:       # stderr not a terminal: a no-op
        progress.update("x")


class _FakeTerminal(io.StringIO):
    def isatty(self):
        return True

    def fileno(self):
        raise OSError("no descriptor")
