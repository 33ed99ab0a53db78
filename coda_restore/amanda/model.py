"""The catalog's records: what Amanda knows about each dump of each DLE.

Frozen dataclasses with tuple fields, so that a plan built from them is
hashable.  Every record keeps where it came from (``Origin``) so errors and
``--json`` output can cite file and line.  Datestamps are always normalised
to 14 digits (``YYYYMMDDhhmmss``; 8-digit ones are zero-padded, as
Amanda::DB::Catalog does).

This module is the contract between the Amanda reader (which builds a
``Catalog``) and its consumers (history, planner, CLI).  Add fields freely;
rename none without updating every consumer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class DumpStatus(enum.Enum):
    """Amanda's dump_status of one copy (find.c): OK, PARTIAL or FAIL."""

    OK = "ok"
    PARTIAL = "partial"
    FAIL = "fail"


class PartStatus(enum.Enum):
    OK = "ok"  # PART / CHUNK / 2.x SUCCESS
    PARTIAL = "partial"  # PARTPARTIAL: a discarded attempt


class ClientResult(enum.Enum):
    """What the dumper/chunker said: did the client finish sending?  A dump
    the client finished was recorded on the Coda server (DESIGN rule 3)."""

    SUCCESS = "success"
    STRANGE = "strange"
    PARTIAL = "partial"
    FAIL = "fail"
    UNKNOWN = "unknown"  # no dumper/chunker line seen (e.g. only a flush log)

    @property
    def recorded(self) -> bool:
        return self in (ClientResult.SUCCESS, ClientResult.STRANGE)


class Unavailable(enum.Enum):
    """Why a known copy or dump cannot be restored from."""

    TAPE_REUSED = "tape-reused"  # label's tapelist datestamp no longer matches
    TAPE_UNKNOWN = "tape-not-in-tapelist"  # relabelled or amrmtape'd
    MISSING_PART = "missing-part"
    FAILED = "failed"  # taper FAIL
    PARTIAL = "partial"  # taper PARTIAL / holding PARTIAL=YES
    NOT_WRITTEN = "not-written"  # client finished, nothing on tape or holding
    DUMP_FAILED = "dump-failed"  # dumper/chunker FAIL: nothing was dumped
    UNFINISHED = "unfinished"  # parts with no DONE/PARTIAL/FAIL (interrupted run)
    LOG_NOT_SEARCHED = "log-not-searched"  # Amanda never reads this log (oldlog/, out of sequence)
    HOLDING_NOT_SEARCHED = "holding-not-searched"  # a chunker wrote it, and no holding disk was read


@dataclass(frozen=True, order=True, slots=True)
class Origin:
    """Where a record was read: a file and a 1-based line (0 for headers)."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True, slots=True)
class Part:
    partnum: int
    label: str
    filenum: int
    status: PartStatus
    kb: int | None = None
    origin: Origin | None = field(default=None, compare=False)
    # None: the label still holds this part (its tapelist datestamp is the
    # run that wrote it); else why Amanda no longer counts it.
    unavailable_because: Unavailable | None = None

    @property
    def available(self) -> bool:
        return self.unavailable_because is None and self.status is PartStatus.OK


@dataclass(frozen=True, slots=True)
class TapeCopy:
    """One taper instance of a dump (a flush or vault makes another)."""

    storage: str  # storage name; the config name before 3.4
    pool: str | None
    write_timestamp: str  # 14 digits: the run that wrote the volumes
    status: DumpStatus
    parts: tuple[Part, ...]
    unavailable_because: Unavailable | None = None  # None: restorable from
    message: str = ""
    kb: int | None = None
    origin: Origin | None = field(default=None, compare=False)
    config: str | None = None  # the Amanda config whose records hold it (its amfetchdump names it)

    kind = "tape"

    @property
    def available(self) -> bool:
        """Amanda still counts it: its tape holds it (or it never was on one)."""
        return self.unavailable_because is None

    @property
    def usable(self) -> bool:
        """Restorable from (DESIGN rule 4): available, and written whole."""
        return self.unavailable_because is None and self.status is DumpStatus.OK

    @property
    def labels(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for p in self.parts:
            seen.setdefault(p.label, None)
        return tuple(seen)

    def restore_parts(self) -> tuple[Part, ...]:
        """The parts to read, in part order: one good part per part number
        (a PARTPARTIAL attempt or a part on a reused tape is never chosen;
        of two good copies of one part the last logged wins, as find.c's
        newest-first walk does).  Meaningful only when ``available``."""
        chosen: dict[int, Part] = {}
        for p in self.parts:
            if p.available:
                chosen[p.partnum] = p
        return tuple(chosen[n] for n in sorted(chosen))


@dataclass(frozen=True, slots=True)
class HoldingCopy:
    """A dump in a holding disk: the first chunk's path and every chunk."""

    path: str
    chunks: tuple[str, ...]
    status: DumpStatus
    kb: int | None = None
    config: str | None = None  # the Amanda config whose holding disk holds it

    kind = "holding"

    @property
    def unavailable_because(self) -> Unavailable | None:
        return None if self.status is DumpStatus.OK else Unavailable.PARTIAL

    @property
    def available(self) -> bool:
        return self.status is DumpStatus.OK

    @property
    def usable(self) -> bool:
        """Restorable from (DESIGN rule 4): a holding file is whole or partial."""
        return self.status is DumpStatus.OK


Copy = TapeCopy | HoldingCopy


@dataclass(frozen=True, slots=True)
class CodaLink:
    """What the Coda dump header inside an image says (coda-dump-format §3,
    §12.3), read by ``scan``: an incremental belongs on the dump whose
    ``latest`` equals its ``oldest``, so a chain can be proven from these."""

    volume_id: int
    parent_id: int  # the RW volume: the same for every dump of one volume
    name: str
    level: int
    oldest: int
    latest: int
    backup_date: int = 0


@dataclass(frozen=True, slots=True)
class Dump:
    """One dump of one DLE: (host, disk, datestamp, level), with all its copies."""

    host: str
    disk: str
    datestamp: str  # 14 digits: the run in which the client was dumped
    level: int
    copies: tuple[Copy, ...] = ()
    client: ClientResult = ClientResult.UNKNOWN
    client_message: str = ""
    kb: int | None = None  # size of the image as Amanda logged it
    origin: Origin | None = field(default=None, compare=False)
    # A chunker wrote it to a holding disk, no tape copy was ever good, and
    # no holding disk was read: it may well be there.
    holding_unsearched: bool = False
    # The Coda header of the image, when a scan read it (None: not read).
    coda: CodaLink | None = field(default=None, compare=False)
    # The Amanda config whose records first name it (several configs of one
    # site dump the same volumes; each copy says its own config).
    config: str | None = None

    @property
    def configs(self) -> tuple[str, ...]:
        """The configs its copies come from, in copy order (its own first
        when it has no copy)."""
        named = dict.fromkeys(c.config for c in self.copies if c.config is not None)
        return tuple(named) or ((self.config,) if self.config is not None else ())

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.host, self.disk, self.datestamp, self.level)

    @property
    def node(self) -> tuple[str, int]:
        """Its key within one volume, in time order: (datestamp, level)."""
        return (self.datestamp, self.level)

    @property
    def ref(self) -> str:
        """How plans, reports and messages name it: ``datestamp/level``."""
        return f"{self.datestamp}/{self.level}"

    @property
    def available(self) -> bool:
        """Some copy is still counted by Amanda (see ``usable`` for restoring)."""
        return any(c.available for c in self.copies)

    @property
    def usable(self) -> bool:
        """Can be restored from (DESIGN rule 4): some copy is usable."""
        return any(c.usable for c in self.copies)

    @property
    def recorded(self) -> bool:
        """Did the Coda server mark this dump (DESIGN rule 3)?  The client
        finished sending, or a copy is available (which implies it), or the
        logs say nothing of the client (only a flush log, say) and a copy
        exists at all, even a failed one: a taper writes only what a client
        finished, and counting a doubtful dump as recorded can only make the
        planner refuse a chain, never restore a wrong one."""
        if self.client.recorded or self.available:
            return True
        return self.client is ClientResult.UNKNOWN and bool(self.copies)

    @property
    def unavailable_because(self) -> Unavailable | None:
        if self.available:
            return None
        if self.holding_unsearched:
            return Unavailable.HOLDING_NOT_SEARCHED
        if not self.copies:
            return Unavailable.NOT_WRITTEN if self.client.recorded else Unavailable.DUMP_FAILED
        return self.copies[0].unavailable_because


@dataclass(frozen=True, slots=True)
class TapelistEntry:
    datestamp: str  # as written (8 or 14 digits, or "0")
    label: str
    reuse: bool = True
    barcode: str | None = None
    meta: str | None = None
    blocksize: int | None = None
    pool: str | None = None
    storage: str | None = None
    config: str | None = None
    comment: str | None = None
    position: int = 0  # 1 = newest, as Amanda numbers them


@dataclass(frozen=True, slots=True)
class CatalogWarning:
    """A malformed or inconsistent record: reported with file:line, skipped."""

    origin: Origin
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


@dataclass(frozen=True, slots=True)
class UnreadableLog:
    """A log that exists but could not be read whole (unreadable, cut
    mid-line, binary garbage or NULs): any dump recorded in it is unknown,
    so no answer may rely on the records being complete around its date."""

    origin: Origin  # the file, and the first damaged line (0: the whole file)
    datestamp: str  # the run it logs
    what: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.what}"


@dataclass(frozen=True)
class Catalog:
    """Every dump the records know, available or not, sorted by
    (host, disk, datestamp, level)."""

    dumps: tuple[Dump, ...]
    tapelist: tuple[TapelistEntry, ...] = ()
    warnings: tuple[CatalogWarning, ...] = ()
    unreadable: tuple[UnreadableLog, ...] = ()
    # Several configs: each config's own tapelist, (config, entries) in the
    # order named (each config overwrites its own tapes in its own cycle);
    # empty for one config (``tapelist`` is its tapelist).
    tapelists: tuple[tuple[str, tuple[TapelistEntry, ...]], ...] = ()
    # (host, disk) -> that DLE's dumps; built once, so that dumps_of() does
    # not scan a year of dumps per call.
    _index: dict = field(default=None, init=False, repr=False, compare=False)
    _configs: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], list[Dump]] = {}
        configs: dict[str | None, None] = {}
        for d in self.dumps:
            index.setdefault((d.host, d.disk), []).append(d)
            configs[d.config] = None
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})
        object.__setattr__(self, "_configs", tuple(sorted(c for c in configs if c is not None)))

    @property
    def configs(self) -> tuple[str, ...]:
        """The Amanda configs its dumps come from, sorted (several: the catalog folds a site's configs, and every answer says
        which config a copy comes from)."""
        return self._configs

    @property
    def several_configs(self) -> bool:
        return len(self._configs) > 1

    def volumes(self) -> list[tuple[str, str]]:
        """Distinct (host, disk) pairs, sorted."""
        return sorted(self._index)

    def dumps_of(self, host: str, disk: str) -> tuple[Dump, ...]:
        """One DLE's dumps, oldest first."""
        return self._index.get((host, disk), ())
