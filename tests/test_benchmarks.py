"""The benchmark harness runs and measures both passes against the peer (timings not asserted)."""

from __future__ import annotations

import pytest

from .conftest import require


def test_harness_times_forward_and_backward_against_the_peer():
    require("torch")
    from benchmarks.__main__ import run

    rows, _ = run(["small"], ["eager"], ["mse"], repeat=2)
    assert {r["pass"] for r in rows} == {"fwd", "fwd+bwd"}
    for r in rows:
        assert r["peer"] == "F.mse_loss"
        assert r["ours_ms"] > 0 and r["peer_ms"] > 0
        assert r["ratio"] == pytest.approx(r["ours_ms"] / r["peer_ms"])
