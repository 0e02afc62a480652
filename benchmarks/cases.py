"""Benchmark cases: each loss with a native peer, its inputs and the peer's call per framework.

A case builds NumPy float32 inputs of a given size; ``ours`` and the peers take the same
converted arrays. Peers whose library is not installed are skipped by the harness.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import losses


@dataclass
class Case:
    loss: str
    #: size name -> NumPy inputs (positional arrays)
    inputs: Callable[[str, np.random.Generator], tuple[np.ndarray, ...]]
    #: positions of the arrays that get gradients in the forward+backward timing
    diff: tuple[int, ...] = (0,)
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: framework -> (peer label, a function returning the peer's callable: ``peer(*arrays)`` is
    #: the scalar loss). It runs once per timing, so imports and objects the peer needs (a
    #: MONAI loss module) are made once, as a user would, not inside the timed call
    peers: dict[str, tuple[str, Callable[[], Callable[..., Any]]]] = field(default_factory=dict)
    #: True where the loss reads its inputs once (the roofline applies)
    bandwidth_bound: bool = True
    #: our side when it needs more than ``losses.<loss>(*arrays, **kwargs)``: a function
    #: returning our callable, as for the peers
    call: Callable[[], Callable[..., Any]] | None = None

    def ours(self) -> Callable[..., Any]:
        """Our callable, resolved once like the peer's: ``ours()(*arrays)`` is the scalar loss."""
        if self.call is not None:
            return self.call()
        fn = getattr(losses, self.loss)
        return functools.partial(fn, **self.kwargs) if self.kwargs else fn


# sizes: "small" is a batch of 8 (dispatch overhead); "large" is throughput-sized for the
# device (``use_scale``): on a GPU issue 7's H100 anchors (2^26 elements, 65536 x 1000 logits),
# which at the CPU's bandwidth would make one full run take hours instead of about 20 minutes
SCALES = {
    "cpu": {"elements": 1 << 22, "ce": (16384, 1000), "seg": (8, 19, 128, 128)},
    "gpu": {"elements": 1 << 26, "ce": (65536, 1000), "seg": (16, 19, 256, 256)},
}
ELEMENTS = {"small": 8 * 4, "large": SCALES["cpu"]["elements"]}
CE_SHAPE = {"small": (8, 10), "large": SCALES["cpu"]["ce"]}
SEG_SHAPE = {"small": (2, 4, 8, 8), "large": SCALES["cpu"]["seg"]}


def use_scale(scale: str) -> dict[str, Any]:
    """Set the "large" inputs to ``scale``'s ("cpu" or "gpu"); returns its shapes."""
    sizes = SCALES[scale]
    ELEMENTS["large"], CE_SHAPE["large"], SEG_SHAPE["large"] = sizes["elements"], sizes["ce"], sizes["seg"]
    return dict(sizes)


def _pair(size: str, rng: np.random.Generator):
    n = ELEMENTS[size]
    return rng.normal(size=n).astype(np.float32), rng.normal(size=n).astype(np.float32)


def _logits_labels(size: str, rng: np.random.Generator):
    n, k = CE_SHAPE[size]
    return rng.normal(size=(n, k)).astype(np.float32), rng.integers(0, k, size=n)


def _binary(size: str, rng: np.random.Generator):
    n = ELEMENTS[size]
    return rng.normal(size=n).astype(np.float32), (rng.uniform(size=n) < 0.3).astype(np.float32)


def _signed(size: str, rng: np.random.Generator):
    n = ELEMENTS[size]
    return rng.normal(size=n).astype(np.float32), rng.choice([-1.0, 1.0], size=n).astype(np.float32)


def _seg_probs(size: str, rng: np.random.Generator):
    """Channels-first probabilities and their one-hot target, as MONAI takes them."""
    n, c, h, w = SEG_SHAPE[size]
    logits = rng.normal(size=(n, c, h, w))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    labels = rng.integers(0, c, size=(n, h, w))
    return p, np.moveaxis(np.eye(c, dtype=np.float32)[labels], -1, 1)


def _seg_logits_labels(size: str, rng: np.random.Generator):
    n, c, h, w = SEG_SHAPE[size]
    return rng.normal(size=(n, c, h, w)).astype(np.float32), rng.integers(0, c, size=(n, h, w))


def _hinge_maps(size: str, rng: np.random.Generator):
    n, _, h, w = SEG_SHAPE[size]
    return rng.normal(size=(n, 1, h, w)).astype(np.float32), rng.integers(0, 2, size=(n, h, w))


def _log_distributions(size: str, rng: np.random.Generator):
    n, k = CE_SHAPE[size]
    a, b = rng.normal(size=(n, k)), rng.normal(size=(n, k))
    def logsm(z):
        return (z - np.log(np.exp(z).sum(axis=-1, keepdims=True))).astype(np.float32)
    return logsm(a), logsm(b)


def _monai(cls: str, **kw: Any):
    import monai.losses

    return getattr(monai.losses, cls)(**kw)


def _kornia():
    import kornia.losses

    return kornia.losses


def _torch_F():
    import torch.nn.functional as F

    return F


def _optax():
    import optax

    return optax.losses


def cases() -> list[Case]:
    """Every benchmark case whose loss is in the catalogue (later families add themselves)."""
    out = [
        Case("mse", _pair, peers={
            "torch": ("F.mse_loss", lambda: _torch_F().mse_loss),
            "jax": ("optax.squared_error", lambda: _mean_of(_optax().squared_error)),
        }),
        Case("mae", _pair, peers={"torch": ("F.l1_loss", lambda: _torch_F().l1_loss)}),
        Case("huber", _pair, peers={
            "torch": ("F.huber_loss", lambda: _torch_F().huber_loss),
            "jax": ("optax.huber_loss", lambda: _mean_of(_optax().huber_loss)),
        }),
        Case("smooth_l1", _pair, peers={"torch": ("F.smooth_l1_loss", lambda: _torch_F().smooth_l1_loss)}),
        Case("log_cosh", _pair, peers={"jax": ("optax.log_cosh", lambda: _mean_of(_optax().log_cosh))}),
        Case("cross_entropy", _logits_labels, peers={
            "torch": ("F.cross_entropy", lambda: _torch_F().cross_entropy),
            "jax": ("optax.softmax_cross_entropy_with_integer_labels",
                    lambda: _mean_of(_optax().softmax_cross_entropy_with_integer_labels)),
        }),
        Case("binary_cross_entropy", _binary, peers={
            "torch": ("F.binary_cross_entropy_with_logits", lambda: _torch_F().binary_cross_entropy_with_logits),
            "jax": ("optax.sigmoid_binary_cross_entropy", lambda: _mean_of(_optax().sigmoid_binary_cross_entropy)),
        }),
        Case("sigmoid_focal", _binary, peers={
            "torch": ("torchvision.ops.sigmoid_focal_loss", _torchvision_focal),
            "jax": ("optax.sigmoid_focal_loss", lambda: _mean_of(_optax().sigmoid_focal_loss, alpha=0.25)),
        }),
        Case("poly1_cross_entropy", _logits_labels, peers={
            "jax": ("optax.poly_loss_cross_entropy", _optax_poly1),
        }),
        Case("softmax_focal", _logits_labels, peers={
            "torch": ("kornia.losses.focal_loss",
                      lambda: functools.partial(_kornia().focal_loss, alpha=None, reduction="mean")),
        }),
        Case("kl_divergence", _log_distributions, kwargs={"log_input": True}, peers={
            "torch": ("F.kl_div(log_target=True, batchmean)", _torch_kl_div),
        }),
        Case("dice", _seg_probs, kwargs={"axis": 1}, peers={
            "torch": ("monai DiceLoss", lambda: _monai("DiceLoss", smooth_nr=1.0, smooth_dr=1.0)),
        }),
        Case("tversky", _seg_probs, kwargs={"axis": 1}, peers={
            "torch": ("monai TverskyLoss", lambda: _monai("TverskyLoss", smooth_nr=1.0, smooth_dr=1.0)),
        }),
        Case("lovasz_softmax", _seg_logits_labels, bandwidth_bound=False,
             call=_ours_lovasz_softmax,
             peers={"torch": ("kornia lovasz_softmax_loss", lambda: _kornia().lovasz_softmax_loss)}),
        Case("lovasz_hinge", _hinge_maps, bandwidth_bound=False,
             call=_ours_lovasz_hinge,
             peers={"torch": ("kornia lovasz_hinge_loss", lambda: _kornia().lovasz_hinge_loss)}),
        Case("hinge", _signed, peers={"jax": ("optax.hinge_loss", lambda: _mean_of(_optax().hinge_loss))}),
        Case("multiclass_hinge", _logits_labels, peers={
            "jax": ("optax.multiclass_hinge_loss", lambda: _mean_of(_optax().multiclass_hinge_loss)),
        }),
    ]
    registered = set(losses.catalog.names())
    return [c for c in out if c.loss in registered]


def _mean_of(fn: Callable[..., Any], **kwargs: Any) -> Callable[..., Any]:
    """``fn(*arrays, **kwargs).mean()``: optax's losses are per item."""
    return lambda *arrays: fn(*arrays, **kwargs).mean()


def _torchvision_focal():
    from torchvision.ops import sigmoid_focal_loss

    return functools.partial(sigmoid_focal_loss, reduction="mean")


def _torch_kl_div():
    kl_div = _torch_F().kl_div
    return lambda p, q: kl_div(q, p, log_target=True, reduction="batchmean")  # kl_div(input=log q, target=log p)


def _optax_poly1():
    import jax

    poly = _optax().poly_loss_cross_entropy

    def peer(x, y):
        return poly(x, jax.nn.one_hot(y, x.shape[-1], dtype=x.dtype), epsilon=2.0).mean()

    return peer


def _ours_lovasz_softmax():
    import torch

    return lambda x, y: losses.lovasz_softmax(torch.softmax(x, dim=1), y, axis=1, classes="all", per_sample=True)


def _ours_lovasz_hinge():
    return lambda x, y: losses.lovasz_hinge(x[:, 0], y)
