"""D2b probabilistic losses: peers (torch, optax, kornia, scipy), re-derivations, edge cases, bad input.

Every expected number comes from a peer library (``torch.nn.functional``, optax, kornia,
scipy) or from a plain-NumPy re-derivation of a peer that cannot be installed here
(torchvision's ``sigmoid_focal_loss``, mmdet's ``GHMC``), never from the implementation
under test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import losses
from losses import _check

from .conftest import installed, require

FRAMEWORKS = ["torch", "jax"]


# -- helpers ---------------------------------------------------------------------------------------
def _value_and_grad(fw, f, *arrays, wrt=0):
    """``f(*arrays)`` (summed if not a scalar) and its gradient with respect to ``arrays[wrt]``."""
    require(fw)
    conv = [_check.convert(np.asarray(a), fw, requires_grad=(i == wrt)) for i, a in enumerate(arrays)]
    if fw == "torch":
        import torch

        out = f(*conv)
        (g,) = torch.autograd.grad(out.sum(), conv[wrt])
        return _check.to_numpy(out), _check.to_numpy(g)
    import jax

    def scalar(x):
        full = list(conv)
        full[wrt] = x
        return f(*full).sum()

    g = jax.grad(scalar)(conv[wrt])
    return _check.to_numpy(f(*conv)), _check.to_numpy(g)


def _torch_value_and_grad(f, *arrays, wrt=0):
    """The same for a torch peer ``f`` on float64 tensors (integer arrays stay integer)."""
    return _value_and_grad("torch", f, *arrays, wrt=wrt)


def _jnp(x):
    require("jax")
    return _check.convert(np.asarray(x), "jax")


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _bce_logits_np(x, t):
    """softplus(x) - x·t, written so that it keeps its precision where it is small."""
    return np.maximum(x, 0.0) - x * t + np.log1p(np.exp(-np.abs(x)))


def _log_softmax_np(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _complex_step_grad(f, x, h=1e-30):
    """Derivative of the elementwise, complex-safe NumPy function ``f`` at ``x``: Im f(x + ih)/h,
    exact to rounding (no difference of nearby values)."""
    return np.imag(f(x + 1j * h)) / h


# -- cross_entropy: torch, every option alone and combined -----------------------------------------
def _ce_case(layout, seed=0, ignore=None):
    rng = np.random.default_rng(seed)
    if layout == "2d":
        logits, axis = rng.normal(scale=2.0, size=(9, 4)), -1
        labels = rng.integers(0, 4, size=9)
        if ignore is not None:
            labels[[1, 5]] = ignore
    else:  # (N, C, H, W), torch's layout, class axis 1
        logits, axis = rng.normal(scale=2.0, size=(2, 4, 3, 3)), 1
        labels = rng.integers(0, 4, size=(2, 3, 3))
        if ignore is not None:
            labels[0, 1, 2] = labels[1, 0, 0] = labels[1, 2, 1] = ignore
    return logits, labels, axis


CLASS_WEIGHT = np.array([0.5, 2.0, 1.25, 0.8])


@pytest.mark.peer
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("layout", ["2d", "4d"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "use_weight, smoothing, ignore",
    list(itertools.product([False, True], [0.0, 0.15], [None, -1, 2])),
    ids=lambda v: str(v),
)
def test_cross_entropy_integer_labels_match_torch(fw, layout, reduction, use_weight, smoothing, ignore):
    require("torch")
    import torch
    import torch.nn.functional as F

    logits, labels, axis = _ce_case(layout, ignore=ignore)
    cw = CLASS_WEIGHT if use_weight else None

    def peer(x, y):
        return F.cross_entropy(x, y, weight=None if cw is None else torch.tensor(cw), reduction=reduction,
                               ignore_index=-100 if ignore is None else ignore, label_smoothing=smoothing)

    ref, ref_grad = _torch_value_and_grad(peer, logits, labels)

    def ours(x, y):
        kw = {} if cw is None else {"class_weight": _check.convert(cw, fw)}
        return losses.cross_entropy(x, y, axis=axis, label_smoothing=smoothing, ignore_index=ignore,
                                    reduction=reduction, **kw)

    got, grad = _value_and_grad(fw, ours, logits, labels)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-14)


@pytest.mark.peer
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("layout", ["2d", "4d"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_weight, smoothing", list(itertools.product([False, True], [0.0, 0.3])))
def test_cross_entropy_probability_targets_match_torch(fw, layout, reduction, use_weight, smoothing):
    require("torch")
    import torch
    import torch.nn.functional as F

    logits, _, axis = _ce_case(layout, seed=1)
    rng = np.random.default_rng(2)
    target = rng.uniform(size=logits.shape)
    target /= target.sum(axis=axis, keepdims=True)
    cw = CLASS_WEIGHT if use_weight else None

    def peer(x, t):
        return F.cross_entropy(x, t, weight=None if cw is None else torch.tensor(cw), reduction=reduction,
                               label_smoothing=smoothing)

    ref, ref_grad = _torch_value_and_grad(peer, logits, target)

    def ours(x, t):
        kw = {} if cw is None else {"class_weight": _check.convert(cw, fw)}
        return losses.cross_entropy(x, t, axis=axis, label_smoothing=smoothing, reduction=reduction, **kw)

    got, grad = _value_and_grad(fw, ours, logits, target)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-14)
    # the gradient with respect to the soft target too (torch differentiates it)
    _, ref_tgrad = _torch_value_and_grad(peer, logits, target, wrt=1)
    _, tgrad = _value_and_grad(fw, ours, logits, target, wrt=1)
    np.testing.assert_allclose(tgrad, ref_tgrad, rtol=1e-11, atol=1e-14)


@pytest.mark.peer
def test_cross_entropy_matches_optax_integer_labels():
    require("jax")
    import jax
    import optax

    logits, labels, _ = _ce_case("2d", seed=3)
    x, y = _jnp(logits), _jnp(labels)
    ref = np.asarray(optax.losses.softmax_cross_entropy_with_integer_labels(x, y))
    ref_grad = np.asarray(jax.grad(lambda a: optax.losses.softmax_cross_entropy_with_integer_labels(a, y).sum())(x))
    got, grad = _value_and_grad("jax", lambda a, b: losses.cross_entropy(a, b, reduction="none"), logits, labels)
    np.testing.assert_allclose(got, ref, rtol=1e-13)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-13, atol=1e-16)


def test_cross_entropy_per_item_weight_mean_rederived(backend, to):
    """"mean" with per-item v and class weights w: Σ v_i l_i / Σ v_i w_{y_i}, ignored items left out."""
    logits, labels, _ = _ce_case("2d", seed=4, ignore=-1)
    v = np.random.default_rng(5).uniform(0.2, 2.0, size=labels.shape)
    eps, k = 0.1, logits.shape[1]
    lp = _log_softmax_np(logits, -1)
    valid = labels != -1
    safe = np.where(valid, labels, 0)
    w_y = CLASS_WEIGHT[safe]
    per_item = (1 - eps) * w_y * -lp[np.arange(len(safe)), safe] + eps / k * -(lp * CLASS_WEIGHT).sum(-1)
    per_item = np.where(valid, per_item, 0.0)
    expected = (v * per_item).sum() / (v * w_y * valid).sum()
    got = losses.cross_entropy(to(logits), to(labels), class_weight=to(CLASS_WEIGHT), label_smoothing=eps,
                               ignore_index=-1, weight=to(v))
    assert float(_check.to_numpy(got)) == pytest.approx(expected, rel=1e-12)
    got_sum = losses.cross_entropy(to(logits), to(labels), class_weight=to(CLASS_WEIGHT), label_smoothing=eps,
                                   ignore_index=-1, weight=to(v), reduction="sum")
    assert float(_check.to_numpy(got_sum)) == pytest.approx((v * per_item).sum(), rel=1e-12)


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("kw", [{}, {"class_weight": [1.0, 2.0, 3.0]}, {"label_smoothing": 0.2}])
def test_cross_entropy_every_item_ignored_mean_is_zero_with_zero_gradient(fw, kw):
    logits = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    labels = np.array([-100, -100])
    value, grad = _value_and_grad(
        fw, lambda x, y: losses.cross_entropy(x, y, ignore_index=-100, **kw), logits, labels)
    assert value == 0.0
    np.testing.assert_array_equal(grad, np.zeros_like(logits))


@pytest.mark.parametrize("rows", [2, 700])  # one kernel call; chunks of rows (>= 1 << 16 logits)
@pytest.mark.parametrize("grad", [False, True])
def test_torch_cross_entropy_ignores_no_label_when_value_checks_are_off(rows, grad):
    """Without ``ignore_index`` no label is ignored, torch's default -100 included, nor -2**63
    (what a NaN label becomes in ``.long()`` on x86): with value checks off (the GPU default)
    the kernel reports either as out of range instead of leaving the item out of the mean, on
    every torch path, int32 labels too. Where torch's cross-entropy kernel runs (one call, or
    the chunks without a gradient) its IndexError becomes the loss's ValueError; the chunked
    function with a gradient raises gather's RuntimeError."""
    require("torch")
    import torch

    message = r"cross_entropy: labels must be integers in \[0, 100\)"
    logits = torch.zeros(rows, 100, requires_grad=grad)
    for bad, dtype in ((-100, torch.int64), (-(2**63), torch.int64), (-100, torch.int32)):
        labels = torch.zeros(rows, dtype=dtype)
        labels[1] = bad
        with pytest.raises(ValueError, match=message):
            losses.cross_entropy(logits, labels)
        previous = losses.set_value_checks("never")
        try:
            if rows == 700 and grad:
                with pytest.raises(RuntimeError, match="out of bounds"):
                    losses.cross_entropy(logits, labels)
            else:
                with pytest.raises(ValueError, match=message):
                    losses.cross_entropy(logits, labels)
        finally:
            losses.set_value_checks(previous)
    previous = losses.set_value_checks("never")
    try:
        labels[1] = 3
        assert float(losses.cross_entropy(logits, labels).detach()) == pytest.approx(np.log(100.0), rel=1e-6)
    finally:
        losses.set_value_checks(previous)


@pytest.mark.parametrize("case", ["small", "weighted", "large", "uint64", "smoothed", "focal", "always"])
def test_torch_cross_entropy_reads_labels_only_where_no_kernel_checks_them(monkeypatch, case):
    """A small eager CPU cross entropy leaves the label check to torch's kernel (reading the
    labels first cost its training step about 3 us): the adapter's reader is not called there,
    and a label out of range still raises the loss's ValueError, with per-item weights too.
    Large logits (the chunked function), uint64 labels (``.long()`` could wrap one onto the
    kernel's ignore slot), label smoothing (no kernel call), other losses and value checks
    "always" read them; "always" then also rejects the kernel's ignore slot, 1 - 2**63."""
    require("torch")
    import torch

    import backends

    rows, dtype, kwargs, fn = 8, torch.int64, {}, losses.cross_entropy
    if case == "weighted":
        kwargs = {"weight": torch.rand(8)}
    elif case == "large":
        rows = 700  # 70000 logits >= 1 << 16
    elif case == "uint64":
        dtype = torch.uint64
    elif case == "smoothed":
        kwargs = {"label_smoothing": 0.1}
    elif case == "focal":
        fn = losses.softmax_focal
    elif case == "always":
        monkeypatch.setattr(losses._api, "_value_checks", "always")
    logits = torch.randn(rows, 100, requires_grad=True)
    labels = torch.randint(0, 100, (rows,)).to(dtype)
    B = backends.get(logits)
    reads = []
    outside = B.outside
    monkeypatch.setattr(B, "outside", lambda x, *a: reads.append(x) or outside(x, *a))
    fn(logits, labels, **kwargs).backward()
    assert B.kernel_checks_labels(logits, labels, 1) is (case not in ("large", "uint64"))
    assert [x is labels for x in reads] == ([] if case in ("small", "weighted") else [True])
    for bad in (100, -1) if case != "always" else (100, -1, 1 - 2**63):
        labels[3] = bad
        with pytest.raises(ValueError, match=rf"{fn.__name__}: labels must be integers in \[0, 100\)"):
            fn(logits, labels, **kwargs)


def test_torch_cross_entropy_under_vmap_reads_the_unbatched_labels():
    """Under ``vmap`` the kernel's batching rule reports a label out of range as gather's
    RuntimeError; the loss then reads the unbatched labels and raises its ValueError. Batched
    labels cannot be read there: torch's own error stands, as before the kernel checked them."""
    require("torch")
    import torch
    import torch.nn.functional as F

    xs = torch.randn(3, 4, 5, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 4])
    got = torch.func.vmap(lambda x: losses.cross_entropy(x, y))(xs)
    torch.testing.assert_close(got, torch.stack([F.cross_entropy(x, y) for x in xs]), rtol=1e-13, atol=0)
    y[3] = 7
    with pytest.raises(ValueError, match=r"cross_entropy: labels must be integers in \[0, 5\)"):
        torch.func.vmap(lambda x: losses.cross_entropy(x, y))(xs)
    with pytest.raises(RuntimeError, match="out of bounds"):
        torch.func.vmap(losses.cross_entropy)(xs, y.expand(3, 4))


@pytest.mark.parametrize("bad", [-100, -(2**63)])
def test_torch_cross_entropy_compiled_ignores_no_label(bad):
    """Under torch.compile no value check runs: the kernel reports the label itself."""
    require("torch")
    import torch

    f = torch.compile(lambda a, b: losses.cross_entropy(a, b), fullgraph=True, backend="eager")
    labels = torch.zeros(4, dtype=torch.int64)
    assert float(f(torch.zeros(4, 10), labels)) == pytest.approx(np.log(10.0), rel=1e-6)
    labels[1] = bad
    with pytest.raises(IndexError, match="out of bounds"):
        f(torch.zeros(4, 10), labels)


@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -2])
def test_cross_entropy_class_axis_anywhere(backend, to, axis):
    """Moving the class axis anywhere leaves the batch shape (and the loss) unchanged."""
    rng = np.random.default_rng(6)
    last = rng.normal(size=(2, 3, 5, 4))
    labels = rng.integers(0, 4, size=(2, 3, 5))
    lp = _log_softmax_np(last, -1)
    expected = -np.take_along_axis(lp, labels[..., None], axis=-1)[..., 0]
    moved = np.moveaxis(last, -1, axis)
    for kw in ({}, {"label_smoothing": 0.0, "ignore_index": -5}):
        got = losses.cross_entropy(to(moved), to(labels), axis=axis, reduction="none", **kw)
        np.testing.assert_allclose(_check.to_numpy(got), expected, rtol=1e-12)


def _forbidden(name):
    def fail(*args, **kwargs):
        raise AssertionError(f"{name} called")

    return fail


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_large_cpu_logits_match_torch(reduction, dtype):
    """Logits large enough for torch's chunked CPU kernel (all reductions): F.cross_entropy's
    values and gradients."""
    require("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(1)
    x = rng.normal(size=(512, 300)) * 4
    y = rng.integers(0, 300, size=512)
    _, ga = _value_and_grad("torch", lambda a, b: losses.cross_entropy(a, b, reduction=reduction), x, y)
    _, gb = _torch_value_and_grad(lambda a, b: F.cross_entropy(a, b, reduction=reduction), x, y)
    a = losses.cross_entropy(_check.convert(x, "torch", dtype), _check.convert(y, "torch"), reduction=reduction)
    b = F.cross_entropy(_check.convert(x, "torch", dtype), _check.convert(y, "torch"), reduction=reduction)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(_check.to_numpy(a), _check.to_numpy(b), rtol=rtol)
    np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=1e-16)


def test_cross_entropy_fused_path_is_the_softmax_cross_entropy_primitive(monkeypatch):
    """No class weight, smoothing or ignore_index: one fused call (F.cross_entropy with the
    reduction on torch), or B.softmax_cross_entropy + reduce with per-item weights; nothing of
    the logits' size besides; with the options, no one-hot is ever built."""
    require("torch")
    import torch
    import torch.nn.functional as F

    import backends

    x = torch.randn(64, 10, dtype=torch.float64)
    y = torch.randint(0, 10, (64,))
    B = backends.get(x)
    for prim in ("log_softmax", "softmax", "one_hot", "logsumexp", "gather_class", "take_along_axis"):
        monkeypatch.setattr(B, prim, _forbidden(prim))
    calls = []
    fused_loss, per_item = type(B).fused_loss, type(B).softmax_cross_entropy

    def spy_fused(kind, a, b, reduction, param=None):
        calls.append((kind, reduction))
        return fused_loss(B, kind, a, b, reduction, param)

    def spy_items(*args, **kwargs):
        calls.append(("per_item", args[1].shape))
        return per_item(B, *args, **kwargs)

    monkeypatch.setattr(B, "fused_loss", spy_fused)
    monkeypatch.setattr(B, "softmax_cross_entropy", spy_items)
    got = losses.cross_entropy(x, y)
    assert calls == [("cross_entropy", "mean")]
    assert float(got) == pytest.approx(float(F.cross_entropy(x, y)), rel=1e-14)
    calls.clear()
    w = torch.rand(64, dtype=torch.float64)
    got = losses.cross_entropy(x, y, weight=w)
    assert calls[0] == ("per_item", y.shape)
    expected = (F.cross_entropy(x, y, reduction="none") * w).sum() / w.sum()
    assert float(got) == pytest.approx(float(expected), rel=1e-14)

    monkeypatch.undo()
    monkeypatch.setattr(B, "one_hot", _forbidden("one_hot"))
    for kw in ({"label_smoothing": 0.1}, {"class_weight": torch.rand(10, dtype=torch.float64)},
               {"ignore_index": 3}, {"label_smoothing": 0.1, "class_weight": torch.ones(10, dtype=torch.float64)}):
        losses.cross_entropy(x, y, **kw)
        losses.poly1_cross_entropy(x, y, label_smoothing=kw.get("label_smoothing", 0.0))
    losses.softmax_focal(x, y, alpha=torch.rand(10, dtype=torch.float64))


def _no_one_hot_in_jaxpr(f, logits, labels):
    """True when no equation of ``f``'s jaxpr makes a boolean or integer array of the logits' shape."""
    import jax

    jaxpr = jax.make_jaxpr(f)(logits, labels)
    shape = tuple(logits.shape)
    for eqn in jaxpr.jaxpr.eqns:
        for var in eqn.outvars:
            aval = var.aval
            if tuple(aval.shape) == shape and aval.dtype.kind in "biu":
                return False
    return True


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.1}, {"class_weight": np.arange(1.0, 9.0)},
                                {"ignore_index": 0, "label_smoothing": 0.2, "class_weight": np.ones(8)}])
def test_cross_entropy_never_builds_a_one_hot_under_jax(kw):
    require("jax")
    logits = _jnp(np.random.default_rng(7).normal(size=(32, 8)))
    labels = _jnp(np.random.default_rng(8).integers(0, 8, size=32))
    kw = {k: (_jnp(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    assert _no_one_hot_in_jaxpr(lambda x, y: losses.cross_entropy(x, y, **kw), logits, labels)
    assert _no_one_hot_in_jaxpr(lambda x, y: losses.poly1_cross_entropy(x, y, label_smoothing=0.1), logits, labels)
    assert _no_one_hot_in_jaxpr(lambda x, y: losses.softmax_focal(x, y, alpha=_jnp(np.ones(8))), logits, labels)


@pytest.mark.parametrize("kw", [
    {"class_weight": CLASS_WEIGHT, "label_smoothing": 0.1, "ignore_index": 2},
    {"label_smoothing": 0.2},
    {"ignore_index": -1},
])
def test_cross_entropy_options_compile(kw):
    """The general paths run under jax.jit and torch.compile(fullgraph=True) and equal eager."""
    logits, labels, axis = _ce_case("4d", seed=9, ignore=kw.get("ignore_index"))
    labels = labels.astype(np.int32)
    for fw in installed(*FRAMEWORKS):
        conv = {k: (_check.convert(v, fw) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        x, y = _check.convert(logits, fw), _check.convert(labels, fw)
        eager = _check.to_numpy(losses.cross_entropy(x, y, axis=axis, **conv))
        if fw == "jax":
            import jax

            arrays = {k: v for k, v in conv.items() if not isinstance(v, (int, float))}
            static = {k: v for k, v in conv.items() if k not in arrays}
            f = jax.jit(lambda a, b, kw_, static=static: losses.cross_entropy(a, b, axis=axis, **kw_, **static))
            got = _check.to_numpy(f(x, y, arrays))
        else:
            import torch

            torch._dynamo.reset()
            f = torch.compile(lambda a, b, conv=conv: losses.cross_entropy(a, b, axis=axis, **conv), fullgraph=True,
                              backend="eager")
            got = _check.to_numpy(f(x, y))
        assert got == pytest.approx(eager, rel=1e-12)


# -- binary_cross_entropy ------------------------------------------------------------------------
@pytest.mark.peer
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("pos_weight", [None, 2.5, np.array([0.5, 1.0, 3.0])], ids=["none", "scalar", "per-column"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_logits_matches_torch(fw, pos_weight, reduction):
    require("torch")
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(10)
    x = rng.normal(scale=3.0, size=(7, 3))
    t = rng.uniform(size=(7, 3))
    t[:3] = np.round(t[:3])
    pw_t = None if pos_weight is None else torch.as_tensor(pos_weight, dtype=torch.float64)
    ref, ref_grad = _torch_value_and_grad(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw_t, reduction=reduction), x, t)
    _, ref_tgrad = _torch_value_and_grad(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw_t, reduction=reduction), x, t, wrt=1)

    def ours(a, b):
        pw = pos_weight if not isinstance(pos_weight, np.ndarray) else _check.convert(pos_weight, fw)
        return losses.binary_cross_entropy(a, b, pos_weight=pw, reduction=reduction)

    got, grad = _value_and_grad(fw, ours, x, t)
    _, tgrad = _value_and_grad(fw, ours, x, t, wrt=1)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tgrad, ref_tgrad, rtol=1e-12, atol=1e-15)


@pytest.mark.peer
def test_binary_cross_entropy_matches_optax():
    require("jax")
    import optax

    rng = np.random.default_rng(11)
    x, t = rng.normal(scale=3.0, size=20), rng.uniform(size=20)
    ref = np.asarray(optax.losses.sigmoid_binary_cross_entropy(_jnp(x), _jnp(t)))
    got = _check.to_numpy(losses.binary_cross_entropy(_jnp(x), _jnp(t), reduction="none"))
    np.testing.assert_allclose(got, ref, rtol=1e-13)


# probabilities at and next to 0 and 1, where torch clamps the logs at -100 and p(1-p) at 1e-12
EDGE_P = np.array([0.0, 1.0, 1e-300, 1e-50, 1e-13, 1e-12, 3e-12, 1e-7, 0.3, 0.5, 1 - 1e-13, 1 - 1e-7])


@pytest.mark.peer
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("t", [0.0, 1.0, 0.3])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_binary_cross_entropy_on_probabilities_matches_torch_at_0_and_1(fw, t, dtype):
    """Values (logs clamped at -100) and gradients ((p - t)/max(p(1-p), 1e-12)) equal torch's, finite."""
    require("torch")
    import torch
    import torch.nn.functional as F

    p = EDGE_P.astype(dtype)
    target = np.full_like(p, t)
    pt = torch.tensor(p, requires_grad=True)
    ref = F.binary_cross_entropy(pt, torch.tensor(target), reduction="none")
    (ref_grad,) = torch.autograd.grad(ref.sum(), pt)
    ref, ref_grad = ref.detach().double().numpy(), ref_grad.double().numpy()
    require(fw)
    conv = [_check.convert(p.astype(np.float64), fw, dtype, requires_grad=True), _check.convert(target, fw, dtype)]
    if fw == "torch":
        out = losses.binary_cross_entropy(*conv, from_logits=False, reduction="none")
        (grad,) = torch.autograd.grad(out.sum(), conv[0])
    else:
        import jax

        out = losses.binary_cross_entropy(*conv, from_logits=False, reduction="none")
        grad = jax.grad(lambda a: losses.binary_cross_entropy(a, conv[1], from_logits=False, reduction="sum"))(conv[0])
    got, grad = _check.to_numpy(out), _check.to_numpy(grad)
    assert np.all(np.isfinite(got)) and np.all(np.isfinite(grad))
    rtol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=1e-12 if dtype == "float64" else 1e-6)
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=1e-12 if dtype == "float64" else 1e-6)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_binary_cross_entropy_on_probabilities_target_gradient(fw):
    """d/dt = log(1 - p) - log p with the logs clamped at -100: torch's where it is finite, and
    ±100 (not torch's ±inf) at p = 0 and p = 1."""
    require("torch")
    import torch.nn.functional as F

    p = np.array([0.0, 1.0, 1e-13, 0.2, 0.7, 1 - 1e-13])
    t = np.array([0.3, 0.6, 0.5, 0.1, 1.0, 0.0])
    _, ref = _torch_value_and_grad(lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"), p, t, wrt=1)
    _, got = _value_and_grad(fw, lambda a, b: losses.binary_cross_entropy(a, b, from_logits=False,
                                                                          reduction="sum"), p, t, wrt=1)
    np.testing.assert_allclose(got[2:], ref[2:], rtol=1e-12)
    np.testing.assert_array_equal(ref[:2], [np.inf, -np.inf])
    np.testing.assert_array_equal(got[:2], [100.0, -100.0])


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_binary_cross_entropy_on_probabilities_with_pos_weight_rederived(fw):
    """-[p_w t log p + (1-t) log(1-p)] and its derivative (p(p_w t + 1 - t) - p_w t)/(p(1-p))."""
    rng = np.random.default_rng(12)
    p, t = rng.uniform(0.05, 0.95, size=(5, 3)), rng.uniform(size=(5, 3))
    pw = np.array([0.5, 2.0, 4.0])
    expected = -(pw * t * np.log(p) + (1 - t) * np.log1p(-p))
    expected_grad = (p * (pw * t + 1 - t) - pw * t) / (p * (1 - p))
    got, grad = _value_and_grad(fw, lambda a, b: losses.binary_cross_entropy(
        a, b, pos_weight=_check.convert(pw, fw), from_logits=False, reduction="none"), p, t)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12)


def test_binary_cross_entropy_probabilities_agree_with_logits_away_from_the_clamp(backend, to):
    rng = np.random.default_rng(13)
    x, t = rng.normal(scale=2.0, size=12), rng.uniform(size=12)
    a = _check.to_numpy(losses.binary_cross_entropy(to(x), to(t), reduction="none"))
    b = _check.to_numpy(losses.binary_cross_entropy(to(_sigmoid(x)), to(t), from_logits=False, reduction="none"))
    np.testing.assert_allclose(a, _bce_logits_np(x, t), rtol=1e-12)
    np.testing.assert_allclose(b, a, rtol=1e-10)


def test_binary_cross_entropy_integer_and_boolean_targets(backend, to):
    x = np.array([-1.0, 0.5, 2.0])
    t = np.array([0, 1, 1])
    expected = _bce_logits_np(x, t.astype(float))
    got = _check.to_numpy(losses.binary_cross_entropy(to(x), to(t), reduction="none"))
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    got = _check.to_numpy(losses.binary_cross_entropy(to(x), to(t.astype(bool)), reduction="none"))
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_binary_cross_entropy_tiny_losses_keep_their_precision(backend, to):
    """Confident, correct logits in float32: -log σ(±20) = log1p(e^-20) ≈ 2.06e-9, not 0
    (softplus(x) - t·x would cancel to 0 there). torch runs its own kernel, which cancels."""
    if backend == "torch":
        pytest.skip("torch computes this with F.binary_cross_entropy_with_logits (0 here, as torch)")
    x = np.array([20.0, -20.0, 30.0, -30.0])
    t = np.array([1.0, 0.0, 1.0, 0.0])
    for pos_weight in (None, 2.0):
        got = losses.binary_cross_entropy(to(x, "float32"), to(t, "float32"), pos_weight=pos_weight, reduction="none")
        expected = np.log1p(np.exp(-np.abs(x))) * np.where(t == 1, pos_weight or 1.0, 1.0)
        np.testing.assert_allclose(_check.to_numpy(got), expected, rtol=1e-5)


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("pos_weight", [None, 3.0])
def test_binary_cross_entropy_gradient_at_zero_logit(fw, pos_weight):
    """d/dx at x = 0 is σ(0)·(p_w·t + 1 - t) - p_w·t = (1 + (p_w - 1)t)/2 - p_w·t, on both sides
    of the kink of |x| the formula is built on."""
    t = np.array([0.0, 0.3, 1.0])
    pw = 1.0 if pos_weight is None else pos_weight
    _, g = _value_and_grad(fw, lambda x, y: losses.binary_cross_entropy(x, y, pos_weight=pos_weight,
                                                                          reduction="none"), np.zeros(3), t)
    np.testing.assert_allclose(g, (1 + (pw - 1) * t) / 2 - pw * t, rtol=1e-12)


# -- sigmoid_focal -------------------------------------------------------------------------------------
def _torchvision_sigmoid_focal(x, t, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss(reduction="none"), re-derived line by line in NumPy.

    Complex-safe (for the complex-step derivative), so the BCE is the plain log(1 + e^x) - x·t.
    """
    p = _sigmoid(x)
    ce_loss = np.log1p(np.exp(x)) - x * t if np.iscomplexobj(x) else _bce_logits_np(x, t)
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * t + (1 - alpha) * (1 - t)
        loss = alpha_t * loss
    return loss


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (-1.0, 2.0), (0.7, 0.0), (0.4, 0.5), (0.25, 3.5),
                                          (0.0, 1.0), (1.0, 2.0)])
def test_sigmoid_focal_matches_torchvision_rederived(fw, alpha, gamma):
    rng = np.random.default_rng(14)
    x = rng.normal(scale=2.5, size=(6, 4))
    t = rng.integers(0, 2, size=(6, 4)).astype(np.float64)
    expected = _torchvision_sigmoid_focal(x, t, alpha, gamma)
    expected_grad = _complex_step_grad(lambda a: _torchvision_sigmoid_focal(a, t, alpha, gamma), x)
    got, grad = _value_and_grad(fw, lambda a, b: losses.sigmoid_focal(a, b, alpha=alpha, gamma=gamma,
                                                                      reduction="none"), x, t)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-300)


def test_sigmoid_focal_alpha_none_equals_negative_alpha(backend, to):
    rng = np.random.default_rng(15)
    x, t = rng.normal(size=10), rng.integers(0, 2, size=10).astype(float)
    a = _check.to_numpy(losses.sigmoid_focal(to(x), to(t), alpha=None, reduction="none"))
    b = _check.to_numpy(losses.sigmoid_focal(to(x), to(t), alpha=-1, reduction="none"))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, _torchvision_sigmoid_focal(x, t, -1.0), rtol=1e-12)


@pytest.mark.peer
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("alpha, gamma, soft", [(0.25, 2.0, False), (None, 2.0, False), (0.25, 1.5, True),
                                                (0.6, 0.5, True)])
def test_sigmoid_focal_matches_optax(fw, alpha, gamma, soft):
    require("jax")
    import jax
    import optax

    rng = np.random.default_rng(16)
    x = rng.normal(scale=3.0, size=(5, 4))
    t = rng.uniform(size=(5, 4)) if soft else rng.integers(0, 2, size=(5, 4)).astype(np.float64)
    xj, tj = _jnp(x), _jnp(t)
    ref = np.asarray(optax.losses.sigmoid_focal_loss(xj, tj, alpha=alpha, gamma=gamma))
    ref_grad = np.asarray(jax.grad(lambda a: optax.losses.sigmoid_focal_loss(a, tj, alpha=alpha, gamma=gamma).sum())(xj))
    got, grad = _value_and_grad(fw, lambda a, b: losses.sigmoid_focal(a, b, alpha=alpha, gamma=gamma,
                                                                      reduction="none"), x, t)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-300)


# -- softmax_focal -----------------------------------------------------------------------------------
def _kornia_focal(x, y, alpha, gamma, weight):
    import kornia
    import torch

    w = None if weight is None else torch.as_tensor(weight, dtype=x.dtype)
    return kornia.losses.focal_loss(x, y, alpha=alpha, gamma=gamma, reduction="none", weight=w).sum(1)


@pytest.mark.peer
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
@pytest.mark.parametrize("alpha", ["none", "per-class", "kornia-scalar"])
def test_softmax_focal_matches_kornia(fw, gamma, alpha):
    """kornia's per-class factor is its ``weight``; its scalar ``alpha=a`` is (1 - a, a, ..., a) here."""
    require("torch")
    pytest.importorskip("kornia")
    rng = np.random.default_rng(17)
    x = rng.normal(scale=2.0, size=(2, 4, 3, 5))  # (N, C, H, W)
    y = rng.integers(0, 4, size=(2, 3, 5))
    per_class = np.array([0.3, 1.5, 0.8, 2.0])
    if alpha == "none":
        peer_kw, ours_alpha = {"alpha": None, "weight": None}, None
    elif alpha == "per-class":
        peer_kw, ours_alpha = {"alpha": None, "weight": per_class}, per_class
    else:
        peer_kw, ours_alpha = {"alpha": 0.3, "weight": None}, np.array([0.7, 0.3, 0.3, 0.3])
    ref, ref_grad = _torch_value_and_grad(lambda a, b: _kornia_focal(a, b, gamma=gamma, **peer_kw), x, y)

    def ours(a, b):
        al = None if ours_alpha is None else _check.convert(ours_alpha, fw)
        return losses.softmax_focal(a, b, axis=1, alpha=al, gamma=gamma, reduction="none")

    got, grad = _value_and_grad(fw, ours, x, y)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-15)


def test_softmax_focal_scalar_alpha_sequence_alpha_and_gamma_zero(backend, to):
    rng = np.random.default_rng(18)
    x, y = rng.normal(size=(6, 3)), rng.integers(0, 3, size=6)
    lp = _log_softmax_np(x, -1)[np.arange(6), y]
    plain = -((1 - np.exp(lp)) ** 2) * lp
    got = _check.to_numpy(losses.softmax_focal(to(x), to(y), reduction="none"))
    np.testing.assert_allclose(got, plain, rtol=1e-12)
    got = _check.to_numpy(losses.softmax_focal(to(x), to(y), alpha=0.25, reduction="none"))
    np.testing.assert_allclose(got, 0.25 * plain, rtol=1e-12)
    got = _check.to_numpy(losses.softmax_focal(to(x), to(y), alpha=[1.0, 2.0, 3.0], reduction="none"))
    np.testing.assert_allclose(got, np.array([1.0, 2.0, 3.0])[y] * plain, rtol=1e-12)
    got = _check.to_numpy(losses.softmax_focal(to(x), to(y), gamma=0.0, reduction="none"))
    np.testing.assert_allclose(got, -lp, rtol=1e-12)


# -- ghm_c: mmdet's GHMC re-derived ----------------------------------------------------------------
class MmdetGHMC:
    """mmdet.models.losses.GHMC (use_sigmoid=True, loss_weight=1), re-derived in NumPy with its loops."""

    def __init__(self, bins=10, momentum=0.0):
        self.bins = bins
        self.momentum = momentum
        self.edges = np.arange(bins + 1, dtype=np.float64) / bins
        self.edges[-1] += 1e-6
        self.acc_sum = np.zeros(bins)

    def __call__(self, pred, target, label_weight):
        edges, mmt = self.edges, self.momentum
        weights = np.zeros_like(pred)
        g = np.abs(_sigmoid(pred) - target)
        valid = label_weight > 0
        tot = max(float(valid.sum()), 1.0)
        n = 0
        for i in range(self.bins):
            inds = (g >= edges[i]) & (g < edges[i + 1]) & valid
            num_in_bin = inds.sum()
            if num_in_bin > 0:
                if mmt > 0:
                    self.acc_sum[i] = mmt * self.acc_sum[i] + (1 - mmt) * num_in_bin
                    weights[inds] = tot / self.acc_sum[i]
                else:
                    weights[inds] = tot / num_in_bin
                n += 1
        if n > 0:
            weights = weights / n
        loss = _bce_logits_np(pred, target) * weights
        return loss.sum() / tot, weights


def _ghm_batch(seed, shape=(12, 4), spread=4.0):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=spread, size=shape), rng.integers(0, 2, size=shape).astype(np.float64)


@pytest.mark.parametrize("bins", [1, 4, 10, 30])
def test_ghm_c_matches_mmdet_without_momentum(backend, to, bins):
    x, t = _ghm_batch(19)
    ref, _ = MmdetGHMC(bins)(x, t, np.ones_like(x))
    got, state = losses.ghm_c(to(x), to(t), bins=bins)
    assert float(_check.to_numpy(got)) == pytest.approx(ref, rel=1e-12)
    assert _check.to_numpy(state["acc_sum"]).shape == (bins,)


@pytest.mark.parametrize("momentum", [0.5, 0.75, 0.9])
def test_ghm_c_momentum_over_several_calls_matches_mmdet(backend, to, momentum):
    peer = MmdetGHMC(10, momentum)
    state = None
    for call in range(4):
        x, t = _ghm_batch(20 + call, spread=[4.0, 1.0, 8.0, 2.0][call])
        ref, _ = peer(x, t, np.ones_like(x))
        got, state = losses.ghm_c(to(x), to(t), momentum=momentum, state=state)
        assert float(_check.to_numpy(got)) == pytest.approx(ref, rel=1e-12)
        np.testing.assert_allclose(_check.to_numpy(state["acc_sum"]), peer.acc_sum, rtol=1e-13)


def test_ghm_c_momentum_one_freezes_the_state(backend, to):
    # momentum 1 (the catalogue's range is [0, 1]): the counts of earlier calls, unchanged
    peer = MmdetGHMC(10, 0.75)
    x, t = _ghm_batch(23)
    _, state = losses.ghm_c(to(x), to(t), momentum=0.75)
    peer(x, t, np.ones_like(x))
    frozen = peer.acc_sum.copy()
    peer.momentum = 1.0
    ref, _ = peer(x, t, np.ones_like(x))  # the same batch: every non-empty bin has a count
    got, state = losses.ghm_c(to(x), to(t), momentum=1.0, state=state)
    assert float(_check.to_numpy(got)) == pytest.approx(ref, rel=1e-12)
    np.testing.assert_array_equal(_check.to_numpy(state["acc_sum"]), frozen)
    # a bin empty so far keeps its count 0: its items weigh 0 (mmdet would divide by 0)
    x2, t2 = np.array([0.0, 0.0, 3.0]), np.array([1.0, 0.0, 1.0])  # g = 0.5, 0.5, 0.047
    acc = np.zeros(10)
    acc[5] = 4.0
    got, state = losses.ghm_c(to(x2), to(t2), momentum=1.0, state={"acc_sum": to(acc)}, reduction="none")
    # 2 non-empty bins, N = 3: weight 3 / (4 * 2) in bin 5, 0 in bin 0
    np.testing.assert_allclose(_check.to_numpy(got), [3 / 8 * np.log(2.0), 3 / 8 * np.log(2.0), 0.0], rtol=1e-12)
    np.testing.assert_array_equal(_check.to_numpy(state["acc_sum"]), acc)


def test_ghm_c_zero_one_weight_is_mmdets_label_weight(backend, to):
    x, t = _ghm_batch(24)
    label_weight = (np.random.default_rng(25).uniform(size=x.shape) < 0.7).astype(np.float64)
    peer = MmdetGHMC(10, 0.6)
    state = None
    for _ in range(2):
        ref, ref_w = peer(x, t, label_weight)
        got, state = losses.ghm_c(to(x), to(t), momentum=0.6, state=state, weight=to(label_weight))
        assert float(_check.to_numpy(got)) == pytest.approx(ref, rel=1e-12)
        per_item = _check.to_numpy(losses.ghm_c(to(x), to(t), weight=to(label_weight), reduction="none")[0])
        # rtol 1e-10: torch's BCE-with-logits kernel loses ~1e-11 on its smallest values
        np.testing.assert_allclose(per_item, MmdetGHMC(10)(x, t, label_weight)[1] * _bce_logits_np(x, t),
                                   rtol=1e-10)
        np.testing.assert_allclose(_check.to_numpy(state["acc_sum"]), peer.acc_sum, rtol=1e-13)


@pytest.mark.parametrize("momentum", [0.0, 0.75])
def test_ghm_c_every_item_in_one_bin_and_items_on_edges(backend, to, momentum):
    # logits 0: g = 0.5 exactly, on an edge (bin 5 of 10); all in one bin gives weight N/(N·1) = 1
    x = np.zeros((3, 4))
    t = np.tile([1.0, 0.0], (3, 2))
    got, state = losses.ghm_c(to(x), to(t), momentum=momentum)
    ref, _ = MmdetGHMC(10, momentum)(x, t, np.ones_like(x))
    assert float(_check.to_numpy(got)) == pytest.approx(ref, rel=1e-12)
    if momentum == 0:
        assert float(_check.to_numpy(got)) == pytest.approx(np.log(2.0), rel=1e-12)
    acc = np.zeros(10)
    acc[5] = (1 - momentum) * 12
    np.testing.assert_allclose(_check.to_numpy(state["acc_sum"]), acc, rtol=1e-13)
    # g = 0 (t = σ(x)) lands in bin 0 and g = 1 in the last one, thanks to its edge + 1e-6
    x = np.array([0.0, 0.0, -1e4, 3.0])
    t = np.array([0.5, 0.5, 1.0, 1.0])
    got, state = losses.ghm_c(to(x), to(t), bins=4)
    ref, _ = MmdetGHMC(4)(x, t, np.ones_like(x))
    assert float(_check.to_numpy(got)) == pytest.approx(ref, rel=1e-12)
    np.testing.assert_array_equal(_check.to_numpy(state["acc_sum"]), [3.0, 0.0, 0.0, 1.0])


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_ghm_c_gradient_is_the_weighted_bce_gradient(fw):
    x, t = _ghm_batch(26, shape=(6, 3))
    _, w = MmdetGHMC(10)(x, t, np.ones_like(x))
    expected = w * (_sigmoid(x) - t) / x.size
    _, grad = _value_and_grad(fw, lambda a, b: losses.ghm_c(a, b)[0], x, t)
    np.testing.assert_allclose(grad, expected, rtol=1e-10)


def test_ghm_c_under_jit_and_torch_compile_over_calls():
    xs = [_ghm_batch(27 + i) for i in range(3)]
    peer = MmdetGHMC(10, 0.75)
    refs = [(peer(x, t, np.ones_like(x))[0], peer.acc_sum.copy()) for x, t in xs]
    for fw in installed(*FRAMEWORKS):
        if fw == "jax":
            import jax

            step = jax.jit(lambda a, b, s: losses.ghm_c(a, b, momentum=0.75, state=s))
        else:
            import torch

            torch._dynamo.reset()
            step = torch.compile(lambda a, b, s: losses.ghm_c(a, b, momentum=0.75, state=s), fullgraph=True,
                                 backend="eager")
        state = {"acc_sum": _check.convert(np.zeros(10), fw)}
        for (x, t), (ref, ref_acc) in zip(xs, refs, strict=True):
            got, state = step(_check.convert(x, fw), _check.convert(t, fw), state)
            assert float(_check.to_numpy(got)) == pytest.approx(ref, rel=1e-12)
            np.testing.assert_allclose(_check.to_numpy(state["acc_sum"]), ref_acc, rtol=1e-13)


# -- poly1_cross_entropy -------------------------------------------------------------------------------
@pytest.mark.peer
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("epsilon", [2.0, -1.0, 0.5])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("integer", [True, False], ids=["int-labels", "one-hot"])
def test_poly1_matches_optax(fw, epsilon, smoothing, integer):
    require("jax")
    import jax
    import optax

    rng = np.random.default_rng(28)
    x, y = rng.normal(scale=2.0, size=(7, 5)), rng.integers(0, 5, size=7)
    onehot = np.eye(5)[y]
    q = _jnp(onehot)
    if smoothing:
        q = optax.smooth_labels(q, smoothing)
    xj = _jnp(x)
    ref = np.asarray(optax.losses.poly_loss_cross_entropy(xj, q, epsilon=epsilon))
    ref_grad = np.asarray(jax.grad(lambda a: optax.losses.poly_loss_cross_entropy(a, q, epsilon=epsilon).sum())(xj))
    labels = y if integer else onehot
    got, grad = _value_and_grad(fw, lambda a, b: losses.poly1_cross_entropy(
        a, b, epsilon=epsilon, label_smoothing=smoothing, reduction="none"), x, labels)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-15)


def test_poly1_epsilon_zero_is_cross_entropy_and_axis_1(backend, to):
    rng = np.random.default_rng(29)
    x, y = rng.normal(size=(3, 4, 5)), rng.integers(0, 4, size=(3, 5))
    a = _check.to_numpy(losses.poly1_cross_entropy(to(x), to(y), axis=1, epsilon=0.0, reduction="none"))
    lp = _log_softmax_np(x, 1)
    ce = -np.take_along_axis(lp, y[:, None], axis=1)[:, 0]
    np.testing.assert_allclose(a, ce, rtol=1e-12)
    b = _check.to_numpy(losses.poly1_cross_entropy(to(x), to(y), axis=1, reduction="none"))
    np.testing.assert_allclose(b, ce + 2.0 * (1 - np.exp(-ce)), rtol=1e-12)


# -- kl_divergence ---------------------------------------------------------------------------------------
@pytest.mark.peer
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_kl_divergence_matches_scipy_and_torch_kl_div(fw, axis):
    require("torch")
    import torch.nn.functional as F
    from scipy.special import rel_entr

    rng = np.random.default_rng(30)
    p = rng.uniform(size=(4, 5, 3))
    q = rng.uniform(0.05, 1.0, size=(4, 5, 3))
    p[0, 0, 0] = p[1, 2, 1] = 0.0  # 0·log 0 = 0
    p /= p.sum(axis=axis, keepdims=True)
    q /= q.sum(axis=axis, keepdims=True)
    expected = rel_entr(p, q).sum(axis=axis)
    ref, ref_grad_q = _torch_value_and_grad(lambda a, b: F.kl_div(a.log(), b, reduction="none").sum(axis), q, p)
    np.testing.assert_allclose(ref, expected, rtol=1e-12)

    def ours(a, b):
        return losses.kl_divergence(a, b, axis=axis, reduction="none")

    got, grad_q = _value_and_grad(fw, ours, p, q, wrt=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad_q, ref_grad_q, rtol=1e-12)
    # gradient in p: log p + 1 - log q where p > 0; torch's kl_div differentiates its target alike
    _, ref_grad_p = _torch_value_and_grad(lambda a, b: F.kl_div(b.log(), a, reduction="none").sum(axis), p, q)
    _, grad_p = _value_and_grad(fw, ours, p, q, wrt=0)
    live = p > 0
    np.testing.assert_allclose(grad_p[live], ref_grad_p[live], rtol=1e-12)
    assert np.all(np.isfinite(grad_p)) and np.all(grad_p[~live] == 0)


@pytest.mark.peer
@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_kl_divergence_log_input_matches_torch_log_target(fw):
    require("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(31)
    lp = _log_softmax_np(rng.normal(size=(6, 4)), -1)
    lq = _log_softmax_np(rng.normal(size=(6, 4)), -1)
    ref, ref_grad = _torch_value_and_grad(lambda a, b: F.kl_div(b, a, reduction="none", log_target=True).sum(-1),
                                          lp, lq)
    got, grad = _value_and_grad(fw, lambda a, b: losses.kl_divergence(a, b, log_input=True, reduction="none"),
                                lp, lq)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12)
    # a zero probability as log p = -inf contributes 0 (torch gives NaN there)
    lp2 = lp.copy()
    lp2[0, 1] = -np.inf
    got, grad = _value_and_grad(fw, lambda a, b: losses.kl_divergence(a, b, log_input=True, reduction="none"),
                                lp2, lq)
    p = np.exp(lp2)
    np.testing.assert_allclose(got, np.where(p > 0, p * (lp2 - lq), 0.0).sum(-1), rtol=1e-12)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_kl_divergence_zeros_give_finite_values_and_gradients(fw):
    p = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    q = np.array([[0.0, 0.25, 0.75], [0.5, 0.5, 0.0]])
    for wrt in (0, 1):
        value, grad = _value_and_grad(fw, lambda a, b: losses.kl_divergence(a, b, reduction="none"), p, q, wrt=wrt)
        np.testing.assert_allclose(value, [0.5 * np.log(2) + 0.5 * np.log(2 / 3), np.log(2)], rtol=1e-13)
        assert np.all(np.isfinite(grad))
    # p > 0 where q = 0: the divergence is infinite, as rel_entr's
    got = _check.to_numpy(losses.kl_divergence(_check.convert(np.array([0.5, 0.5]), fw),
                                               _check.convert(np.array([1.0, 0.0]), fw)))
    assert got == np.inf


def test_kl_divergence_broadcasts_one_q_against_a_batch(backend, to):
    from scipy.special import rel_entr

    rng = np.random.default_rng(32)
    p = rng.dirichlet(np.ones(4), size=5)
    q = rng.dirichlet(np.ones(4))
    got = _check.to_numpy(losses.kl_divergence(to(p), to(q), reduction="none"))
    np.testing.assert_allclose(got, rel_entr(p, q).sum(-1), rtol=1e-12)


# -- extremes: finite values and gradients -------------------------------------------------------------
def _extreme_cases(big):
    x2 = np.array([[big, -big, 0.0], [-big, big, -big], [0.0, 0.0, big]])
    labels = np.array([0, 0, 2])
    xb = np.array([big, -big, big, -big, 0.0])
    tb = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    return [
        ("cross_entropy", (x2, labels), {}),
        ("cross_entropy", (x2, labels), {"label_smoothing": 0.1, "class_weight": np.array([1.0, 2.0, 0.5])}),
        ("cross_entropy", (x2, np.eye(3)[labels] * 0.9 + 0.1 / 3), {}),
        ("softmax_focal", (x2, labels), {}),
        ("softmax_focal", (x2, labels), {"gamma": 0.5}),
        ("poly1_cross_entropy", (x2, labels), {"label_smoothing": 0.1}),
        ("binary_cross_entropy", (xb, tb), {"pos_weight": 3.0}),
        ("sigmoid_focal", (xb, tb), {}),
        ("sigmoid_focal", (xb, tb), {"gamma": 0.5, "alpha": None}),
        ("ghm_c", (xb, tb), {}),
        ("kl_divergence", (np.array([0.0, 1.0]), np.array([1e-30, 1.0])), {}),
    ]


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("dtype, big", [("float32", 1e4), ("float16", 80.0)])
def test_extreme_logits_give_finite_values_and_gradients(fw, dtype, big):
    require(fw)
    for name, args, kw in _extreme_cases(big):
        entry = losses.catalog.get(name)
        conv = list(_check.convert(args, fw, dtype))
        kwc = _check.convert(kw, fw, dtype)

        def scalar(x, conv=conv, kwc=kwc, entry=entry):
            full = [x, *conv[1:]]
            return _check._loss_value(entry, entry.fn(*full, **kwc))

        if fw == "torch":
            import torch

            x = conv[0].detach().requires_grad_(True)
            value = scalar(x)
            (grad,) = torch.autograd.grad(value, x)
        else:
            import jax

            value, grad = jax.value_and_grad(scalar)(conv[0])
        assert value.dtype == _check.convert(np.zeros(1), fw, "float32").dtype, name  # float16 computed in float32
        assert np.isfinite(_check.to_numpy(value)), (name, kw)
        assert np.all(np.isfinite(_check.to_numpy(grad))), (name, kw)


@pytest.mark.skip_backend("strict", reason="array-api-strict has no float16")
def test_float16_inputs_are_computed_and_returned_in_float32(backend, to):
    x = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, -3.0]])
    y = np.array([2, 1])
    expected = float(np.mean(-_log_softmax_np(x.astype(np.float16).astype(np.float64), -1)[[0, 1], y]))
    for got in (losses.cross_entropy(to(x, "float16"), to(y)),
                losses.binary_cross_entropy(to(x, "float16"), to(np.ones_like(x), "float16")),
                losses.kl_divergence(to(np.full((2, 3), 1 / 3), "float16"), to(np.full((2, 3), 1 / 3), "float16"))):
        assert got.dtype == to(np.zeros(1), "float32").dtype
    got = losses.cross_entropy(to(x, "float16"), to(y))
    assert float(_check.to_numpy(got)) == pytest.approx(expected, rel=1e-6)


def test_arrays_from_another_framework_are_refused():
    require("torch")
    import torch

    x, y = torch.tensor(X), torch.tensor(Y)
    with pytest.raises(TypeError, match="two frameworks"):
        losses.cross_entropy(x, y, class_weight=np.ones(3))
    with pytest.raises(TypeError, match="two frameworks"):
        losses.softmax_focal(x, y, alpha=np.ones(3))
    with pytest.raises(TypeError, match="two frameworks"):
        losses.binary_cross_entropy(torch.tensor(XB), torch.tensor(TB), pos_weight=np.ones(3))
    # Python numbers, sequences and NumPy scalars are fine
    a = losses.softmax_focal(x, y, alpha=[1.0, 2.0, 3.0])
    b = losses.softmax_focal(x, y, alpha=torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    assert float(a) == float(b)
    assert float(losses.softmax_focal(x, y, alpha=np.float32(0.5))) == pytest.approx(
        0.5 * float(losses.softmax_focal(x, y)), rel=1e-15)
    assert float(losses.softmax_focal(x, y, alpha=torch.tensor(0.5, dtype=torch.float64))) == pytest.approx(
        0.5 * float(losses.softmax_focal(x, y)), rel=1e-15)


# -- bad input -------------------------------------------------------------------------------------------
X = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, -3.0]])
Y = np.array([2, 1])
XB = np.array([0.3, -2.0, 1.0])
TB = np.array([1.0, 0.0, 1.0])

BAD = [
    # (loss, args, kwargs, error, match)
    ("cross_entropy", (X, np.array([0, 1, 2])), {}, ValueError, "labels has shape"),
    ("cross_entropy", (X, np.array([[0], [1]])), {}, ValueError, "labels has shape"),
    ("cross_entropy", (X, np.array([2.0, 1.0])), {}, TypeError, "labels must be an integer"),
    ("cross_entropy", (X, np.array([3, 0])), {}, ValueError, r"labels must be integers in \[0, 3\)"),
    ("cross_entropy", (X, np.array([-1, 0])), {}, ValueError, "labels"),
    ("cross_entropy", (X, np.array([-1, 0])), {"ignore_index": -2}, ValueError, "labels"),
    ("cross_entropy", (X, Y), {"label_smoothing": 1.5}, ValueError, "label_smoothing"),
    ("cross_entropy", (X, Y), {"label_smoothing": -0.1}, ValueError, "label_smoothing"),
    ("cross_entropy", (X, Y), {"class_weight": np.ones(4)}, ValueError, "class_weight"),
    ("cross_entropy", (X, Y), {"ignore_index": 1.5}, TypeError, "ignore_index"),
    ("cross_entropy", (X, np.full((2, 3), 1 / 3)), {"ignore_index": 0}, ValueError, "ignore_index"),
    ("cross_entropy", (X, Y), {"axis": 2}, ValueError, "axis"),
    ("cross_entropy", (X, Y), {"reduction": "avg"}, ValueError, "reduction"),
    ("cross_entropy", (np.array([[1, 2, 3], [0, 1, 2]]), Y), {}, TypeError, "logits"),
    ("binary_cross_entropy", (XB, np.array([1.0, 0.0])), {}, ValueError, "target"),
    ("binary_cross_entropy", (XB, np.array([1.0, 2.0, 0.0])), {}, ValueError, "target"),
    ("binary_cross_entropy", (np.array([0.2, 1.1, 0.5]), TB), {"from_logits": False}, ValueError, "logits"),
    ("binary_cross_entropy", (np.array([0.2, -0.1, 0.5]), TB), {"from_logits": False}, ValueError, "from_logits"),
    ("binary_cross_entropy", (XB, TB), {"pos_weight": np.ones((2, 3))}, ValueError, "pos_weight"),
    ("binary_cross_entropy", (XB, TB), {"pos_weight": -1.0}, ValueError, "pos_weight"),
    ("sigmoid_focal", (XB, TB), {"alpha": 1.5}, ValueError, "alpha"),
    ("sigmoid_focal", (XB, TB), {"gamma": -1.0}, ValueError, "gamma"),
    ("sigmoid_focal", (XB, np.array([1.0, 0.0])), {}, ValueError, "target"),
    ("softmax_focal", (X, Y), {"gamma": -0.5}, ValueError, "gamma"),
    ("softmax_focal", (X, Y), {"alpha": -0.5}, ValueError, "alpha"),
    ("softmax_focal", (X, Y), {"alpha": np.array([1.0, -1.0, 1.0])}, ValueError, "alpha"),
    ("softmax_focal", (X, Y), {"alpha": np.ones(2)}, ValueError, "alpha"),
    ("softmax_focal", (X, np.array([2.0, 1.0])), {}, TypeError, "labels"),
    ("softmax_focal", (X, np.full((2, 3), 1 / 3)), {}, ValueError, "labels"),
    ("softmax_focal", (X, np.array([0, 5])), {}, ValueError, "labels"),
    ("ghm_c", (XB, TB), {"bins": 0}, ValueError, "bins"),
    ("ghm_c", (XB, TB), {"bins": 2.5}, TypeError, "bins"),
    ("ghm_c", (XB, TB), {"momentum": 1.0}, ValueError, "state of earlier calls"),
    ("ghm_c", (XB, TB), {"momentum": 1.5}, ValueError, "momentum"),
    ("ghm_c", (XB, TB), {"momentum": -0.1}, ValueError, "momentum"),
    ("ghm_c", (XB, TB), {"state": {"acc_sum": np.zeros(5)}}, ValueError, "acc_sum"),
    ("ghm_c", (XB, TB), {"state": {"acc": np.zeros(10)}}, ValueError, "state"),
    ("ghm_c", (XB, np.array([1.0, 0.5, 3.0])), {}, ValueError, "target"),
    ("poly1_cross_entropy", (X, Y), {"epsilon": -1.5}, ValueError, "epsilon"),
    ("poly1_cross_entropy", (X, Y), {"label_smoothing": 2.0}, ValueError, "label_smoothing"),
    ("poly1_cross_entropy", (X, np.array([2.0, 1.0])), {}, TypeError, "labels"),
    ("poly1_cross_entropy", (X, np.array([3, 1])), {}, ValueError, "labels"),
    ("kl_divergence", (np.array([0.5, -0.5]), np.array([0.5, 0.5])), {}, ValueError, "p must be non-negative"),
    ("kl_divergence", (np.array([0.5, 0.5]), np.array([1.5, -0.5])), {}, ValueError, "q must be non-negative"),
    ("kl_divergence", (np.ones((2, 3)), np.ones((2, 4))), {}, ValueError, "broadcast"),
]


@pytest.mark.parametrize("name, args, kwargs, error, match", BAD,
                         ids=[f"{b[0]}-{b[4]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_raises_naming_the_argument(backend, name, args, kwargs, error, match):
    conv = _check.convert(args, backend)
    kw = _check.convert(kwargs, backend)
    with pytest.raises(error, match=match) as info:
        getattr(losses, name)(*conv, **kw)
    assert name in str(info.value)


def test_value_checks_do_not_run_under_jit():
    """Label and probability ranges are checked on eager arrays only (no host sync under tracing)."""
    require("jax")
    import jax

    f = jax.jit(lambda p, t: losses.binary_cross_entropy(p, t, from_logits=False, reduction="none"))
    out = np.asarray(f(_jnp(np.array([0.5, 1.5])), _jnp(np.array([1.0, 0.0]))))
    assert out.shape == (2,)
    g = jax.jit(lambda x, y: losses.cross_entropy(x, y, reduction="none"))
    assert np.asarray(g(_jnp(X), _jnp(np.array([0, 7])))).shape == (2,)


# -- found in review ------------------------------------------------------------------------------
def test_ghm_c_all_zero_weight_is_zero_like_mmdet():
    x, t = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.0, 1.0])
    value, _ = losses.ghm_c(x, t, weight=np.zeros(3))
    assert float(value) == 0.0


def test_probability_targets_are_range_checked():
    with pytest.raises(ValueError, match="poly1_cross_entropy: labels must be probabilities in \\[0, 1\\]"):
        losses.poly1_cross_entropy(np.zeros((2, 3)), np.full((2, 3), -1.0))
    with pytest.raises(ValueError, match="cross_entropy: labels must be probabilities in \\[0, 1\\]"):
        losses.cross_entropy(np.zeros((2, 3)), np.full((2, 3), 2.0))


def test_kl_divergence_keeps_nan():
    with np.errstate(invalid="ignore"):
        out = losses.kl_divergence(np.array([np.nan, 0.0]), np.log(np.array([0.5, 0.5])), log_input=True)
    assert np.isnan(float(out))


@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_kl_log_input_with_both_minus_inf_has_finite_gradients(fw):
    require(fw)
    entry = losses.catalog.get("kl_divergence")
    lp = np.log(np.array([[0.0, 0.25, 0.75]]))
    lq = np.log(np.array([[0.0, 0.5, 0.5]]))
    with np.errstate(divide="ignore"):
        grads = _check.autodiff_gradients(entry, (lp, lq), {"log_input": True}, fw)
    expected_q = -np.exp(lp)  # d/dlog q of -p·log q; 0 where p = 0
    np.testing.assert_allclose(grads[1], expected_q, rtol=1e-12)
    assert np.all(np.isfinite(grads[0]))
