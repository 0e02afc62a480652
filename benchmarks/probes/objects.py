"""What a small eager training step pays for: Python frames, or objects built per call.

Wraps ``F.cross_entropy`` (8 x 10 logits) in functions that first do one kind of extra work,
and times each in interleaved rounds as a loop of forwards and as a loop of
forward+backward steps (where the caches are cold when the forward starts): ``calls`` 30
calls of small distinct functions, ``fstring`` one f-string, ``kwargs`` one call through
``**kwargs``, ``shape`` two shape tuples and a slice. Prints the median overhead of each
over the bare peer, in us per call; the rounds' paired differences keep drifts of the
machine out of it.

    python -m benchmarks.probes.objects [--rounds 200] [--inner 20]
"""

from __future__ import annotations

import argparse

from . import over, shuffled_rounds


def _variants():
    import torch.nn.functional as F

    ce = F.cross_entropy
    space: dict = {}
    # distinct code objects (one loop over one function would stay in the caches)
    exec("\n".join(f"def f{i}(a):\n    return a\n" for i in range(30)), space)
    body = "def calls(a, b):\n" + "".join(f"    f{i}(a)\n" for i in range(30)) + "    return ce(a, b)\n"
    exec(body, {**space, "ce": ce}, space)

    def fstring(a, b):
        k = a.shape[-1]
        _ = f"integers in [0, {k})"
        return ce(a, b)

    def _named(name, **arrays):
        return arrays

    def kwargs(a, b):
        _named("x", logits=a, labels=b)
        return ce(a, b)

    def shape(a, b):
        s = tuple(a.shape)
        _ = (tuple(b.shape), s[:1] + s[2:])
        return ce(a, b)

    return {"peer": ce, "calls": space["calls"], "fstring": fstring, "kwargs": kwargs, "shape": shape}


def measure(rounds: int = 200, inner: int = 20) -> dict[str, dict[str, float]]:
    """``{"fwd"|"fwd+bwd": {variant: median us over the peer}}`` (the peer's own time under
    "peer us")."""
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 10, generator=g, requires_grad=True)
    y = torch.randint(0, 10, (8,), generator=g)
    out: dict[str, dict[str, float]] = {}
    for backward in (False, True):
        variants = _variants()

        def step(name, backward=backward, variants=variants):
            loss = variants[name](x, y)
            if backward:
                x.grad = None
                loss.backward()

        times = shuffled_rounds(step, variants, rounds, inner, seed=int(backward), warmup=100)
        out["fwd+bwd" if backward else "fwd"] = over(times, "peer")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--inner", type=int, default=20)
    args = ap.parse_args(argv)
    for which, row in measure(args.rounds, args.inner).items():
        parts = ", ".join(f"{k} {v:+.1f}" for k, v in row.items() if k != "peer us")
        print(f"cross_entropy {which}: peer {row['peer us']:.1f} us; over it: {parts}")


if __name__ == "__main__":
    main()
