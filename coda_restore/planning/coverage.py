"""Is every volume restorable now, and what will the next tape reuse take away?

Per volume: the exact chain for now; the oldest and newest exactly
restorable instants; of the days in the retention window (from the oldest
written tape in the tapelist to today), how many can be restored exactly to
their end; and the gaps (history.py).  Each day of the window gets a
``DayVerdict``: ``exact`` when the exact chain for its end is complete,
else ``minimal`` when only Amanda's minimal chain is (deleted files come
back as orphan vnodes), else ``none``: what ``plan --date DAY --chain
exact|minimal`` says for that day.  Runs of equal days are ``DayRun``s.

Tapes at risk follow Amanda's reuse rule (tapefile.c
``lookup_last_reusable_tape``, retention-tapes = tapecycle - 1): the written
tapes with the ``reuse`` flag are overwritten oldest first, once there are
tapecycle of them; before that, Amanda asks for new tapes.  So the k-th tape
Amanda writes from now (k = 0, 1, ...) overwrites the (k - s)-th oldest,
where s = max(tapecycle - written, 0), and the next run writes up to runtapes
tapes.  For each of the next tapes in that order, the restore points lost are
those exactly restorable now that no longer are once it *and the tapes
before it* are overwritten.

Verdicts, one per volume: FAIL when it is not exactly restorable now, has no
restore point at all, or its newest restore point is older than the max age
(stale: a backup that silently stopped); WARN when the next run overwrites a
tape holding the only copy of a dump its newest restore point needs; else OK.
The max age is ``--max-age``, else the config's dumpcycle (a volume with no
restore point within a whole dumpcycle has surely stopped), else Amanda's
default dumpcycle (10 days); the report states which.  Not modelled: retention-days/recover/full
policies (3.4+), several storages or pools, and a changer that prefers fresh
tapes.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from coda_restore.amanda.model import Catalog, TapelistEntry
from coda_restore.errors import NOT_RESTORABLE, OK, STALE, UsageError
from coda_restore.planning.history import Gap, VolumeHistory
from coda_restore.planning.planner import explain_problem
from coda_restore.planning.when import from_datestamp, to_datestamp

SCHEMA = "coda-restore.check/1"
AMANDA_DEFAULT_DUMPCYCLE = 10  # days (conffile.c)
_DURATION = re.compile(r"(\d+)\s*([hdw]?)")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "": timedelta(days=1), "w": timedelta(weeks=1)}


@dataclass(frozen=True)
class MaxAge:
    limit: timedelta
    source: str  # how it was chosen, for the report

    def describe(self) -> str:
        return f"max age {age_text(self.limit)} ({self.source})"


def parse_max_age(text: str) -> timedelta:
    """``36h``, ``7d`` (or ``7``), ``2w``.  Raises UsageError."""
    m = _DURATION.fullmatch(text.strip().lower())
    if not m or int(m.group(1)) == 0:
        raise UsageError(f"--max-age {text!r}: give a positive number of hours, days or weeks (36h, 7d, 2w)")
    return int(m.group(1)) * _UNIT[m.group(2)]


def max_age_for(given: str | None, dumpcycle: int | None, config: str | None) -> MaxAge:
    if given is not None:
        return MaxAge(parse_max_age(given), "--max-age")
    if dumpcycle is not None:
        return MaxAge(timedelta(days=max(dumpcycle, 1)), f"the dumpcycle of {config}")
    return MaxAge(timedelta(days=AMANDA_DEFAULT_DUMPCYCLE),
                  "Amanda's default dumpcycle; give --max-age or --config")


def age_text(delta: timedelta) -> str:
    """2d 5h, 7 days, 36h: short, whole hours."""
    hours = int(delta.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    if not hours:
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{days}d {hours}h" if days else f"{hours}h"


class DayVerdict(enum.Enum):
    """Can the volume be restored to the end of a day, and how."""

    EXACT = "exact"
    MINIMAL = "minimal"  # only by Amanda's minimal chain: orphan vnodes
    NONE = "none"


@dataclass(frozen=True)
class DayRun:
    """Consecutive days (YYYY-MM-DD, inclusive) with one verdict."""

    first: str
    last: str
    verdict: DayVerdict


def day_verdict(hist: VolumeHistory, bound: str) -> DayVerdict:
    """The verdict for a target whose bound is ``bound`` (14 digits)."""
    target = hist.target_dump(bound)
    if target is not None and hist.exactly_restorable(target, bound):
        return DayVerdict.EXACT
    return DayVerdict.MINIMAL if hist.minimally_restorable(bound) else DayVerdict.NONE


def day_runs(hist: VolumeHistory, first: date, now: datetime) -> tuple[DayRun, ...]:
    """The verdict of every day from ``first`` to today, each judged at its
    end (today: at ``now``), as runs of equal days."""
    runs: list[list] = []  # [first, last, verdict]
    for iso, bound in _day_ends(first, now):
        verdict = day_verdict(hist, bound)
        if runs and runs[-1][2] is verdict:
            runs[-1][1] = iso
        else:
            runs.append([iso, iso, verdict])
    return tuple(DayRun(*run) for run in runs)


@functools.lru_cache(maxsize=4)
def _day_ends(first: date, now: datetime) -> tuple[tuple[str, str], ...]:
    """Each day from ``first`` to today and the bound of its end: the same
    for every volume of one report, so worked out once."""
    ends = []
    day = first
    while day <= now.date():
        end = min(datetime.combine(day, time(23, 59, 59), tzinfo=now.tzinfo), now)
        ends.append((day.isoformat(), to_datestamp(end)))
        day += timedelta(days=1)
    return tuple(ends)


def days_of(run: DayRun) -> list[str]:
    first, last = date.fromisoformat(run.first), date.fromisoformat(run.last)
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


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
    newest_age: timedelta | None = None  # now minus the newest restore point
    stale: bool = False
    verdict: str = "OK"  # OK, WARN or FAIL
    why: tuple[str, ...] = ()  # one line per WARN or FAIL cause
    days: tuple[DayRun, ...] = ()  # the window's days, as runs of one verdict
    # Several configs: the configs whose usable copies hold the newest
    # restore point (empty for one config).
    newest_configs: tuple[str, ...] = ()


@dataclass(frozen=True)
class TapeRisk:
    label: str
    datestamp: str
    order: int  # 1 = the next tape Amanda overwrites
    writes_before: int  # tapes Amanda writes before this one (0: the next tape written)
    next_run: bool  # within the next run's runtapes
    loses: tuple[tuple[str, str, tuple[str, ...]], ...]  # (host, disk, restore points lost)
    config: str | None = None  # several configs: the config whose cycle overwrites it


@dataclass(frozen=True)
class Cycle:
    """One config's tape cycle (several configs: each its own tapelist,
    tapecycle and runtapes; never one cycle over two configs' tapes)."""

    config: str
    tapecycle: int | None
    runtapes: int = 1
    note: str = ""


@dataclass(frozen=True)
class CheckReport:
    now: str
    window_start: str | None  # YYYY-MM-DD
    tapecycle: int | None
    runtapes: int
    volumes: tuple[VolumeCheck, ...]
    at_risk: tuple[TapeRisk, ...]
    at_risk_note: str = ""
    max_age: MaxAge | None = None
    cycles: tuple[Cycle, ...] = ()  # several configs: each one's cycle (then tapecycle and runtapes are None)

    @property
    def ok(self) -> bool:
        return all(v.verdict != "FAIL" for v in self.volumes)

    @property
    def verdict(self) -> str:
        verdicts = {v.verdict for v in self.volumes}
        return "FAIL" if "FAIL" in verdicts else ("WARN" if "WARN" in verdicts else "OK")

    @property
    def exit_status(self) -> int:
        """3 when a volume cannot be restored now, else 8 when one is stale."""
        if any(not v.restorable_now or v.newest_point is None for v in self.volumes):
            return NOT_RESTORABLE
        return STALE if any(v.stale for v in self.volumes) else OK

    def summary(self) -> str:
        """One line for cron and monitoring: the verdict first."""
        n = {k: sum(v.verdict == k for v in self.volumes) for k in ("OK", "WARN", "FAIL")}
        causes = (f"{sum(not v.restorable_now for v in self.volumes)} not restorable now, "
                  f"{sum(v.stale for v in self.volumes)} stale, "
                  f"{sum(v.newest_point is None for v in self.volumes)} with no restore point")
        age = f"; {self.max_age.describe()}" if self.max_age else ""
        return (f"check: {self.verdict}: {len(self.volumes)} volume(s): {n['OK']} ok, {n['WARN']} warn, "
                f"{n['FAIL']} fail ({causes}){age}")

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "now": self.now,
            "ok": self.ok,
            "verdict": self.verdict,
            "exit_status": self.exit_status,
            "summary": self.summary(),
            "max_age": None if self.max_age is None else {
                "seconds": int(self.max_age.limit.total_seconds()), "source": self.max_age.source},
            "window_start": self.window_start,
            "tapecycle": self.tapecycle,
            "runtapes": self.runtapes,
            **({"configs": [{"config": c.config, "tapecycle": c.tapecycle, "runtapes": c.runtapes,
                             "at_risk_note": c.note} for c in self.cycles]} if self.cycles else {}),
            "volumes": [
                {
                    "host": v.host, "disk": v.disk, "verdict": v.verdict, "why": list(v.why),
                    "restorable_now": v.restorable_now, "reason": v.reason, "stale": v.stale,
                    "newest_restore_point_age_seconds": None if v.newest_age is None
                    else int(v.newest_age.total_seconds()),
                    "newest_restore_point": v.newest_point, "oldest_restore_point": v.oldest_point,
                    "window_days": v.window_days, "restorable_days": v.restorable_days,
                    "unrestorable_days": list(v.unrestorable_days),
                    "gaps": [{"start": g.start, "until": g.until, "dumps": [d.ref for d in g.cause]}
                             for g in v.gaps],
                    "days": [{"first": r.first, "last": r.last, "verdict": r.verdict.value} for r in v.days],
                    **({"newest_restore_point_configs": list(v.newest_configs)} if self.cycles else {}),
                }
                for v in self.volumes
            ],
            "at_risk": [
                {**({"config": r.config} if self.cycles else {}),
                 "label": r.label, "datestamp": r.datestamp, "order": r.order,
                 "writes_before": r.writes_before, "next_run": r.next_run,
                 "loses": [{"host": h, "disk": d, "restore_points": list(p)} for h, d, p in r.loses]}
                for r in self.at_risk
            ],
            "at_risk_note": self.at_risk_note,
        }


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
    restorable = newest is not None and hist.exactly_restorable(newest, bound)
    # The chain (and its graph) only to explain a failure.
    reason = "" if restorable else explain_problem(
        hist.exact_chain(bound), hist, f"now ({now:%Y-%m-%d %H:%M:%S})", bound)
    points = hist.restore_points()
    start = window_start.date() if window_start else (
        from_datestamp(hist.dumps[0].datestamp, now.tzinfo).date() if hist.dumps else now.date())
    runs = day_runs(hist, start, now)
    bad = [day for r in runs if r.verdict is not DayVerdict.EXACT for day in days_of(r)]
    days = sum(len(days_of(r)) for r in runs)
    return VolumeCheck(
        hist.host, hist.disk, restorable, reason,
        points[-1].ref if points else None, points[0].ref if points else None,
        days, days - len(bad), tuple(bad), hist.gaps(), days=runs,
    )


def _verdict(v: VolumeCheck, now: datetime, max_age: MaxAge | None,
             next_run: dict[tuple[str, str], list[str]]) -> VolumeCheck:
    why = []
    if v.newest_point is None:
        why.append("no restore point at all: no exact chain of it can be read")
    elif not v.restorable_now:
        why.append(v.reason)
    age = now - from_datestamp(v.newest_point.split("/")[0], now.tzinfo) if v.newest_point else None
    stale = bool(max_age and age is not None and age > max_age.limit)
    if stale:
        why.append(f"stale: the newest restore point ({v.newest_point}) is {age_text(age)} old, "
                   f"over the {max_age.describe()}")
    fail = bool(why)
    labels = next_run.get((v.host, v.disk), [])
    if labels:
        why.append(f"the next run overwrites {', '.join(labels)}, the only copy of a dump its newest restore "
                   f"point needs")
    verdict = "FAIL" if fail else ("WARN" if labels else "OK")
    return replace(v, newest_age=age, stale=stale, verdict=verdict, why=tuple(why))


def coverage_report(catalog: Catalog, volumes: list[tuple[str, str]], now: datetime, tapecycle: int | None,
          risk_tapes: int = 3, runtapes: int = 1, max_age: MaxAge | None = None,
          cycles: tuple[Cycle, ...] = ()) -> CheckReport:
    """``cycles``: with several configs (``catalog.tapelists``), each
    config's own tapecycle and runtapes: the tapes at risk are worked out
    per config, from that config's tapelist alone (``tapecycle`` and
    ``runtapes`` are then unused)."""
    tz = now.tzinfo
    written = [t for t in catalog.tapelist if t.datestamp != "0"]
    window_start = min((from_datestamp(t.datestamp, tz) for t in written), default=None)
    hists = {v: VolumeHistory.of(catalog, *v) for v in volumes}
    results = tuple(check_volume(h, now, window_start) for h in hists.values())
    several = bool(cycles) and len(catalog.tapelists) > 1
    if several:
        results = tuple(replace(v, newest_configs=_configs_of_point(hists[(v.host, v.disk)])) for v in results)
        tapelists = dict(catalog.tapelists)
        at_risk, done = [], []
        for c in cycles:
            risks, note = _at_risk(tapelists.get(c.config, ()), hists, c.tapecycle, risk_tapes, c.runtapes, c.config)
            at_risk += risks
            done.append(replace(c, note=note))
        cycles = tuple(done)
        note = "; ".join(f"{c.config}: {c.note}" for c in cycles if c.note)
        tapecycle, runtapes = None, None  # type: ignore[assignment]
    else:
        at_risk, note = _at_risk(catalog.tapelist, hists, tapecycle, risk_tapes, runtapes, None)
        cycles = ()
    newest = {(v.host, v.disk): v.newest_point for v in results}
    next_run: dict[tuple[str, str], list[str]] = {}
    for r in at_risk:
        for h, d, points in r.loses:
            if r.next_run and newest[(h, d)] in points:
                next_run.setdefault((h, d), []).append(r.label)
    results = tuple(_verdict(v, now, max_age, next_run) for v in results)
    return CheckReport(
        now.isoformat(), window_start.date().isoformat() if window_start else None, tapecycle, runtapes,
        results, tuple(at_risk), note, max_age, cycles,
    )


def _configs_of_point(hist: VolumeHistory) -> tuple[str, ...]:
    """The configs whose usable copies hold the newest restore point."""
    points = hist.restore_points()
    if not points:
        return ()
    return tuple(dict.fromkeys(c.config for c in points[-1].copies if c.usable and c.config is not None))


def _at_risk(tapelist, hists: dict, tapecycle: int | None, risk_tapes: int, runtapes: int,
             config: str | None) -> tuple[list[TapeRisk], str]:
    """The next ``risk_tapes`` tapes of one cycle (one config's tapelist)
    Amanda overwrites, and the restore points each takes away; and a note
    when that cannot be told."""
    at_risk: list[TapeRisk] = []
    note = ""
    if tapecycle is None:
        note = "tapecycle unknown: give --config or --tapecycle to see the tapes at risk"
    elif not tapelist:
        note = "no tapelist: tapes at risk unknown"
    else:
        order, new_first = overwrite_order(tapelist, tapecycle)
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
                lost = sorted(before[v] - after, key=lambda d: d.node)
                before[v] = after
                if lost:
                    loses.append((v[0], v[1], tuple(d.ref for d in lost)))
            writes = new_first + i
            at_risk.append(TapeRisk(tape.label, tape.datestamp, i + 1, writes, writes < runtapes, tuple(loses),
                                    config))
    return at_risk, note
