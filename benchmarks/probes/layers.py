"""What each shared helper costs cross entropy's small eager training step, by bisection.

Builds variants of ``losses.cross_entropy`` from its own source, each replacing one more
helper call of the fused path by inline code doing the same checks for this input (8 x 10
float32 logits, int64 labels): S1 ``fused`` (a direct ``B.fused_loss``), S2 ``_class_logits``
(its calls written out), S3 ``backend_of`` (``backends.get``), S4 ``floating``, S5
``check_axis``, S6 ``check_labels`` (the same rule for who checks the labels: torch's kernel
here, ``B.outside`` where ``B.kernel_checks_labels`` says no). Times
forward+backward steps of each in rounds of shuffled order, in one process, and prints the
median overhead over ``F.cross_entropy`` in us. The edits match the source text of the loss and
fail loudly (AssertionError) once it changes.

    python -m benchmarks.probes.layers [--rounds 25] [--steps 1000]
"""

from __future__ import annotations

import argparse
import inspect
import textwrap

from . import over, shuffled_rounds

_CALL = """    B, logits, labels, axis, probabilistic = _class_logits(name, logits, labels, axis, others=_arrays(class_weight),
                                                           ignore_index=ignore_index, kernel=plain)
"""
_FUSED = 'out = fused(B, "cross_entropy", logits, labels, reduction=reduction, weight=weight, name=name, param=axis)'
_INLINE = [
    # S2: _class_logits written out (integer labels)
    """    B = backend_of(name, ("logits", "labels"), logits, labels)
    (logits,) = floating(B, name, ("logits",), logits)
    axis = check_axis(name, "axis", axis, logits.ndim)
    probabilistic = False
    check_labels(B, name, labels, "logits", logits, axis, logits.shape[axis], ignore_index, plain)
""",
    ('backend_of(name, ("logits", "labels"), logits, labels)', "backends.get(logits, labels)"),
    ('    (logits,) = floating(B, name, ("logits",), logits)\n',
     "    if logits.dtype not in B.wide_floats:\n        raise TypeError\n"),
    ('    axis = check_axis(name, "axis", axis, logits.ndim)\n', "    axis %= logits.ndim\n"),
    ('    check_labels(B, name, labels, "logits", logits, axis, logits.shape[axis], ignore_index, plain)\n',
     "    if labels.dtype not in B._integers or labels.shape != logits.shape[:axis]:\n"
     "        raise TypeError\n"
     "    if not B.kernel_checks_labels(logits, labels, axis) and B.outside(labels, 0, logits.shape[axis] - 1):\n"
     "        raise ValueError\n"),
]


def _variants():
    """``{name: function}``: the peer, ours, and S1-S6 (each one more helper inlined)."""
    import torch.nn.functional as F

    import backends
    import losses
    from losses import classification

    source = textwrap.dedent(inspect.getsource(classification.cross_entropy))
    source = source[source.index("def cross_entropy"):]  # without the registering decorator
    assert _CALL in source and _FUSED in source, "cross_entropy's source changed: update the probe"
    source = source.replace(_FUSED, 'out = B.fused_loss("cross_entropy", logits, labels, reduction, axis)')
    out = {"peer": F.cross_entropy, "ours": losses.cross_entropy}
    body = None
    for i, step in enumerate([None, *_INLINE], start=1):
        if step is None:
            text = source
        elif isinstance(step, str):
            body = step
            text = source.replace(_CALL, body)
        else:
            assert body is not None and step[0] in body, f"S{i}: {step[0]!r} not found"
            body = body.replace(*step)
            text = source.replace(_CALL, body)
        namespace = dict(classification.__dict__, backends=backends)
        exec(text, namespace)  # noqa: S102 - the loss's own source, edited above
        out[f"S{i}"] = namespace["cross_entropy"]
    return out


def measure(rounds: int = 25, steps: int = 1000) -> dict[str, float]:
    """Median forward+backward overhead over the peer of each variant, in us."""
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 10, generator=g, requires_grad=True)
    y = torch.randint(0, 10, (8,), generator=g)
    variants = _variants()
    reference = variants["ours"](x, y).item()
    for name, fn in variants.items():
        if abs(fn(x, y).item() - reference) > 1e-6:
            raise RuntimeError(f"{name} computes another value")

    def step(name: str) -> None:
        loss = variants[name](x, y)
        x.grad = None
        loss.backward()

    return over(shuffled_rounds(step, variants, rounds, steps, warmup=max(steps // 10, 1)), "peer")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--steps", type=int, default=1000)
    args = ap.parse_args(argv)
    row = measure(args.rounds, args.steps)
    print(f"cross_entropy fwd+bwd: peer {row.pop('peer us'):.1f} us; over it: "
          + ", ".join(f"{k} {v:+.1f}" for k, v in row.items()))


if __name__ == "__main__":
    main()
