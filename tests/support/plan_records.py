"""Literal catalog records for the history, planner and plan tests (the seam
of STYLE.md: no tapes, no logs).  Builders keep each case a few lines long."""

from __future__ import annotations

from coda_restore.amanda.model import (
    Catalog,
    ClientResult,
    Dump,
    DumpStatus,
    HoldingCopy,
    Part,
    PartStatus,
    TapeCopy,
    TapelistEntry,
    Unavailable,
)

HOST, DISK = "coda1.example.org", "u.jan"


def ds(day: int, hour: int = 3, minute: int = 0) -> str:
    """A 14-digit datestamp in February/March 2004 (day 30 = March 1)."""
    month, mday = (2, day) if day <= 29 else (3, day - 29)
    return f"2004{month:02d}{mday:02d}{hour:02d}{minute:02d}00"


def tape(label: str, filenum: int, *, write: str | None = None, kb: int = 100, storage: str = "daily",
         unavailable: Unavailable | None = None, status: DumpStatus = DumpStatus.OK,
         parts: tuple[tuple[str, int], ...] | None = None) -> TapeCopy:
    """A tape copy; ``parts`` = ((label, filenum), ...) for a split dump."""
    parts = parts or ((label, filenum),)
    each = kb // len(parts)
    return TapeCopy(
        storage=storage, pool=storage, write_timestamp=write or "",
        status=status,
        parts=tuple(Part(i + 1, lab, fn, PartStatus.OK, each) for i, (lab, fn) in enumerate(parts)),
        unavailable_because=unavailable, kb=kb,
    )


def holding(path: str, kb: int = 100, status: DumpStatus = DumpStatus.OK) -> HoldingCopy:
    return HoldingCopy(path=path, chunks=(path,), status=status, kb=kb)


def dump(datestamp: str, level: int, *copies, client: ClientResult = ClientResult.SUCCESS,
         kb: int = 100, host: str = HOST, disk: str = DISK) -> Dump:
    fixed = tuple(
        TapeCopy(c.storage, c.pool, c.write_timestamp or datestamp, c.status, c.parts,
                 c.unavailable_because, c.message, c.kb)
        if isinstance(c, TapeCopy) else c
        for c in copies
    )
    return Dump(host, disk, datestamp, level, fixed, client, kb=kb)


def catalog(*dumps: Dump, tapelist: tuple[TapelistEntry, ...] = ()) -> Catalog:
    return Catalog(tuple(sorted(dumps, key=lambda d: d.key)), tapelist)
