import sympy as sp

from derivation.kernel import terms as v
from derivation.escape import markdown_text, tex_text, unsafe_tex
from derivation.typeset import Notation, latex, latex_lines, mathml, readable

i, j, k = sp.symbols("i j k", integer=True)
z, W, g, s = (sp.IndexedBase(name, real=True) for name in "zWgs")
n = sp.IndexedBase("n", positive=True, integer=True)
X = sp.IndexedBase("X", real=True)
NOTATION = Notation(frozenset("zWgs"), {"g": "s"})


def test_layers_are_superscripts_units_subscripts():
    assert latex(z[i, j], NOTATION) == "z^{i}_{j}"
    assert latex(readable(W[i + 1, k, j]), NOTATION) == "W^{i + 1}_{kj}"
    assert latex(W[i + 1, k, j], NOTATION) in ("W^{1 + i}_{kj}", "W^{i + 1}_{kj}")   # as given
    assert latex(z[i], NOTATION) == "z^{i}"
    assert latex(readable(n[i + 1]), NOTATION) == "n_{i + 1}"
    assert latex(X[j], NOTATION) == "X_{j}"


def test_moments_and_gradients_read_like_the_paper():
    assert latex(v.Var(z[i, j]), NOTATION) == r"\operatorname{Var}\left[\,z^{i}_{j}\,\right]"
    assert latex(v.E(z[i, j]) ** 2, NOTATION) == r"{\mathbb{E}\left[\,z^{i}_{j}\,\right]}^{2}"
    assert latex(g[i, k], NOTATION) == r"\frac{\partial{L}}{\partial{s^{i}_{k}}}"
    assert r"\sum_{j=1}^{n_{i}}" in latex(sp.Sum(z[i, j], (j, 1, n[i])), NOTATION)
    assert latex(v.df(s[i, k]), NOTATION) == r"f'\!\left(s^{i}_{k}\right)"


def test_long_sums_break_between_terms():
    body = sum(v.Var(g[i + 1, j]) * v.E(W[i + 1, k, j]) ** m for m in (1, 2, 3, 4))
    rows = latex_lines(sp.Sum(body, (j, 1, n[i + 2])), NOTATION)
    assert len(rows) > 1 and r"\biggl(" in rows[0] and rows[-1].endswith(r"\biggr)")
    assert all(row.startswith("{}+") for row in rows[1:])
    assert latex_lines(z[i, j], NOTATION) == ["z^{i}_{j}"]


def test_mathml_structure():
    out = mathml(W[i + 1, k, j], NOTATION)
    assert out.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">')
    assert "<msubsup><mi>W</mi>" in out
    assert "<mfrac>" in mathml(g[i, k], NOTATION)
    assert "<mfrac><mn>1</mn>" in mathml(sp.Pow(n[i], -1, evaluate=False), NOTATION)


def test_prose_escaping():
    assert tex_text(r"\input{/etc/passwd} 50% a_b & c # $ ~ ^") == (
        r"\textbackslash{}input\{/etc/passwd\} 50\% a\_b \& c \# \$ \textasciitilde{} \textasciicircum{}")
    assert tex_text("--slope and ---") == "-{}-slope and -{}-{}-"
    assert markdown_text("<script>alert(1)</script> *x* a_b") == r"&lt;script&gt;alert(1)&lt;/script&gt; \*x\* a\_b"
    assert markdown_text("1. not a list") == r"1\. not a list"


def test_symbol_latex_whitelist():
    assert unsafe_tex(r"\sigma") is None and unsafe_tex(r"\mathbf{x}") is None
    assert "input" in unsafe_tex(r"\input{/etc/passwd}")
    assert "write" in unsafe_tex(r"\write18{rm -rf /}")
    assert unsafe_tex(r"\mathbf{x") == "unbalanced braces"
    assert unsafe_tex("x%") is not None
