"""Extract files from a full or merged dump, to a directory or a tar stream.

Algorithm (one forward pass, memory bounded by the metadata):

1. The large index comes first: decode every directory's pages into names
   (``dirpage.decode``) and keep only the names and metadata.
2. At the small index the name space is complete (``tree.build_layout``).
   Before a single byte is written: refuse any name that could escape the
   target (``UnsafeName``, exit 4), check the requested paths exist, then
   create the selected directories, parents first.
3. Each small vnode already knows its path(s): its data streams from the
   dump to the first path in fixed-size chunks; further names become hard
   links; symlink targets (small) are read whole.
4. Last, directory modes and mtimes are set, deepest first (writing into a
   directory changes its mtime, and a 0555 directory could not be filled).

The sinks never follow a symlink while writing: every component is opened
relative to its parent's descriptor with O_NOFOLLOW, files are created with
O_EXCL, and an existing entry is replaced only with ``force`` (a directory is
never replaced).  So a dump cannot write outside the target even if the
target already holds symlinks.

Not promised: an interrupted extraction leaves what it wrote (files are
complete or being written; directory modes may not be set yet).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol, Sequence

from coda_restore.chain import ChainMode
from coda_restore.errors import CodaRestoreError, DumpFormatError, NotRestorable, OutputExists, ReadFailed, UnsafeName, UsageError, WriteFailed
from coda_restore.voldump import dirpage
from coda_restore.voldump.files import display_name, open_dump
from coda_restore.voldump.merge import merge
from coda_restore.voldump.reader import DumpReader
from coda_restore.voldump.validate import SectionChecker
from coda_restore.voldump.records import (
    DUMPBEGINMAGIC,
    DataKind,
    DumpEnd,
    DumpHeader,
    IndexHeader,
    NullVnode,
    RemovedVnode,
    Tag,
    VnodeClass,
    Vnode,
)
from coda_restore.voldump.tree import (
    LOST_FOUND,
    Kind,
    Layout,
    Meta,
    Problem,
    ProblemKind,
    VPath,
    build_layout,
    parse_path,
    fid_text,
    show_path,
)

SYMLINK_MAX = 4096  # PATH_MAX: a longer "target" is not a symlink anyone can use


class Sink(Protocol):
    """Where extracted objects go; paths are below the volume root."""

    def directory(self, path: VPath, meta: Meta) -> None: ...
    def file(self, path: VPath, meta: Meta, size: int, chunks: Iterable[bytes]) -> None: ...
    def symlink(self, path: VPath, meta: Meta, target: bytes) -> None: ...
    def hardlink(self, path: VPath, first: VPath, meta: Meta) -> None: ...
    def finish(self) -> None: ...
    # False for a target no system can make (empty, or with a NUL; ref §19.15)
    def can_symlink(self, target: bytes) -> bool: ...


def makeable(target: bytes) -> bool:
    """A symlink target a file system (or tar) can hold; Coda keeps others too."""
    return bool(target) and b"\0" not in target


@dataclass(frozen=True)
class ExtractOptions:
    paths: tuple[VPath, ...] = ()  # below the root; () = the whole volume
    orphans: bool = False  # also extract orphans under lost+found/
    refuse_unsafe: bool = True  # False (for listing): a note instead of UnsafeName


@dataclass
class ExtractResult:
    directories: int = 0
    files: int = 0
    symlinks: int = 0
    hardlinks: int = 0
    bytes: int = 0
    not_created: list[str] = field(default_factory=list)  # paths a sink could not make (with a note each)
    orphans: int = 0  # orphan vnodes in the dump (extracted only with orphans)
    notes: list[str] = field(default_factory=list)  # problems that did not stop the run


class _Selection:
    def __init__(self, wanted: tuple[VPath, ...]):
        self.wanted = wanted

    def takes(self, path: VPath) -> bool:
        """Inside a selected subtree."""
        return not self.wanted or any(path[: len(w)] == w for w in self.wanted)

    def needs(self, path: VPath) -> bool:
        """A directory to create: selected or the parent of a selection."""
        return self.takes(path) or any(w[: len(path)] == path for w in self.wanted)


def extract_records(
    records: Iterable,
    chunks: Callable[[Vnode], Iterator[bytes]],
    sink: Sink,
    options: ExtractOptions = ExtractOptions(),
    source: str = "dump",
) -> ExtractResult:
    """Run the extraction over the records of one full (or merged) dump.
    ``chunks(vnode)`` yields the file data of the small vnode just read."""
    result = ExtractResult()
    sel = _Selection(options.paths)
    large: list[tuple[Meta, tuple[dirpage.DirEntry, ...]]] = []
    layout: Layout | None = None
    named: set = set()
    seen: set = set()
    checker: SectionChecker | None = None

    def warn(offset: int, text: str) -> None:
        result.notes.append(f"{source}: offset {offset}: {text}")

    for rec in records:
        # The same record rules as the merge: slot order, parity, duplicates, counts.
        if isinstance(rec, (IndexHeader, DumpEnd)) and checker is not None:
            checker.finish(rec.offset)
        if isinstance(rec, IndexHeader):
            checker = SectionChecker(source, rec, True, warn)
        elif isinstance(rec, (Vnode, RemovedVnode, NullVnode)) and checker is not None:
            checker.check(rec)
        if isinstance(rec, DumpHeader) and not rec.is_full:
            raise NotRestorable(f"{source} is an incremental (level {rec.level}); give its full dump and the whole chain")
        if isinstance(rec, RemovedVnode):
            raise DumpFormatError(rec.offset, "removed vnode in a full dump", source)
        if isinstance(rec, IndexHeader) and rec.vclass is VnodeClass.SMALL:
            layout = _open_small_index(large, sink, sel, options, result, source)
            named = layout.file_paths.keys()
            continue
        if not isinstance(rec, Vnode):
            continue
        meta = Meta.of(rec)
        if layout is None:
            if meta is None or meta.kind is not Kind.DIRECTORY or rec.data is not DataKind.DIRPAGES:
                result.notes.append(f"{source}: offset {rec.offset}: vnode {fid_text(rec.fid)} in the large index is no directory; skipped")
                continue
            where = f"{fid_text(rec.fid)} ({source} offset {rec.offset})"
            large.append((meta, dirpage.validate(rec.pages, where)))
            continue
        if meta is None or meta.kind is Kind.DIRECTORY:
            result.notes.append(f"{source}: offset {rec.offset}: vnode {fid_text(rec.fid)} has type {rec.type}; skipped")
            _drain(rec, chunks)
            continue
        seen.add(rec.fid)
        if rec.fid not in named:
            result.orphans += 1
        paths = [p for p in layout.paths_of(rec.fid, options.orphans) if sel.takes(p)]
        if not paths:
            _drain(rec, chunks)
            continue
        _write_small(rec, meta, paths, chunks, sink, result, source)
    if layout is None:
        raise DumpFormatError(0, "no small index: the dump ended early", source)
    result.orphans += len(layout.orphan_dir_path)
    for fid in sorted(named - seen):
        for path in layout.file_paths[fid]:
            result.notes.append(str(Problem(ProblemKind.DANGLING, path, fid)))
    sink.finish()
    return result


def _open_small_index(large, sink: Sink, sel: _Selection, options: ExtractOptions, result: ExtractResult, source: str) -> Layout:
    layout = build_layout(large)
    for p in layout.problems:
        if p.kind is ProblemKind.UNSAFE_NAME and options.refuse_unsafe:
            raise UnsafeName(source, b"/".join(p.path))
        if p.kind is ProblemKind.NO_ROOT:
            raise NotRestorable(f"{source} has no root directory (vnode 1.1): is it an incremental?")
        result.notes.append(str(p))
    for w in sel.wanted:
        if layout.lookup(w) is None and not (options.orphans and w[:1] == (LOST_FOUND,)):
            raise UsageError(f"{show_path(w)}: no such path in {source}")
    if options.orphans:
        if layout.lookup((LOST_FOUND,)) is not None:
            raise UsageError(f"the volume has its own {LOST_FOUND.decode()}; extract without --orphans")
        if sel.needs((LOST_FOUND,)):
            # Orphan files are only known as their records go by: make the place now.
            sink.directory((LOST_FOUND,), Meta(0, 0, Kind.DIRECTORY, 0o700, int(time.time()), 0))
    for path, meta in layout.directories(options.orphans):
        if sel.needs(path):
            sink.directory(path, meta)
            result.directories += 1
    return layout


def _write_small(rec: Vnode, meta: Meta, paths: list[VPath], chunks, sink: Sink, result: ExtractResult, source: str) -> None:
    first = paths[0]
    if meta.kind is Kind.SYMLINK:
        target = b"".join(_bounded(chunks(rec), SYMLINK_MAX, rec, source)) if rec.data is DataKind.FILEDATA else b""
        if not sink.can_symlink(target):
            # No system can make such a link (ref §19.15), though Coda keeps it: say so, go on.
            result.notes.append(f"{show_path(first)}: symlink target {target!r} cannot be created; skipped")
            result.not_created.append(show_path(first))
            return
        sink.symlink(first, meta, target)
        result.symlinks += 1
    else:
        if rec.data is DataKind.FILEDATA:
            sink.file(first, meta, rec.size, _counted(chunks(rec), result))
        else:
            # D_BADINODE: the server restores an empty container; so do we.
            result.notes.append(f"{show_path(first)}: no data in the dump (D_BADINODE); written empty")
            sink.file(first, meta, 0, ())
        result.files += 1
    for p in paths[1:]:
        sink.hardlink(p, first, meta)
        result.hardlinks += 1


def _drain(rec: Vnode, chunks) -> None:
    if rec.data is DataKind.FILEDATA and rec.size:
        for _ in chunks(rec):
            pass


def _counted(it: Iterable[bytes], result: ExtractResult) -> Iterator[bytes]:
    for c in it:
        result.bytes += len(c)
        yield c


def _bounded(it: Iterable[bytes], limit: int, rec: Vnode, source: str) -> Iterator[bytes]:
    if rec.size > limit:
        raise DumpFormatError(rec.offset, f"symlink {fid_text(rec.fid)} has a target of {rec.size} bytes", source)
    return it


# -- sources -------------------------------------------------------------

DUMP_MAGIC = bytes([Tag.DUMPHEADER]) + DUMPBEGINMAGIC.to_bytes(4, "big")


def looks_like_dump(arg: str) -> bool:
    """``-`` (stdin), a regular file that starts like a Coda dump, or a pipe
    or device (``<(amfetchdump ...)``, a tape), which cannot be peeked at
    without losing what was read."""
    if arg == "-":
        return True
    try:
        st = os.stat(arg)
        if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
            return True
        if not stat.S_ISREG(st.st_mode):
            return False
        with open(arg, "rb") as f:
            return f.read(len(DUMP_MAGIC)) == DUMP_MAGIC
    except OSError:
        return False


def split_arguments(args: Sequence[str], paths: Sequence[str] = ()) -> tuple[list[str], list[VPath]]:
    """Dumps are the leading arguments that read as Coda dumps (``-`` only
    first); the rest are paths inside the volume.  With explicit ``paths``
    (``--path``), every argument must be a dump."""
    dumps: list[str] = []
    rest = list(args)
    while rest and not paths and (rest[0] == "-" and not dumps or rest[0] != "-" and looks_like_dump(rest[0])):
        dumps.append(rest.pop(0))
    if paths:
        dumps, rest = [], []
        for a in args:
            if not (a == "-" and not dumps or a != "-" and looks_like_dump(a)):
                raise UsageError(f"{a}: not a Coda dump (with --path, every argument is a dump)")
            dumps.append(a)
    if not dumps:
        first = args[0] if args else ""
        if not first:
            raise UsageError("no dump given")
        why = "no such file" if not os.path.exists(first) else "does not start with the Coda dump magic"
        raise UsageError(f"{first}: not a Coda dump ({why})")
    return dumps, [parse_path(p) for p in (*rest, *paths)]


def run(dumps: Sequence[str], sink: Sink, options: ExtractOptions = ExtractOptions(), stdin=None,
        mode: ChainMode = ChainMode.EXACT) -> ExtractResult:
    """Extract from one full dump, or from a chain FULL INCR... (oldest
    first) merged on the fly: nothing merged is written to disk (except what
    the merge itself spools in minimal mode)."""
    names = [display_name(name) for name in dumps]
    with contextlib.ExitStack() as stack:
        raws = [stdin if name == "-" and stdin is not None else stack.enter_context(open_dump(name))
                for name in dumps]
        try:
            if len(raws) == 1:
                reader = DumpReader(raws[0], names[0])
                result = extract_records(reader, lambda _v: reader.data_chunks(), sink, options, reader.source)
                result.notes += [str(w) for w in reader.warnings]
                return result
            return _run_chain(list(zip(names, raws)), sink, options, mode)
        except OSError as err:  # the sinks name their own write errors: this is a dump
            raise ReadFailed(err.filename or " + ".join(names), err.strerror or err) from None


def _run_chain(sources, sink: Sink, options: ExtractOptions, mode: ChainMode) -> ExtractResult:
    """The core's merge writes the merged stream into a pipe from a thread;
    this thread reads it back record by record.  A merge error (wrong base,
    damaged input) is the cause of whatever the reader then sees, so it is
    the one raised."""
    r, w = os.pipe()
    rf, wf = os.fdopen(r, "rb"), os.fdopen(w, "wb")
    box: dict = {}

    def work():
        try:
            box["result"] = merge(wf, sources, mode)
        except BaseException as err:  # handed to the reading thread
            box["error"] = err
        finally:
            try:
                wf.close()
            except OSError:
                pass

    thread = threading.Thread(target=work, name="coda-restore merge", daemon=True)
    thread.start()
    source = "merged " + " + ".join(name for name, _ in sources)
    try:
        reader = DumpReader(rf, source)
        result = extract_records(reader, lambda _v: reader.data_chunks(), sink, options, source)
    except BaseException:
        rf.close()  # a merge blocked on a full pipe gets EPIPE and ends
        thread.join()
        err = box.get("error")
        if err is not None and not isinstance(err, BrokenPipeError):
            raise err from None
        raise
    rf.close()
    thread.join()
    if "error" in box:
        raise box["error"]
    merged = box["result"]
    result.notes += [str(w) for w in merged.warnings]
    if mode is ChainMode.MINIMAL:
        result.notes += list(merged.discrepancies)
    return result


# -- sinks ---------------------------------------------------------------


def _mode(meta: Meta, owners: bool) -> int:
    # Without owners the files belong to whoever extracts: no setuid/setgid.
    return meta.mode & (0o7777 if owners else 0o1777)


class PartlyExtracted(CodaRestoreError):
    """{}
{}"""


class DirectorySink:
    """Writes below ``root`` without ever following a symlink."""

    _DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

    def __init__(self, root: Path, force: bool = False, owners: bool = False):
        self.root, self.force, self.owners = Path(root), force, owners
        self._root_fd = -1  # the target is made on the first write: a refused dump leaves nothing
        self._fds: dict[VPath, int] = {}  # a few open parents (files arrive in slot order)
        self._dirs: list[tuple[VPath, Meta]] = []
        self.made: dict[str, int] = {"directories": 0, "files": 0, "symlinks": 0, "hard links": 0}
        self.last: VPath | None = None  # the last thing made whole

    def _made(self, kind: str, path: VPath) -> None:
        self.made[kind] += 1
        self.last = path

    def what_was_written(self) -> str:
        """For an extraction that stopped part way: exactly what is on disk."""
        kinds = ", ".join(f"{n} {kind}" for kind, n in self.made.items() if n)
        if not kinds:
            return f"nothing was written under {self.root}"
        return (f"written under {self.root} before it stopped: {kinds}, each complete (a half-written file "
                f"is removed); the last was {show_path(self.last)}; directory modes and mtimes are not set")

    def _host(self, path: VPath) -> str:
        return os.path.join(str(self.root), os.fsdecode(b"/".join(path)))

    @contextlib.contextmanager
    def _writing(self, path: VPath):
        """An OSError names the file on the host and exits 1, no traceback."""
        try:
            yield
        except OSError as err:
            raise WriteFailed(self._host(path), err.strerror or err) from None

    def _dir_fd(self, path: VPath) -> int:
        """A descriptor of directory ``path``, opened component by component
        from the nearest open ancestor (no recursion: a volume can be deep)."""
        if self._root_fd < 0:
            with self._writing(()):
                self.root.mkdir(parents=True, exist_ok=True)
                self._root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        if not path:
            return self._root_fd
        if path in self._fds:
            return self._fds[path]
        k = len(path) - 1
        while k and path[:k] not in self._fds:
            k -= 1
        fd = self._fds[path[:k]] if k else self._root_fd
        for k in range(k + 1, len(path) + 1):
            try:
                fd = os.open(path[k - 1], self._DIR, dir_fd=fd)
            except OSError as err:
                raise OutputExists(f"{self._host(path[:k])} (not a directory: {err.strerror})") from None
            if len(self._fds) >= 64:
                os.close(self._fds.pop(next(iter(self._fds))))
            self._fds[path[:k]] = fd
        return fd

    def _replace(self, parent: int, path: VPath) -> None:
        """Make room for ``path``: only with force, and never over a directory."""
        st = os.stat(path[-1], dir_fd=parent, follow_symlinks=False)
        if not self.force or stat.S_ISDIR(st.st_mode):
            raise OutputExists(self._host(path))
        os.unlink(path[-1], dir_fd=parent)

    def directory(self, path: VPath, meta: Meta) -> None:
        with self._writing(path):
            parent = self._dir_fd(path[:-1])
            try:
                os.mkdir(path[-1], 0o700, dir_fd=parent)
            except FileExistsError:
                st = os.stat(path[-1], dir_fd=parent, follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode):
                    self._replace(parent, path)
                    os.mkdir(path[-1], 0o700, dir_fd=parent)
            self._dirs.append((path, meta))
            self._made("directories", path)

    def file(self, path: VPath, meta: Meta, size: int, chunks: Iterable[bytes]) -> None:
        with self._writing(path):
            parent = self._dir_fd(path[:-1])
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            try:
                fd = os.open(path[-1], flags, 0o600, dir_fd=parent)
            except FileExistsError:
                self._replace(parent, path)
                fd = os.open(path[-1], flags, 0o600, dir_fd=parent)
            try:
                try:
                    for chunk in chunks:
                        view = memoryview(chunk)
                        while view:
                            view = view[os.write(fd, view) :]
                except BaseException:
                    os.unlink(path[-1], dir_fd=parent)  # no half file left behind
                    raise
                if self.owners:
                    os.fchown(fd, meta.owner, -1)
                os.fchmod(fd, _mode(meta, self.owners))
                os.utime(fd, (meta.mtime, meta.mtime))
            finally:
                os.close(fd)
            self._made("files", path)

    def can_symlink(self, target: bytes) -> bool:
        return makeable(target)

    def symlink(self, path: VPath, meta: Meta, target: bytes) -> None:
        with self._writing(path):
            parent = self._dir_fd(path[:-1])
            try:
                os.symlink(target, path[-1], dir_fd=parent)
            except FileExistsError:
                self._replace(parent, path)
                os.symlink(target, path[-1], dir_fd=parent)
            if self.owners:
                os.chown(path[-1], meta.owner, -1, dir_fd=parent, follow_symlinks=False)
            os.utime(path[-1], (meta.mtime, meta.mtime), dir_fd=parent, follow_symlinks=False)
            self._made("symlinks", path)

    def hardlink(self, path: VPath, first: VPath, meta: Meta) -> None:
        with self._writing(path):
            src = self._dir_fd(first[:-1])
            dst = self._dir_fd(path[:-1])
            try:
                os.link(first[-1], path[-1], src_dir_fd=src, dst_dir_fd=dst, follow_symlinks=False)
            except FileExistsError:
                self._replace(dst, path)
                os.link(first[-1], path[-1], src_dir_fd=src, dst_dir_fd=dst, follow_symlinks=False)
            self._made("hard links", path)

    def finish(self) -> None:
        self._dir_fd(())  # an empty selection still makes the target
        for path, meta in sorted(self._dirs, key=lambda pm: len(pm[0]), reverse=True):
            with self._writing(path):
                fd = self._dir_fd(path)
                if self.owners and meta.vnode:
                    os.fchown(fd, meta.owner, -1)
                os.fchmod(fd, _mode(meta, self.owners))
                os.utime(fd, (meta.mtime, meta.mtime))
        self.close()

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1


class _ChunkReader:
    """A read() over chunks, for tarfile.addfile, which copies ``size`` bytes.
    Each chunk is only valid until the next is asked for, so one is served at
    a time, by offset (no re-slicing of a growing buffer)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._it = iter(chunks)
        self._cur = memoryview(b"")
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        """``n`` bytes (fewer only at the end): tarfile takes a short read
        for the end of the data."""
        parts, want = [], n
        while want != 0:
            if self._pos >= len(self._cur):
                nxt = next(self._it, None)
                if nxt is None:
                    break
                self._cur, self._pos = memoryview(nxt), 0
            end = len(self._cur) if want < 0 else min(len(self._cur), self._pos + want)
            parts.append(self._cur[self._pos : end])
            if want > 0:
                want -= end - self._pos
            self._pos = end
        return b"".join(parts)

    def drain(self) -> None:
        for _ in self._it:
            pass


@dataclass(frozen=True)
class Listed:
    path: VPath
    meta: Meta
    size: int
    target: bytes | None = None  # symlinks
    link_to: VPath | None = None  # further names of a file


class ListSink:
    """Collects what an extraction would write, for ``ls``; data is skipped."""

    def __init__(self):
        self.entries: list[Listed] = []

    def directory(self, path, meta):
        self.entries.append(Listed(path, meta, meta.length))

    def file(self, path, meta, size, chunks):
        for _ in chunks:
            pass
        self.entries.append(Listed(path, meta, size))

    def can_symlink(self, target: bytes) -> bool:
        return True  # a listing shows what the dump holds, an empty target too

    def symlink(self, path, meta, target):
        self.entries.append(Listed(path, meta, len(target), target=target))

    def hardlink(self, path, first, meta):
        size = next((e.size for e in reversed(self.entries) if e.path == first), meta.length)
        self.entries.append(Listed(path, meta, size, link_to=first))

    def finish(self):
        self.entries.sort(key=lambda e: e.path)


class TarSink:
    """Writes a GNU tar stream (names as raw bytes) to a binary file object,
    forward only, so stdout or a pipe works."""

    def __init__(self, fileobj, owners: bool = True, name: str = "the tar archive"):
        self.owners, self.name = owners, name
        self.tar = tarfile.open(fileobj=fileobj, mode="w|", format=tarfile.GNU_FORMAT,
                                encoding="utf-8", errors="surrogateescape", copybufsize=1 << 20)

    def _info(self, path: VPath, meta: Meta, type_: bytes) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(b"/".join(path).decode("utf-8", "surrogateescape"))
        ti.type = type_
        ti.mode = _mode(meta, self.owners)
        ti.mtime = meta.mtime
        ti.uid = meta.owner if self.owners else 0
        ti.gid = 0
        ti.uname = ti.gname = ""
        return ti

    def _add(self, ti: tarfile.TarInfo, fileobj=None) -> None:
        try:
            self.tar.addfile(ti, fileobj)
        except OSError as err:
            raise WriteFailed(self.name, err.strerror or err) from None

    def directory(self, path: VPath, meta: Meta) -> None:
        self._add(self._info(path, meta, tarfile.DIRTYPE))

    def file(self, path: VPath, meta: Meta, size: int, chunks: Iterable[bytes]) -> None:
        ti = self._info(path, meta, tarfile.REGTYPE)
        ti.size = size
        reader = _ChunkReader(chunks)
        self._add(ti, reader)
        reader.drain()  # let the dump reader see the end of the data

    def can_symlink(self, target: bytes) -> bool:
        return makeable(target)

    def symlink(self, path: VPath, meta: Meta, target: bytes) -> None:
        ti = self._info(path, meta, tarfile.SYMTYPE)
        ti.linkname = target.decode("utf-8", "surrogateescape")
        self._add(ti)

    def hardlink(self, path: VPath, first: VPath, meta: Meta) -> None:
        ti = self._info(path, meta, tarfile.LNKTYPE)
        ti.linkname = b"/".join(first).decode("utf-8", "surrogateescape")
        self._add(ti)

    def abandon(self) -> None:
        """The archive will not be finished: drop what tarfile still buffers.
        Else its stream writes it when garbage-collected, after the file is
        closed ("Exception ignored ... write to closed file")."""
        self.tar.fileobj.closed = True  # tarfile's _Stream: nothing left to flush
        self.tar.closed = True

    def finish(self) -> None:
        try:
            self.tar.close()
        except OSError as err:
            raise WriteFailed(self.name, err.strerror or err) from None
