"""coda-restore plan VOLUME --date WHEN: which dumps and tapes bring a volume
back to a moment, and why.  Exit 0 when restorable, 3 when not.

With several volumes, --all or --from FILE (or any schedule option): one
bulk plan, every volume's chain and one tape schedule (planning/bulk.py).
Exit 0 when every volume is restorable and the spool fits, 10 when only
some are, 11 when the spool is over --staging-max, 3 when none is (or one
is not, under --all-or-nothing); at 3 (bulk) and 11 no --output is written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from coda_restore.planning import plan as planfile
from coda_restore.chain import ChainMode
from coda_restore.cli import bulk_args
from coda_restore.cli.app import Clock, HostOpt, JsonOpt, Records, app, option_groups, print_json
from coda_restore.cli.bulk_args import (
    AllOpt, AllOrNothingOpt, DriveSpeedOpt, DrivesOpt, FromOpt, StagingMaxOpt, StagingOpt, VolumesArg,
)
from coda_restore.cli.catalog_source import check_strict, open_catalog, open_volume, source_argv
from coda_restore.cli.render import render_plan
from coda_restore.errors import NOT_RESTORABLE, OVER_BUDGET, PARTIAL
from coda_restore.planning.planner import plan_for
from coda_restore.voldump.files import check_output, output as atomic_output
from coda_restore.planning.when import parse_when


@app.command("plan")
@option_groups
def plan_command(
    volumes: VolumesArg = None,
    *,
    date: Annotated[str, typer.Option("--date", "-d", help="The moment to restore: friday, 'last friday', "
                                      "yesterday, '3 days ago', 2004-02-27, '2004-02-27 18:00', a datestamp.")],
    chain: Annotated[ChainMode, typer.Option("--chain", help="exact: every recorded dump since the level 0 "
                                             "(default); minimal: Amanda's own chain (fewer tapes, "
                                             "deleted files may come back).")] = ChainMode.EXACT,
    host: HostOpt = None,
    every: AllOpt = False,
    from_file: FromOpt = None,
    all_or_nothing: AllOrNothingOpt = False,
    drives: DrivesOpt = None,
    drive_speed: DriveSpeedOpt = None,
    staging: StagingOpt = None,
    staging_max: StagingMaxOpt = None,
    clock: Clock,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the plan as JSON to "
                                                   "this file (for run --plan).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --output file.")] = False,
    records: Records,
    json: JsonOpt = False,
) -> None:
    """Plan a restore of VOLUME to the state at --date: each dump with its
    copy and why it was chosen, tapes in read order, warnings, alternatives
    and the equivalent amfetchdump commands.  Exit 0 when restorable, 3 when
    not.  Several volumes, --all or --from make one bulk plan with a tape
    schedule (each tape once, --drives, the spool against --staging-max):
    exit 0 all restorable, 10 some, 11 over the staging budget, 3 none."""
    # Validate before reading a single log line.
    target = parse_when(date, now=clock.moment())
    if output is not None:
        check_output(output, force)  # a directory, a missing one, an existing file: before any log
    if bulk_args.is_bulk(volumes, every, from_file, all_or_nothing, drives, drive_speed, staging, staging_max):
        chosen = bulk_args.selection(volumes, every, from_file, host)
        shape = bulk_args.schedule_options(drives, drive_speed, staging, staging_max)
        _bulk(chosen, shape, all_or_nothing, target, chain, records, output, force, json)
        return
    (volume,) = volumes
    catalog, h, d = open_volume(volume, host, records)  # only its records
    result = plan_for(catalog, h, d, target, chain, config=records.first_config)
    if output is not None:
        with atomic_output(output, force) as f:  # a full disk leaves no half plan behind
            f.write(planfile.dumps(result).encode("utf-8"))
    if json:
        print_json(result.to_dict())
    else:
        render_plan(result, again=source_argv(records, clock))
    check_strict(catalog, records)
    if not result.restorable:
        raise typer.Exit(NOT_RESTORABLE)


def _bulk(chosen: bulk_args.Selection, shape: bulk_args.ScheduleOptions, all_or_nothing: bool, target,
          chain: ChainMode, records: Records, output: Path | None, force: bool, json: bool) -> None:
    from coda_restore.cli.bulk_render import render_bulk_plan  # here: one volume's plan never needs them
    from coda_restore.planning import bulk as bulkfile

    catalog = open_catalog(records)
    requests = chosen.requests(lambda host: bulkfile.all_volumes(catalog, host))
    result = bulkfile.make_bulk_plan(
        catalog, requests, target, chain, config=records.first_config, drives=shape.drives,
        drive_kb_s=shape.drive_kb_s, staging=shape.staging, staging_max_kb=shape.staging_max_kb,
        selection=chosen.describe(),
    )
    refused = result.outcome == "none" or (all_or_nothing and result.outcome != "all")
    status = NOT_RESTORABLE if refused else OVER_BUDGET if not result.schedule.fits \
        else PARTIAL if result.outcome == "some" else 0
    if output is not None and status not in (NOT_RESTORABLE, OVER_BUDGET):
        with atomic_output(output, force) as f:
            f.write(bulkfile.dumps(result).encode("utf-8"))
    if json:
        print_json(result.to_dict())
    else:
        render_bulk_plan(result)
    check_strict(catalog, records)
    if status:
        raise typer.Exit(status)
