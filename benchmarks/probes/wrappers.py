"""What the harness's wrappers add to a compiled call, for ours and for the peer.

The harness resolves both sides before timing (``Case.ours()`` and the peer's factory) and
calls each through a one-line wrapper of the same form (``_same_wrappers``). This times, in
interleaved rounds at one large size, those two and a plain lambda calling each function,
all compiled as the harness does (``torch.compile``, no grad), and prints each one's median
difference from the harness's peer in us: the two harness rows should differ as the two
lambdas do. (Until 2026-11-24 the harness compiled ``Case.ours`` itself, which read the
case's attributes in the traced frame, and peers that imported their module inside the
call: this probe measured +14 to +38 us for the first and +6 to +23 for the second.)

    python -m benchmarks.probes.wrappers [--loss mse] [--rounds 250] [--elements 4194304]
"""

from __future__ import annotations

import argparse

import numpy as np

_POINTWISE = ("huber", "mae", "mse", "smooth_l1")


def measure(loss: str = "mse", rounds: int = 250, elements: int = 1 << 22) -> dict[str, float]:
    """``{variant: median us over the harness's peer}`` (its own median under "peer us")."""
    import time

    import torch

    from ..__main__ import _same_wrappers
    from ..cases import cases

    case = next(c for c in cases() if c.loss == loss)
    ours, peer = case.ours(), case.peers["torch"][1]()
    harness_ours, harness_peer = _same_wrappers(ours, peer)
    variants = {
        "harness peer": harness_peer,
        "harness ours": harness_ours,
        "lambda peer": lambda p, t: peer(p, t),
        "lambda ours": lambda p, t: ours(p, t),
    }
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(elements, generator=g), torch.randn(elements, generator=g)
    times: dict[str, list[float]] = {k: [] for k in variants}
    order = np.random.default_rng(0)
    with torch.no_grad():
        compiled = {k: torch.compile(f, fullgraph=False, dynamic=False) for k, f in variants.items()}
        for f in compiled.values():
            for _ in range(3):
                f(a, b)
        names = list(compiled)
        for _ in range(rounds):
            for i in order.permutation(len(names)):
                t0 = time.perf_counter()
                compiled[names[i]](a, b)
                times[names[i]].append(time.perf_counter() - t0)
    base = np.asarray(times["harness peer"])
    out = {k: float(np.median(np.asarray(v) - base)) * 1e6 for k, v in times.items()}
    out["peer us"] = float(np.median(base)) * 1e6
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loss", default="mse", choices=_POINTWISE)
    ap.add_argument("--rounds", type=int, default=250)
    ap.add_argument("--elements", type=int, default=1 << 22)
    args = ap.parse_args(argv)
    row = measure(args.loss, args.rounds, args.elements)
    parts = ", ".join(f"{k} {v:+.1f}" for k, v in row.items() if k not in ("peer us", "harness peer"))
    print(f"{args.loss}: the harness's peer {row['peer us']:.0f} us; over it: {parts}")


if __name__ == "__main__":
    main()
