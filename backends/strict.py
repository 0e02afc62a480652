"""array-api-strict: the standard and nothing more; proves every loss is portable."""

from __future__ import annotations

from ._generic import Backend


class StrictBackend(Backend):
    name = "strict"

    def __init__(self) -> None:
        import array_api_strict as xp

        super().__init__(xp)
