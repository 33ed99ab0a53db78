"""Shared fixtures.  ``run_cli`` states the exit status it expects, as borg's
``cmd(..., exit_code=0)`` does, and prints the output when it is wrong."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from coda_restore.cli import app, commands

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
