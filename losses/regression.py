"""D1a regression losses: point-wise functions of the residual r = pred - target.

``pred`` and ``target`` broadcast to one shape, which is the unreduced shape (``rmse`` and
``rmsle`` reduce over ``axis`` first).
"""

from __future__ import annotations

import math

from . import catalog
from ._api import (
    check_axes,
    check_int,
    check_range,
    check_values,
    fused,
    is_array,
    loss,
    pair,
    reduce,
    same_framework,
)

__all__ = [
    "mae",
    "mse",
    "rmse",
    "rmsle",
    "log_cosh",
    "huber",
    "smooth_l1",
    "quantile",
    "balanced_l1",
    "dynamic_smooth_l1",
    "self_adjusting_smooth_l1",
]


def _smooth_l1(B, r, beta):
    """½r²/β where |r| < β, else |r| - ½β; β may be an array, β = 0 gives |r| (finite gradient).

    The square is of 0 where |r| ≥ β: the gradient of the branch not taken would be 0·∞ at
    r = ±inf (NaN, where ``F.smooth_l1_loss`` gives ±1)."""
    xp = B.xp
    a = B.abs(r)
    safe_beta = xp.where(beta > 0, beta, 1.0) if is_array(beta) else (beta or 1.0)
    inside = a < beta
    r = xp.where(inside, r, 0.0)
    return xp.where(inside, 0.5 * r * r / safe_beta, a - 0.5 * beta)


@loss(family="D1a", example=catalog.regression_pair, summary="mean absolute error |r|")
def mae(pred, target, *, reduction="mean", weight=None):
    """Absolute error |pred - target| (L1 loss).

    The derivative at r = 0 is 0 on every backend.

    Args:
        pred, target: floating arrays that broadcast to one shape.
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the broadcast shape for ``reduction="none"``.

    References:
        Agrees with ``torch.nn.functional.l1_loss``.

    Example:
        >>> import numpy as np, losses
        >>> float(losses.mae(np.array([1.0, 2.0]), np.array([0.0, 4.0])))
        1.5
    """
    B, pred, target = pair("mae", pred, target)
    out = fused(B, "mae", pred, target, reduction=reduction, weight=weight, name="mae", param=None)
    if out is not None:
        return out
    return reduce(B, B.abs(pred - target), reduction, weight, "mae")


@loss(family="D1a", example=catalog.regression_pair, summary="mean squared error r²")
def mse(pred, target, *, reduction="mean", weight=None):
    """Squared error (pred - target)² (L2 loss).

    Args:
        pred, target: floating arrays that broadcast to one shape.
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the broadcast shape for ``reduction="none"``.

    References:
        Agrees with ``torch.nn.functional.mse_loss`` and ``optax.losses.squared_error``.

    Example:
        >>> import numpy as np, losses
        >>> float(losses.mse(np.array([1.0, 2.0]), np.array([0.0, 4.0])))
        2.5
    """
    B, pred, target = pair("mse", pred, target)
    out = fused(B, "mse", pred, target, reduction=reduction, weight=weight, name="mse", param=None)
    if out is not None:
        return out
    r = pred - target
    return reduce(B, r * r, reduction, weight, "mse")


def _root_mean(B, sq, axis, name):
    axes = check_axes(name, "axis", axis, sq.ndim)
    if axes == ():
        return B.safe_sqrt(sq)
    return B.safe_sqrt(B.xp.mean(sq) if axes is None else B.xp.mean(sq, axis=axes))


@loss(family="D1a", example=catalog.regression_pair, summary="root mean squared error over axis")
def rmse(pred, target, *, axis=None, reduction="mean", weight=None):
    """Root mean squared error sqrt(mean over ``axis`` of r²).

    The square root has gradient 0 (not NaN) when every residual is 0.

    Args:
        pred, target: floating arrays that broadcast to one shape.
        axis: axis or tuple of axes averaged under the root; None (default) = all axes,
            giving a scalar before ``reduction``.
        reduction: "mean" (default), "sum" or "none" over what remains.
        weight: optional weights broadcastable to the shape that remains.

    Returns:
        The reduced loss, or the broadcast shape without ``axis`` for ``reduction="none"``.

    References:
        Agrees with ``sklearn.metrics.root_mean_squared_error`` (per output with axis=0).

    Example:
        >>> import numpy as np, losses
        >>> float(losses.rmse(np.array([1.0, 1.0]), np.array([4.0, -3.0])))
        3.5355339059327378
    """
    B, pred, target = pair("rmse", pred, target)
    r = pred - target
    return reduce(B, _root_mean(B, r * r, axis, "rmse"), reduction, weight, "rmse")


@loss(family="D1a", example=catalog.positive_pair, summary="root mean squared log error")
def rmsle(pred, target, *, axis=None, reduction="mean", weight=None):
    """Root mean squared logarithmic error sqrt(mean over ``axis`` of (log1p(pred) - log1p(target))²).

    Args:
        pred, target: floating arrays > -1 (checked on eager host arrays) that broadcast.
        axis: axis or tuple of axes under the root; None (default) = all axes.
        reduction: "mean" (default), "sum" or "none" over what remains.
        weight: optional weights broadcastable to the shape that remains.

    Returns:
        The reduced loss, or the broadcast shape without ``axis`` for ``reduction="none"``.

    References:
        Agrees with ``sklearn.metrics.root_mean_squared_log_error``.

    Example:
        >>> import numpy as np, losses
        >>> round(float(losses.rmsle(np.array([0.0, np.e - 1]), np.array([0.0, 0.0]))), 6)
        0.707107
    """
    B, pred, target = pair("rmsle", pred, target)
    check_values(B, "rmsle", "pred", pred, lambda v: v > -1, "> -1")
    check_values(B, "rmsle", "target", target, lambda v: v > -1, "> -1")
    d = B.xp.log1p(pred) - B.xp.log1p(target)
    return reduce(B, _root_mean(B, d * d, axis, "rmsle"), reduction, weight, "rmsle")


@loss(family="D1a", example=catalog.regression_pair, summary="log(cosh r), overflow-free")
def log_cosh(pred, target, *, reduction="mean", weight=None):
    """log(cosh(pred - target)), computed as |r| + softplus(-2|r|) - log 2 (no overflow).

    Quadratic near 0 and linear in the tails; finite for |r| = 1e4 in float32.

    Args:
        pred, target: floating arrays that broadcast to one shape.
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the broadcast shape for ``reduction="none"``.

    References:
        Agrees with ``optax.losses.log_cosh`` and ``keras.losses.LogCosh``.

    Example:
        >>> import numpy as np, losses
        >>> round(float(losses.log_cosh(np.array([1.0]), np.array([0.0]))), 6)
        0.433781
    """
    B, pred, target = pair("log_cosh", pred, target)
    return reduce(B, B.log_cosh(pred - target), reduction, weight, "log_cosh")


@loss(family="D1a", example=catalog.regression_pair, summary="Huber: quadratic below delta, linear above")
def huber(pred, target, *, delta=1.0, reduction="mean", weight=None):
    """Huber loss: ½r² where |r| ≤ δ, else δ(|r| - ½δ).

    Args:
        pred, target: floating arrays that broadcast to one shape.
        delta: δ > 0, where the loss turns linear (default 1.0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the broadcast shape for ``reduction="none"``.

    References:
        Huber 1964. Agrees with ``torch.nn.functional.huber_loss`` and ``optax.losses.huber_loss``.

    Example:
        >>> import numpy as np, losses
        >>> float(losses.huber(np.array([0.5, 3.0]), np.array([0.0, 0.0]), reduction="sum"))
        2.625
    """
    check_range("huber", "delta", delta, 0.0, lo_open=True)
    delta = float(delta)
    B, pred, target = pair("huber", pred, target)
    out = fused(B, "huber", pred, target, reduction=reduction, weight=weight, name="huber", param=delta)
    if out is not None:
        return out
    return reduce(B, B.huber(pred - target, delta), reduction, weight, "huber")


@loss(family="D1a", example=catalog.regression_pair, summary="smooth L1: quadratic below beta")
def smooth_l1(pred, target, *, beta=1.0, reduction="mean", weight=None):
    """Smooth L1 loss: ½r²/β where |r| < β, else |r| - ½β.

    ``beta=0`` is the L1 loss, with finite gradients (no division by zero).

    Args:
        pred, target: floating arrays that broadcast to one shape.
        beta: β ≥ 0 (default 1.0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the broadcast shape for ``reduction="none"``.

    References:
        Girshick 2015 (Fast R-CNN). Agrees with ``torch.nn.functional.smooth_l1_loss``.

    Example:
        >>> import numpy as np, losses
        >>> float(losses.smooth_l1(np.array([0.5, 3.0]), np.array([0.0, 0.0]), reduction="sum"))
        2.625
    """
    check_range("smooth_l1", "beta", beta, 0.0)
    beta = float(beta)
    B, pred, target = pair("smooth_l1", pred, target)
    out = fused(B, "smooth_l1", pred, target, reduction=reduction, weight=weight, name="smooth_l1", param=beta)
    if out is not None:
        return out
    return reduce(B, _smooth_l1(B, pred - target, beta), reduction, weight, "smooth_l1")


@loss(family="D1a", example=catalog.regression_pair, summary="pinball (quantile) loss")
def quantile(pred, target, *, tau=0.5, reduction="mean", weight=None):
    """Pinball loss max(τe, (τ - 1)e) with e = target - pred.

    The derivative at e = 0 is 0 (the minimum), as for ``mae``.

    Args:
        pred, target: floating arrays that broadcast to one shape.
        tau: the quantile τ ∈ [0, 1] (default 0.5, half the absolute error).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the broadcast shape for ``reduction="none"``.

    References:
        Koenker & Bassett 1978. Agrees with ``sklearn.metrics.mean_pinball_loss(alpha=tau)``.

    Example:
        >>> import numpy as np, losses
        >>> float(losses.quantile(np.array([0.0, 0.0]), np.array([1.0, -1.0]), tau=0.9, reduction="none")[1])
        0.09999999999999998
    """
    check_range("quantile", "tau", tau, 0.0, 1.0)
    B, pred, target = pair("quantile", pred, target)
    xp = B.xp
    e = target - pred
    values = xp.where(e > 0, tau * e, xp.where(e < 0, (tau - 1.0) * e, e * 0.0))
    return reduce(B, values, reduction, weight, "quantile")


@loss(family="D1a", example=catalog.regression_pair, summary="balanced L1 (Libra R-CNN)")
def balanced_l1(pred, target, *, alpha=0.5, gamma=1.5, beta=1.0, reduction="mean", weight=None):
    """Balanced L1 loss, which promotes the gradients of inliers (|r| < β).

    With b = e^(γ/α) - 1 and x = |r|: α/b·(bx + 1)·ln(bx/β + 1) - αx where x < β,
    else γx + γ/b - αβ. The two pieces meet with equal value and slope at x = β.

    Args:
        pred, target: floating arrays that broadcast to one shape.
        alpha: α > 0 (default 0.5). gamma: γ > 0 (default 1.5). beta: β > 0 (default 1.0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the broadcast shape for ``reduction="none"``.

    References:
        Pang et al. 2019 (Libra R-CNN). Agrees with mmdet's ``balanced_l1_loss``.

    Example:
        >>> import numpy as np, losses
        >>> round(float(losses.balanced_l1(np.array([2.0]), np.array([0.0]))), 6)
        2.578594
    """
    check_range("balanced_l1", "alpha", alpha, 0.0, lo_open=True)
    check_range("balanced_l1", "gamma", gamma, 0.0, lo_open=True)
    check_range("balanced_l1", "beta", beta, 0.0, lo_open=True)
    try:
        b = math.exp(gamma / alpha) - 1.0
    except OverflowError:
        raise ValueError(f"balanced_l1: gamma / alpha = {gamma / alpha:g} is too large (e^(gamma/alpha) overflows)") from None
    B, pred, target = pair("balanced_l1", pred, target)
    xp = B.xp
    x = B.abs(pred - target)
    inlier = alpha / b * (b * x + 1.0) * xp.log1p(b * x / beta) - alpha * x
    outlier = gamma * x + (gamma / b - alpha * beta)
    return reduce(B, xp.where(x < beta, inlier, outlier), reduction, weight, "balanced_l1")


def _state(B, name, state, **shapes):
    """The state's arrays in the order of ``shapes``, checked for keys, framework and shape."""
    if not isinstance(state, dict) or set(state) != set(shapes):
        raise ValueError(f"{name}: state must be a dict with keys {sorted(shapes)} (or None to start)")
    out = []
    for key, shape in shapes.items():
        same_framework(B, name, **{f"state[{key!r}]": state[key]})
        if tuple(state[key].shape) != shape:
            raise ValueError(
                f"{name}: state[{key!r}] has shape {tuple(state[key].shape)}, expected {shape} "
                "(was the state made with other arguments?)"
            )
        out.append(state[key])
    return out


@loss(family="D1a", example=lambda rng: catalog.regression_pair(rng, k=3, interval=2), stateful=True,
      summary="smooth L1 with Dynamic R-CNN's beta schedule; returns (loss, state)")
def dynamic_smooth_l1(pred, target, *, state=None, k=10, interval=100, initial_beta=1.0,
                      reduction="mean", weight=None):
    """Smooth L1 with β adapted to the regression targets (Dynamic R-CNN); returns ``(loss, state)``.

    Each call computes this call's loss with the current β, then records the k-th smallest
    (k clipped to the number of items) of the per-item mean |target| over the last axis.
    After the ``interval``-th recorded call, β ← min(initial_beta, median of the records)
    (an even count takes the mean of the two middle values) and the records are cleared.
    A 1-D target counts each element as an item. The state is a dict of arrays
    (``beta``, ``records``, ``count``), so the function is pure and runs under ``jax.jit``.

    Args:
        pred, target: floating arrays that broadcast to one shape.
        state: the previous call's state, or None to start with β = ``initial_beta``.
        k: which order statistic is recorded, ≥ 1 (default 10).
        interval: calls between β updates, ≥ 1 (default 100).
        initial_beta: the first β and the upper bound of every later one, ≥ 0 (default 1.0).
        reduction: "mean" (default), "sum" or "none". weight: optional per-item weights.

    Returns:
        ``(loss, state)``: the smooth L1 loss of this call and the updated state.

    References:
        Zhang et al. 2020 (Dynamic R-CNN). Agrees with mmdet's ``DynamicRoIHead`` β update.

    Example:
        >>> import numpy as np, losses
        >>> loss, state = losses.dynamic_smooth_l1(np.zeros((4, 2)), np.ones((4, 2)), k=2, interval=1)
        >>> float(loss), float(state["beta"])
        (0.5, 1.0)
    """
    name = "dynamic_smooth_l1"
    k = check_int(name, "k", k)
    interval = check_int(name, "interval", interval)
    check_range(name, "initial_beta", initial_beta, 0.0)
    B, pred, target = pair(name, pred, target)
    xp = B.xp
    if state is None:
        state = {
            "beta": B.asarray(initial_beta, pred),
            "records": xp.zeros((interval,), dtype=pred.dtype, device=B.device(pred)),
            "count": B.asarray(0, pred, xp.int32),
        }
    beta, records, count = _state(B, name, state, beta=(), records=(interval,), count=())
    if target.ndim and target.shape[0] == 0:
        raise ValueError(f"{name}: the batch is empty (no item to take the k-th smallest of)")
    value = reduce(B, _smooth_l1(B, pred - target, beta), reduction, weight, name)

    t = B.stop_gradient(B.abs(target))
    per_item = xp.mean(t, axis=-1) if t.ndim > 1 else t
    per_item = xp.reshape(per_item, (-1,))
    kth = B.sort(per_item)[min(k, per_item.shape[0]) - 1]
    slot = xp.arange(interval, dtype=count.dtype, device=B.device(records)) == count
    records = xp.where(slot, xp.astype(kth, records.dtype), records)
    count = count + 1
    full = count >= interval
    beta = xp.where(full, xp.clip(B.median(records), max=initial_beta), beta)
    count = xp.where(full, xp.zeros_like(count), count)
    records = xp.where(full, xp.zeros_like(records), records)
    return value, {"beta": beta, "records": records, "count": count}


@loss(family="D1a", example=lambda rng: catalog.regression_pair(rng, shape=(16, 4)), stateful=True,
      summary="smooth L1 with RetinaMask's running-statistics beta; returns (loss, state)")
def self_adjusting_smooth_l1(pred, target, *, state=None, momentum=0.1, beta_max=1 / 9,
                             reduction="mean", weight=None):
    """Smooth L1 whose β per feature follows running statistics of |r| (RetinaMask); returns ``(loss, state)``.

    Per feature of the last axis, the running mean μ and running unbiased variance σ² of |r|
    over every other axis are updated with ``momentum`` (μ starts at ``beta_max``, σ² at 0;
    no update while fewer than two items make the variance undefined). Then
    β = clip(μ - σ², 1e-3, beta_max), held constant in the gradient, and the loss is
    smooth L1 with that β.

    Args:
        pred, target: floating arrays that broadcast to a shape (..., F), at least 1-D.
        state: the previous call's state (``running_mean``, ``running_var``, each (F,)), or None.
        momentum: weight of the new batch statistics, in [0, 1] (default 0.1).
        beta_max: the upper bound of β, > 0 (default 1/9).
        reduction: "mean" (default), "sum" or "none". weight: optional per-item weights.

    Returns:
        ``(loss, state)``.

    References:
        Fu et al. 2019 (RetinaMask). Agrees with RetinaMask's ``AdjustSmoothL1Loss``.

    Example:
        >>> import numpy as np, losses
        >>> loss, state = losses.self_adjusting_smooth_l1(np.zeros((4, 2)), np.ones((4, 2)))
        >>> round(float(loss), 6), state["running_mean"].tolist()
        (0.944444, [0.2, 0.2])
    """
    name = "self_adjusting_smooth_l1"
    check_range(name, "momentum", momentum, 0.0, 1.0)
    check_range(name, "beta_max", beta_max, 0.0, lo_open=True)
    B, pred, target = pair(name, pred, target)
    xp = B.xp
    r = pred - target
    if r.ndim < 1:
        raise ValueError(f"{name}: pred and target must be at least 1-D (..., F), got a scalar")
    features = r.shape[-1]
    if state is None:
        state = {
            "running_mean": xp.full((features,), beta_max, dtype=r.dtype, device=B.device(r)),
            "running_var": xp.zeros((features,), dtype=r.dtype, device=B.device(r)),
        }
    mean, var = _state(B, name, state, running_mean=(features,), running_var=(features,))
    a = xp.reshape(B.stop_gradient(B.abs(r)), (-1, features))
    n = a.shape[0]
    if n > 1:
        batch_mean = xp.mean(a, axis=0)
        centred = a - batch_mean
        batch_var = xp.sum(centred * centred, axis=0) / (n - 1)
        # a batch with a NaN or infinity leaves the statistics as they are (RetinaMask does too)
        ok = xp.all(xp.isfinite(batch_var))
        mean = xp.where(ok, (1.0 - momentum) * mean + momentum * batch_mean, mean)
        var = xp.where(ok, (1.0 - momentum) * var + momentum * batch_var, var)
    beta = B.stop_gradient(xp.clip(mean - var, min=1e-3, max=beta_max))
    value = reduce(B, _smooth_l1(B, r, beta), reduction, weight, name)
    return value, {"running_mean": mean, "running_var": var}
