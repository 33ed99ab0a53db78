"""coda-restore plan VOLUME --date WHEN: which dumps and tapes bring a volume
back to a moment, and why.  Exit 0 when restorable, 3 when not."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from coda_restore.planning import plan as planfile
from coda_restore.chain import ChainMode
from coda_restore.cli.app import Clock, HostOpt, JsonOpt, Records, VolumeArg, app, option_groups, print_json
from coda_restore.cli.catalog_source import check_strict, open_volume, source_argv
from coda_restore.cli.render import render_plan
from coda_restore.errors import NOT_RESTORABLE
from coda_restore.planning.planner import plan_for
from coda_restore.voldump.files import check_output, output as atomic_output
from coda_restore.planning.when import parse_when


@app.command("plan")
@option_groups
def plan_command(
    volume: VolumeArg,
    date: Annotated[str, typer.Option("--date", "-d", help="The moment to restore: friday, 'last friday', "
                                      "yesterday, '3 days ago', 2004-02-27, '2004-02-27 18:00', a datestamp.")],
    chain: Annotated[ChainMode, typer.Option("--chain", help="exact: every recorded dump since the level 0 "
                                             "(default); minimal: Amanda's own chain (fewer tapes, "
                                             "deleted files may come back).")] = ChainMode.EXACT,
    host: HostOpt = None,
    *,
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
    not."""
    # Validate before reading a single log line.
    target = parse_when(date, now=clock.moment())
    if output is not None:
        check_output(output, force)  # a directory, a missing one, an existing file: before any log
    catalog, h, d = open_volume(volume, host, records)  # only its records
    result = plan_for(catalog, h, d, target, chain, config=records.config)
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
