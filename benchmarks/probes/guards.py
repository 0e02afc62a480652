"""Dynamo's guard check, the cost around an identical kernel under ``torch.compile``.

Compiles (``fullgraph=True``) a lambda calling ``F.mse_loss`` (the peer), one calling
``losses.mse`` and one calling ``minimal``, a loss body with the least a checked loss needs
(backend lookup, dtype, shape and reduction checks inline, the backend's fused call). Then, in
rounds, checks each compiled frame's guards right after a copy of 64 MB (the caches as a
large loss leaves them) and again at once (warm), and prints the medians in us with each
frame's number of guard-tree lines. Uses Dynamo's debugging accessor for a frame's cache
entries (``torch._dynamo.eval_frame._debug_get_cache_entry_list``), so it follows torch's
internals and may need updating with them.

    python -m benchmarks.probes.guards [--rounds 300] [--elements 4194304]
"""

from __future__ import annotations

import argparse
import statistics
import time

_REDUCTIONS = ("mean", "sum", "none")


def minimal(pred, target, *, reduction="mean"):
    """mse with the least a checked loss does before the fused call."""
    import backends

    B = backends.get(pred, target)
    if pred.dtype not in B.wide_floats or target.dtype != pred.dtype:
        raise TypeError("minimal: float32 or float64 arrays of one dtype")
    if pred.shape != target.shape:
        raise ValueError("minimal: shapes differ")
    if reduction not in _REDUCTIONS:
        raise ValueError("minimal: reduction")
    return B.fused_loss("mse", pred, target, reduction, None)


def measure(rounds: int = 300, elements: int = 1 << 22) -> dict[str, dict[str, float]]:
    """``{frame: {"cold us", "warm us", "guard lines"}}`` for "peer", "ours" and "minimal"."""
    import torch
    import torch.nn.functional as F

    import losses

    # one code object each: Dynamo keeps its compiled entries per code object
    frames = {"peer": lambda p, t: F.mse_loss(p, t), "ours": lambda p, t: losses.mse(p, t),
              "minimal": lambda p, t: minimal(p, t)}
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(elements, generator=g), torch.randn(elements, generator=g)
    junk = torch.randn(1 << 24, generator=g)  # 64 MB
    sink = torch.empty_like(junk)
    checks = {}
    with torch.no_grad():
        for name, fn in frames.items():
            compiled = torch.compile(fn, fullgraph=True)
            compiled(a, b)
            compiled(a, b)
            (entry,) = torch._dynamo.eval_frame._debug_get_cache_entry_list(fn.__code__)
            checks[name] = entry.guard_manager
        cold: dict[str, list[float]] = {k: [] for k in frames}
        warm: dict[str, list[float]] = {k: [] for k in frames}
        local = {"p": a, "t": b, "F": F, "losses": losses}  # the lambdas' arguments and free variables
        for _ in range(rounds):
            for name, guards in checks.items():
                sink.copy_(junk)
                t0 = time.perf_counter()
                ok = guards.check(local)
                t1 = time.perf_counter()
                guards.check(local)
                t2 = time.perf_counter()
                if not ok:
                    raise RuntimeError(f"{name}: its guards failed on the inputs it was compiled for")
                cold[name].append((t1 - t0) * 1e6)
                warm[name].append((t2 - t1) * 1e6)
    return {name: {"cold us": statistics.median(cold[name]), "warm us": statistics.median(warm[name]),
                   "guard lines": float(len(str(checks[name]).splitlines()))} for name in frames}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--elements", type=int, default=1 << 22)
    args = ap.parse_args(argv)
    for name, row in measure(args.rounds, args.elements).items():
        print(f"{name}: guards checked in {row['cold us']:.1f} us after a 64 MB copy, "
              f"{row['warm us']:.2f} us warm ({row['guard lines']:.0f} lines of guard tree)")


if __name__ == "__main__":
    main()
