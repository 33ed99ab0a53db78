"""``run_cli`` states the exit status it expects, as borg's
``cmd(..., exit_code=0)`` does, and prints the output when it is wrong."""

from __future__ import annotations

from typer.testing import CliRunner

from coda_restore.cli import app


def run_cli(*args, exit_status: int | None = 0, input: bytes | str | None = None):
    """Run ``coda-restore ARGS`` in-process; return the click Result."""
    runner = CliRunner()
    result = runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
    assert exit_status is None or result.exit_code == exit_status, (
        f"coda-restore {' '.join(map(str, args))} exited {result.exit_code}, "
        f"expected {exit_status}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result
