"""amcoda: an Amanda Application-API plugin that backs up Coda volumes.

Amanda runs ``amcoda COMMAND [--option value]...`` (ref ``amanda-formats.md``
§7.3).  What each command does, in terms of ``volutil`` (ref
``coda-dump-format.md`` §12, §16):

* ``estimate``: make sure the volume's backup clone is at most CLONE-MAX-AGE
  old (``lock`` + ``backup`` otherwise; the age is the RW volume's
  backupDate, which every ``backup`` moves, ref §23 row 5), then print
  ``LEVEL KiB 1`` per requested level: level 0 from the clone's size in
  ``volutil info``, an incremental by counting the bytes of an unmarked
  ``dump -i LEVEL`` of the clone (the next dump's base does not move).
  ``volutil dumpestimate`` kills a current server once an ``.ancient`` list
  exists (§23 row 4): it is used only with ESTIMATE "dumpestimate".
* A backupId of 0 or naming no volume (a purged clone, ``Unknown RPC2 return
  code 603``) is not an error: ``lock`` + ``backup`` make a new clone, as
  S_VolMakeBackups does, and the id ``backup`` printed is dumped.
* ``backup``: the same clone check, ``dump [-i LEVEL] CLONE`` streamed to
  fd 1 while the stream is checked and its directories are read for the
  index (fd 4), its last MiB held back until every check passed (see
  ``HeldBack``); ``sendbackup: size`` on fd 3; and only when ``--record``
  was given and every check passed, ``ancient``.  A dump that fails any
  check is reported with ``sendbackup: error [...]`` (on stderr, see
  ``Messages``) and a non-zero exit, and is never marked.
* ``restore``: the level-0 stream on stdin spooled to a regular file, then
  ``volutil restore -f FILE`` (never volutil's stdin) and the dump back,
  compared with what was sent.
* ``validate``: the stream on stdin through the dump validator.

Not promised: a restore of an incremental (the server refuses it; merge the
chain with ``coda-restore`` first), include/exclude lists, partial restores.
"""

from __future__ import annotations

import collections
import enum
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from coda_restore import proc
from coda_restore.errors import CodaRestoreError, CommandFailed, NotVerified, RestoreFailed, RestoreWrong, UsageError
from coda_restore.executor.restore import Transport, name_free, restore_staged, verify
from coda_restore.volutil import (BACKUP, RW, AncientStyle, Volutil, VolumeInfo, bytes_dumped, hexid,
                                  no_such_volume, not_in_vldb, one_line, refused, server_gone)
from coda_restore.voldump import dirpage
from coda_restore.voldump.contents import contents
from coda_restore.voldump.reader import DumpReader
from coda_restore.voldump.stream import Tee
from coda_restore.voldump.records import DumpHeader, Vnode
from coda_restore.voldump.tree import Meta, build_layout

CHUNK = 64 * 1024  # bytes per read where amcoda copies; the codec reads up to 1 MiB at a time
MAX_LEVEL = 9
DEFAULT_CLONE_MAX_AGE = 4 * 3600.0  # seconds; the original Coda wrappers' 4 hours
DEFAULT_VOLUTIL_TIMEOUT = 600.0  # seconds per short volutil call (a hung server must not hang amdump)
SELFCHECK_TIMEOUT = 20.0  # seconds: amcheck gives a client 30 (ctimeout)
MESG_FD, INDEX_FD = 3, 4
HOLD_BYTES = 1 << 20  # the tail of a backup held back until it is proven good (see HeldBack)
START_BYTES = 2 * HOLD_BYTES

SUPPORT = (
    ("CONFIG", "YES"), ("HOST", "YES"), ("DISK", "YES"),
    ("MAX-LEVEL", str(MAX_LEVEL)),
    ("INDEX-LINE", "YES"), ("INDEX-XML", "NO"),
    ("MESSAGE-LINE", "YES"), ("MESSAGE-XML", "NO"),
    ("RECORD", "YES"), ("COLLECTION", "NO"),
    ("MULTI-ESTIMATE", "YES"), ("CALCSIZE", "NO"), ("CLIENT-ESTIMATE", "YES"),
)


USAGE = """\
usage: amcoda COMMAND [--NAME VALUE]...   (run by Amanda as its own user)
       amcoda install [--amlibexecdir DIR] [--user USER] [--name NAME] [--force]

Amanda's Application-API commands: support, selfcheck, estimate, backup,
restore, validate; properties are passed as --NAME VALUE (see the README or
coda-restore(1), AMANDA APPLICATION).  'amcoda install' (as root) puts this
amcoda into Amanda's application directory, tried as Amanda's user first;
'amcoda install --help' tells more.
"""


class Command(enum.Enum):
    SUPPORT = "support"
    SELFCHECK = "selfcheck"
    ESTIMATE = "estimate"
    BACKUP = "backup"
    RESTORE = "restore"
    VALIDATE = "validate"


# Options Amanda passes without a value; every other --name takes one.
_FLAGS = {"record", "calcsize", "collection", "server-backup-result", "verbose"}


@dataclass(frozen=True)
class Request:
    """One invocation, as Amanda spelled it."""

    command: Command
    config: str | None = None
    host: str | None = None
    disk: str | None = None
    device: str | None = None
    levels: tuple[int, ...] = ()
    index_line: bool = False
    record: bool = False
    properties: tuple[tuple[str, str], ...] = ()  # normalised names, in order
    files: tuple[str, ...] = ()  # restore: what to restore (only the whole volume)

    def prop(self, name: str, default: str | None = None) -> str | None:
        found = self.props(name)
        return found[-1] if found else default

    def props(self, name: str) -> tuple[str, ...]:
        """Every value of a multi-valued property, in Amanda's order."""
        return tuple(v for k, v in self.properties if k == name)


def _norm(name: str) -> str:
    # Amanda: property names are case-insensitive, '-' and '_' interchangeable.
    return name.lower().replace("_", "-")


def parse_args(argv: Sequence[str]) -> Request:
    """Amanda's argument conventions: the command first (any case, '-' or
    '_'), then ``--name value`` or ``--name=value`` pairs, a few bare flags,
    and for restore the file names."""
    if not argv:
        raise UsageError("no command given")
    try:
        command = Command(_norm(argv[0]).replace("-", ""))
    except ValueError:
        raise UsageError(f"unknown command {argv[0]!r}") from None
    opts: dict[str, list[str]] = {}
    files: list[str] = []
    order: list[tuple[str, str]] = []
    i = 1
    while i < len(argv):
        word = argv[i]
        i += 1
        if not word.startswith("--") or word == "--":
            files.append(word)
            continue
        name, eq, value = word[2:].partition("=")
        name = _norm(name)
        if not eq:
            if name in _FLAGS:
                value = "yes"
            elif i < len(argv):
                value, i = argv[i], i + 1
            else:
                raise UsageError(f"option --{name} needs a value")
        opts.setdefault(name, []).append(value)
        order.append((name, value))
    levels = []
    for text in opts.get("level", []):
        if not text.isdigit() or int(text) > MAX_LEVEL:
            raise UsageError(f"bad level {text!r} (0..{MAX_LEVEL})")
        levels.append(int(text))
    last = {k: v[-1] for k, v in opts.items()}
    return Request(
        command=command, config=last.get("config"), host=last.get("host"),
        disk=last.get("disk"), device=last.get("device"), levels=tuple(levels),
        index_line=last.get("index") == "line", record="record" in last,
        properties=tuple(order), files=tuple(files))


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.I)
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str, what: str = "CLONE-MAX-AGE") -> float:
    """An age or a time limit: seconds, or a number with s, m, h or d."""
    m = _AGE.match(text)
    if not m:
        raise UsageError(f"bad {what} {text!r}: want e.g. 4h, 90m, 3600")
    return float(m.group(1)) * _UNIT[m.group(2).lower()]


def parse_timeout(text: str | None) -> float:
    """VOLUTIL-TIMEOUT: a positive time limit (default DEFAULT_VOLUTIL_TIMEOUT)."""
    if text is None:
        return DEFAULT_VOLUTIL_TIMEOUT
    limit = parse_age(text, "VOLUTIL-TIMEOUT")
    if limit <= 0:
        raise UsageError(f"bad VOLUTIL-TIMEOUT {text!r}: it must be more than 0 seconds")
    return limit


class Estimate(enum.Enum):
    """ESTIMATE: how estimate sizes a level."""

    COUNT = "count"  # level 0 from volutil info, incrementals by counting an unmarked dump
    DUMPESTIMATE = "dumpestimate"  # only for a server fixed for ref §23 row 4


@dataclass(frozen=True)
class Settings:
    """The application-tool properties, checked once at the edge."""

    volutil: Volutil
    volume: str  # what ``volutil info`` is asked for: a replica's name or hex id
    partition: str | None
    clone_max_age: float
    ancient: AncientStyle
    restore_name: str | None = None
    estimate: Estimate = Estimate.COUNT
    staging: str | None = None  # where restore spools the image (default: the temp directory)


def _choice(enum_type, req: Request, name: str, default):
    text = _norm(req.prop(name, default.value))
    try:
        return enum_type(text)
    except ValueError:
        choices = ", ".join(e.value for e in enum_type)
        raise UsageError(f"bad {name.upper()} {text!r}: one of {choices}") from None


def settings(req: Request) -> Settings:
    # VOLUTIL may be multi-valued: the words volutil runs through, e.g.
    # "sudo" "-n" "/usr/sbin/volutil" (a list, never a shell string).
    command = req.props("volutil") or ("volutil",)
    # The volume: property VOLUME, else the DLE's device, else its disk; a path
    # like /coda/u.jan names the volume by its last component.
    where = req.prop("volume") or req.device or req.disk or ""
    volume = where.rstrip("/").rsplit("/", 1)[-1]
    if not volume and req.command not in (Command.SUPPORT, Command.VALIDATE, Command.RESTORE):
        raise UsageError("no volume: give --disk, --device or the VOLUME property")
    style = _choice(AncientStyle, req, "ancient-id", AncientStyle.BACKUP_ID)
    timeout = parse_timeout(req.prop("volutil-timeout"))
    if req.command is Command.SELFCHECK:  # answer before amcheck gives up on the client
        timeout = min(timeout, SELFCHECK_TIMEOUT)
    return Settings(
        volutil=Volutil(program=command[-1], prefix=command[:-1], server=req.prop("server"),
                        timeout=timeout),
        volume=volume, partition=req.prop("partition"),
        clone_max_age=parse_age(req.prop("clone-max-age", str(DEFAULT_CLONE_MAX_AGE))),
        ancient=style, restore_name=req.prop("restore-name"),
        estimate=_choice(Estimate, req, "estimate", Estimate.COUNT), staging=req.prop("staging"))


# --- the backup clone --------------------------------------------------------


@dataclass(frozen=True)
class Clone:
    rw: VolumeInfo  # the read/write replica
    clone: VolumeInfo  # its backup clone, the volume that is dumped
    notes: tuple[str, ...] = ()  # what was done to get it, for the messages


class VolumeProblem(CodaRestoreError):
    """{}"""


def find_volume(s: Settings) -> VolumeInfo:
    """``volutil info VOLUME``, with a failure that says what it means."""
    try:
        return s.volutil.info(s.volume)
    except CommandFailed as exc:
        if not_in_vldb(exc):
            raise VolumeProblem(f"volume {s.volume}: the name is not in the server's VLDB (volutil "
                                "info finds a name only there): give the replica's hex id, or run "
                                "bldvldb.sh on the server") from None
        if no_such_volume(exc):
            raise VolumeProblem(f"no volume {s.volume} on the server") from None
        raise


def backup_clone(s: Settings, rw: VolumeInfo) -> VolumeInfo | None:
    """The RW volume's backup clone, or None when its backupId names no volume
    (0, or a purged clone: ``Unknown RPC2 return code 603``)."""
    if not rw.backup_id:
        return None
    try:
        clone = s.volutil.info(hexid(rw.backup_id))
    except CommandFailed as exc:
        if no_such_volume(exc):
            return None
        raise
    if clone.type != BACKUP or clone.parent_id != rw.id:
        # vol-backup.cc asserts on this: volutil backup would take the server down
        raise VolumeProblem(f"backupId {hexid(rw.backup_id)} of {hexid(rw.id)} names volume "
                            f"{clone.name} (type {clone.type}, parent {hexid(clone.parent_id)}), "
                            "not its backup clone: volutil backup would fail")
    return clone


def fresh_clone(s: Settings, now: Callable[[], float] = time.time) -> Clone:
    """The volume's backup clone, made or refreshed first (``lock`` then
    ``backup``, which unlocks) when the backupId names no volume or the RW
    volume's backupDate is older than CLONE-MAX-AGE: so at most once a night
    however many times Amanda asks."""
    vu = s.volutil
    first = find_volume(s)
    if first.type == BACKUP:  # the DLE names the clone itself: dump it as it is
        return Clone(vu.info(hexid(first.parent_id)), first)
    if first.type != RW:
        raise VolumeProblem(f"volume {s.volume} ({first.name}) is of type {first.type}, not a "
                            "read/write replica or its backup clone")
    rw, notes = first, []
    clone = backup_clone(s, rw)
    if clone is not None:
        age = now() - rw.backup_date
        if age <= s.clone_max_age:
            return Clone(rw, clone, (f"using backup clone {hexid(clone.id)} made "
                                     f"{age / 3600:.1f} h ago",))
        notes.append(f"backup clone {hexid(clone.id)} is {age / 3600:.1f} h old, re-cloning")
    elif rw.backup_id:
        notes.append(f"backupId {hexid(rw.backup_id)} of {hexid(rw.id)} names no volume "
                     "(the clone was purged), making a new clone")
    else:
        notes.append(f"volume {hexid(rw.id)} has no backup clone yet, cloning")
    vu.lock(rw.id)
    try:
        backup_id = vu.backup(rw.id)
    except CodaRestoreError:
        try:  # backup unlocks only when it succeeds; do not leave the RW locked
            vu.unlock(rw.id)
        except CodaRestoreError as exc:
            notes.append(f"unlock after a failed backup also failed: {exc}")
        raise
    clone = vu.info(hexid(backup_id))
    notes.append(f"made backup clone {hexid(clone.id)} of {hexid(rw.id)}")
    return Clone(vu.info(hexid(rw.id)), clone, tuple(notes))


# --- the stream check and the index -----------------------------------------


@dataclass(frozen=True)
class Inspection:
    """What reading a whole dump stream showed."""

    header: DumpHeader | None
    index: tuple[bytes, ...]  # "/path" lines, directories ending in "/"
    problem: str | None  # why the stream is not a complete, well-formed dump


def inspect(raw: BinaryIO, source: str = "dump") -> Inspection:
    """Read a dump with the codec's streaming reader: every record is parsed
    (truncation, bad tags and magics are caught), directory pages are decoded
    into the paths this dump holds.  File data is skipped, never held."""
    reader = DumpReader(raw, source)
    dirs, files = [], set()
    try:
        for rec in reader:
            if isinstance(rec, Vnode):
                if rec.pages is not None:
                    meta = Meta.of(rec)
                    if meta is not None:
                        dirs.append((meta, dirpage.decode(rec.pages, f"vnode {rec.vnum:#x}")))
                else:
                    files.add(rec.fid)
    except CodaRestoreError as exc:
        return Inspection(reader.header, (b"/",), str(exc))
    return Inspection(reader.header, index_lines(build_layout(dirs), files), None)


def index_lines(layout, files: set) -> tuple[bytes, ...]:
    """Amanda index lines for what a dump holds: "/" always, every directory
    it holds that is reachable from the root ("/a/b/"), and every file of the
    dump those directories name.  (An incremental holds only the changed
    directories, so a change below an unchanged one has no path here.)"""
    lines = {b"/"}
    for fid, path in layout.dir_path.items():
        if path:
            lines.add(b"/" + b"/".join(path) + b"/")
    for fid in files:
        for path in layout.file_paths.get(fid, ()):
            lines.add(b"/" + b"/".join(path))
    # a name with a newline cannot be one index line
    return tuple(sorted(line for line in lines if b"\n" not in line))


# --- Amanda's message channels -----------------------------------------------


class Messages:
    """fd 3 during a backup: ``| text`` normal, ``? text`` strange,
    ``sendbackup: size KiB``.  A failure goes to stderr as one line:
    sendbackup relays each stderr line to the server as ``sendbackup: error
    [line]`` *and cancels the data transfer*; said on fd 3 after data was sent, it
    left Amanda 3.5's sendbackup waiting forever on its shared-memory data
    ring (a zombie amcoda, no FAIL, an amdump that never ends: issue 13
    item 2)."""

    def __init__(self, stream: TextIO, errors: TextIO):
        self.stream = stream
        self.errors = errors

    def _line(self, text: str, stream: TextIO | None = None) -> None:
        out = stream or self.stream
        out.write(text.replace("\n", " ") + "\n")
        out.flush()

    def info(self, text: str) -> None:
        self._line(f"| {text}")

    def strange(self, text: str) -> None:
        self._line(f"? {text}")

    def error(self, text: str) -> None:
        self._line(text, self.errors)  # sendbackup wraps it: sendbackup: error [TEXT]

    def size(self, kib: int) -> None:
        self._line(f"sendbackup: size {kib}")


def kib(nbytes: int) -> int:
    return (nbytes + 1023) // 1024


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


def _open_fd(fd: int, mode: str):
    try:
        return os.fdopen(fd, mode, closefd=False)
    except OSError:
        return None


# --- the commands -------------------------------------------------------------


def do_support(req: Request, out: TextIO) -> int:
    for key, value in SUPPORT:
        out.write(f"{key} {value}\n")
    return 0


MAX_VOLNAME = 31  # V_MAXVOLNAMELEN is 32 with the NUL
_PARTITION = re.compile(r"/vicep[a-z0-9]+/?")


def do_selfcheck(req: Request, out: TextIO) -> int:
    """``OK``/``ERROR`` lines for amcheck, for what estimate and backup would
    fail on: volutil runnable and permitted, the server answering, the volume
    present and a RW replica (or its clone), the clone present or creatable,
    the partition and restore name valid, the record style usable."""
    bad = 0

    def ok(text):
        out.write(f"OK amcoda: {one_line(text)}\n")

    def error(text):
        nonlocal bad
        bad += 1
        out.write(f"ERROR amcoda: {one_line(text)}\n")

    try:
        s = settings(req)
    except CodaRestoreError as exc:
        error(str(exc))
        return 1
    vu = s.volutil
    command = proc.display([*vu.prefix, vu.program])
    runner = (vu.prefix or (vu.program,))[0]
    found = runner if os.sep in runner else shutil.which(runner)
    if not found or not os.access(found, os.X_OK):
        error(f"volutil {command}: {runner!r} is not an executable (set the VOLUTIL property)")
        return 1
    ok(f"volutil is {command}")
    if s.partition is not None and not _PARTITION.fullmatch(s.partition):
        error(f"PARTITION {s.partition!r} is not a Coda server partition (/vicepa, /vicepb, ...)")
    if s.restore_name is not None and not _volume_name_ok(s.restore_name):
        error(f"RESTORE-NAME {s.restore_name!r} is not a Coda volume name "
              f"(1-{MAX_VOLNAME} characters, no '/' or white space)")
    where = f"server {vu.server}" if vu.server else "the local server"
    try:
        info = find_volume(s)
    except CommandFailed as exc:
        if refused(exc):
            error(f"volutil is refused for lack of privilege: {exc.stderr_tail} (volutil must run as "
                  "root: VOLUTIL \"sudo\" \"-n\" \"/usr/sbin/volutil\" with the sudoers rule of the README)")
        elif server_gone(exc):
            error(f"{where} does not answer: {exc}")
        else:
            error(f"volume {s.volume} on {where}: {exc}")
        return 1
    except CodaRestoreError as exc:
        error(str(exc))
        return 1
    ok(f"{where} answers; volume {s.volume} is {hexid(info.id)} ({info.name})")
    if info.type == BACKUP:
        ok(f"volume {s.volume} is a backup clone: it is dumped as it is, never refreshed")
    elif info.type != RW:
        error(f"volume {s.volume} ({info.name}) is of type {info.type}, not a read/write replica")
    else:
        try:
            clone = backup_clone(s, info)
        except CodaRestoreError as exc:
            error(str(exc))
        else:
            if clone is not None:
                ok(f"backup clone {hexid(clone.id)} of {s.volume}")
            elif info.backup_id:
                ok(f"the backupId {hexid(info.backup_id)} of {s.volume} names no volume (purged "
                   "clone): the next estimate makes a new clone")
            else:
                ok(f"volume {s.volume} has no backup clone yet; the first estimate makes one")
    if s.ancient is AncientStyle.GROUP_REPLICA and info.type != BACKUP and not info.group_id:
        error(f"ANCIENT-ID group-replica needs a replicated volume; {s.volume} has no groupId")
    return 1 if bad else 0


def _volume_name_ok(name: str) -> bool:
    return 0 < len(name) <= MAX_VOLNAME and "/" not in name and not any(c.isspace() for c in name)


VNODE_RECORD = 128  # bytes a vnode takes in a dump besides its data (ref §11: about 109)
DUMP_OVERHEAD = 1024  # header, volume data, index headers, end


def full_size(vol: VolumeInfo) -> int:
    """A level 0's size from ``volutil info``: its KiB in use plus a record per vnode."""
    return vol.disk_used * 1024 + vol.file_count * VNODE_RECORD + DUMP_OVERHEAD


def counted_dump(vu: Volutil, clone_id: int, level: int) -> int:
    """The bytes of ``volutil dump -i LEVEL CLONE``, counted and dropped.  Not
    marked (no ``ancient``), so the base of the next incremental stays."""
    argv = vu.dump_argv(clone_id, level)
    child = proc.Child(argv, stdout=subprocess.PIPE)
    size = 0
    try:
        for chunk in iter(lambda: child.stdout.read(CHUNK), b""):
            size += len(chunk)
    finally:
        status = child.wait(check=False)
    if status != 0:
        raise CommandFailed(argv, status, one_line(child.stderr_tail))
    return size


def estimate_sizes(s: Settings, c: Clone, levels: Sequence[int]) -> dict[int, int]:
    """Bytes per level.  Never ``dumpestimate`` unless ESTIMATE says so: it
    kills a current server once an .ancient list exists (ref §23 row 4)."""
    if s.estimate is Estimate.DUMPESTIMATE:
        sizes = s.volutil.dumpestimate(c.clone.id)
        return {level: sizes[level] for level in levels}
    return {level: full_size(c.clone) if level == 0 else counted_dump(s.volutil, c.clone.id, level)
            for level in levels}


def do_estimate(req: Request, out: TextIO, err: TextIO) -> int:
    """One ``LEVEL KiB 1`` line per requested level (``estimate_sizes``)."""
    levels = req.levels or (0,)
    try:
        s = settings(req)
        c = fresh_clone(s)
        sizes = estimate_sizes(s, c, levels)
    except CodaRestoreError as exc:
        err.write(f"ERROR amcoda: {one_line(str(exc))}\n")
        return 1
    for level in levels:
        out.write(f"{level} {kib(sizes[level])} 1\n")
    return 0


def do_backup(req: Request, data_fd: int, mesg: Messages, index: BinaryIO | None) -> int:
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
        status, stderr, seen, size = _stream(argv, out)
    except OSError as exc:  # fd 1 closed under us: Amanda gave up on the dump
        mesg.error(f"amcoda: writing the dump to Amanda failed: {exc}")
        return 1
    problems = []
    if status != 0:
        problems.append(str(CommandFailed(argv, status, one_line(stderr)[-proc.STDERR_TAIL:])))
    if seen.problem:
        problems.append(seen.problem)
    elif (seen.header.volume_id, seen.header.parent_id) != (c.clone.id, c.rw.id):
        # the stream must be the clone that was asked for, of this replica
        problems.append(f"the dump is of volume {hexid(seen.header.volume_id)} (parent "
                        f"{hexid(seen.header.parent_id)}), not of clone {hexid(c.clone.id)} "
                        f"of {hexid(c.rw.id)}")
    said = bytes_dumped(stderr)
    if said is not None and said % 2**32 != size % 2**32:  # volutil's counter is 32-bit
        problems.append(f"volutil said {said} bytes dumped but {size} arrived")
    if problems:  # what was held back is dropped: see HeldBack
        mesg.error("amcoda: " + "; ".join(problems) + (" (not marked)" if req.record else ""))
        return 1
    try:
        out.release()
    except OSError as exc:
        mesg.error(f"amcoda: writing the dump to Amanda failed: {exc}")
        return 1
    got = seen.header.level
    if level > 0 and got == 0:
        # ref §12.2: no usable .ancient list, so the server dumped everything.
        mesg.strange(f"amcoda: asked for level {level} but the server made a full dump "
                     "(no usable .ancient list); the image is a level 0")
    mesg.info(f"amcoda: dumped {size} bytes of {seen.header.volume_name} (clone "
              f"{hexid(c.clone.id)}) at level {got}, oldest {seen.header.oldest:#x} "
              f"latest {seen.header.latest:#x}")
    if index is not None:
        index.write(b"".join(line + b"\n" for line in seen.index))
        index.flush()
    if req.record:
        ancient = s.volutil.ancient_argv(s.ancient, c.clone, c.rw)
        try:
            s.volutil.ancient(s.ancient, c.clone, c.rw)
        except CodaRestoreError as exc:
            mesg.error(f"amcoda: the dump is good but marking it failed: {exc}")
            return 1
        mesg.info(f"amcoda: marked as the base of the next incremental ({proc.display(ancient)})")
    # No "sendbackup: end": since Amanda's sendbackup-CRC feature (3.4) sendbackup
    # sends it itself once the data and its CRC are through; an application's
    # own "end" (or an error on fd 3) lets the dumper finish before the data
    # has crossed sendbackup's shared-memory ring, which then waits forever.
    mesg.size(kib(size))
    return 0


def _stream(argv: list[str], out: HeldBack) -> tuple[int, str, Inspection, int]:
    """Run ``volutil dump`` and copy its stdout to ``out`` while the codec
    reads it.  stderr goes to a temporary file: no pipe to deadlock on, and
    all of it is kept."""
    with tempfile.TemporaryFile() as errf:
        try:
            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=errf)
        except OSError as exc:
            return 127, f"{argv[0]}: {exc}", Inspection(None, (b"/",), "volutil did not start"), 0
        tee = Tee(child.stdout, out.write, CHUNK)
        try:
            seen = inspect(tee, "volutil dump")
            # After a bad stream, read to the end anyway: volutil's own status
            # and stderr usually say what went wrong.
            while tee.read(CHUNK):
                pass
        except BaseException:
            child.kill()
            raise
        finally:
            child.stdout.close()
            status = child.wait()
        errf.seek(0)
        return status, errf.read().decode("utf-8", "replace"), seen, tee.size


def do_restore(req: Request, stdin: BinaryIO, err: TextIO) -> int:
    """Spool the level-0 stream on stdin to a regular file, restore it with
    ``volutil restore -f FILE PARTITION [NAME]`` (volutil's stdin is
    /dev/null: current Coda hangs on a dump there, and a pipe handed to -f
    can restore stale data, ref §23 rows 1-2), then dump the new volume back
    and compare.  Every path ends; exit 0 only for a verified restore."""
    try:
        s = settings(req)
    except CodaRestoreError as exc:
        err.write(f"amcoda: {exc}\n")
        return 1
    if not s.partition:
        err.write("amcoda: restore needs the PARTITION property (e.g. /vicepa)\n")
        return 1
    head = stdin.read(4096)
    try:
        level = DumpReader(io.BytesIO(head), "stdin").read_header().level
    except CodaRestoreError as exc:
        err.write(f"amcoda: stdin is not a Coda dump: {exc}\n")
        return 1
    if level:
        err.write(f"amcoda: this is a level {level} dump; the server restores only full "
                  "dumps: merge the chain first (coda-restore)\n")
        return 1
    name = s.restore_name or "(the server's default name)"
    if s.restore_name:  # the server would make a second volume of a name in use (§23 row 15)
        name_check = name_free(s.volutil, s.restore_name)
        if not name_check.free:
            err.write(f"amcoda: {name_check.detail}; nothing was restored\n")
            return 1
    staged = None
    try:
        with tempfile.NamedTemporaryFile(prefix="amcoda-restore.", suffix=".dump", dir=s.staging,
                                         delete=False) as spool:
            staged = Path(spool.name)
            spool.write(head)
            while chunk := stdin.read(CHUNK):
                spool.write(chunk)
        with open(staged, "rb") as f:
            sent = contents(f, "stdin")  # the whole image is valid before the server sees it
        argv = s.volutil.restore_argv(s.partition, s.restore_name, file=str(staged))
        err.write(f"amcoda: {proc.display(argv)}\n")
        volid = restore_staged(s.volutil, argv, staged, name, Transport.FILE)
        err.write(f"amcoda: VolRestore successful, created {volid:08x}\n")
        verify(s.volutil, volid, s.restore_name or hexid(volid), s.volutil.server, sent, staged)
    except OSError as exc:
        err.write(f"amcoda: cannot spool the image to {s.staging or tempfile.gettempdir()}: {exc}\n")
        _remove(staged)
        return 1
    except (RestoreFailed, RestoreWrong, NotVerified) as exc:
        err.write(f"amcoda: {exc}\n")  # the image is kept: the message names it
        return 1
    except CodaRestoreError as exc:
        err.write(f"amcoda: {exc}\n")
        _remove(staged)
        return 1
    _remove(staged)
    err.write(f"amcoda: verified: volume {volid:08x} dumped back holds what was sent "
              f"({sent.count(True)} directories, {sent.count(False)} files and symlinks)\n")
    return 0


def _remove(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def do_validate(req: Request, stdin: BinaryIO, err: TextIO) -> int:
    """Exit 0 only for a complete, well-formed dump (amcheckdump's question)."""
    seen = inspect(stdin, "stdin")
    if seen.problem:
        err.write(f"amcoda: invalid dump: {seen.problem}\n")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["install"]:  # the operator's command, not Amanda's API
        from coda_restore import plugin_install

        return plugin_install.main(argv[1:])
    if argv[:1] in (["-h"], ["--help"]):
        sys.stdout.write(USAGE)
        return 0
    try:
        req = parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"amcoda: {exc}\n")
        return 2
    if req.command is Command.SUPPORT:
        return do_support(req, sys.stdout)
    if req.command is Command.SELFCHECK:
        return do_selfcheck(req, sys.stdout)
    if req.command is Command.ESTIMATE:
        return do_estimate(req, sys.stdout, sys.stderr)
    if req.command is Command.BACKUP:
        mesg_stream = _open_fd(MESG_FD, "w")
        if mesg_stream is None:
            sys.stderr.write("amcoda: backup needs fd 3 (messages) open, as Amanda does\n")
            return 2
        index = _open_fd(INDEX_FD, "wb") if req.index_line else None
        if req.index_line and index is None:
            Messages(mesg_stream, sys.stderr).error("amcoda: --index line but fd 4 is not open")
            return 1
        sys.stdout.flush()
        return do_backup(req, sys.stdout.fileno(), Messages(mesg_stream, sys.stderr), index)
    if req.command is Command.RESTORE:
        return do_restore(req, sys.stdin.buffer, sys.stderr)
    return do_validate(req, sys.stdin.buffer, sys.stderr)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
