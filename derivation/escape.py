"""Untrusted text (prose from derivation files) made safe for each output format.

Prose must appear literally: ``\\input{/etc/passwd}`` is printed, never executed, in every format.
A symbol's ``latex`` field is the one place a file may give LaTeX; it is checked against a whitelist.
"""

from __future__ import annotations

import re

_TEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", '"': r"\textquotedbl{}",
}
_TEX_PATTERN = re.compile("|".join(re.escape(c) for c in _TEX_SPECIALS))

_MD_PATTERN = re.compile(r"([\\`*_\[\]#|~$])")          # what can start Markdown markup inside a line
_MD_LINE_START = re.compile(r"^(\s*)([-+]|\d+\.)(?=\s)")     # what would start a list at a paragraph's start
_HTML_IN_MD = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}

SAFE_TEX_COMMANDS = frozenset("""
alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi rho sigma tau
upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega
mathrm mathbf mathit mathsf mathcal mathbb boldsymbol hat bar tilde vec dot ddot prime partial ell
""".split())
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+)")
_TEX_ALLOWED_CHARS = re.compile(r"[A-Za-z0-9{}^_ ,'+\-()\\]")


def tex_text(text: str) -> str:
    """Prose for LaTeX: every special character printed as itself. Control characters are dropped."""
    text = "".join(c for c in str(text) if c >= " " or c == "\n")
    escaped = _TEX_PATTERN.sub(lambda m: _TEX_SPECIALS[m.group(0)], text)
    return escaped.replace("--", "-{}-").replace("-{}--", "-{}-{}-")     # no en or em dash ligatures


def markdown_text(text: str) -> str:
    """Prose for Markdown: punctuation backslash-escaped, HTML specials as entities."""
    text = _MD_PATTERN.sub(r"\\\1", str(text))
    text = _MD_LINE_START.sub(lambda m: m.group(1) + (m.group(2)[:-1] + "\\." if m.group(2).endswith(".")
                                                       else "\\" + m.group(2)), text)
    return "".join(_HTML_IN_MD.get(c, c) for c in text)


def unsafe_tex(text: str) -> str | None:
    """What in a symbol's LaTeX is not allowed (the first offender), or None when it is safe."""
    for command in _TEX_COMMAND.findall(text):
        if command not in SAFE_TEX_COMMANDS:
            return f"the command \\{command}"
    for char in text:
        if not _TEX_ALLOWED_CHARS.match(char):
            return f"the character {char!r}"
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return "unbalanced braces"
    return "unbalanced braces" if depth else None
