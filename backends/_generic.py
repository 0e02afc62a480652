"""Array-API versions of every primitive a loss may call.

``Backend`` holds one array namespace (``xp``) and implements each primitive with standard
functions only, so any array-API library runs every loss. A framework file subclasses it and
overrides only what that framework does natively and faster (a fused kernel, autodiff, a
compiled loop). Nothing here imports a framework.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

Array = Any
_LOG2 = math.log(2.0)


def is_array(value: Any) -> bool:
    """Whether ``value`` is an array (has a shape) rather than a number (Python's, or a NumPy
    scalar such as ``np.float32(2.0)``).

    The number tests come first: under torch.compile a float or int argument whose value
    Dynamo has seen change is symbolic, and Dynamo cannot trace ``hasattr`` on it. Python's
    own numbers first (50 ns), then the ``numbers.Real`` ABC (300 ns): a small eager step of
    smooth_l1 asks this of its ``beta`` on every call.
    """
    if isinstance(value, (int, float)):
        return False
    return not isinstance(value, numbers.Real) and hasattr(value, "shape")


class Backend:
    """Primitives over one array namespace. Instances are cached per array type."""

    name = "generic"
    #: True when the framework can differentiate (``grad`` works).
    has_autodiff = False
    #: array types known when the adapter is built, registered with ``backends.get`` then
    #: (a type first met inside torch.compile would change its cache there: a recompile)
    array_types: tuple[type, ...] = ()

    def __init__(self, xp: Any):
        self.xp = xp
        #: floating dtypes computed as they are (narrower ones are raised to float32)
        self.wide_floats = (xp.float32, xp.float64)

    def __repr__(self) -> str:
        return f"<Backend {self.name}>"

    # -- introspection -------------------------------------------------------------
    def is_traced(self, x: Array) -> bool:
        """True while ``x`` is a symbolic value of a tracer or compiler (no concrete data)."""
        return False

    def is_host(self, x: Array) -> bool:
        """True when reading ``x``'s values costs no device-to-host synchronisation."""
        return True

    def to_host(self, x: Array) -> Any:
        """A NumPy copy of a host array (only called when ``is_host`` is true)."""
        import numpy as np

        return np.asarray(x)

    def is_floating(self, dtype: Any) -> bool:
        return bool(self.xp.isdtype(dtype, "real floating"))

    def is_integer(self, dtype: Any) -> bool:
        """Signed or unsigned integer (not bool)."""
        return bool(self.xp.isdtype(dtype, "integral"))

    def can_read(self, x: Array, anywhere: bool = False) -> bool:
        """Whether ``x``'s values can be read now: it holds data (not traced) and, unless
        ``anywhere``, reading it costs no device synchronisation (``is_host``)."""
        return not self.is_traced(x) and (anywhere or self.is_host(x))

    def value_range(self, x: Array) -> tuple[Any, Any]:
        """(min, max) of a host array's values, as NumPy scalars (NaN if any value is NaN)."""
        v = self.to_host(x)
        return v.min(), v.max()

    def outside(self, x: Array, lo: float, hi: float, anywhere: bool = False) -> bool:
        """Whether ``x``'s values can be read now (``can_read``) and one lies outside [lo, hi]
        or is NaN; False for an empty array or one that cannot be read."""
        if not self.can_read(x, anywhere) or math.prod(x.shape) == 0:
            return False
        low, high = self.value_range(x)
        return not (low >= lo and high <= hi)

    def kernel_checks_labels(self, logits: Array, labels: Array, axis: int) -> bool:
        """Whether ``softmax_cross_entropy(logits, labels, axis)``, run eagerly now, raises
        IndexError for every label outside [0, K) on its own, so that a loss need not read
        them first (under tracing nothing reads them anyway). None here."""
        return False

    def device(self, x: Array) -> Any:
        return getattr(x, "device", None)

    def asarray(self, value: Any, like: Array, dtype: Any = None) -> Array:
        """``value`` as an array on ``like``'s device, in ``dtype`` (default: ``like``'s)."""
        return self.xp.asarray(value, dtype=like.dtype if dtype is None else dtype, device=self.device(like))

    # -- elementwise safe math -----------------------------------------------------
    def abs(self, x: Array) -> Array:
        """|x| with derivative sign(x): 0 at x = 0 on every framework (torch's convention)."""
        return x * self.xp.sign(x)

    def relu(self, x: Array) -> Array:
        """max(0, x) with gradient 0 at x = 0 on every framework; NaN stays NaN.

        (torch's clamp passes gradient 1 at its bound and JAX's 0.5: ``where`` fixes one rule.)
        """
        return self.xp.where(x <= 0, 0.0, x)

    def softplus(self, x: Array) -> Array:
        """log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)."""
        xp = self.xp
        return xp.clip(x, min=0.0) + xp.log1p(xp.exp(-self.abs(x)))

    def log_sigmoid(self, x: Array) -> Array:
        """log σ(x) = -softplus(-x), stable for any x."""
        return -self.softplus(-x)

    def sigmoid(self, x: Array) -> Array:
        return self.xp.exp(self.log_sigmoid(x))

    def log_cosh(self, r: Array) -> Array:
        """log(cosh r) = |r| + log1p(e^(-2|r|)) - log 2, elementwise: one exp, no overflow,
        derivative tanh(r) (±1 at ±inf). Its second derivative at r = 0 is 0 here (|r| has
        none), 1 on JAX (a JVP rule)."""
        return self._log_cosh_of_abs(self.abs(r))

    def _log_cosh_of_abs(self, a: Array) -> Array:
        return a + self.xp.log1p(self.xp.exp(-2.0 * a)) - _LOG2

    def huber(self, r: Array, delta: float) -> Array:
        """½r² where |r| ≤ δ, else δ(|r| - ½δ), elementwise (``delta`` a Python float > 0);
        derivative r inside, δ·sign(r) outside (±δ at r = ±inf: the square is of r where it
        is selected and of 0 elsewhere, as the gradient of the branch not taken would be
        0·∞ there)."""
        a = self.abs(r)
        inside = a <= delta
        return self._huber_select(self.xp.where(inside, r, 0.0), a, inside, delta)

    def _huber_select(self, r: Array, a: Array, inside: Array, delta: float) -> Array:
        return self.xp.where(inside, 0.5 * r * r, delta * (a - 0.5 * delta))

    def clamped_log(self, x: Array, floor: float = -100.0) -> Array:
        """max(log x, floor) of x ≥ 0 (log 0 = floor, as torch's binary_cross_entropy clamps it),
        with a finite gradient: 0 where the floor applies."""
        xp = self.xp
        pos = x > 0
        return xp.where(pos, xp.clip(xp.log(xp.where(pos, x, 1.0)), min=floor), floor)

    def kl_log_sum(self, log_p: Array, log_q: Array, axis: int) -> Array:
        """Σ over ``axis`` of e^p·(p - q) from log-probabilities p, q of one broadcast shape.

        Terms with p = -inf are 0 with gradient 0 (also where q = -inf); p > -inf with
        q = -inf gives +inf; NaN stays NaN.
        """
        xp = self.xp
        live = log_p != -xp.inf
        # where p = -inf, p - q is replaced by 0 (and p by 0 inside it, so no -inf - -inf is
        # ever computed) and e^p is 0: the value and both gradients are 0·0, never 0·inf
        diff = xp.where(live, xp.where(live, log_p, 0.0) - log_q, 0.0)
        return xp.sum(xp.exp(log_p) * diff, axis=axis)

    def cumsum(self, x: Array, axis: int = -1) -> Array:
        """Inclusive cumulative sum along ``axis``."""
        return self.xp.cumulative_sum(x, axis=axis)

    def xlogy(self, x: Array, y: Array) -> Array:
        """x·log(y) with 0·log(0) = 0 and a finite gradient there."""
        xp = self.xp
        zero = x == 0
        safe_y = xp.where(zero, xp.ones_like(y), y)
        return xp.where(zero, xp.zeros_like(x * safe_y), x * xp.log(safe_y))

    def safe_sqrt(self, x: Array) -> Array:
        """sqrt(x) of x ≥ 0 with gradient 0 (not inf) at x = 0; NaN stays NaN."""
        xp = self.xp
        pos = x > 0
        return xp.where(pos, xp.sqrt(xp.where(pos, x, xp.ones_like(x))), x * 0.0)

    def safe_norm(self, x: Array, axis: int = -1, keepdims: bool = False) -> Array:
        """Euclidean norm over ``axis`` with gradient 0 at the zero vector."""
        return self.safe_sqrt(self.xp.sum(x * x, axis=axis, keepdims=keepdims))

    # -- reductions over a class axis ----------------------------------------------
    def max(self, x: Array, axis: int = -1) -> Array:
        """The maximum along ``axis``; its gradient is split equally between tied maxima."""
        return self.xp.max(x, axis=axis)

    def logsumexp(self, x: Array, axis: int = -1, keepdims: bool = False) -> Array:
        xp = self.xp
        m = self.stop_gradient(xp.max(x, axis=axis, keepdims=True))
        m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
        out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
        return out if keepdims else xp.squeeze(out, axis=axis)

    def log_softmax(self, x: Array, axis: int = -1) -> Array:
        return x - self.logsumexp(x, axis=axis, keepdims=True)

    def softmax(self, x: Array, axis: int = -1) -> Array:
        return self.xp.exp(self.log_softmax(x, axis=axis))

    def one_hot(self, labels: Array, num_classes: int, axis: int = -1, dtype: Any = None) -> Array:
        """One-hot of integer ``labels`` with the class axis inserted at ``axis``."""
        xp = self.xp
        axis = axis % (labels.ndim + 1)
        # the classes shaped to broadcast at ``axis``: the result comes out contiguous, not moved
        classes = xp.arange(num_classes, dtype=labels.dtype, device=self.device(labels))
        if axis < labels.ndim:
            classes = xp.reshape(classes, (num_classes,) + (1,) * (labels.ndim - axis))
        return xp.astype(xp.expand_dims(labels, axis=axis) == classes, dtype or xp.float32)

    def increments(self, x: Array, axis: int = -1) -> Array:
        """``x_i - x_{i-1}`` along ``axis``, the first element kept (as if ``x_{-1} = 0``)."""
        xp = self.xp
        n = x.ndim
        axis = axis % n

        def part(index):
            return x[tuple(index if d == axis else slice(None) for d in range(n))]

        return xp.concat([part(slice(0, 1)), part(slice(1, None)) - part(slice(0, -1))], axis=axis)

    def take_along_axis(self, x: Array, indices: Array, axis: int = -1) -> Array:
        return self.xp.take_along_axis(x, indices, axis=axis)

    def gather_class(self, x: Array, labels: Array, axis: int = -1) -> Array:
        """``x[..., labels, ...]`` along the class ``axis``: the batch shape, no one-hot built."""
        xp = self.xp
        idx = xp.expand_dims(labels, axis=axis)
        return xp.squeeze(self.take_along_axis(x, idx, axis=axis), axis=axis)

    def softmax_cross_entropy(self, logits: Array, labels: Array, axis: int = -1) -> Array:
        """-log softmax(logits)[labels] per item (batch shape); integer labels in [0, K)."""
        return self.logsumexp(logits, axis=axis) - self.gather_class(logits, labels, axis=axis)

    def bce_with_logits(self, logits: Array, target: Array, pos_weight: Array | None = None) -> Array:
        """-[p_w·t·log σ(x) + (1 - t)·log(1 - σ(x))] elementwise, with one exp and one log1p.

        With a = |x| and c = log1p(e^-a) (so softplus(±x) = (a ± x)/2 + c) it is
        (1/2 - t)·x + a/2 + c, or (1 - t)·x + (1 + (p_w - 1)·t)·((a - x)/2 + c) with
        ``pos_weight``: no overflow, the gradient σ(x) - t at x = 0 too (no kink is ever
        selected), and no cancellation where a hard target makes the loss tiny.
        """
        a = self.abs(logits)
        c = self.xp.log1p(self.xp.exp(-a))
        if pos_weight is None:
            return ((0.5 - target) * logits + 0.5 * a) + c  # exact 0 + c for a hard, right target
        scale = 1.0 + (pos_weight - 1.0) * target
        return ((1.0 - target) * logits + scale * (0.5 * (a - logits))) + scale * c

    def fused_loss(self, kind: str, a: Array, b: Array, reduction: str, param: Any) -> Array | None:
        """A whole loss with its reduction as one native kernel, or None where there is none.

        ``kind`` names the formula and ``param`` its one parameter: ``"mse"``, ``"mae"``
        (pred ``a``, target ``b`` of one dtype), ``"huber"`` (``param`` delta),
        ``"smooth_l1"`` (``param`` beta), ``"bce_with_logits"`` (logits, target of one shape,
        ``param`` pos_weight or None), ``"cross_entropy"`` (logits, valid integer labels,
        ``param`` the class axis, normalised) or ``"kl_log"`` (log-probabilities p, q of one
        shape, Σ e^p·(p - q) over ``param``, the axis, terms of p = -inf being 0, as
        ``kl_log_sum``). No per-item weight applies. Losses fall back to their array-API
        formula on None, so a framework without such kernels needs nothing. Every argument
        is positional: a loss's small eager calls pay for each dict a call builds.
        """
        return None

    # -- order statistics ----------------------------------------------------------
    def sort(self, x: Array, axis: int = -1) -> Array:
        return self.xp.sort(x, axis=axis)

    def sort_descending(self, x: Array, axis: int = -1) -> tuple[Array, Array]:
        """``(values, indices)``: ``x`` sorted in descending order along ``axis`` by a stable
        sort (ties keep their order, so every framework picks the same permutation), and the
        permutation. The gradient flows into ``x`` through the values."""
        perm = self.xp.argsort(self.stop_gradient(x), axis=axis, descending=True, stable=True)
        return self.take_along_axis(x, perm, axis=axis), perm

    def median(self, x: Array, axis: int = -1) -> Array:
        """Median along ``axis``; an even count gives the mean of the two middle values."""
        xp = self.xp
        s = xp.moveaxis(self.sort(x, axis=axis), axis, -1)
        n = s.shape[-1]
        return (s[..., (n - 1) // 2] + s[..., n // 2]) / 2

    # -- autodiff and control flow -------------------------------------------------
    def stop_gradient(self, x: Array) -> Array:
        """``x`` as a constant for differentiation (identity where nothing differentiates)."""
        return x

    def loop(self, n: int, body: Callable[[int, Any], Any], init: Any) -> Any:
        """``n`` applications of ``body(i, carry)``, a fixed-count loop (``fori_loop`` on JAX)."""
        carry = init
        for i in range(n):
            carry = body(i, carry)
        return carry

    def grad(self, fn: Callable[[Array], Array], x: Array) -> Array:
        """Gradient of the scalar ``fn(x)`` with respect to ``x``, kept differentiable."""
        raise NotImplementedError(
            f"{self.name} arrays cannot be differentiated; use torch or jax arrays for this loss"
        )

