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

Where the objects go is a ``Sink`` (``voldump.sinks``: a directory that is
never written through a symlink, a tar stream, a listing).  A chain is
extracted from ``merge.merged_reader``: merged on the fly, never on disk.

Not promised: an interrupted extraction leaves what it wrote (files are
complete or being written; directory modes may not be set yet).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterable, Iterator, Protocol, Sequence

from coda_restore.chain import ChainMode
from coda_restore.errors import DumpFormatError, NotRestorable, OwnLostFound, ReadFailed, UnsafeName, UsageError
from coda_restore.voldump import dirpage
from coda_restore.voldump.files import display_name, open_dump
from coda_restore.voldump.merge import merged_reader
from coda_restore.voldump.reader import DumpReader
from coda_restore.voldump.records import (DataKind, DumpEnd, DumpHeader, IndexHeader, NullVnode, RemovedVnode,
                                          VnodeClass, Vnode)
from coda_restore.voldump.tree import (LOST_FOUND, Kind, Layout, Meta, Problem, ProblemKind, VPath, build_layout,
                                       fid_text, show_path)
from coda_restore.voldump.validate import SectionChecker

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
    run = _Extraction(chunks, sink, options, source)
    for rec in records:
        run.check(rec)
        if isinstance(rec, IndexHeader) and rec.vclass is VnodeClass.SMALL:
            run.open_small_index()
        elif isinstance(rec, Vnode):
            if run.layout is None:
                run.large_vnode(rec)
            else:
                run.small_vnode(rec)
    return run.finish()


class _Extraction:
    """One extraction's state while the records go by: the directories of
    the large index, then (from the small index on) the layout they make."""

    def __init__(self, chunks: Callable[[Vnode], Iterator[bytes]], sink: Sink, options: ExtractOptions, source: str):
        self.chunks, self.sink, self.options, self.source = chunks, sink, options, source
        self.result = ExtractResult()
        self.sel = _Selection(options.paths)
        self.large: list[tuple[Meta, tuple[dirpage.DirEntry, ...]]] = []
        self.layout: Layout | None = None
        self.named: Iterable = set()  # file vnodes some directory names
        self.seen: set = set()  # file vnodes the small index holds
        self.checker: SectionChecker | None = None

    def note(self, offset: int, text: str) -> None:
        self.result.notes.append(f"{self.source}: offset {offset}: {text}")

    def check(self, rec) -> None:
        """The same record rules as the merge (slot order, parity, duplicates,
        counts), and what no full dump holds."""
        if isinstance(rec, (IndexHeader, DumpEnd)) and self.checker is not None:
            self.checker.finish(rec.offset)
        if isinstance(rec, IndexHeader):
            self.checker = SectionChecker(self.source, rec, True, self.note)
        elif isinstance(rec, (Vnode, RemovedVnode, NullVnode)) and self.checker is not None:
            self.checker.check(rec)
        if isinstance(rec, DumpHeader) and not rec.is_full:
            raise NotRestorable(f"{self.source} is an incremental (level {rec.level}); "
                                "give its full dump and the whole chain")
        if isinstance(rec, RemovedVnode):
            raise DumpFormatError(rec.offset, "removed vnode in a full dump", self.source)

    def large_vnode(self, rec: Vnode) -> None:
        meta = Meta.of(rec)
        if meta is None or meta.kind is not Kind.DIRECTORY or rec.data is not DataKind.DIRPAGES:
            self.note(rec.offset, f"vnode {fid_text(rec.fid)} in the large index is no directory; skipped")
            return
        where = f"{fid_text(rec.fid)} ({self.source} offset {rec.offset})"
        self.large.append((meta, dirpage.validate(rec.pages, where)))

    def open_small_index(self) -> None:
        """The name space is complete: refuse what cannot be extracted, then
        make the selected directories, all before the first file."""
        layout = self.layout = build_layout(self.large)
        self.named = layout.file_paths.keys()
        options, source = self.options, self.source
        for p in layout.problems:
            if p.kind is ProblemKind.UNSAFE_NAME and options.refuse_unsafe:
                raise UnsafeName(source, b"/".join(p.path))
            if p.kind is ProblemKind.NO_ROOT:
                raise NotRestorable(f"{source} has no root directory (vnode 1.1): is it an incremental?")
            self.result.notes.append(str(p))
        for w in self.sel.wanted:
            if layout.lookup(w) is None and not (options.orphans and w[:1] == (LOST_FOUND,)):
                raise UsageError(f"{show_path(w)}: no such path in {source}")
        if options.orphans:
            if layout.lookup((LOST_FOUND,)) is not None:
                raise OwnLostFound(LOST_FOUND.decode())
            if self.sel.needs((LOST_FOUND,)):
                # Orphan files are only known as their records go by: make the place now.
                self.sink.directory((LOST_FOUND,), Meta(0, 0, Kind.DIRECTORY, 0o700, int(time.time()), 0))
        for path, meta in layout.directories(options.orphans):
            if self.sel.needs(path):
                self.sink.directory(path, meta)
                self.result.directories += 1

    def small_vnode(self, rec: Vnode) -> None:
        meta = Meta.of(rec)
        if meta is None or meta.kind is Kind.DIRECTORY:
            self.note(rec.offset, f"vnode {fid_text(rec.fid)} has type {rec.type}; skipped")
            _drain(rec, self.chunks)
            return
        self.seen.add(rec.fid)
        if rec.fid not in self.named:
            self.result.orphans += 1
        paths = [p for p in self.layout.paths_of(rec.fid, self.options.orphans) if self.sel.takes(p)]
        if not paths:
            _drain(rec, self.chunks)
            return
        if meta.kind is Kind.SYMLINK:
            made = self.symlink(rec, meta, paths[0])
        else:
            made = self.file(rec, meta, paths[0])
        for p in paths[1:] if made else ():
            self.sink.hardlink(p, paths[0], meta)
            self.result.hardlinks += 1

    def symlink(self, rec: Vnode, meta: Meta, path: VPath) -> bool:
        target = b""
        if rec.data is DataKind.FILEDATA:
            target = b"".join(_bounded(self.chunks(rec), SYMLINK_MAX, rec, self.source))
        if not self.sink.can_symlink(target):
            # No system can make such a link (ref §19.15), though Coda keeps it: say so, go on.
            self.result.notes.append(f"{show_path(path)}: symlink target {target!r} cannot be created; skipped")
            self.result.not_created.append(show_path(path))
            return False
        self.sink.symlink(path, meta, target)
        self.result.symlinks += 1
        return True

    def file(self, rec: Vnode, meta: Meta, path: VPath) -> bool:
        if rec.data is DataKind.FILEDATA:
            self.sink.file(path, meta, rec.size, _counted(self.chunks(rec), self.result))
        else:
            # D_BADINODE: the server restores an empty container; so do we.
            self.result.notes.append(f"{show_path(path)}: no data in the dump (D_BADINODE); written empty")
            self.sink.file(path, meta, 0, ())
        self.result.files += 1
        return True

    def finish(self) -> ExtractResult:
        if self.layout is None:
            raise DumpFormatError(0, "no small index: the dump ended early", self.source)
        self.result.orphans += len(self.layout.orphan_dir_path)
        for fid in sorted(self.named - self.seen):
            for path in self.layout.file_paths[fid]:
                self.result.notes.append(str(Problem(ProblemKind.DANGLING, path, fid)))
        self.sink.finish()
        return self.result


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


# -- dumps on the command line ---------------------------------------------------


def extract_dumps(dumps: Sequence[str], sink: Sink, options: ExtractOptions = ExtractOptions(), stdin=None,
                  mode: ChainMode = ChainMode.EXACT) -> ExtractResult:
    """Extract from one full dump, or from a chain FULL INCR... (oldest
    first) merged on the fly: nothing merged is written to disk (except what
    the merge itself spools in minimal mode).  ``-`` is ``stdin``."""
    names = [display_name(name) for name in dumps]
    with contextlib.ExitStack() as stack:
        raws = [stdin if name == "-" and stdin is not None else stack.enter_context(open_dump(name))
                for name in dumps]
        try:
            if len(raws) == 1:
                return _extract_one(raws[0], names[0], sink, options)
            return _extract_chain(list(zip(names, raws)), sink, options, mode)
        except OSError as err:  # the sinks name their own write errors: this is a dump
            raise ReadFailed(err.filename or " + ".join(names), err.strerror or err) from None


def _extract_one(raw: BinaryIO, name: str, sink: Sink, options: ExtractOptions) -> ExtractResult:
    reader = DumpReader(raw, name)
    result = extract_records(reader, lambda _v: reader.data_chunks(), sink, options, reader.source)
    result.notes += [str(w) for w in reader.warnings]
    return result


def _extract_chain(sources: list[tuple[str, BinaryIO]], sink: Sink, options: ExtractOptions,
                   mode: ChainMode) -> ExtractResult:
    source = "merged " + " + ".join(name for name, _ in sources)
    with merged_reader(sources, mode) as merged:
        reader = DumpReader(merged.stream, source)
        result = extract_records(reader, lambda _v: reader.data_chunks(), sink, options, source)
    result.notes += [str(w) for w in merged.result.warnings]
    if mode is ChainMode.MINIMAL:
        result.notes += list(merged.result.discrepancies)
    return result
