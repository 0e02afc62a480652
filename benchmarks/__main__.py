"""Speed of each loss against its native peer, same inputs, same process, same mode.

    python -m benchmarks [--size small --size large] [--mode eager --mode compiled]
                         [--loss NAME ...] [--repeat 30] [--out benchmarks]

Modes: torch eager vs eager, torch.compile vs torch.compile (inductor), jax.jit vs jax.jit.
Each is timed forward only and forward+backward (``loss.backward()`` /
``jax.value_and_grad``). Reports median milliseconds, ours/peer, the overhead per call in
microseconds, and for bandwidth-bound losses the fraction of the measured copy bandwidth.
Writes ``results-<device>.md`` and ``.json`` (date, device, versions) under ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from .cases import Case, cases


def _median_ms(fn, sync, repeat: int) -> float:
    for _ in range(3):
        sync(fn())
    times = []
    inner = 1
    t0 = time.perf_counter()
    sync(fn())
    single = time.perf_counter() - t0
    if single < 1e-4:  # tiny calls: time batches of calls so the clock's resolution doesn't matter
        inner = 50
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            out = fn()
        sync(out)
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times) * 1e3


# -- torch -------------------------------------------------------------------------------------
def _torch_runner(case: Case, arrays, fn, mode: str, backward: bool):
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    conv = []
    for i, a in enumerate(arrays):
        t = torch.from_numpy(a).to(device)
        if a.dtype.kind == "i":
            t = t.long()
        if backward and i in case.diff:
            t.requires_grad_(True)
        conv.append(t)
    f = fn
    if mode == "compiled":
        torch._dynamo.reset()
        f = torch.compile(fn, fullgraph=False, dynamic=False)
    if backward:
        def step():
            for i in case.diff:
                conv[i].grad = None
            out = f(*conv)
            out.backward()
            return out
    else:
        def step():
            with torch.no_grad():
                return f(*conv)

    def sync(_):
        if device == "cuda":
            torch.cuda.synchronize()

    return step, sync


def _torch_copy_bandwidth() -> float:
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.empty(1 << 27, dtype=torch.float32, device=device)  # 512 MiB
    ms = _median_ms(lambda: x.clone(), lambda _: torch.cuda.synchronize() if device == "cuda" else None, 7)
    return 2 * x.numel() * 4 / (ms * 1e-3)  # bytes read + written per second


# -- jax -----------------------------------------------------------------------------------------
def _jax_runner(case: Case, arrays, fn, mode: str, backward: bool):
    import jax
    import jax.numpy as jnp

    conv = [jnp.asarray(a if a.dtype.kind == "f" else a.astype(np.int32)) for a in arrays]
    if backward:
        f = jax.jit(jax.value_and_grad(fn, argnums=case.diff))
    else:
        f = jax.jit(fn)
    return (lambda: f(*conv)), jax.block_until_ready


def _jax_copy_bandwidth() -> float:
    import jax
    import jax.numpy as jnp

    x = jnp.zeros(1 << 27, dtype=jnp.float32)
    copy = jax.jit(lambda a: a + 0.0)
    ms = _median_ms(lambda: copy(x), jax.block_until_ready, 7)
    return 2 * x.size * 4 / (ms * 1e-3)


FRAMEWORKS = {
    "torch": (("eager", "compiled"), _torch_runner, _torch_copy_bandwidth),
    "jax": (("jit",), _jax_runner, _jax_copy_bandwidth),
}


def _device() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return f"cpu ({platform.processor() or platform.machine()})"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("torch", "jax", "optax", "torchvision", "kornia", "monai", "array_api_compat"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:
            continue
    return out


def run(sizes, modes, names, repeat: int) -> tuple[list[dict[str, Any]], dict[str, float]]:
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    bandwidth: dict[str, float] = {}
    for case in cases():
        if names and case.loss not in names:
            continue
        for size in sizes:
            arrays = case.inputs(size, rng)
            nbytes = sum(a.nbytes for a in arrays)
            for fw, (fw_modes, runner, copy_bw) in FRAMEWORKS.items():
                if fw not in case.peers:
                    continue
                label, peer = case.peers[fw]
                for mode in fw_modes:
                    if modes and mode not in modes:
                        continue
                    for backward in (False, True):
                        row = {"loss": case.loss, "size": size, "framework": fw, "mode": mode,
                               "pass": "fwd+bwd" if backward else "fwd", "peer": label}
                        try:
                            ours = _median_ms(*runner(case, arrays, case.ours, mode, backward), repeat)
                            theirs = _median_ms(*runner(case, arrays, peer, mode, backward), repeat)
                        except Exception as exc:  # a peer not installed, or a failure: reported
                            row["error"] = f"{type(exc).__name__}: {exc}"[:120]
                            rows.append(row)
                            print(_format_row(row), flush=True)
                            continue
                        row.update(ours_ms=ours, peer_ms=theirs, ratio=ours / theirs,
                                   overhead_us=(ours - theirs) * 1e3)
                        if case.bandwidth_bound and size == "large" and not backward:
                            if fw not in bandwidth:
                                bandwidth[fw] = copy_bw()
                            row["bw_fraction"] = nbytes / (ours * 1e-3) / bandwidth[fw]
                        rows.append(row)
                        print(_format_row(row), flush=True)
    return rows, bandwidth


def _format_row(r: dict[str, Any]) -> str:
    head = f"| {r['loss']} | {r['size']} | {r['framework']} {r['mode']} | {r['pass']} | {r['peer']} |"
    if "error" in r:
        return head + f" skipped: {r['error']} | | | |"
    bw = f"{100 * r['bw_fraction']:.0f}%" if "bw_fraction" in r else ""
    return head + (f" {r['ours_ms']:.4f} | {r['peer_ms']:.4f} | {r['ratio']:.2f} | {r['overhead_us']:+.1f} | {bw} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", action="append", choices=["small", "large"])
    ap.add_argument("--mode", action="append", choices=["eager", "compiled", "jit"])
    ap.add_argument("--loss", action="append")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--out", default=str(Path(__file__).parent))
    args = ap.parse_args(argv)
    device = _device()
    header = ("| loss | size | mode | pass | peer | ours ms | peer ms | ours/peer | overhead us | of copy bw |\n"
              "|---|---|---|---|---|---|---|---|---|---|")
    print(f"device: {device}\n{header}", flush=True)
    rows, bandwidth = run(args.size or ["small", "large"], args.mode, args.loss, args.repeat)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    versions = _versions()
    tag = "gpu" if "cpu" not in device else "cpu"
    out = Path(args.out)
    meta = {"date": stamp, "device": device, "versions": versions,
            "copy_bandwidth_GBps": {k: v / 1e9 for k, v in bandwidth.items()}}
    (out / f"results-{tag}.json").write_text(json.dumps({**meta, "rows": rows}, indent=1))
    md = [f"# Benchmark, {device}, {stamp}", "",
          "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()), "",
          "Copy bandwidth (read + write): " + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in bandwidth.items()),
          "", header, *(_format_row(r) for r in rows), ""]
    (out / f"results-{tag}.md").write_text("\n".join(md))
    print(f"wrote {out / f'results-{tag}.md'} and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
