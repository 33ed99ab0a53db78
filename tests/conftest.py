"""Fixtures every test folder shares: the guard for the installed wheel,
the labs (testbed/lab) and ``cli`` (tests/support/cli_runner.py).
Fixtures of one folder live in that folder's conftest.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


def _guard_installed() -> None:
    """Under tests/setup-and-run (CODARESTORE_TEST_INSTALLED=1) the suite
    tests the installed wheel: coda_restore must not come from this checkout,
    nor any package from outside the venv."""
    import coda_restore

    checkout, prefix = Path(__file__).resolve().parent.parent, Path(sys.prefix).resolve()
    if Path(coda_restore.__file__).resolve().is_relative_to(checkout):
        pytest.exit(f"coda_restore was imported from the checkout ({coda_restore.__file__}), "
                    "not from the installed wheel", returncode=4)
    foreign = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))
               and not Path(p).resolve().is_relative_to(prefix)]
    if sys.prefix == sys.base_prefix or foreign:
        pytest.exit(f"not a clean venv: prefix {sys.prefix}, packages from {foreign}", returncode=4)


if os.environ.get("CODARESTORE_TEST_INSTALLED"):
    _guard_installed()

from coda_restore.cli import commands  # noqa: E402

commands.load_all()  # in-process runs see every command, as --help does
from lab.fixture import amanda_lab  # noqa: F401  (the real-Amanda lab, session-scoped)
from lab.coda_lab import coda_lab  # noqa: F401  (the Coda lab: amcoda under amdump)
from cli_runner import run_cli  # noqa: E402  (tests/support/cli_runner.py)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(autouse=True, scope="session")
def _index_cache(tmp_path_factory):
    """The catalog indexes of the suite's records go to a cache of its own,
    not the user's ~/.cache (children started by tests see it too)."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
