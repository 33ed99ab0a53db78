"""Command-line entry point.  Each command lives in its own ``*_cmd`` module
and only translates: parse, call the library, render (see STYLE.md)."""

from __future__ import annotations

import signal
import sys

from coda_restore.cli.app import app
from coda_restore.errors import Interrupted

# Importing a command module registers its commands on ``app``.
from coda_restore.cli import commands  # noqa: F401,E402


def _raise_interrupted(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def main() -> None:
    # SIGTERM and SIGINT become exceptions so that cleanup and journal notes run.
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    sys.exit(app())


__all__ = ["app", "main"]
