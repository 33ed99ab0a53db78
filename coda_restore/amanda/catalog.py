"""The fold of Amanda's records into a ``Catalog`` (ref amanda-formats.md
§1.7, §2.2, §9), done as Amanda's find.c ``search_logfile`` does it, plus
what Amanda forgets.

Algorithm, per log file, oldest run first::

    searched  = Amanda would read this file: its datestamp D is some tapelist
                entry's, it is log.D.N with 0..N-1 present, log.D.amflush or
                log.D, and it is not in oldlog/
    START taper D' label L:   if D' != D: warn, and nothing after it counts
                              L is valid iff searched and tapelist[L] == D'
                              current label = L, file number = 0
    taper SUCCESS/CHUNK/PART/PARTPARTIAL, and PARTIAL outside a split dump:
                              file number += 1 (2.x implicit numbering)
    PART/PARTPARTIAL L f:     a part on L, file f; good only if L is valid
    SUCCESS taper (2.x):      a one-part copy on the current label
    DONE/CHUNKSUCCESS:        close key (host, disk, dump ts, level): the copy
                              is OK iff counting down from maxparts over the
                              good parts, newest first, reaches 0 (else FAIL
                              "Missing part")
    PARTIAL / FAIL taper:     close the key as PARTIAL / FAIL
    end of file:              keys still open are UNFINISHED (Amanda drops them)
    dumper/chunker/driver/planner results: the client result of the dump
                              (SUCCESS > STRANGE > PARTIAL > FAIL): was it
                              recorded on the Coda server (DESIGN rule 3)?

In the code, ``_LogFold`` holds one file's state (the label, the file
number, the open taper instances) with a method per step above, and
``_Folder`` what outlives a file (the tapelist, the dumps, the warnings).

Every copy Amanda would list as OK is available here, and nothing else is;
but unlike Amanda, every log (also oldlog/) is read, so a dump whose tape was
reused stays in the catalog with the reason it is gone.  Holding-disk files
add holding copies.

Where this differs from find.c, on purpose (DESIGN rule 4 wins): Amanda's
find.c also lists 2.x SUCCESS taper copies on a label it has not validated,
and calls a 2.5 chunked dump OK when its last chunks are on a reused tape
(CHUNK lines carry no total and it counts only surviving chunks); here
neither is available.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from coda_restore.amanda.holding import HoldingDump, scan_holding
from coda_restore.amanda.logfile import (
    LogType,
    Program,
    Result,
    Start,
    damage,
    kb_of,
    match_done,
    match_part,
    match_success,
    open_lines,
    parse_line,
    quote,
    ts14,
)
from coda_restore.amanda.model import (
    Catalog,
    CatalogWarning,
    ClientResult,
    Dump,
    DumpStatus,
    HoldingCopy,
    Origin,
    Part,
    PartStatus,
    TapeCopy,
    TapelistEntry,
    Unavailable,
    UnreadableLog,
)
from coda_restore.amanda.tapelist import read_tapelist

HOLDING_HINT = "holding disk not looked at: pass --holding DIR or --config"
_LOG_NAME = re.compile(r"log\.(\d+)(?:\.(\d+)|\.(amflush))?")

_SKIPPED_HEADS = frozenset(("INFO", "STAT", "DISK", "WARN"))  # never needed: skip before parsing
_intern = sys.intern


@dataclass(frozen=True, order=True)
class LogFile:
    """One trace log: its datestamp (the write timestamp of the run) and
    whether Amanda's find_dump would read it."""

    sort_key: tuple
    path: str = field(compare=False)
    datestamp: str = field(compare=False)
    searched: bool = field(compare=False)


class VolumeLines(Protocol):
    """One volume's lines of every log, kept elsewhere (the catalog index):
    ``about`` gives one log's damage (as damage() says it) and the lines
    open_lines(path, needle) would yield; it raises OSError as they would."""

    def about(self, log: LogFile, volume: str, needle: str) -> tuple[tuple[frozenset[int], str] | None,
                                                                    Iterable[tuple[int, str]]]: ...


class LogLines(Protocol):
    """Where a fold can take one volume's lines from: ``lines_for`` is told
    every log there is; None means "read the logs themselves"."""

    def lines_for(self, logs: Sequence[LogFile], volume: str) -> VolumeLines | None: ...


def list_logs(logdir: str, tapelist: Sequence[TapelistEntry]) -> list[LogFile]:
    """Every ``log.*`` in logdir and logdir/oldlog, oldest run first."""
    stamps = {e.datestamp for e in tapelist if e.datestamp != "0"}
    found: dict[str, tuple[str, re.Match]] = {}
    for sub in ("oldlog", ""):  # a name in logdir shadows the same in oldlog/
        d = os.path.join(logdir, sub) if sub else logdir
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for name in names:
            m = _LOG_NAME.fullmatch(name)
            if m and os.path.isfile(os.path.join(d, name)):
                found[name] = (os.path.join(d, name), m)
    searched: set[str] = set()
    for stamp in stamps:  # find.c: log.D.0, .1, ... until one is missing
        seq = 0
        while f"log.{stamp}.{seq}" in found and "oldlog" not in found[f"log.{stamp}.{seq}"][0]:
            searched.add(f"log.{stamp}.{seq}")
            seq += 1
        for name in (f"log.{stamp}.amflush", f"log.{stamp}"):
            if name in found and os.path.dirname(found[name][0]) == logdir.rstrip("/"):
                searched.add(name)
    logs = []
    for name, (path, m) in found.items():
        stamp = m.group(1)
        seq = int(m.group(2)) if m.group(2) else (1_000_000 if m.group(3) else -1)
        logs.append(LogFile((ts14(stamp), seq, name), path, stamp, name in searched))
    return sorted(logs)


_set = object.__setattr__  # fills in a Dump while the fold owns it (see _Folder.dump_of)

# Strongest client result wins: a retried dump that finally succeeded was
# recorded, whatever failed before it (§8.3).  A dumper/chunker line's type
# -> (the client result it says, its rank); a dump's rank so far comes from
# the same table (UNKNOWN: 0).
_CLIENT_RESULT = {
    LogType.SUCCESS: (ClientResult.SUCCESS, 4),
    LogType.STRANGE: (ClientResult.STRANGE, 3),
    LogType.PARTIAL: (ClientResult.PARTIAL, 2),
    LogType.FAIL: (ClientResult.FAIL, 1),
}
_RANK = {result: rank for result, rank in _CLIENT_RESULT.values()}
# Tuples, not sets: a membership test by identity, where a set would hash
# the enum member in Python (slow, once per line).
_COUNTED = (LogType.SUCCESS, LogType.CHUNK, LogType.PART, LogType.PARTPARTIAL)  # 2.x: one tape file each
_PART_LINES = (LogType.PART, LogType.PARTPARTIAL, LogType.CHUNK)
_UNFINISHED = "no DONE, PARTIAL or FAIL line: the run was interrupted"


def _add_copy(dump: Dump, copy: TapeCopy | HoldingCopy) -> None:
    _set(dump, "copies", dump.copies + (copy,))


class _Pending:
    """The parts of one taper instance, waiting for their result line."""

    __slots__ = ("parts", "storage", "pool", "maxparts", "first_line")

    def __init__(self, first_line: int):
        self.parts: list[Part] = []
        self.storage: str | None = None
        self.pool: str | None = None
        self.maxparts = -1  # the highest part number or total seen
        self.first_line = first_line

    def add(self, part: Part, total: int, storage: str | None, pool: str | None) -> None:
        self.parts.append(part)
        # find.c counts only parts on valid labels here; a 2.5 CHUNK line
        # has no total, so Amanda calls a dump whose last chunk is on a
        # reused tape OK.  Every part logged counts here.
        if part.partnum > self.maxparts:
            self.maxparts = part.partnum
        if total > self.maxparts:
            self.maxparts = total
        if storage and not self.storage:
            self.storage = storage
        if pool and not self.pool:
            self.pool = pool


class _LogFold:
    """The fold of one log file: the volume the taper is writing (its label,
    whether Amanda trusts it, the file number a 2.x log leaves to counting)
    and the taper instances waiting for their result line.  Steps:
    ``start`` (a START line), ``plain_part``/``part`` (a part), ``result``
    (any other dump-result line), ``finish`` (the end of the file)."""

    __slots__ = ("folder", "ints", "path", "stamp", "write_ts", "searched", "run_stamp", "label", "label_reason",
                 "valid", "start_storage", "filenum", "pending", "tapes_ok")

    def __init__(self, folder: _Folder, log: LogFile):
        self.folder, self.ints = folder, folder.ints
        self.path, self.stamp, self.searched = log.path, log.datestamp, log.searched
        self.write_ts = ts14(log.datestamp)
        self.run_stamp: str | None = None  # START driver/planner date: for STRANGE lines
        self.label: str | None = None
        self.label_reason: Unavailable | None = Unavailable.TAPE_UNKNOWN
        self.valid: dict[str, None] = {}  # the labels of this log that Amanda trusts
        self.start_storage: dict[str, str | None] = {}  # label -> ST: of its START taper
        self.filenum = 0
        self.pending: dict[tuple[str, str, str, int], _Pending] = {}
        self.tapes_ok = True  # False after a START taper stamped with another datestamp

    def start(self, entry: Start) -> None:
        if entry.program is not Program.TAPER:
            if self.run_stamp is None:
                self.run_stamp = entry.datestamp
            return
        if entry.datestamp != self.stamp and self.tapes_ok:
            self.folder.warnings.append(CatalogWarning(
                Origin(self.path, entry.line),
                f"log file stamped {entry.datestamp}, expecting {self.stamp}: "
                "Amanda reads no further tape records in it"))
            self.tapes_ok = False
            self.valid.clear()
        label = self.label = entry.label
        self.label_reason = self.folder.label_reason(label, entry.datestamp, self.searched and self.tapes_ok)
        if self.label_reason is None:
            self.valid[label] = None  # type: ignore[index]
        self.start_storage[label] = entry.storage  # type: ignore[index]
        self.filenum = 0

    def reason(self, label: str) -> Unavailable | None:
        """Why a part on ``label`` is gone; None when Amanda trusts it."""
        if label in self.valid:
            return None
        return (self.folder.label_reason(label, self.stamp, self.searched and self.tapes_ok)
                or Unavailable.TAPE_UNKNOWN)

    def pend(self, key: tuple[str, str, str, int], line: int) -> _Pending:
        pend = self.pending.get(key)
        if pend is None:
            pend = self.pending[key] = _Pending(line)
        return pend

    def plain_part(self, g: tuple[str, ...], line: int) -> None:
        """A PART line match_part read (a year of logs is a quarter of a
        million of them: no Result is made)."""
        st, pool, label, filenum, host, disk, ts, partnum, total, level, unit, value = g
        self.filenum += 1
        label, fnum = _intern(label), int(filenum)
        part = Part(int(partnum), label, self.ints(fnum, fnum), PartStatus.OK, kb_of(unit, value), None,
                    None if label in self.valid else self.reason(label))
        key = (host, disk, ts, int(level))
        pend = self.pending.get(key)
        if pend is None:
            pend = self.pending[key] = _Pending(line)
        pend.add(part, int(total), st and _intern(st), pool and _intern(pool))

    def plain_done(self, g: tuple[str, ...], line: int) -> None:
        """A DONE line match_done read: what result() does for it, directly."""
        st, pool, host, disk, ts, nparts, level, unit, value = g
        r = Result(LogType.DONE, Program.TAPER, host, disk, ts, int(level), int(nparts), -1, None, 0,
                   st and _intern(st), pool and _intern(pool), kb_of(unit, value), "", line)
        key = (host, disk, ts, r.level)
        self.close(r, key, self.pending.get(key))

    def result(self, r: Result) -> None:
        """A dump-result line: the client's result, a part, or a taper result."""
        taper = r.program is Program.TAPER
        dstamp = r.datestamp or (self.run_stamp if not taper and self.run_stamp else self.stamp)
        if not taper:
            self.folder.client(r, dstamp, self.path)
            return
        key = (r.host, r.disk, dstamp, r.level)
        typ = r.type
        pend = self.pending.get(key)
        # 2.x implicit file numbers: count files on the current volume.
        if typ in _COUNTED or (typ is LogType.PARTIAL and pend is None):
            self.filenum += 1
        if typ in _PART_LINES:
            self.part(r, key)
        else:
            self.close(r, key, pend)

    def part(self, r: Result, key: tuple[str, str, str, int]) -> None:
        """A PART, PARTPARTIAL or 2.5 CHUNK line from the general parser."""
        if r.type is LogType.CHUNK:
            label, filenum, reason = self.label, self.filenum, self.label_reason
        elif r.filenum == 0:
            # 3.5.1 logs the zero-byte part it wrote at end of medium with
            # file number 0, then writes that part again on the next
            # volume; find.c skips it.
            return
        else:
            label, filenum, reason = r.label, r.filenum, self.reason(r.label)  # type: ignore[arg-type]
        status = PartStatus.OK if r.type is not LogType.PARTPARTIAL else PartStatus.PARTIAL
        # No per-part Origin: a year of parts would cost ~80 bytes each;
        # the copy cites its result line and first part line.
        part = Part(r.partnum, label or "", self.ints(filenum, filenum), status, r.kb, None, reason)
        self.pend(key, r.line).add(part, r.totalparts, r.storage, r.pool)

    def close(self, r: Result, key: tuple[str, str, str, int], pend: _Pending | None) -> None:
        """A result line: SUCCESS (2.x, one part), DONE, CHUNKSUCCESS, PARTIAL, FAIL."""
        if pend is not None:
            del self.pending[key]
        elif r.type is LogType.SUCCESS or (r.type is LogType.PARTIAL and r.partnum == 1 and self.label):
            # 2.x: one file on the current volume, numbered by counting.
            pend = _Pending(r.line)
            pend.parts.append(Part(1, self.label or "", self.ints(self.filenum, self.filenum), PartStatus.OK,
                                   r.kb, None, self.label_reason))
            pend.maxparts = 1 if self.label_reason is None else -1
        else:
            pend = _Pending(r.line)
        copy = self.folder.tape_copy(pend, r, self.write_ts, self.path, self.storage(pend, r.storage))
        dump = self.folder.dump_of(r.host, r.disk, key[2], r.level, self.path, pend.first_line)
        _add_copy(dump, copy)
        if r.kb is not None and r.type is not LogType.FAIL:
            _set(dump, "kb", copy.kb)

    def storage(self, pend: _Pending, result_storage: str | None) -> str:
        """ST: of the parts, of the result, of START taper, the tapelist's
        STORAGE:, else the config name (lines without ST: before 3.4)."""
        label = pend.parts[0].label if pend.parts else self.label
        named = pend.storage or result_storage or self.start_storage.get(label or "")
        return named or self.folder.tapelist_storage(label)

    def finish(self) -> None:
        """Taper instances with no result line: the run was interrupted
        (Amanda forgets them; here they are copies that are gone)."""
        for (host, disk, dstamp, level), pend in self.pending.items():
            label = pend.parts[0].label if pend.parts else None
            named = pend.storage or self.start_storage.get(label or "")
            copy = TapeCopy(
                storage=named or self.folder.tapelist_storage(label), pool=pend.pool,
                write_timestamp=self.write_ts, status=DumpStatus.FAIL, parts=tuple(pend.parts),
                unavailable_because=Unavailable.UNFINISHED, message=_UNFINISHED,
                origin=Origin(self.path, pend.first_line), config=self.folder.config)
            _add_copy(self.dump_of(host, disk, dstamp, level, pend.first_line), copy)

    def dump_of(self, host: str, disk: str, stamp: str, level: int, line: int) -> Dump:
        return self.folder.dump_of(host, disk, stamp, level, self.path, line)


class _Folder:
    """What the fold keeps across log files: the tapelist, every dump made
    so far, the warnings, and the dumps a chunker wrote to a holding disk."""

    fast = True  # match_* for the common lines (a test compares with False)

    def __init__(self, tapelist: Sequence[TapelistEntry], config: str | None, warnings: list[CatalogWarning]):
        self.tapes = {e.label: e for e in tapelist}
        self.config = config
        self.dumps: dict[tuple[str, str, str, int], Dump] = {}
        # Line and file numbers recur in every log and on every tape: share
        # one int object per value (an int above 256 is 28 bytes each).
        self.ints = {}.setdefault
        self.warnings = warnings
        self.unreadable: list[UnreadableLog] = []
        self.chunked: list[Dump] = []  # a chunker wrote them to a holding disk

    def dump_of(self, host: str, disk: str, stamp: str, level: int, path: str, line: int) -> Dump:
        """The Dump of this key, made on first sight.  Dumps are frozen for
        everyone else; the fold alone fills one in (copies, client result)
        with object.__setattr__ while no one else can see it.  This keeps one
        object per dump instead of a builder plus a Dump (memory: a year of
        dumps is ~200,000 of them)."""
        key = (host, disk, ts14(stamp), level)
        dump = self.dumps.get(key)
        if dump is None:  # names are interned once, when a dump is first seen
            key = (_intern(host), _intern(disk), key[2], level)
            dump = self.dumps[key] = Dump(key[0], key[1], key[2], level, origin=Origin(path, self.ints(line, line)),
                                          config=self.config)
        return dump

    def label_reason(self, label: str | None, stamp: str, searched: bool) -> Unavailable | None:
        """find.c volume_matches(): the tapelist must hold L written at D."""
        tape = self.tapes.get(label) if label is not None else None
        if tape is None:
            return Unavailable.TAPE_UNKNOWN
        if tape.datestamp != stamp:
            return Unavailable.TAPE_REUSED
        if not searched:  # the tape is right, but Amanda never reads this log
            return Unavailable.LOG_NOT_SEARCHED
        return None

    def tapelist_storage(self, label: str | None) -> str:
        """A copy's storage when no line names it: the tapelist's STORAGE:,
        else the config name."""
        tape = self.tapes.get(label) if label else None
        if tape is not None and tape.storage:
            return tape.storage
        return self.config or ""

    # -- one log ---------------------------------------------------------

    def fold(self, log: LogFile, needle: str | None = None, skip: frozenset[int] = frozenset(),
             kept: Iterable[tuple[int, str]] | None = None) -> None:
        """Fold one log in: its lines, or ``kept`` (the same lines, kept by
        the catalog index).  The three line shapes that make nearly every
        line of a modern log (PART, DONE, dumper/chunker SUCCESS) are read
        by match_* without a Result; every other line by parse_line."""
        lf = _LogFold(self, log)
        fast = self.fast
        f, lines = open_lines(log.path, needle) if kept is None else (None, kept)
        try:
            for lineno, raw in lines:
                if skip and lineno in skip:
                    continue  # damaged: a NUL never becomes part of a host or disk name
                head = raw[:4]
                if head in _SKIPPED_HEADS:
                    continue
                if fast:
                    if head == "PART":
                        if raw.startswith("PART taper ") and (m := match_part(raw, 11)) is not None:
                            lf.plain_part(m.groups(), lineno)
                            continue
                    elif head == "DONE":
                        if raw.startswith("DONE taper ") and (m := match_done(raw, 11)) is not None:
                            lf.plain_done(m.groups(), lineno)
                            continue
                    elif head == "SUCC" and (raw.startswith("SUCCESS dumper ")
                                             or raw.startswith("SUCCESS chunker ")):
                        dumper = raw[8] == "d"
                        if (m := match_success(raw, 15 if dumper else 16)) is not None:
                            self.plain_success(m.groups(), dumper, log.path, lineno)
                            continue
                entry = parse_line(raw, lineno, log.path, self.warnings)
                if isinstance(entry, Start):
                    lf.start(entry)
                elif isinstance(entry, Result):
                    lf.result(entry)
        finally:
            if f is not None:
                f.close()
        lf.finish()

    def tape_copy(self, pend: _Pending, r: Result, write_ts: str, path: str, storage: str) -> TapeCopy:
        """The copy a result line closes: its status, and why it is gone."""
        status, reason, message = _judge(pend, r)
        kb = r.kb
        parts = pend.parts
        if len(parts) == 1 and parts[0].kb == kb:
            _set(parts[0], "kb", kb)  # one int object, not two equal ones (memory)
        return TapeCopy(storage=storage, pool=pend.pool or r.pool, write_timestamp=write_ts, status=status,
                        parts=tuple(parts), unavailable_because=reason, message=message, kb=kb,
                        origin=Origin(path, self.ints(r.line, r.line)), config=self.config)

    def plain_success(self, g: tuple[str, ...], dumper: bool, path: str, line: int) -> None:
        """client() for a SUCCESS line match_success read (two per dump)."""
        host, disk, ts, level, unit, value = g
        dump = self.dump_of(host, disk, ts, int(level), path, line)
        if dump.client is not ClientResult.SUCCESS:
            _set(dump, "client", ClientResult.SUCCESS)
            _set(dump, "client_message", "")
        if dumper and dump.kb is None:
            _set(dump, "kb", kb_of(unit, value))
        elif not dumper:
            self.chunked.append(dump)

    def client(self, r: Result, dstamp: str, path: str) -> None:
        """Dumper/chunker results say whether the client finished sending;
        driver and planner FAIL lines say a dump was attempted and failed."""
        prog, typ = r.program, r.type
        if prog is Program.DUMPER or prog is Program.CHUNKER:
            said = _CLIENT_RESULT.get(typ)
        elif (prog is Program.DRIVER or prog is Program.PLANNER) and typ is LogType.FAIL:
            said = _CLIENT_RESULT[typ]
        else:
            said = None
        if said is None:
            return
        result, rank = said
        dump = self.dump_of(r.host, r.disk, dstamp, r.level, path, r.line)
        if prog is Program.CHUNKER and typ is LogType.SUCCESS:
            self.chunked.append(dump)
        if rank > _RANK.get(dump.client, 0):
            _set(dump, "client", result)
            _set(dump, "client_message", f"{prog.value}: {r.message}" if r.message else "")
        if dump.kb is None and r.kb is not None and prog is Program.DUMPER:
            _set(dump, "kb", r.kb)

    # -- after the logs ----------------------------------------------------

    def add_holding(self, found: HoldingDump) -> None:
        h = found.header
        dump = self.dump_of(h.host, h.disk, h.datestamp, h.level, found.copy.path, 0)
        copy = found.copy if self.config is None else dataclasses.replace(found.copy, config=self.config)
        _add_copy(dump, copy)
        if dump.kb is None:
            _set(dump, "kb", found.copy.kb)

    def keep_only(self, disk: str) -> None:
        """Drop other disks' dumps (a needle can also match inside another line's text)."""
        self.dumps = {k: v for k, v in self.dumps.items() if k[1] == disk}

    def note_unsearched_holding(self, logdir, volume: str | None) -> None:
        """A dump a chunker wrote to a holding disk, with no tape copy that was
        ever good (a good flush deletes the holding file), may still be on the
        holding disk: say that it was not looked at, not that it is gone."""
        unsearched = 0
        for dump in self.chunked:
            if volume is not None and dump.disk != volume:
                continue
            if not dump.holding_unsearched and not any(c.status is DumpStatus.OK for c in dump.copies):
                _set(dump, "holding_unsearched", True)
                unsearched += 1
        if unsearched:
            self.warnings.append(CatalogWarning(
                Origin(os.fspath(logdir) if logdir is not None else "holding disk"),
                f"{unsearched} dump(s) were written to a holding disk: {HOLDING_HINT}"))

    def catalog(self, tapelist: tuple[TapelistEntry, ...]) -> Catalog:
        dumps = self.dumps
        ordered = tuple(dumps[key] for key in sorted(dumps))
        dumps.clear()
        return Catalog(ordered, tapelist, tuple(self.warnings), tuple(self.unreadable))


def _judge(pend: _Pending, r: Result) -> tuple[DumpStatus, Unavailable | None, str]:
    """(status, why it is gone, message) of the copy a result line closes."""
    message = r.message
    if r.type is LogType.FAIL:
        return DumpStatus.FAIL, Unavailable.FAILED, message
    if r.type is LogType.PARTIAL:
        return DumpStatus.PARTIAL, Unavailable.PARTIAL, message
    if not pend.parts:
        return DumpStatus.FAIL, Unavailable.MISSING_PART, "Missing part"
    good = [p for p in pend.parts if p.unavailable_because is None]
    if not good:
        # Amanda lists nothing here: every part is on a volume it no
        # longer trusts.  The taper did write it (status OK); say why it
        # is gone.
        return DumpStatus.OK, pend.parts[0].unavailable_because, message
    maxparts = max(pend.maxparts, r.partnum, r.totalparts)
    need = maxparts
    for p in reversed(good):  # find.c: newest first, counting down
        if p.partnum == need and p.status is PartStatus.OK:
            need -= 1
    if maxparts > -1 and need != 0:
        return DumpStatus.FAIL, Unavailable.MISSING_PART, "Missing part"
    return DumpStatus.OK, None, message


def build_catalog(logdir: str | os.PathLike | None, tapelist: str | os.PathLike | None,
                  holding: Iterable[str | os.PathLike] = (), config: str | None = None,
                  volume: str | None = None, index: LogLines | None = None) -> Catalog:
    """Read a logdir (and its oldlog/), a tapelist and holding disks into a
    Catalog.  Never raises for bad content: malformed records become
    ``Catalog.warnings`` (file:line) and are skipped.  With ``volume`` (a
    disk name) only the lines naming that disk are read (START lines too),
    and the catalog holds only its dumps, on every host.  With ``index``
    (catalog_index.py) one volume's lines come from it, not from the logs."""
    # A catalog is a million small objects made at once: the cyclic GC would
    # rescan them all again and again while they are being made.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _build(logdir, tapelist, holding, config, volume, index)
    finally:
        if gc_was_on:
            gc.enable()


def _build(logdir, tapelist, holding, config, volume, index) -> Catalog:
    warnings: list[CatalogWarning] = []
    entries = read_tapelist(os.fspath(tapelist), warnings) if tapelist is not None else ()
    folder = _Folder(entries, config, warnings)
    if logdir is not None:
        logdir = os.fspath(logdir)
        _fold_logdir(folder, logdir, entries, volume, index)
    for found in scan_holding([os.fspath(h) for h in holding], warnings):
        if volume is None or found.header.disk == volume:
            folder.add_holding(found)
    if volume is not None:
        folder.keep_only(volume)
    if not holding:
        folder.note_unsearched_holding(logdir, volume)
    if tapelist is not None and not entries:
        warnings.append(CatalogWarning(Origin(os.fspath(tapelist)),
                                       "the tapelist names no tapes: every tape copy counts as gone"))
    elif tapelist is None and logdir is not None:
        warnings.append(CatalogWarning(Origin(os.fspath(logdir)), "no tapelist (give --tapelist FILE or --config): "
                                       "every tape copy counts as gone"))
    return folder.catalog(entries)


def _fold_logdir(folder: _Folder, logdir: str, entries: Sequence[TapelistEntry], volume: str | None,
                 index: LogLines | None) -> None:
    """Fold every log, oldest run first; a damaged or unreadable one is
    warned about and noted, so no answer relies on it being complete.
    The index, when there is one, serves one volume's reads: the lines of
    every log, the damage found in it, exactly as the log would give them."""
    if not os.path.isdir(logdir):
        folder.warnings.append(CatalogWarning(Origin(logdir), "log directory does not exist"))
    needle = f" {quote(volume)} " if volume is not None else None
    logs = list_logs(logdir, entries)
    lines = index.lines_for(logs, volume) if index is not None and volume is not None else None
    for log in logs:
        try:
            if lines is not None:
                found, kept = lines.about(log, volume, needle)  # type: ignore[arg-type]
            else:
                found, kept = damage(log.path), None
            skip = frozenset()
            if found is not None:
                skip, what = found
                where = Origin(log.path, min(skip))
                folder.warnings.append(CatalogWarning(where, f"damaged log: {what}; those lines are skipped"))
                folder.unreadable.append(UnreadableLog(where, log.datestamp, what))
            folder.fold(log, needle, skip, kept)
        except OSError as err:
            folder.warnings.append(CatalogWarning(Origin(log.path), f"cannot read log: {err.strerror}"))
            folder.unreadable.append(UnreadableLog(Origin(log.path), log.datestamp,
                                                   f"cannot be read: {err.strerror}"))


# -- several configs ----------------------------------------------------------


def merge_catalogs(catalogs: Sequence[Catalog], names: Sequence[str | None] = ()) -> Catalog:
    """One catalog from the catalogs of several configs of one site (in the
    order the configs were named).  A volume is a (host, disk) whatever
    config dumped it, and the Coda server keeps one record of the last
    recorded dump per volume, whichever config took it (DESIGN rule 2): so
    every config's dumps go into one history, and an archive config's full
    dumps are restore points like any other.  A dump (host, disk,
    datestamp, level) that two configs name is one dump with the copies of
    both; when each config's logs say the client was dumped, the two may be
    two images under one name (8-digit datestamps of one day): a warning
    says so.  Each dump and copy keeps its ``config``; ``names`` (the
    configs, one per catalog) keep each config's own tapelist apart
    (``Catalog.tapelists``), for the tapes at risk of each cycle."""
    if len(catalogs) == 1:
        return catalogs[0]
    merged: dict[tuple[str, str, str, int], Dump] = {}
    warnings: list[CatalogWarning] = []
    for cat in catalogs:
        warnings += cat.warnings
    for cat in catalogs:
        for d in cat.dumps:
            seen = merged.get(d.key)
            merged[d.key] = d if seen is None else _same_dump(seen, d, warnings)
    labels: dict[str, str | None] = {}
    for cat in catalogs:
        config = next((d.config for d in cat.dumps), None)
        for e in cat.tapelist:
            if e.label in labels and labels[e.label] != config:
                warnings.append(CatalogWarning(Origin("tapelist"), f"label {e.label} is in the tapelists of "
                                               f"{labels[e.label]} and {config}: its copies may be mixed up"))
            labels.setdefault(e.label, config)
    names = list(names) or [next((d.config for d in cat.dumps), None) for cat in catalogs]
    return Catalog(tuple(merged[k] for k in sorted(merged)),
                   tuple(e for cat in catalogs for e in cat.tapelist), tuple(warnings),
                   tuple(u for cat in catalogs for u in cat.unreadable),
                   tuple((name or "", cat.tapelist) for name, cat in zip(names, catalogs)))


def _same_dump(first: Dump, other: Dump, warnings: list[CatalogWarning]) -> Dump:
    """``first`` with ``other``'s copies added: the stronger client result,
    the first size, origin and config known."""
    if first.client is not ClientResult.UNKNOWN and other.client is not ClientResult.UNKNOWN:
        warnings.append(CatalogWarning(
            other.origin or Origin(""),
            f"{other.host} {other.disk} {other.ref} was dumped by config {first.config} and by config "
            f"{other.config}: taken as one dump with the copies of both; if these are two images (two runs of "
            "one day with 8-digit datestamps), a plan may read either"))
    stronger = other if _RANK.get(other.client, 0) > _RANK.get(first.client, 0) else first
    return dataclasses.replace(
        first, copies=first.copies + other.copies, client=stronger.client, client_message=stronger.client_message,
        kb=first.kb if first.kb is not None else other.kb,
        holding_unsearched=first.holding_unsearched or other.holding_unsearched,
        coda=first.coda or other.coda)
