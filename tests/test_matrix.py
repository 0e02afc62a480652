"""The cross-backend matrix, parametrised from the catalogue: every loss on every backend.

Values (float32, float64) against float64 NumPy, autodiff gradients against central finite
differences and against each other, jax.jit against eager, output dtypes, and
torch.compile(fullgraph=True) against eager (inductor: marked slow), also with a number
argument changed between calls.
"""

from __future__ import annotations

import numpy as np
import pytest

import losses
from losses import _check

from .conftest import require

ENTRIES = losses.catalog.entries()
IDS = [e.name for e in ENTRIES]


def _example(entry, seed=0):
    return entry.example(np.random.default_rng(seed))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_value_matches_numpy_float64(entry, backend, dtype):
    args, kwargs = _example(entry)
    ref = _check.value(entry, args, kwargs, "numpy")
    got = _check.value(entry, args, kwargs, backend, dtype)
    assert _check.rel_diff(got, ref) <= _check.VALUE_TOL[dtype]
    loss = _check._loss_value(entry, got)
    assert np.all(np.isfinite(loss))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_output_stays_in_namespace_and_dtype(entry, backend, dtype):
    import backends

    args, kwargs = _example(entry)
    conv = _check.convert(tuple(args), backend, dtype)
    out = entry.fn(*conv, **_check.convert(kwargs, backend, dtype))
    loss = out[0] if entry.stateful else out
    B = backends.get(conv[0])
    assert backends.get(loss) is B
    assert loss.dtype == B.xp.asarray(np.zeros(1, dtype=dtype)).dtype


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_gradient_matches_finite_differences(entry, fw):
    require(fw)
    args, kwargs = _example(entry)
    fd = _check.finite_difference_gradients(entry, args, kwargs)
    grads = _check.autodiff_gradients(entry, args, kwargs, fw)
    for g, r in zip(grads, fd, strict=True):
        assert np.all(np.isfinite(g))
        assert _check.rel_diff(g, r) <= _check.GRAD_TOL


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_torch_and_jax_gradients_agree(entry):
    require("torch")
    require("jax")
    args, kwargs = _example(entry)
    gt = _check.autodiff_gradients(entry, args, kwargs, "torch")
    gj = _check.autodiff_gradients(entry, args, kwargs, "jax")
    for a, b in zip(gt, gj, strict=True):
        assert _check.rel_diff(a, b) <= 1e-10


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_jax_jit_equals_eager(entry):
    require("jax")
    args, kwargs = _example(entry)
    eager = _check.value(entry, args, kwargs, "jax")
    assert _check.rel_diff(_check.jit_value(entry, args, kwargs), eager) <= 1e-12


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_jax_jit_of_grad_runs(entry):
    """The training-step form: jax.jit(jax.grad(loss)) compiles and gives finite gradients."""
    require("jax")
    import jax

    args, kwargs = _example(entry)
    conv = list(_check.convert(tuple(args), "jax"))
    kw = _check.convert(kwargs, "jax")
    i = entry.differentiable_positions[0]

    def scalar(x):
        full = list(conv)
        full[i] = x
        return _check._loss_value(entry, entry.fn(*full, **kw))

    g = jax.jit(jax.grad(scalar))(conv[i])
    eager = _check.autodiff_gradients(entry, args, kwargs, "jax")[0]
    assert _check.rel_diff(np.asarray(g), eager) <= 1e-10


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_torch_compile_fullgraph_captures_whole_loss(entry):
    """Dynamo captures the loss as one graph (fullgraph=True raises on any graph break)."""
    require("torch")
    args, kwargs = _example(entry)
    eager = _check.value(entry, args, kwargs, "torch")
    assert _check.rel_diff(_check.compiled_value(entry, args, kwargs), eager) <= 1e-12


#: values for keyword parameters whose default is not a number (or for which the default's
#: multiples are not valid): three each, the first compiled, the next two compiled again
_SCALAR_VALUES = {
    ("binary_cross_entropy", "pos_weight"): (2.0, 3.0, 0.5),
    ("mse", "weight"): (0.5, 2.0, 3.0),
    ("ghm_c", "weight"): (0.5, 2.0, 3.0),
    ("cross_entropy", "ignore_index"): (1, 2, 3),
    ("lovasz_softmax", "ignore_index"): (1, 2, 3),
    ("ramp", "margin"): (1.0, 0.5, 0.75),
    ("ramp", "cap"): (2.0, 1.5, 3.0),
}


def _scalar_cases():
    """``(entry, parameter, three values)`` for each numeric keyword parameter an example leaves
    at its default (``axis`` aside): the default, then half and three quarters of it (floats;
    0.25 and 0.5 for a default of 0) or one and two more (ints)."""
    import inspect

    out = []
    for entry in ENTRIES:
        kwargs = _example(entry)[1]
        for p in inspect.signature(entry.fn).parameters.values():
            if p.kind is not p.KEYWORD_ONLY or p.name in kwargs or p.name == "axis":
                continue
            d = p.default
            if (entry.name, p.name) in _SCALAR_VALUES:
                out.append((entry, p.name, _SCALAR_VALUES[(entry.name, p.name)]))
            elif type(d) is float:
                out.append((entry, p.name, (d, d * 0.5 or 0.25, d * 0.75 or 0.5)))
            elif type(d) is int:
                out.append((entry, p.name, (d, d + 1, d + 2)))
    unused = set(_SCALAR_VALUES) - {(e.name, p) for e, p, _ in out}
    assert not unused, f"values for parameters the examples pass or the losses lack: {unused}"
    return out


_SCALAR_CASES = _scalar_cases()


@pytest.mark.parametrize(("entry", "param", "values"), _SCALAR_CASES,
                         ids=[f"{e.name}-{p}" for e, p, _ in _SCALAR_CASES])
def test_torch_compile_with_a_changing_number_equals_eager(entry, param, values):
    """A number passed to a compiled loss and changed between calls (a schedule of ``delta``
    or ``gamma``): Dynamo then traces it as a symbolic number, on which ``math.isnan``,
    ``hasattr`` and the formatting of a message broke fullgraph=True. (Most losses then keep
    it symbolic: one more graph in all, where ``F.cross_entropy``'s ``label_smoothing``
    compiles once per value; huber's ``delta`` goes to ``F.huber_loss``'s kernel, which fixes
    it, so there each new value compiles once, as for the peer.)"""
    require("torch")
    import torch

    args, kwargs = _example(entry)
    conv = _check.convert(tuple(args), "torch", "float64")
    base = _check.convert(kwargs, "torch", "float64")
    torch._dynamo.reset()
    compiled = torch.compile(lambda *a, **kw: entry.fn(*a, **kw), fullgraph=True, backend="eager")
    for v in values:
        kw = {**base, param: v}
        got = _check.to_numpy(compiled(*conv, **kw))
        ref = _check.to_numpy(entry.fn(*conv, **kw))
        assert _check.rel_diff(got, ref) <= 1e-12, v


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_torch_compile_inductor_equals_eager(entry):
    require("torch")
    args, kwargs = _example(entry)
    eager = _check.value(entry, args, kwargs, "torch")
    compiled = _check.compiled_value(entry, args, kwargs, compiler="inductor")
    assert _check.rel_diff(compiled, eager) <= 1e-10
