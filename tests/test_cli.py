"""End to end: `python -m derivation ...` as a user runs it, with its exit codes and output."""

import json
import re
import subprocess
import sys

import pytest
import sympy as sp

from conftest import GLOROT_TEXT, replace_field


def run(*args, cwd=None):
    done = subprocess.run([sys.executable, "-m", "derivation", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)
    return done.returncode, done.stdout, done.stderr


def write(tmp_path, text, name="my.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_verify_prints_every_step_grouped_and_the_results():
    code, out, err = run("verify")
    assert code == 0, err
    assert "18/18 steps verified" in out
    for section in ("Forward pass", "Backward pass", "Weight distribution"):
        assert section in out
    for step in ("F0", "F6", "B0", "B6", "D1", "D4"):
        assert f" {step} " in out
    assert "Var[W[i]] = 2/(n[i + 1] + n[i])" in out            # as the kernel parsed it, not the raw text
    assert "a = √(6)/√(n[i + 1] + n[i])" in out
    assert "compromise: Var[W[i]]" in out and "requires: Var[W[i]] = 1/n[i]" in out
    assert "(a compromise between two requirements, not a consequence; to first order; assuming A2, A3)" in out
    assert "F1  linearisation (A1, A2, A3)  (to first order)\n        ≈ Var[" in out
    assert "product variance (A2)" in out
    assert out.index("Forward pass") < out.index("Backward pass") < out.index("Weight distribution")


def test_list_names_the_builtins():
    code, out, _ = run("list")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == ["attention", "dropout", "glorot", "glorot_conv", "he", "he_conv", "he_fanout", "lecun", "residual"]


def test_json_document():
    code, out, _ = run("verify", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["verified"] == doc["total"] == 18 and doc["ok"] is True
    step = doc["steps"][3]
    assert step["id"] == "F3" and step["rule"] == "product variance" and step["verdict"] == "verified"
    assert step["derived"]["text"] and "\\operatorname{Var}" in step["claimed"]["latex"]


def test_wrong_step_exits_1_and_explains(tmp_path):
    path = write(tmp_path, replace_field(GLOROT_TEXT, "D1", "claim", "Var[W[i]] == 3/(n[i] + n[i+1])"))
    code, out, _ = run("verify", path)
    assert code == 1
    assert "17/18 steps verified" in out
    assert "D1" in out and "WRONG" in out
    assert "rule derives: Var[W[i]] = 2/(n[i + 1] + n[i])" in out
    assert "claimed / derived = 3/2" in out
    line = next(x for x in out.splitlines() if "counterexample:" in x)         # refuted: where the two differ
    pattern = r"\s+counterexample: n\[i\] = (\d+), n\[i \+ 1\] = (\d+): claimed (\S+), derived (\S+)"
    sizes, values = re.fullmatch(pattern, line).group(1, 2), line.rsplit(": ", 1)[1]
    total = int(sizes[0]) + int(sizes[1])
    assert values == f"claimed {sp.Rational(3, total)}, derived {sp.Rational(2, total)}"
    code, out, _ = run("verify", path, "--json")
    failure = next(s for s in json.loads(out)["steps"] if s["id"] == "D1")
    assert failure["verdict"] == "wrong" and failure["ratio"]["text"] == "3/2" and failure["difference"]
    example = failure["counterexample"]
    assert example["kind"] == "exact" and example["values"] == {"n[i]": sizes[0], "n[i + 1]": sizes[1]}
    assert (example["claimed"], example["derived"]) == (str(sp.Rational(3, total)), str(sp.Rational(2, total)))
    assert example["text"] == line.strip().removeprefix("counterexample: ")


def test_a_step_not_shown_equal_is_a_failure_with_exit_1(tmp_path):
    # F5 keeps the sum after iid summation: the difference is in moments, which the kernel's exact search does not
    # evaluate, so the kernel reports NOT SHOWN EQUAL (verify may sharpen it to WRONG with a sampled counterexample)
    path = write(tmp_path, replace_field(GLOROT_TEXT, "F5", "claim", "Var[z[i]]*Var[W[i]]"))
    code, out, _ = run("verify", path)
    assert code == 1 and "17/18 steps verified" in out
    f5 = next(x for x in out.splitlines() if " F5 " in x)
    assert f5.endswith("NOT SHOWN EQUAL") or f5.endswith("WRONG")
    code, out, _ = run("verify", path, "--json")
    failure = next(s for s in json.loads(out)["steps"] if s["id"] == "F5")
    assert code == 1 and failure["verdict"] in ("unproven", "wrong") and failure["derived"]["text"]
    assert (failure["verdict"] == "wrong") == (failure["counterexample"] is not None)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_failing_activation_exits_1_naming_the_assumption(activation):
    code, out, _ = run("verify", "--activation", activation)
    assert code == 1
    assert "13/18 steps verified" in out                     # F1, B1 (A1), and F4 (E[f(s)] = 0 needs an odd f) on
    assert f"assumption A1 fails for {activation}" in out


def test_sigmoid_evidence_is_printed():
    _, out, _ = run("verify", "--activation", "sigmoid")
    assert "f(-x) + f(x) = 1 (not odd)" in out and "f'(0) = 1/4" in out


def test_expression_activation_verifies():
    code, out, _ = run("verify", "--activation", "sin(x)")
    assert code == 0 and "18/18" in out


@pytest.mark.parametrize("args, needle", [
    (["verify", "--activation", "__import__('os').system('touch {marker}')"], "--activation"),
    (["verify", "{missing}"], "no such file"),
    (["verify", "--activation", "y**2"], "unknown name 'y'"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, args, needle):
    marker = tmp_path / "pwned"
    args = [a.format(marker=marker, missing=tmp_path / "missing.toml") for a in args]
    code, out, err = run(*args)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err + out
    assert not marker.exists()


@pytest.mark.parametrize("claim", [
    "__import__('os').system('touch {marker}')",
    "().__class__.__mro__[-1].__subclasses__()",
    "a**99999999999",
])
def test_hostile_claim_in_a_file_exits_2(tmp_path, claim):
    marker = tmp_path / "pwned"
    path = write(tmp_path, replace_field(GLOROT_TEXT, "F2", "claim", claim.format(marker=marker)))
    code, out, err = run("verify", path)
    assert code == 2
    assert err.count("\n") == 1 and "step F2: claim, column" in err
    assert "Traceback" not in err
    assert not marker.exists()


def test_megabyte_claim_exits_2_quickly(tmp_path):
    path = write(tmp_path, replace_field(GLOROT_TEXT, "F2", "claim", "a+" * 300_000 + "a"))  # 600 kB < file cap
    code, _, err = run("verify", path)
    assert code == 2 and "characters" in err


def test_not_toml_exits_2(tmp_path):
    code, _, err = run("verify", write(tmp_path, "{{{{ not toml"))
    assert code == 2 and "not valid TOML" in err and err.count("\n") == 1


def test_console_script_entry_point_is_declared():
    import tomllib
    from pathlib import Path
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["derivation"] == "derivation.cli:main"


def test_readme_example_is_the_shipped_example_and_verifies():
    import re
    from pathlib import Path
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", readme, re.S).group(1)
    assert block == (root / "examples" / "sample_mean.toml").read_text(encoding="utf-8")
    code, out, _ = run("verify", str(root / "examples" / "sample_mean.toml"))
    assert code == 0 and "2/2 steps verified" in out


def test_readme_lists_every_rule():
    from pathlib import Path
    from derivation.kernel.rules import RULES
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for name in RULES:
        assert f"`{name}`" in readme, name


def test_version_names_the_package_and_sympy():
    import sympy
    from derivation import __version__
    code, out, err = run("--version")
    assert code == 0 and out.strip() == f"derivation {__version__} (SymPy {sympy.__version__})" and not err


@pytest.mark.parametrize("args, suggestion", [
    (["verfy"], "did you mean 'verify'?"), (["rendr"], "did you mean 'render'?"),
    (["verify", "glorrot"], "did you mean 'glorot'?"), (["verify", "he-fanout"], "did you mean 'he_fanout'?"),
])
def test_did_you_mean(args, suggestion):
    code, _, err = run(*args)
    assert code == 2 and suggestion in err and len(err.strip().splitlines()) == 1


def test_no_suggestion_when_nothing_is_close():
    code, _, err = run("verify", "zzzz")
    assert code == 2 and "did you mean" not in err
    code, _, err = run("qqqqqq")
    assert code == 2 and "did you mean" not in err
