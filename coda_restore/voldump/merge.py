"""Merge a full dump and any number of incrementals in one streaming pass.

Output is what Coda's ``codamergedump`` writes when applied pairwise, in
order (ref §13.4-§13.5): the pairwise merge re-reads its own output as the
next base, and because it inserts the base's entries at the head of each
slot, every step *reverses* the order of a slot before applying the next
incremental.  So, per slot::

    entries = the full's records of the slot, in stream order
    for each incremental, in order:
        entries.reverse()
        for each of its records in the slot, in stream order:
            D_RMVNODE u:  drop the first entry with uniquifier u (or note it)
            D_VNODE u:    replace the entry with uniquifier u in place,
                          else insert it at the head
    write entries

Every input is in slot order (the server walks its lists in order), so the
slots are walked once, all inputs side by side.  A slot that no incremental
touches and that an even number of reversals leaves in order is copied
straight through; any other slot is collected first: its records are
checked, dead data (replaced or removed later in the chain) is skipped
unread, live file data is held in memory up to a budget and spilled to an
anonymous temporary file beyond it.  Memory therefore holds one slot.

Each index header carries the section's vnode count *before* its records.
For a seekable output a placeholder is written and patched at the end of
the section, so the count is the true number of records written.  For a
pipe in exact mode the count is taken from the last incremental (the
server's current count, which an exact chain reproduces) and checked at the
end of the section: a mismatch raises ChainMismatch, and a restore reading
the stream would refuse it too.  In minimal mode a pipe output is spooled
(the count cannot be known in advance: resurrected deletions change it).

Differences from codamergedump, all deliberate (ref §13.7, §19):
the true record count is written when the full's count included null
vnodes; every link is checked (§13.3 item 5 is compiled out in Coda);
list index == nLists is rejected; D_BADINODE and 'A' ACLs are carried
through; a truncated incremental or trailing garbage after the full's end
is an error; trailing bytes after an incremental's end are a warning.

Not promised: a pipe output is only as good as the last incremental's counts
in exact mode (checked, not trusted); a failure after output has started
leaves a partial stream on a pipe (the caller removes a file output).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import stat
import struct
import tempfile
import threading
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator, Sequence

from coda_restore.chain import ChainMode
from coda_restore.errors import ChainMismatch, NegativeLevel, WrongBase
from coda_restore.voldump.reader import CANONICAL_VNODE_TAGS, FIXED_VNODE, DumpReader, fixed_vnode_tags
from coda_restore.voldump.records import (
    DataKind,
    DumpHeader,
    DumpWarning,
    IndexHeader,
    NullVnode,
    RemovedVnode,
    Tag,
    VnodeClass,
    VnodeType,
    Vnode,
    VolumeDiskData,
    slot_of,
)
from coda_restore.voldump.validate import SectionChecker
from coda_restore.voldump.writer import (
    encode_data_head,
    encode_end,
    encode_header,
    encode_index,
    encode_volume,
    encode_vnode,
)

_FILEHEAD = struct.Struct(">BI")
_U32 = struct.Struct(">I")
_PLAIN_TYPES = (VnodeType.FILE, VnodeType.SYMLINK)
MEMORY_BUDGET = 16 << 20  # file data held in memory per slot before spilling
OUT_BUFFER = 1 << 20
DIRECT_WRITE = 64 << 10


@dataclass(frozen=True)
class SectionResult:
    vclass: str
    written: int  # records written = the count in the output's index header
    coda_count: int  # what codamergedump's header arithmetic gives
    last_incremental_count: int  # nVnodes of the last incremental (the server's count)
    n_lists: int


@dataclass(frozen=True)
class MergeResult:
    header: DumpHeader  # the output's header
    sections: tuple[SectionResult, ...]
    bytes_written: int
    notes: tuple[str, ...] = ()  # what codamergedump prints on stdout (removals of unknown vnodes)
    warnings: tuple[DumpWarning, ...] = ()
    spilled_bytes: int = 0
    mode: ChainMode = ChainMode.EXACT

    @property
    def discrepancies(self) -> tuple[str, ...]:
        """Sections whose merged count differs from the last incremental's:
        in a minimal chain, vnodes deleted in skipped dumps (orphans)."""
        out = []
        for s in self.sections:
            d = s.written - s.last_incremental_count
            if d:
                out.append(f"{s.vclass} index: {s.written} vnodes merged, the last incremental counts "
                           f"{s.last_incremental_count} ({d:+d}): "
                           + ("vnodes deleted in skipped dumps remain as orphans" if d > 0
                              else "the chain lost vnodes"))
        return tuple(out)


class _Output:
    """Buffered sink that counts bytes and can patch a u32 it wrote."""

    def __init__(self, raw: BinaryIO, progress: Callable[[int], object] | None = None):
        self.raw = raw
        self.buf = bytearray()
        self.offset = 0
        self.progress = progress
        self.seekable = _seekable(raw)
        self.base = raw.tell() if self.seekable else 0

    def write(self, b) -> None:
        n = len(b)
        self.offset += n
        if n >= DIRECT_WRITE:  # large pieces go out as they are, uncopied
            self.flush()
            self.raw.write(b)
            if self.progress is not None:
                self.progress(self.offset)
            return
        self.buf += b
        if len(self.buf) >= OUT_BUFFER:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.raw.write(self.buf)
            self.buf = bytearray()
            if self.progress is not None:
                self.progress(self.offset)

    def patch_u32(self, offset: int, value: int) -> None:
        self.flush()
        self.raw.flush()
        here = self.raw.tell()
        self.raw.seek(self.base + offset)
        self.raw.write(struct.pack(">I", value))
        self.raw.seek(here)


class _SlotBuffer:
    """Live file data of one slot: bytes in memory, or (offset, size) in a
    temporary spill file once the slot's budget is used up."""

    def __init__(self, budget: int, spill_dir: str | None):
        self.budget = budget
        self.spill_dir = spill_dir
        self.in_memory = 0
        self.spill: BinaryIO | None = None
        self.spill_end = 0
        self.spilled_total = 0

    def hold(self, reader: DumpReader, size: int):
        if self.in_memory + size <= self.budget:
            self.in_memory += size
            return reader.read_data()
        if self.spill is None:
            self.spill = tempfile.TemporaryFile(dir=self.spill_dir)
        at = self.spill_end
        self.spill.seek(at)
        for chunk in reader.data_chunks():
            self.spill.write(chunk)
        self.spill_end += size
        self.spilled_total += size
        return (at, size)

    def emit(self, handle, out: _Output) -> None:
        if isinstance(handle, bytes):
            out.write(handle)
            return
        at, size = handle
        self.spill.seek(at)
        while size:
            chunk = self.spill.read(min(size, 1 << 20))
            out.write(chunk)
            size -= len(chunk)

    def reset(self) -> None:
        self.in_memory = 0
        self.spill_end = 0

    def close(self) -> None:
        if self.spill is not None:
            self.spill.close()


class _Input:
    def __init__(self, name: str, raw: BinaryIO, full: bool, warnings: list):
        self.name = name
        self.full = full
        self.reader = DumpReader(raw, name, allow_trailing=not full)
        self.reader.warnings = warnings
        self.warnings = warnings
        self.checker: SectionChecker | None = None
        self.pending: Vnode | RemovedVnode | None = None
        self.nulls = 0

    def warn(self, offset: int, text: str) -> None:
        self.warnings.append(DumpWarning(self.name, offset, text))

    def start_section(self) -> IndexHeader:
        index = self.reader.read_index()
        self.checker = SectionChecker(self.name, index, self.full, self.warn)
        self.advance()
        return index

    def advance(self) -> None:
        """Move ``pending`` to the next vnode or removal (nulls are checked and skipped)."""
        while True:
            rec = self.reader.next_record()
            if rec is None:
                self.checker.finish(self.reader.offset)
                self.pending = None
                return
            self.checker.check(rec)
            if isinstance(rec, NullVnode):
                self.nulls += 1
                continue
            self.pending = rec
            return


_DEAD = object()  # file data skipped because a later dump replaces or removes the vnode


class _Entry:
    __slots__ = ("uniq", "rec", "inp", "data")

    def __init__(self, rec: Vnode, inp: _Input, data):
        self.uniq, self.rec, self.inp, self.data = rec.uniq, rec, inp, data


class _Merger:
    def __init__(self, out: BinaryIO, sources: Sequence[tuple[str, BinaryIO]], mode: ChainMode,
                 budget: int, spill_dir: str | None, progress: Callable[[int], object] | None = None):
        if len(sources) < 2:
            raise ValueError("merge needs a full dump and at least one incremental")
        self.mode = ChainMode(mode)
        self.warnings: list[DumpWarning] = []
        self.notes: list[str] = []
        self.inputs = [_Input(name, raw, i == 0, self.warnings) for i, (name, raw) in enumerate(sources)]
        self.out = _Output(out, progress)
        self.buffer = _SlotBuffer(budget, spill_dir)
        self.sections: list[SectionResult] = []

    # -- checks before any output ------------------------------------------------
    def check_headers(self) -> tuple[DumpHeader, VolumeDiskData]:
        headers = [inp.reader.read_header() for inp in self.inputs]
        full = headers[0]
        fname = self.inputs[0].name
        for inp, h in zip(self.inputs[1:], headers[1:]):
            if h.parent_id != full.parent_id or h.volume_name != full.volume_name:
                raise ChainMismatch(
                    f"{inp.name} is not a dump of the same volume as {fname}: "
                    f"parent {h.parent_id:08x} name {h.volume_name!r} vs parent {full.parent_id:08x} "
                    f"name {full.volume_name!r}")
        if full.level != 0:
            raise ChainMismatch(f"{fname} is not a full dump (level {full.level}); cannot merge onto an incremental")
        prev_name, prev_latest = fname, full.latest
        for inp, h in zip(self.inputs[1:], headers[1:]):
            if h.level == 0:
                raise ChainMismatch(f"{inp.name} is a full dump (level 0); cannot merge from a full dump")
            if h.level < 0:
                if self.mode is ChainMode.EXACT:
                    raise NegativeLevel(inp.name, h.level)
                self.warnings.append(DumpWarning(inp.name, h.offset, f"negative level {h.level}: directories "
                                                 "deleted since the base come back"))
            if self.mode is ChainMode.EXACT:
                if h.oldest != prev_latest:
                    raise WrongBase(inp.name, prev_name, h.oldest, prev_latest)
            elif h.latest < prev_latest:
                # equal is fine: a volume that did not change keeps its latest
                raise ChainMismatch(f"{inp.name} is not newer than {prev_name}: its latest is {h.latest}, "
                                    f"{prev_name}'s is {prev_latest}")
            prev_name, prev_latest = inp.name, h.latest
        last = headers[-1]
        out_header = DumpHeader(
            full.volume_id, full.parent_id, full.name, last.backup_date, full.level, full.oldest, last.latest,
        ).coda_normalised()
        volumes = [inp.reader.read_volume() for inp in self.inputs]
        return out_header, volumes[-1].coda_normalised()

    # -- sections ----------------------------------------------------------------
    def open_section(self, vclass: VnodeClass) -> list[IndexHeader]:
        """Every input's index header, checked (the lists may only grow)."""
        indexes = [inp.start_section() for inp in self.inputs]
        for prev, cur, inp in zip(indexes, indexes[1:], self.inputs[1:]):
            if cur.n_lists < prev.n_lists:
                raise ChainMismatch(f"{inp.name}: {vclass.name.lower()} index has {cur.n_lists} lists, fewer than "
                                    f"the {prev.n_lists} of the dump before it")
        return indexes

    def section(self, vclass: VnodeClass, indexes: list[IndexHeader]) -> None:
        n_lists = indexes[-1].n_lists
        last_count = indexes[-1].n_vnodes
        out = self.out
        index_at = out.offset
        predicted = last_count
        out.write(encode_index(IndexHeader(vclass, predicted, n_lists)))
        self.written = 0
        self.coda_delta = 0
        full, incs = self.inputs[0], self.inputs[1:]
        even = len(incs) % 2 == 0
        none = 1 << 40  # beyond any slot
        while True:
            # the lowest slot any input is at, and whether an incremental is there
            inc_slot = none
            for inp in incs:
                p = inp.pending
                if p is not None and slot_of(p.vnum) < inc_slot:
                    inc_slot = slot_of(p.vnum)
            p = full.pending
            full_slot = none if p is None else slot_of(p.vnum)
            b = min(full_slot, inc_slot)
            if b == none:
                break
            if inc_slot == b:
                self.collect_slot(b)
                continue
            # The full alone up to the incrementals' next slot: stream what can be.
            emit, alone, advance = self.emit, self.alone, full.advance
            small = vclass is VnodeClass.SMALL
            while (p := full.pending) is not None and (b := slot_of(p.vnum)) < inc_slot:
                if even or alone(full, b):
                    emit(p, full, None)
                    if small:
                        self.copy_plain_files(full, inc_slot, even)
                    advance()
                else:
                    self.collect_slot(b)
        for inp in self.inputs:
            if inp.pending is not None:  # pragma: no cover - loop ends only when all are drained
                raise AssertionError("input not drained")
        coda_count = indexes[0].n_vnodes + self.coda_delta
        if self.written != predicted:
            if out.seekable:
                out.patch_u32(index_at + 2, self.written)
            else:
                raise ChainMismatch(
                    f"{vclass.name.lower()} index: {self.written} vnodes merged but {self.inputs[-1].name} counts "
                    f"{last_count}; the stream already written is not restorable (write to a file, or check the chain)")
        if coda_count != self.written:
            self.notes.append(f"{vclass.name.lower()} index: wrote the true count {self.written}; codamergedump "
                              f"would write {coda_count} (nVnodes of {full.name} counts null vnodes)")
        self.sections.append(SectionResult(vclass.name.lower(), self.written, coda_count, last_count, n_lists))

    def copy_plain_files(self, full: _Input, inc_slot: int, even: bool) -> None:
        """Copy the full's next file records straight from its input buffer,
        as long as each is plain: canonical layout, nothing codamergedump
        would change, every rule of SectionChecker met, in a slot below
        ``inc_slot`` that stays in order (``even``, or the record is alone
        in its slot).  The first record that is not plain stops the run and
        goes through the normal path, which parses, checks and explains it.
        This is the bulk of a full dump, copied without making objects."""
        s, ck, out = full.reader.stream, full.checker, self.out
        n_lists, uniqs = ck.index.n_lists, ck.uniqs_in_slot
        unpack, tags_of, expected = FIXED_VNODE.unpack_from, fixed_vnode_tags, CANONICAL_VNODE_TAGS
        head = FIXED_VNODE.size + 5
        run = None  # start, in s.buf, of accepted records not yet written (written as one piece)
        try:
            while True:
                buf, pos = s.buf, s.pos
                if len(buf) - pos < head + 5:
                    self.write_run(buf, run, pos)
                    run = None
                    if s.fill(head + 5) < head:
                        return
                    buf, pos = s.buf, s.pos
                if buf[pos] != Tag.VNODE or buf[pos + 109] != Tag.FILEDATA:
                    return
                vals = unpack(buf, pos)
                if tags_of(vals) != expected:
                    return
                vnum, uniq, vtype, mode, length = vals[1], vals[2], vals[4], vals[6], vals[10]
                size = _U32.unpack_from(buf, pos + 110)[0]
                b = (vnum - 1) >> 1  # slot_of(vnum), inline: this loop runs once per file of the volume
                if (vnum & 1 or not vnum or b >= n_lists or b < ck.slot or b >= inc_slot or size != length
                        or mode > 0o7777 or vtype not in _PLAIN_TYPES or (b == ck.slot and uniq in uniqs)):
                    return
                if not even:  # it must be the last of its slot
                    after = s.peek_at(head + size, 5)
                    if after is None or len(after) < 5 or after[0] == Tag.NULLVNODE or (
                            after[0] in (Tag.VNODE, Tag.RMVNODE) and (_U32.unpack_from(after, 1)[0] - 1) >> 1 == b):
                        return
                if b != ck.slot:  # the books SectionChecker.check keeps
                    ck.slot = b
                    uniqs.clear()
                uniqs.add(uniq)
                ck.vnodes += 1
                ck.file_bytes += size
                self.written += 1
                end = pos + head + size
                if end <= len(buf):
                    if run is None:
                        run = pos
                    s.advance(end - pos)
                else:
                    self.write_run(buf, run, pos)
                    run = None
                    out.write(buf[pos : pos + head])
                    s.advance(head)
                    for chunk in s.chunks(size, "file data"):
                        out.write(chunk)
        finally:
            self.write_run(s.buf, run, s.pos)

    def write_run(self, buf: bytearray, run: int | None, pos: int) -> None:
        """The records copy_plain_files accepted, ``buf[run:pos]``, as one piece."""
        if run is not None:
            self.out.write(memoryview(buf)[run:pos])

    @staticmethod
    def alone(inp: _Input, b: int) -> bool:
        """Is the pending record the last of slot ``b`` in this input?  Known
        without reading when the next record's head is buffered or the input
        is a regular file; an untouched single-record slot then streams
        straight through even when the chain reverses slots."""
        key = inp.reader.next_key()
        if key is None:
            return False
        tag, vnum = key
        if tag in (Tag.VNODE, Tag.RMVNODE):
            return slot_of(vnum) != b
        return tag != Tag.NULLVNODE

    def emit(self, rec: Vnode, inp: _Input, data) -> None:
        """Write one vnode as codamergedump does: fields re-serialised, data verbatim."""
        if rec.raw is not None and rec.is_coda_normal:
            self.out.write(rec.raw)
            if rec.data is DataKind.FILEDATA:
                self.out.write(_FILEHEAD.pack(Tag.FILEDATA, rec.size))
            else:
                self.out.write(encode_data_head(rec))
        else:
            self.out.write(encode_vnode(rec.coda_normalised()))
        self.written += 1
        if rec.data is DataKind.FILEDATA:
            if data is _DEAD:
                raise AssertionError(f"merge bug: data of {rec.vnum}.{rec.uniq} was skipped but is needed")
            if data is None:
                for chunk in inp.reader.data_chunks():
                    self.out.write(chunk)
            else:
                self.buffer.emit(data, self.out)

    def collect_slot(self, b: int) -> None:
        """Read every input's records of slot ``b`` (latest incremental first, so
        data that a later dump replaces is skipped unread), then write the slot."""
        self.buffer.reset()
        later: set[int] = set()  # uniquifiers a later dump of the chain touches
        steps: list[list] = []
        for inp in reversed(self.inputs[1:]):
            recs = []
            mine: set[int] = set()
            while inp.pending is not None and inp.pending.slot == b:
                rec = inp.pending
                recs.append(_Entry(rec, inp, self.carry(rec, inp, later)) if isinstance(rec, Vnode) else rec)
                mine.add(rec.uniq)
                inp.advance()
            later |= mine
            steps.append(recs)
        steps.reverse()
        full = self.inputs[0]
        entries: list[_Entry] = []
        while full.pending is not None and full.pending.slot == b:
            rec = full.pending
            entries.append(_Entry(rec, full, self.carry(rec, full, later)))
            full.advance()
        for inp, recs in zip(self.inputs[1:], steps):
            entries.reverse()
            for rec in recs:
                self.apply(entries, inp, rec)
        for e in entries:
            self.emit(e.rec, e.inp, e.data if e.rec.data is DataKind.FILEDATA else None)

    def carry(self, rec: Vnode, inp: _Input, later: set[int]):
        """The file data of ``rec`` to write later: none, skipped unread when a
        later dump of the chain replaces or removes the vnode, else held."""
        if rec.data is not DataKind.FILEDATA:
            return None
        return _DEAD if rec.uniq in later else self.buffer.hold(inp.reader, rec.size)

    def apply(self, entries: list[_Entry], inp: _Input, rec) -> None:
        """One incremental record onto its slot's entries, as codamergedump does."""
        if isinstance(rec, RemovedVnode):
            for i, e in enumerate(entries):
                if e.uniq == rec.uniq:
                    del entries[i]
                    self.coda_delta -= 1
                    return
            self.notes.append(f"{inp.name}: Removing a null Vnode for {rec.vnum:x}.{rec.uniq:x}! "
                              "(D_RMVNODE of a vnode the base does not have; ignored)")
            return
        for i, e in enumerate(entries):
            if e.uniq == rec.uniq:
                entries[i] = rec
                return
        entries.insert(0, rec)
        self.coda_delta += 1

    def merge(self) -> MergeResult:
        try:
            header, volume = self.check_headers()
            large = self.open_section(VnodeClass.LARGE)  # still before any output
            self.out.write(encode_header(header))
            self.out.write(encode_volume(volume))
            self.section(VnodeClass.LARGE, large)
            self.section(VnodeClass.SMALL, self.open_section(VnodeClass.SMALL))
            for inp in self.inputs:
                inp.reader.read_end()
            self.out.write(encode_end())
            self.out.flush()
        finally:
            self.buffer.close()
        return MergeResult(header, tuple(self.sections), self.out.offset, tuple(self.notes), tuple(self.warnings),
                           self.buffer.spilled_total, self.mode)


def merge(out: BinaryIO, sources: Sequence[tuple[str, BinaryIO]], mode: ChainMode = ChainMode.EXACT, *,
          memory_budget: int = MEMORY_BUDGET, spill_dir: str | None = None,
          progress: Callable[[int], object] | None = None) -> MergeResult:
    """Merge ``sources`` = [(name, full), (name, incremental), ...] into ``out``.

    ``progress(bytes_written)`` is called about once per MiB of output (the
    count of the merged stream, also when it is spooled first).

    Raises ChainMismatch/WrongBase before writing anything when the headers
    do not form a chain, DumpFormatError (TruncatedDump, ...) when an input
    is damaged (possibly after output has started)."""
    mode = ChainMode(mode)
    spool = None
    target = out
    if mode is ChainMode.MINIMAL and not _seekable(out):
        spool = tempfile.TemporaryFile(dir=spill_dir)
        target = spool
    try:
        result = _Merger(target, sources, mode, memory_budget, spill_dir, progress).merge()
        if spool is not None:
            spool.seek(0)
            while chunk := spool.read(1 << 20):
                out.write(chunk)
        if hasattr(out, "flush"):
            out.flush()
        return result
    finally:
        if spool is not None:
            spool.close()


class MergedStream:
    """The read end of a merge running in a thread (``stream``), and the
    merge's ``result`` once the ``merged_reader`` block has ended."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.result: MergeResult | None = None


@contextlib.contextmanager
def merged_reader(sources: Sequence[tuple[str, BinaryIO]],
                  mode: ChainMode = ChainMode.EXACT) -> Iterator[MergedStream]:
    """``merge``, streamed: a thread writes the merged dump into a pipe that
    the block reads from ``stream``, so nothing merged touches the disk.  A
    merge error (wrong base, damaged input) is the cause of whatever the
    reader then sees, so it is the one raised."""
    r, w = os.pipe()
    rf, wf = os.fdopen(r, "rb"), os.fdopen(w, "wb")
    merged = MergedStream(rf)
    failed: list[BaseException] = []

    def work():
        try:
            merged.result = merge(wf, sources, mode)
        except BaseException as err:  # handed to the reading thread
            failed.append(err)
        finally:
            with contextlib.suppress(OSError):
                wf.close()

    thread = threading.Thread(target=work, name="coda-restore merge", daemon=True)
    thread.start()
    try:
        yield merged
    except BaseException:
        rf.close()  # a merge blocked on a full pipe gets EPIPE and ends
        thread.join()
        if failed and not isinstance(failed[0], BrokenPipeError):
            raise failed[0] from None
        raise
    rf.close()
    thread.join()
    if failed:
        raise failed[0]


def _seekable(f) -> bool:
    """Can a count written earlier be patched in place?  Only a regular file
    not opened for appending (``>>`` would put the patch at the end), or an
    in-memory stream; never a pipe, a tape or a terminal."""
    try:
        fd = f.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        try:
            return bool(f.seekable())
        except (AttributeError, OSError, ValueError):
            return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
            return False
        f.tell()
        return True
    except (OSError, ValueError):
        return False
