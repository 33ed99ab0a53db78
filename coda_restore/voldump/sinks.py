"""Where an extraction's objects go: the ``Sink``s of ``extract``.

* ``DirectorySink`` writes below a directory and never follows a symlink:
  every component is opened relative to its parent's descriptor with
  O_NOFOLLOW, files are created with O_EXCL, and an existing entry is
  replaced only with ``force`` (a directory is never replaced).  So a dump
  cannot write outside the target even if the target already holds symlinks.
* ``TarSink`` writes a GNU tar stream, forward only (stdout or a pipe works).
* ``ListSink`` collects what would be written, for ``ls``; data is skipped.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from coda_restore.errors import OutputExists, WriteFailed
from coda_restore.voldump.tree import Meta, VPath, show_path


def makeable(target: bytes) -> bool:
    """A symlink target a file system (or tar) can hold; Coda keeps others too."""
    return bool(target) and b"\0" not in target


def _mode(meta: Meta, owners: bool) -> int:
    # Without owners the files belong to whoever extracts: no setuid/setgid.
    return meta.mode & (0o7777 if owners else 0o1777)


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
