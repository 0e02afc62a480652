"""D2c overlap: monai and kornia peers, Berman et al.'s Lovász reference re-derived in NumPy,
edge cases (empty classes, probabilities of exactly 0 and 1, axis=None, channels-first) and
bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import losses
from losses import _check

from .conftest import installed, require

OVERLAP = ["dice", "jaccard", "tversky", "focal_tversky", "combo", "sensitivity_specificity"]


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.fixture
def seg(rng):
    """Channels-last probabilities (6, 5, 4, 3) and a one-hot target with class 2 absent from sample 0."""
    probs = _softmax(rng.normal(size=(6, 5, 4, 3)))
    labels = rng.integers(0, 3, size=(6, 5, 4))
    labels[0] = rng.integers(0, 2, size=(5, 4))
    return probs, np.eye(3)[labels]


@pytest.fixture
def soft_seg(rng):
    """Channels-last probabilities and soft (non one-hot) targets in [0, 1]."""
    probs = _softmax(rng.normal(size=(5, 4, 3, 4)))
    return probs, _softmax(2.0 * rng.normal(size=(5, 4, 3, 4)))


def _torch_value_grad(fn, x, *rest, **kw):
    """``fn(x, *rest, **kw)`` on float64 tensors: (unreduced value, gradient of the sum of the value)."""
    import torch

    t = torch.tensor(x, requires_grad=True)
    out = fn(t, *(torch.tensor(r) if isinstance(r, np.ndarray) else r for r in rest), **kw)
    (g,) = torch.autograd.grad(out.sum(), t)
    return out.detach().numpy(), g.numpy()


def _channels_first(x):
    import torch

    return torch.movedim(x, -1, 1)


# -- monai peers --------------------------------------------------------------------------------
@pytest.mark.parametrize("smooth", [1.0, 1e-5, 0.3])
@pytest.mark.parametrize("data", ["seg", "soft_seg"])
def test_dice_matches_monai(request, data, smooth):
    require("torch")
    monai_losses = pytest.importorskip("monai.losses")
    probs, target = request.getfixturevalue(data)
    peer = monai_losses.DiceLoss(smooth_nr=smooth, smooth_dr=smooth, reduction="none")

    def monai_per_sample(p, t):  # (N, C, 1, 1) per sample and class -> class mean (N,)
        return peer(_channels_first(p), _channels_first(t)).mean(dim=(1, 2, 3))

    ours_v, ours_g = _torch_value_grad(losses.dice, probs, target, smooth=smooth, reduction="none")
    peer_v, peer_g = _torch_value_grad(monai_per_sample, probs, target)
    np.testing.assert_allclose(ours_v, peer_v, rtol=1e-12)
    np.testing.assert_allclose(ours_g, peer_g, rtol=1e-10, atol=1e-15)
    # monai's "mean" (over samples and classes) is our "mean"
    mean_peer = monai_losses.DiceLoss(smooth_nr=smooth, smooth_dr=smooth)
    ours_m, ours_mg = _torch_value_grad(losses.dice, probs, target, smooth=smooth)
    peer_m, peer_mg = _torch_value_grad(lambda p, t: mean_peer(_channels_first(p), _channels_first(t)), probs, target)
    assert float(ours_m) == pytest.approx(float(peer_m), rel=1e-12)
    np.testing.assert_allclose(ours_mg, peer_mg, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("smooth", [1.0, 0.25])
def test_jaccard_matches_monai_with_twice_the_smoothing(seg, smooth):
    """monai's Jaccard is 1 - (2I + s')/(2(Σp + Σt - I) + s'): ours with s equals monai's with s' = 2s."""
    require("torch")
    monai_losses = pytest.importorskip("monai.losses")
    probs, target = seg

    def monai_per_sample(s):
        peer = monai_losses.DiceLoss(jaccard=True, smooth_nr=s, smooth_dr=s, reduction="none")
        return lambda p, t: peer(_channels_first(p), _channels_first(t)).mean(dim=(1, 2, 3))

    ours_v, ours_g = _torch_value_grad(losses.jaccard, probs, target, smooth=smooth, reduction="none")
    peer_v, peer_g = _torch_value_grad(monai_per_sample(2 * smooth), probs, target)
    np.testing.assert_allclose(ours_v, peer_v, rtol=1e-12)
    np.testing.assert_allclose(ours_g, peer_g, rtol=1e-10, atol=1e-15)
    # the same smoothing would not do: the mapping really is s' = 2s
    same_v, _ = _torch_value_grad(monai_per_sample(smooth), probs, target)
    assert np.max(np.abs(same_v - ours_v)) > 1e-3


@pytest.mark.parametrize("alpha, beta, smooth", [(0.5, 0.5, 1.0), (0.3, 0.7, 1e-5), (1.0, 0.0, 0.5), (0.0, 2.0, 2.0)])
@pytest.mark.parametrize("data", ["seg", "soft_seg"])
def test_tversky_matches_monai(request, data, alpha, beta, smooth):
    require("torch")
    monai_losses = pytest.importorskip("monai.losses")
    probs, target = request.getfixturevalue(data)
    peer = monai_losses.TverskyLoss(alpha=alpha, beta=beta, smooth_nr=smooth, smooth_dr=smooth, reduction="none")

    def monai_per_sample(p, t):  # (N, C) -> (N,)
        return peer(_channels_first(p), _channels_first(t)).mean(dim=1)

    kw = {"alpha": alpha, "beta": beta, "smooth": smooth, "reduction": "none"}
    ours_v, ours_g = _torch_value_grad(losses.tversky, probs, target, **kw)
    peer_v, peer_g = _torch_value_grad(monai_per_sample, probs, target)
    np.testing.assert_allclose(ours_v, peer_v, rtol=1e-12)
    np.testing.assert_allclose(ours_g, peer_g, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("gamma", [0.75, 4 / 3, 2.0])
def test_focal_tversky_is_monai_tversky_per_class_to_the_gamma(seg, gamma):
    require("torch")
    monai_losses = pytest.importorskip("monai.losses")
    probs, target = seg
    peer = monai_losses.TverskyLoss(alpha=0.3, beta=0.7, smooth_nr=1.0, smooth_dr=1.0, reduction="none")

    def focal_peer(p, t):
        return (peer(_channels_first(p), _channels_first(t)) ** gamma).mean(dim=1)

    ours_v, ours_g = _torch_value_grad(losses.focal_tversky, probs, target, gamma=gamma, reduction="none")
    peer_v, peer_g = _torch_value_grad(focal_peer, probs, target)
    np.testing.assert_allclose(ours_v, peer_v, rtol=1e-12)
    np.testing.assert_allclose(ours_g, peer_g, rtol=1e-10, atol=1e-15)


def test_focal_tversky_gamma_one_is_tversky(seg):
    probs, target = seg
    np.testing.assert_allclose(
        losses.focal_tversky(probs, target, alpha=0.2, beta=0.8, gamma=1.0, reduction="none"),
        losses.tversky(probs, target, alpha=0.2, beta=0.8, reduction="none"),
        rtol=1e-14,
    )


@pytest.mark.parametrize("alpha, beta", [(0.5, 0.5), (1.0, 0.5), (0.0, 0.5), (0.3, 0.8)])
def test_combo_is_weighted_torch_bce_plus_monai_dice(seg, alpha, beta):
    """wBCE with hard targets is F.binary_cross_entropy weighted by β·t + (1 - β)(1 - t), per sample."""
    require("torch")
    monai_losses = pytest.importorskip("monai.losses")
    import torch.nn.functional as F

    probs, target = seg
    dice_peer = monai_losses.DiceLoss(smooth_nr=1.0, smooth_dr=1.0, reduction="none")

    def combo_peer(p, t):
        w = beta * t + (1 - beta) * (1 - t)
        wbce = F.binary_cross_entropy(p, t, weight=w, reduction="none").mean(dim=(1, 2, 3))
        d = dice_peer(_channels_first(p), _channels_first(t)).mean(dim=(1, 2, 3))
        return alpha * wbce + (1 - alpha) * d

    kw = {"alpha": alpha, "beta": beta, "reduction": "none"}
    ours_v, ours_g = _torch_value_grad(losses.combo, probs, target, **kw)
    peer_v, peer_g = _torch_value_grad(combo_peer, probs, target)
    np.testing.assert_allclose(ours_v, peer_v, rtol=1e-12)
    np.testing.assert_allclose(ours_g, peer_g, rtol=1e-10, atol=1e-15)


def test_combo_soft_targets_rederived(soft_seg):
    probs, target = soft_seg
    alpha, beta, s = 0.4, 0.7, 0.5
    n, c = probs.shape[0], probs.shape[-1]
    expected = []
    for i in range(n):
        p, t = probs[i], target[i]
        wbce = -np.mean(beta * t * np.log(p) + (1 - beta) * (1 - t) * np.log(1 - p))
        d = np.mean([1 - (2 * np.sum(p[..., k] * t[..., k]) + s) / (p[..., k].sum() + t[..., k].sum() + s)
                     for k in range(c)])
        expected.append(alpha * wbce + (1 - alpha) * d)
    got = losses.combo(probs, target, alpha=alpha, beta=beta, smooth=s, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("w, smooth", [(0.05, 1e-5), (0.5, 1.0), (1.0, 0.0), (0.0, 0.0)])
@pytest.mark.parametrize("data", ["seg", "soft_seg"])
def test_sensitivity_specificity_rederived_from_brosch(request, data, w, smooth):
    probs, target = request.getfixturevalue(data)
    n, c = probs.shape[0], probs.shape[-1]
    expected = np.zeros(n)
    for i in range(n):
        for k in range(c):
            p, t = probs[i, ..., k].ravel(), target[i, ..., k].ravel()
            sens_num, spec_num = 0.0, 0.0
            for pj, tj in zip(p, t, strict=True):
                sens_num += (tj - pj) ** 2 * tj
                spec_num += (tj - pj) ** 2 * (1 - tj)
            fg, bg = t.sum() + smooth, (1 - t).sum() + smooth
            sens = sens_num / fg if fg > 0 else 0.0
            spec = spec_num / bg if bg > 0 else 0.0
            expected[i] += (w * sens + (1 - w) * spec) / c
    got = losses.sensitivity_specificity(probs, target, w=w, smooth=smooth, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# -- Berman et al.'s reference, re-derived in NumPy (loops, as the published PyTorch code) -----------
def _ref_lovasz_grad(gt_sorted):
    p = len(gt_sorted)
    gts = gt_sorted.sum()
    intersection = gts - np.cumsum(gt_sorted)
    union = gts + np.cumsum(1.0 - gt_sorted)
    jaccard = 1.0 - intersection / union
    if p > 1:
        jaccard[1:p] = jaccard[1:p] - jaccard[0:-1]
    return jaccard


def _ref_lovasz_softmax_flat(probas, labels, classes):
    """``lovasz_softmax_flat``: probas (P, C), labels (P,). Returns (loss, d loss / d probas)."""
    grad = np.zeros_like(probas)
    if probas.shape[0] == 0:
        return 0.0, grad
    num = probas.shape[1]
    terms = []
    for c in (range(num) if classes in ("all", "present") else classes):
        fg = (labels == c).astype(float)
        if classes == "present" and fg.sum() == 0:
            continue
        errors = np.abs(fg - probas[:, c])
        perm = np.argsort(-errors, kind="stable")
        g = _ref_lovasz_grad(fg[perm])
        terms.append(errors[perm] @ g)
        grad[perm, c] += g * np.sign(probas[perm, c] - fg[perm])
    if not terms:
        return 0.0, grad
    return float(np.mean(terms)), grad / len(terms)


def _ref_flatten(probas, labels, ignore):
    """``flatten_probas``: (B, C, H, W) -> (P, C) rows with their flat indices, void pixels removed."""
    c = probas.shape[1]
    flat = np.moveaxis(probas, 1, -1).reshape(-1, c)
    lab = labels.reshape(-1)
    keep = np.arange(lab.size) if ignore is None else np.nonzero(lab != ignore)[0]
    return flat[keep], lab[keep], keep


def ref_lovasz_softmax(probas, labels, classes="present", per_image=False, ignore=None):
    """Berman et al.'s ``lovasz_softmax`` on channels-first probas (B, C, H, W): (loss, gradient)."""
    grad = np.zeros_like(probas)
    if per_image:
        values = []
        for i in range(probas.shape[0]):
            p, lab, keep = _ref_flatten(probas[i:i + 1], labels[i:i + 1], ignore)
            v, g = _ref_lovasz_softmax_flat(p, lab, classes)
            gi = np.zeros((np.prod(labels.shape[1:]), probas.shape[1]))
            gi[keep] = g / probas.shape[0]
            grad[i] = np.moveaxis(gi.reshape(*labels.shape[1:], -1), -1, 0)
            values.append(v)
        return float(np.mean(values)), grad
    p, lab, keep = _ref_flatten(probas, labels, ignore)
    v, g = _ref_lovasz_softmax_flat(p, lab, classes)
    full = np.zeros((labels.size, probas.shape[1]))
    full[keep] = g
    return v, np.moveaxis(full.reshape(*labels.shape, -1), -1, 1)


def ref_lovasz_hinge(logits, labels, per_image=True):
    """Berman et al.'s ``lovasz_hinge`` on logits and 0/1 labels (B, H, W): (loss, gradient)."""
    def flat(lg, lab):
        signs = 2.0 * lab - 1.0
        errors = 1.0 - lg * signs
        perm = np.argsort(-errors, kind="stable")
        g = _ref_lovasz_grad(lab[perm])
        grad = np.zeros_like(lg)
        grad[perm] = g * (errors[perm] > 0) * -signs[perm]
        return float(np.maximum(errors[perm], 0.0) @ g), grad

    if per_image:
        out = [flat(lg.ravel(), lab.ravel()) for lg, lab in zip(logits, labels, strict=True)]
        grad = np.stack([g.reshape(logits.shape[1:]) for _, g in out]) / len(out)
        return float(np.mean([v for v, _ in out])), grad
    v, g = flat(logits.ravel(), labels.ravel())
    return v, g.reshape(logits.shape)


@pytest.fixture
def lovasz_data(rng):
    """Channels-first probas (4, 5, 6, 7), labels of classes 0-3 (class 4 absent) with a few 255s."""
    probas = _softmax(2.0 * rng.normal(size=(4, 5, 6, 7)), axis=1)
    labels = rng.integers(0, 4, size=(4, 6, 7))
    labels[1, :2] = 255
    labels[2, 0, :3] = 255
    return probas, labels


LOVASZ_CASES = [
    {},
    {"classes": "all"},
    {"classes": [3, 1, 4]},
    {"per_sample": True},
    {"per_sample": True, "classes": "all"},
    {"ignore_index": 255},
    {"ignore_index": 255, "per_sample": True},
    {"ignore_index": 2, "per_sample": True, "classes": "all"},
]


def _labels_for(case, labels):
    """The fixture's void pixels (255) as the case's ignore_index, or as class 0 without one."""
    return np.where(labels == 255, case.get("ignore_index", 0), labels)


def _ref_kw(case):
    return {"classes": case.get("classes", "present"), "per_image": case.get("per_sample", False),
            "ignore": case.get("ignore_index")}


@pytest.mark.parametrize("case", LOVASZ_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_lovasz_softmax_matches_berman_reference(backend, to, lovasz_data, case):
    probas, labels = lovasz_data
    labels = _labels_for(case, labels)
    expected, _ = ref_lovasz_softmax(probas, labels, **_ref_kw(case))
    got = losses.lovasz_softmax(to(probas), to(labels), axis=1, **case)
    assert float(_check.to_numpy(got)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("case", LOVASZ_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_lovasz_softmax_gradient_matches_berman_reference(lovasz_data, case, fw):
    require(fw)
    probas, labels = lovasz_data
    labels = _labels_for(case, labels)
    _, expected = ref_lovasz_softmax(probas, labels, **_ref_kw(case))
    entry = losses.catalog.get("lovasz_softmax")
    (g,) = _check.autodiff_gradients(entry, (probas, labels), dict(case, axis=1), fw)
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-15)


def test_lovasz_softmax_channels_last_equals_channels_first(lovasz_data):
    probas, labels = lovasz_data
    last = np.moveaxis(probas, 1, -1)
    for case in LOVASZ_CASES:
        y = _labels_for(case, labels)
        a = losses.lovasz_softmax(probas, y, axis=1, reduction="none", **case)
        b = losses.lovasz_softmax(last, y, reduction="none", **case)
        c = losses.lovasz_softmax(np.moveaxis(probas, 1, 2), y, axis=2, reduction="none", **case)
        np.testing.assert_allclose(b, a, rtol=1e-13)
        np.testing.assert_allclose(c, a, rtol=1e-13)


def test_lovasz_softmax_unreduced_shapes(lovasz_data):
    probas, labels = lovasz_data
    labels = _labels_for({}, labels)
    per = losses.lovasz_softmax(probas, labels, axis=1, per_sample=True, reduction="none")
    whole = losses.lovasz_softmax(probas, labels, axis=1, reduction="none")
    assert per.shape == (4,) and whole.shape == ()
    w = np.array([1.0, 0.0, 2.0, 1.0])
    weighted = losses.lovasz_softmax(probas, labels, axis=1, per_sample=True, weight=w)
    assert float(weighted) == pytest.approx(float(np.sum(w * per) / w.sum()), rel=1e-13)


def test_lovasz_softmax_matches_kornia(rng):
    """kornia: logits (B, C, H, W), softmax inside, every class, per image, batch mean."""
    require("torch")
    kornia_losses = pytest.importorskip("kornia.losses")
    import torch

    logits = rng.normal(size=(3, 4, 5, 6))
    labels = torch.tensor(rng.integers(0, 3, size=(3, 5, 6)))  # class 3 absent: kornia keeps it

    def ours(x):
        return losses.lovasz_softmax(torch.softmax(x, dim=1), labels, axis=1, classes="all", per_sample=True)

    def peer(x):
        return kornia_losses.lovasz_softmax_loss(x, labels)

    ours_v, ours_g = _torch_value_grad(ours, logits)
    peer_v, peer_g = _torch_value_grad(peer, logits)
    assert float(ours_v) == pytest.approx(float(peer_v), rel=1e-12)
    np.testing.assert_allclose(ours_g, peer_g, rtol=1e-10, atol=1e-15)
    # kornia has neither "present" nor a batch-wide mode: our defaults give another loss
    probs = torch.softmax(torch.tensor(logits), dim=1)
    assert abs(float(losses.lovasz_softmax(probs, labels, axis=1)) - float(peer_v)) > 1e-3


@pytest.mark.parametrize("per_sample", [True, False])
def test_lovasz_hinge_matches_berman_reference(backend, to, rng, per_sample):
    logits = 2.0 * rng.normal(size=(5, 6, 7))
    target = rng.integers(0, 2, size=(5, 6, 7)).astype(np.float64)
    target[3] = 0.0  # an image without foreground
    expected, _ = ref_lovasz_hinge(logits, target, per_image=per_sample)
    got = losses.lovasz_hinge(to(logits), to(target), per_sample=per_sample)
    assert float(_check.to_numpy(got)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("per_sample", [True, False])
@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_lovasz_hinge_gradient_matches_berman_reference(rng, per_sample, fw):
    require(fw)
    logits = 2.0 * rng.normal(size=(5, 6, 7))
    target = rng.integers(0, 2, size=(5, 6, 7)).astype(np.float64)
    _, expected = ref_lovasz_hinge(logits, target, per_image=per_sample)
    entry = losses.catalog.get("lovasz_hinge")
    (g,) = _check.autodiff_gradients(entry, (logits, target), {"per_sample": per_sample}, fw)
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-15)


def test_lovasz_hinge_matches_kornia(rng):
    require("torch")
    kornia_losses = pytest.importorskip("kornia.losses")
    import torch

    logits = 2.0 * rng.normal(size=(4, 1, 6, 5))
    target = torch.tensor(rng.integers(0, 2, size=(4, 6, 5)))
    ours_v, ours_g = _torch_value_grad(lambda x: losses.lovasz_hinge(x[:, 0], target), logits)
    peer_v, peer_g = _torch_value_grad(lambda x: kornia_losses.lovasz_hinge_loss(x, target), logits)
    assert float(ours_v) == pytest.approx(float(peer_v), rel=1e-12)
    np.testing.assert_allclose(ours_g, peer_g, rtol=1e-10, atol=1e-15)


def test_lovasz_hinge_integer_and_bool_targets(rng):
    logits = rng.normal(size=(3, 8))
    target = rng.integers(0, 2, size=(3, 8))
    ref = losses.lovasz_hinge(logits, target.astype(np.float64), reduction="none")
    np.testing.assert_array_equal(losses.lovasz_hinge(logits, target, reduction="none"), ref)
    np.testing.assert_array_equal(losses.lovasz_hinge(logits, target.astype(bool), reduction="none"), ref)


# -- compiled ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", LOVASZ_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_lovasz_softmax_options_under_jit_and_compile(lovasz_data, case):
    probas, labels = lovasz_data
    labels = _labels_for(case, labels)
    expected = float(losses.lovasz_softmax(probas, labels, axis=1, **case))
    fws = installed("jax", "torch")  # skips when neither is: the test would check nothing
    if "jax" in fws:
        import jax

        fn = jax.jit(lambda p, y: losses.lovasz_softmax(p, y, axis=1, **case))
        got = fn(_check.convert(probas, "jax"), _check.convert(labels, "jax"))
        assert float(got) == pytest.approx(expected, rel=1e-12)
    if "torch" in fws:
        import torch

        torch._dynamo.reset()
        fn = torch.compile(lambda p, y: losses.lovasz_softmax(p, y, axis=1, **case), fullgraph=True, backend="eager")
        got = fn(torch.tensor(probas), torch.tensor(labels))
        assert float(got) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("per_sample", [True, False])
def test_lovasz_hinge_under_jit_and_compile(rng, per_sample):
    logits = rng.normal(size=(3, 4, 5))
    target = rng.integers(0, 2, size=(3, 4, 5))
    expected = float(losses.lovasz_hinge(logits, target, per_sample=per_sample))
    fws = installed("jax", "torch")
    if "jax" in fws:
        import jax

        got = jax.jit(lambda x, t: losses.lovasz_hinge(x, t, per_sample=per_sample))(
            _check.convert(logits, "jax"), _check.convert(target, "jax"))
        assert float(got) == pytest.approx(expected, rel=1e-12)
    if "torch" in fws:
        import torch

        torch._dynamo.reset()
        fn = torch.compile(lambda x, t: losses.lovasz_hinge(x, t, per_sample=per_sample), fullgraph=True, backend="eager")
        assert float(fn(torch.tensor(logits), torch.tensor(target))) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", OVERLAP)
def test_overlap_losses_with_axis_options_under_jit(seg, name):
    require("jax")
    import jax

    probs, target = seg
    fn = getattr(losses, name)
    cf = (np.moveaxis(probs, -1, 1), np.moveaxis(target, -1, 1))
    for (p, t), kw in [((probs, target), {}), (cf, {"axis": 1}), ((probs[..., 1], target[..., 1]), {"axis": None}),
                       ((probs, target), {"smooth": 0.0} if name != "focal_tversky" else {"gamma": 2.0})]:
        expected = fn(p, t, reduction="none", **kw)
        got = jax.jit(lambda a, b, kw=kw: fn(a, b, reduction="none", **kw))(
            _check.convert(p, "jax"), _check.convert(t, "jax"))
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)


# -- layouts ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OVERLAP)
def test_class_axis_anywhere_but_batch(backend, to, seg, name):
    """axis=1 on (N, C, H, W) and axis=2 on (N, H, C, W) equal axis=-1 on (N, H, W, C)."""
    probs, target = seg
    fn = getattr(losses, name)
    ref = _check.to_numpy(fn(to(probs), to(target), reduction="none"))
    first = fn(to(np.moveaxis(probs, -1, 1)), to(np.moveaxis(target, -1, 1)), axis=1, reduction="none")
    middle = fn(to(np.moveaxis(probs, -1, 2)), to(np.moveaxis(target, -1, 2)), axis=2, reduction="none")
    assert ref.shape == (probs.shape[0],)
    np.testing.assert_allclose(_check.to_numpy(first), ref, rtol=1e-13)
    np.testing.assert_allclose(_check.to_numpy(middle), ref, rtol=1e-13)


@pytest.mark.parametrize("name", OVERLAP)
def test_axis_none_is_one_class_without_class_axis(backend, to, seg, name):
    probs, target = seg
    p, t = probs[..., 1], target[..., 1]
    fn = getattr(losses, name)
    single = fn(to(p), to(t), axis=None, reduction="none")
    one_class = fn(to(p[..., None]), to(t[..., None]), axis=-1, reduction="none")
    np.testing.assert_allclose(_check.to_numpy(single), _check.to_numpy(one_class), rtol=1e-13)
    # a batch of single pixels (N,) is allowed with axis=None
    fn(to(p[:, 0, 0]), to(t[:, 0, 0]), axis=None)


def test_dice_classes_are_averaged(seg):
    probs, target = seg
    per_class = [losses.dice(probs[..., k], target[..., k], axis=None, reduction="none") for k in range(3)]
    np.testing.assert_allclose(losses.dice(probs, target, reduction="none"), np.mean(per_class, axis=0), rtol=1e-13)


def test_per_sample_weights(seg):
    probs, target = seg
    w = np.array([1.0, 2.0, 0.0, 1.0, 0.5, 3.0])
    per = losses.tversky(probs, target, reduction="none")
    assert float(losses.tversky(probs, target, weight=w)) == pytest.approx(float(np.sum(w * per) / w.sum()), rel=1e-13)
    assert float(losses.tversky(probs, target, weight=w, reduction="sum")) == pytest.approx(float(np.sum(w * per)))


# -- edge cases ----------------------------------------------------------------------------------------
def _edge_inputs(rng):
    """(name, probs, target, kwargs): empty classes, all background/foreground, exact 0 and 1."""
    probs = _softmax(rng.normal(size=(3, 4, 4, 3)))
    background = np.zeros_like(probs)
    background[..., 0] = 1.0
    hard = np.eye(3)[rng.integers(0, 3, size=(3, 4, 4))]
    fg_probs = rng.uniform(0.05, 0.95, size=(3, 4, 4))
    return [
        ("all background one-hot", probs, background, {}),
        ("all background one-hot, smooth 0", probs, background, {"smooth": 0.0}),
        ("perfect prediction (probs 0 and 1)", hard, hard, {}),
        ("perfect prediction, smooth 0", hard, hard, {"smooth": 0.0}),
        ("worst prediction (probs 0 and 1)", 1.0 - hard, hard, {}),
        ("axis=None all background", fg_probs, np.zeros_like(fg_probs), {"axis": None}),
        ("axis=None all foreground", fg_probs, np.ones_like(fg_probs), {"axis": None}),
        ("axis=None empty prediction and target, smooth 0", np.zeros_like(fg_probs), np.zeros_like(fg_probs),
         {"axis": None, "smooth": 0.0}),
        ("axis=None all foreground, probs 1", np.ones_like(fg_probs), np.ones_like(fg_probs), {"axis": None}),
    ]


@pytest.mark.parametrize("name", OVERLAP)
@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_edge_cases_give_finite_values_and_gradients(rng, name, fw):
    require(fw)
    entry = losses.catalog.get(name)
    for what, probs, target, kw in _edge_inputs(rng):
        value = _check.value(entry, (probs, target), kw, fw)
        assert np.all(np.isfinite(value)), what
        (g,) = _check.autodiff_gradients(entry, (probs, target), kw, fw)
        assert np.all(np.isfinite(g)), what


@pytest.mark.parametrize("name", OVERLAP)
def test_perfect_prediction_scores_zero(backend, to, rng, name):
    hard = np.eye(3)[rng.integers(0, 3, size=(3, 4, 4))]
    hard[0, ..., 2] = 0.0  # class 2 absent from sample 0, predicted absent
    hard[0, ..., 0] = 1.0 - hard[0, ..., 1]
    for smooth in ({}, {"smooth": 0.0}):
        out = getattr(losses, name)(to(hard), to(hard), reduction="none", **smooth)
        np.testing.assert_array_equal(_check.to_numpy(out), np.zeros(3))


def test_worst_prediction_known_values():
    t = np.zeros((2, 4))
    t[0, :2] = 1.0
    p = 1.0 - t  # sample 0: Σp = 2, Σt = 2; sample 1: Σp = 4, Σt = 0
    np.testing.assert_allclose(losses.dice(p, t, axis=None, reduction="none"), [1 - 1 / 5, 1 - 1 / 5])
    np.testing.assert_allclose(losses.jaccard(p, t, axis=None, reduction="none"), [1 - 1 / 5, 1 - 1 / 5])
    np.testing.assert_allclose(losses.tversky(p, t, axis=None, alpha=0.3, beta=0.7, reduction="none"),
                               [1 - 1 / (0.3 * 2 + 0.7 * 2 + 1), 1 - 1 / (0.3 * 4 + 1)])
    # the clamped logs: every element costs 100, weighted by β on the foreground
    np.testing.assert_allclose(losses.combo(p, t, axis=None, alpha=1.0, beta=0.25, reduction="none"),
                               [(0.25 * 2 + 0.75 * 2) * 100 / 4, 0.75 * 100])
    np.testing.assert_allclose(losses.sensitivity_specificity(p, t, axis=None, w=0.2, smooth=0.0, reduction="none"),
                               [1.0, 0.8])


@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_focal_tversky_gradient_at_zero_loss_is_finite(fw):
    """A class predicted perfectly has Tversky loss 0, where x^0.75 has an infinite slope."""
    require(fw)
    t = np.zeros((2, 3, 2))
    t[:, :, 0] = 1.0
    p = t.copy()
    p[1] = [[0.6, 0.4], [1.0, 0.0], [1.0, 0.0]]
    entry = losses.catalog.get("focal_tversky")
    (g,) = _check.autodiff_gradients(entry, (p, t), {"reduction": "sum"}, fw)
    assert np.all(np.isfinite(g))
    np.testing.assert_array_equal(g[0], 0.0)  # sample 0 is perfect: the gradient of the minimum
    assert np.any(g[1] != 0.0)


@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_combo_gradient_where_log_is_clamped(fw):
    require(fw)
    t = np.array([[1.0, 0.0, 1.0, 0.0]])
    p = np.array([[0.0, 1.0, 1.0, 0.5]])
    entry = losses.catalog.get("combo")
    (g,) = _check.autodiff_gradients(entry, (p, t), {"axis": None, "alpha": 1.0}, fw)
    # d/dp of the clamped terms is 0; the free one is -(1-β)·d log(1 - p)/dp / 4 = 0.5/0.5/4
    np.testing.assert_allclose(g, [[0.0, 0.0, -0.5 / 4, 0.25]], rtol=1e-12)


def test_lovasz_softmax_present_skips_absent_classes(lovasz_data):
    probas, labels = lovasz_data
    labels = np.where(labels == 255, 0, labels)  # classes 0-3 present, 4 absent
    present = losses.lovasz_softmax(probas, labels, axis=1)
    listed = losses.lovasz_softmax(probas, labels, axis=1, classes=[0, 1, 2, 3])
    assert float(present) == pytest.approx(float(listed), rel=1e-13)
    from_numpy = losses.lovasz_softmax(probas, labels, axis=1, classes=np.unique(labels), ignore_index=np.int64(9))
    assert float(from_numpy) == pytest.approx(float(listed), rel=1e-13)
    assert float(losses.lovasz_softmax(probas, labels, axis=1, classes="all")) != pytest.approx(float(present))


@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_lovasz_edge_cases_finite(fw, rng):
    require(fw)
    entry = losses.catalog.get("lovasz_softmax")
    probs = _softmax(rng.normal(size=(3, 4, 4, 3)))
    hard = np.eye(3)[rng.integers(0, 3, size=(3, 4, 4))]
    cases = [
        ("one class everywhere", probs, np.zeros((3, 4, 4), dtype=np.int64), {"per_sample": True}),
        ("probs exactly the labels", hard, np.argmax(hard, axis=-1), {}),
        ("probs exactly wrong", 1.0 - hard, np.argmax(hard, axis=-1), {"classes": "all"}),
        ("every item ignored", probs, np.full((3, 4, 4), -1), {"ignore_index": -1, "per_sample": True}),
        ("one sample ignored", probs, np.where(np.arange(3)[:, None, None] == 0, 7, np.zeros((3, 4, 4), np.int64)),
         {"ignore_index": 7, "per_sample": True}),
        ("axis=None all background", probs[..., 0], np.zeros((3, 4, 4), dtype=np.int64), {"axis": None}),
        ("axis=None all foreground", probs[..., 0], np.ones((3, 4, 4), dtype=np.int64), {"axis": None}),
        ("one pixel per sample", probs[:, :1, :1], np.zeros((3, 1, 1), np.int64), {"per_sample": True}),
    ]
    for what, p, y, kw in cases:
        value = _check.value(entry, (p, y), kw, fw)
        assert np.all(np.isfinite(value)), what
        (g,) = _check.autodiff_gradients(entry, (p, y), kw, fw)
        assert np.all(np.isfinite(g)), what
    # every item ignored: loss 0, no gradient
    p, y, kw = cases[3][1:]
    assert float(_check.value(entry, (p, y), kw, fw)) == 0.0
    np.testing.assert_array_equal(_check.autodiff_gradients(entry, (p, y), kw, fw)[0], 0.0)
    # a perfect prediction costs 0
    assert float(_check.value(entry, cases[1][1:3], {}, fw)) == 0.0


def test_lovasz_softmax_axis_none_is_the_foreground_class(rng):
    fg = rng.uniform(size=(3, 4, 5))
    y = rng.integers(0, 2, size=(3, 4, 5))
    two = np.stack([1.0 - fg, fg], axis=-1)
    single = losses.lovasz_softmax(fg, y, axis=None, per_sample=True, reduction="none")
    np.testing.assert_allclose(single, losses.lovasz_softmax(two, y, classes=[1], per_sample=True, reduction="none")
                               * np.any(y == 1, axis=(1, 2)), rtol=1e-13)


@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_lovasz_hinge_edge_cases_finite(fw):
    require(fw)
    entry = losses.catalog.get("lovasz_hinge")
    for target in (np.zeros((2, 5)), np.ones((2, 5))):
        logits = np.array([[1.0, -1.0, 0.0, 3.0, -3.0], [1.0, 1.0, 1.0, 1.0, 1.0]])  # ties and errors of 0
        value = _check.value(entry, (logits, target), {}, fw)
        (g,) = _check.autodiff_gradients(entry, (logits, target), {}, fw)
        assert np.isfinite(value) and np.all(np.isfinite(g))
    # correct logits of magnitude ≥ 1 cost nothing
    assert float(losses.lovasz_hinge(np.array([[2.0, -1.0]]), np.array([[1.0, 0.0]]))) == 0.0


def test_lovasz_gradients_at_tied_errors_agree_across_frameworks():
    """Tied errors: the value does not depend on their order, the gradient does; the stable
    sort gives torch and JAX (and the NumPy-free order by index) the same one."""
    require("torch")
    require("jax")
    probs = np.array([[[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.2, 0.8], [0.5, 0.5], [0.8, 0.2]]])
    labels = np.array([[0, 1, 0, 1, 1, 0]])
    hinge_logits = np.array([[0.5, 0.5, -0.5, 0.5, 2.0, -0.5]])
    cases = [("lovasz_softmax", (probs, labels)), ("lovasz_hinge", (hinge_logits, labels))]
    for (name, args), dtype in itertools.product(cases, ["float64", "float32"]):
        entry = losses.catalog.get(name)
        (gt,) = _check.autodiff_gradients(entry, args, {}, "torch", dtype)
        (gj,) = _check.autodiff_gradients(entry, args, {}, "jax", dtype)
        np.testing.assert_array_equal(gt, gj, err_msg=f"{name} {dtype}")
    # the tie matters: pixels 1 and 3 (error 0.5, foreground) get different weights by position.
    # Sorted (stable): errors 1.5, .5, .5, .5, .5, 0 with fg 0, 1, 0, 1, 0, 1 (pixels 0, 1, 2, 3,
    # 5, 4); J_i = i / (3 + i - cumsum(fg)_i) = 1/4, 2/4, 3/5, 4/5, 5/6, 1, so pixel 1 (2nd) has
    # weight 1/4 and pixel 3 (4th) 4/5 - 3/5, and d error / d logit = -1 for a foreground pixel
    (g,) = _check.autodiff_gradients(losses.catalog.get("lovasz_hinge"), cases[1][1], {}, "torch")
    np.testing.assert_allclose(g[0, [1, 3]], [-0.25, -0.2])


# -- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OVERLAP)
def test_overlap_shape_mismatch_raises(name):
    with pytest.raises(ValueError, match=f"{name}: target has shape"):
        getattr(losses, name)(np.full((2, 3, 4), 0.5), np.full((2, 3, 3), 0.5))


@pytest.mark.parametrize("name", OVERLAP)
def test_overlap_axis_errors(name):
    fn = getattr(losses, name)
    x = np.full((2, 3, 4), 0.5)
    with pytest.raises(ValueError, match=f"{name}: axis must be a class axis, not the batch axis 0"):
        fn(x, x, axis=0)
    with pytest.raises(ValueError, match=f"{name}: axis=3 is out of range"):
        fn(x, x, axis=3)
    with pytest.raises(ValueError, match=f"{name}: probs of 1 dimension.*axis=None"):
        fn(np.full(3, 0.5), np.full(3, 0.5))
    with pytest.raises(TypeError, match=f"{name}: probs must be a floating-point array"):
        fn(np.ones((2, 3), dtype=np.int64), np.ones((2, 3)))


@pytest.mark.parametrize("name", OVERLAP)
@pytest.mark.parametrize("arg", ["probs", "target"])
def test_overlap_values_outside_unit_interval_raise(backend, to, name, arg):
    good, bad = np.full((2, 3), 0.5), np.array([[0.5, 1.5, 0.0], [0.1, 0.2, 0.3]])
    p, t = (bad, good) if arg == "probs" else (good, bad)
    with pytest.raises(ValueError, match=rf"{name}: {arg} must be in \[0, 1\]"):
        getattr(losses, name)(to(p), to(t))
    with pytest.raises(ValueError, match=rf"{name}: {arg} must be in \[0, 1\]"):
        getattr(losses, name)(to(-p if arg == "probs" else p), to(-t if arg == "target" else t))


def test_value_checks_are_skipped_under_jit():
    require("jax")
    import jax

    out = jax.jit(lambda p, t: losses.dice(p, t))(_check.convert(np.full((2, 3), 1.5), "jax"),
                                                  _check.convert(np.full((2, 3), 0.5), "jax"))
    assert np.isfinite(float(out))


@pytest.mark.parametrize(
    "name, kw, match",
    [
        ("dice", {"smooth": -1.0}, "smooth"),
        ("jaccard", {"smooth": -0.1}, "smooth"),
        ("tversky", {"alpha": -0.1}, r"alpha must be in \[0.0, inf\]"),
        ("tversky", {"beta": -1.0}, "beta"),
        ("focal_tversky", {"gamma": 0.0}, r"gamma must be in \(0.0, inf\]"),
        ("focal_tversky", {"gamma": -1.0}, "gamma"),
        ("focal_tversky", {"alpha": -0.5}, "alpha"),
        ("combo", {"alpha": 1.5}, r"alpha must be in \[0.0, 1.0\]"),
        ("combo", {"beta": -0.1}, r"beta must be in \[0.0, 1.0\]"),
        ("combo", {"smooth": -2.0}, "smooth"),
        ("sensitivity_specificity", {"w": 1.5}, r"w must be in \[0.0, 1.0\]"),
        ("sensitivity_specificity", {"w": -0.1}, "w"),
        ("sensitivity_specificity", {"smooth": -1e-5}, "smooth"),
        ("dice", {"reduction": "avg"}, "reduction must be one of"),
    ],
)
def test_bad_hyperparameters_raise(name, kw, match):
    with pytest.raises(ValueError, match=f"{name}: {match}"):
        getattr(losses, name)(np.full((4, 2), 0.5), np.full((4, 2), 0.5), **kw)


def test_lovasz_softmax_bad_labels(backend, to):
    probs = to(np.full((2, 3, 4), 0.25))
    with pytest.raises(ValueError, match=r"lovasz_softmax: labels has shape \(2, 4\), expected probs' shape without axis 2 \(2, 3\)"):
        losses.lovasz_softmax(probs, to(np.zeros((2, 4), dtype=np.int64)))
    with pytest.raises(TypeError, match="lovasz_softmax: labels must be an integer array"):
        losses.lovasz_softmax(probs, to(np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"lovasz_softmax: labels must be integers in \[0, 4\)"):
        losses.lovasz_softmax(probs, to(np.array([[0, 1, 4], [0, 0, 0]])))
    with pytest.raises(ValueError, match=r"lovasz_softmax: labels must be integers in \[0, 4\) or ignore_index=255"):
        losses.lovasz_softmax(probs, to(np.array([[0, 1, -1], [0, 0, 255]])), ignore_index=255)
    with pytest.raises(ValueError, match=r"lovasz_softmax: probs must be in \[0, 1\]"):
        losses.lovasz_softmax(to(np.full((2, 3, 4), 1.25)), to(np.zeros((2, 3), dtype=np.int64)))
    with pytest.raises(ValueError, match=r"lovasz_softmax: labels must be integers in \[0, 2\)"):
        losses.lovasz_softmax(to(np.full((2, 3), 0.5)), to(np.full((2, 3), 2)), axis=None)


def test_lovasz_softmax_bad_options():
    probs, labels = np.full((2, 3, 4), 0.25), np.zeros((2, 3), dtype=np.int64)
    with pytest.raises(ValueError, match="lovasz_softmax: classes must be 'present', 'all' or a sequence"):
        losses.lovasz_softmax(probs, labels, classes="some")
    with pytest.raises(ValueError, match="lovasz_softmax: classes holds 4, out of range for 4 classes"):
        losses.lovasz_softmax(probs, labels, classes=[0, 4])
    with pytest.raises(TypeError, match="lovasz_softmax: classes must hold integer class indices"):
        losses.lovasz_softmax(probs, labels, classes=[0.5])
    with pytest.raises(ValueError, match="lovasz_softmax: classes must name at least one class"):
        losses.lovasz_softmax(probs, labels, classes=[])
    with pytest.raises(TypeError, match="lovasz_softmax: classes must be"):
        losses.lovasz_softmax(probs, labels, classes=3)
    with pytest.raises(ValueError, match="lovasz_softmax: classes must be 'present' or 'all' with axis=None"):
        losses.lovasz_softmax(probs[..., 0], labels, axis=None, classes=[1])
    with pytest.raises(TypeError, match="lovasz_softmax: ignore_index must be an integer"):
        losses.lovasz_softmax(probs, labels, ignore_index=0.5)
    with pytest.raises(ValueError, match="lovasz_softmax: axis must be a class axis"):
        losses.lovasz_softmax(probs, labels, axis=0)
    with pytest.raises(TypeError, match="lovasz_softmax: probs must be a floating-point array"):
        losses.lovasz_softmax(np.ones((2, 3, 4), dtype=np.int64), labels)


def test_lovasz_hinge_bad_input(backend, to):
    with pytest.raises(ValueError, match=r"lovasz_hinge: target has shape \(2, 4\), expected logits's shape \(2, 3\)"):
        losses.lovasz_hinge(to(np.zeros((2, 3))), to(np.zeros((2, 4))))
    with pytest.raises(ValueError, match="lovasz_hinge: target must be 0 or 1"):
        losses.lovasz_hinge(to(np.zeros((2, 3))), to(np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])))
    for bad in ([[0, 1, -1], [0, 0, 0]], [[0, 1, 2], [0, 0, 0]], [[0.0, 0.5, 1.0], [0.0, 0.0, 0.0]]):
        with pytest.raises(ValueError, match="lovasz_hinge: target must be 0 or 1"):
            losses.lovasz_hinge(to(np.zeros((2, 3))), to(np.array(bad)))
    with pytest.raises(TypeError, match="lovasz_hinge: logits must be a floating-point array"):
        losses.lovasz_hinge(to(np.zeros((2, 3), dtype=np.int64)), to(np.zeros((2, 3))))


def test_lovasz_hinge_rejects_scalars():
    with pytest.raises(ValueError, match="lovasz_hinge: logits must have a batch axis 0"):
        losses.lovasz_hinge(np.float64(1.0) * np.ones(()), np.ones(()))


def test_doc_examples_by_hand():
    """The docstring examples, recomputed from the formulas here (not from the code)."""
    p, t = np.array([[1.0, 0.0, 0.5]]), np.array([[1.0, 0.0, 1.0]])
    assert float(losses.dice(p, t, axis=None)) == pytest.approx(1 - 4 / 4.5, rel=1e-14)
    assert float(losses.focal_tversky(p, t, axis=None)) == pytest.approx((0.35 / 2.85) ** 0.75, rel=1e-14)
    p2, t2 = np.array([[0.8, 0.2]]), np.array([[1.0, 0.0]])
    assert float(losses.combo(p2, t2, axis=None)) == pytest.approx((-0.5 * math.log(0.8) + 1 - 2.6 / 3) / 2, rel=1e-14)
