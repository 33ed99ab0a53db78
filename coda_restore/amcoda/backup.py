"""``amcoda backup``: one dump of the backup clone, checked on its way to Amanda.

    volutil dump [-i LEVEL] CLONE  ->  Tee  ->  HeldBack (fd 1)
                                        \\->  scan_dump: every record parsed,
                                              directory pages -> index (fd 4)

The stream is the clone that was asked for, complete and well formed, and
volutil's byte count agrees, or nothing more reaches Amanda (``HeldBack``)
and the dump is reported failed and never marked.  Only a good dump is
marked with ``volutil ancient`` (``--record``).
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from typing import BinaryIO

from coda_restore import proc
from coda_restore.amcoda.clone import Clone, fresh_clone
from coda_restore.amcoda.request import CHUNK, Messages, Request, Settings, kib, settings
from coda_restore.errors import CodaRestoreError, CommandFailed
from coda_restore.volutil import bytes_dumped, hexid, one_line
from coda_restore.voldump.reader import DumpReader
from coda_restore.voldump.names import Names
from coda_restore.voldump.records import DumpHeader
from coda_restore.voldump.stream import Tee

HOLD_BYTES = 1 << 20  # the tail of a backup held back until it is proven good (see HeldBack)
START_BYTES = 2 * HOLD_BYTES


# --- the stream check and the index -----------------------------------------


@dataclass(frozen=True)
class Inspection:
    """What reading a whole dump stream showed."""

    header: DumpHeader | None
    index: tuple[bytes, ...]  # "/path" lines, directories ending in "/"
    problem: str | None  # why the stream is not a complete, well-formed dump


def scan_dump(raw: BinaryIO, source: str = "dump") -> Inspection:
    """Read a dump with the codec's streaming reader: every record is parsed
    (truncation, bad tags and magics are caught), directory pages are decoded
    into the paths this dump holds (``voldump.names``).  File data is
    skipped, never held."""
    reader = DumpReader(raw, source)
    names = Names()
    try:
        for rec in reader:
            names(rec)
    except CodaRestoreError as exc:
        return Inspection(reader.header, (b"/",), str(exc))
    return Inspection(reader.header, names.lines(), None)


# --- Amanda's fd 1 -----------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class HeldBack:
    """Amanda's fd 1, with the newest HOLD_BYTES of the dump held back until
    it has passed every check.  A failure is then reported either before any
    byte reached Amanda (a dump shorter than START_BYTES: it is dropped) or
    after at least START_BYTES - HOLD_BYTES did.  Why: a failure reported
    right after the first bytes can deadlock Amanda 3.5 (sendbackup waits for
    the transfer to start, the dumper has given up on it: no FAIL, an amdump
    that never ends, issue 13 item 2).  Once more than sendbackup's first read
    and a pipe's worth have been written, the transfer has started."""

    def __init__(self, fd: int | None):
        self.fd, self.sent, self.held = fd, 0, 0
        self.chunks: collections.deque[bytes] = collections.deque()

    def write(self, data) -> None:
        self.chunks.append(bytes(data))  # the reader reuses its buffer
        self.held += len(data)
        if self.sent or self.held >= START_BYTES:
            while self.held - len(self.chunks[0]) >= HOLD_BYTES:
                self._send(self.chunks.popleft())

    def release(self) -> None:
        """The dump is good: send what was held back."""
        while self.chunks:
            self._send(self.chunks.popleft())

    def _send(self, chunk: bytes) -> None:
        self.held -= len(chunk)
        self.sent += len(chunk)
        if self.fd is not None:
            _write_all(self.fd, chunk)


# --- one volutil dump ----------------------------------------------------------


@dataclass(frozen=True)
class Dumped:
    """What one ``volutil dump`` did: its exit status and the tail of its
    stderr, what the codec saw in the stream, and how many bytes came."""

    argv: list[str]
    status: int
    stderr: str
    seen: Inspection
    size: int

    def problems(self, c: Clone) -> list[str]:
        """Why this dump must not count: empty when it is the good dump of ``c``."""
        problems = []
        if self.status != 0:
            said = one_line(self.stderr)[-proc.STDERR_TAIL:]
            problems.append(str(CommandFailed(self.argv, self.status, said)))
        header = self.seen.header
        if self.seen.problem:
            problems.append(self.seen.problem)
        elif (header.volume_id, header.parent_id) != (c.clone.id, c.rw.id):
            # the stream must be the clone that was asked for, of this replica
            problems.append(f"the dump is of volume {hexid(header.volume_id)} (parent "
                            f"{hexid(header.parent_id)}), not of clone {hexid(c.clone.id)} "
                            f"of {hexid(c.rw.id)}")
        said = bytes_dumped(self.stderr)
        if said is not None and said % 2**32 != self.size % 2**32:  # volutil's counter is 32-bit
            problems.append(f"volutil said {said} bytes dumped but {self.size} arrived")
        return problems


def _not_started(argv: list[str], why: str) -> Dumped:
    return Dumped(argv, 127, why, Inspection(None, (b"/",), "volutil did not start"), 0)


def stream(argv: list[str], out: HeldBack) -> Dumped:
    """Run ``volutil dump`` and copy its stdout to ``out`` while the codec
    reads it.  proc.Child drains stderr into a bounded tail, so the child
    never blocks on it; the tail keeps volutil's last line, its byte count."""
    try:
        child = proc.Child(argv, stdout=proc.PIPE)
    except CommandFailed as exc:  # not found
        return _not_started(argv, exc.stderr_tail)
    except OSError as exc:  # not executable
        return _not_started(argv, f"{argv[0]}: {exc}")
    tee = Tee(child.stdout, out.write, CHUNK)
    try:
        seen = scan_dump(tee, "volutil dump")
        # After a bad stream, read to the end anyway: volutil's own status
        # and stderr usually say what went wrong.
        while tee.read(CHUNK):
            pass
    except BaseException:
        child.kill()
        raise
    finally:
        status = child.wait(check=False)
    return Dumped(argv, status, child.stderr_tail, seen, tee.size)


# --- the command -----------------------------------------------------------------


def do_backup(req: Request, data_fd: int, mesg: Messages, index: BinaryIO | None) -> int:
    """The clone made fresh, dumped, checked, then released to Amanda, its
    index written and (``--record``) marked; exit 1 on any failure."""
    level = req.levels[0] if req.levels else 0
    try:
        s = settings(req)
        c = fresh_clone(s)
    except CodaRestoreError as exc:
        mesg.error(f"amcoda: {exc}")
        return 1
    for note in c.notes:
        mesg.info(f"amcoda: {note}")
    argv = s.volutil.dump_argv(c.clone.id, level)
    mesg.info(f"amcoda: running {proc.display(argv)}")
    out = HeldBack(data_fd)
    try:
        dumped = stream(argv, out)
    except OSError as exc:  # fd 1 closed under us: Amanda gave up on the dump
        mesg.error(f"amcoda: writing the dump to Amanda failed: {exc}")
        return 1
    problems = dumped.problems(c)
    if problems:  # what was held back is dropped: see HeldBack
        mesg.error("amcoda: " + "; ".join(problems) + (" (not marked)" if req.record else ""))
        return 1
    try:
        out.release()
    except OSError as exc:
        mesg.error(f"amcoda: writing the dump to Amanda failed: {exc}")
        return 1
    _tell_dumped(mesg, level, dumped, c)
    if index is not None:
        index.write(b"".join(line + b"\n" for line in dumped.seen.index))
        index.flush()
    if req.record and not _mark(s, c, mesg):
        return 1
    # No "sendbackup: end": since Amanda's sendbackup-CRC feature (3.4) sendbackup
    # sends it itself once the data and its CRC are through; an application's
    # own "end" (or an error on fd 3) lets the dumper finish before the data
    # has crossed sendbackup's shared-memory ring, which then waits forever.
    mesg.size(kib(dumped.size))
    return 0


def _tell_dumped(mesg: Messages, level: int, dumped: Dumped, c: Clone) -> None:
    header = dumped.seen.header
    if level > 0 and header.level == 0:
        # ref §12.2: no usable .ancient list, so the server dumped everything.
        mesg.strange(f"amcoda: asked for level {level} but the server made a full dump "
                     "(no usable .ancient list); the image is a level 0")
    mesg.info(f"amcoda: dumped {dumped.size} bytes of {header.volume_name} (clone "
              f"{hexid(c.clone.id)}) at level {header.level}, oldest {header.oldest:#x} "
              f"latest {header.latest:#x}")


def _mark(s: Settings, c: Clone, mesg: Messages) -> bool:
    """``volutil ancient``: the good dump becomes the next incremental's base."""
    ancient = s.volutil.ancient_argv(s.ancient, c.clone, c.rw)
    try:
        s.volutil.ancient(s.ancient, c.clone, c.rw)
    except CodaRestoreError as exc:
        mesg.error(f"amcoda: the dump is good but marking it failed: {exc}")
        return False
    mesg.info(f"amcoda: marked as the base of the next incremental ({proc.display(ancient)})")
    return True
