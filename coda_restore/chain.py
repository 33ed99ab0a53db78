"""How a chain of dumps is linked: shared by the planner and the merge."""

from __future__ import annotations

import enum


class ChainMode(str, enum.Enum):
    """``exact``: the level 0 and every recorded dump after it; each
    incremental's ``oldest`` must equal its predecessor's ``latest``.
    ``minimal``: Amanda's chain (fewer dumps); the link is not provable and
    deletions made in skipped dumps come back as orphan vnodes."""

    EXACT = "exact"
    MINIMAL = "minimal"
