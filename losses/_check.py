"""The cross-backend numerics harness behind ``python -m losses check`` and the test matrix.

Runs a catalogue entry on its example inputs on one backend and returns NumPy results:
values, gradients (torch autograd, jax.grad, central finite differences of the float64
NumPy loss), the ``jax.jit`` value and the ``torch.compile(fullgraph=True)`` value.
Frameworks are imported only inside the functions that need them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import catalog

BACKEND_ORDER = ("numpy", "strict", "torch", "jax", "cupy")
AUTODIFF = ("torch", "jax")
#: largest accepted relative difference against the float64 NumPy value
VALUE_TOL = {"float64": 1e-9, "float32": 5e-5}
#: gradients: autodiff float64 against finite differences of the float64 NumPy loss
GRAD_TOL = 1e-6


def _gpu_present() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def available_backends() -> list[str]:
    """Backends whose framework is installed (CuPy only with a GPU)."""
    out = []
    for name in BACKEND_ORDER:
        module = {"strict": "array_api_strict"}.get(name, name)
        if importlib.util.find_spec(module) is None:
            continue
        if name == "cupy" and not _gpu_present():
            continue
        out.append(name)
    return out


# -- conversion ---------------------------------------------------------------------------------
def _setup(backend: str) -> None:
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    elif backend == "strict":
        import array_api_strict

        array_api_strict.set_array_api_strict_flags(boolean_indexing=False, data_dependent_shapes=False)


def convert(value: Any, backend: str, dtype: str = "float64", requires_grad: bool = False) -> Any:
    """A NumPy example value on ``backend``: floating arrays in ``dtype``, integers kept.

    Dicts, lists and tuples are converted item by item (states, feature lists).
    """
    if isinstance(value, dict):
        return {k: convert(v, backend, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(convert(v, backend, dtype) for v in value)
    if not isinstance(value, np.ndarray):
        return value
    _setup(backend)
    arr = value.astype(dtype) if value.dtype.kind == "f" else value
    if backend == "numpy":
        return arr
    if backend == "strict":
        import array_api_strict

        return array_api_strict.asarray(arr)
    if backend == "torch":
        import torch

        t = torch.from_numpy(np.ascontiguousarray(arr))
        return t.requires_grad_(True) if requires_grad and value.dtype.kind == "f" else t
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(arr)
    if backend == "cupy":
        import cupy

        return cupy.asarray(arr)
    raise ValueError(f"unknown backend {backend!r}")


def to_numpy(value: Any) -> Any:
    """A backend result as NumPy float64 (dicts, tuples and lists item by item)."""
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_numpy(v) for v in value)
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    elif hasattr(value, "get") and type(value).__module__.startswith("cupy"):
        value = value.get()
    arr = np.asarray(value)
    return arr.astype(np.float64) if arr.dtype.kind == "f" else arr


def _loss_value(entry: catalog.Entry, out: Any) -> Any:
    return out[0] if entry.stateful else out


# -- one entry on one backend -------------------------------------------------------------------
def value(entry: catalog.Entry, args: Sequence[Any], kwargs: dict[str, Any], backend: str,
          dtype: str = "float64") -> Any:
    """The entry's full output (loss, or (loss, state)) on ``backend``, as NumPy."""
    out = entry.fn(*convert(tuple(args), backend, dtype), **convert(kwargs, backend, dtype))
    return to_numpy(out)


def autodiff_gradients(entry: catalog.Entry, args: Sequence[Any], kwargs: dict[str, Any],
                       backend: str, dtype: str = "float64") -> list[np.ndarray]:
    """Gradients of the scalar loss with respect to each differentiable argument."""
    positions = entry.differentiable_positions
    kw = convert(kwargs, backend, dtype)
    if backend == "torch":
        import torch

        conv = [convert(a, backend, dtype, requires_grad=i in positions) for i, a in enumerate(args)]
        out = _loss_value(entry, entry.fn(*conv, **kw))
        grads = torch.autograd.grad(out, [conv[i] for i in positions], allow_unused=True)
        return [np.zeros(args[i].shape) if g is None else to_numpy(g) for i, g in zip(positions, grads, strict=True)]
    if backend == "jax":
        import jax

        conv = list(convert(tuple(args), backend, dtype))

        def scalar(*diff: Any) -> Any:
            full = list(conv)
            for i, d in zip(positions, diff, strict=True):
                full[i] = d
            return _loss_value(entry, entry.fn(*full, **kw))

        grads = jax.grad(scalar, argnums=tuple(range(len(positions))))(*[conv[i] for i in positions])
        return [to_numpy(g) for g in grads]
    raise ValueError(f"{backend} has no autodiff")


def finite_difference_gradients(entry: catalog.Entry, args: Sequence[Any], kwargs: dict[str, Any],
                                h: float = 1e-6) -> list[np.ndarray]:
    """Central differences of the float64 NumPy loss for each differentiable argument."""
    def f(a: Sequence[Any]) -> float:
        return float(_loss_value(entry, entry.fn(*a, **kwargs)))

    grads = []
    for i in entry.differentiable_positions:
        base = np.array(args[i], dtype=np.float64)
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[idx] += h
            minus[idx] -= h
            a_plus, a_minus = list(args), list(args)
            a_plus[i], a_minus[i] = plus, minus
            g[idx] = (f(a_plus) - f(a_minus)) / (2 * h)
        grads.append(g)
    return grads


def jit_value(entry: catalog.Entry, args: Sequence[Any], kwargs: dict[str, Any],
              dtype: str = "float64") -> Any:
    """The output under ``jax.jit`` (arrays traced, hyperparameters closed over)."""
    import jax

    conv = convert(tuple(args), "jax", dtype)
    arrays = {k: v for k, v in kwargs.items() if isinstance(v, (np.ndarray, dict))}
    static = {k: v for k, v in kwargs.items() if k not in arrays}
    fn = jax.jit(lambda a, kw: entry.fn(*a, **kw, **static))
    return to_numpy(fn(conv, convert(arrays, "jax", dtype)))


def compiled_value(entry: catalog.Entry, args: Sequence[Any], kwargs: dict[str, Any],
                   dtype: str = "float64", compiler: str = "eager") -> Any:
    """The output under ``torch.compile(fullgraph=True, backend=compiler)``; raises on a graph break.

    The default ``"eager"`` compiler runs Dynamo's capture alone (where graph breaks are
    found) in a fraction of a second; ``"inductor"`` also generates and runs kernels.
    """
    import torch

    conv = convert(tuple(args), "torch", dtype)
    kw = convert(kwargs, "torch", dtype)
    torch._dynamo.reset()
    fn = torch.compile(lambda *a: entry.fn(*a, **kw), fullgraph=True, backend=compiler)
    return to_numpy(fn(*conv))


def rel_diff(a: Any, b: Any) -> float:
    """max |a - b| / max |b| over matching (nested) arrays; inf on a shape or non-finite mismatch."""
    if isinstance(b, dict):
        return max((rel_diff(a[k], b[k]) for k in b), default=0.0)
    if isinstance(b, (list, tuple)):
        return max((rel_diff(x, y) for x, y in zip(a, b, strict=True)), default=0.0)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb) or not np.array_equal(a[~fb], b[~fb], equal_nan=True):
        return float("inf")  # a NaN or infinity where the reference has none, or another one
    a, b = np.where(fb, a, 0.0), np.where(fb, b, 0.0)
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-12)
    return float(np.max(np.abs(a - b), initial=0.0)) / scale


# -- the report --------------------------------------------------------------------------------
@dataclass
class Row:
    name: str
    family: str
    backend: str
    value_f64: float = float("nan")
    value_f32: float = float("nan")
    grad: float | None = None
    jit: str = "-"
    finite: bool = True
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_entry(entry: catalog.Entry, backend: str, seed: int = 0) -> Row:
    """One row of the report: ``entry`` on ``backend`` against float64 NumPy."""
    args, kwargs = entry.example(np.random.default_rng(seed))
    row = Row(entry.name, entry.family, backend)
    try:
        ref = value(entry, args, kwargs, "numpy")
        for dtype in ("float64", "float32"):
            got = value(entry, args, kwargs, backend, dtype)
            d = rel_diff(got, ref)
            setattr(row, f"value_f{dtype[-2:]}", d)
            row.finite &= bool(np.all(np.isfinite(np.asarray(_loss_value(entry, got), dtype=float))))
            if not d <= VALUE_TOL[dtype]:
                row.errors.append(f"{dtype} value differs by {d:.2e}")
        if backend in AUTODIFF:
            fd = finite_difference_gradients(entry, args, kwargs)
            grads = autodiff_gradients(entry, args, kwargs, backend)
            row.grad = max(rel_diff(g, r) for g, r in zip(grads, fd, strict=True))
            row.finite &= all(bool(np.all(np.isfinite(g))) for g in grads)
            if not row.grad <= GRAD_TOL:
                row.errors.append(f"gradient differs from finite differences by {row.grad:.2e}")
        if backend == "jax":
            d = rel_diff(jit_value(entry, args, kwargs), ref)
            row.jit = "ok" if d <= VALUE_TOL["float64"] else f"{d:.1e}"
            if row.jit != "ok":
                row.errors.append(f"jax.jit differs from eager by {d:.2e}")
        if not row.finite:
            row.errors.append("non-finite value or gradient")
    except Exception as exc:  # a crash is a failed row, reported with its message
        row.errors.append(f"{type(exc).__name__}: {exc}")
    return row


def run(backends: Sequence[str] | None = None, families: Sequence[str] | None = None,
        names: Sequence[str] | None = None) -> list[Row]:
    backends = list(backends or available_backends())
    rows: list[Row] = []
    for entry in catalog.entries(families):
        if names and entry.name not in names:
            continue
        rows.extend(check_entry(entry, b) for b in backends)
    return rows


def format_rows(rows: Sequence[Row]) -> str:
    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.1e}"

    header = f"{'loss':<26} {'fam':<4} {'backend':<7} {'value f64':>9} {'value f32':>9} {'grad':>8} {'jit':>4} {'finite':>6}  status"
    lines = [header, "-" * len(header)]
    for r in rows:
        status = "ok" if r.ok else "FAIL: " + "; ".join(r.errors)
        lines.append(
            f"{r.name:<26} {r.family:<4} {r.backend:<7} {num(r.value_f64):>9} {num(r.value_f32):>9} "
            f"{num(r.grad):>8} {r.jit:>4} {'yes' if r.finite else 'NO':>6}  {status}"
        )
    failed = sum(not r.ok for r in rows)
    lines.append(f"{len(rows) - failed} passed, {failed} failed")
    return "\n".join(lines)
