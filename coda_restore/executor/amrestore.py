"""Fetching dump images with amrestore, which needs no Amanda config
(``run --via amrestore``, for when the Amanda server is gone).

One ``amrestore -h -p --exact-match -f FILENUM -l LABEL DEVICE HOST DISK
DATESTAMP`` per part (``-l`` makes amrestore refuse a volume with another
label, ``-f`` starts at the part's file), or one ``--holding FILE`` for a
holding copy (amrestore follows its chunks).  amrestore does not put split
dumps together: ``PartsChild`` runs one per part, in part order, and hands
on one stream, part 1 whole (its Amanda header first, checked by the
caller like amfetchdump's) and every later part's header checked here (the
same dump, the next part number) and dropped, so no byte of a wrong part
reaches the merge.  A part's amrestore must exit 0 before the next starts.
"""

from __future__ import annotations

import enum
import io
import time
from collections.abc import Callable

from coda_restore import proc
from coda_restore.amanda.header import parse_header, read_block
from coda_restore.errors import NoDevice, TapeNotLoaded, WrongImage, WrongPart
from coda_restore.amanda.config import as_amanda_user
from coda_restore.executor.fetch import read_amanda_header
from coda_restore.planning.plan import Step

AMRESTORE = ("amrestore", "-h", "-p", "--exact-match")


class Via(enum.Enum):
    """The Amanda tool run reads images with."""

    AMFETCHDUMP = "amfetchdump"  # through the config and its catalog
    AMRESTORE = "amrestore"  # straight from the devices and holding files a scan saw


def device_and_label(argv: list[str]) -> tuple[str, str] | None:
    """(device, label) an amrestore part command reads, None for a holding file."""
    if "-l" not in argv:
        return None
    return argv[argv.index("-l") + 2], argv[argv.index("-l") + 1]


def wait_for_tape(device: str, label: str, wait: float, label_at: Callable[[str], str | None],
                  say: Callable[[str], None], poll: float = 1.0) -> None:
    """Return once ``label`` is the volume at ``device``; say which tape to
    load where and wait up to ``wait`` seconds (0: do not wait)."""
    held = label_at(device)
    if held == label:
        return
    say(f"load tape {label} into {device}" + (f" (it holds {held})" if held else "")
        + (f"; waiting up to {wait:g} s" if wait else ""))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(poll)
        if label_at(device) == label:
            say(f"tape {label} is in {device}")
            return
    raise TapeNotLoaded(label, device, wait)


def amrestore_argvs(step: Step, host: str, disk: str, devices: dict[str, str], user: str | None) -> list[list[str]]:
    """The amrestore commands that read ``step``'s copy, in part order."""
    if step.copy.kind == "holding":
        return [as_amanda_user([*AMRESTORE, "--holding", step.copy.path, host, disk, step.datestamp], user)]
    out = []
    for p in step.copy.parts:
        if p.label not in devices:
            raise NoDevice(p.label)
        out.append(as_amanda_user([*AMRESTORE, "-f", str(p.filenum), "-l", p.label, devices[p.label],
                                   host, disk, step.datestamp], user))
    return out


class _Parts(io.RawIOBase):
    """The readable side of PartsChild."""

    def __init__(self, owner: "PartsChild"):
        super().__init__()
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._owner.read(len(b))
        b[: len(data)] = data
        return len(data)

    def read1(self, n: int = -1) -> bytes:
        return self._owner.read(n)


class PartsChild:
    """One amrestore per part, read as one stream (the proc.Child surface
    the fetch and merge code use: stdout, wait, kill, own_failure)."""

    def __init__(self, argvs: list[list[str]], host: str, disk: str, datestamp: str, level: int,
                 before_part: Callable[[list[str]], None] = lambda argv: None):
        self.argvs = argvs
        self._dump = (host, disk, datestamp, level)
        self._i = 0
        self._head = b""  # part 1's header, checked and handed on
        self._before = before_part  # waits, when asked to, until the part's tape is loaded
        before_part(argvs[0])
        self._child = proc.Child(argvs[0], stdout=proc.PIPE)
        self._started = False
        self.stdout = _Parts(self)

    def _header(self, partnum: int) -> bytes:
        """Read and check the Amanda header of the part now running."""
        block = read_block(self._child.stdout)
        host, disk, datestamp, level = self._dump
        if not block:  # amrestore skips a file that does not match, writes nothing and exits 0 (ref §10)
            argv = self.argvs[self._i]
            where = (f"file {argv[argv.index('-f') + 1]} of {argv[argv.index('-l') + 1]}" if "-f" in argv
                     else argv[argv.index("--holding") + 1])
            raise WrongPart(f"nothing: {where} holds no part {partnum} of that dump (amrestore wrote nothing)",
                             f"{host} {disk} {datestamp} level {level} part {partnum}")
        try:
            read_amanda_header(io.BytesIO(block), host, disk, datestamp, level)
            got = parse_header(block).partnum or 1
        except WrongImage as err:
            raise WrongPart(*err.args) from None
        if got != partnum:
            raise WrongPart(f"part {got} of {host} {disk} {datestamp} level {level}",
                             f"part {partnum} ({proc.display(self.argvs[self._i])})")
        return block

    def read(self, n: int = -1) -> bytes:
        if not self._started:
            self._started = True
            self._head = self._header(1)
        if self._head:
            out, self._head = (self._head, b"") if n < 0 or n >= len(self._head) else (self._head[:n], self._head[n:])
            return out
        while True:
            data = self._child.stdout.read1(n if n > 0 else 1 << 20)
            if data:
                return data
            self._child.wait()  # this part's amrestore exited 0 before the next one starts
            if self._i + 1 >= len(self.argvs):
                return b""
            self._i += 1
            self._before(self.argvs[self._i])
            self._child = proc.Child(self.argvs[self._i], stdout=proc.PIPE)
            self._header(self._i + 1)

    def wait(self) -> int:
        return self._child.wait()

    def kill(self) -> None:
        self._child.kill()

    def own_failure(self, grace: float = 2.0):
        return self._child.own_failure(grace)
