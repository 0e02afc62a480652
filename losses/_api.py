"""What every loss shares: argument checks, dtype handling, reduction, weights, registration.

A loss resolves its backend once (``backends.get``), validates and promotes its inputs with
``floating``, checks hyperparameters with ``check_range``, computes its unreduced values and
ends with ``reduce``. Checks on array *values* go through ``check_values``: they run on host
arrays that hold data (NumPy, array-api-strict, CPU tensors, JAX on CPU), never under
``jax.jit``/``torch.compile`` tracing, and on GPU arrays only after
``set_value_checks("always")``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import backends
from backends import get as _backend
from backends import is_array

from . import catalog

Array = Any
REDUCTIONS = ("mean", "sum", "none")  # (check_reduction spells it out)

_value_checks = "auto"


def set_value_checks(mode: str) -> str:
    """Choose when checks on array values run; returns the previous mode.

    ``"auto"`` (default): on host arrays outside tracing, never on GPU arrays (reading a GPU
    array's values would synchronise the device). ``"always"``: on every eager array, GPU
    included. ``"never"``: not at all.
    """
    global _value_checks
    if mode not in ("auto", "always", "never"):
        raise ValueError(f"set_value_checks: mode must be 'auto', 'always' or 'never', got {mode!r}")
    previous, _value_checks = _value_checks, mode
    return previous


# -- registration ------------------------------------------------------------------------
def loss(
    *,
    family: str,
    example: Callable[..., Any],
    differentiable: Sequence[str] = ("pred",),
    stateful: bool = False,
    summary: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a loss in the catalogue; the function itself is returned unchanged."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        catalog.register(
            fn,
            family=family,
            example=example,
            differentiable=tuple(differentiable),
            stateful=stateful,
            summary=summary or (fn.__doc__ or "").strip().splitlines()[0],
        )
        return fn

    return register


# -- argument checks -----------------------------------------------------------------------
def check_reduction(name: str, reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):  # a literal: torch.compile guards no global
        raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def check_range(
    name: str,
    arg: str,
    value: Any,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """ValueError unless ``value`` lies in the interval (bounds closed unless ``*_open``)."""
    try:
        v = float(value)
    except Exception:
        if hasattr(value, "shape"):  # an array, or a traced value that cannot be read
            raise TypeError(f"{name}: {arg} must be a static Python number, got a {type(value).__name__}") from None
        raise TypeError(f"{name}: {arg} must be a real number, got {value!r}") from None
    below = v <= lo if lo_open else v < lo
    above = v >= hi if hi_open else v > hi
    if below or above or v != v:  # (not math.isnan: torch.compile cannot trace it on a symbolic float)
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(f"{name}: {arg} must be in {left}{lo}, {hi}{right}, got {value!r}")


def check_int(name: str, arg: str, value: Any, lo: int = 1) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: {arg} must be an integer, got {value!r}") from None
    if value < lo:
        raise ValueError(f"{name}: {arg} must be >= {lo}, got {value!r}")
    return value


def check_axes(name: str, arg: str, axis: Any, ndim: int) -> tuple[int, ...] | None:
    """``axis`` (None, an int or a tuple of ints) normalised to a tuple, or None for all axes."""
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = tuple(check_axis(name, arg, a, ndim) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: {arg}={axis!r} repeats an axis")
    return out


def check_axis(name: str, arg: str, axis: int, ndim: int) -> int:
    """``axis`` normalised to [0, ndim); ValueError when out of range."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"{name}: {arg} must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: {arg}={axis} is out of range for an array of {ndim} dimensions")
    return axis % ndim


def broadcast_shapes(name: str, **shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast of named shapes; ValueError naming the arguments that do not broadcast."""
    values = list(shapes.values())
    if all(v == values[0] for v in values[1:]):
        return tuple(values[0])
    out: list[int] = []
    seen: list[str] = []
    for arg, shape in shapes.items():
        shape = tuple(shape)
        n = max(len(out), len(shape))
        a = [1] * (n - len(out)) + out
        b = [1] * (n - len(shape)) + list(shape)
        merged = []
        for da, db in zip(a, b, strict=True):
            if da != db and 1 not in (da, db):
                raise ValueError(
                    f"{name}: shapes do not broadcast: {arg} {shape} against "
                    f"{' and '.join(seen)} {tuple(out)}"
                )
            merged.append(db if da == 1 else da)
        out = merged
        seen.append(arg)
    return tuple(out)


def backend_of(name: str, names: tuple[str, ...], *arrays: Any) -> Any:
    """``backends.get(*arrays)``, with errors naming the loss and the arguments: an
    unsupported type, or arrays from two frameworks. ``names`` name the first arrays; any
    after them (per-class weights) are checked unnamed.

    Names come as a tuple of constants and arrays positionally (so does ``floating`` and
    ``same_shape``): a call with keyword arguments gathered by ``**`` builds a dict, and the
    small eager training step pays for every object made on its path.
    """
    try:
        return _backend(*arrays)  # imported by name: torch.compile guards one path to it
    except TypeError as exc:
        named = tuple(zip(names, arrays, strict=False))  # arrays after the named ones: unnamed
        for arg, x in named:
            try:
                backends.name_of(x)
            except TypeError:
                raise TypeError(f"{name}: {arg} must be an array, got {type(x).__name__}") from None
        which = ", ".join(f"{arg} is {backends.name_of(x)}" for arg, x in named if backends.name_of(x))
        raise TypeError(f"{name}: {exc} ({which})") from None


def same_framework(B: Any, name: str, **arrays: Any) -> None:
    """TypeError naming the argument when an array is not of backend ``B``'s framework."""
    for arg, x in arrays.items():
        other = backends.name_of(x)
        if other is not None and other != B.name:
            raise TypeError(f"{name}: {arg} is a {other} array, the other inputs are {B.name} arrays")


def same_shape(name: str, names: tuple[str, str], a: Array, b: Array) -> None:
    """ValueError unless arrays ``a`` and ``b`` (named by ``names``) have one shape exactly."""
    if a.shape != b.shape:
        raise ValueError(f"{name}: {names[1]} has shape {tuple(b.shape)}, expected {names[0]}'s shape {tuple(a.shape)}")


def floating(B: Any, name: str, names: tuple[str, ...], *arrays: Array) -> tuple[Array, ...]:
    """The arrays (named by ``names``) in one floating dtype: the widest of theirs,
    float16/bfloat16 raised to float32.

    TypeError naming the argument for a non-floating array.
    """
    xp = B.xp
    first = getattr(arrays[0], "dtype", None)
    if first in B.wide_floats:  # the common cases, without the per-array checks below
        if len(arrays) == 1:
            return arrays
        if len(arrays) == 2 and getattr(arrays[1], "dtype", None) == first:
            return arrays
    dtypes = []
    for arg, x in zip(names, arrays, strict=True):
        dtype = getattr(x, "dtype", None)
        if dtype is None or not B.is_floating(dtype):
            raise TypeError(f"{name}: {arg} must be a floating-point array, got {dtype or type(x).__name__}")
        dtypes.append(dtype)
    target = dtypes[0]
    if any(d != target for d in dtypes[1:]):
        target = xp.result_type(*dtypes)
    elif target in B.wide_floats:
        return arrays
    if xp.finfo(target).bits < 32:
        target = xp.float32
    return tuple(x if x.dtype == target else xp.astype(x, target) for x in arrays)


def _readable(B: Any, x: Array) -> bool:
    """Whether value checks run on ``x`` now (see ``set_value_checks``)."""
    return _value_checks != "never" and B.can_read(x, anywhere=_value_checks == "always")


def check_values(B: Any, name: str, arg: str, x: Array, ok: Callable[[Any], Any], what: str) -> None:
    """ValueError "``name``: ``arg`` must be ``what``" when ``ok(host_values)`` is false.

    Runs only where reading values is free (see ``set_value_checks``).
    """
    if not _readable(B, x):
        return
    import numpy as np

    if not bool(np.all(ok(B.to_host(x)))):
        raise ValueError(f"{name}: {arg} must be {what}")


def _outside(B: Any, x: Array, lo: float, hi: float) -> bool:
    """Whether value checks run on ``x`` now (see ``set_value_checks``) and find a value
    outside [lo, hi] or a NaN."""
    return _value_checks != "never" and B.outside(x, lo, hi, _value_checks == "always")


def check_value_range(B: Any, name: str, arg: str, x: Array, lo: float, hi: float, what: str) -> None:
    """ValueError "``name``: ``arg`` must be ``what``" unless every value lies in [lo, hi].

    The cheap form of ``check_values`` for ranges (one min/max pass; NaN fails), with the
    same rule for when it runs.
    """
    if _outside(B, x, lo, hi):
        raise ValueError(f"{name}: {arg} must be {what}")


def label_range_error(name: str, num_classes: int) -> ValueError:
    """The error for integer labels outside [0, num_classes), found here or by a kernel."""
    return ValueError(f"{name}: labels must be integers in [0, {num_classes})")


def check_labels(B: Any, name: str, labels: Any, arg: str, like: Array, axis: int | None,
                 num_classes: int, ignore_index: int | None = None, kernel: bool = False) -> None:
    """Integer class ``labels`` of ``like``'s shape without ``axis`` (all of it for None), in
    [0, num_classes) or ``ignore_index``: TypeError / ValueError naming the loss otherwise.

    ``kernel``: the caller computes the loss with ``B.softmax_cross_entropy`` of ``like`` and
    ``labels`` (or the same kernel through ``fused``), turns its IndexError into
    ``label_range_error`` and checks the labels (``kernel=False``) on any other error of it. With value checks on "auto", where ``B.kernel_checks_labels`` says
    that kernel checks every label itself (torch's, eagerly on a CPU), the values are not
    read here: reading them cost a small eager training step about 3 us
    (``benchmarks/probes/small_step.py``). "always" reads them.

    The passing path builds no message and no shape tuple: small eager calls pay for every
    object made here (``like.shape`` is a tuple, or torch's ``Size`` that compares as one).
    """
    dtype = getattr(labels, "dtype", None)
    if dtype is None or not B.is_integer(dtype):
        raise TypeError(f"{name}: labels must be an integer array of class indices, got {dtype or type(labels).__name__}")
    shape = like.shape
    if axis is None:
        expected = shape
    elif axis == len(shape) - 1:  # the common case, one slice
        expected = shape[:axis]
    else:
        expected = shape[:axis] + shape[axis + 1:]
    if labels.shape != expected:
        what = f"{arg}' shape" if axis is None else f"{arg}' shape without axis {axis}"
        raise ValueError(f"{name}: labels has shape {tuple(labels.shape)}, expected {what} {tuple(expected)}")
    k = num_classes
    if ignore_index is None:
        if (not (kernel and _value_checks == "auto" and B.kernel_checks_labels(like, labels, axis))
                and _outside(B, labels, 0, k - 1)):
            raise label_range_error(name, k)
    else:
        check_values(B, name, "labels", labels, lambda v: ((v >= 0) & (v < k)) | (v == ignore_index),
                     f"integers in [0, {k}) or ignore_index={ignore_index}")


def fused(B: Any, kind: str, a: Array, b: Array, reduction: str, weight: Array | None, name: str,
          param: Any) -> Array | None:
    """The backend's fused kernel for the whole loss and its reduction, or None.

    Used before a loss computes its array-API formula: without per-item weights, a framework
    with a native kernel for ``kind`` (torch's ``F.mse_loss``, ``F.cross_entropy``, ...)
    computes the loss and the reduction in one call (``Backend.fused_loss``, whose one
    parameter is ``param``).
    """
    if weight is not None:
        return None
    check_reduction(name, reduction)
    return B.fused_loss(kind, a, b, reduction, param)


# -- reduction -------------------------------------------------------------------------------
def reduce(B: Any, values: Array, reduction: str, weight: Array | None, name: str) -> Array:
    """Apply per-item ``weight`` and the reduction to unreduced loss ``values``.

    "none": ``weight * values``; "sum": ``sum(weight * values)``; "mean": the weighted mean
    ``sum(weight * values) / sum(weight)`` (the plain mean without weights).
    """
    check_reduction(name, reduction)
    xp = B.xp
    if weight is None:
        if reduction == "none":
            return values
        return xp.sum(values) if reduction == "sum" else xp.mean(values)
    if not is_array(weight):
        weight = B.asarray(weight, values)
    else:
        same_framework(B, name, weight=weight)
        (weight,) = floating(B, name, ("weight",), weight)
        if weight.dtype != values.dtype:
            weight = xp.astype(weight, values.dtype)  # the result keeps the inputs' dtype
    broadcast_shapes(name, losses=tuple(values.shape), weight=tuple(weight.shape))
    weighted = values * weight
    if tuple(weighted.shape) != tuple(values.shape):
        raise ValueError(
            f"{name}: weight of shape {tuple(weight.shape)} would enlarge the loss of shape "
            f"{tuple(values.shape)}"
        )
    if reduction == "none":
        return weighted
    total = xp.sum(weighted)
    if reduction == "sum":
        return total
    return total / xp.sum(xp.broadcast_to(weight, tuple(values.shape)))


def pair(name: str, pred: Array, target: Array):
    """``(B, pred, target)``: the backend, both arrays in one floating dtype, shapes checked.

    (No defaults here or in ``fused``: torch.compile guards a called function's defaults on
    every call.)
    """
    names = ("pred", "target")
    for arg, x in ((names[0], pred), (names[1], target)):
        if not hasattr(x, "shape"):
            raise TypeError(f"{name}: {arg} must be an array, got {type(x).__name__}")
    B = backend_of(name, names, pred, target)
    if pred.shape != target.shape:
        broadcast_shapes(name, pred=tuple(pred.shape), target=tuple(target.shape))
    pred, target = floating(B, name, names, pred, target)
    return B, pred, target
