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

# -- end D2a ---------------------------------------------------------------------------------------

# -- D2b probabilistic examples (owned by the D2b work) ----------------------------------------

# -- end D2b ---------------------------------------------------------------------------------------

# -- D2c overlap examples (owned by the D2c work) ----------------------------------------------

# -- end D2c ---------------------------------------------------------------------------------------
