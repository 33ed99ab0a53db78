"""Fetching dump images with amfetchdump.

One ``amfetchdump -a -p -h --exact-match`` per image (``-p`` pipes only the
first match), stdin from /dev/null so it can never wait for an operator.
``-h`` puts Amanda's 32 KiB header before the data on the same stream: it is
read first and must name the dump the plan asked for.  Amanda's tools refuse
to run as root, so a root caller runs them as Amanda's dumpuser (runuser).
Bytes are hashed and counted as they pass; a stall watchdog kills the child
when no byte moves for too long.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from coda_restore import proc
from coda_restore.amanda.header import HEADER_BYTES, Header, HeaderError, parse_header, read_block
from coda_restore.errors import Stalled, VerificationFailed, WrongImage

CHUNK = 1 << 20


def _normal14(datestamp: str) -> str:
    return datestamp.ljust(14, "0")


def read_amanda_header(stream, host: str, disk: str, datestamp: str, level: int) -> Header:
    """Read the 32 KiB Amanda header off the stream; it must name the dump
    we asked for."""
    wanted = f"{host} {disk} {datestamp} level {level}"
    block = read_block(stream)
    try:
        if len(block) < HEADER_BYTES:
            raise HeaderError(f"the stream ended after {len(block)} bytes")
        header = parse_header(block)
    except HeaderError as err:
        raise WrongImage(f"no Amanda header ({err})", wanted) from None
    got = f"{header.host} {header.disk} {_normal14(header.datestamp)} level {header.level}"
    if got.lower() != f"{host} {disk} {_normal14(datestamp)} level {level}".lower():
        raise WrongImage(got, wanted)
    return header


class _Killable(Protocol):
    def kill(self) -> None: ...


class Watchdog:
    """Kills the children it watches when ``tick`` has not been called for
    ``timeout`` seconds.  ``stalled`` names what was stopped."""

    def __init__(self, timeout: float | None):
        self.timeout = timeout
        self._last = time.monotonic()
        self._children: list[tuple[str, _Killable]] = []
        self.stalled: str | None = None
        self._stop = threading.Event()
        if timeout:
            threading.Thread(target=self._watch, daemon=True).start()

    def tick(self, _n: int = 0) -> None:
        self._last = time.monotonic()

    def watch(self, what: str, child: _Killable) -> None:
        self.tick()
        self._children.append((what, child))

    def forget(self, child: _Killable) -> None:
        self._children = [(w, c) for w, c in self._children if c is not child]

    def check(self) -> None:
        if self.stalled:
            raise Stalled(self.stalled, self.timeout)

    def close(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(min(1.0, self.timeout / 4)):
            if self._children and time.monotonic() - self._last > self.timeout:
                self.stalled = " and ".join(w for w, _ in self._children)
                for _, child in self._children:
                    child.kill()


def raise_own_failure(child: proc.Child, err: BaseException) -> None:
    """A bad stream from a child that failed by itself: the child's exit
    status and stderr come first, the stream's complaint is the cause."""
    if isinstance(err, VerificationFailed):
        failure = child.own_failure()
        if failure is not None:
            raise failure from err


@dataclass(frozen=True)
class Spooled:
    path: Path
    bytes: int
    sha256: str


def spool(argv: list[str], dest: Path, check: Callable[[object], object], watchdog: Watchdog,
          progress: Callable[[int], None], start: Callable[[], proc.Child] | None = None,
          what: str = "amfetchdump") -> Spooled:
    """Run ``argv`` (or what ``start`` starts: amrestore's parts); ``check``
    reads the Amanda header off its stdout, the rest goes to ``dest`` (made
    under a temporary name, renamed when the child exited 0)."""
    tmp = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    size = 0
    child = start() if start is not None else proc.Child(argv, stdout=proc.PIPE)
    watchdog.watch(what, child)
    try:
        check(child.stdout)
        with open(tmp, "wb") as out:
            while chunk := child.stdout.read1(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                watchdog.tick()
                progress(size)
        watchdog.check()
        child.wait()
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        watchdog.check()  # a stall explains the rest
        raise_own_failure(child, err)
        raise
    finally:
        child.kill()
        watchdog.forget(child)
    tmp.rename(dest)
    return Spooled(dest, size, digest.hexdigest())
