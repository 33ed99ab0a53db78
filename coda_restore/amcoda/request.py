"""Amanda's side of the Application API: what one invocation asks, and the
channels amcoda answers on (ref ``amanda-formats.md`` §7.3).

``parse_args`` reads Amanda's argument conventions into a ``Request``;
``settings`` checks the application-tool properties once, at the edge, into
``Settings``; ``Messages`` is fd 3 during a backup.  Nothing here runs
volutil.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from coda_restore.errors import UsageError
from coda_restore.volutil import AncientStyle, Volutil

CHUNK = 64 * 1024  # bytes per read where amcoda copies; the codec reads up to 1 MiB at a time
MAX_LEVEL = 9
DEFAULT_CLONE_MAX_AGE = 4 * 3600.0  # seconds; the original Coda wrappers' 4 hours
DEFAULT_VOLUTIL_TIMEOUT = 600.0  # seconds per short volutil call (a hung server must not hang amdump)
SELFCHECK_TIMEOUT = 20.0  # seconds: amcheck gives a client 30 (ctimeout)
MESG_FD, INDEX_FD = 3, 4

SUPPORT = (
    ("CONFIG", "YES"), ("HOST", "YES"), ("DISK", "YES"),
    ("MAX-LEVEL", str(MAX_LEVEL)),
    ("INDEX-LINE", "YES"), ("INDEX-XML", "NO"),
    ("MESSAGE-LINE", "YES"), ("MESSAGE-XML", "NO"),
    ("RECORD", "YES"), ("COLLECTION", "NO"),
    ("MULTI-ESTIMATE", "YES"), ("CALCSIZE", "NO"), ("CLIENT-ESTIMATE", "YES"),
)


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
    order, files = _options(argv[1:])
    opts: dict[str, list[str]] = {}
    for name, value in order:
        opts.setdefault(name, []).append(value)
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


def _options(words: Sequence[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The (normalised name, value) pairs in order, and the other words."""
    order: list[tuple[str, str]] = []
    files: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("--") or word == "--":
            files.append(word)
            continue
        name, eq, value = word[2:].partition("=")
        name = _norm(name)
        if not eq:
            if name in _FLAGS:
                value = "yes"
            elif i < len(words):
                value, i = words[i], i + 1
            else:
                raise UsageError(f"option --{name} needs a value")
        order.append((name, value))
    return order, files


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
