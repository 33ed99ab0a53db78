"""Shared fixtures.  ``run_cli`` states the exit status it expects, as borg's
``cmd(..., exit_code=0)`` does, and prints the output when it is wrong."""

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

from typer.testing import CliRunner  # noqa: E402

from coda_restore.cli import app, commands  # noqa: E402

commands.load_all()  # in-process runs see every command, as --help does
from lab.fixture import amanda_lab  # noqa: F401  (the real-Amanda lab, session-scoped)
from lab.coda_lab import coda_lab  # noqa: F401  (the Coda lab: amcoda under amdump)


def run_cli(*args, exit_status: int | None = 0, input: bytes | str | None = None):
    """Run ``coda-restore ARGS`` in-process; return the click Result."""
    runner = CliRunner()
    result = runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
    assert exit_status is None or result.exit_code == exit_status, (
        f"coda-restore {' '.join(map(str, args))} exited {result.exit_code}, "
        f"expected {exit_status}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result


@pytest.fixture
def cli():
    return run_cli
