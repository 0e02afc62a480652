"""The matrix on CUDA: torch CUDA (with sync debug mode "error": no loss may synchronise the
device), JAX on a GPU and CuPy, each against float64 NumPy on the CPU.

Every test here skips cleanly on a machine without a CUDA GPU.
"""

from __future__ import annotations

import numpy as np
import pytest

import losses
from losses import _check

ENTRIES = losses.catalog.entries()
IDS = [e.name for e in ENTRIES]


def _torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU for torch")
    return torch


def _to_torch_cuda(value, torch, dtype="float64"):
    if isinstance(value, dict):
        return {k: _to_torch_cuda(v, torch, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_torch_cuda(v, torch, dtype) for v in value)
    if isinstance(value, np.ndarray):
        return _check.convert(value, "torch", dtype).cuda()
    return value


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_torch_cuda_matches_numpy_without_syncs(entry, dtype):
    torch = _torch_cuda()
    args, kwargs = entry.example(np.random.default_rng(0))
    ref = _check.value(entry, args, kwargs, "numpy")
    conv, kw = _to_torch_cuda(tuple(args), torch, dtype), _to_torch_cuda(kwargs, torch, dtype)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        out = entry.fn(*conv, **kw)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    loss = out[0] if entry.stateful else out
    assert loss.device.type == "cuda"
    assert _check.rel_diff(_check.to_numpy(out), ref) <= _check.VALUE_TOL[dtype]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_jax_gpu_matches_numpy(entry):
    jax = pytest.importorskip("jax")
    try:
        gpu = jax.devices("gpu")[0]
    except RuntimeError:
        pytest.skip("no GPU for jax")
    args, kwargs = entry.example(np.random.default_rng(0))
    ref = _check.value(entry, args, kwargs, "numpy")
    with jax.default_device(gpu):
        got = _check.value(entry, args, kwargs, "jax")
        jitted = _check.jit_value(entry, args, kwargs)
    assert _check.rel_diff(got, ref) <= _check.VALUE_TOL["float64"]
    assert _check.rel_diff(jitted, ref) <= _check.VALUE_TOL["float64"]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_cupy_matches_numpy(entry):
    pytest.importorskip("cupy")
    if not _check._gpu_present():
        pytest.skip("no CUDA GPU for cupy")
    args, kwargs = entry.example(np.random.default_rng(0))
    ref = _check.value(entry, args, kwargs, "numpy")
    assert _check.rel_diff(_check.value(entry, args, kwargs, "cupy"), ref) <= _check.VALUE_TOL["float64"]
