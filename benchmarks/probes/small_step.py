"""Overhead per small eager training step (forward+backward) over the torch peer, split up.

For cross entropy (8 x 10 logits) and BCE with logits (32 items), in interleaved rounds:
``bare`` a one-line Python function that only calls the peer (what any wrapper costs),
``checked`` a few lines that check only what the contract needs (dtypes, shapes, the
label/target range read as Python numbers) then call the peer, ``ours`` and ``ours
unchecked`` (``set_value_checks("never")``). Prints the median overhead of each in us, for
a loop of forwards and for forward+backward steps.

    python -m benchmarks.probes.small_step [--rounds 7] [--steps 2000]
"""

from __future__ import annotations

import argparse
import time

from . import over


def _setups():
    import torch
    import torch.nn.functional as F

    import losses

    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 10, generator=g, requires_grad=True)
    y = torch.randint(0, 10, (8,), generator=g)
    z = torch.randn(32, generator=g, requires_grad=True)
    t = (torch.rand(32, generator=g) < 0.3).float()
    integers = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)

    def ce_bare(logits, labels):
        return F.cross_entropy(logits, labels)

    def ce_checked(logits, labels):
        if not logits.dtype.is_floating_point or labels.dtype not in integers:
            raise TypeError("dtypes")
        if labels.shape != logits.shape[:-1]:
            raise ValueError("shape")
        v = labels.tolist()
        if min(v) < 0 or max(v) >= logits.shape[-1]:
            raise ValueError("range")
        return F.cross_entropy(logits, labels)

    def bce_bare(logits, target):
        return F.binary_cross_entropy_with_logits(logits, target)

    def bce_checked(logits, target):
        if not logits.dtype.is_floating_point or not target.dtype.is_floating_point:
            raise TypeError("dtypes")
        if logits.shape != target.shape:
            raise ValueError("shape")
        v = target.tolist()
        if not (min(v) >= 0.0 and max(v) <= 1.0):
            raise ValueError("range")
        return F.binary_cross_entropy_with_logits(logits, target)

    return {
        "cross_entropy": (x, (x, y), F.cross_entropy, ce_bare, ce_checked, losses.cross_entropy),
        "binary_cross_entropy": (z, (z, t), F.binary_cross_entropy_with_logits, bce_bare, bce_checked,
                                 losses.binary_cross_entropy),
    }


def _per_step_us(fn, args, leaf, backward: bool, steps: int, checks: str = "auto") -> float:
    """Microseconds per call of ``fn(*args)`` (with ``backward``: and its backward into ``leaf``)."""
    import losses

    def step():
        loss = fn(*args)
        if backward:
            leaf.grad = None
            loss.backward()

    previous = losses.set_value_checks(checks)
    try:
        for _ in range(max(steps // 10, 1)):
            step()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        return (time.perf_counter() - t0) / steps * 1e6
    finally:
        losses.set_value_checks(previous)


def measure(rounds: int = 7, steps: int = 2000) -> dict[str, dict[str, dict[str, float]]]:
    """``{loss: {"fwd"|"fwd+bwd": {variant: median us over the peer}}}`` (the peer's own time
    under the key "peer us")."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, (leaf, args, peer, bare, checked, ours) in _setups().items():
        out[name] = {}
        for backward in (False, True):
            variants = {"peer": (peer, "auto"), "bare": (bare, "auto"), "checked": (checked, "auto"),
                        "ours": (ours, "auto"), "ours unchecked": (ours, "never")}
            times: dict[str, list[float]] = {k: [] for k in variants}
            for _ in range(rounds):
                for k, (fn, checks) in variants.items():
                    times[k].append(_per_step_us(fn, args, leaf, backward, steps, checks))
            out[name]["fwd+bwd" if backward else "fwd"] = over(times, "peer")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=2000)
    args = ap.parse_args(argv)
    for name, passes in measure(args.rounds, args.steps).items():
        for which, row in passes.items():
            parts = ", ".join(f"{k} {v:+.1f}" for k, v in row.items() if k != "peer us")
            print(f"{name} {which}: peer {row['peer us']:.1f} us; over it: {parts}")


if __name__ == "__main__":
    main()
