"""torchvision peers (``nox -s vision``: torch 2.14.1 + torchvision 0.29.1 in their own
environment, since torchvision has no build for torch 2.13.0). Skipped where torchvision is
not installed; the main environment compares against a re-derivation instead
(tests/test_classification.py)."""

from __future__ import annotations

import numpy as np
import pytest

import losses

pytestmark = pytest.mark.vision

torch = pytest.importorskip("torch")
ops = pytest.importorskip("torchvision.ops")


@pytest.mark.parametrize("alpha", [0.25, 0.5, -1.0])
@pytest.mark.parametrize("gamma", [0.0, 2.0, 0.5])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_sigmoid_focal_matches_torchvision(alpha, gamma, reduction, dtype):
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(scale=3.0, size=(16, 5)), dtype=dtype, requires_grad=True)
    t = torch.tensor(rng.uniform(size=(16, 5)) < 0.3, dtype=dtype)
    ours = losses.sigmoid_focal(x, t, alpha=alpha, gamma=gamma, reduction=reduction)
    peer = ops.sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma, reduction=reduction)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(ours, peer, rtol=tol, atol=tol)
    (g_ours,) = torch.autograd.grad(ours.sum(), x)
    (g_peer,) = torch.autograd.grad(peer.sum(), x)
    torch.testing.assert_close(g_ours, g_peer, rtol=tol, atol=tol)


def test_sigmoid_focal_is_finite_where_torchvision_is_not():
    """Saturated logits: ours stays finite in value and gradient (log space)."""
    x = torch.tensor([1e4, -1e4, 80.0, -80.0], dtype=torch.float32, requires_grad=True)
    t = torch.tensor([0.0, 1.0, 0.0, 1.0])
    ours = losses.sigmoid_focal(x, t, reduction="sum")
    (g,) = torch.autograd.grad(ours, x)
    assert torch.isfinite(ours) and torch.isfinite(g).all()
    peer = ops.sigmoid_focal_loss(x.detach(), t, reduction="none")
    finite = torch.isfinite(peer)
    torch.testing.assert_close(
        losses.sigmoid_focal(x.detach(), t, reduction="none")[finite], peer[finite], rtol=1e-5, atol=1e-5
    )
