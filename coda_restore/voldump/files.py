"""Opening dump inputs and writing outputs safely (``-`` = stdin/stdout).

``output(path, force)`` writes a file under a temporary name in the same
directory and moves it into place only when the block ends without an
exception; on failure the temporary file is removed, so nothing is left
behind.  An existing device or FIFO (``/dev/null``, a tape) is written in
place: replacing the node with a file would break the system.  An existing output is refused without ``force`` (OutputExists),
checked before and again, without clobbering, at the final link.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from coda_restore.errors import CodaRestoreError, OutputExists


class CannotOpen(CodaRestoreError):
    """cannot open {}: {}"""


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
        yield f
        f.flush()


def display_name(path: str | os.PathLike) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


@contextlib.contextmanager
def output(path: str | os.PathLike, force: bool = False) -> Iterator[BinaryIO]:
    """A binary output: stdout for ``-``, else a file made atomically."""
    if str(path) == "-":
        out = _stdout()
        yield out
        out.flush()
        return
    target = Path(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise CannotOpen(str(target), err.strerror or err) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise CannotOpen(str(target), "is a directory")
    if mode is not None and not stat.S_ISREG(mode):
        # a device or a FIFO (/dev/null, a tape, a named pipe) is a stream:
        # write into it, never replace the node itself with a file
        with _open_stream(target) as out:
            yield out
        return
    if mode is not None and not force:
        raise OutputExists(str(target))
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=directory)
    except OSError as err:
        raise CannotOpen(str(target), err.strerror or err) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
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
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
