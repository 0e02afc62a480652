"""D2b probabilistic losses: cross entropies, focal losses, GHM-C, PolyLoss and the KL divergence.

``logits`` hold unnormalised log-probabilities with the classes along ``axis`` (default -1,
channels-last; torch users pass ``axis=1`` for ``(N, C, H, W)``). Integer ``labels`` have the
logits' shape without that axis, which is the unreduced shape. The binary losses
(``binary_cross_entropy``, ``sigmoid_focal``, ``ghm_c``) take a ``target`` of the logits' own
shape, which is then the unreduced shape.

Logits stay in log space: the losses are built on ``log_softmax``, ``log_sigmoid`` and the
fused ``softmax_cross_entropy`` / ``bce_with_logits`` primitives (``F.cross_entropy`` and
``F.binary_cross_entropy_with_logits`` on torch), never on ``log(softmax)``, so logits of
±1e4 in float32 give finite values and gradients. Integer labels are gathered along the class
axis, never expanded to a one-hot array of the logits' size. Labels are checked to be
integers (TypeError) of the right shape (ValueError) and, on eager host arrays, in [0, K).
"""

from __future__ import annotations

import math
import numbers

from . import catalog
from ._api import (
    backend_of,
    broadcast_shapes,
    check_axis,
    check_int,
    check_labels,
    check_range,
    check_reduction,
    check_value_range,
    floating,
    fused,
    is_array,
    label_range_error,
    loss,
    reduce,
    same_shape,
)

__all__ = [
    "cross_entropy",
    "binary_cross_entropy",
    "sigmoid_focal",
    "softmax_focal",
    "ghm_c",
    "poly1_cross_entropy",
    "kl_divergence",
]

#: torch's F.binary_cross_entropy clamps each log at -100 and, in its gradient, p(1 - p) at
#: 1e-12 as a float32 constant (9.99999996e-13, what its CPU kernel divides by at p = 0 and 1)
_BCE_EPS = 9.999999960041972e-13


# -- shared helpers ------------------------------------------------------------------------------
def _batch_shape(shape, axis):
    return tuple(shape[:axis]) + tuple(shape[axis + 1:])


def _class_logits(name, logits, labels, axis, allow_probabilities=True, others=(), ignore_index=None,
                  kernel=False):
    """``(B, logits, labels, axis, probabilistic)`` with the logits floating, ``axis``
    normalised and the labels checked.

    Integer labels are class indices of the logits' shape without ``axis``, in [0, K) or
    ``ignore_index``; floating labels of the logits' shape are probabilities in [0, 1] (when
    ``allow_probabilities``), floating labels of the batch shape are a TypeError.
    ``others`` (per-class arrays) must come from the same framework; ``kernel`` as in
    ``check_labels``.
    """
    B = backend_of(name, ("logits", "labels"), logits, labels, *others)
    (logits,) = floating(B, name, ("logits",), logits)
    axis = check_axis(name, "axis", axis, logits.ndim)
    dtype = getattr(labels, "dtype", None)
    if dtype is not None and B.is_floating(dtype):
        if allow_probabilities and labels.shape == logits.shape:
            logits, labels = floating(B, name, ("logits", "labels"), logits, labels)
            check_value_range(B, name, "labels", labels, 0.0, 1.0, "probabilities in [0, 1]")
            return B, logits, labels, axis, True
        if tuple(labels.shape) == _batch_shape(logits.shape, axis):
            what = " (or probabilities of the logits' shape)" if allow_probabilities else ""
            raise TypeError(f"{name}: labels must be an integer array of class indices{what}, got {dtype}")
        raise ValueError(
            f"{name}: labels has shape {tuple(labels.shape)}; expected integer labels of shape "
            f"{_batch_shape(logits.shape, axis)} or probabilities of shape {tuple(logits.shape)}"
        )
    check_labels(B, name, labels, "logits", logits, axis, logits.shape[axis], ignore_index, kernel)
    return B, logits, labels, axis, False


def _per_class(B, name, arg, value, logits, k):
    """A per-class vector ``(K,)`` (array or sequence) in the logits' dtype and device."""
    xp = B.xp
    if not hasattr(value, "shape"):
        value = B.asarray(value, logits)
    dtype = value.dtype
    if not (B.is_floating(dtype) or B.is_integer(dtype)):
        raise TypeError(f"{name}: {arg} must be a real array of one value per class, got {dtype}")
    if tuple(value.shape) != (k,):
        raise ValueError(f"{name}: {arg} must have shape ({k},) (one value per class), got {tuple(value.shape)}")
    return value if dtype == logits.dtype else xp.astype(value, logits.dtype)


def _gather(B, vector, labels):
    """``vector[labels]`` for a ``(K,)`` vector and integer labels of any shape."""
    xp = B.xp
    flat = xp.take(vector, xp.reshape(labels, (-1,)), axis=0)
    return xp.reshape(flat, tuple(labels.shape))


def _along(B, vector, ndim, axis):
    """A ``(K,)`` vector reshaped to broadcast along ``axis`` of an ``ndim``-dimensional array."""
    shape = [1] * ndim
    shape[axis] = vector.shape[0]
    return B.xp.reshape(vector, tuple(shape))


def _arrays(*values):
    """The arguments that are arrays (not None, Python numbers or sequences), for ``backend_of``."""
    out = ()
    for v in values:
        if v is not None and is_array(v):
            out += (v,)
    return out


def _check_smoothing(name, label_smoothing):
    if label_smoothing.__class__ is float and 0.0 <= label_smoothing <= 1.0:
        return label_smoothing  # the default, without check_range's call (a small eager step pays for each)
    check_range(name, "label_smoothing", label_smoothing, 0.0, 1.0)
    return float(label_smoothing)


def _binary_pair(name, logits, target, others=()):
    """``(B, logits, target)``: floating logits and a target of the same shape in [0, 1].

    ``target`` may be floating, integer or boolean (cast to the logits' dtype); its values
    are checked on eager host arrays. ``others`` must come from the same framework.
    """
    B = backend_of(name, ("logits", "target"), logits, target, *others)
    xp = B.xp
    dtype = getattr(target, "dtype", None)
    if dtype is not None and B.is_floating(dtype):
        logits, target = floating(B, name, ("logits", "target"), logits, target)
    else:
        (logits,) = floating(B, name, ("logits",), logits)
        if dtype is None:
            raise TypeError(f"{name}: target must be an array, got {type(target).__name__}")
        if not (B.is_integer(dtype) or xp.isdtype(dtype, "bool")):
            raise TypeError(f"{name}: target must be a floating, integer or boolean array, got {dtype}")
    same_shape(name, ("logits", "target"), logits, target)
    check_value_range(B, name, "target", target, 0.0, 1.0, "in [0, 1]")
    if target.dtype != logits.dtype:
        target = xp.astype(target, logits.dtype)
    return B, logits, target


def _safe_mean(B, values, denominator, reduction, weight, name):
    """``reduce`` whose "mean" divides by ``sum(weight * denominator)``, and is 0 when that is 0."""
    if reduction != "mean":
        return reduce(B, values, reduction, weight, name)
    xp = B.xp
    total = reduce(B, values, "sum", weight, name)
    count = reduce(B, denominator, "sum", weight, name)
    empty = count == 0
    return xp.where(empty, xp.zeros_like(total), total / xp.where(empty, xp.ones_like(count), count))


def _softmax_ce_terms(B, logits, labels, axis, label_smoothing, class_weight):
    """Per-item -Σ_k w_k q_k log p_k for integer labels and the smoothed target q, no one-hot.

    (1 - ε)·w_y·(-log p_y) + ε/K·Σ_k w_k·(-log p_k); labels must already be valid indices.
    """
    xp = B.xp
    k = logits.shape[axis]
    if label_smoothing == 0.0:
        nll = B.softmax_cross_entropy(logits, labels, axis=axis)
        return nll if class_weight is None else nll * _gather(B, class_weight, labels)
    log_p = B.log_softmax(logits, axis=axis)
    nll = -B.gather_class(log_p, labels, axis=axis)
    if class_weight is None:
        uniform = -xp.sum(log_p, axis=axis)
    else:
        nll = nll * _gather(B, class_weight, labels)
        uniform = -xp.sum(log_p * _along(B, class_weight, log_p.ndim, axis), axis=axis)
    return (1.0 - label_smoothing) * nll + (label_smoothing / k) * uniform


# -- cross entropy -------------------------------------------------------------------------------
@loss(family="D2b", example=catalog.class_logits, differentiable=("logits",),
      summary="softmax cross entropy (class weights, label smoothing, ignore_index, soft targets)")
def cross_entropy(logits, labels, *, axis=-1, class_weight=None, label_smoothing=0.0, ignore_index=None,
                  reduction="mean", weight=None):
    """Softmax cross entropy -log softmax(logits)[y], as ``torch.nn.functional.cross_entropy``.

    With label smoothing ε the target is q = (1 - ε)·onehot(y) + ε/K and the loss is
    l = -Σ_k w_k q_k log p_k, with class weights w (1 without ``class_weight``); for integer
    labels it is computed as (1 - ε)·w_y·(-log p_y) + ε/K·Σ_k w_k·(-log p_k), never through a
    one-hot array. ``labels`` may instead be probabilities (soft targets) of the logits' shape,
    smoothed and weighted the same way. Without class weights, smoothing or ``ignore_index``
    this is exactly the backend's fused softmax cross entropy (``F.cross_entropy`` on torch,
    with no label ignored, not even torch's default -100; for large CPU logits an equivalent
    chunked kernel that writes less memory).

    "mean" with integer labels is Σ_i v_i l_i / Σ_i v_i w_{y_i} (v the per-item ``weight``,
    1 without it), the ignored items left out of both sums, as torch does; when that
    denominator is 0 (every item ignored) the mean is 0, not NaN. With probability targets
    "mean" is Σ_i v_i l_i / Σ_i v_i.

    Args:
        logits: floating array with the classes along ``axis``.
        labels: integer class indices in [0, K) of the logits' shape without ``axis``, or
            floating probabilities of the logits' shape. Integer labels are checked on eager
            host arrays; without class weights, smoothing or ``ignore_index``, eager CPU
            tensors that go to torch's kernel (all but large contiguous logits with the classes
            last) are checked by that kernel instead, which lets one int64 value, 1 - 2**63,
            through as an ignored item, as on a GPU; ``set_value_checks("always")`` reads them
            first.
        axis: the class axis (default -1; ``axis=1`` for torch's ``(N, C, ...)`` layout).
        class_weight: optional ``(K,)`` weight of each class (torch's ``weight``).
        label_smoothing: ε ∈ [0, 1], the weight of the uniform distribution in the target
            (default 0.0).
        ignore_index: optional label value whose items contribute 0 and are left out of the
            mean (integer labels only; torch's default -100 is not implied).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the batch shape (the logits' shape without ``axis``) for
        ``reduction="none"``; ignored items are 0 there.

    References:
        Agrees with ``torch.nn.functional.cross_entropy`` (``weight``, ``ignore_index``,
        ``label_smoothing`` and probability targets, alone and combined) and
        ``optax.losses.softmax_cross_entropy_with_integer_labels``.

    Example:
        >>> import numpy as np, losses
        >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> np.round(losses.cross_entropy(logits, np.array([0, 2]), reduction="none"), 6).tolist()
        [0.239545, 1.098612]
    """
    name = "cross_entropy"  # reduction: checked where it is applied (fused, reduce), one call fewer
    label_smoothing = _check_smoothing(name, label_smoothing)
    if ignore_index is not None:
        # read as an int: torch.compile passes a changed one as a symbolic int, which the messages
        # built below cannot format
        ignore_index = check_int(name, "ignore_index", ignore_index, lo=-(2**63))
    plain = class_weight is None and label_smoothing == 0.0 and ignore_index is None  # one kernel call
    B, logits, labels, axis, probabilistic = _class_logits(name, logits, labels, axis, others=_arrays(class_weight),
                                                           ignore_index=ignore_index, kernel=plain)
    xp = B.xp
    k = logits.shape[axis]
    if class_weight is not None:
        class_weight = _per_class(B, name, "class_weight", class_weight, logits, k)

    if probabilistic:
        if ignore_index is not None:
            raise ValueError(f"{name}: ignore_index applies to integer labels only, not to probabilities")
        log_p = B.log_softmax(logits, axis=axis)
        q = labels if label_smoothing == 0.0 else (1.0 - label_smoothing) * labels + label_smoothing / k
        if class_weight is not None:
            q = q * _along(B, class_weight, logits.ndim, axis)
        return reduce(B, -xp.sum(q * log_p, axis=axis), reduction, weight, name)

    if plain:
        try:  # the kernel calls alone: a label out of range, found there (check_labels left them to it)
            out = fused(B, "cross_entropy", logits, labels, reduction=reduction, weight=weight, name=name, param=axis)
            values = None if out is not None else B.softmax_cross_entropy(logits, labels, axis=axis)
        except IndexError:
            raise label_range_error(name, k) from None
        except RuntimeError:  # under vmap the kernel's batching rule raises gather's error instead
            check_labels(B, name, labels, "logits", logits, axis, k)  # a label out of range: its ValueError
            raise
        return out if values is None else reduce(B, values, reduction, weight, name)
    if ignore_index is not None:
        valid = labels != ignore_index
        labels = xp.where(valid, labels, xp.zeros_like(labels))
    values = _softmax_ce_terms(B, logits, labels, axis, label_smoothing, class_weight)
    if class_weight is None:
        denominator = xp.ones_like(values)
    else:
        denominator = _gather(B, class_weight, labels)
    if ignore_index is not None:
        values = xp.where(valid, values, xp.zeros_like(values))
        denominator = xp.where(valid, denominator, xp.zeros_like(denominator))
    return _safe_mean(B, values, denominator, reduction, weight, name)


# -- binary cross entropy ------------------------------------------------------------------------
def _bce_probabilities(B, p, t, pos_weight):
    """-[p_w·t·log p + (1 - t)·log(1 - p)], each log clamped at -100, with torch's gradient.

    The gradient with respect to p is ((p_w·t + 1 - t)·p - p_w·t) / max(p(1 - p), 1e-12),
    i.e. (p - t) / max(p(1 - p), 1e-12) without ``pos_weight``: the exact derivative wherever
    p(1 - p) ≥ 1e-12 and torch's clamped one (finite at p = 0 and p = 1) elsewhere. The
    gradient with respect to t is that of the clamped value (±100 where a log is clamped,
    where torch's is infinite).
    """
    xp = B.xp
    a = t if pos_weight is None else pos_weight * t  # coefficient of -log p
    b = 1.0 - t  # coefficient of -log(1 - p)
    const = B.stop_gradient(p)
    tiny = const * (1.0 - const) < _BCE_EPS
    # where p(1 - p) ≥ 1e-12 both logs are finite (≥ -27.7, the clamp is inactive): exact values
    safe = xp.where(tiny, xp.full_like(p, 0.5), p)
    exact = -(a * xp.log(safe) + b * xp.log1p(-safe))
    # near 0 and 1: the clamped value plus a quadratic that is 0 here and whose slope,
    # c·(p - p0)/eps, is torch's clamped gradient (p0 = p_w·t/c, c = p_w·t + 1 - t)
    clamped = -(a * B.clamped_log(const) + b * B.clamped_log(1.0 - const))
    if pos_weight is None:
        scale, root = 1.0 / _BCE_EPS, B.stop_gradient(t)
    else:
        ca = B.stop_gradient(a)
        c = ca + B.stop_gradient(b)
        some = c != 0
        scale = c / _BCE_EPS
        root = xp.where(some, ca / xp.where(some, c, xp.ones_like(c)), 0.0)
    d, d0 = p - root, const - root
    return xp.where(tiny, clamped + (0.5 * scale) * (d * d - d0 * d0), exact)


@loss(family="D2b", example=catalog.binary_logits, differentiable=("logits",),
      summary="binary cross entropy on logits (or probabilities), with pos_weight")
def binary_cross_entropy(logits, target, *, pos_weight=None, from_logits=True, reduction="mean", weight=None):
    """Binary cross entropy -[p_w·t·log σ(x) + (1 - t)·log(1 - σ(x))], computed in log space.

    With ``from_logits=True`` (default) it is softplus-based and exact for any logit (the
    backend's fused kernel, ``F.binary_cross_entropy_with_logits`` on torch). With
    ``from_logits=False`` the first argument holds probabilities p ∈ [0, 1] (checked on eager
    host arrays) and each log is clamped at -100, as ``F.binary_cross_entropy``: p = 0 and
    p = 1 give finite values, and the gradient with respect to p is torch's,
    (p - t)/max(p(1 - p), 1e-12) (with p_w: ((p_w·t + 1 - t)·p - p_w·t)/max(p(1 - p), 1e-12)),
    finite everywhere.

    Args:
        logits: floating logits x, or probabilities p with ``from_logits=False``.
        target: targets t ∈ [0, 1] (checked on eager host arrays) of the same shape; floating,
            integer or boolean.
        pos_weight: optional weight p_w ≥ 0 of the positive term, a scalar or an array that
            broadcasts against ``logits`` without enlarging it (``(C,)`` for the last axis), as
            torch's ``pos_weight``.
        from_logits: whether the first argument is logits (default True) or probabilities.
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the logits' shape for ``reduction="none"``.

    References:
        Agrees with ``torch.nn.functional.binary_cross_entropy_with_logits`` (``pos_weight``
        included) and ``torch.nn.functional.binary_cross_entropy`` (values and gradients).

    Example:
        >>> import numpy as np, losses
        >>> x, t = np.array([0.0, 0.0]), np.array([1.0, 0.0])
        >>> round(float(losses.binary_cross_entropy(x, t)), 6)
        0.693147
        >>> p = np.array([0.5, 0.0, 0.0])
        >>> np.round(losses.binary_cross_entropy(p, np.array([1.0, 0.0, 1.0]), from_logits=False, reduction="none"), 6).tolist()
        [0.693147, 0.0, 100.0]
    """
    name = "binary_cross_entropy"  # reduction: checked where it is applied (fused, reduce)
    if not isinstance(from_logits, bool):
        raise TypeError(f"{name}: from_logits must be True or False, got {from_logits!r}")
    B, logits, target = _binary_pair(name, logits, target, others=_arrays(pos_weight))
    xp = B.xp
    if pos_weight is not None:
        if not is_array(pos_weight):
            check_range(name, "pos_weight", pos_weight, 0.0)
            pos_weight = B.asarray(pos_weight, logits)
        else:
            (pos_weight,) = floating(B, name, ("pos_weight",), pos_weight)
            if pos_weight.dtype != logits.dtype:
                pos_weight = xp.astype(pos_weight, logits.dtype)
            check_value_range(B, name, "pos_weight", pos_weight, 0.0, math.inf, ">= 0")
        shape = broadcast_shapes(name, logits=tuple(logits.shape), pos_weight=tuple(pos_weight.shape))
        if shape != tuple(logits.shape):
            raise ValueError(
                f"{name}: pos_weight of shape {tuple(pos_weight.shape)} would enlarge the logits of "
                f"shape {tuple(logits.shape)}"
            )
    if from_logits:
        out = fused(B, "bce_with_logits", logits, target, reduction=reduction, weight=weight, name=name,
                    param=pos_weight)
        if out is not None:
            return out
        values = B.bce_with_logits(logits, target, pos_weight)
    else:
        check_value_range(B, name, "logits", logits, 0.0, 1.0, "probabilities in [0, 1] when from_logits=False")
        values = _bce_probabilities(B, logits, target, pos_weight)
    return reduce(B, values, reduction, weight, name)


# -- focal losses ----------------------------------------------------------------------------------
@loss(family="D2b", example=catalog.binary_logits, differentiable=("logits",),
      summary="sigmoid focal loss (RetinaNet)")
def sigmoid_focal(logits, target, *, alpha=0.25, gamma=2.0, reduction="mean", weight=None):
    """Sigmoid focal loss -α_t·(1 - p_t)^γ·log p_t (Lin et al. 2017), in log space.

    p = σ(x), p_t = p·t + (1 - p)(1 - t), α_t = α·t + (1 - α)(1 - t); -log p_t is the binary
    cross entropy on logits. The modulating factor is exp(γ·log(1 - p_t)) with
    log(1 - p_t) = logaddexp(log σ(x) + log(1 - t), log σ(-x) + log t), finite for any
    logit, so saturated logits (±1e4 in float32) and γ < 1 give finite values and gradients.
    Soft targets t ∈ [0, 1] are accepted.

    Args:
        logits: floating logits x.
        target: targets t ∈ [0, 1] (checked on eager host arrays) of the same shape.
        alpha: α ∈ [0, 1], the weight of the positive class (default 0.25); None or a
            negative number disables the α_t weighting (torchvision's ``alpha=-1``).
        gamma: focusing parameter γ ≥ 0 (default 2.0); γ = 0 is the (α-weighted) binary
            cross entropy.
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the logits' shape for ``reduction="none"``.

    References:
        Lin et al. 2017, "Focal Loss for Dense Object Detection". Agrees with
        ``torchvision.ops.sigmoid_focal_loss`` and ``optax.losses.sigmoid_focal_loss``.

    Example:
        >>> import numpy as np, losses
        >>> round(float(losses.sigmoid_focal(np.array([0.0]), np.array([1.0]))), 7)
        0.0433217
    """
    name = "sigmoid_focal"
    check_reduction(name, reduction)
    if alpha is not None:
        check_range(name, "alpha", alpha, hi=1.0)
        if alpha < 0:
            alpha = None
    check_range(name, "gamma", gamma, 0.0)
    B, logits, target = _binary_pair(name, logits, target)
    xp = B.xp
    values = B.bce_with_logits(logits, target)
    if gamma >= 1:
        # (1 - p_t)^γ from σ directly: both terms are ≥ 0 and x^γ has a finite slope at 0 for
        # γ ≥ 1; a third of the work of the log-space form, which γ < 1 needs (slope at 0)
        p = B.sigmoid(logits)
        one_minus_pt = p * (1.0 - target) + target * (1.0 - p)
        values = values * (one_minus_pt * one_minus_pt if gamma == 2 else one_minus_pt**gamma)
    elif gamma != 0:
        log_p, log_q = B.log_sigmoid(logits), B.log_sigmoid(-logits)
        has = target > 0
        log_t = xp.where(has, xp.log(xp.where(has, target, xp.ones_like(target))), -xp.inf)
        one_minus = 1.0 - target
        has = one_minus > 0
        log_1mt = xp.where(has, xp.log(xp.where(has, one_minus, xp.ones_like(one_minus))), -xp.inf)
        log_1m_pt = xp.logaddexp(log_p + log_1mt, log_q + log_t)
        values = values * xp.exp(gamma * log_1m_pt)
    if alpha is not None:
        values = (alpha * target + (1.0 - alpha) * (1.0 - target)) * values
    return reduce(B, values, reduction, weight, name)


@loss(family="D2b", example=lambda rng: catalog.class_logits(rng, alpha=rng.uniform(0.2, 1.0, size=5)),
      differentiable=("logits",), summary="softmax focal loss with per-class alpha")
def softmax_focal(logits, labels, *, axis=-1, alpha=None, gamma=2.0, reduction="mean", weight=None):
    """Softmax focal loss -α_y·(1 - p_y)^γ·log p_y, p = softmax(logits) along ``axis``.

    -log p_y is the fused softmax cross entropy and 1 - p_y = -expm1(log p_y), so nothing is
    one-hot encoded and confident predictions lose no precision. Where p_y rounds to 1 the
    loss and its gradient are 0 (also for γ < 1, whose factor has an infinite slope there).

    Args:
        logits: floating array with the classes along ``axis``.
        labels: integer class indices in [0, K) (checked on eager host arrays) of the logits'
            shape without ``axis``.
        axis: the class axis (default -1).
        alpha: None (default, no weighting), a scalar α ≥ 0 (one factor for every class), or
            per-class weights ``(K,)`` ≥ 0 (an array or sequence; checked on eager host arrays).
        gamma: focusing parameter γ ≥ 0 (default 2.0); γ = 0 is the (weighted) cross entropy.
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the batch shape for ``reduction="none"``.

    References:
        Lin et al. 2017. Agrees with ``kornia.losses.focal_loss`` summed over its class axis:
        per-class α is kornia's ``weight`` with ``alpha=None``; kornia's scalar ``alpha=a`` is
        the per-class α = (1 - a, a, ..., a) here (kornia treats class 0 as background).

    Example:
        >>> import numpy as np, losses
        >>> round(float(losses.softmax_focal(np.array([[0.0, 0.0]]), np.array([0]))), 6)
        0.173287
    """
    name = "softmax_focal"
    check_reduction(name, reduction)
    check_range(name, "gamma", gamma, 0.0)
    if isinstance(alpha, numbers.Real):
        check_range(name, "alpha", alpha, 0.0)
    elif alpha is not None and not hasattr(alpha, "shape") and not isinstance(alpha, (list, tuple)):
        raise TypeError(f"{name}: alpha must be None, a number or per-class weights, got {alpha!r}")
    B, logits, labels, axis, _ = _class_logits(name, logits, labels, axis, allow_probabilities=False,
                                               others=_arrays(alpha))
    xp = B.xp
    nll = B.softmax_cross_entropy(logits, labels, axis=axis)
    values = nll
    if gamma != 0:
        base = -xp.expm1(-nll)  # 1 - p_y
        pos = base > 0
        factor = xp.where(pos, xp.where(pos, base, xp.ones_like(base)) ** float(gamma), 0.0)
        values = factor * nll
    if alpha is None:
        pass
    elif isinstance(alpha, numbers.Real):
        values = float(alpha) * values
    elif hasattr(alpha, "shape") and alpha.ndim == 0:  # a scalar array (possibly traced)
        (alpha,) = floating(B, name, ("alpha",), alpha)
        check_value_range(B, name, "alpha", alpha, 0.0, math.inf, ">= 0")
        values = xp.astype(alpha, values.dtype) * values
    else:
        alpha = _per_class(B, name, "alpha", alpha, logits, logits.shape[axis])
        check_value_range(B, name, "alpha", alpha, 0.0, math.inf, ">= 0")
        values = _gather(B, alpha, labels) * values
    return reduce(B, values, reduction, weight, name)


# -- gradient harmonizing --------------------------------------------------------------------------
@loss(family="D2b", example=catalog.ghm_logits, differentiable=("logits",), stateful=True,
      summary="gradient harmonizing BCE (GHM-C); returns (loss, state)")
def ghm_c(logits, target, *, bins=10, momentum=0.0, state=None, reduction="mean", weight=None):
    """Gradient harmonizing binary cross entropy (GHM-C, Li et al. 2019); returns ``(loss, state)``.

    The gradient norm g = |σ(x) - t| (no gradient flows through it) is histogrammed into
    ``bins`` bins with edges linspace(0, 1, bins + 1), the last edge raised by 1e-6. Each item's
    BCE is weighted by N / (count of its bin · number of non-empty bins), N the number of items.
    With ``momentum`` > 0 each non-empty bin's accumulated count becomes
    momentum·acc + (1 - momentum)·count and replaces the count in the weight; empty bins keep
    theirs (accumulated counts start at 0, as mmdet's). ``momentum=1`` freezes the counts of a
    ``state`` from earlier calls, and needs one: a bin whose frozen count is 0 weighs 0 (mmdet
    divides by 0 there). The unreduced loss is w·BCE, so "mean" is Σ w·BCE / N, mmdet's loss.
    The histogram is vectorised (g compared with every edge at once), so the loss runs under
    ``jax.jit`` and ``torch.compile``.

    ``weight`` plays the part of mmdet's ``label_weight``: items whose weight is 0 are left
    out of the histogram and of N, and the reduction then applies ``weight`` as in every loss
    (Σ v·w·BCE / Σ v for "mean"), so 0/1 weights give exactly mmdet's GHMC with that
    ``label_weight``.

    Args:
        logits: floating logits x.
        target: targets t ∈ [0, 1] (checked on eager host arrays) of the same shape.
        bins: number of bins, ≥ 1 (default 10).
        momentum: momentum of the accumulated counts, in [0, 1] (default 0.0: this call's
            counts; 1: the counts of ``state``, unchanged).
        state: the previous call's state, ``{"acc_sum": (bins,)}``, or None to start at 0.
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape (see above).

    Returns:
        ``(loss, state)``: the loss (the logits' shape for ``reduction="none"``) and
        ``{"acc_sum": (bins,)}``, the accumulated count of every bin.

    References:
        Li, Liu & Wang 2019, "Gradient Harmonized Single-stage Detector". Agrees with mmdet's
        ``GHMC`` (``use_sigmoid=True``).

    Example:
        >>> import numpy as np, losses
        >>> loss, state = losses.ghm_c(np.array([0.0, 0.0, 10.0]), np.array([1.0, 0.0, 1.0]))
        >>> round(float(loss), 6), state["acc_sum"].tolist()
        (0.346596, [1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0])
    """
    name = "ghm_c"
    check_reduction(name, reduction)
    check_int(name, "bins", bins)
    check_range(name, "momentum", momentum, 0.0, 1.0)
    if momentum == 1.0 and state is None:
        raise ValueError(f"{name}: momentum=1 keeps the accumulated counts as they are, and without a state "
                         "they are all 0 (every weight 0): pass the state of earlier calls")
    B, logits, target = _binary_pair(name, logits, target, others=_arrays(weight))
    xp = B.xp
    dtype, device, shape = logits.dtype, B.device(logits), tuple(logits.shape)
    if state is None:
        acc = xp.zeros((bins,), dtype=dtype, device=device)
    else:
        if not isinstance(state, dict) or "acc_sum" not in state:
            raise ValueError(f"{name}: state must be None or the dict {{'acc_sum': ...}} a previous call returned")
        acc = state["acc_sum"]
        if tuple(acc.shape) != (bins,):
            raise ValueError(f"{name}: state['acc_sum'] has shape {tuple(acc.shape)}, expected ({bins},)")
        if acc.dtype != dtype:
            acc = xp.astype(acc, dtype)

    g = B.stop_gradient(B.abs(B.sigmoid(logits) - target))
    idx = xp.arange(bins + 1, dtype=dtype, device=device)
    edges = idx / bins
    edges = xp.where(idx == bins, edges + 1e-6, edges)
    at_or_above = xp.reshape(g, (-1, 1)) >= edges  # (n, bins + 1): g ≥ edge
    valid = None
    if weight is not None:
        w = weight if is_array(weight) else B.asarray(weight, logits)
        if broadcast_shapes(name, losses=shape, weight=tuple(w.shape)) != shape:
            raise ValueError(f"{name}: weight of shape {tuple(w.shape)} would enlarge the loss of shape {shape}")
        valid = xp.reshape(xp.broadcast_to(w > 0, shape), (-1, 1))
        n_items = xp.sum(xp.astype(valid, dtype))
        counted = at_or_above & valid
    else:
        n_items = float(max(math.prod(shape), 1))
        counted = at_or_above
    # items with edge_b ≤ g: a prefix of the edges per item; counts per bin by differences
    cumulative = xp.astype(xp.sum(xp.astype(counted, xp.int32), axis=0), dtype)
    counts = cumulative[:-1] - cumulative[1:]
    nonempty = counts > 0
    acc = xp.where(nonempty, momentum * acc + (1.0 - momentum) * counts, acc)
    n_bins = xp.sum(xp.astype(nonempty, dtype))
    total = xp.clip(n_items, min=1.0) if is_array(n_items) else n_items
    denominator = acc * n_bins
    usable = nonempty & (denominator > 0)
    per_bin = xp.where(usable, total / xp.where(usable, denominator, xp.ones_like(denominator)), 0.0)
    which = xp.clip(xp.sum(xp.astype(at_or_above, xp.int32), axis=1) - 1, min=0, max=bins - 1)
    per_item = xp.take(per_bin, which, axis=0)
    if valid is not None:
        per_item = xp.where(valid[:, 0], per_item, 0.0)
    per_item = B.stop_gradient(xp.reshape(per_item, shape))
    values = per_item * B.bce_with_logits(logits, target)
    # an all-zero weight gives 0 (mmdet's max(#valid, 1)), not 0/0
    return _safe_mean(B, values, xp.ones_like(values), reduction, weight, name), {"acc_sum": acc}


# -- PolyLoss --------------------------------------------------------------------------------------
@loss(family="D2b", example=catalog.class_logits, differentiable=("logits",),
      summary="Poly-1 cross entropy: CE + epsilon(1 - pt)")
def poly1_cross_entropy(logits, labels, *, axis=-1, epsilon=2.0, label_smoothing=0.0,
                        reduction="mean", weight=None):
    """Poly-1 loss CE + ε·(1 - p_t) (Leng et al. 2022), p_t the target's softmax probability.

    With label smoothing s the target is q = (1 - s)·onehot(y) + s/K, CE = -Σ_k q_k log p_k and
    p_t = Σ_k q_k p_k, as in the paper's code; for integer labels p_t = (1 - s)·p_y + s/K and
    1 - p_y is computed as -expm1(log p_y). ``labels`` may instead be probabilities of the
    logits' shape (optax's form), with 1 - p_t = Σ_k q_k·(1 - p_k).

    Args:
        logits: floating array with the classes along ``axis``.
        labels: integer class indices in [0, K) (checked on eager host arrays) of the logits'
            shape without ``axis``, or floating probabilities of the logits' shape.
        axis: the class axis (default -1).
        epsilon: ε ≥ -1, the coefficient of the first polynomial term (default 2.0, the
            paper's ImageNet value; ε ≥ -1 keeps the loss decreasing in p_t).
        label_smoothing: s ∈ [0, 1] (default 0.0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the batch shape for ``reduction="none"``.

    References:
        Leng et al. 2022, "PolyLoss: A Polynomial Expansion Perspective of Classification Loss
        Functions". Agrees with ``optax.losses.poly_loss_cross_entropy`` (on one-hot or smoothed
        labels).

    Example:
        >>> import numpy as np, losses
        >>> round(float(losses.poly1_cross_entropy(np.array([[0.0, 0.0]]), np.array([0]))), 6)
        1.693147
    """
    name = "poly1_cross_entropy"
    check_reduction(name, reduction)
    check_range(name, "epsilon", epsilon, -1.0)
    label_smoothing = _check_smoothing(name, label_smoothing)
    B, logits, labels, axis, probabilistic = _class_logits(name, logits, labels, axis)
    xp = B.xp
    k = logits.shape[axis]
    if probabilistic:
        log_p = B.log_softmax(logits, axis=axis)
        q = labels if label_smoothing == 0.0 else (1.0 - label_smoothing) * labels + label_smoothing / k
        ce = -xp.sum(q * log_p, axis=axis)
        one_minus_pt = xp.sum(q * -xp.expm1(log_p), axis=axis)
    else:
        if label_smoothing == 0.0:
            ce = B.softmax_cross_entropy(logits, labels, axis=axis)
            one_minus_pt = -xp.expm1(-ce)
        else:
            log_p = B.log_softmax(logits, axis=axis)
            nll = -B.gather_class(log_p, labels, axis=axis)
            ce = (1.0 - label_smoothing) * nll - (label_smoothing / k) * xp.sum(log_p, axis=axis)
            one_minus_pt = (1.0 - label_smoothing) * -xp.expm1(-nll) + label_smoothing * (1.0 - 1.0 / k)
    return reduce(B, ce + float(epsilon) * one_minus_pt, reduction, weight, name)


# -- KL divergence ---------------------------------------------------------------------------------
@loss(family="D2b", example=catalog.distributions, differentiable=("p", "q"),
      summary="Kullback-Leibler divergence KL(p||q) over axis")
def kl_divergence(p, q, *, axis=-1, log_input=False, reduction="mean", weight=None):
    """Kullback-Leibler divergence KL(p‖q) = Σ p·log(p/q) over ``axis``, with 0·log 0 = 0.

    Terms with p = 0 are 0 with a gradient of 0 (also where q = 0); p > 0 with q = 0 gives
    +inf, as ``scipy.special.rel_entr``. With ``log_input=True``, p and q are
    log-probabilities and the terms are e^p·(p - q), with e^(-inf)·(...) = 0. The inputs need
    not be normalised.

    Args:
        p, q: floating arrays that broadcast to one shape; non-negative (checked on eager host
            arrays) unless ``log_input``.
        axis: the axis summed over (default -1).
        log_input: whether p and q are given as log-probabilities (default False).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the broadcast shape without ``axis`` for ``reduction="none"``.

    References:
        Kullback & Leibler 1951. Agrees with ``scipy.special.rel_entr(p, q)`` summed over
        ``axis`` and ``torch.nn.functional.kl_div(log q, p, reduction="none")`` summed over
        ``axis`` (``log_target=True`` for ``log_input``).

    Example:
        >>> import numpy as np, losses
        >>> round(float(losses.kl_divergence(np.array([0.5, 0.5]), np.array([0.25, 0.75]))), 6)
        0.143841
    """
    name = "kl_divergence"  # reduction: checked where it is applied (fused, reduce)
    if not isinstance(log_input, bool):
        raise TypeError(f"{name}: log_input must be True or False, got {log_input!r}")
    B = backend_of(name, ("p", "q"), p, q)
    xp = B.xp
    shape = tuple(p.shape) if p.shape == q.shape else broadcast_shapes(name, p=tuple(p.shape), q=tuple(q.shape))
    p, q = floating(B, name, ("p", "q"), p, q)
    axis = check_axis(name, "axis", axis, len(shape))
    if log_input:
        out = fused(B, "kl_log", p, q, reduction=reduction, weight=weight, name=name, param=axis)
        if out is not None:
            return out
        return reduce(B, B.kl_log_sum(p, q, axis), reduction, weight, name)
    check_value_range(B, name, "p", p, 0.0, math.inf, "non-negative (probabilities)")
    check_value_range(B, name, "q", q, 0.0, math.inf, "non-negative (probabilities)")
    live = p != 0  # NaN stays NaN
    ps = xp.where(live, p, xp.ones_like(p))
    qs = xp.where(live, q, xp.ones_like(q))
    terms = xp.where(live, ps * (xp.log(ps) - xp.log(qs)), 0.0)
    if tuple(terms.shape) != shape:
        terms = xp.broadcast_to(terms, shape)
    return reduce(B, xp.sum(terms, axis=axis), reduction, weight, name)
