"""Where the merged full dump goes: ``volutil restore`` on stdin, or a file.

The volutil child is started by the first byte written, not before: the
merge reads and checks every Coda header of the chain before it writes, so
a wrong or tampered image stops the run before the server sees anything.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from typing import BinaryIO

from coda_restore import proc
from coda_restore.errors import CommandFailed

_CREATED = re.compile(r"VolRestore successful, created ([0-9a-fA-F]+)")


class VolutilSink:
    """A write-only stream that feeds ``argv`` (volutil ... restore) on stdin."""

    def __init__(self, argv: list[str], on_start: Callable[[], None], on_bytes: Callable[[int], None]):
        self.argv = argv
        self._on_start = on_start
        self._on_bytes = on_bytes
        self.child: proc.Child | None = None
        self.bytes = 0

    @property
    def started(self) -> bool:
        return self.child is not None

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data) -> int:
        if self.child is None:
            self._on_start()
            self.child = proc.Child(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            self.child.stdin.write(data)
        except BrokenPipeError:
            # volutil gave up reading: its own status and message say why.
            self.child.wait()
            raise CommandFailed(self.argv, 0, "volutil stopped reading its input") from None
        self.bytes += len(data)
        self._on_bytes(self.bytes)
        return len(data)

    def flush(self) -> None:
        if self.child is not None:
            self.child.stdin.flush()

    def finish(self) -> int | None:
        """Close volutil's input, wait, and return the id of the volume it created."""
        if self.child is None:
            return None
        self.child.stdin.close()
        out = self.child.stdout.read().decode("utf-8", "replace")
        self.child.wait()
        match = _CREATED.search(out)
        if match is None:
            raise CommandFailed(self.argv, 0, f"no 'VolRestore successful' in its output: {out.strip()!r}")
        return int(match.group(1), 16)

    def kill(self) -> None:
        if self.child is not None:
            self.child.kill()


class FileSink:
    """The merged dump to an already opened binary file (``--output``)."""

    def __init__(self, out: BinaryIO, on_bytes: Callable[[int], None]):
        self._out = out
        self._on_bytes = on_bytes
        self.bytes = 0
        self.started = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        try:
            return self._out.seekable()
        except (AttributeError, OSError, ValueError):
            return False

    def seek(self, *args):
        return self._out.seek(*args)

    def tell(self):
        return self._out.tell()

    def write(self, data) -> int:
        n = self._out.write(data)
        # the merge patches counts in place on a seekable file: those bytes
        # are not new, so the size is the furthest position written
        self.bytes = max(self.bytes, self._out.tell()) if self.seekable() else self.bytes + len(data)
        self._on_bytes(self.bytes)
        return n

    def flush(self) -> None:
        self._out.flush()
