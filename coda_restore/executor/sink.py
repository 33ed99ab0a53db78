"""Where the merged full dump goes: a file (``--output``, or the staged
image ``volutil restore -f`` reads; see ``executor.restore``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO


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
