"""The benchmark harness runs and measures both passes against the peer (timings not asserted)."""

from __future__ import annotations

import pytest

from .conftest import require


def test_harness_times_forward_and_backward_against_the_peer():
    require("torch")
    from benchmarks.__main__ import _format_row, run

    rows, _ = run(["small"], ["eager"], ["mse"], repeat=2)
    assert {r["pass"] for r in rows} == {"fwd", "fwd+bwd"}
    for r in rows:
        assert r["peer"] == "F.mse_loss"
        assert r["ours_ms"] > 0 and r["peer_ms"] > 0
        assert r["ratio"] == pytest.approx(r["ours_ms"] / r["peer_ms"])
        assert 10 <= r["calls_per_round"] <= 50  # tiny calls (5-50 us here): batches
        # small eager rows on the CPU also time the peer against itself (the noise floor)
        assert isinstance(r["peer_vs_itself_us"], float)
        assert f"(peer vs itself {r['peer_vs_itself_us']:+.1f})" in _format_row(r)


def test_a_run_records_the_commit_it_measured():
    import subprocess
    from pathlib import Path

    from benchmarks.__main__ import _code

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    except OSError:  # no git here
        head = None
    if head is None or head.returncode != 0:
        assert _code() is None  # a copy of the tree without its history
    else:
        assert _code().split("-dirty")[0] == head.stdout.strip()


def test_interval_of_a_constant_ratio_is_that_ratio():
    from benchmarks.__main__ import _interval

    peer = [1.0, 1.2, 0.9, 1.1, 1.05, 0.95]
    lo, hi, dlo, dhi = _interval([2 * p for p in peer], peer)
    assert lo == pytest.approx(2.0) and hi == pytest.approx(2.0)
    # the overhead in us: the median difference of resampled medians, between 0.9 and 1.2 s
    assert 0.9e6 <= dlo <= dhi <= 1.2e6


def test_every_runner_of_a_row_makes_the_same_calls_per_round():
    # A runner timed one call at a time between the others' batches runs cold (30-50 us more
    # per small training step), so a row's runners share one batch, fast or slow.
    import time

    from benchmarks.__main__ import _round_times

    calls = [0, 0]

    def fast():
        calls[0] += 1

    def slow():
        calls[1] += 1
        time.sleep(2e-4)

    runners = [(fast, lambda _: None), (slow, lambda _: None)]
    times, inner = _round_times(runners, repeat=4)
    assert 1 < inner < 50  # a batch for the row's median runner, about 2.5 ms
    assert calls[0] == calls[1] == 8 + 4 * inner  # warm-up and estimate, then 4 rounds
    assert [len(t) for t in times] == [4, 4]
    assert min(times[1]) >= 2e-4 > max(times[0])


def _row(**kw):
    row = {"loss": "x", "size": "large", "framework": "torch", "mode": "compiled", "pass": "fwd", "peer": "F.x",
           "ours_ms": 1.0, "peer_ms": 1.0, "ratio": 1.0, "overhead_us": 0.0, "ratio_ci": [1.0, 1.0]}
    row.update(kw)
    return row


@pytest.mark.parametrize("kw, expected", [
    ({"ratio": 0.98, "ratio_ci": [0.95, 1.01]}, ("<= 1.0x", "met")),
    ({"ratio": 1.03, "ratio_ci": [0.99, 1.08]}, ("<= 1.0x", "noise")),
    ({"ratio": 1.10, "ratio_ci": [1.05, 1.15]}, ("<= 1.0x", "MISSED")),
    # eager against a torch.nn.functional peer: 1.25x
    ({"mode": "eager", "ratio": 1.2, "ratio_ci": [1.1, 1.3]}, ("<= 1.25x", "met")),
    # eager against a Python-level peer, judged without value checks when that was measured
    ({"mode": "eager", "peer": "kornia", "ratio": 1.6, "ratio_ci": [1.5, 1.7],
      "unchecked_ratio": 0.9, "unchecked_ratio_ci": [0.8, 1.0]}, ("<= 1.0x", "met")),
    ({"mode": "eager", "size": "small", "overhead_us": 12.0, "overhead_ci_us": [11.0, 13.0]}, ("<= +10 us", "MISSED")),
    ({"mode": "eager", "size": "small", "overhead_us": 12.0, "overhead_ci_us": [9.0, 13.0]}, ("<= +10 us", "noise")),
    ({"mode": "compiled", "size": "small"}, None),
    # the small target is a CPU one: a small eager row on a GPU has none
    ({"mode": "eager", "size": "small", "device": "cuda", "overhead_us": 12.0}, None),
    ({"mode": "eager", "size": "small", "device": "cpu", "overhead_us": 8.0, "overhead_ci_us": [7.0, 9.0]},
     ("<= +10 us", "met")),
])
def test_target_verdicts(kw, expected):
    from benchmarks.__main__ import target

    assert target(_row(**kw)) == expected


def test_a_missing_framework_is_a_skipped_row(monkeypatch):
    """A peer's framework that is not installed gives a row with an error, not a crash."""
    require("torch")
    from benchmarks import __main__ as bench

    def no_jax(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'jax'")

    monkeypatch.setitem(bench.FRAMEWORKS, "jax", (("jit",), no_jax, lambda: 1.0))
    rows, _ = bench.run(["small"], ["jit"], ["mse"], repeat=1)
    assert [r["error"] for r in rows] == ["ModuleNotFoundError: No module named 'jax'"] * 2


def test_gpu_scale_gives_the_issue_anchor_sizes_to_the_large_inputs():
    """On a GPU the large inputs are issue 7's anchors (2^26 elements, 65536 x 1000 logits);
    the CPU scale is the default; the report says which ran."""
    from benchmarks import __main__ as bench
    from benchmarks import cases

    try:
        gpu = cases.use_scale("gpu")
        assert cases.ELEMENTS["large"] == 1 << 26 and cases.CE_SHAPE["large"] == (65536, 1000)
        assert gpu["seg"] == cases.SEG_SHAPE["large"] == (16, 19, 256, 256)
        line = bench._sizes_line({"scale": "gpu", **gpu})
        assert "67,108,864 elements" in line and "65536 x 1000 logits" in line
    finally:
        cases.use_scale("cpu")
    assert cases.ELEMENTS["large"] == 1 << 22 and cases.CE_SHAPE["large"] == (16384, 1000)
    assert cases.ELEMENTS["small"] == 32  # small inputs do not scale


def test_merge_joins_runs_of_one_device_and_refuses_two_devices(tmp_path):
    """Runs split by mode (a device call has a time limit) become one report."""
    import json

    from benchmarks import __main__ as bench

    meta = {"device": "NVIDIA H100 80GB HBM3", "versions": {}, "copy_bandwidth_GBps": {"torch": 2900.0}}
    a = {**meta, "date": "2026-11-24 10:00 UTC", "code": "8e2afdc", "rows": [_row(loss="mse")]}
    b = {**meta, "date": "2026-11-24 10:09 UTC", "code": "8e2afdc", "copy_bandwidth_GBps": {"jax": 2800.0},
         "rows": [_row(loss="hinge", framework="jax", mode="jit", ratio=1.2, ratio_ci=[1.1, 1.3])]}
    for name, run in (("a.json", a), ("b.json", b)):
        (tmp_path / name).write_text(json.dumps(run))
    assert bench.main(["--merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--out", str(tmp_path / "m")]) == 0
    merged = json.loads((tmp_path / "m" / "results-gpu.json").read_text())
    assert [r["loss"] for r in merged["rows"]] == ["mse", "hinge"]
    assert merged["date"] == "2026-11-24 10:00 UTC and 2026-11-24 10:09 UTC"
    assert merged["copy_bandwidth_GBps"] == {"torch": 2900.0, "jax": 2800.0}
    report = (tmp_path / "m" / "results-gpu.md").read_text()
    assert "1 of 2 rows met" in report and "hinge large jax jit fwd (1.20x" in report
    assert merged["code"] == "8e2afdc" and "Code: 8e2afdc" in report

    (tmp_path / "c.json").write_text(json.dumps({**a, "device": "cpu (x86_64)"}))
    with pytest.raises(SystemExit):
        bench.main(["--merge", str(tmp_path / "a.json"), str(tmp_path / "c.json"), "--out", str(tmp_path / "n")])


def test_stability_lists_the_rows_not_met_in_every_run(capsys, tmp_path):
    import json

    from benchmarks import __main__ as bench

    def run(date, ratios):
        rows = [_row(loss=name, ratio=r, ratio_ci=[r - 0.01, r + 0.01], overhead_us=(r - 1) * 100)
                for name, r in ratios.items()]
        return {"device": "cpu (x86_64)", "date": date, "rows": rows}

    runs = [run("d1", {"a": 0.9, "b": 1.2, "c": 1.2}), run("d2", {"a": 0.95, "b": 1.3, "c": 0.9})]
    paths = []
    for i, r in enumerate(runs):
        paths.append(str(tmp_path / f"{i}.json"))
        (tmp_path / f"{i}.json").write_text(json.dumps(r))
    assert bench.main(["--stability", *paths]) == 0
    out = capsys.readouterr().out
    assert "met in every run 1, within the noise in every run 0, missed in every run 1, " \
           "a verdict that changes between runs 1" in out
    assert "| b | large | torch compiled | fwd | MISSED 1.20x +20 us | MISSED 1.30x +30 us |" in out
    assert "| c | large | torch compiled | fwd | MISSED 1.20x +20 us | met 0.90x -10 us |" in out
    assert "| a |" not in out


def test_probe_small_step_splits_the_overhead():
    require("torch")
    from benchmarks.probes.small_step import measure

    out = measure(rounds=1, steps=20)
    assert set(out) == {"cross_entropy", "binary_cross_entropy"}
    for passes in out.values():
        assert set(passes) == {"fwd", "fwd+bwd"}
        for row in passes.values():
            assert set(row) == {"bare", "checked", "ours", "ours unchecked", "peer us"}
            assert row["peer us"] > 0


def test_probe_objects_times_each_variant_around_the_same_loss():
    require("torch")
    import torch
    import torch.nn.functional as F

    from benchmarks.probes.objects import _variants, measure

    x, y = torch.randn(8, 10), torch.randint(0, 10, (8,))
    want = F.cross_entropy(x, y)
    for name, fn in _variants().items():  # every variant computes the peer's loss
        assert torch.equal(fn(x, y), want), name
    out = measure(rounds=1, inner=2)
    assert set(out) == {"fwd", "fwd+bwd"}
    for row in out.values():
        assert set(row) == {"calls", "fstring", "kwargs", "shape", "peer us"}
        assert row["peer us"] > 0


def test_probe_layers_inlines_one_helper_at_a_time_around_the_same_loss():
    require("torch")
    import torch
    import torch.nn.functional as F

    import losses
    from benchmarks.probes.layers import _variants, measure

    x, y = torch.randn(8, 10), torch.randint(0, 10, (8,))
    variants = _variants()  # builds from cross_entropy's source: fails once that text changes
    assert list(variants) == ["peer", "ours", "S1", "S2", "S3", "S4", "S5", "S6"]
    for name, fn in variants.items():
        assert torch.equal(fn(x, y), F.cross_entropy(x, y)), name
    bad = torch.tensor([0, 1, 2, 3, 4, 5, 6, 10])  # a label out of range: each variant still checks them
    for name in ("ours", "S6"):
        with pytest.raises(ValueError):
            variants[name](x, bad)
    assert variants["ours"] is losses.cross_entropy
    out = measure(rounds=1, steps=5)
    assert set(out) == {"ours", "S1", "S2", "S3", "S4", "S5", "S6", "peer us"}
    assert out["peer us"] > 0


def test_probe_value_checks_times_each_variant_of_one_step():
    require("torch")
    from benchmarks.probes.value_checks import _setup, measure

    step, names = _setup()
    losses_of = {name: step(name).item() for name in names}  # every variant takes the same step
    assert len(set(losses_of.values())) == 1
    out = measure(rounds=1, inner=2)
    assert set(out) == {"aminmax", "outside", "layered", "checked", "bare us"}
    assert out["bare us"] > 0


def test_probe_guards_checks_each_frame_on_its_inputs():
    require("torch")
    from benchmarks.probes.guards import measure

    out = measure(rounds=2, elements=1 << 10)
    # the peer's frame guards one function; ours its helpers too, the minimal body fewer
    assert out["peer"]["guard lines"] < out["minimal"]["guard lines"] < out["ours"]["guard lines"]
    assert all(row["cold us"] > 0 and row["warm us"] > 0 for row in out.values())


@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_each_case_times_the_same_quantity_as_its_peer(fw):
    """The harness's two callables agree on the small inputs: a speed ratio compares equals."""
    require(fw)
    import numpy as np

    from benchmarks.__main__ import convert
    from benchmarks.cases import CE_SHAPE, cases

    compared = 0
    for case in cases():
        if fw not in case.peers:
            continue
        label, make = case.peers[fw]
        try:
            peer = make()
        except ImportError:  # the peer's library is not installed here
            continue
        conv = convert(fw, case.inputs("small", np.random.default_rng(1)))
        ours, theirs = float(case.ours()(*conv)), float(peer(*conv))
        if label.startswith("kornia.losses.focal_loss"):
            theirs *= CE_SHAPE["small"][1]  # kornia's "mean" divides by items x classes, ours by items
        assert ours == pytest.approx(theirs, rel=2e-5, abs=1e-6), (case.loss, label)
        compared += 1
    assert compared >= 9  # every case of the framework whose peer is installed (torchvision is not, here)
