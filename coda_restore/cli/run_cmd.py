"""coda-restore run VOLUME --date WHEN: the unattended restore.

The plan is made (or read and re-checked) and printed first; then the
executor runs it with a reporter chosen here: a human log on stderr, rich
progress bars when stderr is a terminal, JSON lines under --log-json."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Annotated, Optional, TextIO

import typer

from coda_restore import proc
from coda_restore.amanda.model import Catalog
from coda_restore.chain import ChainMode
from coda_restore.cli.app import Clock, HostOpt, JsonOpt, Records, app, option_groups, print_json
from coda_restore.cli.bulk_run import run_bulk_reported
from coda_restore.cli.catalog_source import check_strict, open_catalog, open_volume, source_argv
from coda_restore.cli.render import StderrLog, render_plan
from coda_restore.errors import NOT_RESTORABLE, PREFLIGHT_FAILED, BadPlan, ConfigUnreadable, PreflightFailed, UsageError
from coda_restore.executor.amrestore import Via
from coda_restore.executor.bulk import BulkOptions
from coda_restore.executor.events import Event, Fanout, JsonLinesLog, NullReporter, Stage
from coda_restore.executor.restore import Transport
from coda_restore.executor.runner import (Preflight, RunOptions, RunResult, check_options, run,
                                          unplanned_preflight)
from coda_restore.planning import bulk as bulkfile
from coda_restore.planning.bulk import BulkPlan
from coda_restore.planning.plan import Plan
from coda_restore.planning.planner import plan_for, replan
from coda_restore.planning.when import Target, parse_when

PROGRESS_INTERVAL = 0.5  # seconds between progress updates on a terminal


class TerminalProgress(NullReporter):
    """Rich bars (bytes, rate, ETA) per stage, throttled; only on a terminal."""

    def __init__(self):
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        self._bars = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                              TransferSpeedColumn(), TimeRemainingColumn(), transient=True)
        self._tasks: dict[tuple, int] = {}
        self._last = 0.0
        self._bars.start()

    def progress(self, step: Stage, dump: str | None, done: int, total: int | None) -> None:
        now = time.monotonic()
        k = (step, dump)
        if k not in self._tasks:
            self._tasks[k] = self._bars.add_task(f"{step.value} {dump or ''}", total=total)
        elif now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        self._bars.update(self._tasks[k], completed=done)

    def close(self) -> None:
        self._bars.stop()


RunVolumeArg = Annotated[Optional[str], typer.Argument(help="The volume: its Amanda disk name (e.g. u.jan); "
                                                   "none with a bulk --plan.")]
# run's own options, one line each in run_command's signature (the order --help lists them in)
DateOpt = Annotated[Optional[str], typer.Option("--date", "-d", help="The moment to restore (as for plan); "
                                                "not needed with --plan.")]
ServerOpt = Annotated[Optional[str], typer.Option("--server", help="Coda server to restore to (volutil -h).")]
PartitionOpt = Annotated[Optional[str], typer.Option("--partition", help="Server partition, e.g. /vicepa.")]
NameOpt = Annotated[Optional[str], typer.Option("--name", help="Name of the restored volume "
                                                "(default: VOLUME.YYYYMMDD of the chosen dump).")]
ChainOpt = Annotated[ChainMode, typer.Option("--chain", help="exact (default) or minimal, as for plan.")]
PlanOpt = Annotated[Optional[Path], typer.Option("--plan", help="Run this plan (from plan --output); "
                                                 "refused if the records no longer agree.  A bulk plan "
                                                 "(plan --all, several volumes) restores all its volumes.")]
RestoresPerServerOpt = Annotated[int, typer.Option("--restores-per-server", min=1, metavar="N",
                                                   help="Bulk --plan: at most N volutil restores at once "
                                                   "on the server (default 1).")]
PlanHashOpt = Annotated[Optional[str], typer.Option("--plan-hash", help="Refuse the --plan unless its "
                                                    "plan_hash starts with this.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Preflight only: print the checks and the exact "
                                         "commands a run would execute; change nothing.")]
WorkdirOpt = Annotated[Path, typer.Option("--workdir", help="Spool, journal and lock live under "
                                          "WORKDIR/HOST_VOLUME.")]
OutputOpt = Annotated[Optional[str], typer.Option("--output", "-o", help="Write the merged full dump to FILE "
                                                  "(or - for stdout) instead of restoring it.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Let --output replace an existing file.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Accepted for scripts; run never prompts.")]
LogJsonOpt = Annotated[Optional[Path], typer.Option("--log-json", help="Append one JSON event per step "
                                                    "to this file.")]
StallOpt = Annotated[float, typer.Option("--stall-timeout", help="Stop a fetch, merge, restore or "
                                         "dump back that moves (or reads) no bytes for this many seconds "
                                         "(0: never).")]
VolutilOpt = Annotated[str, typer.Option("--volutil", help="The volutil program.")]
StagingOpt = Annotated[Optional[Path], typer.Option("--staging", help="Directory for the merged image "
                                                    "volutil restore -f reads (default: the volume's "
                                                    "workdir); its space is checked in preflight.")]
KeepOpt = Annotated[bool, typer.Option("--keep", help="Keep the staged image after a successful restore.")]
TransportOpt = Annotated[Transport, typer.Option("--transport", help="file (default): volutil restore -f "
                                                 "STAGED; stdin: the staged file on volutil's stdin, for "
                                                 "old servers only (current Coda hangs on it).")]
VerifyOpt = Annotated[bool, typer.Option("--verify/--no-verify", help="Dump the restored volume back and "
                                         "compare it with what was sent (default); --no-verify only by "
                                         "explicit choice, said in the report.")]
PdbtoolOpt = Annotated[str, typer.Option("--pdbtool", help="The protection DB tool, to check that the "
                                         "server knows the users the dump's ACLs name.")]
ViaOpt = Annotated[Via, typer.Option("--via", help="amfetchdump (default): through the Amanda config; "
                                     "amrestore: straight from the devices and holding files a --scan saw, "
                                     "no config needed.")]
TapeWaitOpt = Annotated[float, typer.Option("--tape-wait", help="With --via amrestore: when a tape is not "
                                            "where the scan saw it, say which to load where and wait this "
                                            "many seconds for it (default 0: all must be in place).")]


@app.command("run")
@option_groups
def run_command(
    volume: RunVolumeArg = None, date: DateOpt = None, server: ServerOpt = None, partition: PartitionOpt = None,
    name: NameOpt = None, chain: ChainOpt = ChainMode.EXACT, plan_file: PlanOpt = None,
    plan_hash: PlanHashOpt = None, dry_run: DryRunOpt = False, workdir: WorkdirOpt = Path("/var/tmp/coda-restore"),
    output: OutputOpt = None, force: ForceOpt = False, yes: YesOpt = False, log_json: LogJsonOpt = None,
    stall_timeout: StallOpt = 600.0, volutil: VolutilOpt = "volutil", staging: StagingOpt = None,
    keep: KeepOpt = False, transport: TransportOpt = Transport.FILE, verify: VerifyOpt = True,
    pdbtool: PdbtoolOpt = "pdbtool", via: ViaOpt = Via.AMFETCHDUMP, tape_wait: TapeWaitOpt = 0.0,
    restores_per_server: RestoresPerServerOpt = 1, host: HostOpt = None, *, clock: Clock, records: Records, json: JsonOpt = False,
) -> None:
    """Restore VOLUME to the state at --date: fetch each image with
    amfetchdump (or, with no config, amrestore: --via amrestore --scan
    FILE), prove every link, merge in one pass into a staged regular
    file, restore it with volutil restore -f, then dump the new volume back
    and compare it with what was sent (exit 6 if the server failed or
    differs).  Never prompts; resumable after a failure.  With a bulk
    --plan: every volume, its tapes read once on the plan's drives, an end
    report (exit 0 all restored, 10 some, 12 none); rerun it to resume."""
    saved, target = _saved_plan_or_target(plan_file, plan_hash, date, clock)
    options = RunOptions(server=server, partition=partition, name=name, output=output, workdir=workdir,
                         dry_run=dry_run, stall_timeout=stall_timeout or None, volutil=volutil, force=force,
                         staging=staging, keep=keep, transport=transport, verify=verify, pdbtool=pdbtool,
                         via=via, devices=_devices(via, records.scan), tape_wait=tape_wait)
    if records.config is None and via is Via.AMFETCHDUMP:
        raise UsageError("run needs --config NAME: amfetchdump reads the tapes through Amanda's config "
                         "(or --via amrestore --scan FILE, when the config is gone)")
    check_options(options)
    if isinstance(saved, BulkPlan):
        _run_bulk(saved, plan_file, options, restores_per_server, records, log_json, json)
        return
    if volume is None:
        raise UsageError("name the VOLUME to restore (or give a bulk --plan)")
    catalog, h, d = _open_volume(volume, host, records, options, json)
    if saved is not None:
        the_plan = replan(saved, catalog, h, d, config=records.first_config, name="--plan")
    else:
        the_plan = plan_for(catalog, h, d, target, chain, config=records.first_config)
    if output != "-" and not json:
        render_plan(the_plan, again=source_argv(records, clock))  # the plan first, on stdout
    if dry_run and not the_plan.restorable:
        # the rehearsal still shows the checks; a real run refuses with the same status (3)
        pre = unplanned_preflight(records.first_config, options, f"not restorable: {the_plan.reason}")
        _render_result(RunResult(pre), dry_run, json, the_plan)
        raise typer.Exit(NOT_RESTORABLE)
    result = _run_reported(the_plan, options, log_json)
    _render_result(result, dry_run, json, the_plan)
    check_strict(catalog, records)
    if dry_run and not result.preflight.ok:
        raise typer.Exit(PREFLIGHT_FAILED)  # a real run refuses at the same checks


def _saved_plan_or_target(plan_file: Path | None, plan_hash: str | None, date: str | None,
                          clock: Clock) -> tuple[Plan | None, Target | None]:
    """The plan --plan names, or the target --date names: checked before
    any log is read."""
    clock.zone()
    if plan_file is None and date is None:
        raise UsageError("give --date WHEN, or --plan FILE")
    if plan_file is None:
        return None, parse_when(date, now=clock.moment())
    saved = bulkfile.load_any(plan_file)  # either kind: the hash is checked the same way
    if plan_hash and not saved.plan_hash.startswith(plan_hash):
        raise BadPlan(plan_file, f"its plan_hash is {saved.plan_hash}, not {plan_hash}")
    return saved, None


def _run_bulk(saved: BulkPlan, plan_file: Path, options: RunOptions, restores_per_server: int,
              records: Records, log_json: Path | None, json: bool) -> None:
    if options.dry_run or options.output is not None or options.name is not None or options.via is not Via.AMFETCHDUMP:
        raise UsageError("a bulk --plan restores every volume under its default name, through amfetchdump: "
                         "--dry-run, --output, --name and --via amrestore are for one volume")
    bulk = bulkfile.replan(saved, open_catalog(records), name=str(plan_file))
    reporters = [StderrLog()] + ([JsonLinesLog(log_json)] if log_json is not None else [])
    run_bulk_reported(bulk, BulkOptions(options, restores_per_server), Fanout(*reporters), json)


def _devices(via: Via, scan: Path | None) -> tuple[tuple[str, str], ...]:
    """For --via amrestore: the device each tape is in, as the scan saw it."""
    if via is not Via.AMRESTORE:
        return ()
    if scan is None:
        raise UsageError("run --via amrestore needs --scan FILE: it says which device holds each tape")
    from coda_restore import scan as scanning

    return tuple(sorted(scanning.devices(scanning.load(scan)).items()))


def _open_volume(volume: str, host: str | None, records: Records, options: RunOptions,
                 json: bool) -> tuple[Catalog, str, str]:
    """Only the volume's records.  A config that cannot be read is a
    preflight FAIL, in a rehearsal and in a run alike; a rehearsal shows
    every other check it can."""
    try:
        return open_volume(volume, host, records)
    except ConfigUnreadable as err:
        if records.logdir is None:
            if not options.dry_run:
                raise PreflightFailed(f"Amanda config: {err}") from None
            pre = unplanned_preflight(records.first_config, options, "no plan: the records' place is asked of the "
                                                                "config (or give --logdir DIR)")
            _render_result(RunResult(pre), options.dry_run, json, None)
            raise typer.Exit(PREFLIGHT_FAILED) from None
        return open_volume(volume, host, dataclasses.replace(records, config=None))  # its preflight FAILs


def _run_reported(the_plan: Plan, options: RunOptions, log_json: Path | None) -> RunResult:
    """The executor's run, told to a human log on stderr, to --log-json,
    and to progress bars when stderr is a terminal."""
    reporters = [StderrLog()]
    if log_json is not None:
        reporters.append(JsonLinesLog(log_json))
    if sys.stderr.isatty() and not options.dry_run:
        reporters.append(TerminalProgress())
    try:
        return run(the_plan, options, Fanout(*reporters))
    finally:
        for r in reporters:
            r.close()


def _render_result(result: RunResult, dry_run: bool, json: bool, the_plan: Plan | None) -> None:
    if json:
        print_json(_result_json(result, dry_run, the_plan))
        return
    out = sys.stderr if result.volume_name is None and not dry_run else sys.stdout
    if dry_run:
        _print_rehearsal(result.preflight, out)
        return
    for note in result.notes:
        print(f"note: {note}", file=out)
    if result.restored_id is not None:
        print(f"restored {result.volume_name} as volume {result.restored_id:08x} "
              f"({result.bytes} bytes; fetched {len(result.fetched)}, resumed {len(result.resumed)})", file=out)
        print(result.verified, file=out)


def _result_json(result: RunResult, dry_run: bool, the_plan: Plan | None) -> dict:
    pre = result.preflight
    return {
        "schema": "coda-restore.run/1",
        "plan_hash": the_plan.plan_hash if the_plan is not None else None,
        "dry_run": dry_run,
        "preflight_ok": pre.ok,
        "preflight": [{"check": c.name, "ok": c.ok, "state": c.state, "detail": c.detail} for c in pre.checks],
        "commands": [list(c) for c in pre.commands],
        "verify_command": None if pre.verify_command is None else list(pre.verify_command),
        "staged": None if pre.staged is None else str(pre.staged),
        "verified": result.verified,
        "volume_name": result.volume_name,
        "restored_id": None if result.restored_id is None else f"{result.restored_id:08x}",
        "bytes": result.bytes,
        "fetched": list(result.fetched),
        "resumed": list(result.resumed),
        "notes": list(result.notes),
    }


def _print_rehearsal(pre: Preflight, out: TextIO) -> None:
    """--dry-run: the checks, then every command a run would execute."""
    print("preflight:", file=out)
    for c in pre.checks:
        print(f"  {c.state:<4} {c.name}: {c.detail}", file=out)
    print("commands a run executes, in order:" if pre.commands else
          "commands a run executes: unknown, no plan could be made", file=out)
    for c in pre.commands[:-1] if pre.staged is not None else pre.commands:
        print(f"  {proc.display(c)}", file=out)
    if pre.staged is not None:
        print(f"  (merged into {proc.display([str(pre.staged)])})", file=out)
        print(f"  {pre.restore_shown}", file=out)
    if pre.verify_command is not None:
        print(f"  {proc.display(pre.verify_command)}  (NEWID: the id the restore prints; the dump back is "
              "compared with what was sent)", file=out)
    if not pre.ok:
        failed = sum(not c.ok for c in pre.checks)
        print(f"preflight FAILED ({failed} check(s)): a run would refuse to start", file=out)
