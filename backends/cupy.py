"""CuPy: arrays live on a GPU, so reading values would synchronise (``is_host`` is false)."""

from __future__ import annotations

from ._generic import Backend


class CupyBackend(Backend):
    name = "cupy"

    def __init__(self) -> None:
        import array_api_compat.cupy as xp

        super().__init__(xp)

    def is_host(self, x):
        return False

    def to_host(self, x):
        return x.get()
