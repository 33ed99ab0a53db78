"""coda-restore plan VOLUME --date WHEN: which dumps and tapes bring a volume
back to a moment, and why.  Exit 0 when restorable, 3 when not."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from coda_restore.planning import plan as planfile
from coda_restore.amanda.views import pretty_datestamp
from coda_restore.chain import ChainMode
from coda_restore.cli.app import (ConfigOpt, HoldingOpt, ScanOpt, HostOpt, JsonOpt, LogdirOpt, NowOpt, StrictOpt,
                                  TapelistOpt, TzOpt, app, print_json)
from coda_restore.cli.catalog_source import check_strict, open_volume, source_argv, stdout_console
from coda_restore.errors import NOT_RESTORABLE
from coda_restore.planning.history import VolumeHistory
from coda_restore.planning.plan import Plan
from coda_restore.planning.planner import PROVEN, make_plan
from coda_restore.voldump.files import check_output, output as atomic_output
from coda_restore.planning.when import parse_now, parse_when, zone

def _row(table: Table, *cells: str) -> None:
    """Cells are plain text: a [bracket] in a path or a message is not markup."""
    table.add_row(*(escape(c) for c in cells))


def size(kb: int | None) -> str:
    if kb is None:
        return "?"
    for unit, scale in (("GiB", 1 << 20), ("MiB", 1 << 10)):
        if kb >= scale:
            return f"{kb / scale:.1f} {unit}"
    return f"{kb} KiB"


def render(plan: Plan, again: Sequence[str] = ()) -> None:
    """The plan for people; ``again`` are the options (records, clock) that
    make each alternative's command pasteable as it is."""
    out = stdout_console()
    t = plan.target
    out.print(f"volume   {plan.host} {plan.disk}", highlight=False, markup=False)
    kind = "whole day" if t.whole_day else "instant"
    out.print(f"target   {t.input!r} -> {t.instant} ({kind}; dumps at or before {pretty_datestamp(t.bound)})",
              highlight=False)
    if plan.restorable:
        out.print(f"chain    {plan.chain}: {len(plan.steps)} dump(s), {plan.tape_loads} tape(s), "
                  f"{size(plan.total_kb)}; ends on {plan.chosen}", highlight=False, markup=False)
        out.print("RESTORABLE", style="bold green", highlight=False, markup=False)
    else:
        out.print(f"chain    {plan.chain}", highlight=False, markup=False)
        out.print(f"NOT RESTORABLE: {plan.reason}", style="bold red", highlight=False, markup=False)
    if plan.steps:
        table = Table(title="steps, in apply order", title_justify="left", box=None, header_style="bold")
        for col in ("#", "date", "lvl", "size", "copy", "why"):
            table.add_column(col, overflow="fold")
        for i, s in enumerate(plan.steps, 1):
            _row(table, str(i), pretty_datestamp(s.datestamp), str(s.level), size(s.kb), s.copy.describe(), s.why)
        out.print(table)
    if plan.tapes:
        table = Table(title="tapes, in read order", title_justify="left", box=None, header_style="bold")
        for col in ("label", "files (file: dump/level part)", "size"):
            table.add_column(col, overflow="fold")
        for tape in plan.tapes:
            files = ", ".join(f"{f.filenum}: {f.datestamp}/{f.level}" + (f" part {f.partnum}" if f.partnum > 1 else "")
                              for f in tape.files)
            _row(table, tape.label, files, size(tape.kb))
        _row(table, "total", f"{plan.tape_loads} tape load(s)", size(sum(x.kb for x in plan.tapes)))
        out.print(table)
    for w in plan.warnings:
        if w.message == plan.reason:
            continue  # already printed as the reason
        kind = "proof" if w.code == PROVEN else "warning"
        out.print(f"{kind} [{w.code}]: {w.message}", highlight=False, markup=False)
    if not plan.restorable and not plan.alternatives:
        out.print("no alternative: no instant of this volume is restorable from the records", highlight=False,
                  markup=False)
    if plan.alternatives:
        out.print("alternatives (each with the command that plans it):", highlight=False, markup=False)
        for a in plan.alternatives:
            tapes = ", ".join(a.tapes) + (f" +{a.holding} holding" if a.holding else "")
            out.print(f"  {a.kind}: the state of {pretty_datestamp(a.datestamp)} ({a.chain}: {len(a.steps)} "
                      f"dump(s), {size(a.kb)}; tapes {tapes or '-'}): {a.loses}", highlight=False, markup=False)
            # whole, never wrapped: a line to paste (the same records and clock as this one)
            out.print(f"    {shlex.join([*a.command, *again])}", highlight=False, markup=False, soft_wrap=True)
    if plan.steps:
        out.print("equivalent Amanda commands (one image each, on stdout):", highlight=False, markup=False)
        for s in plan.steps:
            out.print(f"  {shlex.join(s.amfetchdump)} > {s.datestamp}.{s.level}", highlight=False, markup=False, soft_wrap=True)


@app.command("plan")
def plan_command(
    volume: Annotated[str, typer.Argument(help="The volume: its Amanda disk name (e.g. u.jan).")],
    date: Annotated[str, typer.Option("--date", "-d", help="The moment to restore: friday, 'last friday', "
                                      "yesterday, '3 days ago', 2004-02-27, '2004-02-27 18:00', a datestamp.")],
    chain: Annotated[ChainMode, typer.Option("--chain", help="exact: every recorded dump since the level 0 "
                                             "(default); minimal: Amanda's own chain (fewer tapes, "
                                             "deleted files may come back).")] = ChainMode.EXACT,
    host: HostOpt = None,
    now: NowOpt = None,
    tz: TzOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the plan as JSON to "
                                                   "this file (for run --plan).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --output file.")] = False,
    config: ConfigOpt = None,
    logdir: LogdirOpt = None,
    tapelist: TapelistOpt = None,
    holding: HoldingOpt = None,
    scan: ScanOpt = None,
    strict: StrictOpt = False,
    json: JsonOpt = False,
) -> None:
    """Plan a restore of VOLUME to the state at --date: each dump with its
    copy and why it was chosen, tapes in read order, warnings, alternatives
    and the equivalent amfetchdump commands.  Exit 0 when restorable, 3 when
    not."""
    # Validate before reading a single log line.
    zone_ = zone(tz)
    target = parse_when(date, now=parse_now(now, zone_))
    if output is not None:
        check_output(output, force)  # a directory, a missing one, an existing file: before any log
    catalog, h, d = open_volume(volume, host, config, logdir, tapelist, holding, scan)  # only its records
    result = make_plan(VolumeHistory(h, d, catalog.dumps_of(h, d), catalog.unreadable), target, chain, config=config)
    if output is not None:
        with atomic_output(output, force) as f:  # a full disk leaves no half plan behind
            f.write(planfile.dumps(result).encode("utf-8"))
    if json:
        print_json(result.to_dict())
    else:
        render(result, again=source_argv(config, logdir, tapelist, holding, now, tz, scan))
    check_strict(catalog, strict)
    if not result.restorable:
        raise typer.Exit(NOT_RESTORABLE)
