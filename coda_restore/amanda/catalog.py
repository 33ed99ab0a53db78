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

import gc
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from coda_restore.amanda.holding import scan_holding
from coda_restore.amanda.logfile import (
    _FAST_DONE,
    _FAST_PART,
    _FAST_SUCCESS,
    _TS14,
    LogType,
    Program,
    Result,
    Start,
    _kb,
    damage,
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

# Strongest client result wins: a retried dump that finally succeeded was
# recorded, whatever failed before it (§8.3).  See _Folder._client.
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


_set = object.__setattr__  # fills in a Dump while the fold owns it (see _Folder._dump)


def _rank(client: ClientResult) -> int:
    """SUCCESS 4 > STRANGE 3 > PARTIAL 2 > FAIL 1 > UNKNOWN 0 (identity
    tests: enum members hash in Python, which is slow here)."""
    if client is ClientResult.SUCCESS:
        return 4
    if client is ClientResult.STRANGE:
        return 3
    if client is ClientResult.PARTIAL:
        return 2
    return 1 if client is ClientResult.FAIL else 0


class _Pending:
    """The parts of one taper instance, waiting for their result line."""

    __slots__ = ("parts", "storage", "pool", "maxparts", "first_line")

    def __init__(self, first_line: int):
        self.parts: list[Part] = []
        self.storage: str | None = None
        self.pool: str | None = None
        self.maxparts = -1  # the highest part number or total seen
        self.first_line = first_line


class _Folder:
    fast = True  # the inlined paths for the common lines (a test compares with False)

    def __init__(self, tapelist: Sequence[TapelistEntry], config: str | None):
        self.tapes = {e.label: e for e in tapelist}
        self.config = config
        self.dumps: dict[tuple[str, str, str, int], Dump] = {}
        # Line and file numbers recur in every log and on every tape: share
        # one int object per value (an int above 256 is 28 bytes each).
        self._int = {}.setdefault
        self.warnings: list[CatalogWarning] = []
        self.unreadable: list[UnreadableLog] = []
        self.chunked: list[Dump] = []  # a chunker wrote them to a holding disk

    # -- helpers ---------------------------------------------------------

    def _dump(self, host: str, disk: str, stamp: str, level: int, path: str, line: int) -> Dump:
        """The Dump of this key, made on first sight.  Dumps are frozen for
        everyone else; the fold alone fills one in (copies, client result)
        with object.__setattr__ while no one else can see it.  This keeps one
        object per dump instead of a builder plus a Dump (memory: a year of
        dumps is ~200,000 of them)."""
        key = (host, disk, _TS14.get(stamp) or ts14(stamp), level)
        dump = self.dumps.get(key)
        if dump is None:  # names are interned once, when a dump is first seen
            key = (_intern(host), _intern(disk), key[2], level)
            dump = self.dumps[key] = Dump(key[0], key[1], key[2], level, origin=Origin(path, self._int(line, line)))
        return dump

    def _label_reason(self, label: str | None, stamp: str, searched: bool) -> Unavailable | None:
        """find.c volume_matches(): the tapelist must hold L written at D."""
        tape = self.tapes.get(label) if label is not None else None
        if tape is None:
            return Unavailable.TAPE_UNKNOWN
        if tape.datestamp != stamp:
            return Unavailable.TAPE_REUSED
        if not searched:  # the tape is right, but Amanda never reads this log
            return Unavailable.LOG_NOT_SEARCHED
        return None

    def _storage(self, pend_storage: str | None, result: Result, start_storage: str | None,
                 label: str | None) -> str:
        """ST: of the parts, of the result, of START taper, the tapelist's
        STORAGE:, else the config name (lines without ST: before 3.4)."""
        if pend_storage or result.storage or start_storage:
            return pend_storage or result.storage or start_storage  # type: ignore[return-value]
        tape = self.tapes.get(label) if label else None
        if tape is not None and tape.storage:
            return tape.storage
        return self.config or ""

    # -- one log ---------------------------------------------------------

    def fold(self, log: LogFile, needle: str | None = None, skip: frozenset[int] = frozenset()) -> None:
        path = log.path
        stamp = log.datestamp
        write_ts = ts14(stamp)
        searched = log.searched
        run_stamp: str | None = None  # START driver/planner date: for STRANGE lines
        label: str | None = None
        label_reason: Unavailable | None = Unavailable.TAPE_UNKNOWN
        valid: dict[str, None] = {}
        start_storage: dict[str, str | None] = {}
        filenum = 0
        pending: dict[tuple[str, str, str, int], _Pending] = {}
        tapes_ok = True  # False after a START taper stamped with another datestamp

        f, lines = open_lines(path, needle)
        warnings = self.warnings
        part_re, done_re, success_re = _FAST_PART.match, _FAST_DONE.match, _FAST_SUCCESS.match
        fast = self.fast
        TAPER, DONE = Program.TAPER, LogType.DONE
        for lineno, raw in lines:
            if skip and lineno in skip:
                continue  # damaged: a NUL never becomes part of a host or disk name
            # The three shapes that make nearly every line of a modern log
            # are matched here without the general parser (same Result).
            head = raw[:4]
            if head in _SKIPPED_HEADS:
                continue
            m = None
            if head == "PART" and fast and raw.startswith("PART taper "):
                m = part_re(raw, 11)
                if m is not None:
                    st, pool, plabel, pfile, host, disk, ts, pnum, total, lvl, unit, value = m.groups()
                    level = int(lvl)
                    if pfile != "0" and level < 400:
                        # The general PART path below, inlined: a year of
                        # logs is a quarter of a million of these lines.
                        filenum += 1
                        key = (host, disk, ts, level)
                        pend = pending.get(key)
                        if pend is None:
                            pend = pending[key] = _Pending(lineno)
                        plabel = _intern(plabel)
                        reason = None if plabel in valid else (
                            self._label_reason(plabel, stamp, searched and tapes_ok) or Unavailable.TAPE_UNKNOWN)
                        pnum_i, total_i, fnum = int(pnum), int(total), int(pfile)
                        pend.parts.append(Part(pnum_i, plabel, self._int(fnum, fnum), PartStatus.OK,
                                               _kb(unit, value), None, reason))
                        if pnum_i > pend.maxparts:
                            pend.maxparts = pnum_i
                        if total_i > pend.maxparts:
                            pend.maxparts = total_i
                        if st and not pend.storage:
                            pend.storage = _intern(st)
                        if pool and not pend.pool:
                            pend.pool = _intern(pool)
                        continue
                    m = None
            elif head == "DONE" and fast and raw.startswith("DONE taper "):
                m = done_re(raw, 11)
                if m is not None:
                    st, pool, host, disk, ts, nparts, lvl, unit, value = m.groups()
                    entry = Result(DONE, TAPER, host, disk, ts, int(lvl), int(nparts), -1, None, 0,
                                   st and _intern(st), pool and _intern(pool), _kb(unit, value), "", lineno)
                    if entry.level >= 400:
                        m = None
            elif head == "SUCC" and fast and (raw.startswith("SUCCESS dumper ")
                                               or raw.startswith("SUCCESS chunker ")):
                dumper = raw[8] == "d"
                m = success_re(raw, 15 if dumper else 16)
                if m is not None:
                    host, disk, ts, lvl, unit, value = m.groups()
                    level = int(lvl)
                    if level < 400:
                        # _client() for a SUCCESS, inlined (two per dump).
                        dump = self._dump(host, disk, ts, level, path, lineno)
                        if dump.client is not ClientResult.SUCCESS:
                            _set(dump, "client", ClientResult.SUCCESS)
                            _set(dump, "client_message", "")
                        if dumper and dump.kb is None:
                            _set(dump, "kb", _kb(unit, value))
                        elif not dumper:
                            self.chunked.append(dump)
                        continue
                    m = None
            if m is None:
                entry = parse_line(raw, lineno, path, warnings)
                if entry is None:
                    continue
            if isinstance(entry, Start):
                if entry.program is Program.TAPER:
                    if entry.datestamp != stamp and tapes_ok:
                        self.warnings.append(CatalogWarning(
                            Origin(path, entry.line),
                            f"log file stamped {entry.datestamp}, expecting {stamp}: "
                            "Amanda reads no further tape records in it"))
                        tapes_ok = False
                        valid.clear()
                    label = entry.label
                    label_reason = self._label_reason(label, entry.datestamp, searched and tapes_ok)
                    if label_reason is None:
                        valid[label] = None  # type: ignore[index]
                    start_storage[label] = entry.storage  # type: ignore[index]
                    filenum = 0
                elif run_stamp is None:
                    run_stamp = entry.datestamp
                continue
            if not isinstance(entry, Result):
                continue
            r = entry
            prog, typ = r.program, r.type
            dstamp = r.datestamp or (run_stamp if prog is not Program.TAPER and run_stamp else stamp)
            if prog is not Program.TAPER:
                self._client(r, dstamp, path)
                continue
            key = (r.host, r.disk, dstamp, r.level)
            pend = pending.get(key)
            # 2.x implicit file numbers: count files on the current volume.
            if typ in (LogType.SUCCESS, LogType.CHUNK, LogType.PART, LogType.PARTPARTIAL) or (
                    typ is LogType.PARTIAL and pend is None):
                filenum += 1
            if typ in (LogType.PART, LogType.PARTPARTIAL, LogType.CHUNK):
                if typ is LogType.CHUNK:
                    part_label, part_filenum, reason = label, filenum, label_reason
                else:
                    part_label, part_filenum = r.label, r.filenum
                    if part_filenum == 0:
                        # 3.5.1 logs the zero-byte part it wrote at end of
                        # medium with file number 0, then writes that part
                        # again on the next volume; find.c skips it.
                        continue
                    reason = None if part_label in valid else (
                        self._label_reason(part_label, stamp, searched and tapes_ok) or Unavailable.TAPE_UNKNOWN)
                if pend is None:
                    pend = pending[key] = _Pending(r.line)
                status = PartStatus.OK if typ is not LogType.PARTPARTIAL else PartStatus.PARTIAL
                # No per-part Origin: a year of parts would cost ~80 bytes each;
                # the copy cites its result line and first part line.
                pend.parts.append(Part(r.partnum, part_label or "", self._int(part_filenum, part_filenum), status,
                                       r.kb, None, reason))
                # find.c counts only parts on valid labels here; a 2.5 CHUNK
                # line has no total, so Amanda calls a dump whose last chunk
                # is on a reused tape OK.  Every part logged counts here.
                pend.maxparts = max(pend.maxparts, r.partnum, r.totalparts)
                pend.storage = pend.storage or r.storage
                pend.pool = pend.pool or r.pool
                continue
            # A result line: SUCCESS (2.x, one part), DONE, CHUNKSUCCESS, PARTIAL, FAIL.
            if pend is not None:
                del pending[key]
            elif typ is LogType.SUCCESS or (typ is LogType.PARTIAL and r.partnum == 1 and label):
                # 2.x: one file on the current volume, numbered by counting.
                pend = _Pending(r.line)
                pend.parts.append(Part(1, label or "", self._int(filenum, filenum), PartStatus.OK, r.kb, None,
                                       label_reason))
                pend.maxparts = 1 if label_reason is None else -1
            else:
                pend = _Pending(r.line)
            part_label = pend.parts[0].label if pend.parts else label
            copy = self._close(pend, r, write_ts, path,
                               self._storage(pend.storage, r, start_storage.get(part_label or ""), part_label))
            dump = self._dump(r.host, r.disk, dstamp, r.level, path, pend.first_line)
            _set(dump, "copies", dump.copies + (copy,))
            if r.kb is not None and typ is not LogType.FAIL:
                _set(dump, "kb", copy.kb)

        if f is not None:
            f.close()
        for (host, disk, dstamp, level), pend in pending.items():
            part_label = pend.parts[0].label if pend.parts else None
            origin = Origin(path, pend.first_line)
            copy = TapeCopy(
                storage=self._storage(pend.storage, _NO_RESULT, start_storage.get(part_label or ""), part_label),
                pool=pend.pool, write_timestamp=write_ts, status=DumpStatus.FAIL, parts=tuple(pend.parts),
                unavailable_because=Unavailable.UNFINISHED,
                message="no DONE, PARTIAL or FAIL line: the run was interrupted", origin=origin)
            dump = self._dump(host, disk, dstamp, level, path, pend.first_line)
            _set(dump, "copies", dump.copies + (copy,))

    def _close(self, pend: _Pending, r: Result, write_ts: str, path: str, storage: str) -> TapeCopy:
        good = [p for p in pend.parts if p.unavailable_because is None]
        message = r.message
        if r.type is LogType.FAIL:
            status, reason = DumpStatus.FAIL, Unavailable.FAILED
        elif r.type is LogType.PARTIAL:
            status, reason = DumpStatus.PARTIAL, Unavailable.PARTIAL
        elif not pend.parts:
            status, reason, message = DumpStatus.FAIL, Unavailable.MISSING_PART, "Missing part"
        elif not good:
            # Amanda lists nothing here: every part is on a volume it no
            # longer trusts.  The taper did write it (status OK); say why it
            # is gone.
            status, reason = DumpStatus.OK, pend.parts[0].unavailable_because
        else:
            maxparts = max(pend.maxparts, r.partnum, r.totalparts)
            need = maxparts
            for p in reversed(good):  # find.c: newest first, counting down
                if p.partnum == need and p.status is PartStatus.OK:
                    need -= 1
            if maxparts > -1 and need != 0:
                status, reason, message = DumpStatus.FAIL, Unavailable.MISSING_PART, "Missing part"
            else:
                status, reason = DumpStatus.OK, None
        kb = r.kb
        parts = pend.parts
        if len(parts) == 1 and parts[0].kb == kb:
            _set(parts[0], "kb", kb)  # one int object, not two equal ones (memory)
        return TapeCopy(storage=storage, pool=pend.pool or r.pool, write_timestamp=write_ts, status=status,
                        parts=tuple(parts), unavailable_because=reason, message=message, kb=kb,
                        origin=Origin(path, self._int(r.line, r.line)))

    def _client(self, r: Result, dstamp: str, path: str) -> None:
        """Dumper/chunker results say whether the client finished sending;
        driver and planner FAIL lines say a dump was attempted and failed."""
        prog, typ = r.program, r.type
        if prog is Program.DUMPER or prog is Program.CHUNKER:
            # Enum members hash (and .value) in Python: compare by identity.
            if typ is LogType.SUCCESS:
                result, rank = ClientResult.SUCCESS, 4
            elif typ is LogType.STRANGE:
                result, rank = ClientResult.STRANGE, 3
            elif typ is LogType.PARTIAL:
                result, rank = ClientResult.PARTIAL, 2
            elif typ is LogType.FAIL:
                result, rank = ClientResult.FAIL, 1
            else:
                return
        elif (prog is Program.DRIVER or prog is Program.PLANNER) and typ is LogType.FAIL:
            result, rank = ClientResult.FAIL, 1
        else:
            return
        dump = self._dump(r.host, r.disk, dstamp, r.level, path, r.line)
        if prog is Program.CHUNKER and typ is LogType.SUCCESS:
            self.chunked.append(dump)
        if rank > _rank(dump.client):
            _set(dump, "client", result)
            _set(dump, "client_message", f"{prog.value}: {r.message}" if r.message else "")
        if dump.kb is None and r.kb is not None and prog is Program.DUMPER:
            _set(dump, "kb", r.kb)

    # -- the result ------------------------------------------------------

    def catalog(self, tapelist: tuple[TapelistEntry, ...]) -> Catalog:
        dumps = self.dumps
        ordered = tuple(dumps[key] for key in sorted(dumps))
        dumps.clear()
        return Catalog(ordered, tapelist, tuple(self.warnings), tuple(self.unreadable))


class _NoResult:
    storage = None


_NO_RESULT = _NoResult()


def build_catalog(logdir: str | os.PathLike | None, tapelist: str | os.PathLike | None,
                  holding: Iterable[str | os.PathLike] = (), config: str | None = None,
                  volume: str | None = None) -> Catalog:
    """Read a logdir (and its oldlog/), a tapelist and holding disks into a
    Catalog.  Never raises for bad content: malformed records become
    ``Catalog.warnings`` (file:line) and are skipped.  With ``volume`` (a
    disk name) only the lines naming that disk are read (START lines too),
    and the catalog holds only its dumps, on every host."""
    # A catalog is a million small objects made at once: the cyclic GC would
    # rescan them all again and again while they are being made.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _build(logdir, tapelist, holding, config, volume)
    finally:
        if gc_was_on:
            gc.enable()


def _build(logdir, tapelist, holding, config, volume) -> Catalog:
    needle = f" {quote(volume)} " if volume is not None else None
    warnings: list[CatalogWarning] = []
    entries = read_tapelist(os.fspath(tapelist), warnings) if tapelist is not None else ()
    folder = _Folder(entries, config)
    folder.warnings = warnings
    if logdir is not None:
        logdir = os.fspath(logdir)
        if not os.path.isdir(logdir):
            warnings.append(CatalogWarning(Origin(logdir), "log directory does not exist"))
        for log in list_logs(logdir, entries):
            try:
                found = damage(log.path)
                skip = frozenset()
                if found is not None:
                    skip, what = found
                    where = Origin(log.path, min(skip))
                    warnings.append(CatalogWarning(where, f"damaged log: {what}; those lines are skipped"))
                    folder.unreadable.append(UnreadableLog(where, log.datestamp, what))
                folder.fold(log, needle, skip)
            except OSError as err:
                warnings.append(CatalogWarning(Origin(log.path), f"cannot read log: {err.strerror}"))
                folder.unreadable.append(UnreadableLog(Origin(log.path), log.datestamp,
                                                       f"cannot be read: {err.strerror}"))
    for hd in scan_holding([os.fspath(h) for h in holding], warnings):
        h = hd.header
        if volume is not None and h.disk != volume:
            continue
        dump = folder._dump(h.host, h.disk, h.datestamp, h.level, hd.copy.path, 0)
        _set(dump, "copies", dump.copies + (hd.copy,))
        if dump.kb is None:
            _set(dump, "kb", hd.copy.kb)
    if volume is not None:  # a needle can also match inside another line's text
        folder.dumps = {k: v for k, v in folder.dumps.items() if k[1] == volume}
    if not holding:
        _note_unsearched_holding(folder, logdir, volume)
    if tapelist is not None and not entries:
        warnings.append(CatalogWarning(Origin(os.fspath(tapelist)),
                                       "the tapelist names no tapes: every tape copy counts as gone"))
    elif tapelist is None and logdir is not None:
        warnings.append(CatalogWarning(Origin(os.fspath(logdir)), "no tapelist (give --tapelist FILE or --config): "
                                       "every tape copy counts as gone"))
    return folder.catalog(entries)


def _note_unsearched_holding(folder: _Folder, logdir, volume: str | None) -> None:
    """A dump a chunker wrote to a holding disk, with no tape copy that was
    ever good (a good flush deletes the holding file), may still be on the
    holding disk: say that it was not looked at, not that it is gone."""
    unsearched = 0
    for dump in folder.chunked:
        if volume is not None and dump.disk != volume:
            continue
        if not dump.holding_unsearched and not any(c.status is DumpStatus.OK for c in dump.copies):
            _set(dump, "holding_unsearched", True)
            unsearched += 1
    if unsearched:
        folder.warnings.append(CatalogWarning(
            Origin(os.fspath(logdir) if logdir is not None else "holding disk"), f"{unsearched} dump(s) were written to a holding disk: {HOLDING_HINT}"))
