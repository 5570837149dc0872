"""`verify --sample` end to end: the table, its JSON, its bounds, and a kernel bug caught by the sampler."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from derivation import cli

GLOROT = Path(__file__).parent.parent / "derivation" / "derivations" / "glorot.toml"


def run(*args):
    done = subprocess.run([sys.executable, "-m", "derivation", *args], capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


def test_glorot_every_step_agrees_on_its_sampled_model():
    """Every one of the 18 steps is compared (none skipped) and agrees; the linearisations show their error."""
    code, out, _ = run("verify", "--sample", "--samples", "20000")
    assert code == 0
    assert "18 agree, 0 refuted, 0 not compared" in out
    assert out.count("linearisation error (input - claim)/claim: measured") == 2
    assert "with Var[W[l]] := 1/n[l] for every layer l" in out          # F6, the requirement's own model


def test_json_carries_the_cross_examination():
    """--json with --sample adds one record per step, with both sides and their standard errors."""
    code, out, _ = run("verify", "--sample", "--samples", "20000", "--json")
    assert code == 0
    records = json.loads(out)["sample"]
    assert [r["step"] for r in records] == [s["id"] for s in json.loads(out)["steps"]]
    assert all(r["agrees"] is True for r in records)
    f1 = next(r for r in records if r["step"] == "F1")
    assert f1["kind"] == "approximate" and f1["measured_error"]["value"] < 0 and f1["predicted_error"] < 0


def test_sampling_options_are_bounded_and_belong_to_sample():
    """Too few or too many draws, a negative seed, or --samples without --sample: exit 2, one line."""
    for args in (["--sample", "--samples", "10"], ["--sample", "--samples", "100000000"],
                 ["--sample", "--seed", "-1"], ["--samples", "5000"]):
        code, out, err = run("verify", *args)
        assert code == 2, args
        assert err.startswith("derivation: error:") and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_kernel_that_accepts_a_false_claim_is_contradicted(monkeypatch, capsys, tmp_path):
    """Simulate a kernel bug: a comparison that calls everything equal. F5 claimed twice too large then
    'verifies', and the sampler, which shares no code with the comparison, refutes it: exit 1, named. F6, whose
    input is the doubled F5, is refuted too: with Var[W[l]] = 1/n[l] its input is twice Var[z[i, k]]."""
    text = GLOROT.read_text().replace('claim = "n[i]*Var[z[i]]*Var[W[i]]"', 'claim = "2*n[i]*Var[z[i]]*Var[W[i]]"')
    assert "2*n[i]" in text
    path = tmp_path / "glorot_doubled.toml"
    path.write_text(text)
    from derivation.kernel import check
    from derivation.kernel.compare import Comparison
    monkeypatch.setattr(check, "compare", lambda derived, claimed: Comparison(True))
    code = cli.main(["verify", str(path), "--sample", "--samples", "20000"])
    out = capsys.readouterr().out
    assert code == 1
    assert "the sampler refutes steps F5, F6, which the kernel verified" in out


def test_render_includes_the_table_when_asked(tmp_path):
    """render --sample adds the cross-examination section to every format; without it, no such section."""
    code, _, err = run("render", "--sample", "--samples", "20000", "--format", "md", "html", "tex", "--out", str(tmp_path))
    assert code == 0, err
    for ext in ("md", "html", "tex"):
        text = (tmp_path / f"glorot.{ext}").read_text()
        assert "Cross-examined on sampled models" in text and "18 of 18 agree, 0 refuted" in text, ext
    assert "linearisation error" in (tmp_path / "glorot.md").read_text()
    plain = tmp_path / "plain"
    code, _, _ = run("render", "--format", "md", "--out", str(plain))
    assert code == 0 and "Cross-examined" not in (plain / "glorot.md").read_text()
