"""The catalogue: every loss by name, with its family, example inputs and differentiable arguments.

Public and stable::

    import losses
    entry = losses.catalog.get("huber")
    entry.family            # "D1a"
    entry.taxonomy          # "regression (point-wise)"
    args, kwargs = losses.catalog.examples("huber", numpy.random.default_rng(0))
    entry.fn(*args, **kwargs)

Example inputs are NumPy float64 arrays (integer labels stay integer); the tests, the
command line and the benchmarks convert them to each backend. ``Entry.differentiable``
names the positional arguments a gradient is taken with respect to.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

TAXONOMY = {
    "D1a": "regression (point-wise)",
    "D1b": "bounding boxes (geometry-aware)",
    "D2a": "margin (decision boundaries)",
    "D2b": "probabilistic (distribution divergence)",
    "D2c": "overlap (segmentation)",
    "D3a": "metric learning (Euclidean and cosine)",
    "D3b": "angular margin",
    "G1": "generative: adversarial",
    "G2": "generative: distribution matching",
    "G3": "generative: diffusion",
    "G4": "generative: feature-based and image quality",
    "S": "sequence",
}


@dataclass(frozen=True)
class Entry:
    name: str
    fn: Callable[..., Any]
    family: str
    example: Callable[[np.random.Generator], tuple[tuple[Any, ...], dict[str, Any]]]
    differentiable: tuple[str, ...]
    stateful: bool
    summary: str

    @property
    def taxonomy(self) -> str:
        return TAXONOMY[self.family]

    @property
    def arg_names(self) -> tuple[str, ...]:
        """The positional (array) parameters, in order."""
        params = inspect.signature(self.fn).parameters.values()
        return tuple(p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD)

    @property
    def differentiable_positions(self) -> tuple[int, ...]:
        names = self.arg_names
        return tuple(names.index(n) for n in self.differentiable)


_REGISTRY: dict[str, Entry] = {}


def register(fn: Callable[..., Any], **fields: Any) -> None:
    if fn.__name__ in _REGISTRY:
        raise ValueError(f"loss {fn.__name__!r} is registered twice")
    if fields["family"] not in TAXONOMY:
        raise ValueError(f"{fn.__name__}: unknown family {fields['family']!r}")
    _REGISTRY[fn.__name__] = Entry(name=fn.__name__, fn=fn, **fields)


def _loaded() -> dict[str, Entry]:
    import losses  # noqa: F401  (importing the package registers every family)

    return _REGISTRY


def names(family: str | None = None) -> list[str]:
    """Registered loss names, in catalogue order, optionally of one family."""
    return [n for n, e in _loaded().items() if family is None or e.family == family]


def entries(families: Any = None) -> list[Entry]:
    fams = None if families is None else set(families)
    return [e for e in _loaded().values() if fams is None or e.family in fams]


def get(name: str) -> Entry:
    try:
        return _loaded()[name]
    except KeyError:
        raise KeyError(f"no loss named {name!r}; see losses.catalog.names()") from None


def examples(name: str, rng: np.random.Generator | None = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Example ``(args, kwargs)`` for ``name``, NumPy float64 arrays drawn from ``rng``."""
    return get(name).example(np.random.default_rng(0) if rng is None else rng)


# -- example generators, shared by families ---------------------------------------------------
def regression_pair(rng: np.random.Generator, shape: tuple[int, ...] = (8, 4), **kwargs: Any):
    """``pred`` and ``target`` of ``shape`` with residuals spread over [-3, 3], away from 0."""
    target = rng.normal(size=shape)
    r = rng.uniform(0.05, 3.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return (target + r, target), kwargs


def positive_pair(rng: np.random.Generator, shape: tuple[int, ...] = (8, 4), **kwargs: Any):
    """``pred`` and ``target`` in (0, 5), for losses of logs (rmsle)."""
    return (rng.uniform(0.1, 5.0, size=shape), rng.uniform(0.1, 5.0, size=shape)), kwargs


# -- D2a margin examples (owned by the D2a work) ------------------------------------------------
def margin_pair(rng: np.random.Generator, shape: tuple[int, ...] = (8, 2), **kwargs: Any):
    """``scores`` and a ±1 ``target`` whose margins z = target·scores lie in (k + 0.1, k + 0.9),
    k = -3..2: spread over (-3, 3) and away from every integer, where the margin losses
    have their kinks (with the default hyperparameters)."""
    target = rng.choice([-1.0, 1.0], size=shape)
    z = rng.integers(-3, 3, size=shape) + rng.uniform(0.1, 0.9, size=shape)
    return (target * z, target), kwargs


def multiclass_scores(rng: np.random.Generator, n: int = 8, k: int = 5, **kwargs: Any):
    """``scores`` (n, k) and int64 ``labels`` (n,), the true class raised by U(0, 4) so that
    some rows meet the margin; each row redrawn until its Crammer-Singer margin
    + max_{j≠y} s_j - s_y is at least 0.1 from 0 and its best rival leads the next by at
    least 0.1 (away from the kinks)."""
    margin = kwargs.get("margin", 1.0)
    labels = rng.integers(0, k, size=n)
    scores = np.empty((n, k))
    for i in range(n):
        while True:
            s = rng.normal(size=k)
            s[labels[i]] += rng.uniform(0.0, 4.0)
            rivals = np.sort(np.delete(s, labels[i]))
            if abs(margin + rivals[-1] - s[labels[i]]) >= 0.1 and rivals[-1] - rivals[-2] >= 0.1:
                break
        scores[i] = s
    return (scores, labels), kwargs


# -- end D2a ---------------------------------------------------------------------------------------

# -- D2b probabilistic examples (owned by the D2b work) ----------------------------------------
def class_logits(rng: np.random.Generator, n: int = 8, k: int = 5, **kwargs: Any):
    """``logits`` (n, k) spread over about ±3 and int64 ``labels`` (n,) in [0, k)."""
    return (rng.normal(scale=1.5, size=(n, k)), rng.integers(0, k, size=n)), kwargs


def binary_logits(rng: np.random.Generator, shape: tuple[int, ...] = (8, 3), **kwargs: Any):
    """``logits`` of ``shape`` spread over about ±4 and a 0/1 float ``target`` of that shape."""
    return (rng.normal(scale=2.0, size=shape), rng.integers(0, 2, size=shape).astype(np.float64)), kwargs


def ghm_logits(rng: np.random.Generator, shape: tuple[int, ...] = (8, 3), bins: int = 10,
               momentum: float = 0.75, **kwargs: Any):
    """``logits`` and a 0/1 ``target`` whose gradient norms g = |σ(x) - t| lie at least 0.2 bin
    widths inside their bin (finite differences never cross an edge), with ``momentum`` and a
    previous ``state`` of positive accumulated counts, so the momentum update is exercised."""
    target = rng.integers(0, 2, size=shape).astype(np.float64)
    which = rng.integers(0, bins, size=shape)
    g = (which + rng.uniform(0.2, 0.8, size=shape)) / bins
    x = np.log(g) - np.log1p(-g)  # σ(x) = g
    logits = np.where(target == 1, -x, x)  # |σ(x) - t| = g either way
    state = {"acc_sum": rng.uniform(0.5, 6.0, size=bins)}
    return (logits, target), {"bins": bins, "momentum": momentum, "state": state, **kwargs}


def distributions(rng: np.random.Generator, n: int = 8, k: int = 5, **kwargs: Any):
    """Two batches of strictly positive probability vectors ``p``, ``q`` (n, k) (softmaxes)."""
    def softmax(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    return (softmax(rng.normal(size=(n, k))), softmax(rng.normal(size=(n, k)))), kwargs


# -- end D2b ---------------------------------------------------------------------------------------

# -- D2c overlap examples (owned by the D2c work) ----------------------------------------------
def _softmax_np(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def overlap_pair(rng: np.random.Generator, shape: tuple[int, ...] = (6, 4, 4, 3), **kwargs: Any):
    """``probs`` (a softmax over the last, class axis, so strictly inside (0, 1)) and a one-hot
    ``target`` of ``shape`` (N, H, W, C); every overlap loss is smooth there."""
    probs = _softmax_np(rng.normal(size=shape))
    target = np.eye(shape[-1])[rng.integers(0, shape[-1], size=shape[:-1])]
    return (probs, target), kwargs


def _min_gap(errors: np.ndarray) -> float:
    """The smallest distance between two errors of one row (last axis)."""
    return float(np.diff(np.sort(errors, axis=-1), axis=-1).min())


def lovasz_softmax_example(rng: np.random.Generator, shape: tuple[int, ...] = (6, 4, 4, 4), **kwargs: Any):
    """``probs`` (N, H, W, C) and int64 ``labels`` (N, H, W) drawn from the first C - 1 classes,
    so the last class is absent (skipped by ``classes="present"``); redrawn until the errors
    |onehot - p| of each class are at least 1e-5 apart over the batch, so that the sort order
    is unique and finite differences (h = 1e-6) never cross a tie."""
    c = shape[-1]
    while True:
        probs = _softmax_np(2.0 * rng.normal(size=shape))
        labels = rng.integers(0, c - 1, size=shape[:-1])
        errors = np.abs(np.eye(c)[labels] - probs).reshape(-1, c).T
        if _min_gap(errors) >= 1e-5:
            return (probs, labels), kwargs


def lovasz_hinge_example(rng: np.random.Generator, shape: tuple[int, ...] = (6, 4, 4), **kwargs: Any):
    """``logits`` (N, H, W) and a 0/1 float ``target``; redrawn until the hinge errors
    1 - logits·(2t - 1) of each sample are at least 1e-5 apart and 1e-3 away from 0 (the
    kink of the relu)."""
    while True:
        logits = 1.5 * rng.normal(size=shape)
        target = rng.integers(0, 2, size=shape).astype(np.float64)
        errors = (1.0 - logits * (2.0 * target - 1.0)).reshape(shape[0], -1)
        if _min_gap(errors) >= 1e-5 and np.abs(errors).min() >= 1e-3:
            return (logits, target), kwargs


# -- end D2c ---------------------------------------------------------------------------------------
