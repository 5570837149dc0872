"""The mean-field variance map (derivation.meanfield): exact where it can be, and against the simulation."""

import math

import mpmath
import numpy as np
import pytest

from derivation.meanfield import gaussian_moments, predict
from derivation.simulate import simulate

WIDTH, DEPTH = 1000, 5


def test_relu_moments_are_exact():
    # E[relu(sqrt(q) xi)^2] = q/2 and E[relu'(sqrt(q) xi)^2] = 1/2: the quadrature's nodes are symmetric about the kink
    for q in (0.01, 0.3, 1.0, 2.0, 7.5):
        mean, second, slope = gaussian_moments("relu", q)
        assert second == pytest.approx(q / 2, rel=1e-13)
        assert slope == pytest.approx(0.5, rel=1e-13)
        assert mean == pytest.approx(math.sqrt(q / (2 * math.pi)), rel=1e-13)


@pytest.mark.parametrize("activation, f, df", [
    ("tanh", mpmath.tanh, lambda s: 1 - mpmath.tanh(s) ** 2),
    ("sigmoid", lambda s: 1 / (1 + mpmath.exp(-s)), lambda s: mpmath.exp(-s) / (1 + mpmath.exp(-s)) ** 2),
])
def test_smooth_moments_against_independent_integration(activation, f, df):
    def expect(g, q):               # E[g(sqrt(q) xi)], xi ~ N(0, 1), by mpmath's adaptive (tanh-sinh) quadrature
        with mpmath.workdps(30):    # at 15 digits it is off by 1e-9 for the sigmoid, although it says 1e-17
            return float(mpmath.quad(lambda x: g(mpmath.sqrt(q) * x) * mpmath.npdf(x), [-mpmath.inf, 0, mpmath.inf]))
    for q in (0.05, 0.5, 1.0, 2.0):                  # up to twice the simulation's largest (normalised init: 1)
        mean, second, slope = gaussian_moments(activation, q)
        assert mean == pytest.approx(expect(f, q), abs=1e-14)
        assert second == pytest.approx(expect(lambda s: f(s) ** 2, q), rel=1e-9)
        assert slope == pytest.approx(expect(lambda s: df(s) ** 2, q), rel=1e-9)


def test_the_example_of_math_md():
    prediction = predict("tanh", 1.0, DEPTH)           # sigma_w^2 = 1, sigma_b = 0, inputs N(0, 1)
    assert [round(v, 3) for v in prediction.activation_variance] == [0.394, 0.236, 0.167, 0.128, 0.103]
    assert prediction.q[0] == 1.0 and prediction.q[1:] == prediction.activation_variance[:-1]   # tanh: E[z] = 0
    assert prediction.linear_activation_variance == (1.0,) * DEPTH
    assert prediction.gradient_variance[-1] == 1.0
    for lower, upper, chi in zip(prediction.gradient_variance, prediction.gradient_variance[1:], prediction.chi):
        assert lower == pytest.approx(chi * upper)    # dL/ds^l = f'(s^l) (dL/ds^{l+1} W^{l+1 T}): chi of layer l


# The statistical test. Each seed draws a new network and new inputs, so the K runs are independent and the
# standard error of their mean is sd / sqrt(K), whatever the correlations inside one run (units share their
# inputs, examples share the weights: for sigmoid and ReLU, whose activations have a non-zero mean, the examples'
# pre-activations are strongly correlated, and one run's variance wanders by up to 8% at layer 5 where tanh's
# wanders by 1%). Accepted: |mean - prediction| <= Z standard errors + the finite-width bias. The mean-field map is
# the limit n -> inf; at n = 1000 the expected variances differ from it by O(1/n) (q fluctuates by O(1/sqrt n)
# between units and examples and enters E[phi^2] through its curvature): measured over 20 seeds of 300 examples,
# at most 0.5% = 5/n (tanh, layer 5), so BIAS allows 10/n. With K = 12, a 5-sigma excess has probability about
# 5e-4 per comparison (Student's t, 11 degrees of freedom).
SEEDS, BATCH, Z, BIAS = 10, 64, 5.0, 10 / WIDTH
SETTINGS = [("tanh", "standard"), ("tanh", "normalised"), ("sigmoid", "standard"), ("sigmoid", "normalised"),
            ("relu", "normalised"), ("relu", "he")]


@pytest.fixture(scope="module")
def simulated():
    """(activation, init) -> (activation variances, gradient variances, prediction), one row per seed."""
    out = {}
    for number, (activation, init) in enumerate(SETTINGS):
        runs = [simulate(init, DEPTH, WIDTH, activation, BATCH, seed=100 * number + k, jacobian=False)
                for k in range(SEEDS)]
        out[activation, init] = (np.array([[s.activation_variance for s in run.layers] for run in runs]),
                                 np.array([[s.gradient_variance for s in run.layers] for run in runs]),
                                 runs[0].predicted)
    return out


def agrees(samples: np.ndarray, predicted) -> np.ndarray:
    """Per layer: the mean over seeds is within Z standard errors (plus the finite-width bias) of the prediction."""
    predicted = np.asarray(predicted)
    error = samples.std(axis=0, ddof=1) / math.sqrt(len(samples))
    return np.abs(samples.mean(axis=0) - predicted) <= Z * error + BIAS * predicted


@pytest.mark.parametrize("activation, init", SETTINGS)
def test_mean_field_matches_the_simulation_at_every_layer(simulated, activation, init):
    activations, gradients, predicted = simulated[activation, init]
    assert agrees(activations, predicted.activation_variance).all(), (activations.mean(0), predicted)
    assert agrees(gradients, predicted.gradient_variance).all(), (gradients.mean(0), predicted)


@pytest.mark.parametrize("activation, init", SETTINGS)
def test_linear_prediction_does_not(simulated, activation, init):
    activations, gradients, predicted = simulated[activation, init]
    assert not agrees(activations, predicted.linear_activation_variance).any()
    assert not agrees(gradients[:, :1], predicted.linear_gradient_variance[:1]).any()    # the bottom layer


def test_normalised_tanh_decays_although_the_linear_regime_says_constant(simulated):
    activations, _, predicted = simulated["tanh", "normalised"]
    assert predicted.linear_activation_variance[-1] == 1.0
    assert 0.095 < activations[:, -1].mean() < 0.11 and abs(predicted.activation_variance[-1] - 0.1034) < 1e-4


def test_standard_init_compounds_one_third_per_layer(simulated):
    # Layer 1 is not in the linear regime (q^1 = 1/3: Var[z^1] = 0.21, not 1/3); from there q^l is small
    # (0.07, 0.02, ...), tanh is nearly linear, and each layer multiplies the variance by n Var[W] = 1/3.
    activations, gradients, predicted = simulated["tanh", "standard"]
    z, g = activations.mean(axis=0), gradients.mean(axis=0)
    assert predicted.linear_activation_variance == pytest.approx([3.0**-l for l in range(1, DEPTH + 1)])
    assert z[1] / z[0] < 0.3                                             # the first step: tanh saturates
    assert z[2:] / z[1:-1] == pytest.approx([1 / 3] * (DEPTH - 2), rel=0.04)
    assert z[-1] / z[1] == pytest.approx(3.0 ** -(DEPTH - 2), rel=0.06)  # compounded: (1/3)^3 from layer 2 to 5
    assert g[-2] / g[-1] == pytest.approx(1 / 3, rel=0.02)                # gradients, downwards from the top
    assert g[0] / g[-1] == pytest.approx(predicted.gradient_variance[0], rel=0.03)
    deep = predict("tanh", 1 / 3, 12).activation_variance                # the map itself tends to the factor 1/3
    assert deep[-1] / deep[-2] == pytest.approx(1 / 3, rel=1e-4)
