"""The two chain rules a restore can follow (DESIGN.md rule 2)."""

from __future__ import annotations

import enum


class ChainMode(enum.Enum):
    EXACT = "exact"
    MINIMAL = "minimal"
