"""The bulk plan: many volumes to one target, one tape schedule.

Each volume asked for gets an entry: its single-volume ``Plan`` (everything
``plan VOLUME`` says) when the records know it, or the reason they do not.
The restorable chains go, together, into one ``schedule.Schedule``: each
tape mounted once, files in order, drives, spool.  Like a ``Plan``, the
document is hashed (``plan_hash``, the sha256 of its canonical JSON) and
every volume's plan keeps its own hash, so ``run --plan`` refuses a bulk
plan edited anywhere.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from coda_restore.amanda.model import Catalog
from coda_restore.amanda.sources import find_volume
from coda_restore.chain import ChainMode
from coda_restore.errors import AmbiguousVolume, BadPlan, UnknownVolume
from coda_restore.planning import plan as planfile
from coda_restore.planning.history import VolumeHistory
from coda_restore.planning.plan import Hashed, Notice, Plan, TargetRecord, check_hash, json_object
from coda_restore.planning.planner import make_plan
from coda_restore.json_text import indented
from coda_restore.planning.schedule import (
    DEFAULT_DRIVE_KB_S, FileRead, HoldingRead, Image, Part, Schedule, SpoolItem, TapeMount, VolumeChain,
    make_schedule,
)
from coda_restore.planning.when import Target

SCHEMA = "coda-restore.bulkplan/1"


class Verdict(enum.Enum):
    RESTORABLE = "restorable"
    NOT_RESTORABLE = "not-restorable"
    UNKNOWN = "unknown"  # the records name no such volume (or several hosts have it)


@dataclass(frozen=True)
class Request:
    """A volume as the operator named it."""

    name: str
    host: str | None = None


@dataclass(frozen=True)
class VolumeEntry:
    name: str  # as asked
    host: str | None
    disk: str | None
    verdict: Verdict
    reason: str = ""  # why not restorable ("" when restorable)
    plan: Plan | None = None  # None when unknown

    def to_dict(self) -> dict:
        return {"name": self.name, "host": self.host, "disk": self.disk, "verdict": self.verdict.value,
                "reason": self.reason, "plan": self.plan.to_dict() if self.plan is not None else None}


@dataclass(frozen=True)
class BulkPlan(Hashed):
    target: TargetRecord
    chain: str
    volumes: tuple[VolumeEntry, ...]
    schedule: Schedule
    staging: str | None = None  # --staging DIR, where spooled reads go
    selection: tuple[str, ...] = ()  # how the volumes were chosen (the options)
    warnings: tuple[Notice, ...] = ()
    config: str | None = None
    schema: str = field(default=SCHEMA)

    def of(self, verdict: Verdict) -> list[VolumeEntry]:
        return [v for v in self.volumes if v.verdict is verdict]

    @property
    def outcome(self) -> str:
        """"all", "some" or "none" of the volumes are restorable."""
        n = len(self.of(Verdict.RESTORABLE))
        return "all" if n == len(self.volumes) and n else "some" if n else "none"

    def body(self) -> dict:
        """The JSON form without the hash."""
        return planfile.json_types({
            "schema": self.schema,
            "config": self.config,
            "target": asdict(self.target),
            "chain": self.chain,
            "selection": self.selection,
            "staging": self.staging,
            "outcome": self.outcome,
            "totals": {
                "volumes": len(self.volumes),
                **{v.value: len(self.of(v)) for v in Verdict},
                "tapes": len(self.schedule.tapes),
                "kb": self.schedule.total_kb,
            },
            "volumes": [v.to_dict() for v in self.volumes],
            "schedule": asdict(self.schedule),
            "warnings": [asdict(w) for w in self.warnings],
        })


# -- building -----------------------------------------------------------------------


def _entry(catalog: Catalog, request: Request, target: Target, mode: ChainMode,
           config: str | None) -> VolumeEntry:
    try:
        host, disk = find_volume(catalog, request.name, request.host)
    except (UnknownVolume, AmbiguousVolume) as err:
        return VolumeEntry(request.name, request.host, None, Verdict.UNKNOWN, str(err))
    p = make_plan(VolumeHistory.of(catalog, host, disk), target, mode, config=config,
                  configs=catalog.configs)
    verdict = Verdict.RESTORABLE if p.restorable else Verdict.NOT_RESTORABLE
    return VolumeEntry(request.name, host, disk, verdict, p.reason, p)


def chain_of(p: Plan) -> VolumeChain:
    """A restorable plan's steps as the scheduler reads them."""
    images = tuple(
        Image(s.datestamp, s.level,
              tuple(Part(r.label, r.filenum, r.partnum, r.kb or 0)
                    for r in sorted(s.copy.parts, key=lambda r: r.partnum))
              if s.copy.kind == "tape" else (),
              s.kb or 0)
        for s in p.steps
    )
    return VolumeChain(p.host, p.disk, images)


def all_volumes(catalog: Catalog, host: str | None = None) -> list[Request]:
    """Every volume of the records (of one host, compared case-insensitively)."""
    return [Request(d, h) for h, d in catalog.volumes() if host is None or h.lower() == host.lower()]


def make_bulk_plan(catalog: Catalog, requests: Sequence[Request], target: Target,
                   mode: ChainMode = ChainMode.EXACT, *, config: str | None = None, drives: int = 1,
                   drive_kb_s: int = DEFAULT_DRIVE_KB_S, staging: str | None = None,
                   staging_max_kb: int | None = None, selection: Sequence[str] = ()) -> BulkPlan:
    entries: list[VolumeEntry] = []
    warnings: list[Notice] = []
    seen: set[tuple[str, str]] = set()
    for request in requests:
        e = _entry(catalog, request, target, mode, config)
        if e.disk is not None and (e.host, e.disk) in seen:
            warnings.append(Notice("named-twice", f"{e.host}:{e.disk} is named more than once; planned once"))
            continue
        if e.disk is not None:
            seen.add((e.host, e.disk))
        entries.append(e)
    chains = [chain_of(e.plan) for e in entries if e.verdict is Verdict.RESTORABLE]
    sched = make_schedule(chains, drives=drives, drive_kb_s=drive_kb_s, staging_max_kb=staging_max_kb)
    unsized = [f"{c.host}:{c.disk} {im.ref}" for c in chains for im in c.images
               if (not im.parts and not im.kb) or any(not p.kb for p in im.parts)]
    if unsized:
        warnings.append(Notice("size-unknown", f"the records give no size for {len(unsized)} image(s) "
                               f"({', '.join(unsized[:5])}{', ...' if len(unsized) > 5 else ''}): "
                               "bytes, times and the spool count them as 0"))
    if sched.peak_spool_kb and staging is None:
        warnings.append(Notice("no-staging", "the schedule spools images read before their chain's base, "
                               "and no --staging DIR is given"))
    if not sched.fits:
        warnings.append(Notice("over-budget", over_budget(sched)))
    elif sched.staging_max_kb is not None and 0 < sched.drives_used < min(drives, len(sched.tapes)):
        warnings.append(Notice("drives-idle", f"only {sched.drives_used} of the {drives} drives read tapes: "
                               "more at once would read images ahead of their chains' bases and spool over "
                               "--staging-max"))
    return BulkPlan(TargetRecord.of(target), mode.value, tuple(entries), sched, staging, tuple(selection),
                    tuple(warnings), config)


def over_budget(sched: Schedule) -> str:
    """Why the spool cannot stay under the budget: what it holds at the peak."""
    held: dict[str, set[str]] = {}
    for s in sched.peak_holds:
        held.setdefault(f"{s.host}:{s.disk}", set()).add(s.label)
    what = "; ".join(f"{vol} (from {', '.join(sorted(labels))})" for vol, labels in sorted(held.items()))
    return (f"the spool peaks at {sched.peak_spool_kb} KiB, over the --staging-max of {sched.staging_max_kb} "
            f"KiB, after reading {sched.peak_at}: it then holds images of {what}, read before their chain's "
            "base in every order tried, on any number of drives up to --drives")


def replan(saved: BulkPlan, catalog: Catalog, *, name: str) -> BulkPlan:
    """A saved bulk plan, still to be run only if the records agree: every
    volume planned again for its target and chain must get the same verdict
    and steps, and the schedule made again from them the same tapes, order
    and drives.  Raises BadPlan, calling the plan ``name``."""
    requests = [Request(v.name, v.host) for v in saved.volumes]
    s = saved.schedule
    fresh = make_bulk_plan(catalog, requests, saved.target.resolved(), ChainMode(saved.chain),
                           config=saved.config, drives=s.drives, drive_kb_s=s.drive_kb_s, staging=saved.staging,
                           staging_max_kb=s.staging_max_kb, selection=saved.selection)
    for old, new in zip(saved.volumes, fresh.volumes):
        if (old.verdict, old.plan and old.plan.steps) != (new.verdict, new.plan and new.plan.steps):
            raise BadPlan(name, f"the Amanda records no longer agree with this plan for {old.name!r} "
                                "(its dumps or copies changed); make a new plan")
    if fresh.schedule != saved.schedule:
        raise BadPlan(name, "the tape schedule made again from the records differs; make a new plan")
    return saved


# -- JSON -------------------------------------------------------------------------------


def _schedule(d: dict) -> Schedule:
    return Schedule(
        drives=d["drives"], drive_kb_s=d["drive_kb_s"], staging_max_kb=d["staging_max_kb"],
        tapes=tuple(TapeMount(**{**t, "files": tuple(FileRead(**f) for f in t["files"])}) for t in d["tapes"]),
        holding=tuple(HoldingRead(**h) for h in d["holding"]), total_kb=d["total_kb"], seconds=d["seconds"],
        peak_spool_kb=d["peak_spool_kb"], peak_at=d["peak_at"],
        peak_holds=tuple(SpoolItem(**s) for s in d["peak_holds"]), fits=d["fits"],
    )


def _volume(v: dict, name: str) -> VolumeEntry:
    p = None
    if v["plan"] is not None:
        p = planfile.from_dict(v["plan"])
        if v["plan"].get("plan_hash") != p.plan_hash:
            raise BadPlan(name, f"the plan of volume {v['name']!r} does not match its plan_hash (was it edited?)")
    return VolumeEntry(v["name"], v["host"], v["disk"], Verdict(v["verdict"]), v["reason"], p)


def from_dict(d: dict, name: str = "plan") -> BulkPlan:
    """Rebuild a BulkPlan from its JSON form (its own hash is not checked
    here; each volume's plan hash is)."""
    if d.get("schema") != SCHEMA:
        raise BadPlan(name, f"schema is {d.get('schema')!r}, expected {SCHEMA!r}")
    try:
        return BulkPlan(
            target=TargetRecord(**d["target"]), chain=d["chain"],
            volumes=tuple(_volume(v, name) for v in d["volumes"]), schedule=_schedule(d["schedule"]),
            staging=d["staging"], selection=tuple(d["selection"]),
            warnings=tuple(Notice(**w) for w in d["warnings"]), config=d["config"],
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BadPlan(name, f"malformed bulk plan ({type(err).__name__}: {err})") from None


def dumps(bulk: BulkPlan) -> str:
    return indented(bulk.to_dict(), ensure_ascii=False) + "\n"


def loads(text: str, name: str = "plan") -> BulkPlan:
    """Parse a bulk plan and check that its hash matches its content."""
    data = json_object(text, name)
    return check_hash(from_dict(data, name), data, name)


def load_any(path: Path) -> Plan | BulkPlan:
    """A plan file of either kind (by its schema), its hash checked: what
    ``run --plan`` reads."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise BadPlan(path, err.strerror or str(err)) from None
    data = json_object(text, str(path))
    if data.get("schema") == SCHEMA:
        return check_hash(from_dict(data, str(path)), data, str(path))
    return check_hash(planfile.from_dict(data), data, str(path))
