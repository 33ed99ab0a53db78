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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coda_restore import proc
from coda_restore.amanda.config import AmandaConfig, amanda_user
from coda_restore.chain import ChainMode
from coda_restore.errors import (CodaRestoreError, HalfCreated, NotRestorable, OutputExists, PreflightFailed, RestoreFailed,
                                 RunLocked, SpoolFailed, Stalled, UsageError, VolumeExists)
from coda_restore.executor.amrestore import PartsChild, Via, amrestore_argvs, device_and_label, wait_for_tape
from coda_restore.executor.events import Event, NullReporter, Reporter, Stage
from coda_restore.executor.fetch import Watchdog, raise_own_failure, read_amanda_header, spool
from coda_restore.executor.journal import JOURNAL_NAME, Journal, SpooledImage, restore_started
from coda_restore.executor.restore import (NameState, Transport, acl_users_check, name_free,
                                           purge_command, restore_staged, verify)
from coda_restore.executor.sink import FileSink
from coda_restore.planning.plan import Plan, Step, read_order
from coda_restore.voldump import files
from coda_restore.voldump.contents import contents
from coda_restore.voldump.merge import merge
from coda_restore.voldump.stream import Tee
from coda_restore.voldump.validate import copy_validated, validate
from coda_restore.volutil import Volutil

SPOOL_MARGIN = 1.05  # free space wanted in the workdir: spool size plus 5 %
MAX_VOLNAME = 31  # V_MAXVOLNAMELEN is 32 with the NUL


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
    staging: Path | None = None  # where the merged image is staged (default: the volume's workdir)
    keep: bool = False  # keep the staged image after a successful restore
    transport: Transport = Transport.FILE
    verify: bool = True  # dump the new volume back and compare (--no-verify: explicitly not)
    pdbtool: str = "pdbtool"
    via: Via = Via.AMFETCHDUMP
    devices: tuple[tuple[str, str], ...] = ()  # via amrestore: (label, device) as the scan saw them
    tape_wait: float = 0.0  # via amrestore: wait this long for each tape to be loaded (0: all must be in place)


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
    staged: Path | None = None  # the regular file volutil restores from
    verify_command: tuple[str, ...] | None = None  # run with the id the restore prints
    restore_shown: str | None = None  # the restore as a person would type it (stdin redirection shown)
    fetches: tuple[tuple[tuple[str, ...], ...], ...] = ()  # per image in read order: its commands (amrestore: one a part)
    name_taken: bool = False  # a volume on the server has the target name (or id)

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
    verified: str | None = None  # how the restore was verified, or why it was not


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


def _volutil(opts: RunOptions) -> Volutil:
    return Volutil(opts.volutil, opts.server)


def _spool_path(workdir: Path, step: Step) -> Path:
    return workdir / "spool" / f"{step.datestamp}.{step.level}.dump"


def amanda_config_check(config: str) -> tuple[Check, str | None]:
    """The config's dumpuser (from the one ``amadmin CONF config``): the config answers, and the user to
    run Amanda's tools as (they refuse root) when we are root."""
    ok, detail, user = AmandaConfig(config).probe()
    return Check("Amanda config", ok, detail), (user if os.geteuid() == 0 and user and user != "root" else None)


VOLID = "NEWID"  # stands for the id volutil restore prints, in dry-run output


def staging_for(opts: RunOptions, workdir: Path) -> Path:
    return opts.staging.absolute() if opts.staging is not None else workdir.absolute() / "staging"


def _staged_path(opts: RunOptions, workdir: Path, name: str) -> Path:
    return staging_for(opts, workdir) / f"{name}.dump"


def _fetches(plan: Plan, opts: RunOptions, user: str | None) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """Per image, in the plan's read order, the commands that read it."""
    if opts.via is Via.AMRESTORE:
        devices = dict(opts.devices)
        return tuple(tuple(tuple(a) for a in amrestore_argvs(s, plan.host, plan.disk, devices, user))
                     for s in read_order(plan.steps))
    return tuple((tuple(step_fetch_argv(plan, s, user)),) for s in read_order(plan.steps))


def step_fetch_argv(plan: Plan, step: Step, user: str | None) -> list[str]:
    """The amfetchdump of one step, through the config whose records hold
    its copy (amfetchdump CONF finds only its own config's copies): run's,
    the bulk run's and verify's fetches alike."""
    return AmandaConfig(plan.config_of(step) or "").fetch_argv(plan.host, plan.disk, step.datestamp, step.level,
                                                               user)


def configs_read(plan: Plan) -> tuple[str, ...]:
    """The configs a run reads through, the plan's own first."""
    return tuple(dict.fromkeys(c for c in (plan.config, *(plan.config_of(s) for s in plan.steps)) if c))


def _commands(opts: RunOptions, fetches, name: str | None, staged: Path | None) -> tuple[tuple[str, ...], ...]:
    """Every command a run executes, in order: the fetches, then volutil restore."""
    cmds = [argv for argvs in fetches for argv in argvs]
    if opts.output is None:
        file = str(staged) if opts.transport is Transport.FILE else None
        cmds.append(tuple(_volutil(opts).restore_argv(opts.partition, name, file=file)))
    return tuple(cmds)


def _name_check(opts: RunOptions, name: str, workdir: Path, plan: Plan) -> tuple[Check, bool]:
    """The target-name line, and whether a volume on the server has that name."""
    if not shutil.which(opts.volutil):
        return Check("target name", False, "cannot ask: volutil not found"), False
    got = name_free(_volutil(opts), name)
    taken, detail = got.state is NameState.TAKEN, got.detail
    if taken and restore_started(workdir, plan.plan_hash) == name:
        detail += (": may be half-created by an earlier run of this plan that stopped after volutil restore "
                   "started; remove it, then run again")
    return Check("target name", got.free, detail), taken


def _plain_checks(config: str, opts: RunOptions, others: tuple[str, ...] = ()) -> tuple[list[Check], str | None]:
    """The checks that need no plan: the tools and the Amanda config, and
    each other config the plan reads through (and the user to run Amanda's
    tools as: the first config's)."""
    checks: list[Check] = []
    tools = [opts.via.value] + ([] if opts.output is not None else [opts.volutil])
    for tool in tools:
        found = shutil.which(tool)
        checks.append(Check(f"tool {tool}", bool(found), found or "not found on PATH"))
    if opts.via is Via.AMRESTORE:
        ok, detail, user = amanda_user()
        checks.append(Check("Amanda user", ok, detail))
        return checks, (user if os.geteuid() == 0 and user and user != "root" else None)
    config_check, user = amanda_config_check(config)
    checks.append(config_check)
    checks += [amanda_config_check(other)[0] for other in others if other != config]
    return checks, user


def unplanned_preflight(config: str, opts: RunOptions, why: str) -> Preflight:
    """A dry-run whose records could not be read still shows what it can."""
    checks, _ = _plain_checks(config, opts)
    return Preflight((*checks, Check("plan", False, why)), (), None)


def preflight(plan: Plan, opts: RunOptions, workdir: Path) -> Preflight:
    """Every check a run makes before it starts, and the exact commands it runs."""
    checks, user = _plain_checks(plan.config, opts, configs_read(plan))
    name = None if opts.output is not None else (opts.name or default_name(plan))
    needed = _tapes_still_needed(plan, workdir)
    if needed:
        config_ok = all(c.ok for c in checks if c.name == "Amanda config")
        checks.append(_tapes_check(plan, opts, needed, user, config_ok))
    spool_kb = sum(s.kb or 0 for s in plan.steps if s.level != 0)
    existing = _existing(workdir)
    free_kb = shutil.disk_usage(existing).free // 1024
    checks.append(Check("workdir space", free_kb >= spool_kb * SPOOL_MARGIN,
                        f"{workdir}: {free_kb // 1024} MiB free, spool needs {spool_kb // 1024 + 1} MiB"))
    staged, taken = None, False
    if name is not None:
        staged = _staged_path(opts, workdir, name)
        checks.append(_staging_space(plan, staged.parent, existing, spool_kb))
        name_check, taken = _name_check(opts, name, workdir, plan)
        checks.append(name_check)
    verify_command = (tuple(_volutil(opts).argv("dump", VOLID)) if name is not None and opts.verify else None)
    fetches = _fetches(plan, opts, user)
    commands = _commands(opts, fetches, name, staged)
    shown = None
    if staged is not None:
        shown = proc.display(commands[-1])
        if opts.transport is Transport.STDIN:
            shown += f" < {proc.display([str(staged)])}"
    return Preflight(tuple(checks), commands, name, staged, verify_command, shown, fetches, taken)


def _tapes_still_needed(plan: Plan, workdir: Path) -> list[str]:
    """The plan's tapes, less those whose images are all journalled and
    intact already (a resumed run; a bulk run's drives read them first)."""
    try:
        journal = Journal(workdir, plan.plan_hash) if (workdir / JOURNAL_NAME).exists() else None
    except CodaRestoreError:
        journal = None  # the run itself says what is wrong with it
    labels = set()
    for step in plan.steps:
        if step.copy.kind == "tape" and (journal is None or journal.verified(key(step)) is None):
            labels.update(part.label for part in step.copy.parts)
    return sorted(labels)


def _tapes_check(plan: Plan, opts: RunOptions, needed: list[str], user: str | None, config_ok: bool) -> Check:
    """Are the plan's tapes where they can be read?  Via amrestore: on the
    scan's devices.  Via amfetchdump: a tape not in the changer can be
    loaded on demand, a WARN, not a FAIL; a dry run, which finds no tape,
    does not ask the changer (its inventory can be slow)."""
    if opts.via is Via.AMRESTORE:
        return _tapes_on_devices(needed, dict(opts.devices), opts.tape_wait)
    if config_ok and opts.dry_run:  # amtape inventory only when a tape is about to be found
        return Check("tapes", True, f"needs {', '.join(needed)}; a dry run does not ask the changer "
                     "(a run does: amtape CONF inventory)")
    held = _held(plan, user) if config_ok else None
    if held is None:
        return Check("tapes", True, f"needs {', '.join(needed)}; the changer's inventory is unknown", warn=True)
    missing = [label for label in needed if label not in held]
    return Check("tapes", True, f"needs {', '.join(needed)}"
                 + (f"; not in the changer: {', '.join(missing)}" if missing else "; all in the changer"),
                 warn=bool(missing))


def _held(plan: Plan, user: str | None) -> set[str] | None:
    """The labels the changers of the plan's configs hold (None when one
    cannot tell)."""
    held: set[str] = set()
    for config in configs_read(plan):
        labels = AmandaConfig(config).changer_labels(user)
        if labels is None:
            return None
        held |= labels
    return held


def _tapes_on_devices(needed: list[str], devices: dict[str, str], wait: float) -> Check:
    """Without a config nothing loads tapes: each label must be where the
    scan saw it (amrestore -l refuses another); else, which one to load
    where: a FAIL, or with --tape-wait a WARN (the run asks for each in turn)."""
    from coda_restore.scan import label_at  # the scan reads volume labels; only this path needs it

    wrong = []
    for label in needed:
        device = devices.get(label)
        held = label_at(device) if device else None
        if held != label:
            wrong.append(f"load {label} into {device or 'a device the scan reads'}"
                         + (f" (it holds {held})" if held else ""))
    if wrong and wait:
        return Check("tapes", True, f"needs {', '.join(needed)}; not in place now: " + "; ".join(wrong)
                     + f"; the run asks for each in turn and waits up to {wait:g} s", warn=True)
    if wrong:
        return Check("tapes", False, f"needs {', '.join(needed)}; " + "; ".join(wrong) + ", then run again")
    return Check("tapes", True, f"needs {', '.join(needed)}; each is where the scan saw it")


def _existing(path: Path) -> Path:
    return path if path.exists() else next(p for p in path.parents if p.exists())


def _staging_space(plan: Plan, staging: Path, workdir_fs: Path, spool_kb: int) -> Check:
    """The merged image is at most the sum of the chain's images; on the
    workdir's filesystem it comes on top of the spooled incrementals."""
    need_kb = sum(s.kb or 0 for s in plan.steps)
    where = _existing(staging)
    if where.stat().st_dev == workdir_fs.stat().st_dev:
        need_kb += spool_kb
    free_kb = shutil.disk_usage(where).free // 1024
    return Check("staging space", free_kb >= need_kb * SPOOL_MARGIN,
                 f"{staging}: {free_kb // 1024} MiB free, the merged image needs up to {need_kb // 1024 + 1} MiB")


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
    if not plan.config and opts.via is Via.AMFETCHDUMP:
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
    _refuse_unless_ready(plan, opts, pre, workdir)
    try:
        try:
            with _locked(workdir):
                return _execute(plan, opts, pre, workdir, reporter)
        except OSError as err:  # a full or read-only workdir, mostly
            raise SpoolFailed(err.filename or workdir, err.strerror or err) from None
    except CodaRestoreError as err:
        # the event log of an unattended run ends with why it stopped
        reporter.event(Event(Stage.END, volume, finished=True, ok=False, message=str(err)))
        raise


def _refuse_unless_ready(plan: Plan, opts: RunOptions, pre: Preflight, workdir: Path) -> None:
    """A failed preflight, or an --output in the way, stops a run before
    anything is locked or written."""
    failed = [c for c in pre.checks if not c.ok]
    if failed and pre.name_taken:
        if restore_started(workdir, plan.plan_hash) == pre.volume_name:
            # an earlier run of this plan stopped (a failure, a signal, kill -9) once volutil
            # restore had started: the volume is that run's, not the operator's
            vu = _volutil(opts)
            raise HalfCreated(workdir / JOURNAL_NAME, pre.volume_name, opts.server or "the local server",
                              f"{proc.display(vu.argv('getvolumelist'))} (a line B{pre.volume_name} I<VOLID> ...)",
                              purge_command(vu, "VOLID", pre.volume_name))
        raise VolumeExists(pre.volume_name, opts.server)
    if failed:
        raise PreflightFailed("; ".join(f"{c.name}: {c.detail}" for c in failed))
    if opts.output not in (None, "-") and Path(opts.output).is_file() and not opts.force:
        raise OutputExists(opts.output)


@dataclass(frozen=True)
class _Run:
    """What every stage of one run shares, made once by ``_execute``."""

    plan: Plan
    opts: RunOptions
    pre: Preflight
    workdir: Path
    reporter: Reporter
    journal: Journal
    watchdog: Watchdog
    volutil: Volutil
    fetches: dict[str, tuple[tuple[str, ...], ...]]  # per "datestamp/level": the commands that read it

    @property
    def volume(self) -> str:
        return f"{self.plan.host}:{self.plan.disk}"

    def event(self, stage: Stage, dump: str | None = None, **fields) -> None:
        self.reporter.event(Event(stage, self.volume, dump, **fields))

    def progress(self, stage: Stage, dump: str | None, total: int | None) -> Callable[[int], None]:
        """A byte counter's callback: the watchdog sees the bytes move, the reporter how many."""
        def on_bytes(n: int) -> None:
            self.watchdog.tick()
            self.reporter.progress(stage, dump, n, total)
        return on_bytes


def _execute(plan: Plan, opts: RunOptions, pre: Preflight, workdir: Path, reporter: Reporter) -> RunResult:
    """The stages in the plan's read order (``plan.read_order``): the
    incrementals spooled, the level 0 streamed through the merge, then the
    restore and its proof."""
    reporter.event(Event(Stage.START, f"{plan.host}:{plan.disk}",
                         message=f"plan {plan.plan_hash[:12]}: {len(plan.steps)} dump(s)"))
    journal = Journal(workdir, plan.plan_hash)
    (workdir / "spool").mkdir(exist_ok=True)
    order = read_order(plan.steps)
    run = _Run(plan, opts, pre, workdir, reporter, journal, Watchdog(opts.stall_timeout), _volutil(opts),
               dict(zip((key(s) for s in order), pre.fetches)))
    full = order[-1]
    try:
        spooled, fetched, resumed = _spool_incrementals(run, order[:-1])
        nbytes, notes = _stream_full(run, full, [(k, spooled[k]) for k in (key(s) for s in plan.steps[1:])])
        fetched.append(key(full))
        restored_id, how = None, None
        if opts.output is None:
            run.event(Stage.VERIFY, key(full), message="every link of the chain checked")
            restored_id, how = _restore_and_verify(run)
    finally:
        run.watchdog.close()
    journal.finish()  # done: the spool and the journal have served
    if restored_id is not None and not opts.keep:
        pre.staged.unlink(missing_ok=True)
    name = pre.volume_name
    run.event(Stage.END, bytes=nbytes, finished=True,
              message=f"restored {name} ({restored_id:08x}); {how}" if restored_id is not None
              else f"merged dump written to {opts.output}")
    return RunResult(pre, restored_id, name, nbytes, tuple(fetched), tuple(resumed), notes, how)


def _spool_incrementals(run: _Run, steps: list[Step]) -> tuple[dict[str, Path], list[str], list[str]]:
    """Each incremental, in read order, from the journal (its spool file
    intact) or fetched; (spool file per key, keys fetched, keys resumed)."""
    spooled: dict[str, Path] = {}
    fetched, resumed = [], []
    for step in steps:
        k = key(step)
        image = run.journal.verified(k)
        if image is not None:
            run.event(Stage.FETCH, k, bytes=image.bytes, finished=True, sha256=image.sha256,
                      resumed=True, message="verified spool file from an earlier run")
            resumed.append(k)
        else:
            image = _fetch_incremental(run, step)
            run.journal.record_spooled(image)  # before the event: a kill after it loses nothing
            run.event(Stage.FETCH, k, bytes=image.bytes, finished=True, sha256=image.sha256)
            fetched.append(k)
        spooled[k] = Path(image.path)
    return spooled, fetched, resumed


def _fetch_incremental(run: _Run, step: Step) -> SpooledImage:
    k, argv, plan = key(step), run.fetches[key(step)], run.plan
    run.event(Stage.FETCH, k, message="; ".join(proc.display(a) for a in argv))
    dest = _spool_path(run.workdir, step)
    got = spool(list(argv[0]), dest,
                lambda stream: read_amanda_header(stream, plan.host, plan.disk, step.datestamp, step.level),
                run.watchdog, run.progress(Stage.FETCH, k, (step.kb or 0) * 1024 or None),
                start=lambda: _start(run, step), what=run.opts.via.value)
    with open(dest, "rb") as f:
        checked = validate(f, k)
    if not checked.valid:
        raise checked.error
    run.event(Stage.VERIFY, k, bytes=got.bytes, finished=True, sha256=got.sha256,
              message=f"Coda level {checked.header.level}, oldest {checked.header.oldest} "
                      f"latest {checked.header.latest}")
    return SpooledImage(k, str(dest), got.bytes, got.sha256)


def _merged_output(run: _Run, stack: contextlib.ExitStack):
    """Where the merged dump goes: --output, or the staged file volutil restores from."""
    if run.opts.output is not None:
        return stack.enter_context(files.output(run.opts.output, force=run.opts.force))
    run.pre.staged.parent.mkdir(parents=True, exist_ok=True)
    # a staged image left by a failed run is ours to replace
    return stack.enter_context(files.output(run.pre.staged, force=True))


def _stream_full(run: _Run, full: Step, incrementals: list[tuple[str, Path]]) -> tuple[int, tuple[str, ...]]:
    """amfetchdump the level 0 into a pipe and merge it with the spooled
    incrementals into --output, or into the staged file volutil restores
    from; (bytes written, the merge's discrepancies)."""
    k, argv, plan = key(full), run.fetches[key(full)], run.plan
    total = (full.kb or 0) * 1024 or None
    spooled = run.journal.verified(k)
    if spooled is not None:  # a bulk run's drive read the level 0 ahead of this merge
        run.event(Stage.FETCH, k, bytes=spooled.bytes, finished=True, sha256=spooled.sha256,
                  resumed=True, message="verified spool file from an earlier read")
        return _merge_spooled_full(run, k, Path(spooled.path), incrementals, total)
    run.event(Stage.FETCH, k, message="; ".join(proc.display(a) for a in argv))
    child = _start(run, full)
    run.watchdog.watch(run.opts.via.value, child)
    source = Tee(child.stdout, on_bytes=run.progress(Stage.FETCH, k, total))
    notes: tuple[str, ...] = ()
    try:
        with contextlib.ExitStack() as stack:
            inputs = [(f"{k} (full, from {run.opts.via.value})", source)]
            inputs += [(f"{ik} ({path.name})", stack.enter_context(open(path, "rb"))) for ik, path in incrementals]
            sink = FileSink(_merged_output(run, stack), run.progress(Stage.MERGE, None, total))
            read_amanda_header(child.stdout, plan.host, plan.disk, full.datestamp, full.level)
            if len(inputs) == 1:
                copy_validated(source, sink.write, k)
            else:
                notes = merge(sink, inputs, ChainMode(plan.chain), spill_dir=str(run.workdir)).discrepancies
            run.event(Stage.MERGE, k, bytes=sink.bytes, finished=True, message="; ".join(notes))
            run.watchdog.check()
            child.wait()
    except BaseException as err:
        try:
            run.watchdog.check()  # a stall explains the rest
            raise_own_failure(child, err)  # then amfetchdump's own failure, before what its stream looks like
        finally:
            child.kill()
        raise
    finally:
        run.watchdog.forget(child)
    run.event(Stage.FETCH, k, bytes=source.size, finished=True)
    return sink.bytes, notes


def _merge_spooled_full(run: _Run, k: str, path: Path, incrementals: list[tuple[str, Path]],
                        total: int | None) -> tuple[int, tuple[str, ...]]:
    """The level 0 from its spool file (its Amanda header was checked when it was spooled)."""
    notes: tuple[str, ...] = ()
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(open(path, "rb"))
        inputs = [(f"{k} (full, {path.name})", source)]
        inputs += [(f"{ik} ({p.name})", stack.enter_context(open(p, "rb"))) for ik, p in incrementals]
        sink = FileSink(_merged_output(run, stack), run.progress(Stage.MERGE, None, total))
        if len(inputs) == 1:
            copy_validated(source, sink.write, k)
        else:
            notes = merge(sink, inputs, ChainMode(run.plan.chain), spill_dir=str(run.workdir)).discrepancies
        run.event(Stage.MERGE, k, bytes=sink.bytes, finished=True, message="; ".join(notes))
    return sink.bytes, notes


def _start(run: _Run, step: Step):
    """The child whose stdout is the image: amfetchdump, or one amrestore a
    part (each part's tape asked for, and waited for, first)."""
    argvs = run.fetches[key(step)]
    if run.opts.via is Via.AMRESTORE:
        from coda_restore.scan import label_at  # reads volume labels: only this path needs it

        def loaded(argv: list[str]) -> None:
            where = device_and_label(argv)
            if where is not None:
                # waiting for an operator is no stall: each look at the device is a tick
                wait_for_tape(*where, run.opts.tape_wait, lambda dev: (run.watchdog.tick(), label_at(dev))[1],
                              lambda m: run.event(Stage.FETCH, key(step), message=m))

        return PartsChild([list(a) for a in argvs], run.plan.host, run.plan.disk, step.datestamp, step.level, loaded)
    return proc.Child(list(argvs[0]), stdout=proc.PIPE)


def _tick_while_reading(child: proc.Child, watchdog: Watchdog) -> None:
    """volutil restore -f reads a file and prints nothing until it is done:
    its progress is what it has read (``rchar`` of /proc/PID/io)."""
    last = None
    while child.popen.poll() is None:
        try:
            rchar = next(line for line in Path(f"/proc/{child.popen.pid}/io").read_text().splitlines()
                         if line.startswith("rchar"))
        except (OSError, StopIteration):
            return
        if rchar != last:
            watchdog.tick()
            last = rchar
        time.sleep(0.2)


def _restore_and_verify(run: _Run) -> tuple[int, str]:
    """volutil restore from the staged file, then the dump back; (id, how it was verified)."""
    staged = run.pre.staged
    with open(staged, "rb") as f:  # what is compared, and the ACL names to look up
        sent = contents(f, str(staged))
    known, detail = acl_users_check(run.opts.pdbtool, sent.acl_names())
    # a warning, not a failure: the restore goes on and the dump back tells
    run.event(Stage.PREFLIGHT, message=f"ACL users: {'ok' if known else 'WARN'}: {detail}")
    restored_id = _restore(run)
    if not run.opts.verify:
        how = "NOT verified (--no-verify): the volume was not dumped back and compared"
        run.event(Stage.VERIFY, finished=True, message=how)
        return restored_id, how
    argv = run.volutil.dump_back_argv(restored_id)
    run.event(Stage.VERIFY, message=proc.display(argv))
    # a stalled dump back is killed, and the volume named as not verified
    verify(run.volutil, restored_id, run.pre.volume_name, run.opts.server, sent, staged,
           run.progress(Stage.VERIFY, None, staged.stat().st_size),
           lambda child: run.watchdog.watch("volutil dump", child))
    how = (f"verified: dumped back and compared, {sent.count(True)} directories and "
           f"{sent.count(False)} files and symlinks (names, bytes by sha256, ACLs as sets) as sent")
    run.event(Stage.VERIFY, finished=True, message=how)
    return restored_id, how


def _restore(run: _Run) -> int:
    """volutil restore, journalled first (a stop after it leaves a volume
    that may be half-created); the id of the volume it made."""
    name, staged, watchdog = run.pre.volume_name, run.pre.staged, run.watchdog
    run.event(Stage.RESTORE, message=run.pre.restore_shown)
    run.journal.record_restore_started(name)
    watched: list[proc.Child] = []

    def watch(child: proc.Child) -> None:
        watched.append(child)
        watchdog.watch("volutil restore", child)
        threading.Thread(target=_tick_while_reading, args=(child, watchdog), daemon=True).start()

    try:
        restored_id = restore_staged(run.volutil, list(run.pre.commands[-1]), staged, name, run.opts.transport, watch)
    except RestoreFailed as err:
        if watchdog.stalled:  # killed by the watchdog: say so, keep the rest of the message
            raise RestoreFailed(err.args[0], str(Stalled(watchdog.stalled, watchdog.timeout)), *err.args[2:]) from err
        raise
    finally:
        for child in watched:
            watchdog.forget(child)
    run.event(Stage.RESTORE, bytes=staged.stat().st_size, finished=True,
              message=f"VolRestore successful, created {restored_id:08x}")
    return restored_id
