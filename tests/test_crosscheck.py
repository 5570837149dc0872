"""The frameworks' formulas against the verified derivations."""

import subprocess
import sys

import sympy as sp

from derivation.crosscheck import FAN_IN, FAN_OUT, fans, rows, tanh_gain, truncated_normal_std

n = sp.IndexedBase("n", positive=True, integer=True)
i = sp.Symbol("i", integer=True)
RIGHT = {
    "glorot": {"a": sp.sqrt(6 / (n[i] + n[i + 1])), "sigma": sp.sqrt(2 / (n[i] + n[i + 1]))},
    "he": {"a": sp.sqrt(6 / n[i]), "sigma": sp.sqrt(2 / n[i])},
    "lecun": {"a": sp.sqrt(3 / n[i]), "sigma": 1 / sp.sqrt(n[i])},
}


def he_with(slope):
    return {"sigma": sp.sqrt(2 / ((1 + slope**2) * n[i]))}


def test_truncated_normal_constant_is_derived_to_17_digits():
    assert str(sp.N(truncated_normal_std(), 17)) == "0.87962566103423975"
    assert float(truncated_normal_std()) == 0.87962566103423978          # the frameworks' double


def test_tanh_gain_heuristic_differs_from_the_derived_one():
    assert abs(float(tanh_gain()) - 1.5925374197) < 1e-9 and abs(5 / 3 - float(tanh_gain())) > 0.07


def test_fans_in_both_layouts():
    assert fans((64, 3, 3, 3), "pytorch") == fans((3, 3, 3, 64), "keras") == (27, 576)
    assert fans((512, 256), "pytorch") == (256, 512) and fans((256, 512), "keras") == (256, 512)


def test_every_formula_matches_and_a_wrong_result_is_flagged():
    table = rows(RIGHT, he_with)
    checked = [r for r in table if not r.heuristic]
    assert len(checked) == 12 and all(r.match for r in checked)
    assert any(r.heuristic and not r.match for r in table)
    wrong = {**RIGHT, "glorot": {**RIGHT["glorot"], "a": sp.sqrt(3 / (n[i] + n[i + 1]))}}
    flagged = [r.initialiser for r in rows(wrong, he_with) if not r.heuristic and not r.match]
    assert flagged == ["xavier_uniform_ (gain 1): bound", "glorot_uniform = VarianceScaling(1, fan_avg, uniform): limit"]
    assert all(r.derived_value.free_symbols <= {FAN_IN, FAN_OUT} for r in checked)


def test_crosscheck_command():
    done = subprocess.run([sys.executable, "-m", "derivation", "crosscheck"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "12/12 framework formulas match" in done.stdout
    assert "heuristic: PyTorch 2.13 tanh gain = 5/3" in done.stdout and "0.87962566103423975" in done.stdout


def test_empirical_without_torch_says_so_and_skips():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from derivation.cli import main\n"
            "sys.exit(main(['crosscheck', '--empirical']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "empirical: PyTorch is not installed, skipped" in done.stdout


def test_empirical_draws_match_the_derived_values():
    import pytest
    pytest.importorskip("torch")
    from derivation.empirical import draws
    results = draws({"xavier_uniform_": (6 / 768) ** 0.5, "kaiming_normal_ (relu)": (2 / 256) ** 0.5,
                     "nn.Linear default": 1 / 16})
    assert all(d.ok for d in results), results
    wrong = draws({"xavier_uniform_": (3 / 768) ** 0.5})            # the sqrt(3/...) mistake is caught
    assert not wrong[0].ok
