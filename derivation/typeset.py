"""Mathematics for documents: SymPy's LaTeX and MathML printers, extended to read like the paper.

* Var[X] -> \\operatorname{Var}[\\,X\\,], E[X] -> \\mathbb{E}[\\,X\\,]; f'(u) with a prime.
* A layered variable (one that appears with two or more indices) puts its layer, the first index, as a
  superscript and its units as subscripts: z[i, j] -> z^{i}_{j}, W[i+1, k, j] -> W^{i+1}_{kj}, z[i] -> z^{i}.
* Sizes and other indexed names take subscripts: n[i+1] -> n_{i+1}, X[j] -> X_{j}.
* A gradient (declared gradient_of = "s") is written as a derivative: g[i, k] -> dL/ds^{i}_{k}.
* Sums keep their limits; U(lo, hi) and N(mu, sigma^2) read as \\mathcal{U}, \\mathcal{N}.
* MathML follows TeX's spacing and italics (n Var[W] with a thin space, f′ italic like f, a long name in
  italic letters); Markdown math uses only the forms GitHub documents: $`...`$ inline, ```math blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.pretty.pretty_symbology import greek_unicode

from .escape import SymbolTexError, markdown_tag, symbol_tex, tex_math_ascii
from .kernel import terms as v
from .kernel.derivation import Derivation, is_layered, written_arity

@dataclass(frozen=True)
class Notation:
    layered: frozenset[str] = frozenset()
    gradients: dict[str, str] = field(default_factory=dict)    # g -> s for g = dL/ds
    latex_names: dict[str, str] = field(default_factory=dict)  # user LaTeX for a name

    @classmethod
    def of(cls, derivation: Derivation) -> "Notation":
        expressions = [d.lhs for d in derivation.definitions] + [d.rhs for d in derivation.definitions]
        for step in derivation.steps:
            expressions += [step.claim] + ([step.start] if step.start is not None else [])
        arity = written_arity(derivation)
        defined = {d.lhs.base.name for d in derivation.definitions}
        written = {a.base.name for e in expressions for a in e.atoms(sp.Indexed) if len(a.indices) > 1}
        layered = {name for name in written | set(arity)               # the layer as a superscript: W^i_{jk}
                   if is_layered(name, derivation.symbols, defined, arity)
                   or (name in written and getattr(derivation.symbols.get(name), "kind", "") != "random")}
        gradients = {d.name: d.gradient_of for d in derivation.symbols.values() if d.gradient_of}
        names = {}
        for d in derivation.symbols.values():
            if d.latex:
                try:
                    names[d.name] = symbol_tex(d.latex)     # rebuilt by our grammar, never the file's text
                except SymbolTexError:
                    pass                                    # (the loader refuses it; typeset the plain name)
        return cls(frozenset(layered | set(gradients)), gradients, names)

    def split(self, x: sp.Indexed) -> tuple[str, sp.Expr | None, tuple]:
        """(name, layer or None, unit indices) for an indexed variable."""
        name = x.base.name
        if name in self.layered:
            return name, x.indices[0], x.indices[1:]
        return name, None, x.indices


def _units_tex(printer, units) -> str:
    parts = [printer._print(u) for u in units]
    return "".join(parts) if all(len(p) == 1 for p in parts) else ",".join(parts)


_BRACKETED_POWER = re.compile(r"^(\\left\(.*\\right\))(\^\{.*\})$", re.S)


class ProofLatexPrinter(LatexPrinter):
    """Terms and factors in the order given (claims are parsed in their written order)."""

    def __init__(self, notation: Notation, settings=None):
        # a long numerator over a short denominator prints as a coefficient (\frac{1}{2} \sum ...), which the
        # line breaking can split, instead of one fraction as wide as the whole line
        super().__init__({"order": "none", "long_frac_ratio": 12, **(settings or {})})
        self.notation = notation

    def _name(self, name: str) -> str:
        return self.notation.latex_names.get(name) or self._print(sp.Symbol(name))

    def _print_Symbol(self, expr, style="plain"):
        """A declared symbol with a ``latex`` field (d as d_{k}); every other name as SymPy prints it."""
        default = super()._print_Symbol(expr, style)
        declared = self.notation.latex_names.get(expr.name)
        while declared and declared.startswith("{") and declared.endswith("}") and declared[1:-1].count("{") == \
                declared[1:-1].count("}"):
            declared = declared[1:-1]                     # {\alpha} is \alpha, which SymPy prints already
        return declared if declared and declared != default else default

    def doprint(self, expr) -> str:
        return tex_math_ascii(super().doprint(expr))      # a symbol named σ as \sigma: pdflatex reads ASCII

    def _print_Indexed(self, expr):
        name, layer, units = self.notation.split(expr)
        if name in self.notation.gradients:
            inner = sp.Indexed(sp.IndexedBase(self.notation.gradients[name]), *expr.indices)
            return rf"\frac{{\partial{{L}}}}{{\partial{{{self._print(inner)}}}}}"
        tex = self._name(name)
        if layer is not None:
            tex += f"^{{{self._print(layer)}}}"
        if units:
            tex += f"_{{{_units_tex(self, units)}}}"
        return tex

    def _moment(self, name: str, expr, exp=None) -> str:
        inner = r",\ ".join(self._print(a) for a in expr.args)          # Cov[X, Y]: two arguments
        tex = rf"{name}\left[\,{inner}\,\right]"
        return tex if exp is None else rf"{{{tex}}}^{{{exp}}}"

    def _print_Var(self, expr, exp=None):
        return self._moment(r"\operatorname{Var}", expr, exp)

    def _print_E(self, expr, exp=None):
        return self._moment(r"\mathbb{E}", expr, exp)

    def _print_Cov(self, expr, exp=None):
        return self._moment(r"\operatorname{Cov}", expr, exp)

    def _print_Pow(self, expr, **kwargs):
        tex = super()._print_Pow(expr, **kwargs)
        # {\left(a + b\right)}^{2}: the bracketed base as a group, as chktex (and TeX spacing) prefer
        match = _BRACKETED_POWER.match(tex)
        return f"{{{match.group(1)}}}{match.group(2)}" if match else tex

    def _print_f(self, expr, exp=None):
        tex = rf"f\!\left({self._print(expr.args[0])}\right)"
        return tex if exp is None else rf"{{{tex}}}^{{{exp}}}"

    def _print_df(self, expr, exp=None):
        tex = rf"f'\!\left({self._print(expr.args[0])}\right)"
        return tex if exp is None else rf"\left({tex}\right)^{{{exp}}}"

    def _print_Uniform(self, expr, exp=None):
        lo, hi = (self._print(a) for a in expr.args)
        return rf"\mathcal{{U}}\!\left({lo},\, {hi}\right)"

    def _print_Normal(self, expr, exp=None):
        mu, sigma = (self._print(a) for a in expr.args)
        return rf"\mathcal{{N}}\!\left({mu},\, {sigma}^{{2}}\right)"


def readable(expr: sp.Expr) -> sp.Expr:
    """A computed expression in the conventional order of terms (i + 1, not SymPy's internal 1 + i).

    The printers keep terms in the order given, which is right for claims (parsed in display form, as
    written); a computed expression is printed in the derivation syntax, whose printer sorts terms
    conventionally, and parsed back in display form with the names it contains.
    """
    from .parser import Namespace, ParseError, parse
    from .printing import plain
    symbols = {s.name: s for s in expr.atoms(sp.Symbol)}
    indexed = {a.base.name: a.base for a in expr.atoms(sp.Indexed)}
    try:
        return parse(plain(expr), Namespace(symbols, indexed), display=True)
    except ParseError:
        return expr


def latex(expr: sp.Expr, notation: Notation = Notation()) -> str:
    """LaTeX math (ASCII only: non-ASCII names written as commands) for ``expr``."""
    return ProofLatexPrinter(notation).doprint(expr)


BREAK_WIDTH = 100    # estimated characters of a display line before it is broken


def width(expr: sp.Expr, notation: Notation) -> int:
    """A rough printed width: the one-line text form, plus room for gradients typeset as fractions."""
    from .printing import pretty
    gradients = sum(1 for a in expr.atoms(sp.Indexed) if a.base.name in notation.gradients)
    return len(pretty(expr)) + 6 * gradients


def latex_lines(expr: sp.Expr, notation: Notation = Notation(), limit: int = BREAK_WIDTH) -> list[str]:
    """``expr`` as one or more display lines: a long sum of terms, or a sum over j of a long bracket,
    is broken between terms (with \\biggl( ... \\biggr) spanning the lines); anything else stays whole."""
    printer = ProofLatexPrinter(notation)
    if width(expr, notation) <= limit:
        return [printer.doprint(expr)]
    opener, closer, body = "", "", expr
    if isinstance(expr, sp.Sum) and isinstance(v.peel(expr)[0], sp.Add):
        function, (var, lo, hi) = v.peel(expr)
        opener = rf"\sum_{{{printer._print(var)}={printer._print(lo)}}}^{{{printer._print(hi)}}} \biggl("
        closer, body = r"\biggr)", function
    if not isinstance(body, sp.Add):
        return [printer.doprint(expr)]
    lines, current, used = [], opener, 0
    for position, term in enumerate(body.args):
        negative = term.could_extract_minus_sign()
        text = printer._print(-term if negative else term)
        sign = "- " if negative else ("+ " if position else "")
        if used and used + width(term, notation) > limit * 0.6:
            lines.append(current)
            current, used = "", 0
        if sign and not current:
            sign = "{}" + sign           # a continuation row starts with a binary operator
        current += f" {sign}{text}" if current else f"{sign}{text}"
        used += width(term, notation)
    lines.append(current + closer)
    return [tex_math_ascii(line) for line in lines]


class ProofMathMLPrinter(MathMLPresentationPrinter):
    def __init__(self, notation: Notation, settings=None):
        super().__init__({"order": "none", **(settings or {})})
        self.notation = notation

    def doprint(self, expr) -> str:
        return _xml(_settle_fences(self._print(expr)))

    def _el(self, tag: str, text: str | None = None, *children):
        node = self.dom.createElement(tag)
        if text is not None:
            node.appendChild(self.dom.createTextNode(text))
        for child in children:
            node.appendChild(child)
        return node

    def _row(self, *children):
        return self._el("mrow", None, *children)

    def _ident(self, name: str):
        """A variable's name: one letter is italic by itself (MathML's math-auto), a longer name is written in
        mathematical italic letters, as TeX sets it (a multi-letter <mi> would be upright, like Var)."""
        name = greek_unicode.get(name, name)             # sigma as σ, as SymPy prints a symbol
        return self._el("mi", name if len(name) == 1 else _math_italic(name))

    def _print_Symbol(self, sym, style="plain"):
        node = super()._print_Symbol(sym, style)
        for mi in [node] if node.tagName == "mi" else node.getElementsByTagName("mi"):
            text = mi.firstChild.data if mi.firstChild is not None else ""
            if len(text) > 1:
                mi.firstChild.data = _math_italic(text)
        return node

    def _print_Indexed(self, expr):
        name, layer, units = self.notation.split(expr)
        if name in self.notation.gradients:
            inner = sp.Indexed(sp.IndexedBase(self.notation.gradients[name]), *expr.indices)
            top = self._row(self._el("mi", "∂"), self._el("mi", "L"))
            bottom = self._row(self._el("mi", "∂"), self._print(inner))
            return self._el("mfrac", None, top, bottom)
        base = self._ident(name)
        sub = self._row(*self._units(units)) if units else None
        if layer is not None and sub is not None:
            return self._el("msubsup", None, base, sub, self._print(layer))
        if layer is not None:
            return self._el("msup", None, base, self._print(layer))
        return self._el("msub", None, base, sub) if sub is not None else base

    # Sums, products and sums of terms in the order given, parenthesised only where needed.
    def _print_Add(self, expr):
        row = self.dom.createElement("mrow")
        for position, term in enumerate(expr.args):
            negative = term.could_extract_minus_sign()
            if position or negative:
                row.appendChild(self._el("mo", "−" if negative else "+"))
            row.appendChild(self._print(-term if negative else term))
        return row

    def _factor(self, factor):
        printed = self._print(factor)
        if isinstance(factor, (sp.Add, sp.Sum)) or (factor.is_Number and factor.is_negative):
            return self._el("mrow", None, self._el("mo", "("), printed, self._el("mo", ")"))
        return printed

    def _product(self, factors):
        row = self.dom.createElement("mrow")
        for position, factor in enumerate(factors):
            if position:
                row.appendChild(self._el("mo", "\u2062"))      # invisible times
                if _operator_like(factor):                      # n Var[W], not nVar[W]: TeX's thin space
                    row.appendChild(self._space(THIN_SPACE))
            row.appendChild(self._factor(factor))
        return row

    def _fence(self, char: str):
        node = self._el("mo", char)
        for name, value in (("stretchy", "true"), ("symmetric", "true"), ("minsize", BIG_FENCE),
                            ("maxsize", BIG_FENCE)):
            node.setAttribute(name, value)
        return node

    def _space(self, width: str):
        node = self.dom.createElement("mspace")
        node.setAttribute("width", width)
        return node

    def _print_Mul(self, expr):
        args = list(expr.args)
        if args and args[0] == -1:
            rest = args[1:]
            inner = self._print_Mul(sp.Mul(*rest, evaluate=False)) if len(rest) > 1 else self._factor(rest[0])
            return self._el("mrow", None, self._el("mo", "−"), inner)
        numerator = [a for a in args if not (a.is_Pow and a.exp.is_negative)]
        denominator = [sp.Pow(a.base, -a.exp, evaluate=False) if a.exp != -1 else a.base
                       for a in args if a.is_Pow and a.exp.is_negative]
        if not denominator:
            return self._product(numerator)
        top = self._product(numerator) if numerator else self._el("mn", "1")
        bottom = self._product(denominator) if len(denominator) > 1 else self._print(denominator[0])
        return self._el("mfrac", None, top, bottom)

    def _print_Pow(self, expr):
        if expr.exp.is_negative and expr.exp.is_number:        # x^(-p) as 1 / x^p
            positive = expr.base if expr.exp == -1 else sp.Pow(expr.base, -expr.exp, evaluate=False)
            return self._el("mfrac", None, self._el("mn", "1"), self._print(positive))
        return super()._print_Pow(expr)

    def _print_Sum(self, expr):
        function, (var, lo, hi) = v.peel(expr)
        sigma = self._el("munderover", None, self._el("mo", "∑"),
                         self._row(self._print(var), self._el("mo", "="), self._print(lo)), self._print(hi))
        return self._row(sigma, self._factor(function) if isinstance(function, sp.Add) else self._print(function))

    def _print_Order(self, expr):
        return self._bracketed(self._el("mi", "O"), self._print(expr.expr), left="(", right=")")

    def _units(self, units):
        out = []
        simple = all(isinstance(u, sp.Symbol) and len(u.name) == 1 for u in units)
        for position, unit in enumerate(units):
            if position and not simple:
                out.append(self._el("mo", ","))
            out.append(self._print(unit))
        return out

    def _bracketed(self, head, *inner, left="[", right="]"):
        return self._row(head, self._el("mo", left), *inner, self._el("mo", right))

    def _print_Var(self, expr):
        return self._bracketed(self._el("mi", "Var"), self._print(expr.args[0]))

    def _print_E(self, expr):
        return self._bracketed(self._el("mi", "𝔼"), self._print(expr.args[0]))

    def _print_Cov(self, expr):
        return self._bracketed(self._el("mi", "Cov"), self._print(expr.args[0]), self._el("mo", ","),
                               self._print(expr.args[1]))

    def _print_f(self, expr):
        return self._bracketed(self._el("mi", "f"), self._print(expr.args[0]), left="(", right=")")

    def _print_df(self, expr):
        # f and a prime, not <mi>f′</mi>: two characters in one <mi> are set upright, unlike f
        prime = self._row(self._el("mi", "f"), self._el("mo", "′"))
        return self._bracketed(prime, self._print(expr.args[0]), left="(", right=")")

    def _law(self, symbol, first, second):
        return self._bracketed(self._el("mi", symbol), first, self._el("mo", ","), second, left="(", right=")")

    def _print_Uniform(self, expr):
        return self._law("𝒰", *(self._print(a) for a in expr.args))

    def _print_Normal(self, expr):
        sigma2 = self._el("msup", None, self._print(expr.args[1]), self._el("mn", "2"))
        return self._law("𝒩", self._print(expr.args[0]), sigma2)


def _xml(node) -> str:
    """A DOM node as XML with every non-ASCII character as a character reference (as SymPy's doprint)."""
    return node.toxml().encode("ascii", "xmlcharrefreplace").decode("ascii")


_TALL = frozenset("mfrac munderover munder mover msqrt mroot mtable".split())
_OPENING, _CLOSING = "([{", ")]}"


def _tall(node) -> bool:
    return node.tagName in _TALL or any(node.getElementsByTagName(tag) for tag in _TALL)


def _settle_fences(root):
    """Brackets around flat content (f(0), Var[W], a script) made non-stretchy: a browser stretches a bracket
    to the height of its row, symmetric about the axis, which for one line of text picks a larger glyph with
    loose sides (f ( 0 )); brackets around fractions, sums and roots still grow, as TeX's \\left does."""
    for parent in [root, *root.getElementsByTagName("*")]:
        children = [c for c in parent.childNodes if c.nodeType == c.ELEMENT_NODE]
        opened = []
        for position, child in enumerate(children):
            text = child.firstChild.data if child.tagName == "mo" and child.firstChild is not None else ""
            if text in _OPENING and text:
                opened.append(position)
            elif text in _CLOSING and text and opened:
                start = opened.pop()
                sized = children[start].hasAttribute("minsize")     # a \\biggl( of mathml_lines: left alone
                if not sized and not any(_tall(inner) for inner in children[start + 1: position]):
                    children[start].setAttribute("stretchy", "false")
                    child.setAttribute("stretchy", "false")
    return root


THIN_SPACE = "0.1667em"      # TeX's \\, : the space between a factor and an operator name


def _operator_like(factor) -> bool:
    """Whether a factor begins with an operator name or a big operator (Var, E, f, ∑), which TeX sets a thin
    space from the factor before it."""
    base = factor.base if factor.is_Pow else factor
    return isinstance(base, (sp.Sum, sp.Product, sp.Integral, sp.Function))


def _math_italic(text: str) -> str:
    """Latin letters as MATHEMATICAL ITALIC letters (what MathML's math-auto does to a one-letter <mi>)."""
    out = []
    for char in text:
        if "a" <= char <= "z":
            out.append("\u210e" if char == "h" else chr(0x1D44E + ord(char) - ord("a")))
        elif "A" <= char <= "Z":
            out.append(chr(0x1D434 + ord(char) - ord("A")))
        else:
            out.append(char)
    return "".join(out)


def _math_element(body: str, display: bool | str) -> str:
    """``display``: True for a centred display (display="block"), "cell" for display style laid out inline
    (big operators with their limits above and below, placed by the surrounding CSS), False for inline."""
    mode = ' display="block"' if display is True else ' displaystyle="true"' if display == "cell" else ""
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML"{mode}>{body}</math>'


def mathml(expr: sp.Expr, notation: Notation = Notation(), display: bool | str = True) -> str:
    """A complete <math> element (MathML Core) for ``expr``."""
    return _math_element(ProofMathMLPrinter(notation).doprint(expr), display)


BIG_FENCE = "2.4em"         # TeX's \\biggl( ... \\biggr): one size for a bracket whose halves are on different rows


def mathml_lines(expr: sp.Expr, notation: Notation = Notation(), limit: int = BREAK_WIDTH) -> list[str]:
    """``expr`` as one or more <math> rows for a chain's right-hand column, broken where latex_lines breaks the
    PDF's (between the terms of a long sum; a sum over j of a long bracket keeps its bracket, sized like
    \\biggl( ... \\biggr), across the rows); each continuation row starts with its binary + or −."""
    if width(expr, notation) <= limit:
        return [mathml(expr, notation, display="cell")]
    printer = ProofMathMLPrinter(notation)
    opener, closer, body = [], [], expr
    if isinstance(expr, sp.Sum) and isinstance(v.peel(expr)[0], sp.Add):
        function, (var, lo, hi) = v.peel(expr)
        sigma = printer._el("munderover", None, printer._el("mo", "∑"),
                            printer._row(printer._print(var), printer._el("mo", "="), printer._print(lo)),
                            printer._print(hi))
        opener, closer, body = [sigma, printer._fence("(")], [printer._fence(")")], function
    if not isinstance(body, sp.Add):
        return [mathml(expr, notation, display="cell")]
    rows, current, used = [], list(opener), 0
    for position, term in enumerate(body.args):
        negative = term.could_extract_minus_sign()
        if used and used + width(term, notation) > limit * 0.6:
            rows.append(current)
            current, used = [], 0
        if negative or position:
            sign = printer._el("mo", "−" if negative else "+")
            if not current:
                sign.setAttribute("form", "infix")         # a binary operator, spaced so, at a row's start
            current.append(sign)
        current.append(printer._print(-term if negative else term))
        used += width(term, notation)
    rows.append(current + closer)
    return [_math_element(_xml(_settle_fences(printer._row(*row))), "cell") for row in rows]


_TOKEN = re.compile(r"[A-Za-z]|[0-9.]+|[⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻]+|\S")
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+−")


def _tokens(printer: "ProofMathMLPrinter", text: str) -> list:
    """A short formula written as text by our code ("f′(0⁺)", "f(−x) + f(x)") as MathML tokens: letters as
    identifiers (italic, like every other variable), digits as numbers, superscript characters raised, the
    rest as operators."""
    out = []
    for token in _TOKEN.findall(text):
        if token[0] in "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻" and out:
            raised = token.translate(_SUPERSCRIPTS)
            script = printer._el("mn" if raised.isdigit() else "mo", raised)
            out[-1] = printer._el("msup", None, out[-1], script)
        elif token.isalpha():
            out.append(printer._el("mi", token))
        elif token[0].isdigit():
            out.append(printer._el("mn", token))
        else:
            node = printer._el("mo", token)
            if token in "+−-" and (not out or out[-1].tagName == "mo"):
                node.setAttribute("form", "prefix")                 # the sign of −x, not a binary minus
            out.append(node)
    return out


def mathml_sequence(items, notation: Notation = Notation(), display: bool | str = False) -> str:
    """One <math> element from a sequence of SymPy expressions and ("mo" | "mtext" | "tokens", text) or
    ("mspace", width) pairs, e.g. [W[i], ("mo", "∼"), law] for W ~ law; "tokens": a formula our code wrote as
    text, such as "f′(0)".
    Texts are escaped by the DOM."""
    printer = ProofMathMLPrinter(notation)
    row = printer.dom.createElement("mrow")
    for item in items:
        if isinstance(item, tuple):
            tag, text = item
            nodes = _tokens(printer, text) if tag == "tokens" else [printer._space(text)] if tag == "mspace" \
                else [printer._el(tag, text)]
            for node in nodes:
                row.appendChild(node)
        else:
            row.appendChild(printer._print(item))
    return _math_element(_xml(_settle_fences(row)), display)


# --- Markdown: math in the two forms GitHub documents, $`...`$ inline and ```math blocks --------------------

_MD_MATH = {"\\|": r"\Vert ", "|": r"\vert ", "<": r"\lt ", ">": r"\gt ", "$": r"\$", "`": r"\grave{}"}
_MD_MATH_PATTERN = re.compile(r"\\\||[|<>$`]")


def markdown_math(tex: str) -> str:
    """LaTeX from our printers made safe to carry in Markdown: no '|' to split a table cell, no '<' that a
    renderer could take for HTML, no '$' to end the math and no backtick to end the code span around it."""
    return _MD_MATH_PATTERN.sub(lambda m: _MD_MATH[m.group(0)], tex)


def markdown_inline(tex: str) -> str:
    """Inline math as GitHub writes it, $`...`$: to CommonMark a code span, so no emphasis, escape or HTML
    processing touches the LaTeX inside; GitHub and GitLab typeset it with MathJax / KaTeX."""
    return f"$`{markdown_math(tex)}`$"


def markdown_aligned(rows) -> str:
    """Display math for a ```math block: ``rows`` of (left, relation, right, tag) LaTeX, set as one
    ``aligned`` environment lined up at the relations; a tag (plain text, already safe: see
    escape.markdown_tag) in a column of its own beside its row (MathJax allows no \\tag inside aligned)."""
    lines = []
    for left, relation, right, tag in rows:
        line = " ".join(part for part in (left, "&" + relation, right) if part)
        if tag:
            line += rf" && \text{{{tag}}}"
        lines.append(markdown_math(line))
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def _continued(rows: list[str], first_left: str, relation: str, tag: str) -> list[tuple[str, str, str, str]]:
    """The display lines of one side as aligned rows: the first after ``first_left`` and the relation, the
    others indented as a continuation (as in the PDF); the tag beside the last."""
    return [(first_left if position == 0 else "", relation if position == 0 else r"\qquad", row,
             tag if position == len(rows) - 1 else "") for position, row in enumerate(rows)]


def markdown_chain(lines, notation: Notation = Notation()) -> str:
    """A section's equation chain (document.Line objects) as one ``aligned`` display, aligned at = and ≈
    like the PDF's align*: each step's rows tagged with its id; a step that failed tagged 'not verified',
    with what its rule derives in a row of its own below it."""
    rows = []
    for line in lines:
        step = markdown_tag(line.step_id)
        left = latex(line.left, notation) if line.left is not None else ""
        rows += _continued(latex_lines(line.right, notation), left, line.relation_tex,
                           f"({step})" if line.ok else f"({step}) not verified")
        if not line.ok and line.derived is not None:
            derived_left = getattr(line, "derived_left", None)     # a derived equation: its own left side
            derived = getattr(line, "derived_right", line.derived)
            rows += _continued(latex_lines(derived, notation),
                               latex(derived_left, notation) if derived_left is not None else "", "=",
                               f"({step}) what the rule derives")
    return markdown_aligned(rows)


def markdown_results(results, notation: Notation = Notation()) -> str:
    """The results (document.Result objects) as one ``aligned`` display, as in the PDF's box."""
    rows = []
    for r in results:
        tag = "" if r.ok else "not established"
        if r.law is not None:
            rows.append((latex(r.variable, notation), r"\sim", rf"{latex(r.law, notation)}, \qquad "
                         f"{latex(r.claim.lhs, notation)} = {latex(r.claim.rhs, notation)}", tag))
        elif r.equation:
            rows.append((latex(r.claim.lhs, notation), "=", latex(r.claim.rhs, notation), tag))
        else:
            rows.append(("", "", latex(r.claim, notation), tag))
    return markdown_aligned(rows)
