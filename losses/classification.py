"""D2b losses (see ../shared/CATALOG.md). Filled in by the D2b work; nothing is exported yet."""

from __future__ import annotations

__all__: list[str] = []
