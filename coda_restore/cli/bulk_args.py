"""The options that choose many volumes and shape their tape schedule,
shared by plan and run: --all, --from FILE, --all-or-nothing, --drives,
--drive-speed, --staging, --staging-max.  Parsed here, before any log is
read; a bad value is a usage error (exit 2)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from coda_restore.errors import UsageError

if TYPE_CHECKING:  # the bulk planner is imported when a bulk plan is made: one volume's plan never needs it
    from coda_restore.planning.bulk import Request

VolumesArg = Annotated[Optional[list[str]], typer.Argument(
    metavar="VOLUME...", help="The volume(s): Amanda disk names (e.g. u.jan).  Several, --all or --from make a bulk plan.")]
AllOpt = Annotated[bool, typer.Option("--all", help="Every volume of the records (of --host, if given).")]
FromOpt = Annotated[Optional[Path], typer.Option("--from", metavar="FILE", help="Volumes named in FILE (- for standard "
                                                 "input), one a line; # comments and blank lines are skipped.")]
AllOrNothingOpt = Annotated[bool, typer.Option("--all-or-nothing", help="Refuse the bulk plan (exit 3, "
                                               "nothing written) unless every volume is restorable.")]
DrivesOpt = Annotated[Optional[int], typer.Option("--drives", min=1, metavar="N", help="Tape drives read at once "
                                                  "(default 1): tapes are split across them by bytes.")]
DriveSpeedOpt = Annotated[Optional[str], typer.Option("--drive-speed", metavar="SPEED", help="Bytes per second one drive "
                                                      "reads, for the time estimate (default 100M).")]
StagingOpt = Annotated[Optional[Path], typer.Option("--staging", metavar="DIR", help="Directory for images read before "
                                                    "their chain's base (the spool).")]
StagingMaxOpt = Annotated[Optional[str], typer.Option("--staging-max", metavar="SIZE", help="The most the spool may hold "
                                                      "(e.g. 10G, 500M); the tape order keeps under it.")]

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?(?:/S)?\s*")


def parse_size(text: str, option: str) -> int:
    """'10G', '500M', '1.5T', '4096' (bytes) -> KiB, rounded up; powers of 1024."""
    m = _SIZE.fullmatch(text.upper())
    if not m:
        raise UsageError(f"{option} {text!r}: give a size like 10G, 500M or 800K")
    size = float(m.group(1)) * _UNITS[m.group(2)]
    if size <= 0:
        raise UsageError(f"{option} {text!r}: must be more than 0")
    return -(-int(size) // 1024)


def read_from(path: Path) -> list[str]:
    """The volume names of a --from file ("-": standard input)."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"--from {path}: {getattr(err, 'strerror', None) or err}") from None
    names = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [n for n in names if n]


@dataclass(frozen=True)
class Selection:
    """Which volumes, as the options name them."""

    names: tuple[str, ...]
    every: bool  # --all
    host: str | None

    def requests(self, all_volumes) -> list[Request]:
        """``all_volumes(host)`` lists the records' volumes, for --all."""
        if self.every:
            found = all_volumes(self.host)
            if not found:
                raise UsageError("--all: the records name no volume" + (f" on host {self.host!r}" if self.host else ""))
            return found
        from coda_restore.planning.bulk import Request

        return [Request(n, self.host) for n in self.names]

    def describe(self) -> tuple[str, ...]:
        what = ("--all",) if self.every else self.names
        return what + (("--host", self.host) if self.host else ())


def selection(volumes: list[str] | None, every: bool, from_file: Path | None, host: str | None) -> Selection:
    names = list(volumes or ())
    if from_file is not None:
        names += read_from(from_file)
    if every and names:
        raise UsageError("--all selects every volume: name none (nor --from)")
    if not every and not names:
        raise UsageError("name a volume, or give --all or --from FILE" if from_file is None
                         else f"--from {from_file} names no volume")
    return Selection(tuple(names), every, host)


@dataclass(frozen=True)
class ScheduleOptions:
    drives: int
    drive_kb_s: int
    staging: str | None
    staging_max_kb: int | None


def schedule_options(drives: int | None, drive_speed: str | None, staging: Path | None,
                     staging_max: str | None) -> ScheduleOptions:
    from coda_restore.planning.schedule import DEFAULT_DRIVE_KB_S

    speed = DEFAULT_DRIVE_KB_S if drive_speed is None else parse_size(drive_speed, "--drive-speed")
    budget = None if staging_max is None else parse_size(staging_max, "--staging-max")
    return ScheduleOptions(drives or 1, speed, str(staging) if staging is not None else None, budget)


def is_bulk(volumes: list[str] | None, *given) -> bool:
    """One volume and no bulk option: today's single plan, unchanged."""
    return len(volumes or ()) != 1 or any(g not in (None, False) for g in given)
