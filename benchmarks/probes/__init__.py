"""Measurements behind the reasons RESULTS.md gives for the targets missed on the CPU.

``python -m benchmarks.probes.<name>`` (small_step, layers, objects, value_checks, guards, wrappers:
torch; jit_forms: JAX); each prints its numbers. CPU.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterable


def shuffled_rounds(step: Callable[[str], object], names: Iterable[str], rounds: int, inner: int,
                    seed: int = 0, warmup: int = 0) -> dict[str, list[float]]:
    """Microseconds per call of ``step(name)`` for each name, one entry per round: every round
    runs each name ``inner`` times, in an order shuffled round by round, after ``warmup``
    untimed calls of each."""
    keys = list(names)
    for k in keys:
        for _ in range(warmup):
            step(k)
    times: dict[str, list[float]] = {k: [] for k in keys}
    order = random.Random(seed)
    for _ in range(rounds):
        order.shuffle(keys)
        for k in keys:
            t0 = time.perf_counter()
            for _ in range(inner):
                step(k)
            times[k].append((time.perf_counter() - t0) / inner * 1e6)
    return times


def over(times: dict[str, list[float]], reference: str) -> dict[str, float]:
    """Each name's median over rounds of its time minus the reference's in the same round, and
    the reference's own median under ``"<reference> us"``: paired, so drifts of the machine
    between rounds cancel."""
    ref = times[reference]
    out = {k: statistics.median(a - b for a, b in zip(v, ref, strict=True)) for k, v in times.items() if k != reference}
    out[f"{reference} us"] = statistics.median(ref)
    return out
