"""Opening dump inputs and writing outputs safely (``-`` = stdin/stdout).

``output(path, force)`` is the one atomic writer (dumps, tar archives,
plans, the run journal): a file under a temporary name in the same
directory, fsynced and moved into place only when the block ends without an
exception; on failure the temporary file is removed, so nothing is left
behind (a full disk or ``ulimit -f`` never leaves half a plan).  A write
that fails names the file it was making (WriteFailed), not the temporary.
An existing device or FIFO (``/dev/null``, a tape) is written in place:
replacing the node with a file would break the system.  An existing output
is refused without ``force`` (OutputExists), checked before and again,
without clobbering, at the final link.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from coda_restore.errors import CannotOpen, OutputExists, WriteFailed


def _stdin() -> BinaryIO:
    return sys.stdin.buffer


def _stdout() -> BinaryIO:
    return sys.stdout.buffer


@contextlib.contextmanager
def open_dump(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A dump to read: a file opened unbuffered (the reader buffers), or stdin."""
    if str(path) == "-":
        yield _stdin()
        return
    try:
        f = open(path, "rb", buffering=0)
    except OSError as err:
        raise CannotOpen(str(path), err.strerror or err) from None
    with f:
        yield f


@contextlib.contextmanager
def _open_stream(target: Path) -> Iterator[BinaryIO]:
    try:
        f = open(target, "wb")
    except OSError as err:
        raise CannotOpen(str(target), err.strerror or err) from None
    with f:
        named = _Named(f, str(target))
        yield named
        named.flush()


def display_name(path: str | os.PathLike) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


class _Named:
    """A binary output whose write errors name the file (or stream) it
    becomes, not a temporary name or a bare OSError."""

    def __init__(self, f: BinaryIO, shown: str):
        self._f, self.shown = f, shown

    def write(self, data) -> int:
        try:
            return self._f.write(data)
        except OSError as err:
            raise WriteFailed(self.shown, err.strerror or err) from None

    def flush(self) -> None:
        try:
            self._f.flush()
        except OSError as err:
            raise WriteFailed(self.shown, err.strerror or err) from None

    def __getattr__(self, name):  # seek, tell, seekable, fileno: the file's own
        return getattr(self._f, name)


def _mode(target: Path) -> int | None:
    try:
        return os.stat(target).st_mode
    except FileNotFoundError:
        return None
    except OSError as err:
        raise CannotOpen(str(target), err.strerror or err) from None


def check_output(path: str | os.PathLike, force: bool = False) -> None:
    """What can be told before any work: not a directory, its directory
    exists, not an existing file without ``force``."""
    if str(path) == "-":
        return
    target = Path(path)
    mode = _mode(target)
    if mode is not None and stat.S_ISDIR(mode):
        raise CannotOpen(str(target), "is a directory")
    if mode is not None and stat.S_ISREG(mode) and not force:
        raise OutputExists(str(target))
    parent = target.parent if str(target.parent) else Path(".")
    if mode is None and not parent.is_dir():
        raise CannotOpen(str(target), f"directory {parent} does not exist" if not parent.exists()
                         else f"{parent} is not a directory")


def _fsync_dir(directory: Path) -> None:
    """The rename itself survives a crash only once its directory is synced."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def output(path: str | os.PathLike, force: bool = False) -> Iterator[BinaryIO]:
    """A binary output: stdout for ``-``, else a file made atomically."""
    if str(path) == "-":
        out = _Named(_stdout(), "standard output")
        yield out
        out.flush()
        return
    target = Path(path)
    check_output(target, force)
    mode = _mode(target)
    if mode is not None and not stat.S_ISREG(mode):
        # a device or a FIFO (/dev/null, a tape, a named pipe) is a stream:
        # write into it, never replace the node itself with a file
        with _open_stream(target) as out:
            yield out
        return
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=directory)
    except OSError as err:
        raise CannotOpen(str(target), err.strerror or err) from None
    try:
        raw = os.fdopen(fd, "wb")
        try:
            f = _Named(raw, str(target))
            yield f
            f.flush()
            try:
                os.fsync(raw.fileno())
                raw.close()
            except OSError as err:
                raise WriteFailed(str(target), err.strerror or err) from None
        finally:
            with contextlib.suppress(OSError):  # a failed write: its buffer is dropped with the file
                raw.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if someone created it meanwhile
            except FileExistsError:
                raise OutputExists(str(target)) from None
            os.unlink(tmp)
        _fsync_dir(directory)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
