"""The run itself: RunOptions in, the restored volume (or file) out.

Dry-run is an option of the same path, not a branch in the CLI: the
preflight and the command list are made the same way in both.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from coda_restore import proc
from coda_restore.amanda import config as amanda_config
from coda_restore.chain import ChainMode
from coda_restore.errors import PREFLIGHT_FAILED, CodaRestoreError, NotRestorable, UsageError
from coda_restore.executor.events import Event, NullReporter, Reporter, Step as Stage
from coda_restore.executor.fetch import Watchdog, as_amanda_user, fetch_argv, read_amanda_header, spool
from coda_restore.executor.journal import Journal, SpooledImage
from coda_restore.executor.sink import FileSink, VolutilSink
from coda_restore.plan import Plan, Step, read_order
from coda_restore.voldump import files
from coda_restore.voldump.merge import merge
from coda_restore.voldump.stream import Tee
from coda_restore.voldump.validate import validate
from coda_restore.volutil import Volutil

SPOOL_MARGIN = 1.05  # free space wanted in the workdir: spool size plus 5 %
MAX_VOLNAME = 31  # V_MAXVOLNAMELEN is 32 with the NUL


class VolumeExists(UsageError):
    """volume {} already exists on {}; choose another --name (nothing was restored)"""


class RunLocked(CodaRestoreError):
    """another coda-restore run holds {}"""


class NoSpace(CodaRestoreError):
    """{} has {} MiB free; the incrementals need {} MiB"""


class SpoolFailed(CodaRestoreError):
    """cannot write {}: {}"""


class PreflightFailed(CodaRestoreError):
    """preflight failed: {}"""

    exit_status = PREFLIGHT_FAILED


class HalfRestored(CodaRestoreError):
    """{}
volutil restore had started: volume {} may be half-created on {}.
Check with: {}
Remove it with: {}"""


@dataclass(frozen=True)
class RunOptions:
    server: str | None = None
    partition: str | None = None
    name: str | None = None
    output: str | None = None  # a file or "-" instead of volutil restore
    workdir: Path = Path("/var/tmp/coda-restore")
    dry_run: bool = False
    stall_timeout: float | None = 600.0
    volutil: str = "volutil"
    force: bool = False  # let --output replace an existing file


@dataclass(frozen=True)
class Check:
    """One preflight line: OK, WARN (ok, but worth a look) or FAIL (a run refuses)."""

    name: str
    ok: bool
    detail: str
    warn: bool = False

    @property
    def state(self) -> str:
        return "FAIL" if not self.ok else ("WARN" if self.warn else "OK")


@dataclass(frozen=True)
class Preflight:
    checks: tuple[Check, ...]
    commands: tuple[tuple[str, ...], ...]  # in the order a run executes them
    volume_name: str | None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


@dataclass(frozen=True)
class RunResult:
    preflight: Preflight
    restored_id: int | None = None
    volume_name: str | None = None
    bytes: int = 0
    fetched: tuple[str, ...] = ()  # "datestamp/level" fetched in this run
    resumed: tuple[str, ...] = ()  # taken from the journal
    notes: tuple[str, ...] = field(default=())


def key(step: Step) -> str:
    return f"{step.datestamp}/{step.level}"


def default_name(plan: Plan) -> str:
    """``<volume>.<YYYYMMDD>`` of the chosen dump: new, and says what it holds.
    A disk named like a path (``/coda/u.jan``) gives its last component."""
    day = (plan.chosen or plan.target.bound)[:8]
    stem = plan.disk.rstrip("/").rsplit("/", 1)[-1][: MAX_VOLNAME - len(day) - 1]
    return f"{stem}.{day}"


def workdir_for(root: Path, plan: Plan) -> Path:
    """One workdir per volume: its lock, journal and spool live together."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", f"{plan.host}_{plan.disk}")
    return root / safe


def fetch_order(plan: Plan) -> list[Step]:
    """The plan's read order (the one its tape list shows): incrementals
    first, holding copies before tapes, the level 0 last."""
    return read_order(plan.steps)


def _volutil(opts: RunOptions) -> Volutil:
    return Volutil(opts.volutil, opts.server)


def _spool_path(workdir: Path, step: Step) -> Path:
    return workdir / "spool" / f"{step.datestamp}.{step.level}.dump"


def _amanda_config(config: str) -> tuple[Check, str | None]:
    """One ``amgetconf CONF dumpuser``: the config answers, and the user to
    run Amanda's tools as (they refuse root) when we are root."""
    ok, detail, user = amanda_config.probe(config)
    return Check("Amanda config", ok, detail), (user if os.geteuid() == 0 and user and user != "root" else None)


def _commands(plan: Plan, opts: RunOptions, name: str | None, user: str | None) -> tuple[tuple[str, ...], ...]:
    cmds = [tuple(fetch_argv(plan.config, plan.host, plan.disk, s.datestamp, s.level, user))
            for s in fetch_order(plan)]
    if opts.output is None:
        cmds.append(tuple(_volutil(opts).restore_argv(opts.partition, name)))
    return tuple(cmds)


def _name_is_free(opts: RunOptions, name: str) -> Check:
    """``volutil info NAME``: 0 means it exists; a 'not found' failure means free."""
    done = proc.run(_volutil(opts).argv("info", name), check=False)
    if done.status == 0:
        return Check("target name", False, f"volume {name} already exists on {opts.server}")
    # a real server: 22 for a name its VLDB lacks, 603 for no such volume (ref §23 rows 8, 9)
    if re.search(r"not found|does not exist|VNOVOL|no such|return code (?:22|603)\b", done.stderr, re.I):
        return Check("target name", True, f"{name} is free on {opts.server}")
    return Check("target name", False, f"cannot tell whether {name} exists: volutil info exited "
                 f"{done.status}: {done.stderr.strip()[-300:]}")


def _changer_labels(config: str, user: str | None) -> set[str] | None:
    """Labels the changer holds now (``amtape CONF inventory``), or None."""
    done = proc.run(as_amanda_user(["amtape", config, "inventory"], user), check=False, timeout=120)
    if done.status != 0:
        return None
    return set(re.findall(r"label (\S+)", done.stdout + done.stderr))


def _plain_checks(config: str, opts: RunOptions) -> tuple[list[Check], str | None]:
    """The checks that need no plan: the tools and the Amanda config (and
    the user to run Amanda's tools as)."""
    checks: list[Check] = []
    tools = ["amfetchdump"] + ([] if opts.output is not None else [opts.volutil])
    for tool in tools:
        found = shutil.which(tool)
        checks.append(Check(f"tool {tool}", bool(found), found or "not found on PATH"))
    config_check, user = _amanda_config(config)
    checks.append(config_check)
    return checks, user


def unplanned_preflight(config: str, opts: RunOptions, why: str) -> Preflight:
    """A dry-run whose records could not be read still shows what it can."""
    checks, _ = _plain_checks(config, opts)
    return Preflight((*checks, Check("plan", False, why)), (), None)


def preflight(plan: Plan, opts: RunOptions, workdir: Path) -> Preflight:
    checks, user = _plain_checks(plan.config, opts)
    name = None if opts.output is not None else (opts.name or default_name(plan))
    needed = sorted({t.label for t in plan.tapes})
    if needed:
        # a tape not in the changer can be loaded on demand: a WARN, not a FAIL
        held = _changer_labels(plan.config, user) if checks[-1].ok else None
        if held is None:
            checks.append(Check("tapes", True, f"needs {', '.join(needed)}; the changer's inventory is unknown",
                                warn=True))
        else:
            missing = [label for label in needed if label not in held]
            checks.append(Check("tapes", True, f"needs {', '.join(needed)}"
                                + (f"; not in the changer: {', '.join(missing)}" if missing else "; all in the changer"),
                                warn=bool(missing)))
    spool_kb = sum(s.kb or 0 for s in plan.steps if s.level != 0)
    existing = workdir if workdir.exists() else next(p for p in workdir.parents if p.exists())
    free_kb = shutil.disk_usage(existing).free // 1024
    checks.append(Check("workdir space", free_kb >= spool_kb * SPOOL_MARGIN,
                        f"{workdir}: {free_kb // 1024} MiB free, spool needs {spool_kb // 1024 + 1} MiB"))
    if name is not None:
        checks.append(_name_is_free(opts, name) if shutil.which(opts.volutil)
                      else Check("target name", False, "cannot ask: volutil not found"))
    return Preflight(tuple(checks), _commands(plan, opts, name, user), name)


def check_options(opts: RunOptions) -> None:
    """What the options alone can tell; the CLI calls it before any log is read."""
    if opts.output is None and not (opts.server and opts.partition):
        raise UsageError("give --server and --partition (to restore), or --output FILE|- (to write the merged dump)")
    if opts.output is not None and (opts.server or opts.name):
        raise UsageError("--output writes the merged dump instead of restoring; it takes no --server or --name")
    if opts.name is not None and not (0 < len(opts.name) <= MAX_VOLNAME):
        raise UsageError(f"--name must have 1 to {MAX_VOLNAME} characters")


def validate_options(plan: Plan, opts: RunOptions) -> None:
    check_options(opts)
    if not plan.config:
        raise UsageError("run needs --config NAME: amfetchdump reads the tapes through Amanda's config")
    if not plan.restorable:
        raise NotRestorable(f"{plan.host} {plan.disk} is not restorable at {plan.target.instant}: {plan.reason}")


@contextlib.contextmanager
def _locked(workdir: Path):
    workdir.mkdir(parents=True, exist_ok=True)
    lock_path = workdir / "lock"
    with open(lock_path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(lock_path) from None
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield


def run(plan: Plan, opts: RunOptions, reporter: Reporter | None = None) -> RunResult:
    """Restore ``plan``; raise a CodaRestoreError subclass on any failure."""
    reporter = reporter or NullReporter()
    validate_options(plan, opts)
    workdir = workdir_for(opts.workdir, plan)
    pre = preflight(plan, opts, workdir)
    volume = f"{plan.host}:{plan.disk}"
    for c in pre.checks:
        reporter.event(Event(Stage.PREFLIGHT, volume, message=f"{c.name}: {c.state}: {c.detail}", ok=c.ok))
    if opts.dry_run:
        return RunResult(pre, volume_name=pre.volume_name)
    failed = [c for c in pre.checks if not c.ok]
    if failed:
        if any(c.name == "target name" and "already exists" in c.detail for c in failed):
            raise VolumeExists(pre.volume_name, opts.server)
        raise PreflightFailed("; ".join(f"{c.name}: {c.detail}" for c in failed))
    if opts.output not in (None, "-") and Path(opts.output).is_file() and not opts.force:
        raise files.OutputExists(opts.output)
    try:
        try:
            with _locked(workdir):
                return _execute(plan, opts, pre, workdir, volume, reporter)
        except OSError as err:  # a full or read-only workdir, mostly
            raise SpoolFailed(err.filename or workdir, err.strerror or err) from None
    except CodaRestoreError as err:
        # the event log of an unattended run ends with why it stopped
        reporter.event(Event(Stage.END, volume, finished=True, ok=False, message=str(err)))
        raise


def _execute(plan: Plan, opts: RunOptions, pre: Preflight, workdir: Path, volume: str,
             reporter: Reporter) -> RunResult:
    reporter.event(Event(Stage.START, volume, message=f"plan {plan.plan_hash[:12]}: {len(plan.steps)} dump(s)"))
    journal = Journal(workdir, plan.plan_hash)
    (workdir / "spool").mkdir(exist_ok=True)
    watchdog = Watchdog(opts.stall_timeout)
    order = fetch_order(plan)
    commands = dict(zip((key(s) for s in order), pre.commands))
    fetched, resumed = [], []
    try:
        spooled: dict[str, Path] = {}
        for step in order[:-1]:
            k = key(step)
            image = journal.verified(k)
            if image is not None:
                reporter.event(Event(Stage.FETCH, volume, k, image.bytes, True, sha256=image.sha256,
                                     resumed=True, message="verified spool file from an earlier run"))
                resumed.append(k)
            else:
                image = _fetch_incremental(plan, step, commands[k], workdir, watchdog, volume, reporter)
                journal.record_spooled(image)  # before the event: a kill after it loses nothing
                reporter.event(Event(Stage.FETCH, volume, k, image.bytes, True, sha256=image.sha256))
                fetched.append(k)
            spooled[k] = Path(image.path)
        full = order[-1]
        restored_id, name, nbytes, notes = _stream_full(plan, opts, pre, full, commands[key(full)],
                                                        [(k, spooled[k]) for k in (key(s) for s in plan.steps[1:])],
                                                        workdir, watchdog, journal, volume, reporter)
        fetched.append(key(full))
    finally:
        watchdog.close()
    journal.finish()  # done: the spool and the journal have served
    reporter.event(Event(Stage.END, volume, bytes=nbytes, finished=True,
                         message=f"restored {name} ({restored_id:08x})" if restored_id is not None
                         else f"merged dump written to {opts.output}"))
    return RunResult(pre, restored_id, name, nbytes, tuple(fetched), tuple(resumed), notes)


def _fetch_incremental(plan: Plan, step: Step, argv, workdir: Path, watchdog: Watchdog, volume: str,
                       reporter: Reporter) -> SpooledImage:
    k = key(step)
    total = (step.kb or 0) * 1024 or None
    reporter.event(Event(Stage.FETCH, volume, k, message=proc.display(argv)))
    dest = _spool_path(workdir, step)
    got = spool(list(argv), dest,
                lambda stream: read_amanda_header(stream, plan.host, plan.disk, step.datestamp, step.level),
                watchdog, lambda n: reporter.progress(Stage.FETCH, k, n, total))
    with open(dest, "rb") as f:
        checked = validate(f, k)
    if not checked.valid:
        raise checked.error
    reporter.event(Event(Stage.VERIFY, volume, k, got.bytes, True, sha256=got.sha256,
                         message=f"Coda level {checked.header.level}, oldest {checked.header.oldest} "
                                 f"latest {checked.header.latest}"))
    return SpooledImage(k, str(dest), got.bytes, got.sha256)


class _CountingReader:
    """The full dump's pipe as the merge reads it: counted and watched."""

    def __init__(self, raw, on_bytes):
        self.raw, self.on_bytes, self.bytes = raw, on_bytes, 0

    def readinto(self, view) -> int:
        n = self.raw.readinto(view) or 0
        self.bytes += n
        self.on_bytes(self.bytes)
        return n

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.bytes += len(data)
        self.on_bytes(self.bytes)
        return data


def _stream_full(plan, opts, pre, full: Step, argv, incrementals, workdir, watchdog, journal, volume, reporter):
    k = key(full)
    total = (full.kb or 0) * 1024 or None
    reporter.event(Event(Stage.FETCH, volume, k, message=proc.display(argv)))
    child = proc.Child(list(argv), stdout=subprocess.PIPE)
    watchdog.watch("amfetchdump", child)

    def fetched(n: int) -> None:
        watchdog.tick()
        reporter.progress(Stage.FETCH, k, n, total)

    def restored(n: int) -> None:
        watchdog.tick()
        reporter.progress(Stage.RESTORE, None, n, total)

    def before_first_byte() -> None:
        # every Amanda and Coda header of the chain is checked by now
        reporter.event(Event(Stage.VERIFY, volume, k, message="every link of the chain checked"))
        reporter.event(Event(Stage.RESTORE, volume, message=proc.display(pre.commands[-1])))
        journal.record_restore_started(pre.volume_name)

    source = _CountingReader(child.stdout, fetched)
    inputs = [(f"{k} (full, from amfetchdump)", source)]
    opened = [open(path, "rb") for _, path in incrementals]
    inputs += [(f"{ik} ({path.name})", f) for (ik, path), f in zip(incrementals, opened)]
    sink = None
    notes: tuple[str, ...] = ()
    try:
        with contextlib.ExitStack() as stack:
            for f in opened:
                stack.enter_context(f)
            if opts.output is None:
                sink = VolutilSink(list(pre.commands[-1]), before_first_byte, restored)
                watchdog.watch("volutil restore", sink)  # the sink kills volutil once started
            else:
                out = stack.enter_context(files.output(opts.output, force=opts.force))
                sink = FileSink(out, restored)
            read_amanda_header(child.stdout, plan.host, plan.disk, full.datestamp, full.level)
            mode = ChainMode(plan.chain)
            if len(inputs) == 1:
                _copy_validated(source, sink, k)
            else:
                result = merge(sink, inputs, mode, spill_dir=str(workdir))
                notes = result.discrepancies
            reporter.event(Event(Stage.MERGE, volume, k, sink.bytes, True, message="; ".join(notes)))
            watchdog.check()
            child.wait()
            restored_id = sink.finish() if isinstance(sink, VolutilSink) else None
    except BaseException as err:
        child.kill()
        if sink is not None and isinstance(sink, VolutilSink):
            sink.kill()
        watchdog.check()  # a stall explains the rest
        if isinstance(sink, VolutilSink) and sink.started and isinstance(err, CodaRestoreError):
            vu = _volutil(opts)
            half = HalfRestored(str(err), pre.volume_name, opts.server,
                                proc.display(vu.argv("info", pre.volume_name)),
                                proc.display(vu.argv("purge", "VOLID", pre.volume_name)))
            half.exit_status = err.exit_status  # a bad image stays 4, a signal 5
            raise half from err
        raise
    reporter.event(Event(Stage.FETCH, volume, k, source.bytes, True))
    return restored_id, pre.volume_name, sink.bytes, notes


def _copy_validated(source, sink, name: str) -> None:
    """A chain of one full dump: pass it through while validating it."""
    checked = validate(Tee(source, sink.write), name)
    if not checked.valid:
        raise checked.error
