"""The bulk run: a bulk plan's tape schedule read by N drive workers, each
volume restored as soon as its chain is read, one journal for the whole run.

The algorithm::

    for each drive of the schedule, a worker thread:
        for each tape of the drive, in schedule order:
            done already (bulk journal) and its images still intact: skip it
            for each image on the tape, in file order:
                one ``amfetchdump -a -p -h --exact-match`` (the changer gives
                this process its own drive); header checked, image validated,
                spooled into the volume's workdir (or --staging when the
                schedule marks it spooled), journalled in the volume's journal
            the tape is journalled as done, with every amfetchdump it took
            every volume whose tape images are now all read: queued
    restore workers (--restores-per-server of them): each queued volume
    goes through the single-volume runner, which finds every image in its
    journal (holding-disk images it fetches itself), merges, restores with
    volutil and dumps back to verify; a failure is retried once

Why one amfetchdump per image and not one per tape: ``amfetchdump -p``
pipes exactly one dump, and without ``-p`` it writes every match to files in
``-O DIR`` and picks the copy itself, so a tape's images could not be
checked against the schedule's copy as they stream.  The images of a tape
are read one after another by the same worker, so the tape is taken once.
A split dump whose parts lie on two tapes is read with its first part's
tape (amfetchdump loads the other one itself).

What it does not promise: images are written to disk before their merge
(the level 0 too); only those the schedule marks spooled go to --staging.
A kill -9 during a volutil restore leaves that volume half created: the
rerun reports it (runner's HalfCreated) instead of restoring it again.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from coda_restore import proc
from coda_restore.amanda.config import AmandaConfig
from coda_restore.errors import CodaRestoreError, ForeignJournal
from coda_restore.executor.events import Event, NullReporter, Reporter, Stage
from coda_restore.executor.fetch import Watchdog, read_amanda_header, spool
from coda_restore.executor.journal import Journal, SpooledImage
from coda_restore.executor.runner import RunOptions, amanda_config_check, key, run, step_fetch_argv, workdir_for
from coda_restore.planning.bulk import BulkPlan, Verdict, VolumeEntry
from coda_restore.planning.plan import Plan, Step
from coda_restore.planning.schedule import TapeMount
from coda_restore.voldump import files
from coda_restore.voldump.validate import validate

SCHEMA = "coda-restore.bulkrun/1"
JOURNAL_NAME = "bulk-journal.json"


class Outcome:
    RESTORED = "restored"
    FAILED = "failed"
    REFUSED = "refused"  # not restorable, or unknown: the plan said why


@dataclass(frozen=True)
class BulkOptions:
    run: RunOptions  # server, partition, volutil, workdir (the bulk run's root) ...
    restores_per_server: int = 1
    retries: int = 1  # a failed volume is tried this many times more


@dataclass(frozen=True)
class VolumeResult:
    name: str
    host: str | None
    disk: str | None
    outcome: str
    reason: str = ""
    restored_name: str | None = None
    volume_id: int | None = None
    attempts: int = 0
    resumed: bool = False  # restored by an earlier run of this bulk plan

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["volume_id"] = None if self.volume_id is None else f"{self.volume_id:08x}"
        return d


@dataclass(frozen=True)
class BulkResult:
    plan_hash: str
    volumes: tuple[VolumeResult, ...]
    tapes_read: tuple[str, ...]  # by this run
    tapes_skipped: tuple[str, ...]  # done by an earlier run, their images kept
    fetches: tuple[tuple[str, ...], ...]  # every amfetchdump this run started
    bytes: int = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def outcome(self) -> str:
        """"all", "some" or "none" of the volumes were restored."""
        n = sum(v.outcome == Outcome.RESTORED for v in self.volumes)
        return "all" if n == len(self.volumes) and n else "some" if n else "none"

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "plan_hash": self.plan_hash, "outcome": self.outcome,
                "totals": {"volumes": len(self.volumes),
                           **{o: sum(v.outcome == o for v in self.volumes)
                              for o in (Outcome.RESTORED, Outcome.FAILED, Outcome.REFUSED)},
                           "tapes_read": len(self.tapes_read), "tapes_skipped": len(self.tapes_skipped),
                           "fetches": len(self.fetches), "bytes": self.bytes, "seconds": round(self.seconds, 3)},
                "volumes": [v.to_dict() for v in self.volumes],
                "tapes_read": list(self.tapes_read), "tapes_skipped": list(self.tapes_skipped),
                "fetches": [list(a) for a in self.fetches], "notes": list(self.notes)}


def bulk_workdir(root: Path, bulk: BulkPlan) -> Path:
    """One directory per bulk plan: its journal and every volume's workdir."""
    return root / f"bulk-{bulk.plan_hash[:16]}"


class BulkJournal:
    """The bulk run's own record (atomically replaced, like the volume
    journals): tapes done, every amfetchdump started, volumes finished."""

    def __init__(self, workdir: Path, plan_hash: str):
        self.path = workdir / JOURNAL_NAME
        self.lock = threading.Lock()
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        if data and data.get("plan_hash") != plan_hash:
            raise ForeignJournal(self.path, data.get("plan_hash", "?")[:12])
        self.plan_hash = plan_hash
        self.tapes_done: list[str] = data.get("tapes_done", [])
        self.fetches: list[dict] = data.get("fetches", [])  # every run's, with the run's number
        self.volumes: dict[str, dict] = data.get("volumes", {})
        self.runs: int = data.get("runs", 0) + 1

    def fetched(self, drive: int, label: str, argv: list[str]) -> None:
        with self.lock:
            self.fetches.append({"run": self.runs, "drive": drive, "label": label, "argv": argv})
            self._save()

    def tape_done(self, label: str) -> None:
        with self.lock:
            if label not in self.tapes_done:
                self.tapes_done.append(label)
            self._save()

    def volume_done(self, vkey: str, result: VolumeResult) -> None:
        with self.lock:
            self.volumes[vkey] = result.to_dict()
            self._save()

    def save(self) -> None:
        with self.lock:
            self._save()

    def _save(self) -> None:
        data = {"schema": SCHEMA, "plan_hash": self.plan_hash, "runs": self.runs, "tapes_done": self.tapes_done,
                "fetches": self.fetches, "volumes": self.volumes}
        with files.output(self.path, force=True) as f:
            f.write(json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))


def _vkey(plan: Plan) -> str:
    return f"{plan.host}:{plan.disk}"


class _LockedReporter:
    """Worker threads share the run's reporter."""

    def __init__(self, inner: Reporter):
        self.inner, self.lock = inner, threading.Lock()

    def event(self, event: Event) -> None:
        with self.lock:
            self.inner.event(event)

    def progress(self, step, dump, done, total) -> None:
        with self.lock:
            self.inner.progress(step, dump, done, total)

    def close(self) -> None:
        self.inner.close()


class _Bulk:
    """The state the workers share."""

    def __init__(self, bulk: BulkPlan, opts: BulkOptions, reporter: Reporter):
        self.bulk, self.opts = bulk, opts
        self.reporter = _LockedReporter(reporter)
        self.root = bulk_workdir(opts.run.workdir, bulk)
        self.root.mkdir(parents=True, exist_ok=True)
        self.journal = BulkJournal(self.root, bulk.plan_hash)
        self.journal.save()  # the run's number is counted even if it dies at once
        self.config = AmandaConfig(bulk.config or "")
        self.user = amanda_config_check(self.config.name)[1]
        self.plans = {_vkey(v.plan): v.plan for v in bulk.volumes if v.verdict is Verdict.RESTORABLE}
        self.lock = threading.Lock()
        self.volume_locks = {k: threading.Lock() for k in self.plans}
        self.waiting = {k: {key(s) for s in p.steps if s.copy.kind == "tape"} for k, p in self.plans.items()}
        self.failed_reads: dict[str, str] = {}
        self.results: dict[str, VolumeResult] = {}
        self.tapes_read: list[str] = []
        self.tapes_skipped: list[str] = []
        self.fetches: list[tuple[str, ...]] = []
        self.bytes = 0
        self.started = time.monotonic()
        self.restores = ThreadPoolExecutor(max_workers=opts.restores_per_server, thread_name_prefix="restore")
        self.futures = []

    # -- progress -----------------------------------------------------------------

    def say(self, stage: Stage, volume: str, message: str, **fields) -> None:
        self.reporter.event(Event(stage, volume, message=message, **fields))

    def progress_line(self) -> str:
        total_kb = self.bulk.schedule.total_kb or 1
        done_kb = self.bytes // 1024
        elapsed = time.monotonic() - self.started
        eta = (elapsed / done_kb * (total_kb - done_kb)) if done_kb else None
        done = len(self.results)
        tapes = len(self.tapes_read) + len(self.tapes_skipped)
        return (f"volumes {done}/{len(self.plans)} done, {self.bytes} bytes read, "
                f"tapes {tapes}/{len(self.bulk.schedule.tapes)}"
                + (f", ETA {max(eta, 0):.0f} s" if eta is not None else ""))

    # -- the drive side -------------------------------------------------------------

    def step_of(self, plan: Plan, datestamp: str, level: int) -> Step:
        return next(s for s in plan.steps if s.datestamp == datestamp and s.level == level)

    def spool_dir(self, plan: Plan, spooled: bool) -> Path:
        staging = self.bulk.staging
        if spooled and staging:
            return Path(staging) / workdir_for(Path("."), plan).name
        return workdir_for(self.root, plan) / "spool"

    def images_of(self, tape: TapeMount) -> list[tuple[str, Step, bool]]:
        """(volume key, step, spooled) of each image whose first part is on TAPE, in file order."""
        out = []
        for f in tape.files:
            vkey = f"{f.host}:{f.disk}"
            if f.partnum != 1 or vkey not in self.plans:
                continue
            out.append((vkey, self.step_of(self.plans[vkey], f.datestamp, f.level), f.spooled))
        return out

    def have(self, vkey: str, step: Step) -> bool:
        plan = self.plans[vkey]
        if vkey in self.journal.volumes:
            return True
        with self.volume_locks[vkey]:
            return Journal(workdir_for(self.root, plan), plan.plan_hash).verified(key(step)) is not None

    def drive(self, number: int, tapes: list[TapeMount]) -> None:
        for tape in tapes:
            images = self.images_of(tape)
            if tape.label in self.journal.tapes_done and all(self.have(v, s) for v, s, _ in images):
                self.tapes_skipped.append(tape.label)
                self.say(Stage.FETCH, f"tape {tape.label}", "done by an earlier run, its images kept; "
                         + self.progress_line(), resumed=True, finished=True)
                for vkey, step, _ in images:
                    self.arrived(vkey, key(step))
                continue
            self.say(Stage.FETCH, f"tape {tape.label}", f"drive {number}: {len(images)} image(s)")
            for vkey, step, spooled in images:
                if vkey in self.journal.volumes or self.have(vkey, step):
                    self.arrived(vkey, key(step))
                    continue
                try:
                    self.read_image(number, tape.label, vkey, step, spooled)
                except CodaRestoreError as err:
                    with self.lock:
                        self.failed_reads[vkey] = f"{key(step)} from {tape.label}: {err}"
                    self.say(Stage.FETCH, vkey, str(err), dump=key(step), ok=False)
                self.arrived(vkey, key(step))
            self.journal.tape_done(tape.label)
            with self.lock:
                self.tapes_read.append(tape.label)
            self.say(Stage.FETCH, f"tape {tape.label}", f"drive {number} done; " + self.progress_line(),
                     finished=True)

    def read_image(self, drive: int, label: str, vkey: str, step: Step, spooled: bool) -> None:
        plan = self.plans[vkey]
        argv = step_fetch_argv(plan, step, self.user)  # through the config whose records hold this copy
        dest_dir = self.spool_dir(plan, spooled)
        dest_dir.mkdir(parents=True, exist_ok=True)
        workdir_for(self.root, plan).mkdir(parents=True, exist_ok=True)
        dest = dest_dir / f"{step.datestamp}.{step.level}.dump"
        self.journal.fetched(drive, label, argv)
        with self.lock:
            self.fetches.append(tuple(argv))
        self.say(Stage.FETCH, vkey, proc.display(argv), dump=key(step))
        watchdog = Watchdog(self.opts.run.stall_timeout)
        try:
            got = spool(argv, dest,
                        lambda stream: read_amanda_header(stream, plan.host, plan.disk, step.datestamp, step.level),
                        watchdog, lambda n: None)
        finally:
            watchdog.close()
        with open(dest, "rb") as f:
            checked = validate(f, key(step))
        if not checked.valid:
            dest.unlink(missing_ok=True)
            raise checked.error
        with self.volume_locks[vkey]:
            Journal(workdir_for(self.root, plan), plan.plan_hash).record_spooled(
                SpooledImage(key(step), str(dest), got.bytes, got.sha256))
        with self.lock:
            self.bytes += got.bytes
        self.say(Stage.FETCH, vkey, f"{got.bytes} bytes" + (" to --staging" if spooled else ""),
                 dump=key(step), bytes=got.bytes, finished=True, sha256=got.sha256)

    def arrived(self, vkey: str, k: str) -> None:
        """Image K of a volume is read (or failed): queue its restore once nothing is left to read."""
        with self.lock:
            left = self.waiting.get(vkey)
            if left is None:
                return
            left.discard(k)
            if left:
                return
            del self.waiting[vkey]
        self.futures.append(self.restores.submit(self.restore, vkey))

    # -- the restore side -------------------------------------------------------------

    def restore(self, vkey: str) -> None:
        plan = self.plans[vkey]
        name = next(v.name for v in self.bulk.volumes if v.plan is plan)
        done = self.journal.volumes.get(vkey)
        if done is not None and done["outcome"] == Outcome.RESTORED:
            self.results[vkey] = VolumeResult(name, plan.host, plan.disk, Outcome.RESTORED, "",
                                              done["restored_name"], int(done["volume_id"], 16),
                                              done["attempts"], resumed=True)
            return
        attempts, reason = 0, self.failed_reads.get(vkey, "")
        ropts = dataclasses.replace(self.opts.run, workdir=self.root, name=None, output=None, dry_run=False)
        while attempts <= self.opts.retries:
            attempts += 1
            try:
                got = run(plan, ropts, self.reporter)
            except CodaRestoreError as err:
                reason = str(err)
                self.say(Stage.END, vkey, f"attempt {attempts} failed: {err}", ok=False)
                continue
            result = VolumeResult(name, plan.host, plan.disk, Outcome.RESTORED, "", got.volume_name,
                                  got.restored_id, attempts)
            break
        else:
            result = VolumeResult(name, plan.host, plan.disk, Outcome.FAILED, reason, attempts=attempts)
        if result.outcome == Outcome.RESTORED:
            self.journal.volume_done(vkey, result)
        with self.lock:
            self.results[vkey] = result
        self.say(Stage.RESTORE, vkey, f"{result.outcome}: {result.restored_name or result.reason}; "
                 + self.progress_line(), finished=True, ok=result.outcome == Outcome.RESTORED)


def run_bulk(bulk: BulkPlan, opts: BulkOptions, reporter: Reporter | None = None) -> BulkResult:
    """Read BULK's tape schedule with its drives and restore every restorable
    volume; never raises for one volume's failure (it is in the result)."""
    b = _Bulk(bulk, opts, reporter or NullReporter())
    b.say(Stage.START, "bulk", f"bulk plan {bulk.plan_hash[:12]}: {len(b.plans)} volume(s) to restore, "
          f"{len(bulk.schedule.tapes)} tape(s) on {bulk.schedule.drives} drive(s); run {b.journal.runs}")
    lanes: dict[int, list[TapeMount]] = {}
    for t in sorted(bulk.schedule.tapes, key=lambda t: (t.drive, t.position)):
        lanes.setdefault(t.drive, []).append(t)
    for vkey in list(b.waiting):  # volumes with nothing on tape (holding disk only)
        if not b.waiting[vkey]:
            del b.waiting[vkey]
            b.futures.append(b.restores.submit(b.restore, vkey))
    drives = [threading.Thread(target=b.drive, args=(n, ts), name=f"drive{n}") for n, ts in lanes.items()]
    for t in drives:
        t.start()
    for t in drives:
        t.join()
    for vkey in list(b.waiting):  # a tape image never came: the runner reads what is missing itself
        del b.waiting[vkey]
        b.futures.append(b.restores.submit(b.restore, vkey))
    b.restores.shutdown(wait=True)
    for f in b.futures:
        f.result()  # a bug in a worker is not swallowed
    results = []
    for v in bulk.volumes:
        if v.verdict is Verdict.RESTORABLE:
            results.append(b.results[_vkey(v.plan)])
        else:
            results.append(VolumeResult(v.name, v.host, v.disk, Outcome.REFUSED, f"{v.verdict.value}: {v.reason}"))
    result = BulkResult(bulk.plan_hash, tuple(results), tuple(b.tapes_read), tuple(b.tapes_skipped),
                        tuple(b.fetches), b.bytes, time.monotonic() - b.started)
    b.say(Stage.END, "bulk", f"{result.outcome}: " + b.progress_line(), finished=True, ok=result.outcome == "all")
    return result
