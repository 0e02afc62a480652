"""jax.jit forwards of ours against optax and forms written out by hand, same arrays, one
process, shuffled rounds: whether a jit row's ratio is the computation or the harness.

mse (ours, optax's squared error, (p - t)·(p - t) and (p - t)**2, each the mean) and huber
(ours, optax's, the select form and the min form written out), forward and
forward+backward (``jax.value_and_grad``). Prints the median ms of each.

    python -m benchmarks.probes.jit_forms [--log2 26] [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics


def _forms():
    import jax.numpy as jnp
    import optax

    import losses

    def select(p, t):
        r = p - t
        a = jnp.abs(r)
        return jnp.mean(jnp.where(a <= 1.0, 0.5 * r * r, a - 0.5))

    def min_form(p, t):
        a = jnp.abs(p - t)
        q = jnp.minimum(a, 1.0)
        return jnp.mean(0.5 * q**2 + (a - q))

    return {
        "mse ours": lambda p, t: losses.mse(p, t),
        "mse optax": lambda p, t: optax.squared_error(p, t).mean(),
        "mse (p-t)*(p-t)": lambda p, t: jnp.mean((p - t) * (p - t)),
        "mse (p-t)**2": lambda p, t: jnp.mean((p - t) ** 2),
        "huber ours": lambda p, t: losses.huber(p, t),
        "huber optax": lambda p, t: optax.huber_loss(p, t, delta=1.0).mean(),
        "huber select": select,
        "huber min form": min_form,
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--log2", type=int, default=26, help="elements: 2**log2 (default 26, issue 7's anchor)")
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args(argv)
    import jax
    import numpy as np

    from . import shuffled_rounds

    rng = np.random.default_rng(0)
    n = 1 << args.log2
    p, t = (jax.numpy.asarray(rng.normal(size=n).astype(np.float32)) for _ in range(2))
    calls = {}
    for name, fn in _forms().items():
        fwd, both = jax.jit(fn), jax.jit(jax.value_and_grad(fn))
        calls[f"{name} fwd"] = lambda f=fwd: f(p, t).block_until_ready()
        calls[f"{name} fwd+bwd"] = lambda f=both: jax.block_until_ready(f(p, t))
    for call in calls.values():
        call()
        call()
    times = shuffled_rounds(lambda k: calls[k](), calls, args.rounds, 1)
    print(f"jax.jit on {jax.devices()[0].platform}, 2^{args.log2} float32 elements, {args.rounds} rounds")
    for k, v in times.items():
        print(f"  {k:26s} {statistics.median(v) / 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
