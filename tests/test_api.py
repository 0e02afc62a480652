"""The shared machinery: backend resolution, primitives, reduction, checks, the command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import backends
import losses
from losses import _api, _check

from .conftest import require


def test_importing_losses_imports_no_framework():
    code = (
        "import sys, losses, backends; import numpy as np; losses.mse(np.ones(3), np.zeros(3)); "
        "print(sorted(m for m in ('torch', 'jax', 'cupy', 'array_api_strict') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_backend_resolution_is_cached_per_type(backend, to):
    x = to(np.ones(3))
    assert backends.get(x) is backends.get(x, 2.0, None)
    assert backends.get(x).name == backend


def test_two_frameworks_raise_naming_both():
    require("torch")
    import torch

    with pytest.raises(TypeError, match="torch and numpy"):
        losses.mse(torch.ones(3), np.zeros(3))


def test_unknown_array_type_raises():
    with pytest.raises(TypeError, match="unsupported array type"):
        backends.get([1.0, 2.0])


def test_python_scalars_alone_resolve_to_numpy():
    assert backends.get(1.0, 2).name == "numpy"


# -- primitives --------------------------------------------------------------------------------
def _generic_of(backend_name):
    b = backends.get(_check.convert(np.zeros(1), backend_name))
    return backends.Backend(b.xp), b


@pytest.mark.parametrize(
    "prim, args",
    [
        ("softplus", (np.array([-1e3, -30.0, -1.0, 0.0, 2.0, 30.0, 1e3]),)),
        ("log_sigmoid", (np.array([-1e3, -30.0, -1.0, 0.0, 2.0, 30.0, 1e3]),)),
        ("sigmoid", (np.array([-50.0, 0.0, 3.0]),)),
        ("logsumexp", (np.array([[1.0, 2.0, 3.0], [-1e3, 0.0, 1e3]]),)),
        ("log_softmax", (np.array([[1.0, 2.0, 3.0], [-1e3, 0.0, 1e3]]),)),
        ("softmax", (np.array([[1.0, 2.0, 3.0], [-1e3, 0.0, 1e3]]),)),
        ("abs", (np.array([-2.0, 0.0, 3.0]),)),
        ("relu", (np.array([-2.0, -0.0, 0.0, 3.0]),)),
        ("safe_sqrt", (np.array([0.0, 4.0, 2.0]),)),
        ("xlogy", (np.array([0.0, 2.0, 0.0]), np.array([0.0, 3.0, 5.0]))),
        ("median", (np.array([[3.0, 1.0, 2.0, 10.0], [5.0, 4.0, 6.0, 0.0]]),)),
        ("sort", (np.array([3.0, 1.0, 2.0]),)),
        ("sort_descending", (np.array([[3.0, 1.0, 3.0, 2.0, 1.0], [0.5, 0.5, 0.5, 0.7, 0.1]]),)),
        ("increments", (np.array([[1.0, 4.0, 2.0], [0.5, 0.5, 3.0]]), -1)),
        ("increments", (np.array([[1.0, 4.0, 2.0], [0.5, 0.5, 3.0]]), 0)),
        ("increments", (np.array([[1.0], [2.5]]), 1)),
        ("max", (np.array([[1.0, 3.0, 3.0], [2.0, -np.inf, -1.0]]), -1)),
        ("max", (np.array([[1.0, 3.0, 3.0], [2.0, 0.5, -1.0]]), 0)),
        ("bce_with_logits", (np.array([-3.0, 0.5, 40.0]), np.array([0.0, 0.3, 1.0]))),
        ("softmax_cross_entropy", (np.array([[1.0, 2.0, 3.0], [0.0, 1e3, -1e3]]), np.array([2, 0]))),
        ("kl_log_sum", (np.array([[np.log(0.2), np.log(0.8), -69.0], [np.log(0.5), np.log(0.5), -np.inf]]),
                        np.array([[np.log(0.5), np.log(0.5), -1.4], [np.log(0.25), np.log(0.75), -np.inf]]), -1)),
    ],
)
def test_each_override_equals_the_generic_primitive(backend, prim, args):
    generic, specific = _generic_of(backend)
    conv = [_check.convert(a, backend) for a in args]
    a, b = getattr(generic, prim)(*conv), getattr(specific, prim)(*conv)
    for x, y in zip(a, b, strict=True) if isinstance(a, tuple) else [(a, b)]:  # (values, indices) too
        x, y = _check.to_numpy(x), _check.to_numpy(y)
        assert np.all(np.isfinite(x))
        np.testing.assert_allclose(y, x, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("axis", [-1, 1, 0])
def test_torch_large_kl_log_sum_fast_path_equals_the_array_api_form(axis):
    """Above the size where torch takes its autograd.Function: the same values, gradients
    and second derivatives (create_graph) as the array-API form, with p = -inf entries
    (q = -inf too, and q = -inf alone: +inf) in the rows."""
    require("torch")
    import torch

    rng = np.random.default_rng(0)
    z = rng.normal(size=(8, 96, 128))
    lp = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    lq = lp[::-1].copy()
    lp[0, 0, :4] = -np.inf
    lq[0, 0, :2] = -np.inf  # p = q = 0 there
    generic, specific = _generic_of("torch")
    assert lp.size >= 1 << 16  # the fast path's size

    def run(B, create_graph):
        p = torch.tensor(lp, requires_grad=True)
        q = torch.tensor(lq, requires_grad=True)
        out = B.kl_log_sum(p, q, axis)
        gp, gq = torch.autograd.grad(out.sum(), (p, q), create_graph=create_graph)
        if not create_graph:
            return out.detach().numpy(), gp.numpy(), gq.numpy()
        (hp,) = torch.autograd.grad((gp * gp).sum() + gq.sum(), p)
        return hp.numpy(),

    for create_graph in (False, True):
        for a, b in zip(run(generic, create_graph), run(specific, create_graph), strict=True):
            assert np.all(np.isfinite(a))
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15)  # sums in another order
    lq[1, 0, 0] = -np.inf  # q = 0 where p > 0: +inf
    out = specific.kl_log_sum(torch.tensor(lp), torch.tensor(lq), -1)
    assert np.isposinf(out[1, 0].item()) and np.isfinite(out[0, 0].item())


@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_torch_small_reduced_kl_log_is_torch_kl_div_unless_nan(axis, reduction):
    """A few reduced eager CPU values take torch's kl_div (the peer's ops, no mask): the value
    and both gradients of the masked array-API form; with p = -inf (kl_div's NaN) the masked
    form runs instead, finite; a NaN input stays NaN; torch.func.grad and vmap agree."""
    require("torch")
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(5)
    z = rng.normal(size=(2, 6, 4))
    lp = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    lq = lp[::-1].copy()
    generic, _ = _generic_of("torch")

    def run(p_np, q_np, masked):
        p = torch.tensor(p_np[0], requires_grad=True)
        q = torch.tensor(q_np[0], requires_grad=True)
        if masked:
            out = losses._api.reduce(generic, generic.kl_log_sum(p, q, axis), reduction, None, "kl")
        else:
            out = losses.kl_divergence(p, q, axis=axis, log_input=True, reduction=reduction)
        gp, gq = torch.autograd.grad(out, (p, q))
        return out, gp.numpy(), gq.numpy()

    out, gp, gq = run(lp, lq, masked=False)
    assert type(out.grad_fn).__name__ == ("DivBackward0" if reduction == "mean" else "SumBackward0")
    ref, rp, rq = run(lp, lq, masked=True)
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-13)
    np.testing.assert_allclose(gp, rp, rtol=1e-13)
    np.testing.assert_allclose(gq, rq, rtol=1e-13)
    if axis == -1 and reduction == "mean":
        p, q = torch.tensor(lp[0]), torch.tensor(lq[0])
        assert out.item() == F.kl_div(q, p, log_target=True, reduction="batchmean").item()

    lp[0, 1, 2] = -np.inf  # p = 0: kl_div gives NaN, the masked form 0
    lp[0, 3, 0] = lq[0, 3, 0] = -np.inf  # p = q = 0
    out, gp, gq = run(lp, lq, masked=False)
    ref, rp, rq = run(lp, lq, masked=True)
    assert np.isfinite(out.item()) and np.all(np.isfinite(gp)) and np.all(np.isfinite(gq))
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-13)
    np.testing.assert_allclose(gp, rp, rtol=1e-13)
    lq[0, 0, 0] = np.nan
    assert np.isnan(run(lp, lq, masked=False)[0].item())

    for shape in ((4, 0), (0, 4)):  # empty, either way round: what the masked form gives
        e = torch.zeros(shape, dtype=torch.float64)
        got = losses.kl_divergence(e, e, axis=axis, log_input=True, reduction=reduction)
        want = losses._api.reduce(generic, generic.kl_log_sum(e, e, axis), reduction, None, "kl")
        torch.testing.assert_close(got, want, equal_nan=True)

    p, q = torch.tensor(lp[1]), torch.tensor(lq[1])

    def f(a):
        return losses.kl_divergence(a, q, axis=axis, log_input=True, reduction=reduction)
    pr = p.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(f(pr), pr)
    torch.testing.assert_close(torch.func.grad(f)(p), want, rtol=1e-13, atol=0)
    batched = torch.func.vmap(f)(torch.tensor(lp))
    torch.testing.assert_close(batched, torch.stack([f(torch.tensor(lp[i])) for i in range(2)]), rtol=1e-13, atol=0)


@pytest.mark.parametrize("shape", [(640, 128), (4, 80, 257)])
def test_torch_large_cpu_softmax_cross_entropy_fast_path_equals_f_cross_entropy(shape):
    """Above the size where CPU logits take torch's chunked autograd.Function: the values,
    gradients and second derivatives (create_graph) of ``F.cross_entropy(reduction="none")``,
    with saturated logits in a row."""
    require("torch")
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    x = rng.normal(size=shape) * 3
    x.reshape(-1, shape[-1])[0, :3] = [80.0, -1e4, 1e4]
    y = rng.integers(0, shape[-1], size=shape[:-1])
    assert x.size >= 1 << 16  # the fast path's size
    _, B = _generic_of("torch")
    upstream = torch.tensor(rng.uniform(0.5, 2.0, size=shape[:-1]))

    def run(f, create_graph):
        t = torch.tensor(x, requires_grad=True)
        out = f(t, torch.tensor(y))
        (g,) = torch.autograd.grad((out * upstream).sum(), t, create_graph=create_graph)
        if not create_graph:
            return out.detach().numpy(), g.numpy()
        (h,) = torch.autograd.grad((g * g).sum(), t)
        return (h.numpy(),)

    def peer(t, labels):
        return F.cross_entropy(t.movedim(-1, 1), labels, reduction="none")

    for create_graph in (False, True):
        for a, b in zip(run(peer, create_graph), run(B.softmax_cross_entropy, create_graph), strict=True):
            assert np.all(np.isfinite(a))
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("no_grad", [True, False])
def test_torch_cpu_cross_entropy_without_gradient_runs_in_chunks_bit_for_bit(no_grad, reduction, monkeypatch):
    """Large CPU logits that need no gradient (under no_grad, or not requiring one): torch's
    own F.cross_entropy a chunk of rows at a time, the same values bit for bit ("none"); below
    the size of the fast paths, one F.cross_entropy call."""
    require("torch")
    import contextlib

    import torch
    import torch.nn.functional as F

    from backends import _torch_functions

    calls = []
    chunks = _torch_functions.cross_entropy_chunks

    def spy(x, labels, ignore_index):
        calls.append(tuple(x.shape))
        return chunks(x, labels, ignore_index)

    monkeypatch.setattr(_torch_functions, "cross_entropy_chunks", spy)
    monkeypatch.setattr(_torch_functions, "_CHUNK", 1 << 14)  # several chunks, a ragged last one
    rng = np.random.default_rng(0)
    for rows, chunked in ((700, True), (60, False)):  # 700 x 100 = 70000 >= 1 << 16 elements
        x = torch.from_numpy(rng.normal(size=(rows, 100)).astype(np.float32) * 5)
        x[0, :3] = torch.tensor([80.0, -1e4, 1e4])
        y = torch.from_numpy(rng.integers(0, 100, size=rows))
        calls.clear()
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            got = losses.cross_entropy(x, y, reduction=reduction)
        assert calls == ([(rows, 100)] if chunked else [])
        want = F.cross_entropy(x, y, reduction=reduction)
        if reduction == "none":
            np.testing.assert_array_equal(got.numpy(), want.numpy())
        else:
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_torch_float32_sort_descending_is_the_stable_permutation():
    """torch's large float32 path (unique integer keys, an unstable sort) against the stable
    argsort: many ties, zeros of both signs, negatives, infinities, along every axis."""
    require("torch")
    import torch

    rng = np.random.default_rng(0)
    x = rng.choice([0.0, -0.0, 0.25, 0.5, 1.0, -1.5, -0.25, np.inf, -np.inf, 3e-39], size=(8, 40, 256))
    x = np.where(rng.uniform(size=x.shape) < 0.3, rng.normal(size=x.shape), x).astype(np.float32)
    generic, specific = _generic_of("torch")
    t = torch.tensor(x)
    assert t.numel() >= 1 << 16  # the keyed path's size
    for axis in (0, 1, 2, -1):
        values, perm = specific.sort_descending(t, axis=axis)
        expected = np.argsort(-x, axis=axis, kind="stable")  # ties in index order; -0.0 == 0.0
        np.testing.assert_array_equal(perm.numpy(), expected)
        np.testing.assert_array_equal(values.numpy(), np.take_along_axis(x, expected, axis=axis))
        g_values, g_perm = generic.sort_descending(t, axis=axis)
        np.testing.assert_array_equal(perm.numpy(), g_perm.numpy())


@pytest.mark.slow
def test_torch_float32_sort_descending_compiles_to_the_same_permutation():
    """The keyed sort under torch.compile(fullgraph=True) with inductor (bit casts, shifts)."""
    require("torch")
    import torch

    rng = np.random.default_rng(1)
    x = torch.tensor(rng.choice([0.0, 0.5, 1.0, 0.25], size=(4, 19, 1024)).astype(np.float32))
    _, B = _generic_of("torch")
    compiled = torch.compile(lambda t: B.sort_descending(t, axis=2), fullgraph=True, backend="inductor")
    values, perm = compiled(x)
    expected = np.argsort(-x.numpy(), axis=2, kind="stable")
    np.testing.assert_array_equal(perm.numpy(), expected)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(x.numpy(), expected, axis=2))


def test_torch_fast_paths_step_aside_under_autocast():
    """Under CPU autocast the autograd.Function paths (whose batched dot autocast would run
    in bfloat16) are not taken: the results equal the array-API forms'."""
    require("torch")
    import torch

    rng = np.random.default_rng(2)
    z = rng.normal(size=(256, 300))
    lp = torch.tensor(z - np.log(np.exp(z).sum(-1, keepdims=True)), dtype=torch.float32)
    lq = torch.flip(lp, (0,))
    generic, specific = _generic_of("torch")
    logits = torch.tensor(z, dtype=torch.float32, requires_grad=True)
    labels = torch.tensor(rng.integers(0, 300, size=256))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        a, b = specific.kl_log_sum(lp, lq, -1), generic.kl_log_sum(lp, lq, -1)
        c = specific.softmax_cross_entropy(logits, labels)
        d = specific.fused_loss("cross_entropy", logits, labels, "none", 1)
    assert a.dtype == torch.float32  # the Function's batched dot would have given bfloat16
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(c.detach().numpy(), d.detach().numpy())


def test_primitive_reference_values():
    B = backends.get(np.zeros(1))
    np.testing.assert_allclose(B.softplus(np.array([0.0, 1e3])), [np.log(2.0), 1e3])
    np.testing.assert_allclose(B.logsumexp(np.array([-1e3, -1e3])), -1e3 + np.log(2.0))
    np.testing.assert_allclose(B.median(np.array([4.0, 1.0, 3.0, 2.0])), 2.5)
    np.testing.assert_allclose(B.median(np.array([4.0, 1.0, 3.0])), 3.0)
    np.testing.assert_allclose(B.xlogy(np.array([0.0, 2.0]), np.array([0.0, np.e])), [0.0, 2.0])
    np.testing.assert_allclose(B.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_safe_math_has_finite_gradients_at_zero(fw):
    require(fw)
    B = backends.get(_check.convert(np.zeros(1), fw))
    fns = {
        "safe_sqrt": lambda x: B.xp.sum(B.safe_sqrt(x)),
        "safe_norm": lambda x: B.xp.sum(B.safe_norm(x)),
        "abs": lambda x: B.xp.sum(B.abs(x)),
        "xlogy": lambda x: B.xp.sum(B.xlogy(x, x)),
    }
    for name, fn in fns.items():
        x = _check.convert(np.zeros(3), fw)
        g = _check.to_numpy(B.grad(fn, x))
        np.testing.assert_array_equal(g, np.zeros(3), err_msg=name)


def test_generic_grad_raises_naming_backends():
    B = backends.get(np.zeros(1))
    with pytest.raises(NotImplementedError, match="torch or jax"):
        B.grad(lambda x: x, np.zeros(1))


def test_jax_loop_is_a_compiled_fori_loop():
    require("jax")
    import jax

    B = backends.get(_check.convert(np.zeros(1), "jax"))
    f = jax.jit(lambda x: B.loop(5, lambda i, c: c * 2.0, x))
    assert float(f(_check.convert(np.ones(()), "jax"))) == 32.0
    jaxpr = str(jax.make_jaxpr(lambda x: B.loop(5, lambda i, c: c * 2.0, x))(1.0))
    assert "while" in jaxpr or "scan" in jaxpr


# -- reduction and weights ---------------------------------------------------------------------
def test_reductions_and_weighted_mean(backend, to):
    pred, target = np.array([[1.0, 2.0], [3.0, 5.0]]), np.zeros((2, 2))
    w = np.array([[1.0, 0.0], [2.0, 1.0]])
    sq = pred**2
    p, t = to(pred), to(target)
    assert np.isclose(_check.to_numpy(losses.mse(p, t)), sq.mean())
    assert np.isclose(_check.to_numpy(losses.mse(p, t, reduction="sum")), sq.sum())
    np.testing.assert_allclose(_check.to_numpy(losses.mse(p, t, reduction="none")), sq)
    assert np.isclose(_check.to_numpy(losses.mse(p, t, weight=to(w))), (w * sq).sum() / w.sum())
    assert np.isclose(_check.to_numpy(losses.mse(p, t, weight=to(w), reduction="sum")), (w * sq).sum())
    # a weight per row, broadcast over the columns: the denominator counts every element
    wr = np.array([[1.0], [3.0]])
    expected = (wr * sq).sum() / (wr.sum() * 2)
    assert np.isclose(_check.to_numpy(losses.mse(p, t, weight=to(wr))), expected)


def test_scalar_weight_and_bad_weights():
    pred, target = np.ones((2, 3)), np.zeros((2, 3))
    assert float(losses.mae(pred, target, weight=2.0, reduction="sum")) == 12.0
    with pytest.raises(ValueError, match="mae: shapes do not broadcast: weight"):
        losses.mae(pred, target, weight=np.ones(4))
    with pytest.raises(ValueError, match="weight of shape .* would enlarge"):
        losses.mae(pred, target, weight=np.ones((5, 2, 3)))
    with pytest.raises(TypeError, match="mae: weight must be a floating-point array"):
        losses.mae(pred, target, weight=np.ones((2, 3), dtype=np.int64))


def test_bad_reduction_names_the_loss():
    with pytest.raises(ValueError, match=r"huber: reduction must be one of .*'avg'"):
        losses.huber(np.ones(2), np.zeros(2), reduction="avg")


def test_integer_predictions_raise_type_error(backend, to):
    with pytest.raises(TypeError, match="mse: pred must be a floating-point array"):
        losses.mse(to(np.array([1, 2])), to(np.array([0.0, 1.0])))


def test_half_precision_is_computed_in_float32():
    require("torch")
    import torch

    x = torch.tensor([300.0, -2.0], dtype=torch.float16)
    out = losses.mse(x, torch.zeros(2, dtype=torch.float16), reduction="sum")
    assert out.dtype == torch.float32
    assert float(out) == 300.0**2 + 4.0  # 90004 overflows float16 (max 65504)
    outb = losses.mae(x.to(torch.bfloat16), torch.zeros(2, dtype=torch.bfloat16))
    assert outb.dtype == torch.float32


def test_mixed_float_dtypes_promote():
    out = losses.mse(np.ones(2, dtype=np.float32), np.zeros(2, dtype=np.float64))
    assert out.dtype == np.float64


def test_check_helpers_messages():
    with pytest.raises(ValueError, match=r"x: a must be in \(0.0, inf\], got 0"):
        _api.check_range("x", "a", 0, 0.0, lo_open=True)
    with pytest.raises(ValueError, match=r"must be in \[0.0, 1.0\], got nan"):
        _api.check_range("x", "a", float("nan"), 0.0, 1.0)
    with pytest.raises(TypeError, match="x: a must be a real number"):
        _api.check_range("x", "a", "big", 0.0)
    with pytest.raises(TypeError, match="x: k must be an integer"):
        _api.check_int("x", "k", 2.0)
    with pytest.raises(ValueError, match="x: k must be >= 1"):
        _api.check_int("x", "k", 0)
    with pytest.raises(ValueError, match="x: axis=3 is out of range"):
        _api.check_axis("x", "axis", 3, 2)
    assert _api.check_axis("x", "axis", -1, 3) == 2
    assert _api.broadcast_shapes("x", a=(2, 1), b=(3,)) == (2, 3)


def test_value_checks_switch():
    bad = np.array([-2.0, 1.0])
    with pytest.raises(ValueError, match="rmsle: pred must be > -1"):
        losses.rmsle(bad, np.zeros(2))
    previous = losses.set_value_checks("never")
    try:
        assert previous == "auto"
        with np.errstate(invalid="ignore"):
            assert np.isnan(float(losses.rmsle(bad, np.zeros(2))))
    finally:
        losses.set_value_checks(previous)
    with pytest.raises(ValueError, match="mode must be"):
        losses.set_value_checks("sometimes")


def test_value_checks_do_not_run_under_jit():
    require("jax")
    import jax
    import jax.numpy as jnp

    f = jax.jit(lambda p: losses.rmsle(p, jnp.zeros(2)))
    assert np.isnan(float(f(jnp.asarray([-2.0, 1.0]))))  # no tracer conversion error


@pytest.mark.parametrize("items", [8, 40])
def test_torch_label_checks_inside_torch_func_transforms(items):
    """Labels and targets hold data inside torch.func.grad and are checked there, a few (read
    as a list) or more (aminmax); a vmap batch cannot be read and is skipped (not an error of
    ours, no warning), the loss still right."""
    require("torch")
    import warnings

    import torch
    import torch.nn.functional as F

    x = torch.randn(2, items, 5, dtype=torch.float64)
    y = torch.randint(0, 5, (2, items), generator=torch.Generator().manual_seed(items))
    g = torch.func.grad(lambda a: losses.cross_entropy(a, y[0]))(x[0])
    xr = x[0].clone().requires_grad_(True)
    (want,) = torch.autograd.grad(F.cross_entropy(xr, y[0]), xr)
    torch.testing.assert_close(g, want, rtol=1e-13, atol=0)
    bad = y[0].clone()
    bad[3] = 5
    with pytest.raises(ValueError, match=r"cross_entropy: labels must be integers in \[0, 5\)"):
        torch.func.grad(lambda a: losses.cross_entropy(a, bad))(x[0])
    with pytest.raises(ValueError, match=r"binary_cross_entropy: target must be in \[0, 1\]"):
        torch.func.grad(lambda a: losses.binary_cross_entropy(a, torch.full((items,), 2.0, dtype=a.dtype)))(x[0, :, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = torch.func.vmap(lambda a, b: losses.cross_entropy(a, b))(x, y)
        targets = torch.rand(2, items, dtype=torch.float64)
        bce = torch.func.vmap(losses.binary_cross_entropy)(x[..., 0], targets)
    torch.testing.assert_close(bce, F.binary_cross_entropy_with_logits(x[..., 0], targets, reduction="none").mean(-1),
                               rtol=1e-13, atol=0)
    torch.testing.assert_close(batched, torch.stack([F.cross_entropy(x[i], y[i]) for i in range(2)]),
                               rtol=1e-13, atol=0)


# -- catalogue and command line ------------------------------------------------------------------
def test_catalogue_entries_are_complete():
    for e in losses.catalog.entries():
        assert e.fn is getattr(losses, e.name)
        assert e.taxonomy
        assert set(e.differentiable) <= set(e.arg_names)
        assert e.fn.__doc__ and "Example" in e.fn.__doc__ and "References" in e.fn.__doc__
        args, kwargs = losses.catalog.examples(e.name, np.random.default_rng(0))
        assert len(args) >= 1
    with pytest.raises(KeyError, match="no loss named 'nope'"):
        losses.catalog.get("nope")


def test_cli_list_prints_every_loss():
    out = subprocess.run([sys.executable, "-m", "losses", "list"], capture_output=True, text=True, check=True)
    for name in losses.catalog.names():
        assert name in out.stdout


def test_cli_check_passes_and_reports():
    out = subprocess.run(
        [sys.executable, "-m", "losses", "check", "--backend", "numpy", "--backend", "strict", "--family", "D1a"],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{2 * len(losses.catalog.names('D1a'))} passed, 0 failed" in out.stdout


def test_check_flags_a_backend_that_disagrees(monkeypatch):
    """A wrong backend primitive must turn the report red (the check can fail)."""
    B = backends.get(_check.convert(np.zeros(1), "strict"))
    monkeypatch.setattr(type(B), "abs", lambda self, x: x * 1.01, raising=False)
    row = _check.check_entry(losses.catalog.get("mae"), "strict")
    assert not row.ok and "value differs" in row.errors[0]
    assert "1 failed" in _check.format_rows([row])


def test_rel_diff_catches_nan_and_shape():
    assert _check.rel_diff(np.array([np.nan]), np.array([1.0])) == float("inf")
    assert _check.rel_diff(np.ones(2), np.ones(3)) == float("inf")
    assert _check.rel_diff(np.array([np.inf, 1.0]), np.array([np.inf, 1.0])) == 0.0
    assert _check.rel_diff(np.array([1.1]), np.array([1.0])) == pytest.approx(0.1)


@pytest.mark.parametrize("order", ["torch first", "losses first"])
def test_first_call_inside_torch_compile(order):
    """Dynamo cannot trace building the torch adapter: it must exist before the first call.
    And that first call must not change what the backend lookup caches, or the second call
    recompiles (tensors and parameters are registered when the adapter is built)."""
    require("torch")
    imports = "import torch, losses" if order == "torch first" else "import losses, torch"
    code = f"""{imports}
f = torch.compile(lambda p, t: losses.dice(p, t), fullgraph=True, backend="eager")
p, t = torch.rand(2, 3, 4), torch.rand(2, 3, 4)
first = f(p, t)
torch._dynamo.config.error_on_recompile = True
w = torch.nn.Parameter(torch.rand(2, 3, 4))
g = torch.compile(lambda p, t: losses.mse(p, t), fullgraph=True, backend="eager")
g(w, t)
for _ in range(2):
    f(p, t), g(w, t)
torch._dynamo.config.error_on_recompile = False
assert abs(float(first) - float(losses.dice(p, t))) < 1e-6
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-1500:]
    assert out.stdout.strip() == "ok"


def test_framework_errors_name_the_loss_and_arguments():
    require("torch")
    import torch

    with pytest.raises(TypeError, match=r"hinge: scores must be an array, got list"):
        losses.hinge([1.0], [1.0])
    with pytest.raises(TypeError, match=r"dice: arrays from two frameworks .*\(probs is torch, target is numpy\)"):
        losses.dice(torch.ones(2, 3), np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"cross_entropy: .*\(logits is numpy, labels is torch\)"):
        losses.cross_entropy(np.ones((2, 3)), torch.zeros(2, dtype=torch.int64))


@pytest.mark.parametrize("n", [1, 5, 32, 33, 200])
def test_torch_outside_few_and_many_values(n):
    """A few values are read as Python numbers, more by aminmax: both say what NumPy says of
    [lo, hi] (a value outside, or a NaN: also after +inf and -inf, and not first), for floats,
    integers, bools and any number of dimensions; empty arrays are never outside."""
    require("torch")
    import torch

    B = backends.get(torch.zeros(1))
    rng = np.random.default_rng(n)
    cases = [rng.normal(size=n), rng.integers(-5, 7, size=n), rng.uniform(size=n) < 0.5,
             rng.normal(size=(n, 1)), rng.uniform(size=(1, n, 1))]
    spiked = rng.normal(size=n)
    spiked[n // 2] = np.nan
    cases.append(spiked)
    if n > 2:
        infs = rng.normal(size=n)
        infs[0], infs[-1] = np.inf, -np.inf  # sums to NaN without a NaN present
        cases.append(infs)
        tail_nan = np.full(n, 0.5)
        tail_nan[-1] = np.nan  # not first: Python's min and max alone would miss it
        cases.append(tail_nan)
    for v in cases:
        t = torch.tensor(v, dtype=torch.float32) if v.dtype == np.float64 else torch.tensor(v)
        if t.is_floating_point():
            t.requires_grad_(True)
        want = v.astype(np.float32) if v.dtype == np.float64 else v
        for lo, hi in ((-np.inf, np.inf), (0, 1), (-5, 6), (0.0, 0.75), (-1.5, 1.5)):
            expected = bool(np.isnan(want).any() or want.min() < lo or want.max() > hi)
            assert B.outside(t, lo, hi) == expected, (v, lo, hi)
    assert not B.outside(torch.zeros(0, 3), 1.0, 2.0)
    # a read that fails outside a torch.func transform is an error, not a skipped check
    for size in (8, 40):
        with pytest.raises(RuntimeError, match="meta"):
            B.outside(torch.empty(size, device="meta"), 0.0, 1.0, True)


@pytest.mark.parametrize("fw", ["numpy", "strict", "torch", "jax"])
def test_backend_is_integer(fw):
    require(fw)
    x = _check.convert(np.zeros(2, dtype=np.int64), fw)
    B = backends.get(x)
    xp = B.xp
    assert B.is_integer(x.dtype) and B.is_integer(xp.uint8) and B.is_integer(xp.int32)
    assert not B.is_integer(xp.bool) and not B.is_integer(xp.float32)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_one_hot_at_every_axis(backend, axis):
    labels = np.array([[2, 0, 1], [1, 1, 0]])
    want = np.moveaxis(np.eye(3)[labels], -1, axis)
    B = backends.get(_check.convert(labels, backend))
    got = B.one_hot(_check.convert(labels, backend), 3, axis=axis, dtype=B.xp.float64)
    np.testing.assert_array_equal(_check.to_numpy(got), want)


def test_torch_increments_gradient():
    """The in-place form differentiates as x_i - x_{i-1}: each x_i gets +1 from its own
    increment and -1 from the next one (none after the last)."""
    require("torch")
    import torch

    B = backends.get(torch.zeros(1))
    x = torch.tensor([[1.0, 4.0, 2.0, 7.0]], dtype=torch.float64, requires_grad=True)
    out = B.increments(x, axis=1)
    np.testing.assert_array_equal(out.detach().numpy(), [[1.0, 3.0, -2.0, 5.0]])
    (g,) = torch.autograd.grad(out, x, torch.tensor([[1.0, 10.0, 100.0, 1000.0]], dtype=torch.float64))
    np.testing.assert_array_equal(g.numpy(), [[1.0 - 10.0, 10.0 - 100.0, 100.0 - 1000.0, 1000.0]])


@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_max_gradient_splits_between_tied_maxima(fw, axis):
    """Each backend's ``max`` passes the gradient to the maximum, in equal shares where it is
    tied (torch.amax's and JAX's rule; JAX has its own JVP for it)."""
    require(fw)
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, 3.0], [2.0, 3.0, 3.0]])
    B = backends.get(_check.convert(x, fw))
    w = _check.convert(np.array([1.0, 10.0, 100.0]), fw)  # a different weight per maximum

    g = _check.to_numpy(B.grad(lambda v: B.xp.sum(B.max(v, axis=axis) * w), _check.convert(x, fw)))
    want = np.zeros_like(x)
    if axis == -1:  # row maxima: 3 twice, 3 once, 3 twice
        want[0, 1:] = 1.0 / 2
        want[1, 2] = 10.0
        want[2, 1:] = 100.0 / 2
    else:  # column maxima: 2 twice, 3 twice, 3 three times
        want[1:, 0] = 1.0 / 2
        want[[0, 2], 1] = 10.0 / 2
        want[:, 2] = 100.0 / 3
    np.testing.assert_allclose(g, want, rtol=1e-15)


def test_jax_max_forward_mode_vmap_and_second_order():
    """The custom JVP serves jax.jvp, vmap and a Hessian (forward over reverse) as well as grad."""
    require("jax")
    import jax
    import jax.numpy as jnp

    B = backends.get(jnp.zeros(1))
    x = jnp.array([[1.0, 3.0, 3.0], [2.0, 0.5, -1.0]])
    t = jnp.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    value, tangent = jax.jvp(lambda v: B.max(v, axis=1), (x,), (t,))
    np.testing.assert_array_equal(np.asarray(value), [3.0, 2.0])
    np.testing.assert_array_equal(np.asarray(tangent), [3.0, 8.0])  # (2 + 4) / 2 and 8
    rows = jax.vmap(lambda r: B.max(r, axis=0))(x)
    np.testing.assert_array_equal(np.asarray(rows), [3.0, 2.0])
    h = jax.hessian(lambda v: jnp.sum(B.max(v, axis=1) ** 2))(x)  # d2/dx2 of m^2 = 2 dm dm
    np.testing.assert_allclose(np.asarray(h[0, 1, 0, 1]), 0.5)  # 2 * 1/2 * 1/2
    np.testing.assert_allclose(np.asarray(h[1, 0, 1, 0]), 2.0)
