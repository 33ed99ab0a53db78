"""coda-restore check [VOLUME...]: is every volume exactly restorable now and
recent enough, and which restore points will the next tape reuse take away?
Exit 3 when a volume is not restorable now, 8 when one is stale (for cron
and monitoring)."""

from __future__ import annotations

import gc

from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from coda_restore.amanda.config import AmandaConfig
from coda_restore.amanda.sources import find_volume
from coda_restore.amanda.views import pretty_datestamp
from coda_restore.planning.coverage import age_text, check, max_age_for, parse_max_age
from coda_restore.cli.app import (ConfigOpt, HoldingOpt, ScanOpt, JsonOpt, LogdirOpt, NowOpt, StrictOpt, TapelistOpt, TzOpt,
                                  app, print_json)
from coda_restore.cli.catalog_source import check_strict, open_catalog, stdout_console
from coda_restore.planning.when import parse_now, zone


def _row(table: Table, *cells: str) -> None:
    """Cells are plain text: a [bracket] in a path or a message is not markup."""
    table.add_row(*(escape(c) for c in cells))


def _point(p: str | None) -> str:
    if p is None:
        return "none"
    stamp, level = p.split("/")
    return f"{pretty_datestamp(stamp)} level {level}"


@app.command("check")
def check_command(
    volumes: Annotated[Optional[list[str]], typer.Argument(help="Volumes (disk names) to check; default: all.")] = None,
    tapecycle: Annotated[Optional[int], typer.Option("--tapecycle", min=1, help="Amanda's tapecycle, for the "
                                                    "tapes at risk (default: amgetconf CONF tapecycle with "
                                                    "--config).")] = None,
    risk_tapes: Annotated[int, typer.Option("--risk-tapes", min=1, help="How many of the next tapes to be "
                                            "overwritten to show.")] = 3,
    max_age: Annotated[Optional[str], typer.Option("--max-age", metavar="DURATION", help="A newest restore "
                                                   "point older than this is stale (exit 8): 36h, 7d, 2w "
                                                   "(default: the config's dumpcycle, else 10 days, "
                                                   "Amanda's default).")] = None,
    now: NowOpt = None,
    tz: TzOpt = None,
    config: ConfigOpt = None,
    logdir: LogdirOpt = None,
    tapelist: TapelistOpt = None,
    holding: HoldingOpt = None,
    scan: ScanOpt = None,
    strict: StrictOpt = False,
    json: JsonOpt = False,
) -> None:
    """For every volume: exactly restorable now, oldest and newest restore
    points, restorable days in the retention window, gaps; and the tapes at
    risk: the next tapes Amanda will overwrite and which restore points each
    takes away.  Exit 3 when a volume is not restorable now, 8 when one
    is stale; the last line is a one-line summary."""
    moment = parse_now(now, zone(tz))
    if max_age is not None:
        parse_max_age(max_age)  # a bad value fails before any log is read
    catalog = open_catalog(config, logdir, tapelist, holding, scan)
    # The catalog is built with the collector off, then kept for the whole
    # run: move it out of the collector's sight, or the first collections
    # after it walk every record (3x slower on 500 volumes x 365 nights).
    gc.freeze()
    amanda = AmandaConfig(config) if config is not None else None
    if tapecycle is None and amanda is not None:
        tapecycle = amanda.tapecycle()
    runtapes = amanda.runtapes() if amanda is not None else 1
    limit = max_age_for(max_age, amanda.dumpcycle() if amanda is not None and max_age is None else None, config)
    known = catalog.volumes()
    chosen: list[tuple[str, str]] = []
    for name in volumes or []:
        matches = [v for v in known if v[1] == name]
        if not matches:
            find_volume(catalog, name)  # raises UnknownVolume with suggestions
        chosen += [v for v in matches if v not in chosen]
    report = check(catalog, chosen if volumes else known, moment, tapecycle, risk_tapes, runtapes, limit)
    if json:
        print_json(report.to_dict())
    else:
        out = stdout_console()
        table = Table(box=None, header_style="bold")
        for col in ("host", "volume", "verdict", "now", "newest restore point", "age", "oldest restore point",
                    "days", "gaps"):
            table.add_column(col, overflow="fold")
        for v in report.volumes:
            gaps = "; ".join(f"{pretty_datestamp(g.start)} to {pretty_datestamp(g.until) if g.until else 'now'}"
                             for g in v.gaps) or "none"
            _row(table, v.host, v.disk, v.verdict, "ok" if v.restorable_now else "NOT RESTORABLE",
                 _point(v.newest_point), age_text(v.newest_age) if v.newest_age is not None else "-",
                 _point(v.oldest_point), f"{v.restorable_days}/{v.window_days}", gaps)
        out.print(table)
        for v in report.volumes:
            for why in v.why:
                out.print(f"{v.verdict} {v.host} {v.disk}: {why}", highlight=False, markup=False)
        if report.at_risk:
            out.print(f"tapes at risk (tapecycle {report.tapecycle}), in overwrite order:", highlight=False, markup=False)
            for r in report.at_risk:
                state = "in the next run" if r.next_run else f"after {r.writes_before} tape write(s)"
                lost = "; ".join(f"{d} loses {', '.join(_point(p) for p in pts)}" for _, d, pts in r.loses)
                out.print(f"  {r.order}. {r.label} (written {pretty_datestamp(r.datestamp.ljust(14, '0'))}; "
                          f"overwritten {state}): {lost or 'no restore point lost'}", highlight=False, markup=False)
        if report.at_risk_note:
            out.print(report.at_risk_note, highlight=False, markup=False)
        out.print(report.summary(), highlight=False, markup=False)
    check_strict(catalog, strict)
    if report.exit_status:
        raise typer.Exit(report.exit_status)
