"""The paper's picture: per-layer variances at initialisation, standard against normalised init."""

import math
import struct
import subprocess
import sys

import matplotlib
import pytest

from derivation.cli import main
from derivation.plots import figure_names
from derivation.simulate import simulate


@pytest.fixture(scope="module")
def runs():
    return {init: simulate(init, depth=4, width=300, batch=200, seed=1) for init in ("standard", "normalised")}


def test_standard_init_shrinks_gradients_by_the_predicted_factor(runs):
    standard = runs["standard"]
    assert abs(standard.factor - 1 / 3) < 1e-12
    grads = [s.gradient_variance for s in standard.layers]
    ratios = [lower / upper for lower, upper in zip(grads, grads[1:])]
    assert all(0.2 < r < 0.4 for r in ratios[1:]), ratios          # about 1/3 per layer, near linear
    assert grads[0] < grads[-1] / 20                                 # changes markedly across the network


def test_normalised_init_keeps_gradients_far_steadier(runs):
    normalised, standard = runs["normalised"], runs["standard"]
    assert abs(normalised.factor - 1) < 1e-12
    spread = normalised.layers[-1].gradient_variance / normalised.layers[0].gradient_variance
    assert spread < 10 < standard.layers[-1].gradient_variance / standard.layers[0].gradient_variance


def test_jacobian_singular_values_near_the_papers(runs):
    standard = sum(s.jacobian_singular_value for s in runs["standard"].layers) / 4
    normalised = sum(s.jacobian_singular_value for s in runs["normalised"].layers) / 4
    assert 0.4 < standard < 0.55 < normalised < 0.9


def test_simulate_command_writes_figures(tmp_path):
    done = subprocess.run([sys.executable, "-m", "derivation", "simulate", "--depth", "3", "--width", "200",
                           "--batch", "100", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""                                  # no warnings (fontTools' are silenced)
    out = done.stdout
    assert "standard init: n Var[W] = 0.3333" in out and "normalised init (Glorot): n Var[W] = 1" in out
    assert out.count("linear mean field  simulated") == 4 and "J sv" in out       # two tables, two groups each
    assert "(1/3)^l" in out and "(1/3)^(3-l)" in out                                 # the standard init compounds
    assert max(len(line) for line in out.splitlines() if not line.startswith("wrote ")) <= 100   # paths: any length
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in out
        return
    for stem in figure_names("tanh"):
        pdf, png = (tmp_path / f"{stem}.pdf").read_bytes(), (tmp_path / f"{stem}.png").read_bytes()
        assert pdf.startswith(b"%PDF-") and b"/CIDFontType2" in pdf and b"/Type3" not in pdf   # TrueType, no Type 3
        assert struct.unpack(">II", png[16:24])[0] == 945                              # 6.3 in at 150 dpi
    bad = subprocess.run([sys.executable, "-m", "derivation", "simulate", "--width", "1"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--width" in bad.stderr


def test_inits_per_activation(tmp_path, capsys):
    assert main(["simulate", "--activation", "relu", "--init", "standard"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--init standard does not apply to relu (choose normalised, he or both)" in error
    assert main(["simulate", "--activation", "tanh", "--init", "he"]) == 2
    assert "--init he does not apply to tanh" in capsys.readouterr().err
    rc = dict(matplotlib.rcParams)
    args = ["simulate", "--activation", "relu", "--depth", "2", "--width", "100", "--batch", "50", "--out",
            str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "normalised init (Glorot): n Var[W] = 1" in out and "He init: n Var[W] = 2" in out and "(1/3)" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{stem}.{suffix}" for stem in figure_names("relu")
                                                                for suffix in ("pdf", "png"))
    assert dict(matplotlib.rcParams) == rc                   # the figures' style does not leak
    assert main(args) == 0 and capsys.readouterr().out == out          # seeded: the same run twice
    assert main(args[:-2] + ["--init", "he", "--out", str(tmp_path)]) == 0
    assert "He init" in (out := capsys.readouterr().out) and "normalised init" not in out


def test_the_run_carries_its_predictions():
    run = simulate("he", depth=3, width=50, activation="relu", batch=20, jacobian=False)
    assert run.factor == pytest.approx(2) and run.predicted.sigma_w2 == run.factor
    assert run.predicted.activation_variance == pytest.approx([1 - 1 / math.pi] * 3)   # q = 2: q (1/2 - 1/(2 pi))
    assert all(s.jacobian_singular_value is None for s in run.layers)
