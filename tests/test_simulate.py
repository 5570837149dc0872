"""The paper's picture: per-layer variances at initialisation, standard against normalised init."""

import subprocess
import sys

import pytest

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
    assert "normalised (n Var[W] = 1)" in done.stdout and "standard (n Var[W] = 0.333)" in done.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in done.stdout
        return
    for name in ("simulate_activations.png", "simulate_gradients.pdf"):
        assert (tmp_path / name).stat().st_size > 5_000
    bad = subprocess.run([sys.executable, "-m", "derivation", "simulate", "--width", "1"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--width" in bad.stderr
