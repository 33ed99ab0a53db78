"""The persistent catalog index: an SQLite file (the standard library's
sqlite3, WAL) that keeps, for every log of one logdir, the lines that can
matter to a catalog, grouped by the volume they name.  Reading one volume
(history, plan, run) then reads its few lines instead of searching a year
of logs.  It never holds an answer: the catalog is folded from these lines
by the same code, with the tapelist and the holding disks read fresh every
call, so the rules of what is available stay in catalog.py alone.

Algorithm, every call that reads one volume::

    for each log list_logs() finds:
        fresh  = the index has its path with the same device, inode, size
                 and mtime, and the same hash of the first and last 4 KiB
                 of the bytes it indexed
    stale logs, and indexed logs that are gone (amtrmlog):
        under the writer lock (flock on PATH.lock, exclusive), in one
        transaction: re-read each stale log whole (a grown one too: simple,
        and a night is one file), drop the gone ones; a log moved to
        oldlog/ keeps its lines (same inode, size, mtime and hash)
    readers hold the lock shared, so no rebuild runs under them, and WAL
    shows them the last committed state only

One log, indexed: damage() of its bytes (kept: where, what); its lines,
minus the damaged ones and those a fold ignores without a word (INFO,
STAT, DISK, WARN, CONT, unknown words, FINISH); each line filed under the
volume it is about (its disk field), START lines and lines with no disk
(malformed ones: their warning must still appear) under "".  A line that
also names another volume of the same log as a word (a FAIL message)
is filed under that one too.

One volume, read: the lines filed under it and under "", kept as
open_lines(path, needle) keeps them: the lines holding the needle
`` disk `` and the START lines before the last of them; none at all when
no line holds it.

What it does not promise: open_lines also counts INFO/STATS/DISK lines
and damaged lines that hold the needle when it finds the last line about
a volume.  A START taper with the wrong datestamp between a volume's last
result and such a line is warned about without the index and not with it.
A volume's name that is only a label, a host or a word of a line about a
volume of another log is not found in that line.  Neither changes a dump.

A damaged or foreign file (not SQLite, another application id, another
schema, another logdir) is rebuilt, with a note; the index is never
trusted over the logs.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from coda_restore.amanda.catalog import LogFile
from coda_restore.amanda.logfile import Finish, LogType, Program, Result, damage_of, match_done, match_part, match_success, \
    parse_line, quote

SCHEMA = 1
APPLICATION_ID = 0x43524958  # "CRIX": an index of coda-restore's, not some other SQLite file
SAMPLE = 4096  # bytes hashed at each end of what was indexed
_SKIPPED_HEADS = frozenset(("INFO", "STAT", "DISK", "WARN"))  # as catalog.py: never folded
_TABLES = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE logs(id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, dev INT NOT NULL, ino INT NOT NULL,
                  size INT NOT NULL, mtime_ns INT NOT NULL, sample BLOB NOT NULL,
                  damage_line INT, damage_what TEXT, lines INT NOT NULL, dumps INT NOT NULL);
CREATE TABLE lines(log INT NOT NULL, disk TEXT NOT NULL, linenos BLOB NOT NULL, text TEXT NOT NULL);
CREATE INDEX lines_of_disk ON lines(disk, log);
CREATE INDEX lines_of_log ON lines(log);
"""
Damage = tuple[frozenset[int], str] | None
_PART_TYPES = (LogType.PART, LogType.PARTPARTIAL, LogType.CHUNK)


@dataclass
class IndexUse:
    """That a load should use the index, at ``path`` (None: the default
    place for its logdir), and the notes it leaves for the operator (a
    rebuilt or unusable index): never catalog warnings, since the index
    must not change an answer, --strict included."""

    path: str | os.PathLike | None = None
    notes: list[str] = field(default_factory=list)


def default_path(logdir: str | os.PathLike, beside: bool) -> str:
    """Beside Amanda's records (``LOGDIR/.coda-restore/catalog-index.sqlite``)
    when ``beside`` (the records are a config's) and that can be written,
    else in the user's cache: $XDG_CACHE_HOME/coda-restore/ or
    ~/.cache/coda-restore/, one file per logdir."""
    logdir = os.path.realpath(logdir)
    if beside:
        here = os.path.join(logdir, ".coda-restore")
        if os.access(here, os.W_OK | os.X_OK) or (not os.path.exists(here) and os.access(logdir, os.W_OK | os.X_OK)):
            return os.path.join(here, "catalog-index.sqlite")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    name = hashlib.sha256(os.fsencode(logdir)).hexdigest()[:16]
    return os.path.join(cache, "coda-restore", f"index-{name}.sqlite")


@dataclass(frozen=True)
class _Row:
    id: int
    dev: int
    ino: int
    size: int
    mtime_ns: int
    sample: bytes
    damage_line: int | None
    damage_what: str | None


@dataclass(frozen=True)
class IndexStats:
    """What ``coda-restore index`` shows."""

    path: str
    logdir: str
    files: int
    dumps: int
    lines: int
    volumes: int
    size: int
    updated: str | None

    def to_dict(self) -> dict:
        return {"schema": "coda-restore.index/1", "path": self.path, "logdir": self.logdir,
                "files_indexed": self.files, "dumps": self.dumps, "lines": self.lines, "volumes": self.volumes,
                "size_bytes": self.size, "last_update": self.updated}


class IndexUnusable(Exception):
    """The index cannot be opened or written here; the logs are read instead."""


class CatalogIndex:
    """The index of one logdir at one path.  ``reading(logs)`` brings it up
    to date and holds it steady while one volume's lines are read."""

    def __init__(self, path: str | os.PathLike, logdir: str | os.PathLike, notes: list[str] | None = None):
        self.path = os.fspath(path)
        self.logdir = os.path.realpath(logdir)
        self.notes = notes if notes is not None else []

    # -- the file, its lock, its schema -----------------------------------

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise IndexUnusable(f"cannot open {self.path}.lock: {err.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)  # transactions said explicitly
        except sqlite3.Error as err:
            raise IndexUnusable(f"cannot open {self.path}: {err}") from None
        db.execute("PRAGMA busy_timeout=60000")
        return db

    def _why_foreign(self, db: sqlite3.Connection) -> str | None:
        """None when the file is this logdir's index of this schema, or new."""
        app, = db.execute("PRAGMA application_id").fetchone()
        version, = db.execute("PRAGMA user_version").fetchone()
        if app == 0 and version == 0 and not db.execute("SELECT 1 FROM sqlite_master").fetchone():
            return None  # empty: made here
        if app != APPLICATION_ID:
            return "not a coda-restore index"
        if version != SCHEMA:
            return f"index schema {version}, this coda-restore writes {SCHEMA}"
        found = db.execute("SELECT value FROM meta WHERE key = 'logdir'").fetchone()
        if found is None or found[0] != self.logdir:
            return f"an index of {found[0] if found else 'no logdir'}, not of {self.logdir}"
        return None

    def _open(self, exclusive: bool) -> sqlite3.Connection:
        """The database, checked; raises _Unsound for a damaged or foreign
        file, and _Stale for a new one that a reader may not create."""
        db = self._connect()
        try:
            why = self._why_foreign(db)
            if why is None and not db.execute("SELECT 1 FROM sqlite_master").fetchone():
                if not exclusive:
                    raise _Stale()
                self._create(db)
        except sqlite3.DatabaseError as err:
            why = f"damaged ({err})"
        except _Stale:
            db.close()
            raise
        if why is not None:
            db.close()
            raise _Unsound(why)
        return db

    def _create(self, db: sqlite3.Connection) -> None:
        """The tables, in one transaction (under the exclusive lock)."""
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN IMMEDIATE")
        for statement in _TABLES.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute(f"PRAGMA user_version={SCHEMA}")
        db.execute("INSERT INTO meta VALUES ('logdir', ?)", (self.logdir,))
        db.execute("COMMIT")

    def _replace(self, why: str) -> None:
        """Remove a file that is not a sound index of this logdir (under the
        exclusive lock: no reader is using it)."""
        self.notes.append(f"catalog index {self.path}: {why}; rebuilt from the logs")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path + suffix)

    # -- bringing it up to date --------------------------------------------

    def reader(self, logs: Sequence[LogFile], volume: str | None, rebuild: bool = False) -> _Reader:
        """The index brought up to date with ``logs`` (every log list_logs
        found), and the lines of ``volume`` read from it in one snapshot.
        Raises IndexUnusable when it cannot be opened or written."""
        exclusive = rebuild
        unsound: str | None = None
        for _ in range(4):
            try:
                with self._locked(exclusive):
                    if unsound is not None:
                        self._replace(unsound)
                        unsound = None
                    db = self._open(exclusive)
                    try:
                        found = self._read(db, logs, volume, exclusive, rebuild)
                    finally:
                        db.close()
                if found is not None:
                    return found
                exclusive = True  # stale: again, under the writer lock
            except _Stale:
                exclusive = True
            except _Unsound as err:
                # Look again under the writer lock: replace it if it is
                # still unsound then (another writer may have done it).
                unsound, exclusive = (err.why if exclusive else None), True
            except sqlite3.DatabaseError as err:
                unsound, exclusive = (f"damaged ({err})" if exclusive else None), True
            except OSError as err:  # e.g. PATH is a directory
                raise IndexUnusable(f"catalog index {self.path}: {err.strerror}") from None
        raise IndexUnusable(f"catalog index {self.path} cannot be made sound")

    def lines_for(self, logs: Sequence[LogFile], volume: str) -> _Reader | None:
        """reader(), or None (and a note) when the index cannot be used here:
        then the logs are read, as without an index."""
        try:
            return self.reader(logs, volume)
        except IndexUnusable as err:
            self.notes.append(f"{err}; reading the logs")
            return None

    def _read(self, db: sqlite3.Connection, logs: Sequence[LogFile], volume: str | None, exclusive: bool,
              rebuild: bool) -> _Reader | None:
        """None when the index must be updated and this is no writer."""
        db.execute("BEGIN")  # one snapshot for the check and the reads
        rows = _rows(db)
        errors: dict[str, OSError] = {}
        # A log that cannot be read now is no reason to write: it is folded
        # as "cannot read log" and indexed once it can be read.
        stale = [log for log in logs if (not _fresh(log.path, rows.get(log.path), errors) or rebuild)
                 and log.path not in errors]
        gone = set(rows) - {log.path for log in logs}
        if stale or gone or rebuild:
            db.execute("COMMIT")
            if not exclusive:
                return None
            db.execute("BEGIN IMMEDIATE")
            self._update(db, rows, stale, gone, errors, rebuild)
            db.execute("COMMIT")
            db.execute("BEGIN")
            rows = _rows(db)
        groups: dict[int, list[tuple[int, str]]] = {}
        if volume is not None:
            for log_id, linenos, text in db.execute("SELECT log, linenos, text FROM lines WHERE disk IN (?, '')",
                                                    (volume,)):
                groups.setdefault(log_id, []).extend(_unpack(linenos, text))
        db.execute("COMMIT")
        return _Reader(rows, errors, volume, groups)

    def _update(self, db: sqlite3.Connection, rows: dict[str, _Row], stale: list[LogFile], gone: set[str],
                errors: dict[str, OSError], rebuild: bool) -> None:
        """One transaction: stale logs re-read, gone ones dropped (or moved)."""
        if rebuild:
            db.execute("DELETE FROM lines")
            db.execute("DELETE FROM logs")
            gone, rows = set(), {}
        moved = {(r.dev, r.ino, r.size, r.mtime_ns, r.sample): path for path, r in rows.items() if path in gone}
        for log in stale:
            old = rows.get(log.path)
            if old is not None:
                _drop(db, old.id)
            try:
                st, data = _read(log.path)
            except OSError as err:
                errors[log.path] = err
                continue
            sample = _sample_of(data)
            was = moved.pop((st.st_dev, st.st_ino, len(data), st.st_mtime_ns, sample), None)
            if was is not None:  # amtrmlog moved it to oldlog/: same bytes
                db.execute("UPDATE logs SET path = ? WHERE path = ?", (log.path, was))
                gone.discard(was)
                continue
            _insert(db, log.path, st, data, sample)
        for path in gone:
            _drop(db, rows[path].id)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('updated', ?)",
                   (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),))

    def stats(self) -> IndexStats:
        """What it holds (call reader() first: this opens a sound index)."""
        with self._locked(exclusive=False):
            db = self._open(exclusive=False)
            try:
                files, dumps, lines = db.execute(
                    "SELECT count(*), coalesce(sum(dumps), 0), coalesce(sum(lines), 0) FROM logs").fetchone()
                volumes, = db.execute("SELECT count(DISTINCT disk) FROM lines WHERE disk != ''").fetchone()
                found = db.execute("SELECT value FROM meta WHERE key = 'updated'").fetchone()
            finally:
                db.close()
        size = sum(os.path.getsize(self.path + s) for s in ("", "-wal") if os.path.exists(self.path + s))
        return IndexStats(self.path, self.logdir, files, dumps, lines, volumes, size, found[0] if found else None)


class _Unsound(Exception):
    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


class _Stale(Exception):
    """A reader found the index behind the logs (or not made yet)."""


class _Reader:
    """One volume's lines of each log, read from one snapshot of the index."""

    def __init__(self, rows: dict[str, _Row], errors: dict[str, OSError], volume: str | None,
                 groups: dict[int, list[tuple[int, str]]]):
        self.rows, self.errors, self.volume, self.groups = rows, errors, volume, groups

    def about(self, log: LogFile, volume: str, needle: str) -> tuple[Damage, Iterable[tuple[int, str]]]:
        err = self.errors.get(log.path)
        if err is not None:
            raise err
        if volume != self.volume:
            raise ValueError(f"read for {self.volume!r}, asked about {volume!r}")
        row = self.rows[log.path]
        found = None if row.damage_line is None else (frozenset((row.damage_line,)), row.damage_what or "")
        return found, _kept(self.groups.get(row.id, ()), needle)


def _kept(lines: Iterable[tuple[int, str]], needle: str) -> list[tuple[int, str]]:
    """What open_lines(path, needle) yields of these lines (see the module
    docstring): those holding the needle, and START lines before the last."""
    lines = sorted(set(lines))
    about = [n for n, raw in lines if needle in raw]
    if not about:
        return []
    end = about[-1]
    return [(n, raw) for n, raw in lines if needle in raw or (n < end and raw.startswith("START "))]


def _rows(db: sqlite3.Connection) -> dict[str, _Row]:
    return {path: _Row(*rest) for path, *rest in db.execute(
        "SELECT path, id, dev, ino, size, mtime_ns, sample, damage_line, damage_what FROM logs")}


def _fresh(path: str, row: _Row | None, errors: dict[str, OSError]) -> bool:
    """The log is as it was indexed (a log whose stat or read fails is
    noted in ``errors`` and counts as stale)."""
    try:
        st = os.stat(path)
        if row is None or (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) != (row.dev, row.ino, row.size,
                                                                                  row.mtime_ns):
            return False
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            head = os.pread(fd, min(SAMPLE, row.size), 0)
            tail = os.pread(fd, SAMPLE, max(row.size - SAMPLE, 0)) if row.size > SAMPLE else b""
        finally:
            os.close(fd)
    except OSError as err:
        errors[path] = err
        return False
    return _digest(head, tail) == row.sample


def _digest(head: bytes, tail: bytes) -> bytes:
    return hashlib.blake2b(head + b"\0" + tail, digest_size=16).digest()


def _sample_of(data: bytes) -> bytes:
    return _digest(data[:SAMPLE], data[-SAMPLE:] if len(data) > SAMPLE else b"")


def _read(path: str) -> tuple[os.stat_result, bytes]:
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        return st, f.read()


def _drop(db: sqlite3.Connection, log_id: int) -> None:
    db.execute("DELETE FROM lines WHERE log = ?", (log_id,))
    db.execute("DELETE FROM logs WHERE id = ?", (log_id,))


def _insert(db: sqlite3.Connection, path: str, st: os.stat_result, data: bytes, sample: bytes) -> None:
    found = damage_of(data)
    groups, dumps, count = file_lines(path, data, found[0] if found else frozenset())
    cur = db.execute("INSERT INTO logs (path, dev, ino, size, mtime_ns, sample, damage_line, damage_what, lines, "
                     "dumps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (path, st.st_dev, st.st_ino, len(data), st.st_mtime_ns, sample,
                      min(found[0]) if found else None, found[1] if found else None, count, dumps))
    db.executemany("INSERT INTO lines VALUES (?, ?, ?, ?)",
                   ((cur.lastrowid, disk, array.array("I", (n for n, _ in lines)).tobytes(),
                     "".join(raw for _, raw in lines)) for disk, lines in groups.items()))


def _unpack(linenos: bytes, text: str) -> Iterator[tuple[int, str]]:
    numbers = array.array("I")
    numbers.frombytes(linenos)
    return zip(numbers, (raw + "\n" for raw in text.split("\n")[:-1]))


_QUOTED: dict[str, str] = {}  # quote() of each disk name seen: once per process, not once per line


def _quoted(disk: str) -> str:
    q = _QUOTED.get(disk)
    if q is None:
        q = _QUOTED[disk] = quote(disk)
    return q


def file_lines(path: str, data: bytes, skip: frozenset[int]) -> tuple[dict[str, list[tuple[int, str]]], int, int]:
    """(lines by the volume they are about, number of dumps named, number
    of lines kept) of one log's bytes; ``skip``: its damaged lines."""
    groups: dict[str, list[tuple[int, str]]] = {}
    others: list[tuple[int, str, str]] = []  # lines from the general parser: they may name other volumes
    dumps = 0  # taper results: the copies written (or not) to tape
    sink: list = []  # the warnings come again when the lines are folded
    pieces = data.decode("utf-8", "surrogateescape").split("\n")
    count = 0
    for lineno, piece in enumerate(pieces[:-1], 1):  # the last piece: "" or a cut line (damaged)
        head = piece[:4]
        if head in _SKIPPED_HEADS or (skip and lineno in skip):
            continue
        raw = piece + "\n"
        disk = None
        if head == "PART" and raw.startswith("PART taper ") and (m := match_part(raw, 11)) is not None:
            disk = m.group(6)
        elif head == "DONE" and raw.startswith("DONE taper ") and (m := match_done(raw, 11)) is not None:
            disk = m.group(4)
            dumps += 1
        elif head == "SUCC" and raw.startswith(("SUCCESS dumper ", "SUCCESS chunker ")) and (
                m := match_success(raw, 15 if raw[8] == "d" else 16)) is not None:
            disk = m.group(2)
        else:
            warned = len(sink)
            entry = parse_line(raw, lineno, path, sink)
            if isinstance(entry, Result):
                disk = entry.disk
                dumps += entry.program is Program.TAPER and entry.type not in _PART_TYPES
                others.append((lineno, raw, disk))
            elif isinstance(entry, Finish) or (entry is None and len(sink) == warned):
                continue  # the fold does nothing with it
        count += 1
        if disk is None or f" {_quoted(disk)} " not in raw:
            disk = ""  # START, malformed, or not spelled as the needle would find it
        groups.setdefault(disk, []).append((lineno, raw))
    named = {_quoted(d): d for d in groups if d}
    spaced = [(q, d) for q, d in named.items() if " " in q]
    for lineno, raw, own in others:  # e.g. a FAIL message naming another volume
        words = set(raw.split(" ")) & named.keys()
        also = {named[w] for w in words} | {d for q, d in spaced if f" {q} " in raw}
        for d in also - {own}:
            groups[d].append((lineno, raw))
    for lines in groups.values():
        lines.sort()
    return groups, dumps, count


def open_index(use: IndexUse, logdir: str | os.PathLike, beside: bool) -> CatalogIndex:
    path = use.path if use.path is not None else default_path(logdir, beside)
    return CatalogIndex(path, logdir, use.notes)
