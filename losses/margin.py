"""D2a margin losses: functions of the margin z = target·scores of a decision function.

``scores`` and ``target`` have one shape (no broadcasting: a ``(N, 1)`` score against an
``(N,)`` target is an error, not an ``(N, N)`` loss), which is the unreduced shape. ``target``
holds -1 and +1, as a floating or integer array (integers are cast to the scores' dtype);
its values are checked on eager host arrays. ``multiclass_hinge`` takes integer class
labels and reduces over the class ``axis``.

Every kink has a defined, finite gradient that is the same on every backend: where a loss
is not differentiable (hinge at z = margin, ramp at both corners, multiclass hinge where
the margin is met exactly) the gradient is the one of the flat side, 0, as ``relu`` has at
0 in torch and JAX. ``smoothed_hinge`` and ``modified_huber`` are continuously
differentiable everywhere.
"""

from __future__ import annotations

from . import catalog
from ._api import (
    backend_of,
    check_axis,
    check_labels,
    check_range,
    check_values,
    floating,
    loss,
    reduce,
    same_shape,
)

__all__ = [
    "hinge",
    "squared_hinge",
    "smoothed_hinge",
    "modified_huber",
    "ramp",
    "exponential",
    "multiclass_hinge",
]


def _margins(name, scores, target):
    """``(B, z)``: the backend and z = target·scores in the scores' floating dtype.

    ``scores`` must be floating (TypeError), ``target`` floating or integer (TypeError) of the
    same shape (ValueError) holding -1 and +1 (ValueError, eager host arrays only).
    """
    B = backend_of(name, ("scores", "target"), scores, target)
    xp = B.xp
    (promoted,) = floating(B, name, ("scores",), scores)
    dtype = getattr(target, "dtype", None)
    integral = dtype is not None and B.is_integer(dtype)
    if not (integral or (dtype is not None and B.is_floating(dtype))):
        raise TypeError(
            f"{name}: target must be a floating-point or integer array of -1 and +1, "
            f"got {dtype or type(target).__name__}"
        )
    same_shape(name, ("scores", "target"), scores, target)
    check_values(B, name, "target", target, lambda v: (v == 1) | (v == -1), "-1 or +1")
    if integral:
        scores, target = promoted, xp.astype(target, promoted.dtype)
    else:
        scores, target = floating(B, name, ("scores", "target"), scores, target)
    return B, target * scores


def _smoothed_relu(B, u, width):
    """0 for u ≤ 0, u²/2 on [0, width], width·(u - width/2) above: C¹, no overflow.

    Written as h²/2 + h·(u - h) with h = clip(u, 0, width): its derivative h'·(u - h) + h
    does not depend on which side of a corner ``clip`` takes its gradient from, and it is
    +0 (not -0) where u < 0.
    """
    h = B.xp.clip(u, min=0.0, max=width)
    return 0.5 * (h * h) + h * (u - h)


@loss(family="D2a", example=catalog.margin_pair, differentiable=("scores",),
      summary="hinge max(0, margin - z)")
def hinge(scores, target, *, margin=1.0, reduction="mean", weight=None):
    """Hinge loss max(0, margin - z) with z = target·scores (the SVM loss).

    ``margin=0`` gives the perceptron criterion max(0, -z). At z = margin the gradient is 0.

    Args:
        scores: floating array of decision values.
        target: array of -1 and +1 (floating or integer) of the shape of ``scores``.
        margin: the margin, ≥ 0 (default 1.0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the shape of ``scores`` for ``reduction="none"``.

    References:
        Cortes & Vapnik 1995. Agrees with ``optax.losses.hinge_loss`` and, with
        reduction="mean", ``sklearn.metrics.hinge_loss``.

    Example:
        >>> import numpy as np, losses
        >>> float(losses.hinge(np.array([2.0, 0.5, -1.0, 0.0]), np.array([1.0, -1.0, 1.0, -1.0])))
        1.125
    """
    check_range("hinge", "margin", margin, 0.0)
    B, z = _margins("hinge", scores, target)
    return reduce(B, B.relu(margin - z), reduction, weight, "hinge")


@loss(family="D2a", example=catalog.margin_pair, differentiable=("scores",),
      summary="squared hinge max(0, margin - z)²")
def squared_hinge(scores, target, *, margin=1.0, reduction="mean", weight=None):
    """Squared hinge loss max(0, margin - z)² with z = target·scores (L2-SVM loss).

    Differentiable everywhere; the gradient is 0 at z ≥ margin.

    Args:
        scores: floating array of decision values.
        target: array of -1 and +1 (floating or integer) of the shape of ``scores``.
        margin: the margin, ≥ 0 (default 1.0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the shape of ``scores`` for ``reduction="none"``.

    References:
        Agrees with ``keras.losses.SquaredHinge`` (which averages over the last axis; the
        mean here averages over all items) and sklearn's ``SGDClassifier(loss="squared_hinge")``.

    Example:
        >>> import numpy as np, losses
        >>> float(losses.squared_hinge(np.array([2.0, 0.5, -1.0]), np.array([1.0, 1.0, 1.0]), reduction="sum"))
        4.25
    """
    check_range("squared_hinge", "margin", margin, 0.0)
    B, z = _margins("squared_hinge", scores, target)
    r = B.relu(margin - z)
    return reduce(B, r * r, reduction, weight, "squared_hinge")


@loss(family="D2a", example=catalog.margin_pair, differentiable=("scores",),
      summary="quadratically smoothed hinge")
def smoothed_hinge(scores, target, *, gamma=1.0, reduction="mean", weight=None):
    """Quadratically smoothed hinge loss of z = target·scores.

    0 where z ≥ 1; 1 - z - γ/2 where z ≤ 1 - γ; (1 - z)²/(2γ) in between. Continuously
    differentiable, (1/γ)-smooth, and within γ/2 of the hinge loss; γ → 0 gives the hinge.

    Args:
        scores: floating array of decision values.
        target: array of -1 and +1 (floating or integer) of the shape of ``scores``.
        gamma: the width γ > 0 of the quadratic piece (default 1.0, the smooth hinge of
            Rennie & Srebro 2005).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the shape of ``scores`` for ``reduction="none"``.

    References:
        Shalev-Shwartz & Zhang 2013 (SDCA, the γ-smoothed hinge); Rennie & Srebro 2005 (γ = 1).

    Example:
        >>> import numpy as np, losses
        >>> losses.smoothed_hinge(np.array([2.0, 0.5, -1.0]), np.ones(3), reduction="none").tolist()
        [0.0, 0.125, 1.5]
    """
    check_range("smoothed_hinge", "gamma", gamma, 0.0, lo_open=True)
    B, z = _margins("smoothed_hinge", scores, target)
    values = _smoothed_relu(B, 1.0 - z, float(gamma)) / gamma
    return reduce(B, values, reduction, weight, "smoothed_hinge")


@loss(family="D2a", example=catalog.margin_pair, differentiable=("scores",),
      summary="modified Huber: squared hinge, linear below z = -1")
def modified_huber(scores, target, *, reduction="mean", weight=None):
    """Modified Huber loss of z = target·scores: -4z where z < -1, else max(0, 1 - z)².

    The squared hinge with its tail made linear, so that outliers count linearly; it is
    4 × ``smoothed_hinge`` with γ = 2, continuously differentiable everywhere.

    Args:
        scores: floating array of decision values.
        target: array of -1 and +1 (floating or integer) of the shape of ``scores``.
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the shape of ``scores`` for ``reduction="none"``.

    References:
        Zhang 2004. Agrees with sklearn's ``SGDClassifier(loss="modified_huber")``
        (``sklearn.linear_model._sgd_fast.ModifiedHuber``).

    Example:
        >>> import numpy as np, losses
        >>> losses.modified_huber(np.array([2.0, 0.5, -3.0]), np.ones(3), reduction="none").tolist()
        [0.0, 0.25, 12.0]
    """
    B, z = _margins("modified_huber", scores, target)
    values = 2.0 * _smoothed_relu(B, 1.0 - z, 2.0)
    return reduce(B, values, reduction, weight, "modified_huber")


@loss(family="D2a", example=catalog.margin_pair, differentiable=("scores",),
      summary="ramp min(cap, max(0, margin - z))")
def ramp(scores, target, *, margin=1.0, cap=2.0, reduction="mean", weight=None):
    """Ramp loss min(cap, max(0, margin - z)) with z = target·scores: the hinge clipped at ``cap``.

    Bounded, hence robust to mislabelled items, and not convex. It equals
    hinge(margin) - hinge(margin - cap); the defaults are Collobert et al.'s s = -1.
    The gradient is 0 at both corners (z = margin and z = margin - cap).

    Args:
        scores: floating array of decision values.
        target: array of -1 and +1 (floating or integer) of the shape of ``scores``.
        margin: the margin, ≥ 0 (default 1.0).
        cap: the largest loss of an item, ≥ 0 (default 2.0); ``cap=inf`` is the hinge loss,
            ``cap=0`` the zero loss.
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the shape of ``scores`` for ``reduction="none"``.

    References:
        Collobert, Sinz, Weston & Bottou 2006, "Trading convexity for scalability".

    Example:
        >>> import numpy as np, losses
        >>> losses.ramp(np.array([2.0, 0.5, -3.0]), np.ones(3), reduction="none").tolist()
        [0.0, 0.5, 2.0]
    """
    check_range("ramp", "margin", margin, 0.0)
    check_range("ramp", "cap", cap, 0.0)
    B, z = _margins("ramp", scores, target)
    u = margin - z
    values = B.xp.where(u >= cap, float(cap), B.relu(u))
    return reduce(B, values, reduction, weight, "ramp")


@loss(family="D2a", example=catalog.margin_pair, differentiable=("scores",),
      summary="exponential e^(-z) (AdaBoost)")
def exponential(scores, target, *, reduction="mean", weight=None):
    """Exponential loss e^(-z) with z = target·scores (the loss AdaBoost minimises).

    Computed exactly, as NumPy's ``exp`` does: it overflows to inf (with an inf gradient)
    where z < -88.7 in float32 or z < -709.7 in float64, as the loss itself exceeds the
    dtype; it is not clipped. Large positive margins give 0 with gradient 0.

    Args:
        scores: floating array of decision values.
        target: array of -1 and +1 (floating or integer) of the shape of ``scores``.
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the shape of ``scores`` for ``reduction="none"``.

    References:
        Freund & Schapire 1997; Friedman, Hastie & Tibshirani 2000. Agrees with sklearn's
        ``ExponentialLoss`` (``GradientBoostingClassifier(loss="exponential")``).

    Example:
        >>> import numpy as np, losses
        >>> np.round(losses.exponential(np.array([0.0, 1.0]), np.array([1, -1]), reduction="none"), 6).tolist()
        [1.0, 2.718282]
    """
    B, z = _margins("exponential", scores, target)
    return reduce(B, B.xp.exp(-z), reduction, weight, "exponential")


@loss(family="D2a", example=catalog.multiclass_scores, differentiable=("scores",),
      summary="Crammer-Singer multiclass hinge")
def multiclass_hinge(scores, labels, *, axis=-1, margin=1.0, reduction="mean", weight=None):
    """Crammer-Singer multiclass hinge loss max(0, margin + max_{j≠y} s_j - s_y).

    The true class y must beat its best rival by ``margin``. With one class there is no
    rival and the loss is 0. Where the margin is met exactly the gradient is 0; rivals tied
    for the maximum share its gradient equally.

    Args:
        scores: floating array of class scores, classes along ``axis``.
        labels: integer class indices in [0, K) (checked on eager host arrays), of the shape
            of ``scores`` without ``axis``.
        axis: the class axis of ``scores`` (default -1).
        margin: the margin, ≥ 0 (default 1.0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-item weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss, or the shape of ``labels`` (the batch shape) for ``reduction="none"``.

    References:
        Crammer & Singer 2001. Agrees with ``optax.losses.multiclass_hinge_loss`` (margin 1)
        and, with reduction="mean", ``sklearn.metrics.hinge_loss`` on multiclass labels.

    Example:
        >>> import numpy as np, losses
        >>> s = np.array([[3.0, 1.0, 0.5], [1.0, 2.0, 0.0]])
        >>> losses.multiclass_hinge(s, np.array([0, 0]), reduction="none").tolist()
        [0.0, 2.0]
    """
    name = "multiclass_hinge"
    check_range(name, "margin", margin, 0.0)
    B = backend_of(name, ("scores", "labels"), scores, labels)
    xp = B.xp
    (scores,) = floating(B, name, ("scores",), scores)
    axis = check_axis(name, "axis", axis, scores.ndim)
    k = scores.shape[axis]
    check_labels(B, name, labels, "scores", scores, axis, k)
    true = B.gather_class(scores, labels, axis=axis)
    is_true = B.one_hot(labels, k, axis=axis, dtype=xp.bool)
    lowest = float(xp.finfo(scores.dtype).min)
    rival = B.max(xp.where(is_true, lowest, scores), axis=axis)
    return reduce(B, B.relu(margin + rival - true), reduction, weight, name)
