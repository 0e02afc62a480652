"""D2a margin losses: peers (optax, scikit-learn), re-derivations in NumPy, kinks, extremes, bad input.

Every expected number comes from a peer library or from the catalogue's formula re-derived
here in plain NumPy, never from the implementation under test.
"""

from __future__ import annotations

import numpy as np
import pytest

import losses
from losses import _check

from .conftest import require

BINARY = ["hinge", "squared_hinge", "smoothed_hinge", "modified_huber", "ramp", "exponential"]
FRAMEWORKS = ["torch", "jax"]


@pytest.fixture(params=FRAMEWORKS)
def fw(request):
    """torch, then jax; skipped where not installed or not selected (LOSSES_BACKENDS)."""
    require(request.param)
    return request.param


def _fn(name):
    return getattr(losses, name)


def _value_and_grad(fw, f, x, *rest):
    """``f(x, *rest)`` (a scalar) and its gradient with respect to ``x`` on ``fw``, as float64 NumPy."""
    require(fw)
    xs = _check.convert(np.asarray(x, dtype=np.float64), fw, requires_grad=True)
    rs = [_check.convert(r, fw) for r in rest]
    if fw == "torch":
        import torch

        v = f(xs, *rs)
        (g,) = torch.autograd.grad(v, xs)
        return _check.to_numpy(v), _check.to_numpy(g)
    import jax

    v, g = jax.value_and_grad(lambda a: f(a, *rs))(xs)
    return _check.to_numpy(v), _check.to_numpy(g)


def _binary_example(seed=0, shape=(8, 2)):
    """Scores and ±1 targets away from every kink (the catalogue's example generator)."""
    (scores, target), _ = losses.catalog.margin_pair(np.random.default_rng(seed), shape=shape)
    return scores, target


def _multiclass_example(seed=0, n=8, k=5):
    (scores, labels), _ = losses.catalog.multiclass_scores(np.random.default_rng(seed), n=n, k=k)
    return scores, labels


def _jnp(x):
    """``x`` as a float64 (x64 enabled) or integer JAX array, for the optax peer."""
    require("jax")
    return _check.convert(np.asarray(x), "jax")


def _sgd_fast():
    try:
        from sklearn.linear_model import _sgd_fast
    except ImportError:  # a private module: skip if a release moves it
        pytest.skip("sklearn.linear_model._sgd_fast is not importable")
    return _sgd_fast


# -- peers -------------------------------------------------------------------------------------
@pytest.mark.peer
def test_hinge_value_and_gradient_match_optax(fw):
    require("jax")
    import jax
    import jax.numpy as jnp
    import optax

    scores, target = _binary_example()
    ref = np.asarray(optax.losses.hinge_loss(_jnp(scores), _jnp(target)))
    ref_grad = np.asarray(jax.grad(lambda s: jnp.sum(optax.losses.hinge_loss(s, _jnp(target))))(_jnp(scores)))
    got = _check.to_numpy(losses.hinge(_check.convert(scores, fw), _check.convert(target, fw), reduction="none"))
    _, grad = _value_and_grad(fw, lambda s, t: losses.hinge(s, t, reduction="sum"), scores, target)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-12)


@pytest.mark.peer
def test_hinge_mean_matches_sklearn_hinge_loss_with_and_without_sample_weight(backend, to):
    from sklearn.metrics import hinge_loss

    rng = np.random.default_rng(7)
    target = rng.choice([-1, 1], size=20)
    scores = rng.normal(scale=2.0, size=20)
    w = rng.uniform(0.1, 3.0, size=20)
    got = _check.to_numpy(losses.hinge(to(scores), to(target)))
    got_w = _check.to_numpy(losses.hinge(to(scores), to(target), weight=to(w)))
    assert got == pytest.approx(hinge_loss(target, scores), rel=1e-12)
    assert got_w == pytest.approx(hinge_loss(target, scores, sample_weight=w), rel=1e-12)


@pytest.mark.peer
@pytest.mark.parametrize(
    "name, peer, kwargs",
    [
        ("hinge", ("Hinge", 1.0), {}),
        ("hinge", ("Hinge", 0.5), {"margin": 0.5}),
        ("hinge", ("Hinge", 0.0), {"margin": 0.0}),
        ("squared_hinge", ("SquaredHinge", 1.0), {}),
        ("squared_hinge", ("SquaredHinge", 2.5), {"margin": 2.5}),
        ("modified_huber", ("ModifiedHuber",), {}),
    ],
)
def test_matches_sklearn_sgd_loss_and_derivative(fw, name, peer, kwargs):
    """sklearn's SGD losses: ``py_loss(p, y)`` per item and ``py_dloss(p, y)`` = d loss / d p."""
    sgd = _sgd_fast()
    cls, *params = peer
    ref_loss = getattr(sgd, cls)(*params)
    rng = np.random.default_rng(3)
    target = rng.choice([-1.0, 1.0], size=40)
    scores = rng.uniform(-4.0, 4.0, size=40)  # continuous: kinks are hit with probability 0
    ref = np.array([ref_loss.py_loss(p, y) for p, y in zip(scores, target, strict=True)])
    ref_grad = np.array([ref_loss.py_dloss(p, y) for p, y in zip(scores, target, strict=True)])
    fn = _fn(name)
    got = _check.to_numpy(fn(_check.convert(scores, fw), _check.convert(target, fw), reduction="none", **kwargs))
    _, grad = _value_and_grad(fw, lambda s, t: fn(s, t, reduction="sum", **kwargs), scores, target)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-12)


@pytest.mark.peer
def test_exponential_matches_sklearn_exponential_loss(fw):
    """sklearn's gradient-boosting ExponentialLoss takes y in {0, 1}: e^(-(2y - 1)·raw)."""
    from sklearn._loss.loss import ExponentialLoss

    scores, target = _binary_example(seed=4)
    s, t = scores.ravel(), target.ravel()
    y01 = (t + 1) / 2
    peer = ExponentialLoss()
    ref = peer.loss(y_true=y01, raw_prediction=s)
    ref_grad = peer.gradient(y_true=y01, raw_prediction=s)
    got = _check.to_numpy(losses.exponential(_check.convert(s, fw), _check.convert(t, fw), reduction="none"))
    _, grad = _value_and_grad(fw, lambda a, b: losses.exponential(a, b, reduction="sum"), s, t)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12)


def _keras_squared_hinge(y_true, y_pred):
    """keras.losses.SquaredHinge, re-derived: mean over the last axis of max(1 - y·p, 0)²."""
    return np.mean(np.square(np.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def test_squared_hinge_matches_keras_definition(fw):
    scores, target = _binary_example(seed=5, shape=(6, 3))
    got = _check.to_numpy(losses.squared_hinge(_check.convert(scores, fw), _check.convert(target, fw), reduction="none"))
    np.testing.assert_allclose(got.mean(axis=-1), _keras_squared_hinge(target, scores), rtol=1e-12)
    mean = _check.to_numpy(losses.squared_hinge(_check.convert(scores, fw), _check.convert(target, fw)))
    assert mean == pytest.approx(_keras_squared_hinge(target, scores).mean(), rel=1e-12)
    _, grad = _value_and_grad(fw, lambda s, t: losses.squared_hinge(s, t, reduction="sum"), scores, target)
    np.testing.assert_allclose(grad, -2.0 * target * np.maximum(1.0 - target * scores, 0.0), rtol=1e-12)


@pytest.mark.peer
def test_multiclass_hinge_value_and_gradient_match_optax(fw):
    require("jax")
    import jax
    import jax.numpy as jnp
    import optax

    scores, labels = _multiclass_example()
    ref = np.asarray(optax.losses.multiclass_hinge_loss(_jnp(scores), _jnp(labels)))
    ref_grad = np.asarray(jax.grad(
        lambda s: jnp.sum(optax.losses.multiclass_hinge_loss(s, _jnp(labels))))(_jnp(scores)))
    got = _check.to_numpy(losses.multiclass_hinge(_check.convert(scores, fw), _check.convert(labels, fw), reduction="none"))
    _, grad = _value_and_grad(fw, lambda s, y: losses.multiclass_hinge(s, y, reduction="sum"), scores, labels)
    assert np.any(ref > 0) and np.any(ref == 0)  # both sides of the hinge are exercised
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-12)


@pytest.mark.peer
def test_multiclass_hinge_mean_matches_sklearn_hinge_loss(backend, to):
    from sklearn.metrics import hinge_loss

    scores, labels = _multiclass_example(seed=2, n=12, k=4)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=12)
    ref = hinge_loss(labels, scores, labels=np.arange(4))
    ref_w = hinge_loss(labels, scores, labels=np.arange(4), sample_weight=w)
    assert _check.to_numpy(losses.multiclass_hinge(to(scores), to(labels))) == pytest.approx(ref, rel=1e-12)
    got_w = _check.to_numpy(losses.multiclass_hinge(to(scores), to(labels), weight=to(w)))
    assert got_w == pytest.approx(ref_w, rel=1e-12)


# -- re-derivations of the catalogue's formulas ------------------------------------------------
def _crammer_singer(scores, labels, margin):
    """Loop-by-loop Crammer-Singer loss and its gradient (rows of a 2-D score matrix)."""
    values = np.zeros(len(labels))
    grad = np.zeros_like(scores)
    for i, y in enumerate(labels):
        rivals = [j for j in range(scores.shape[1]) if j != y]
        best = max(rivals, key=lambda j: scores[i, j])
        u = margin + scores[i, best] - scores[i, y]
        if u > 0:
            values[i] = u
            grad[i, best], grad[i, y] = 1.0, -1.0
    return values, grad


@pytest.mark.parametrize("margin", [0.0, 0.5, 2.0])
def test_multiclass_hinge_with_other_margins_matches_rederivation(fw, margin):
    (scores, labels), _ = losses.catalog.multiclass_scores(np.random.default_rng(11), margin=margin)
    ref, ref_grad = _crammer_singer(scores, labels, margin)
    got = _check.to_numpy(losses.multiclass_hinge(_check.convert(scores, fw), _check.convert(labels, fw),
                                                  margin=margin, reduction="none"))
    _, grad = _value_and_grad(fw, lambda s, y: losses.multiclass_hinge(s, y, margin=margin, reduction="sum"),
                              scores, labels)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-12)


def _smoothed_hinge_ref(z, gamma):
    """Shalev-Shwartz & Zhang's three pieces, and d/dz."""
    value = np.select([z >= 1, z <= 1 - gamma], [0.0, 1 - z - gamma / 2], (1 - z) ** 2 / (2 * gamma))
    dz = np.select([z >= 1, z <= 1 - gamma], [0.0, -1.0], -(1 - z) / gamma)
    return value, dz


@pytest.mark.parametrize("gamma", [0.25, 1.0, 3.0])
def test_smoothed_hinge_matches_its_three_pieces(fw, gamma):
    rng = np.random.default_rng(8)
    target = rng.choice([-1.0, 1.0], size=50)
    z = rng.uniform(-4.0, 2.0, size=50)
    ref, dz = _smoothed_hinge_ref(z, gamma)
    scores = target * z
    got = _check.to_numpy(losses.smoothed_hinge(_check.convert(scores, fw), _check.convert(target, fw),
                                                gamma=gamma, reduction="none"))
    _, grad = _value_and_grad(fw, lambda s, t: losses.smoothed_hinge(s, t, gamma=gamma, reduction="sum"),
                              scores, target)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad, target * dz, rtol=1e-12, atol=1e-15)


def test_smoothed_hinge_gamma_one_is_rennie_srebro_by_hand():
    # z = -0.5: 1/2 - z = 1.0; z = 0.5: (1 - z)²/2 = 0.125; z = 1.5: 0
    got = losses.smoothed_hinge(np.array([-0.5, 0.5, -1.5]), np.array([1, 1, -1]), reduction="none")
    np.testing.assert_allclose(got, [1.0, 0.125, 0.0], rtol=1e-15)


def test_smoothed_hinge_lies_within_gamma_over_two_of_the_hinge():
    rng = np.random.default_rng(9)
    target = rng.choice([-1.0, 1.0], size=200)
    scores = rng.uniform(-3.0, 3.0, size=200)
    h = np.maximum(0.0, 1.0 - target * scores)
    for gamma in (2.0, 0.5, 1e-9):
        s = losses.smoothed_hinge(scores, target, gamma=gamma, reduction="none")
        assert np.all(s <= h + 1e-12) and np.all(s >= h - gamma / 2 - 1e-12)


@pytest.mark.parametrize("margin, cap", [(1.0, 2.0), (0.5, 1.0), (2.0, 0.5), (0.0, 3.0)])
def test_ramp_is_a_difference_of_two_hinges(fw, margin, cap):
    """Collobert et al. 2006: R(z) = max(0, m - z) - max(0, m - cap - z)."""
    rng = np.random.default_rng(10)
    target = rng.choice([-1.0, 1.0], size=60)
    z = rng.uniform(-5.0, 4.0, size=60)
    scores = target * z
    ref = np.maximum(0.0, margin - z) - np.maximum(0.0, margin - cap - z)
    ref_dz = -1.0 * (margin - z > 0) + 1.0 * (margin - cap - z > 0)
    got = _check.to_numpy(losses.ramp(_check.convert(scores, fw), _check.convert(target, fw),
                                      margin=margin, cap=cap, reduction="none"))
    _, grad = _value_and_grad(fw, lambda s, t: losses.ramp(s, t, margin=margin, cap=cap, reduction="sum"),
                              scores, target)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad, target * ref_dz, rtol=1e-12, atol=1e-15)


def test_ramp_limits_are_the_hinge_and_zero():
    scores, target = _binary_example(seed=12)
    np.testing.assert_array_equal(losses.ramp(scores, target, cap=np.inf, reduction="none"),
                                  np.maximum(0.0, 1.0 - target * scores))
    np.testing.assert_array_equal(losses.ramp(scores, target, cap=0.0, reduction="none"), np.zeros_like(scores))


def test_modified_huber_by_hand_on_each_piece():
    # z = 3: 0; z = 0.5: (1 - 0.5)² = 0.25; z = -1: 4 (both pieces); z = -2.5: -4z = 10
    got = losses.modified_huber(np.array([3.0, -0.5, 1.0, -2.5]), np.array([1, -1, -1, 1]), reduction="none")
    np.testing.assert_allclose(got, [0.0, 0.25, 4.0, 10.0], rtol=1e-15)


def test_exponential_gradient_is_minus_target_times_value(fw):
    scores, target = _binary_example(seed=13)
    v, grad = _value_and_grad(fw, lambda s, t: losses.exponential(s, t, reduction="sum"), scores, target)
    assert v == pytest.approx(np.exp(-target * scores).sum(), rel=1e-12)
    np.testing.assert_allclose(grad, -target * np.exp(-target * scores), rtol=1e-12)


# -- the class axis ----------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_multiclass_hinge_class_axis_anywhere(backend, to, axis):
    rng = np.random.default_rng(14)
    scores = rng.normal(scale=2.0, size=(3, 4, 5))
    k = scores.shape[axis]
    last = np.moveaxis(scores, axis, -1)
    labels = rng.integers(0, k, size=last.shape[:-1])
    ref, _ = _crammer_singer(last.reshape(-1, k), labels.ravel(), 1.0)
    got = _check.to_numpy(losses.multiclass_hinge(to(scores), to(labels), axis=axis, reduction="none"))
    assert got.shape == labels.shape
    np.testing.assert_allclose(got, ref.reshape(labels.shape), rtol=1e-12)


@pytest.mark.parametrize("axis", [0, 1])
def test_multiclass_hinge_gradient_along_a_middle_axis(fw, axis):
    rng = np.random.default_rng(15)
    scores = rng.normal(scale=2.0, size=(4, 5, 3))
    k = scores.shape[axis]
    last = np.moveaxis(scores, axis, -1)
    labels = rng.integers(0, k, size=last.shape[:-1])
    _, ref_grad = _crammer_singer(last.reshape(-1, k), labels.ravel(), 1.0)
    _, grad = _value_and_grad(fw, lambda s, y: losses.multiclass_hinge(s, y, axis=axis, reduction="sum"),
                              scores, labels)
    np.testing.assert_allclose(grad, np.moveaxis(ref_grad.reshape(last.shape), -1, axis), rtol=1e-12)


def test_multiclass_hinge_axis_1_and_int32_labels_compile():
    """jax.jit and torch.compile(fullgraph=True) with the class axis in the middle and int32 labels."""
    rng = np.random.default_rng(16)
    scores = rng.normal(scale=2.0, size=(4, 5, 3))
    labels = rng.integers(0, 5, size=(4, 3)).astype(np.int32)
    ref, _ = _crammer_singer(np.moveaxis(scores, 1, -1).reshape(-1, 5), labels.ravel(), 1.0)
    ran = 0
    try:
        import jax

        ran += 1
        f = jax.jit(lambda s, y: losses.multiclass_hinge(s, y, axis=1, reduction="none"))
        got = f(_check.convert(scores, "jax"), _check.convert(labels, "jax"))
        np.testing.assert_allclose(np.asarray(got).ravel(), ref, rtol=1e-12)
    except ImportError:
        pass
    try:
        import torch

        ran += 1
        torch._dynamo.reset()
        f = torch.compile(lambda s, y: losses.multiclass_hinge(s, y, axis=1, reduction="none"),
                          fullgraph=True, backend="eager")
        got = f(torch.from_numpy(scores), torch.from_numpy(labels))
        np.testing.assert_allclose(got.numpy().ravel(), ref, rtol=1e-12)
    except ImportError:
        pass
    if not ran:
        pytest.skip("neither jax nor torch is installed")


def test_multiclass_hinge_with_one_class_is_zero(backend, to):
    got = _check.to_numpy(losses.multiclass_hinge(to(np.array([[5.0], [-3.0]])), to(np.array([0, 0])),
                                                  reduction="none"))
    np.testing.assert_array_equal(got, [0.0, 0.0])


def test_multiclass_hinge_tied_rivals_share_the_gradient(fw):
    # label 0, rivals 1 and 2 tied at 2: u = 1 + 2 - 0 = 3
    v, grad = _value_and_grad(fw, lambda s, y: losses.multiclass_hinge(s, y, reduction="sum"),
                              np.array([[0.0, 2.0, 2.0]]), np.array([0]))
    assert v == 3.0
    np.testing.assert_array_equal(grad, [[-1.0, 0.5, 0.5]])


# -- kinks, extremes, dtypes -------------------------------------------------------------------
# (loss, kwargs, z exactly at a kink, value there, d loss / d z there: the flat side's 0 at a
#  corner of hinge and ramp, the common slope where the loss is C¹)
KINKS = [
    ("hinge", {}, 1.0, 0.0, 0.0),
    ("hinge", {"margin": 0.0}, 0.0, 0.0, 0.0),
    ("squared_hinge", {}, 1.0, 0.0, 0.0),
    ("smoothed_hinge", {}, 1.0, 0.0, 0.0),
    ("smoothed_hinge", {}, 0.0, 0.5, -1.0),
    ("smoothed_hinge", {"gamma": 0.5}, 0.5, 0.25, -1.0),
    ("modified_huber", {}, 1.0, 0.0, 0.0),
    ("modified_huber", {}, -1.0, 4.0, -4.0),
    ("ramp", {}, 1.0, 0.0, 0.0),
    ("ramp", {}, -1.0, 2.0, 0.0),
    ("ramp", {"margin": 0.5, "cap": 0.0}, 0.5, 0.0, 0.0),
]


@pytest.mark.parametrize("name, kwargs, z, value, dz", KINKS, ids=[f"{k[0]}-z{k[2]}-{i}" for i, k in enumerate(KINKS)])
def test_value_and_gradient_at_each_kink_are_finite_and_equal_everywhere(backend, to, name, kwargs, z, value, dz):
    target = np.array([1.0, -1.0, 1, -1.0])
    scores = target * z
    fn = _fn(name)
    got = _check.to_numpy(fn(to(scores), to(target), reduction="none", **kwargs))
    np.testing.assert_allclose(got, np.full(4, value), rtol=1e-15, atol=0)
    if backend in FRAMEWORKS:
        _, grad = _value_and_grad(backend, lambda s, t: fn(s, t, reduction="sum", **kwargs), scores, target)
        np.testing.assert_array_equal(grad, target * dz)


def test_multiclass_hinge_at_its_kink_is_finite_with_gradient_zero(backend, to):
    scores = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, -0.5]])  # true class leads by exactly the margin 1
    labels = np.array([0, 1])
    got = _check.to_numpy(losses.multiclass_hinge(to(scores), to(labels), reduction="none"))
    np.testing.assert_array_equal(got, [0.0, 0.0])
    if backend in FRAMEWORKS:
        _, grad = _value_and_grad(backend, lambda s, y: losses.multiclass_hinge(s, y, reduction="sum"),
                                  scores, labels)
        np.testing.assert_array_equal(grad, np.zeros_like(scores))


# expected values at z = +1e4 and z = -1e4, from the formulas
EXTREMES = {
    "hinge": (0.0, 10001.0),
    "squared_hinge": (0.0, 10001.0**2),
    "smoothed_hinge": (0.0, 10000.5),
    "modified_huber": (0.0, 40000.0),
    "ramp": (0.0, 2.0),
    "exponential": (0.0, np.inf),
}


@pytest.mark.parametrize("name", BINARY)
def test_scores_of_1e4_in_float32(backend, to, name):
    target = np.array([1.0, -1.0, -1.0, 1.0])
    scores = np.array([1e4, -1e4, 1e4, -1e4])  # z = +1e4, +1e4, -1e4, -1e4
    fn = _fn(name)
    hi, lo = EXTREMES[name]
    with np.errstate(over="ignore"):  # e^(1e4) overflows in NumPy as in every framework
        got = _check.to_numpy(fn(to(scores, "float32"), to(target, "float32"), reduction="none"))
    np.testing.assert_allclose(got, [hi, hi, lo, lo], rtol=1e-6)
    if backend in FRAMEWORKS:
        dtype = "float32"
        xs = _check.convert(scores, backend, dtype, requires_grad=True)
        ts = _check.convert(target, backend, dtype)
        if backend == "torch":
            import torch

            (g,) = torch.autograd.grad(fn(xs, ts, reduction="sum"), xs)
        else:
            import jax

            g = jax.grad(lambda s: fn(s, ts, reduction="sum"))(xs)
        g = _check.to_numpy(g)
        finite = np.isfinite(got)
        assert np.all(np.isfinite(g[finite]))
        assert not np.any(np.isnan(g))  # where the value overflows the gradient is inf, never NaN


def test_multiclass_hinge_scores_of_1e4_in_float32(backend, to):
    scores = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    labels = np.array([0, 0])
    got = _check.to_numpy(losses.multiclass_hinge(to(scores, "float32"), to(labels), reduction="none"))
    np.testing.assert_allclose(got, [0.0, 20001.0], rtol=1e-6)


@pytest.mark.skip_backend("strict", reason="array-api-strict has no float16")
@pytest.mark.parametrize("name", BINARY)
def test_float16_is_computed_in_float32(backend, to, name):
    import backends

    scores, target = _binary_example(seed=17)
    fn = _fn(name)
    s16 = scores.astype(np.float16).astype(np.float64)  # the values float16 can hold
    out = fn(to(scores, "float16"), to(target, "float16"), reduction="none")
    xp = backends.get(out).xp
    assert out.dtype == xp.float32
    np.testing.assert_allclose(_check.to_numpy(out), fn(s16, target, reduction="none"), rtol=1e-6)


@pytest.mark.skip_backend("strict", reason="array-api-strict has no float16")
def test_multiclass_hinge_float16_is_computed_in_float32(backend, to):
    import backends

    scores, labels = _multiclass_example(seed=18)
    out = losses.multiclass_hinge(to(scores, "float16"), to(labels), reduction="none")
    assert out.dtype == backends.get(out).xp.float32
    ref, _ = _crammer_singer(scores.astype(np.float16).astype(np.float64), labels, 1.0)
    np.testing.assert_allclose(_check.to_numpy(out), ref, rtol=1e-6)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("int_dtype", [np.int64, np.int32, np.int8])
def test_integer_targets_are_cast_to_the_scores_dtype(backend, to, name, int_dtype):
    import backends

    scores, target = _binary_example(seed=19)
    fn = _fn(name)
    out = fn(to(scores, "float32"), to(target.astype(int_dtype)), reduction="none")
    assert out.dtype == backends.get(out).xp.float32
    ref = fn(to(scores, "float32"), to(target, "float32"), reduction="none")
    np.testing.assert_array_equal(_check.to_numpy(out), _check.to_numpy(ref))


@pytest.mark.parametrize("name", BINARY)
def test_nan_scores_give_nan_not_zero(backend, to, name):
    got = _check.to_numpy(_fn(name)(to(np.array([np.nan, 0.5])), to(np.array([1.0, 1.0])), reduction="none"))
    assert np.isnan(got[0]) and np.isfinite(got[1])


def test_reduction_and_weight():
    scores = np.array([2.0, 0.5, -1.0, 0.0])
    target = np.array([1.0, -1.0, 1.0, -1.0])  # hinge: 0, 1.5, 2, 1
    assert float(losses.hinge(scores, target, reduction="sum")) == 4.5
    w = np.array([1.0, 2.0, 0.0, 1.0])
    assert float(losses.hinge(scores, target, weight=w)) == pytest.approx(4.0 / 4.0)
    np.testing.assert_array_equal(losses.hinge(scores, target, weight=w, reduction="none"), [0.0, 3.0, 0.0, 1.0])


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("bad", [[0.0, 1.0], [1.0, 0.5], [2.0, -1.0]])
def test_target_outside_plus_minus_one_raises(backend, to, name, bad):
    with pytest.raises(ValueError, match=rf"{name}: target must be -1 or \+1"):
        _fn(name)(to(np.array([0.3, -0.2])), to(np.array(bad)))


@pytest.mark.parametrize("name", BINARY)
def test_zero_one_integer_target_raises(backend, to, name):
    with pytest.raises(ValueError, match="target"):
        _fn(name)(to(np.array([0.3, -0.2])), to(np.array([0, 1])))


@pytest.mark.parametrize("name", BINARY)
def test_integer_scores_raise_type_error(backend, to, name):
    with pytest.raises(TypeError, match=f"{name}: scores"):
        _fn(name)(to(np.array([1, -1])), to(np.array([1.0, -1.0])))


@pytest.mark.parametrize("name", BINARY)
def test_boolean_target_raises_type_error(backend, to, name):
    with pytest.raises(TypeError, match=f"{name}: target"):
        _fn(name)(to(np.array([0.3, -0.2])), to(np.array([True, False])))


@pytest.mark.parametrize("name", BINARY)
def test_shapes_must_match_exactly(backend, to, name):
    with pytest.raises(ValueError, match=f"{name}: target has shape"):
        _fn(name)(to(np.zeros((3, 1))), to(np.ones(3)))


@pytest.mark.parametrize(
    "name, kwargs, arg",
    [
        ("hinge", {"margin": -0.1}, "margin"),
        ("squared_hinge", {"margin": -1.0}, "margin"),
        ("smoothed_hinge", {"gamma": 0.0}, "gamma"),
        ("smoothed_hinge", {"gamma": -1.0}, "gamma"),
        ("ramp", {"margin": -1.0}, "margin"),
        ("ramp", {"cap": -0.5}, "cap"),
        ("hinge", {"margin": float("nan")}, "margin"),
        ("hinge", {"reduction": "avg"}, "reduction"),
    ],
)
def test_bad_hyperparameters_raise(name, kwargs, arg):
    with pytest.raises(ValueError, match=f"{name}: {arg}"):
        _fn(name)(np.array([0.3, -0.2]), np.array([1.0, -1.0]), **kwargs)


def test_value_checks_do_not_run_under_jit():
    require("jax")
    import jax

    f = jax.jit(lambda s, t: losses.hinge(s, t, reduction="none"))
    got = f(_check.convert(np.array([0.5]), "jax"), _check.convert(np.array([0.0]), "jax"))
    np.testing.assert_array_equal(np.asarray(got), [1.0])  # 0 is not checked in a trace: z = 0


def test_multiclass_hinge_bad_input(backend, to):
    s = to(np.zeros((4, 3)))
    with pytest.raises(TypeError, match="multiclass_hinge: labels must be an integer"):
        losses.multiclass_hinge(s, to(np.array([0.0, 1.0, 2.0, 0.0])))
    with pytest.raises(TypeError, match="multiclass_hinge: scores"):
        losses.multiclass_hinge(to(np.zeros((4, 3), dtype=np.int64)), to(np.array([0, 1, 2, 0])))
    with pytest.raises(ValueError, match=r"multiclass_hinge: labels must be integers in \[0, 3\)"):
        losses.multiclass_hinge(s, to(np.array([0, 1, 3, 0])))
    with pytest.raises(ValueError, match="multiclass_hinge: labels must be"):
        losses.multiclass_hinge(s, to(np.array([0, -1, 2, 0])))
    with pytest.raises(ValueError, match="multiclass_hinge: labels has shape"):
        losses.multiclass_hinge(s, to(np.array([0, 1, 2])))
    with pytest.raises(ValueError, match="multiclass_hinge: labels has shape"):
        losses.multiclass_hinge(s, to(np.array([0, 1, 2, 0])), axis=0)
    with pytest.raises(ValueError, match="multiclass_hinge: axis"):
        losses.multiclass_hinge(s, to(np.array([0, 1, 2, 0])), axis=2)
    with pytest.raises(ValueError, match="multiclass_hinge: margin"):
        losses.multiclass_hinge(s, to(np.array([0, 1, 2, 0])), margin=-1.0)


def test_multiclass_hinge_needs_a_class_axis():
    with pytest.raises(ValueError, match="multiclass_hinge: axis"):
        losses.multiclass_hinge(np.array(1.0), np.array(0))


def test_python_scalar_target_raises_type_error():
    with pytest.raises(TypeError, match="hinge: target must be a floating-point or integer array"):
        losses.hinge(np.array([0.5]), 1.0)
