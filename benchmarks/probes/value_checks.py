"""What a value check costs inside a small eager training step, and where it goes.

A tversky training step (2 x 4 x 8 x 8 probabilities and target, ``losses.tversky`` with
value checks off, then its backward) is timed in interleaved rounds alone and with extra
work before it: ``aminmax`` ``torch.aminmax`` and two ``.item()`` on both arrays (the least a
range check of 512 values reads), ``outside`` the adapter's ``Backend.outside`` on both
arrays (what a loss calls), ``layered`` the path torch's adapter took before 58be5ee (its
few-values test, then the generic ``can_read``, the size test and ``value_range``'s
``aminmax``), ``checked`` the loss itself with value checks on. Prints the median extra us per step over the bare step;
the backward between two steps leaves the caches cold, as in training.

    python -m benchmarks.probes.value_checks [--rounds 50] [--inner 20]
"""

from __future__ import annotations

import argparse

from . import over, shuffled_rounds


def _setup():
    import math

    import torch

    import backends
    import losses

    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(2, 4, 8, 8, generator=g), dim=1).requires_grad_(True)
    t = torch.nn.functional.one_hot(torch.randint(0, 4, (2, 8, 8), generator=g), 4).permute(0, 3, 1, 2).float()
    B = backends.get(p)

    def aminmax():
        for x in (p, t):
            low, high = torch.aminmax(x.detach())
            low.item()
            high.item()

    def outside():
        B.outside(p, 0.0, 1.0)
        B.outside(t, 0.0, 1.0)

    def layered():
        for x in (p, t):
            if x.is_cpu and x.numel() <= 32 and not torch.compiler.is_compiling():
                continue  # (not taken: 512 values)
            if not B.can_read(x, False) or math.prod(x.shape) == 0:
                continue
            y = x.to(torch.uint8) if x.dtype == torch.bool else x
            low, high = torch.aminmax(y.detach() if y.requires_grad else y)
            _ = not (low.item() >= 0.0 and high.item() <= 1.0)

    extras = {"bare": None, "aminmax": aminmax, "outside": outside, "layered": layered, "checked": None}

    def step(name):
        extra = extras[name]
        if extra is not None:
            extra()
        previous = losses.set_value_checks("auto" if name == "checked" else "never")
        try:
            loss = losses.tversky(p, t, axis=1)
        finally:
            losses.set_value_checks(previous)
        p.grad = None
        loss.backward()
        return loss

    return step, list(extras)


def measure(rounds: int = 50, inner: int = 20) -> dict[str, float]:
    """``{variant: median extra us per step over the bare step}`` and ``"bare us"``."""
    step, names = _setup()
    return over(shuffled_rounds(step, names, rounds, inner, warmup=30), "bare")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--inner", type=int, default=20)
    args = ap.parse_args(argv)
    out = measure(args.rounds, args.inner)
    parts = ", ".join(f"{k} {v:+.1f}" for k, v in out.items() if k != "bare us")
    print(f"tversky step (two checked arrays of 512 values): bare {out['bare us']:.1f} us; over it: {parts}")


if __name__ == "__main__":
    main()
