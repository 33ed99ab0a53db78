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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from coda_restore import proc
from coda_restore.amanda import config as amanda_config
from coda_restore.chain import ChainMode
from coda_restore.errors import PREFLIGHT_FAILED, RESTORE_WRONG, CodaRestoreError, NotRestorable, UsageError
from coda_restore.executor.amrestore import PartsChild, Via, amrestore_argvs, device_and_label, wait_for_tape
from coda_restore.executor.events import Event, NullReporter, Reporter, Step as Stage
from coda_restore.executor.fetch import (Stalled, Watchdog, as_amanda_user, fetch_argv, raise_own_failure,
                                         read_amanda_header, spool)
from coda_restore.executor.journal import JOURNAL_NAME, Journal, SpooledImage, restore_started
from coda_restore.executor.restore import (RestoreFailed, Transport, acl_users_check, name_free,
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


class HalfCreated(CodaRestoreError):
    """an earlier run of this plan stopped after volutil restore started (journal {}):
volume {} may be half-created on {}.
Check with: {}
Remove it with: {}
Then the same command resumes (the verified images are kept)."""

    exit_status = RESTORE_WRONG


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
    fetches: tuple[tuple[tuple[str, ...], ...], ...] = ()  # per image in fetch order: its commands (amrestore: one a part)

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


VOLID = "NEWID"  # stands for the id volutil restore prints, in dry-run output


def staging_for(opts: RunOptions, workdir: Path) -> Path:
    return opts.staging.absolute() if opts.staging is not None else workdir.absolute() / "staging"


def _staged_path(opts: RunOptions, workdir: Path, name: str) -> Path:
    return staging_for(opts, workdir) / f"{name}.dump"


def _fetches(plan: Plan, opts: RunOptions, user: str | None) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """Per image, in fetch order, the commands that read it."""
    if opts.via is Via.AMRESTORE:
        devices = dict(opts.devices)
        return tuple(tuple(tuple(a) for a in amrestore_argvs(s, plan.host, plan.disk, devices, user))
                     for s in fetch_order(plan))
    return tuple((tuple(fetch_argv(plan.config, plan.host, plan.disk, s.datestamp, s.level, user)),)
                 for s in fetch_order(plan))


def _commands(plan: Plan, opts: RunOptions, name: str | None, user: str | None,
              staged: Path | None) -> tuple[tuple[str, ...], ...]:
    cmds = [argv for argvs in _fetches(plan, opts, user) for argv in argvs]
    if opts.output is None:
        file = str(staged) if opts.transport is Transport.FILE else None
        cmds.append(tuple(_volutil(opts).restore_argv(opts.partition, name, file=file)))
    return tuple(cmds)


def _name_is_free(opts: RunOptions, name: str, workdir: Path, plan: Plan) -> Check:
    free, detail = name_free(_volutil(opts), name)
    if not free and "already exists" in detail and restore_started(workdir, plan.plan_hash) == name:
        detail += (": may be half-created by an earlier run of this plan that stopped after volutil restore "
                   "started; remove it, then run again")
    return Check("target name", free, detail)


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
    tools = [opts.via.value] + ([] if opts.output is not None else [opts.volutil])
    for tool in tools:
        found = shutil.which(tool)
        checks.append(Check(f"tool {tool}", bool(found), found or "not found on PATH"))
    if opts.via is Via.AMRESTORE:
        ok, detail, user = amanda_config.amanda_user()
        checks.append(Check("Amanda user", ok, detail))
        return checks, (user if os.geteuid() == 0 and user and user != "root" else None)
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
    if needed and opts.via is Via.AMRESTORE:
        checks.append(_tapes_on_devices(needed, dict(opts.devices), opts.tape_wait))
    elif needed:
        # a tape not in the changer can be loaded on demand: a WARN, not a FAIL
        config_ok = all(c.ok for c in checks if c.name == "Amanda config")
        held = _changer_labels(plan.config, user) if config_ok else None
        if held is None:
            checks.append(Check("tapes", True, f"needs {', '.join(needed)}; the changer's inventory is unknown",
                                warn=True))
        else:
            missing = [label for label in needed if label not in held]
            checks.append(Check("tapes", True, f"needs {', '.join(needed)}"
                                + (f"; not in the changer: {', '.join(missing)}" if missing else "; all in the changer"),
                                warn=bool(missing)))
    spool_kb = sum(s.kb or 0 for s in plan.steps if s.level != 0)
    existing = _existing(workdir)
    free_kb = shutil.disk_usage(existing).free // 1024
    checks.append(Check("workdir space", free_kb >= spool_kb * SPOOL_MARGIN,
                        f"{workdir}: {free_kb // 1024} MiB free, spool needs {spool_kb // 1024 + 1} MiB"))
    staged = None
    if name is not None:
        staged = _staged_path(opts, workdir, name)
        checks.append(_staging_space(plan, staged.parent, existing, spool_kb))
        checks.append(_name_is_free(opts, name, workdir, plan) if shutil.which(opts.volutil)
                      else Check("target name", False, "cannot ask: volutil not found"))
    verify_command = (tuple(_volutil(opts).argv("dump", VOLID)) if name is not None and opts.verify else None)
    commands = _commands(plan, opts, name, user, staged)
    fetches = _fetches(plan, opts, user)
    shown = None
    if staged is not None:
        shown = proc.display(commands[-1])
        if opts.transport is Transport.STDIN:
            shown += f" < {proc.display([str(staged)])}"
    return Preflight(tuple(checks), commands, name, staged, verify_command, shown, fetches)


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
    failed = [c for c in pre.checks if not c.ok]
    if failed:
        if any(c.name == "target name" and "already exists" in c.detail for c in failed):
            if restore_started(workdir, plan.plan_hash) == pre.volume_name:
                # an earlier run of this plan stopped (a failure, a signal, kill -9) once volutil
                # restore had started: the volume is that run's, not the operator's
                vu = _volutil(opts)
                raise HalfCreated(workdir / JOURNAL_NAME, pre.volume_name, opts.server or "the local server",
                                  f"{proc.display(vu.argv('getvolumelist'))} (a line B{pre.volume_name} I<VOLID> ...)",
                                  purge_command(vu, "VOLID", pre.volume_name))
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
    commands = dict(zip((key(s) for s in order), pre.fetches))
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
                image = _fetch_incremental(plan, step, commands[k], workdir, watchdog, volume, reporter, opts)
                journal.record_spooled(image)  # before the event: a kill after it loses nothing
                reporter.event(Event(Stage.FETCH, volume, k, image.bytes, True, sha256=image.sha256))
                fetched.append(k)
            spooled[k] = Path(image.path)
        full = order[-1]
        nbytes, notes = _stream_full(plan, opts, pre, full, commands[key(full)],
                                     [(k, spooled[k]) for k in (key(s) for s in plan.steps[1:])],
                                     workdir, watchdog, journal, volume, reporter)
        fetched.append(key(full))
        restored_id, how = None, None
        if opts.output is None:
            reporter.event(Event(Stage.VERIFY, volume, key(full), message="every link of the chain checked"))
            restored_id, how = _restore_and_verify(opts, pre, journal, watchdog, volume, reporter)
    finally:
        watchdog.close()
    journal.finish()  # done: the spool and the journal have served
    if restored_id is not None and not opts.keep:
        pre.staged.unlink(missing_ok=True)
    name = pre.volume_name
    reporter.event(Event(Stage.END, volume, bytes=nbytes, finished=True,
                         message=f"restored {name} ({restored_id:08x}); {how}" if restored_id is not None
                         else f"merged dump written to {opts.output}"))
    return RunResult(pre, restored_id, name, nbytes, tuple(fetched), tuple(resumed), notes, how)


def _fetch_incremental(plan: Plan, step: Step, argv, workdir: Path, watchdog: Watchdog, volume: str,
                       reporter: Reporter, opts: RunOptions) -> SpooledImage:
    k = key(step)
    total = (step.kb or 0) * 1024 or None
    reporter.event(Event(Stage.FETCH, volume, k, message="; ".join(proc.display(a) for a in argv)))
    dest = _spool_path(workdir, step)
    got = spool(list(argv[0]), dest,
                lambda stream: read_amanda_header(stream, plan.host, plan.disk, step.datestamp, step.level),
                watchdog, lambda n: reporter.progress(Stage.FETCH, k, n, total),
                start=lambda: _start(plan, step, argv, opts, volume, reporter, watchdog), what=_tool(argv))
    with open(dest, "rb") as f:
        checked = validate(f, k)
    if not checked.valid:
        raise checked.error
    reporter.event(Event(Stage.VERIFY, volume, k, got.bytes, True, sha256=got.sha256,
                         message=f"Coda level {checked.header.level}, oldest {checked.header.oldest} "
                                 f"latest {checked.header.latest}"))
    return SpooledImage(k, str(dest), got.bytes, got.sha256)


def _stream_full(plan, opts, pre, full: Step, argv, incrementals, workdir, watchdog, journal, volume, reporter):
    """amfetchdump the level 0 into a pipe and merge it with the spooled
    incrementals into --output, or into the staged file volutil restores from."""
    k = key(full)
    total = (full.kb or 0) * 1024 or None
    reporter.event(Event(Stage.FETCH, volume, k, message="; ".join(proc.display(a) for a in argv)))
    child = _start(plan, full, argv, opts, volume, reporter, watchdog)
    watchdog.watch(_tool(argv), child)

    def fetched(n: int) -> None:
        watchdog.tick()
        reporter.progress(Stage.FETCH, k, n, total)

    def merged(n: int) -> None:
        watchdog.tick()
        reporter.progress(Stage.MERGE, None, n, total)

    source = Tee(child.stdout, on_bytes=fetched)
    inputs = [(f"{k} (full, from {_tool(argv)})", source)]
    opened = [open(path, "rb") for _, path in incrementals]
    inputs += [(f"{ik} ({path.name})", f) for (ik, path), f in zip(incrementals, opened)]
    notes: tuple[str, ...] = ()
    try:
        with contextlib.ExitStack() as stack:
            for f in opened:
                stack.enter_context(f)
            if opts.output is None:
                pre.staged.parent.mkdir(parents=True, exist_ok=True)
                # a staged image left by a failed run is ours to replace
                out = stack.enter_context(files.output(pre.staged, force=True))
            else:
                out = stack.enter_context(files.output(opts.output, force=opts.force))
            sink = FileSink(out, merged)
            read_amanda_header(child.stdout, plan.host, plan.disk, full.datestamp, full.level)
            mode = ChainMode(plan.chain)
            if len(inputs) == 1:
                copy_validated(source, sink.write, k)
            else:
                result = merge(sink, inputs, mode, spill_dir=str(workdir))
                notes = result.discrepancies
            reporter.event(Event(Stage.MERGE, volume, k, sink.bytes, True, message="; ".join(notes)))
            watchdog.check()
            child.wait()
    except BaseException as err:
        try:
            watchdog.check()  # a stall explains the rest
            raise_own_failure(child, err)  # then amfetchdump's own failure, before what its stream looks like
        finally:
            child.kill()
        raise
    finally:
        watchdog.forget(child)
    reporter.event(Event(Stage.FETCH, volume, k, source.size, True))
    return sink.bytes, notes


def _tool(argvs) -> str:
    return "amrestore" if "amrestore" in argvs[0] else "amfetchdump"


def _start(plan: Plan, step: Step, argvs, opts: RunOptions, volume: str, reporter: Reporter, watchdog: Watchdog):
    """The child whose stdout is the image: amfetchdump, or one amrestore a
    part (each part's tape asked for, and waited for, first)."""
    if _tool(argvs) == "amrestore":
        from coda_restore.scan import label_at  # reads volume labels: only this path needs it

        def loaded(argv: list[str]) -> None:
            where = device_and_label(argv)
            if where is not None:
                # waiting for an operator is no stall: each look at the device is a tick
                wait_for_tape(*where, opts.tape_wait, lambda dev: (watchdog.tick(), label_at(dev))[1],
                              lambda m: reporter.event(Event(Stage.FETCH, volume, key(step), message=m)))

        return PartsChild([list(a) for a in argvs], plan.host, plan.disk, step.datestamp, step.level, loaded)
    return proc.Child(list(argvs[0]), stdout=subprocess.PIPE)


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


def _restore_and_verify(opts: RunOptions, pre: Preflight, journal, watchdog: Watchdog, volume: str,
                        reporter: Reporter) -> tuple[int, str]:
    """volutil restore from the staged file, then the dump back; (id, how it was verified)."""
    vu, name, staged = _volutil(opts), pre.volume_name, pre.staged
    with open(staged, "rb") as f:  # what is compared, and the ACL names to look up
        sent = contents(f, str(staged))
    known, detail = acl_users_check(opts.pdbtool, sent.acl_names())
    # a warning, not a failure: the restore goes on and the dump back tells
    reporter.event(Event(Stage.PREFLIGHT, volume, message=f"ACL users: {'ok' if known else 'WARN'}: {detail}"))
    reporter.event(Event(Stage.RESTORE, volume, message=pre.restore_shown))
    journal.record_restore_started(name)
    watched: list[proc.Child] = []

    def watch(child: proc.Child) -> None:
        watched.append(child)
        watchdog.watch("volutil restore", child)
        threading.Thread(target=_tick_while_reading, args=(child, watchdog), daemon=True).start()

    try:
        restored_id = restore_staged(vu, list(pre.commands[-1]), staged, name, opts.transport, watch)
    except RestoreFailed as err:
        if watchdog.stalled:  # killed by the watchdog: say so, keep the rest of the message
            raise RestoreFailed(err.args[0], str(Stalled(watchdog.stalled, watchdog.timeout)), *err.args[2:]) from err
        raise
    finally:
        for child in watched:
            watchdog.forget(child)
    reporter.event(Event(Stage.RESTORE, volume, bytes=staged.stat().st_size, finished=True,
                         message=f"VolRestore successful, created {restored_id:08x}"))
    if not opts.verify:
        how = "NOT verified (--no-verify): the volume was not dumped back and compared"
        reporter.event(Event(Stage.VERIFY, volume, finished=True, message=how))
        return restored_id, how
    argv = _volutil(opts).dump_back_argv(restored_id)
    reporter.event(Event(Stage.VERIFY, volume, message=proc.display(argv)))
    size = staged.stat().st_size

    def dumped(n: int) -> None:
        watchdog.tick()
        reporter.progress(Stage.VERIFY, None, n, size)

    # a stalled dump back is killed, and the volume named as not verified
    verify(vu, restored_id, name, opts.server, sent, staged, dumped,
           lambda child: watchdog.watch("volutil dump", child))
    how = (f"verified: dumped back and compared, {sent.count(True)} directories and "
           f"{sent.count(False)} files and symlinks (names, bytes by sha256, ACLs as sets) as sent")
    reporter.event(Event(Stage.VERIFY, volume, finished=True, message=how))
    return restored_id, how
