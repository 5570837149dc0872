"""Messages that help (issue 11, part 4): every result renders, ratios free of random variables are shown, bound
indices keep their names, swapped fans are named in `verify`, and one failing step marks only its dependents.
Each test runs the command line on a derivation file written here, or calls the report functions."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import sympy as sp
from conftest import GLOROT_TEXT, replace_field

from derivation.kernel import terms as v
from derivation.report import named

SAMPLE = '''title = "Variance of a sample mean"

[symbols]
j = { kind = "index", text = "sample" }
N = { kind = "size", text = "number of samples" }
p = { kind = "positive", text = "a factor" }
X = { kind = "random", text = "X[j]: sample j" }

[assumptions.iid]
title = "i.i.d. samples"
statement = "the samples X[j] are independent and identically distributed"
independent = ["X"]
iid = ["X"]

[[sections]]
title = "Sample mean"
'''


def step(id_, rule, claim, start=None, inputs=None, result=False) -> str:
    lines = ["", "[[sections.steps]]", f'id = "{id_}"', f'rule = "{rule}"', 'uses = ["iid"]', f'claim = "{claim}"']
    if start is not None:
        lines.append(f'start = "{start}"')
    if inputs is not None:
        lines.append("from = [" + ", ".join(f'"{i}"' for i in inputs) + "]")
    if result:
        lines.append("result = true")
    return "\n".join(lines) + "\n"


START = "Var[Sum(X[j], (j, 1, N))/N]"
S1 = step("S1", "variance additivity", "Sum(Var[X[j]], (j, 1, N))/N**2", start=START)


def run(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "derivation", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_results_that_are_not_equations_render_in_every_format(tmp_path):
    # S2 ends a chain (it has a subject), S3 combines from S1 (no subject), both expressions, not equations
    text = SAMPLE + S1 + step("S2", "iid summation", "Var[X]/N", result=True) \
        + step("S3", "iid summation", "Var[X]/N", inputs=["S1"], result=True)
    path = write(tmp_path, "mean.toml", text)
    verified = run("verify", path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "  Var[Σ_{j=1..N}(X[j])/N] = Var[X]/N\n" in verified.stdout       # with its chain's subject
    assert "\n  Var[X]/N\n" in verified.stdout                               # no subject: the claim alone
    out = tmp_path / "out"
    rendered = run("render", path, "--format", "md", "html", "tex", "--out", str(out))
    assert rendered.returncode == 0 and "Traceback" not in rendered.stderr, rendered.stderr
    md = (out / "mean.md").read_text(encoding="utf-8")
    results = md.split("**Theorem.**", 1)[1].split("## Notation", 1)[0]
    assert results.count("```math\n") == 1 and results.count(" \\\\\n") == 1         # one display, two rows
    assert "\\operatorname{Var}\\left[\\,\\frac{\\sum_{j=1}^{N}" in results
    assert "not established" not in results
    html = (out / "mean.html").read_text(encoding="utf-8")
    box = html.split('class="box theorem"', 1)[1].split("<h2>", 1)[0]
    assert box.count('<div class="step') == 2 and box.count('<div class="lhs"></div>') == 1   # S3 has no left side
    tex = (out / "mean.tex").read_text(encoding="utf-8")
    theorem = tex.split("\\textbf{Theorem.}", 1)[1].split("\\end{tabular}", 1)[0]
    rows = [row for row in theorem.split("\\begin{tabular}", 1)[1].split("\\\\") if "displaystyle" in row]
    assert len(rows) == 2 and rows[1].strip().startswith("& $\\displaystyle")        # S3 has no left side
    listed = json.loads(run("verify", path, "--json").stdout)["results"]
    assert [r["statement"]["text"] for r in listed] == ["Var[Sum(X[j], (j, 1, N))/N] == Var[X]/N", "Var[X]/N"]


def test_a_result_from_a_law_without_a_variable_renders(tmp_path):
    # glorot's D3 (Var[Uniform(-a, a)] = a**2/3, a chain's expression) marked as a result
    text = GLOROT_TEXT.replace('claim = "a**2/3"\n', 'claim = "a**2/3"\nresult = true\n')
    assert text != GLOROT_TEXT
    out = tmp_path / "out"
    rendered = run("render", write(tmp_path, "g.toml", text), "--format", "md", "html", "--out", str(out))
    assert rendered.returncode == 0 and "Traceback" not in rendered.stderr, rendered.stderr
    md = (out / "g.md").read_text(encoding="utf-8")
    results = md.split("**Theorem.**", 1)[1].split("## Notation", 1)[0]
    assert "\\operatorname{Var}\\left[\\,\\mathcal{U}\\!\\left(- a,\\, a\\right)\\,\\right] &= \\frac{a^{2}}{3}" in results


def test_a_ratio_free_of_random_variables_is_shown(tmp_path):
    text = SAMPLE + step("S1", "variance additivity", "sqrt(N)*Sum(Var[X[j]], (j, 1, N))",
                         start="Var[Sum(X[j], (j, 1, N))]") \
        + step("S2", "iid summation", "(1 - p)*N*Var[X]", result=True)
    out = run("verify", write(tmp_path, "ratio.toml", text)).stdout
    assert "claimed / derived = √(N)" in out and "claimed / derived = 1 - p" in out
    assert "claimed / derived = 3/2" in run("verify", write(tmp_path, "num.toml", SAMPLE + step(
        "S1", "variance additivity", "3*Sum(Var[X[j]], (j, 1, N))/(2*N**2)", start=START))).stdout


def test_a_ratio_with_a_random_variable_or_a_moment_is_not_shown(tmp_path):
    # the ratio X[1] (a random variable outside any moment) and a ratio in moments are left out
    text = SAMPLE + step("S1", "variance additivity", "Sum(Var[X[j]], (j, 1, N)) + Var[X[1]]**2",
                         start="Var[Sum(X[j], (j, 1, N))]")
    out = run("verify", write(tmp_path, "moment.toml", text)).stdout
    assert "✗ S1" in out and "claimed - derived" in out and "claimed / derived" not in out
    glorot = GLOROT_TEXT + '''
[[sections]]
title = "Extra"

[[sections.steps]]
id = "X1"
rule = "definition"
start = "z[i+1, k]"
claim = "z[i, 1]*f(Sum(z[i, j]*W[i, j, k], (j, 1, n[i])) + b[i, k])"
'''
    document = json.loads(run("verify", write(tmp_path, "rv.toml", glorot), "--json").stdout)
    x1 = next(s for s in document["steps"] if s["id"] == "X1")
    assert x1["verdict"] in ("wrong", "unproven") and x1["difference"] and x1["ratio"] is None


def test_a_claim_inside_a_sum_prints_no_dummy(tmp_path):
    text = replace_field(GLOROT_TEXT, "F4", "claim", "Sum(2*Var[z[i, j]]*Var[W[i, j, k]], (j, 1, n[i]))")
    path = write(tmp_path, "g.toml", text)
    out = run("verify", path).stdout
    assert "claimed - derived = Σ_{j=1..n[i]}(Var[W[i, j, k]]·Var[z[i, j]])" in out
    assert "_s0" not in out and "_s1" not in out
    document = run("verify", path, "--json").stdout
    assert "_s0" not in document
    f4 = next(s for s in json.loads(document)["steps"] if s["id"] == "F4")
    assert f4["difference"]["text"] == "Sum(Var[W[i, j, k]]*Var[z[i, j]], (j, 1, n[i]))"


def test_renamed_indices_never_clash():
    i, j, k, m = (sp.Symbol(name, integer=True) for name in "ijkm")
    s0, s1 = sp.Symbol("_s0", integer=True), sp.Symbol("_s1", integer=True)
    n, z, W = sp.IndexedBase("n"), sp.IndexedBase("z"), sp.IndexedBase("W")
    written = sp.Sum(v.Var(z[i, j]) * sp.Sum(v.Var(W[i, j, k]), (k, 1, n[i + 1])), (j, 1, n[i]))
    # the author's j and k, at their depths
    same = named(sp.Sum(v.Var(z[i, s0]) * sp.Sum(v.Var(W[i, s0, s1]), (s1, 1, n[i + 1])), (s0, 1, n[i])),
                 (written,), ("i", "j", "k"))
    assert same == written
    # j is free in the body: the sum takes another name, never capturing it
    clash = named(sp.Sum(j * v.Var(z[i, s0]), (s0, 1, n[i])), (sp.Sum(z[i, j], (j, 1, n[i])),), ("i", "j", "k", "m"))
    body, (var, _, _) = v.peel(clash)
    assert var.name not in ("j", "i", "_s0") and j in body.free_symbols and z[i, var] in body.atoms(sp.Indexed)
    # every name taken: a primed one
    crowded = named(sp.Sum(i * j * k * v.Var(z[i, s0]), (s0, 1, n[i])), (), ("i", "j", "k"))
    assert v.peel(crowded)[1][0].name == "j'"
    # nothing renamed when no dummy is left
    assert named(written, (), ()) is written


def test_swapped_fans_are_named_by_verify(tmp_path):
    forward = replace_field(GLOROT_TEXT, "F6", "claim", "Var[W[i]] == 1/n[i+1]")
    out = run("verify", write(tmp_path, "f6.toml", forward)).stdout
    f6 = out.split("✗ F6", 1)[1].split("✓", 1)[0]
    assert "WRONG" in f6 and "hint: n[i + 1] where the rule derives n[i]" in f6
    assert out.count("hint:") == 1
    both = replace_field(forward, "B6", "claim", "Var[W[i]] == 1/n[i]")
    document = json.loads(run("verify", write(tmp_path, "both.toml", both), "--json").stdout)
    hints = {s["id"]: s["hint"] for s in document["steps"] if s["hint"]}
    assert hints == {"F6": "n[i + 1] where the rule derives n[i]", "B6": "n[i] where the rule derives n[i + 1]"}
    assert all(s["verdict"] == "wrong" for s in document["steps"] if s["id"] in hints)


def test_a_swap_is_said_only_when_the_claim_uses_both_sizes():
    """Exchanging n[i] and n[i+1] maps each claim below onto the right one; only a claim that uses both sizes has
    them swapped. A size of another layer (a missing re-index, 1/n[i+2] for 1/n[i+1]) is one size for another."""
    from derivation.diagnose import swapped_fans
    n, i = sp.IndexedBase("n"), sp.Symbol("i")
    swap = swapped_fans(2 * n[i + 1] / (n[i] + n[i + 1]), 2 * n[i] / (n[i] + n[i + 1]))
    assert swap == "n[i] and n[i + 1] are swapped"
    assert swapped_fans(1 / n[i + 2], 1 / n[i + 1]) == "n[i + 2] where the rule derives n[i + 1]"
    assert swapped_fans(2 / (n[i] + n[i + 1]), 2 / (n[i + 1] + n[i])) is None       # symmetric: nothing exchanged
    assert swapped_fans(3 / n[i], 1 / n[i + 1]) is None                               # not an exchange at all


def test_no_swap_hint_when_a_claim_is_right_or_wrong_otherwise(tmp_path):
    right = run("verify", "glorot")
    assert right.returncode == 0 and "hint:" not in right.stdout
    # D1 is symmetric in the two fans: a wrong constant is not a swap
    text = replace_field(GLOROT_TEXT, "D1", "claim", "Var[W[i]] == 3/(n[i] + n[i+1])")
    out = run("verify", write(tmp_path, "d1.toml", text)).stdout
    assert "✗ D1" in out and "claimed / derived = 3/2" in out and "hint:" not in out


def test_a_failing_step_marks_only_the_results_that_depend_on_it(tmp_path):
    # S2 rests on the wrong S1; S4 rests on S3, a chain of its own
    text = SAMPLE + step("S1", "variance additivity", "2*Sum(Var[X[j]], (j, 1, N))/N**2", start=START) \
        + step("S2", "iid summation", "2*Var[X]/N", result=True) + S1.replace('"S1"', '"S3"') \
        + step("S4", "iid summation", "Var[X]/N", result=True) \
        + step("S5", "iid summation", "Var[X]/N", inputs=["S3"], result=True) \
        + step("S6", "iid summation", "2*Var[X]/N", inputs=["S1"], result=True)
    path = write(tmp_path, "mixed.toml", text)
    verified = run("verify", path)
    assert verified.returncode == 1
    tail = verified.stdout.split("steps verified", 1)[1]
    assert "= 2·Var[X]/N  (not established)" in tail and tail.count("(not established)") == 2
    results = {r["id"]: r["established"] for r in json.loads(run("verify", path, "--json").stdout)["results"]}
    assert results == {"S2": False, "S4": True, "S5": True, "S6": False}
    out = tmp_path / "out"
    refused = run("render", path, "--format", "md", "--out", str(out))
    assert refused.returncode == 1 and not (out / "mixed.md").exists()
    rendered = run("render", path, "--allow-unverified", "--format", "md", "html", "--out", str(out))
    assert rendered.returncode == 0, rendered.stderr
    for name, theorem_start in (("mixed.md", "**Theorem.**"), ("mixed.html", 'class="box theorem"')):
        page = (out / name).read_text(encoding="utf-8")
        theorem = page.split(theorem_start, 1)[1].split("Notation", 1)[0]
        # the two results resting on S1 (S2, S6), among four; the line explaining the mark is not a mark
        assert theorem.count("not established") - theorem.count('marked "not established"') \
            - theorem.count("marked &#34;not established&#34;") == 2, name


def test_a_substitution_rests_on_the_chain_and_on_its_fact(tmp_path):
    # attention's S2 substitutes Q5 into the chain from S1: a wrong S1 marks S2, not Q5
    text = (resources.files("derivation") / "derivations" / "attention.toml").read_text(encoding="utf-8")
    wrong = text.replace('claim = "Var[Sum(q[j]*k[j], (j, 1, d))]/d"',
                         'claim = "Var[Sum(q[j]*k[j], (j, 1, d))]/sqrt(d)"')
    assert wrong != text
    document = json.loads(run("verify", write(tmp_path, "att.toml", wrong), "--json").stdout)
    assert {r["id"]: r["established"] for r in document["results"]} == {"Q5": True, "S2": False}
    s1 = next(s for s in document["steps"] if s["id"] == "S1")
    assert s1["ratio"]["text"] == "sqrt(d)"
