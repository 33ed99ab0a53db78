"""Fixtures of the lab tests (the labs themselves are in tests/conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def small_disk(tmp_path):
    """A real filesystem of a few KiB (tmpfs), to fill up."""
    def mount(kib: int) -> Path:
        where = tmp_path / f"disk{kib}"
        where.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(where)], check=True)
        mounted.append(where)
        return where

    mounted: list[Path] = []
    yield mount
    for where in mounted:
        subprocess.run(["umount", str(where)], check=True)
