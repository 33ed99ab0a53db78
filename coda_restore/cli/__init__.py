"""Command-line entry point.  Each command lives in its own ``*_cmd`` module
and only translates: parse, call the library, render (see STYLE.md)."""

from __future__ import annotations

import signal
import sys

from coda_restore.cli import commands
from coda_restore.cli.app import app
from coda_restore.errors import Interrupted


def _raise_interrupted(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def main() -> None:
    # SIGTERM and SIGINT become exceptions so that cleanup and journal notes run.
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    commands.load_for(sys.argv[1:])
    sys.exit(app())


__all__ = ["app", "commands", "main"]
