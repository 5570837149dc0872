"""Untrusted text (prose from derivation files) made safe for each output format.

Prose must appear literally: ``\\input{/etc/passwd}`` is printed, never executed, in every format, and ordinary
text never breaks a document: a newline (or a blank line) is a space, every TeX special is printed as itself, and
a character the PDF's fonts cannot show is written with a command that shows it (σ -> $\\sigma$) or, failing
that, as a visible ``?``. A symbol's ``latex`` field is the one place a file may give LaTeX: it is parsed by a
small grammar (letters, digits, Greek letters, a few font commands and accents, sub- and superscripts) and
written out again by :func:`symbol_tex`, so no text of the file reaches TeX unread (TeX's ``^^5c`` notation, a
backslash, is not in the grammar).
"""

from __future__ import annotations

import re
import unicodedata

_TEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", '"': r"\textquotedbl{}",
    "`": r"\textasciigrave{}", "\u00a0": "~", "\u00ad": r"\-",
}

# Non-ASCII characters that T1 fonts (Latin Modern) show under [utf8]inputenc, written as themselves: Latin-1
# and Latin Extended-A (the few LaTeX leaves undefined left out), common punctuation and currency.
_TEX_NATIVE = frozenset(
    "¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¹º»¼½¾¿ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ"
    "ĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİıĲĳĴĵĶķĹĺĻļĽľŁłŃńŅņŇňŊŋŌōŎŏŐőŒœŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪū"
    "ŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžȘșȚț‘’‚“”„†‡•‰‹›€™←↑→↓")

# Greek letters by name; those whose capital is a Latin letter are written as that letter.
_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "varepsilon", "ϵ": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ϑ": "vartheta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu",
    "ξ": "xi", "ο": "o", "π": "pi", "ϖ": "varpi", "ρ": "rho", "ϱ": "varrho", "σ": "sigma", "ς": "varsigma",
    "τ": "tau", "υ": "upsilon", "φ": "varphi", "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
    "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma",
    "Υ": "Upsilon", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}
_GREEK_AS_LATIN = dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΧ", "ABEZHIKMNOPTX"))

# Mathematical symbols: what each is in math mode.
_MATH_SYMBOLS = {
    "≈": r"\approx", "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "±": r"\pm", "∓": r"\mp", "×": r"\times",
    "·": r"\cdot", "⋅": r"\cdot", "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "√": r"\surd", "∞": r"\infty",
    "∂": r"\partial", "∇": r"\nabla", "∈": r"\in", "∉": r"\notin", "∼": r"\sim", "≡": r"\equiv",
    "∝": r"\propto", "∀": r"\forall", "∃": r"\exists", "′": r"\prime", "″": r"\prime\prime", "−": "-",
    "↦": r"\mapsto", "⇒": r"\Rightarrow", "⇔": r"\Leftrightarrow", "→": r"\to", "←": r"\leftarrow",
    "ℝ": r"\mathbb{R}", "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}", "𝔼": r"\mathbb{E}", "≪": r"\ll", "≫": r"\gg",
    "⊂": r"\subset", "⊆": r"\subseteq", "∪": r"\cup", "∩": r"\cap", "∅": r"\emptyset", "∘": r"\circ",
    "ℓ": r"\ell", "⟨": r"\langle", "⟩": r"\rangle", "°": r"^{\circ}", "∧": r"\wedge", "∨": r"\vee",
    "¬": r"\neg", "⊥": r"\perp", "∥": r"\parallel", "≔": r"\coloneqq", "÷": r"\div", "²": "^{2}",
    "³": "^{3}", "¹": "^{1}", "½": r"\tfrac{1}{2}", "∖": r"\setminus",
}
_MATH_SYMBOLS["≔"] = ":="
# Text punctuation without a T1 glyph of its own.
_TEXT_SYMBOLS = {"…": r"\ldots{}", "–": r"\textendash{}", "—": r"\textemdash{}", "‐": "-", "‑": "-",
                 "‒": r"\textendash{}", "―": r"\textemdash{}",
                 "\u2009": r"\,", "\u202f": r"\,", "\u2002": r"\enspace{}", "\u2003": r"\quad{}",
                 "\u2007": "~", "\u2060": "", "\u200b": ""}

_WHITESPACE = re.compile(r"\s+")


def one_line(text: str) -> str:
    """Prose as one line: newlines, tabs and runs of spaces become one space, combining accents are joined
    to their letters (NFC)."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", str(text)))


def _visible(char: str) -> bool:
    """Printable: not a control, format (bidi, zero-width), surrogate or unassigned character."""
    return unicodedata.category(char)[0] != "C"


def tex_char_text(char: str) -> str:
    """One character for LaTeX text mode: itself, a command that shows it, or a visible '?'."""
    if " " <= char <= "~":
        return _TEX_SPECIALS.get(char, char)
    if char in _TEX_SPECIALS:
        return _TEX_SPECIALS[char]
    if char in _TEX_NATIVE:
        return char
    if char in _TEXT_SYMBOLS:
        return _TEXT_SYMBOLS[char]
    math = tex_char_math(char)
    return "?" if math == "?" else f"${math}$"


def tex_char_math(char: str) -> str:
    """One non-ASCII character for LaTeX math mode: a command (braced, so no letter can extend it) or '?'."""
    if char in _GREEK:
        return "{\\" + _GREEK[char] + "}"
    if char in _GREEK_AS_LATIN:
        return r"\mathrm{" + _GREEK_AS_LATIN[char] + "}"
    if char in _MATH_SYMBOLS:
        return "{" + _MATH_SYMBOLS[char] + "}"
    return "?"


_LIGATURES = re.compile(r"(?<=-)(?=-)|(?<=')(?=')|(?<=,)(?=,)")     # -- ---, '' and ,, are ligatures in T1


TEX_LINE = 400      # characters of TeX source before a line break (a 1 MB line is beyond TeX's buffer)


def tex_text(text: str) -> str:
    """Prose for LaTeX text mode: every character printed as itself (specials escaped, no ligature turns
    -- into a dash), non-ASCII mapped to what the fonts can show, one paragraph (a blank line is a space).
    Long text is broken into source lines by a comment ('%' and newline), which TeX reads as nothing."""
    pieces, run = [], 0
    for char in one_line(text):
        piece = tex_char_text(char)
        if run >= TEX_LINE and not piece.startswith("{") and not (pieces and pieces[-1].endswith("\\")):
            pieces.append("%\n")
            run = 0
        pieces.append(piece)
        run += len(piece)
    return _LIGATURES.sub("{}", "".join(pieces))


def tex_math_ascii(tex: str) -> str:
    """LaTeX math from our printers with every non-ASCII character (a symbol named σ) written as a command."""
    if tex.isascii():
        return tex
    return "".join(c if c.isascii() else tex_char_math(unicodedata.normalize("NFC", c)) for c in tex)


_MD_PATTERN = re.compile(r"([\\`*_\[\]#|~$])")          # what can start Markdown markup inside a line
_MD_LINE_START = re.compile(r"^( ?)([-+=]|\d{1,9}[.)])")    # what would start a list, a heading underline, a rule
_HTML_IN_MD = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown_text(text: str) -> str:
    """Prose for Markdown, on one line: punctuation backslash-escaped, HTML specials as entities, nothing at the
    start that could open a list, a heading or a rule, and no newline that could start any other block."""
    text = "".join(c if _visible(c) else "?" for c in one_line(text))
    text = _MD_PATTERN.sub(r"\\\1", text)
    text = _MD_LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)
    return "".join(_HTML_IN_MD.get(c, c) for c in text)


def markdown_url(name: str) -> str:
    """A relative link target for Markdown (an image beside the document): every byte outside letters,
    digits and ``-._~`` percent-encoded, so no space, parenthesis, '<' or scheme (``javascript:``) survives."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-._~") else
                   "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in str(name))


_MD_TAG_SAFE = re.compile(r"[A-Za-z0-9 .,:;()'+\-]")


def markdown_tag(text: str) -> str:
    """A label for ``\\tag{...}`` inside Markdown display math (read by MathJax or KaTeX as text): letters,
    digits and plain punctuation as themselves, anything else (braces, $, backslashes, <) as '?'."""
    return "".join(c if _MD_TAG_SAFE.fullmatch(c) else "?" for c in one_line(text).strip(" ")) or "?"


# --- the symbol `latex` field: a closed grammar, written out again by our code -----------------------------

GREEK_COMMANDS = frozenset("""
alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi varpi rho varrho
sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega
""".split())
SYMBOL_COMMANDS = frozenset("partial ell prime nabla infty imath jmath hbar".split())
FONT_COMMANDS = frozenset("mathrm mathbf mathit mathsf mathtt mathcal mathbb mathfrak boldsymbol".split())
ACCENT_COMMANDS = frozenset("hat bar tilde vec dot ddot check breve widehat widetilde overline".split())
SAFE_TEX_COMMANDS = GREEK_COMMANDS | SYMBOL_COMMANDS | FONT_COMMANDS | ACCENT_COMMANDS
_PLAIN_MATH = frozenset("+-(),")
MAX_SYMBOL_TEX = 120
_MAX_DEPTH = 8


class SymbolTexError(ValueError):
    """A symbol's ``latex`` is outside the grammar (the message says what, without quoting TeX at length)."""


class _SymbolTex:
    """Recursive descent over ``text``; each method returns the LaTeX our code writes for what it read."""

    def __init__(self, text: str):
        self.text, self.at, self.depth = text, 0, 0

    def peek(self) -> str:
        while self.at < len(self.text) and self.text[self.at] == " ":
            self.at += 1
        return self.text[self.at] if self.at < len(self.text) else ""

    def sequence(self, closing: str = "") -> str:
        out = []
        while (char := self.peek()) and char != closing:
            if char == "}":
                raise SymbolTexError("unbalanced braces")
            out.append(self.item())
        return "".join(out)         # commands are braced ({\sigma}), so no letter can extend one

    def item(self) -> str:
        """A base, its primes, at most one subscript and one superscript."""
        base = self.base()
        primes, scripts = 0, {}
        while (char := self.peek()) in ("'", "_", "^") and char:
            self.at += 1
            if char == "'":
                if "^" in scripts:
                    raise SymbolTexError("a prime after a superscript")
                primes += 1
                continue
            if char in scripts:
                raise SymbolTexError("a double subscript" if char == "_" else "a double superscript")
            scripts[char] = self.argument()
        sup = r"\prime " * primes + scripts.get("^", "")
        return base + (f"^{{{sup.strip()}}}" if sup else "") + (f"_{{{scripts['_']}}}" if "_" in scripts else "")

    def base(self) -> str:
        char = self.peek()
        if char == "\\":
            return self.command()
        if char == "{":
            return self.group()
        if char.isascii() and char.isalnum() or char in _PLAIN_MATH:
            self.at += 1
            return char
        if char in ("^", "_", "'"):
            raise SymbolTexError(f"{char} with nothing before it (only a letter, digit, command or group takes it)")
        raise SymbolTexError(f"the character {char!r}")

    def argument(self) -> str:
        """What a script or a font command takes: one letter or digit, one command, or a {group}."""
        char = self.peek()
        if char == "{":
            return self.group()[1:-1]
        if char == "\\":
            return self.command()
        if char.isascii() and char.isalnum():
            self.at += 1
            return char
        if char == "^":
            raise SymbolTexError("^^ (a superscript is one letter, digit or command, or a {group})")
        raise SymbolTexError(f"{char!r} after a script or a command (expected one letter, digit or command, "
                             "or a {group})" if char else "nothing after a script or a command")

    def group(self) -> str:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise SymbolTexError("braces nested too deep")
        self.at += 1
        inner = self.sequence("}")
        if self.peek() != "}":
            raise SymbolTexError("unbalanced braces")
        self.at += 1
        self.depth -= 1
        return "{" + inner + "}"

    def command(self) -> str:
        match = re.compile(r"\\([A-Za-z]+)").match(self.text, self.at)
        if match is None:
            raise SymbolTexError(f"the command \\{self.text[self.at + 1: self.at + 2]}")
        name = match.group(1)
        if name not in SAFE_TEX_COMMANDS:
            raise SymbolTexError(f"the command \\{name[:30]}")
        self.at = match.end()
        if name in FONT_COMMANDS or name in ACCENT_COMMANDS:
            return f"\\{name}{{{self.argument()}}}"
        return f"{{\\{name}}}"


def symbol_tex(text: str) -> str:
    """A symbol's ``latex`` field, read by the grammar and written by our code as one braced group (so scripts
    added after it cannot clash): ``"\\\\sigma_w"`` -> ``{{\\sigma}_{w}}``. SymbolTexError when it is outside."""
    text = str(text)
    if len(text) > MAX_SYMBOL_TEX:
        raise SymbolTexError(f"more than {MAX_SYMBOL_TEX} characters")
    if not text.strip():
        raise SymbolTexError("nothing to typeset")
    reader = _SymbolTex(text)
    out = reader.sequence()
    if reader.peek():
        raise SymbolTexError("unbalanced braces")
    return "{" + out + "}"


def unsafe_tex(text: str) -> str | None:
    """What in a symbol's LaTeX is not allowed (the first offender), or None when the grammar reads it (or
    there is none: an empty field means the name is typeset as it is)."""
    if not str(text).strip():
        return None
    try:
        symbol_tex(text)
    except SymbolTexError as exc:
        return str(exc)
    return None
