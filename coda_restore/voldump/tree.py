"""The path tree of a volume, built from its vnode records.

A dump names nothing by path: each directory vnode (large index, odd vnode
numbers) carries directory pages mapping names to (vnode, uniquifier), and
file and symlink vnodes (small index, even numbers) carry only metadata and
data.  The root is vnode 1, uniquifier 1 (ref §5).  Because the large index
comes first in every dump, the whole name space (``Layout``) is known before
the first file's data goes by, so an extractor can stream: every file record
already knows its path(s) when it arrives.

Walk: breadth first from the root, names in byte order.  An entry naming an
odd vnode is a directory and must be in the large index; an even vnode is a
file or symlink, checked when the small index has been read.  What the walk
does not reach is an *orphan* (ref §22.1: what minimal chains resurrect);
orphans can be given paths under ``lost+found/VVVVVVVV.UUUUUUUU`` as
codadump2tar does (§15), each orphan subtree keeping its own names below.

What can be wrong is recorded, never silently dropped, as a ``Problem``: a
name that could escape an extraction directory (holds ``/``; ``.`` and ``..``
are the directory's own links and are never walked), an entry naming a vnode
the dump lacks, a second name for a directory, a vnode of the wrong type for
its index.  The walk never loops: each directory is placed once.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from coda_restore.voldump.dirpage import DirEntry
from coda_restore.voldump.records import Vnode

Fid = tuple[int, int]
VPath = tuple[bytes, ...]  # components below the volume root; () is the root

ROOT: Fid = (1, 1)
LOST_FOUND = b"lost+found"


class Kind(enum.Enum):
    """Vnode types as the dump's ``'t'`` byte carries them (ref §6.1)."""

    FILE = 1
    DIRECTORY = 2
    SYMLINK = 3

    @classmethod
    def of(cls, type_byte: int) -> "Kind | None":
        try:
            return cls(type_byte & 7)
        except ValueError:
            return None


@dataclass(frozen=True)
class Meta:
    """What the tree and the extractors need of a vnode record."""

    vnode: int
    unique: int
    kind: Kind
    mode: int
    mtime: int
    owner: int
    length: int = 0
    links: int = 1
    parent: Fid = (0, 0)
    offset: int | None = None  # of the record in its dump, when known

    @property
    def fid(self) -> Fid:
        return (self.vnode, self.unique)

    @classmethod
    def of(cls, v: Vnode) -> "Meta | None":
        """The metadata of a vnode record; None for a type byte that is no
        file, directory or symlink."""
        kind = Kind.of(v.type)
        if kind is None:
            return None
        return cls(v.vnum, v.uniq, kind, v.mode & 0o7777, v.mtime, v.owner, v.length, v.link_count,
                   (v.vparent, v.uparent), v.offset)


class ProblemKind(enum.Enum):
    UNSAFE_NAME = "unsafe name"
    DANGLING = "names a vnode the dump does not hold"
    DIRECTORY_LINK = "second name for a directory"
    WRONG_TYPE = "vnode of the wrong type for its index"
    NO_ROOT = "no root directory 1.1"


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    path: VPath
    fid: Fid
    detail: str = ""

    def __str__(self) -> str:
        where = show_path(self.path) if self.path else "/"
        return f"{where} ({fid_text(self.fid)}): {self.kind.value}{': ' + self.detail if self.detail else ''}"


def fid_text(fid: Fid) -> str:
    return f"{fid[0]}.{fid[1]}"


def orphan_name(fid: Fid) -> bytes:
    return b"%08x.%08x" % fid


def show_path(path: VPath) -> str:
    """A path for people: UTF-8 where it is, ``\\xNN`` for other bytes and
    control characters, so a hostile name cannot drive the terminal."""
    out = []
    for ch in b"/".join(path).decode("utf-8", "backslashreplace"):
        out.append(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def unsafe(name: bytes) -> bool:
    """True when writing ``name`` below a directory could land elsewhere."""
    return not name or name in (b".", b"..") or b"/" in name or b"\0" in name


def parse_path(text: str | bytes) -> VPath:
    """An operator's path inside the volume (``sub/b.txt``, ``/sub/``, ``.``)."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    return tuple(c for c in raw.split(b"/") if c not in (b"", b"."))


@dataclass
class _Dir:
    meta: Meta
    entries: tuple[DirEntry, ...]


@dataclass
class Layout:
    """The name space: every directory's metadata and path, and the path(s)
    of every file and symlink the directories name."""

    dirs: dict[Fid, Meta]
    dir_path: dict[Fid, VPath]  # reachable directories (root: ())
    file_paths: dict[Fid, list[VPath]]  # reachable names of small vnodes
    orphan_dir_path: dict[Fid, VPath]  # unreachable directories, under lost+found
    orphan_file_paths: dict[Fid, list[VPath]]
    children: dict[VPath, list[tuple[bytes, Fid]]]
    problems: list[Problem] = field(default_factory=list)

    def paths_of(self, fid: Fid, orphans: bool = False) -> list[VPath]:
        """Where a small vnode goes: its names, sorted (the first is where its
        data is written, the others hard links).  With ``orphans``, an
        unnamed vnode goes to ``lost+found/VVVVVVVV.UUUUUUUU``."""
        if fid in self.file_paths:
            return self.file_paths[fid]
        if orphans:
            return self.orphan_file_paths.get(fid) or [(LOST_FOUND, orphan_name(fid))]
        return []

    def directories(self, orphans: bool = False) -> Iterator[tuple[VPath, Meta]]:
        """Directories parents first (sorted paths), the root excluded."""
        table = dict(self.dir_path)
        if orphans:
            table.update(self.orphan_dir_path)
        for path, fid in sorted((p, f) for f, p in table.items()):
            if path:
                yield path, self.dirs[fid]

    def lookup(self, path: VPath) -> Fid | None:
        """The fid a path names (the root for ``()``)."""
        if not path:
            return ROOT if ROOT in self.dir_path else None
        for name, fid in self.children.get(path[:-1], ()):
            if name == path[-1]:
                return fid
        return None


def build_layout(directories: Iterable[tuple[Meta, tuple[DirEntry, ...]]]) -> Layout:
    """Resolve the names of a dump's large index (``(meta, entries)`` pairs)."""
    dirs: dict[Fid, _Dir] = {}
    problems: list[Problem] = []
    for meta, entries in directories:
        if meta.kind is not Kind.DIRECTORY:
            problems.append(Problem(ProblemKind.WRONG_TYPE, (), meta.fid, f"type {meta.kind} in the large index"))
            continue
        dirs[meta.fid] = _Dir(meta, entries)
    layout = Layout({f: d.meta for f, d in dirs.items()}, {}, {}, {}, {}, {}, problems)
    if ROOT not in dirs:
        problems.append(Problem(ProblemKind.NO_ROOT, (), ROOT))
    else:
        _walk(dirs, layout, ROOT, (), layout.dir_path, layout.file_paths)
    # Orphan subtrees: roots are unreached directories no other unreached
    # directory names; what is left after them sits in a cycle.
    unreached = [f for f in sorted(dirs) if f not in layout.dir_path]
    named = {e.fid for f in unreached for e in dirs[f].entries if e.name not in (b".", b"..")}
    for fid in [f for f in unreached if f not in named] + unreached:
        if fid not in layout.orphan_dir_path:
            _walk(dirs, layout, fid, (LOST_FOUND, orphan_name(fid)), layout.orphan_dir_path, layout.orphan_file_paths)
    for paths in (*layout.file_paths.values(), *layout.orphan_file_paths.values()):
        paths.sort()
    return layout


def _walk(dirs, layout: Layout, top: Fid, top_path: VPath, dir_path: dict, file_paths: dict) -> None:
    placed = layout.dir_path.keys() | layout.orphan_dir_path.keys()
    dir_path[top] = top_path
    queue = deque([(top, top_path)])
    while queue:
        fid, path = queue.popleft()
        kids = layout.children.setdefault(path, [])
        for e in sorted(dirs[fid].entries, key=lambda e: e.name):
            if e.name in (b".", b".."):
                continue
            child = path + (e.name,)
            if unsafe(e.name):
                layout.problems.append(Problem(ProblemKind.UNSAFE_NAME, child, e.fid))
                continue
            kids.append((e.name, e.fid))
            if not e.vnode & 1:
                file_paths.setdefault(e.fid, []).append(child)
            elif e.fid not in dirs:
                layout.problems.append(Problem(ProblemKind.DANGLING, child, e.fid))
            elif e.fid in placed or e.fid in dir_path:
                layout.problems.append(Problem(ProblemKind.DIRECTORY_LINK, child, e.fid))
            else:
                dir_path[e.fid] = child
                queue.append((e.fid, child))
