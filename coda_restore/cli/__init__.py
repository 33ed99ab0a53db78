"""Command-line entry point.  Each command lives in its own ``*_cmd`` module
and only translates: parse, call the library, render (see STYLE.md)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
from collections.abc import Callable

from coda_restore.cli import commands
from coda_restore.cli.app import app
from coda_restore.errors import FAILURE, CodaRestoreError, Interrupted, WriteFailed


def _raise_interrupted(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


class _StdoutFd(io.RawIOBase):
    """fd 1 under sys.stdout: a write error (a full disk, /dev/full, a
    closed pipe) is a CodaRestoreError, so one message and exit 1, never a
    traceback.  What is still buffered then goes to /dev/null, so Python's
    own flush at exit does not print "Exception ignored"."""

    def __init__(self, fd: int, record=None):
        super().__init__()
        self._fd = fd
        self._record = record

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data) -> int:
        try:
            written = os.write(self._fd, data)
        except OSError as err:
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self._fd)
                os.close(devnull)
            raise WriteFailed("standard output", err.strerror or err) from None
        if self._record is not None:
            self._record(bytes(data[:written]))
        return written


def _guard_stdout(record=None) -> None:
    old = sys.stdout
    with contextlib.suppress(AttributeError, ValueError, OSError):
        old.flush()
        fd = old.fileno()
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_StdoutFd(fd, record)), encoding=old.encoding,
                                      errors=old.errors, line_buffering=old.line_buffering)


def main(record: Callable[[bytes], None] | None = None) -> None:
    """``record`` sees every byte written to stdout (coda_restore.start keeps help with it)."""
    # SIGTERM and SIGINT become exceptions so that cleanup and journal notes run.
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    _guard_stdout(record)
    commands.load_for(sys.argv[1:])
    try:
        app()
    except SystemExit as done:
        status = done.code
    except CodaRestoreError as err:  # raised outside a command: --help, --version
        print(f"coda-restore: error: {err}", file=sys.stderr)
        status = err.exit_status
    try:
        sys.stdout.flush()  # a short result is only written now
    except WriteFailed as err:
        print(f"coda-restore: error: {err}", file=sys.stderr)
        status = status or FAILURE
    sys.exit(status)


__all__ = ["app", "commands", "main"]
