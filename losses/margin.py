"""D2a losses (see ../shared/CATALOG.md). Filled in by the D2a work; nothing is exported yet."""

from __future__ import annotations

__all__: list[str] = []
