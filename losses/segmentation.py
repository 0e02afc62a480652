"""D2c overlap losses for segmentation: region scores summed per sample and per class.

``probs`` and ``target`` have one shape ``(N, ..., C)``: probabilities and one-hot (or soft)
targets, with the class axis ``axis`` (default -1, any axis but the batch axis 0). Every sum
runs per sample and per class over all the other axes (the pixels), the per-class losses
are averaged over the classes, and the unreduced shape is ``(N,)``. ``axis=None`` means a
single foreground class and no class axis: ``probs`` is the foreground probability.
``probs`` and ``target`` must lie in [0, 1] (checked on eager host arrays).

``lovasz_softmax`` takes integer ``labels`` (the probabilities' shape without the class
axis) and ``lovasz_hinge`` real-valued logits with a 0/1 target; both sort their errors
with one vectorised argsort and compute the Lovász gradient of the Jaccard loss with
cumulative sums, so they run under ``jax.jit`` and ``torch.compile(fullgraph=True)``.

Every loss has finite values and finite gradients at the corners: empty classes, all
background or all foreground targets, probabilities of exactly 0 and 1, and ``smooth=0``
with an empty class (the score of an empty class against an empty prediction is 1).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from . import catalog
from ._api import (
    backend_of,
    check_axis,
    check_labels,
    check_range,
    check_value_range,
    check_values,
    floating,
    loss,
    reduce,
    same_shape,
)

__all__ = [
    "dice",
    "jaccard",
    "tversky",
    "focal_tversky",
    "combo",
    "sensitivity_specificity",
    "lovasz_softmax",
    "lovasz_hinge",
]



# -- shared helpers ------------------------------------------------------------------------------
def _class_axis(name, axis, ndim, arg="probs"):
    """The class axis normalised to [1, ndim), or None for a single foreground class."""
    if axis is None:
        if ndim < 1:
            raise ValueError(f"{name}: {arg} must have a batch axis 0, got a 0-d array")
        return None
    if ndim < 2:
        raise ValueError(
            f"{name}: {arg} of {ndim} dimension(s) has no class axis besides the batch axis 0; "
            "pass axis=None for a single foreground class"
        )
    ax = check_axis(name, "axis", axis, ndim)
    if ax == 0:
        raise ValueError(f"{name}: axis must be a class axis, not the batch axis 0")
    return ax


def _unit_interval(B, name, arg, x):
    check_value_range(B, name, arg, x, 0.0, 1.0, "in [0, 1]")


def _overlap_inputs(name, probs, target, axis):
    """``(B, probs, target, axis)``: one floating dtype, one shape, values in [0, 1]."""
    B = backend_of(name, ("probs", "target"), probs, target)
    same_shape(name, ("probs", "target"), probs, target)
    probs, target = floating(B, name, ("probs", "target"), probs, target)
    ax = _class_axis(name, axis, probs.ndim)
    _unit_interval(B, name, "probs", probs)
    _unit_interval(B, name, "target", target)
    return B, probs, target, ax


def _sums(B, axis, *terms):
    """Each term summed over every axis but the batch axis 0 and the class ``axis``.

    Returns one ``(N, C)`` array per term (``(N, 1)`` for ``axis=None``): the per-sample,
    per-class sums that every overlap loss is built from.
    """
    xp = B.xp
    ndim = terms[0].ndim
    over = tuple(d for d in range(1, ndim) if d != axis)
    out = []
    for t in terms:
        s = xp.sum(t, axis=over) if over else t  # torch reads axis=() as "every axis"
        out.append(xp.expand_dims(s, axis=-1) if axis is None else s)
    return out


def _ratio(B, num, den, smooth, empty):
    """num / den; where ``smooth`` is 0 and den is 0 (an empty class), ``empty``, with finite gradients."""
    if smooth > 0:
        return num / den
    xp = B.xp
    nonzero = den > 0
    return xp.where(nonzero, num / xp.where(nonzero, den, 1.0), empty)


def _class_mean(B, per_class):
    """The ``(N, C)`` per-class losses averaged over the classes: ``(N,)``."""
    return B.xp.mean(per_class, axis=-1)


def _tversky_per_class(B, probs, target, axis, alpha, beta, smooth):
    """1 - (TP + s)/(TP + α·FP + β·FN + s) per sample and class, ``(N, C)``.

    FP = Σp(1 - t) and FN = Σ(1 - p)t are taken as Σp - TP and Σt - TP: three sums and one
    product over the pixels instead of three products.
    """
    tp, sp, st = _sums(B, axis, probs * target, probs, target)
    fp, fn = sp - tp, st - tp
    return 1.0 - _ratio(B, tp + smooth, tp + alpha * fp + beta * fn + smooth, smooth, 1.0)


def _dice_per_class(B, probs, target, axis, smooth):
    tp, sp, st = _sums(B, axis, probs * target, probs, target)
    return 1.0 - _ratio(B, 2.0 * tp + smooth, sp + st + smooth, smooth, 1.0)


def _check_smooth(name, smooth):
    check_range(name, "smooth", smooth, 0.0)


# -- Lovász ----------------------------------------------------------------------------------------
def _along(ndim, axis, index):
    """An indexing tuple taking ``index`` (a slice) along ``axis`` and everything elsewhere."""
    return tuple(index if d == axis else slice(None) for d in range(ndim))


def _lovasz(B, errors, fg, axis):
    """Lovász extension of the Jaccard loss at ``errors`` (≥ 0), reduced along ``axis``.

    Per row along ``axis`` the errors are sorted in descending order by one stable argsort
    (ties do not change the value) and dotted with the Lovász gradient of the sorted
    foreground indicator ``fg``: with g = Σfg and i = 1, 2, ... the position, the Jaccard
    loss of the first i items is J_i = 1 - (g - cumsum(fg)_i)/(g + cumsum(1 - fg)_i)
    = i/(g + i - cumsum(fg)_i), and the weights are J_i - J_{i-1} (J_0 = 0). The union
    g + i - cumsum(fg)_i is ≥ i ≥ 1, so there is no division by zero. The weights are
    constants of the labels; the gradient flows into ``errors`` through the permutation.
    """
    xp = B.xp
    errors, perm = B.sort_descending(errors, axis=axis)
    fg = B.take_along_axis(fg, perm, axis=axis)
    n, size = fg.ndim, fg.shape[axis]
    position = xp.reshape(
        xp.arange(1, size + 1, dtype=fg.dtype, device=B.device(fg)),
        tuple(size if d == axis else 1 for d in range(n)),
    )
    total = xp.sum(fg, axis=axis, keepdims=True)
    jac = position / ((total - B.cumsum(fg, axis=axis)) + position)
    return xp.sum(errors * B.increments(jac, axis=axis), axis=axis)


def _index(name, what, value):
    """``value`` as a Python int (NumPy integers included, bools not); TypeError otherwise."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: {what}, got {value!r}") from None


def _check_classes(name, classes, num_classes, axis):
    """"present", "all", or a tuple of class indices in [0, C) from a sequence (or 1-D host array)."""
    if isinstance(classes, str):
        if classes not in ("present", "all"):
            raise ValueError(f"{name}: classes must be 'present', 'all' or a sequence of class indices, got {classes!r}")
        return classes
    if not (isinstance(classes, Sequence) or (hasattr(classes, "__iter__") and hasattr(classes, "__len__"))):
        raise TypeError(f"{name}: classes must be 'present', 'all' or a sequence of class indices, got {classes!r}")
    if axis is None:
        raise ValueError(f"{name}: classes must be 'present' or 'all' with axis=None (a single foreground class)")
    out = tuple(_index(name, "classes must hold integer class indices", c) for c in classes)
    if not out:
        raise ValueError(f"{name}: classes must name at least one class")
    for c in out:
        if not 0 <= c < num_classes:
            raise ValueError(f"{name}: classes holds {c}, out of range for {num_classes} classes")
    return out


# -- losses ----------------------------------------------------------------------------------------
@loss(family="D2c", example=catalog.overlap_pair, differentiable=("probs",),
      summary="soft Dice loss 1 - (2Σpt + s)/(Σp + Σt + s)")
def dice(probs, target, *, axis=-1, smooth=1.0, reduction="mean", weight=None):
    """Soft Dice loss 1 - (2Σpt + s)/(Σp + Σt + s), per sample and class, averaged over classes.

    Args:
        probs: probabilities in [0, 1], shape ``(N, ..., C)``.
        target: one-hot or soft targets in [0, 1] of the same shape.
        axis: the class axis (default -1; not 0); None for a single foreground class.
        smooth: s ≥ 0, added to numerator and denominator (default 1.0). With s = 0 an empty
            class against an empty prediction scores 1 (loss 0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-sample weights broadcastable to ``(N,)``.

    Returns:
        The reduced loss, or ``(N,)`` for ``reduction="none"``.

    References:
        Milletari et al. 2016 (V-Net). Agrees with monai ``DiceLoss(smooth_nr=s, smooth_dr=s)``
        on the input moved to channels-first (monai's "none" is per sample and class; its
        "mean" equals ours).

    Example:
        >>> import numpy as np, losses
        >>> p, t = np.array([[1.0, 0.0, 0.5]]), np.array([[1.0, 0.0, 1.0]])
        >>> round(float(losses.dice(p, t, axis=None)), 6)  # 1 - (3 + 1)/(1.5 + 2 + 1)
        0.111111
    """
    name = "dice"
    _check_smooth(name, smooth)
    B, probs, target, ax = _overlap_inputs(name, probs, target, axis)
    return reduce(B, _class_mean(B, _dice_per_class(B, probs, target, ax, smooth)), reduction, weight, name)


@loss(family="D2c", example=catalog.overlap_pair, differentiable=("probs",),
      summary="soft Jaccard (IoU) loss 1 - (Σpt + s)/(Σp + Σt - Σpt + s)")
def jaccard(probs, target, *, axis=-1, smooth=1.0, reduction="mean", weight=None):
    """Soft Jaccard (IoU) loss 1 - (Σpt + s)/(Σp + Σt - Σpt + s), averaged over classes.

    Args:
        probs: probabilities in [0, 1], shape ``(N, ..., C)``.
        target: one-hot or soft targets in [0, 1] of the same shape.
        axis: the class axis (default -1; not 0); None for a single foreground class.
        smooth: s ≥ 0, added to numerator and denominator (default 1.0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-sample weights broadcastable to ``(N,)``.

    Returns:
        The reduced loss, or ``(N,)`` for ``reduction="none"``.

    References:
        Rahman & Wang 2016. Agrees with monai ``DiceLoss(jaccard=True, smooth_nr=2s,
        smooth_dr=2s)``: monai's Jaccard is 1 - (2Σpt + s')/(2(Σp + Σt - Σpt) + s').

    Example:
        >>> import numpy as np, losses
        >>> p, t = np.array([[1.0, 0.0, 0.5]]), np.array([[1.0, 0.0, 1.0]])
        >>> round(float(losses.jaccard(p, t, axis=None)), 6)  # 1 - 2.5/3
        0.166667
    """
    name = "jaccard"
    _check_smooth(name, smooth)
    B, probs, target, ax = _overlap_inputs(name, probs, target, axis)
    tp, sp, st = _sums(B, ax, probs * target, probs, target)
    per_class = 1.0 - _ratio(B, tp + smooth, sp + st - tp + smooth, smooth, 1.0)
    return reduce(B, _class_mean(B, per_class), reduction, weight, name)


@loss(family="D2c", example=catalog.overlap_pair, differentiable=("probs",),
      summary="Tversky loss 1 - (TP + s)/(TP + αFP + βFN + s)")
def tversky(probs, target, *, axis=-1, alpha=0.5, beta=0.5, smooth=1.0, reduction="mean", weight=None):
    """Tversky loss 1 - (TP + s)/(TP + α·FP + β·FN + s), averaged over classes.

    TP = Σpt, FP = Σp(1 - t), FN = Σ(1 - p)t per sample and class. α = β = 0.5 is the
    Dice loss, α = β = 1 the Jaccard loss.

    Args:
        probs: probabilities in [0, 1], shape ``(N, ..., C)``.
        target: one-hot or soft targets in [0, 1] of the same shape.
        axis: the class axis (default -1; not 0); None for a single foreground class.
        alpha: weight α ≥ 0 of false positives (default 0.5).
        beta: weight β ≥ 0 of false negatives (default 0.5).
        smooth: s ≥ 0, added to numerator and denominator (default 1.0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-sample weights broadcastable to ``(N,)``.

    Returns:
        The reduced loss, or ``(N,)`` for ``reduction="none"``.

    References:
        Salehi et al. 2017. Agrees with monai ``TverskyLoss(alpha, beta, smooth_nr=s, smooth_dr=s)``.

    Example:
        >>> import numpy as np, losses
        >>> p, t = np.array([[1.0, 0.0, 0.5]]), np.array([[1.0, 0.0, 1.0]])
        >>> round(float(losses.tversky(p, t, axis=None, alpha=0.3, beta=0.7, smooth=0.0)), 6)  # 1 - 1.5/1.85
        0.189189
    """
    name = "tversky"
    check_range(name, "alpha", alpha, 0.0)
    check_range(name, "beta", beta, 0.0)
    _check_smooth(name, smooth)
    B, probs, target, ax = _overlap_inputs(name, probs, target, axis)
    per_class = _tversky_per_class(B, probs, target, ax, alpha, beta, smooth)
    return reduce(B, _class_mean(B, per_class), reduction, weight, name)


@loss(family="D2c", example=catalog.overlap_pair, differentiable=("probs",),
      summary="focal Tversky loss (Tversky per class)^γ")
def focal_tversky(probs, target, *, axis=-1, alpha=0.3, beta=0.7, gamma=0.75, smooth=1.0,
                  reduction="mean", weight=None):
    """Focal Tversky loss: the Tversky loss of each class raised to γ, averaged over classes.

    γ is the exponent itself (the paper writes 1/γ with γ = 4/3). With γ < 1 the power has an
    infinite slope at 0; where a class's Tversky loss is exactly 0 (a perfect prediction)
    the gradient is taken as 0, the minimum's, so it stays finite.

    Args:
        probs: probabilities in [0, 1], shape ``(N, ..., C)``.
        target: one-hot or soft targets in [0, 1] of the same shape.
        axis: the class axis (default -1; not 0); None for a single foreground class.
        alpha: weight α ≥ 0 of false positives (default 0.3).
        beta: weight β ≥ 0 of false negatives (default 0.7, as in the paper).
        gamma: the exponent γ > 0 (default 0.75).
        smooth: s ≥ 0, added to numerator and denominator (default 1.0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-sample weights broadcastable to ``(N,)``.

    Returns:
        The reduced loss, or ``(N,)`` for ``reduction="none"``.

    References:
        Abraham & Khan 2019, "A novel focal Tversky loss function ...". γ = 1 is ``tversky``.

    Example:
        >>> import numpy as np, losses
        >>> p, t = np.array([[1.0, 0.0, 0.5]]), np.array([[1.0, 0.0, 1.0]])
        >>> round(float(losses.focal_tversky(p, t, axis=None)), 6)  # (0.35/2.85) ** 0.75
        0.207452
    """
    name = "focal_tversky"
    check_range(name, "alpha", alpha, 0.0)
    check_range(name, "beta", beta, 0.0)
    check_range(name, "gamma", gamma, 0.0, lo_open=True)
    _check_smooth(name, smooth)
    B, probs, target, ax = _overlap_inputs(name, probs, target, axis)
    xp = B.xp
    tl = xp.clip(_tversky_per_class(B, probs, target, ax, alpha, beta, smooth), min=0.0)
    if gamma == 1:
        powered = tl
    else:
        pos = tl > 0
        powered = xp.where(pos, xp.where(pos, tl, 1.0) ** float(gamma), 0.0)
    return reduce(B, _class_mean(B, powered), reduction, weight, name)


@loss(family="D2c", example=catalog.overlap_pair, differentiable=("probs",),
      summary="combo loss: α·weighted BCE + (1 - α)·Dice")
def combo(probs, target, *, axis=-1, alpha=0.5, beta=0.5, smooth=1.0, reduction="mean", weight=None):
    """Combo loss α·wBCE + (1 - α)·dice.

    wBCE = -mean(β·t·log p + (1 - β)(1 - t)·log(1 - p)) per sample over all its elements
    (the class axis included), logs clamped at -100 as torch's ``binary_cross_entropy``
    (where clamped, p = 0 and p = 1 included, the gradient of the log is 0); dice is
    ``dice(probs, target, axis=axis, smooth=smooth)``.

    Args:
        probs: probabilities in [0, 1], shape ``(N, ..., C)``.
        target: one-hot or soft targets in [0, 1] of the same shape.
        axis: the class axis of the Dice term (default -1; not 0); None for a single
            foreground class.
        alpha: α ∈ [0, 1], the weight of the cross entropy (default 0.5).
        beta: β ∈ [0, 1], the weight of the positive term of the cross entropy (default
            0.5; β > 0.5 penalises false negatives more).
        smooth: s ≥ 0 of the Dice term (default 1.0).
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-sample weights broadcastable to ``(N,)``.

    Returns:
        The reduced loss, or ``(N,)`` for ``reduction="none"``.

    References:
        Taghanaki et al. 2019, "Combo loss" (with 1 - Dice in place of -Dice, so the loss is
        ≥ 0). With β = 0.5 the wBCE is half of ``torch.nn.functional.binary_cross_entropy``.

    Example:
        >>> import numpy as np, losses
        >>> p, t = np.array([[0.8, 0.2]]), np.array([[1.0, 0.0]])
        >>> round(float(losses.combo(p, t, axis=None)), 6)  # (-0.5 log 0.8 + 1 - 2.6/3) / 2
        0.122453
    """
    name = "combo"
    check_range(name, "alpha", alpha, 0.0, 1.0)
    check_range(name, "beta", beta, 0.0, 1.0)
    _check_smooth(name, smooth)
    B, probs, target, ax = _overlap_inputs(name, probs, target, axis)
    xp = B.xp
    bce = -(beta * (target * B.clamped_log(probs)) + (1.0 - beta) * ((1.0 - target) * B.clamped_log(1.0 - probs)))
    wbce = xp.mean(bce, axis=tuple(range(1, bce.ndim))) if bce.ndim > 1 else bce
    d = _class_mean(B, _dice_per_class(B, probs, target, ax, smooth))
    return reduce(B, alpha * wbce + (1.0 - alpha) * d, reduction, weight, name)


@loss(family="D2c", example=catalog.overlap_pair, differentiable=("probs",),
      summary="sensitivity-specificity loss (Brosch et al.)")
def sensitivity_specificity(probs, target, *, axis=-1, w=0.05, smooth=1e-5, reduction="mean", weight=None):
    """Sensitivity-specificity loss w·Σ(t-p)²t/(Σt + s) + (1-w)·Σ(t-p)²(1-t)/(Σ(1-t) + s).

    Per sample and class, averaged over classes; ``smooth`` goes in the denominators only.
    The first term weighs the errors on the foreground (sensitivity), the second those on
    the background (specificity).

    Args:
        probs: probabilities in [0, 1], shape ``(N, ..., C)``.
        target: one-hot or soft targets in [0, 1] of the same shape.
        axis: the class axis (default -1; not 0); None for a single foreground class.
        w: w ∈ [0, 1], the weight of the sensitivity term (default 0.05).
        smooth: s ≥ 0 in both denominators (default 1e-5). With s = 0 a term over an empty
            region is 0.
        reduction: "mean" (default), "sum" or "none".
        weight: optional per-sample weights broadcastable to ``(N,)``.

    Returns:
        The reduced loss, or ``(N,)`` for ``reduction="none"``.

    References:
        Brosch et al. 2015, "Deep convolutional encoder networks for multiple sclerosis
        lesion segmentation".

    Example:
        >>> import numpy as np, losses
        >>> p, t = np.array([[0.8, 0.2, 0.4]]), np.array([[1.0, 0.0, 1.0]])
        >>> round(float(losses.sensitivity_specificity(p, t, axis=None, smooth=0.0)), 6)  # 0.05·0.4/2 + 0.95·0.04/1
        0.048
    """
    name = "sensitivity_specificity"
    check_range(name, "w", w, 0.0, 1.0)
    _check_smooth(name, smooth)
    B, probs, target, ax = _overlap_inputs(name, probs, target, axis)
    d = target - probs
    sq = d * d
    background = 1.0 - target
    fg_err, bg_err, fg, bg = _sums(B, ax, sq * target, sq * background, target, background)
    per_class = (w * _ratio(B, fg_err, fg + smooth, smooth, 0.0)
                 + (1.0 - w) * _ratio(B, bg_err, bg + smooth, smooth, 0.0))
    return reduce(B, _class_mean(B, per_class), reduction, weight, name)


@loss(family="D2c", example=catalog.lovasz_softmax_example, differentiable=("probs",),
      summary="Lovász-softmax: Lovász extension of the Jaccard loss per class")
def lovasz_softmax(probs, labels, *, axis=-1, classes="present", ignore_index=None, per_sample=False,
                   reduction="mean", weight=None):
    """Lovász-softmax loss: the Lovász extension of the Jaccard loss at the errors |onehot - p|.

    For each class c, the errors e = |[y = c] - p_c| over the pixels are sorted in
    descending order and dotted with the Lovász gradient of the Jaccard loss of the sorted
    labels (see Berman et al., Algorithm 1); the class losses are averaged over the classes
    chosen by ``classes``. Items with ``labels == ignore_index`` contribute nothing. The sort
    is one argsort over all classes (and samples) at once, so the loss compiles.

    Args:
        probs: probabilities in [0, 1] (a softmax output), shape ``(N, ..., C)``.
        labels: integer labels of ``probs``' shape without the class axis, in [0, C) or
            ``ignore_index``. With ``axis=None``, labels of ``probs``' shape in {0, 1} and
            ``probs`` the foreground probability.
        axis: the class axis of ``probs`` (default -1; not 0), or None.
        classes: "present" (default: the mean over the classes that occur in the labels of
            the sample, or of the batch without ``per_sample``; 0 when none does), "all",
            or a sequence of class indices (averaged whether present or not).
        ignore_index: a label value left out of the loss (default None).
        per_sample: one loss per sample, unreduced ``(N,)`` (True), or one loss over the
            whole batch, unreduced ``()`` (False, default).
        reduction: "mean" (default), "sum" or "none" over the unreduced shape.
        weight: optional weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss; ``(N,)`` with ``per_sample=True`` or ``()`` for ``reduction="none"``.

    References:
        Berman et al. 2018, "The Lovász-Softmax loss". Agrees with the authors' reference
        ``lovasz_softmax(probas, labels, classes, per_image, ignore)`` on channels-first input,
        and with kornia ``lovasz_softmax_loss`` (softmax of logits, every class, per image)
        for ``classes="all", per_sample=True``.

    Example:
        >>> import numpy as np, losses
        >>> p = np.array([[[0.8, 0.2], [0.4, 0.6], [0.3, 0.7]]])
        >>> round(float(losses.lovasz_softmax(p, np.array([[0, 1, 1]]))), 6)  # (0.95/3 + 0.35) / 2
        0.333333
    """
    name = "lovasz_softmax"
    B = backend_of(name, ("probs", "labels"), probs, labels)
    xp = B.xp
    (probs,) = floating(B, name, ("probs",), probs)
    ax = _class_axis(name, axis, probs.ndim)
    if ignore_index is not None:
        ignore_index = _index(name, "ignore_index must be an integer or None", ignore_index)
    shape = tuple(probs.shape)
    num_classes = 2 if ax is None else shape[ax]
    classes = _check_classes(name, classes, num_classes, ax)
    _unit_interval(B, name, "probs", probs)
    check_labels(B, name, labels, "probs", probs, ax, num_classes, ignore_index)

    n = shape[0]
    dtype = probs.dtype
    # Layout: (G, P, K) when the class axis is last, else (G, K, P); G = N or 1, sorted along P.
    if ax is None:
        p = xp.reshape(probs, (n, -1, 1))
        fg = xp.astype(xp.reshape(labels, (n, -1, 1)) == 1, dtype)
        sort_axis = 1
    elif ax == probs.ndim - 1:
        p = xp.reshape(probs, (n, -1, shape[ax]))
        fg = B.one_hot(xp.reshape(labels, (n, -1)), shape[ax], axis=-1, dtype=dtype)
        sort_axis = 1
    else:
        p = xp.reshape(probs if ax == 1 else xp.moveaxis(probs, ax, 1), (n, shape[ax], -1))
        fg = B.one_hot(xp.reshape(labels, (n, -1)), shape[ax], axis=1, dtype=dtype)
        sort_axis = 2
    class_axis = 3 - sort_axis
    if ignore_index is not None:
        valid = xp.astype(xp.reshape(labels, (n, -1)) != ignore_index, dtype)
        fg = fg * xp.expand_dims(valid, axis=class_axis)
    if isinstance(classes, tuple):
        # static slices, not an index array (uploading one to a GPU would synchronise)
        def pick(a):
            return xp.concat([a[_along(3, class_axis, slice(c, c + 1))] for c in classes], axis=class_axis)

        p, fg = pick(p), pick(fg)
    errors = B.abs(fg - p)
    if ignore_index is not None:
        # ignored items: error 0, so they sort last and add nothing (nor any gradient)
        errors = errors * xp.expand_dims(valid, axis=class_axis)
    if not per_sample:
        if sort_axis == 1:
            errors, fg = (xp.reshape(a, (1, -1, a.shape[2])) for a in (errors, fg))
        else:
            errors, fg = (xp.reshape(xp.permute_dims(a, (1, 0, 2)), (1, a.shape[1], -1)) for a in (errors, fg))
    per_class = _lovasz(B, errors, fg, sort_axis)  # (G, K)
    if classes == "present":
        present = xp.astype(xp.sum(fg, axis=sort_axis) > 0, dtype)
        count = xp.sum(present, axis=-1)
        value = xp.where(count > 0, xp.sum(per_class * present, axis=-1) / xp.clip(count, min=1.0), 0.0)
    else:
        value = xp.mean(per_class, axis=-1)
    if not per_sample:
        value = xp.reshape(value, ())
    return reduce(B, value, reduction, weight, name)


@loss(family="D2c", example=catalog.lovasz_hinge_example, differentiable=("logits",),
      summary="binary Lovász hinge on errors 1 - logits·(2t - 1)")
def lovasz_hinge(logits, target, *, per_sample=True, reduction="mean", weight=None):
    """Binary Lovász hinge: the Lovász extension of the Jaccard loss at max(0, 1 - logits·(2t - 1)).

    The hinge errors of a sample's pixels (every axis but the batch axis 0) are sorted in
    descending order and dotted, after a relu, with the Lovász gradient of the Jaccard loss
    of the sorted target. An empty foreground is fine (every positive error counts fully).

    Args:
        logits: real-valued scores, shape ``(N, ...)``.
        target: 0/1 labels of the same shape, floating or integer.
        per_sample: one loss per sample, unreduced ``(N,)`` (True, default), or one loss over
            the whole batch, unreduced ``()`` (False).
        reduction: "mean" (default), "sum" or "none" over the unreduced shape.
        weight: optional weights broadcastable to the unreduced shape.

    Returns:
        The reduced loss; ``(N,)`` with ``per_sample=True`` or ``()`` for ``reduction="none"``.

    References:
        Berman et al. 2018. Agrees with the authors' reference ``lovasz_hinge(logits, labels,
        per_image)`` and with kornia ``lovasz_hinge_loss`` (per image, batch mean).

    Example:
        >>> import numpy as np, losses
        >>> round(float(losses.lovasz_hinge(np.array([[2.0, -1.0, 0.5]]), np.array([[1.0, 0.0, 1.0]]))), 6)
        0.25
    """
    name = "lovasz_hinge"
    B = backend_of(name, ("logits", "target"), logits, target)
    xp = B.xp
    (logits,) = floating(B, name, ("logits",), logits)
    tdtype = getattr(target, "dtype", None)
    if tdtype is None or not (B.is_integer(tdtype) or B.is_floating(tdtype) or xp.isdtype(tdtype, "bool")):
        raise TypeError(f"{name}: target must be an array of 0 and 1, got {tdtype or type(target).__name__}")
    same_shape(name, ("logits", "target"), logits, target)
    if logits.ndim < 1:
        raise ValueError(f"{name}: logits must have a batch axis 0, got a 0-d array")
    if B.is_floating(tdtype):
        check_values(B, name, "target", target, lambda v: (v == 0) | (v == 1), "0 or 1")
    else:  # integers (or booleans) in [0, 1] are 0 or 1: the cheaper min/max check
        check_value_range(B, name, "target", target, 0, 1, "0 or 1")
    t = xp.astype(target, logits.dtype)
    n = logits.shape[0]
    errors = 1.0 - logits * (2.0 * t - 1.0)
    errors = xp.where(errors > 0, errors, 0.0)  # relu, gradient 0 at 0 as F.relu
    rows = (n, -1) if per_sample else (1, -1)
    value = _lovasz(B, xp.reshape(errors, rows), xp.reshape(t, rows), 1)
    if not per_sample:
        value = xp.reshape(value, ())
    return reduce(B, value, reduction, weight, name)

