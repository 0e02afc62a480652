"""NumPy: the array-api-compat NumPy namespace; the generic primitives serve as they are."""

from __future__ import annotations

from ._generic import Backend


class NumpyBackend(Backend):
    name = "numpy"

    def __init__(self) -> None:
        import array_api_compat.numpy as xp

        super().__init__(xp)
