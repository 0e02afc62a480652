"""Benchmark cases: each loss with a native peer, its inputs and the peer's call per framework.

A case builds NumPy float32 inputs of a given size; ``ours`` and the peers take the same
converted arrays. Peers whose library is not installed are skipped by the harness.
"""

from __future__ import annotations

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
    #: framework -> (peer label, peer(*arrays) -> scalar loss)
    peers: dict[str, tuple[str, Callable[..., Any]]] = field(default_factory=dict)
    #: True where the loss reads its inputs once (the roofline applies)
    bandwidth_bound: bool = True

    def ours(self, *arrays: Any) -> Any:
        out = getattr(losses, self.loss)(*arrays, **self.kwargs)
        return out[0] if isinstance(out, tuple) else out


# sizes: "small" is a batch of 8 (dispatch overhead); "large" is throughput-sized for the device
ELEMENTS = {"small": 8 * 4, "large": 1 << 22}
CE_SHAPE = {"small": (8, 10), "large": (16384, 1000)}


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
            "torch": ("F.mse_loss", lambda p, t: _torch_F().mse_loss(p, t)),
            "jax": ("optax.squared_error", lambda p, t: _optax().squared_error(p, t).mean()),
        }),
        Case("mae", _pair, peers={"torch": ("F.l1_loss", lambda p, t: _torch_F().l1_loss(p, t))}),
        Case("huber", _pair, peers={
            "torch": ("F.huber_loss", lambda p, t: _torch_F().huber_loss(p, t)),
            "jax": ("optax.huber_loss", lambda p, t: _optax().huber_loss(p, t).mean()),
        }),
        Case("smooth_l1", _pair, peers={"torch": ("F.smooth_l1_loss", lambda p, t: _torch_F().smooth_l1_loss(p, t))}),
        Case("log_cosh", _pair, peers={"jax": ("optax.log_cosh", lambda p, t: _optax().log_cosh(p, t).mean())}),
        Case("cross_entropy", _logits_labels, peers={
            "torch": ("F.cross_entropy", lambda x, y: _torch_F().cross_entropy(x, y)),
            "jax": ("optax.softmax_cross_entropy_with_integer_labels",
                    lambda x, y: _optax().softmax_cross_entropy_with_integer_labels(x, y).mean()),
        }),
        Case("binary_cross_entropy", _binary, peers={
            "torch": ("F.binary_cross_entropy_with_logits",
                      lambda x, t: _torch_F().binary_cross_entropy_with_logits(x, t)),
            "jax": ("optax.sigmoid_binary_cross_entropy",
                    lambda x, t: _optax().sigmoid_binary_cross_entropy(x, t).mean()),
        }),
        Case("sigmoid_focal", _binary, peers={
            "torch": ("torchvision.ops.sigmoid_focal_loss", _torchvision_focal),
            "jax": ("optax.sigmoid_focal_loss", lambda x, t: _optax().sigmoid_focal_loss(x, t, alpha=0.25).mean()),
        }),
        Case("poly1_cross_entropy", _logits_labels, peers={
            "jax": ("optax.poly_loss_cross_entropy", _optax_poly1),
        }),
        Case("hinge", _signed, peers={"jax": ("optax.hinge_loss", lambda s, t: _optax().hinge_loss(s, t).mean())}),
        Case("multiclass_hinge", _logits_labels, peers={
            "jax": ("optax.multiclass_hinge_loss", lambda s, y: _optax().multiclass_hinge_loss(s, y).mean()),
        }),
    ]
    registered = set(losses.catalog.names())
    return [c for c in out if c.loss in registered]


def _torchvision_focal(x, t):
    from torchvision.ops import sigmoid_focal_loss

    return sigmoid_focal_loss(x, t, reduction="mean")


def _optax_poly1(x, y):
    import jax

    onehot = jax.nn.one_hot(y, x.shape[-1], dtype=x.dtype)
    return _optax().poly_loss_cross_entropy(x, onehot, epsilon=2.0).mean()
