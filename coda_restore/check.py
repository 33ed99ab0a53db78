"""Is every volume restorable now, and what will the next tape reuse take away?

Per volume: the exact chain for now; the oldest and newest exactly
restorable instants; of the days in the retention window (from the oldest
written tape in the tapelist to today), how many can be restored exactly to
their end; and the gaps (history.py).

Tapes at risk follow Amanda's reuse rule (tapefile.c
``lookup_last_reusable_tape``, retention-tapes = tapecycle - 1): the written
tapes with the ``reuse`` flag are overwritten oldest first, once there are
tapecycle of them; before that, Amanda asks for new tapes.  So the k-th tape
Amanda writes from now (k = 0, 1, ...) overwrites the (k - s)-th oldest,
where s = max(tapecycle - written, 0), and the next run writes up to runtapes
tapes.  For each of the next tapes in that order, the restore points lost are
those exactly restorable now that no longer are once it *and the tapes
before it* are overwritten.  Not modelled: retention-days/recover/full
policies (3.4+), several storages or pools, and a changer that prefers fresh
tapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from coda_restore.amanda.config import amgetconf
from coda_restore.amanda.model import Catalog, TapelistEntry
from coda_restore.errors import UsageError
from coda_restore.history import Gap, VolumeHistory
from coda_restore.planner import explain_problem, ref
from coda_restore.when import from_datestamp, to_datestamp

SCHEMA = "coda-restore.check/1"


@dataclass(frozen=True)
class VolumeCheck:
    host: str
    disk: str
    restorable_now: bool
    reason: str  # why not restorable now ("" when it is)
    newest_point: str | None  # "datestamp/level" of the newest exact restore point
    oldest_point: str | None
    window_days: int
    restorable_days: int
    unrestorable_days: tuple[str, ...]  # YYYY-MM-DD in the window
    gaps: tuple[Gap, ...]


@dataclass(frozen=True)
class TapeRisk:
    label: str
    datestamp: str
    order: int  # 1 = the next tape Amanda overwrites
    writes_before: int  # tapes Amanda writes before this one (0: the next tape written)
    next_run: bool  # within the next run's runtapes
    loses: tuple[tuple[str, str, tuple[str, ...]], ...]  # (host, disk, restore points lost)


@dataclass(frozen=True)
class CheckReport:
    now: str
    window_start: str | None  # YYYY-MM-DD
    tapecycle: int | None
    runtapes: int
    volumes: tuple[VolumeCheck, ...]
    at_risk: tuple[TapeRisk, ...]
    at_risk_note: str = ""

    @property
    def ok(self) -> bool:
        return all(v.restorable_now for v in self.volumes)

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "now": self.now,
            "ok": self.ok,
            "window_start": self.window_start,
            "tapecycle": self.tapecycle,
            "runtapes": self.runtapes,
            "volumes": [
                {
                    "host": v.host, "disk": v.disk, "restorable_now": v.restorable_now, "reason": v.reason,
                    "newest_restore_point": v.newest_point, "oldest_restore_point": v.oldest_point,
                    "window_days": v.window_days, "restorable_days": v.restorable_days,
                    "unrestorable_days": list(v.unrestorable_days),
                    "gaps": [{"start": g.start, "until": g.until, "dumps": [ref(d) for d in g.cause]}
                             for g in v.gaps],
                }
                for v in self.volumes
            ],
            "at_risk": [
                {"label": r.label, "datestamp": r.datestamp, "order": r.order,
                 "writes_before": r.writes_before, "next_run": r.next_run,
                 "loses": [{"host": h, "disk": d, "restore_points": list(p)} for h, d, p in r.loses]}
                for r in self.at_risk
            ],
            "at_risk_note": self.at_risk_note,
        }


def tapecycle_of(config: str) -> int:
    """Amanda's own answer (``amgetconf CONF tapecycle``).  Raises ConfigUnreadable."""
    out = amgetconf(config, "tapecycle").strip()
    try:
        return int(out)
    except ValueError:
        raise UsageError(f"amgetconf {config} tapecycle printed {out!r}, not a number") from None


def runtapes_of(config: str) -> int:
    """``amgetconf CONF runtapes``.  Raises ConfigUnreadable."""
    out = amgetconf(config, "runtapes").strip()
    return int(out) if out.isdigit() else 1


def overwrite_order(tapelist: Iterable[TapelistEntry], tapecycle: int) -> tuple[list[TapelistEntry], int]:
    """Written reusable tapes in the order Amanda overwrites them (oldest
    first), and how many new tapes Amanda asks for before the first one."""
    written = [t for t in tapelist if t.reuse and t.datestamp != "0"]
    # Amanda's positions: newest first, file order for ties.
    written.sort(key=lambda t: t.position or 0)
    return list(reversed(written)), max(tapecycle - len(written), 0)


def check_volume(hist: VolumeHistory, now: datetime, window_start: datetime | None) -> VolumeCheck:
    bound = to_datestamp(now)
    newest = hist.target_dump(bound)
    restorable = newest is not None and hist.exactly_restorable(newest)
    # The chain (and its graph) only to explain a failure.
    reason = "" if restorable else explain_problem(
        hist.exact_chain(bound), hist, f"now ({now:%Y-%m-%d %H:%M:%S})", bound)
    points = hist.restore_points()
    start = window_start.date() if window_start else (
        from_datestamp(hist.dumps[0].datestamp, now.tzinfo).date() if hist.dumps else now.date())
    days, bad = 0, []
    day = start
    while day <= now.date():
        end = min(datetime.combine(day, time(23, 59, 59), tzinfo=now.tzinfo), now)
        target = hist.target_dump(to_datestamp(end))
        days += 1
        if target is None or not hist.exactly_restorable(target):
            bad.append(day.isoformat())
        day += timedelta(days=1)
    return VolumeCheck(
        hist.host, hist.disk, restorable, reason,
        ref(points[-1]) if points else None, ref(points[0]) if points else None,
        days, days - len(bad), tuple(bad), hist.gaps(),
    )


def check(catalog: Catalog, volumes: list[tuple[str, str]], now: datetime, tapecycle: int | None,
          risk_tapes: int = 3, runtapes: int = 1) -> CheckReport:
    tz = now.tzinfo
    written = [t for t in catalog.tapelist if t.datestamp != "0"]
    window_start = min((from_datestamp(t.datestamp, tz) for t in written), default=None)
    hists = {v: VolumeHistory(v[0], v[1], catalog.dumps_of(*v)) for v in volumes}
    results = tuple(check_volume(h, now, window_start) for h in hists.values())
    at_risk: list[TapeRisk] = []
    note = ""
    if tapecycle is None:
        note = "tapecycle unknown: give --config or --tapecycle to see the tapes at risk"
    elif not catalog.tapelist:
        note = "no tapelist: tapes at risk unknown"
    else:
        order, new_first = overwrite_order(catalog.tapelist, tapecycle)
        if order and new_first:
            note = (f"{len(order)} written tapes, tapecycle {tapecycle}: Amanda asks for {new_first} new tape(s) "
                    f"before it overwrites {order[0].label}")
        gone: set[str] = set()
        before = {v: set(h.restore_points()) for v, h in hists.items()}
        for i, tape in enumerate(order[:risk_tapes]):
            gone.add(tape.label)
            loses = []
            for v, h in hists.items():
                if tape.label not in h.labels:
                    continue
                after = set(h.points_if_lost(gone))
                lost = sorted(before[v] - after, key=lambda d: (d.datestamp, d.level))
                before[v] = after
                if lost:
                    loses.append((v[0], v[1], tuple(ref(d) for d in lost)))
            writes = new_first + i
            at_risk.append(TapeRisk(tape.label, tape.datestamp, i + 1, writes, writes < runtapes, tuple(loses)))
    return CheckReport(
        now.isoformat(), window_start.date().isoformat() if window_start else None, tapecycle, runtapes,
        results, tuple(at_risk), note,
    )
