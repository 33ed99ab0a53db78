"""Forward-only buffered input with a 64-bit position, and ``read_exact``.

Works on anything with ``read`` (pipes, sockets, tape devices); never seeks.
Small reads are served from one buffer; large payloads (file data) bypass it
in big ``readinto`` chunks so a dump of any size crosses in bounded memory.
"""

from __future__ import annotations

import io
import os
import stat
from typing import BinaryIO, Callable, Iterator

from coda_restore.errors import TruncatedDump

BUFSIZE = 1 << 20
CHUNK = 1 << 20


class InputStream:
    """``offset`` is the absolute position of the next unread byte."""

    def __init__(self, raw: BinaryIO, source: str = "dump", bufsize: int = BUFSIZE):
        self.raw = raw
        self.source = source
        self.bufsize = bufsize
        self.buf = bytearray()  # replaced, never changed, by fill()
        self.pos = 0
        self.offset = 0
        self._eof = False
        self._chunk: bytearray | None = None
        # A regular file can be looked ahead into with pread (the position of
        # the stream is not touched); a pipe cannot.
        self._pread_fd: int | None = None
        self._file_base = 0
        try:
            fd = raw.fileno()
            if stat.S_ISREG(os.fstat(fd).st_mode):
                self._file_base = raw.tell()
                self._pread_fd = fd
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            pass

    # -- buffer management -------------------------------------------------
    def available(self) -> int:
        return len(self.buf) - self.pos

    def fill(self, n: int) -> int:
        """Try to have ``n`` bytes buffered; returns how many are (less only at EOF).
        A fresh buffer each time (pieces handed out earlier stay valid), read
        into directly so that file data is copied once on its way through."""
        have = len(self.buf) - self.pos
        if have >= n or self._eof:
            return have
        readinto = getattr(self.raw, "readinto", None)
        if readinto is None:
            parts = [self.buf[self.pos :]]
            while have < n:
                data = self.raw.read(max(self.bufsize, n - have))
                if not data:
                    self._eof = True
                    break
                parts.append(data)
                have += len(data)
            self.buf = bytearray(b"".join(parts))
            self.pos = 0
            return have
        new = bytearray(max(self.bufsize, n))
        new[:have] = memoryview(self.buf)[self.pos :]
        with memoryview(new) as view:
            while have < n:
                got = readinto(view[have:])
                if not got:
                    self._eof = True
                    break
                have += got
        del new[have:]
        self.buf = new
        self.pos = 0
        return have

    def peek_byte(self) -> int:
        """The next byte, or -1 at EOF; not consumed."""
        if self.pos >= len(self.buf) and self.fill(1) < 1:
            return -1
        return self.buf[self.pos]

    def peek_at(self, distance: int, n: int) -> bytes | None:
        """Up to ``n`` bytes ``distance`` bytes ahead, without consuming
        anything; None when that needs a seekable file and this is not one."""
        start = self.pos + distance
        if start + n <= len(self.buf):
            return bytes(self.buf[start : start + n])
        if self._pread_fd is None:
            return None
        try:
            return os.pread(self._pread_fd, n, self._file_base + self.offset + distance)
        except OSError:
            return None

    def at_eof(self) -> bool:
        return self.peek_byte() < 0

    def advance(self, n: int) -> None:
        """Consume ``n`` bytes that are known to be buffered."""
        self.pos += n
        self.offset += n

    # -- payloads ------------------------------------------------------------
    def chunks(self, n: int, what: str) -> Iterator[memoryview]:
        """Yield the next ``n`` bytes in pieces; each piece is valid only until
        the next one is requested.  Raises TruncatedDump on a short stream."""
        start = self.offset
        left = n
        have = len(self.buf) - self.pos
        if have:
            take = min(have, left)
            piece = memoryview(self.buf)[self.pos : self.pos + take]
            self.advance(take)
            left -= take
            yield piece
        if left <= 0:
            return
        if self._chunk is None:
            self._chunk = bytearray(CHUNK)
        view = memoryview(self._chunk)
        readinto = getattr(self.raw, "readinto", None)
        while left > 0:
            want = min(left, CHUNK)
            if readinto is not None:
                got = readinto(view[:want])
            else:
                data = self.raw.read(want)
                got = len(data)
                view[:got] = data
            if not got:
                self._eof = True
                raise TruncatedDump(start, what, n, n - left, self.source)
            self.offset += got
            left -= got
            yield view[:got]

    def skip(self, n: int, what: str) -> None:
        for _ in self.chunks(n, what):
            pass


def read_exact(stream: InputStream, n: int, what: str) -> bytes:
    """Exactly ``n`` bytes or TruncatedDump(offset, what, expected, got).
    The only way the parser takes bytes out of a stream."""
    buf, pos = stream.buf, stream.pos
    if len(buf) - pos >= n:
        stream.pos = pos + n
        stream.offset += n
        return bytes(buf[pos : pos + n])
    start = stream.offset
    if n <= stream.bufsize:
        got = stream.fill(n)
        if got < n:
            raise TruncatedDump(start, what, n, got, stream.source)
        return read_exact(stream, n, what)
    # A large string: collect it piecewise so a hostile length fails at EOF
    # instead of allocating first.
    parts = []
    got = 0
    try:
        for piece in stream.chunks(n, what):
            parts.append(bytes(piece))
            got += len(piece)
    except TruncatedDump:
        raise TruncatedDump(start, what, n, got, stream.source) from None
    return b"".join(parts)


class Tee:
    """A binary input that passes on what is read from ``src``: every byte to
    ``write`` (so the codec reads a dump once while it goes elsewhere:
    Amanda's fd 1 in amcoda, a validated copy), and after every read the
    count so far to ``on_bytes`` (progress, a stall watchdog).  ``size``
    counts the bytes that passed."""

    def __init__(self, src: BinaryIO, write: Callable[[memoryview | bytes], object] | None = None,
                 chunk: int = CHUNK, *, on_bytes: Callable[[int], object] | None = None):
        self.src, self.write, self.chunk, self.on_bytes, self.size = src, write, chunk, on_bytes, 0

    def _passed(self, data) -> None:
        if len(data) and self.write is not None:
            self.write(data)
        self.size += len(data)
        if self.on_bytes is not None:
            self.on_bytes(self.size)

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n if n is not None and n >= 0 else self.chunk)
        self._passed(data)
        return data

    def readinto(self, view) -> int:
        got = self.src.readinto(view) or 0
        self._passed(memoryview(view)[:got])
        return got
