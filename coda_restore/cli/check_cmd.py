"""coda-restore check [VOLUME...]: is every volume exactly restorable now and
recent enough, and which restore points will the next tape reuse take away?
Exit 3 when a volume is not restorable now, 8 when one is stale (for cron
and monitoring).  --html writes the same report as a calendar page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from coda_restore.amanda.config import AmandaConfig
from coda_restore.amanda.sources import select_volumes
from coda_restore.planning.coverage import CheckReport, Cycle, age_text, coverage_report, max_age_for, parse_max_age
from coda_restore.cli.app import Clock, JsonOpt, Records, app, option_groups, print_json
from coda_restore.amanda.sources import Source
from coda_restore.cli.catalog_source import check_strict, open_catalog, sources
from coda_restore.cli.calendar_page import render as render_calendar
from coda_restore.cli.render import pretty_datestamp, row, say, stdout_console, table
from coda_restore.errors import UsageError
from coda_restore.voldump.files import check_output, output as atomic_output


def _point(p: str | None) -> str:
    if p is None:
        return "none"
    stamp, level = p.split("/")
    return f"{pretty_datestamp(stamp)} level {level}"


@app.command("check")
@option_groups
def check_command(
    volumes: Annotated[Optional[list[str]], typer.Argument(help="Volumes (disk names) to check; default: all.")] = None,
    tapecycle: Annotated[Optional[int], typer.Option("--tapecycle", min=1, help="Amanda's tapecycle, for the "
                                                    "tapes at risk (default: amadmin CONF config's tapecycle with "
                                                    "--config; several configs: each its own cycle, this N for "
                                                    "all).")] = None,
    risk_tapes: Annotated[int, typer.Option("--risk-tapes", min=1, help="How many of the next tapes to be "
                                            "overwritten to show.")] = 3,
    max_age: Annotated[Optional[str], typer.Option("--max-age", metavar="DURATION", help="A newest restore "
                                                   "point older than this is stale (exit 8): 36h, 7d, 2w "
                                                   "(default: the config's dumpcycle, else 10 days, "
                                                   "Amanda's default).")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", metavar="FILE", help="Also write the report as one "
                                                 "self-contained HTML page: volumes down the side, days across, "
                                                 "each day exact, minimal or none; - for standard output "
                                                 "(instead of the table).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --html file.")] = False,
    *,
    clock: Clock,
    records: Records,
    json: JsonOpt = False,
) -> None:
    """For every volume: exactly restorable now, oldest and newest restore
    points, restorable days in the retention window, gaps; and the tapes at
    risk: the next tapes Amanda will overwrite and which restore points each
    takes away.  Exit 3 when a volume is not restorable now, 8 when one
    is stale; the last line is a one-line summary.  --html FILE writes the
    restorability calendar (refused if FILE exists, unless --force)."""
    moment = clock.moment()
    if max_age is not None:
        parse_max_age(max_age)  # a bad value fails before any log is read
    to_stdout = html is not None and str(html) == "-"
    if to_stdout and json:
        raise UsageError("--html - and --json both write to standard output: give --html a file name")
    if html is not None:
        check_output(html, force)  # an existing file without --force: before any log
    catalog = open_catalog(records)
    config = records.first_config
    first = sources(records)[0]
    amanda = AmandaConfig(config) if config is not None and first.ask else None
    several_tapecycle = tapecycle
    if tapecycle is None and amanda is not None:
        tapecycle = amanda.tapecycle()
    runtapes = amanda.runtapes() if amanda is not None else 1
    limit = max_age_for(max_age, amanda.dumpcycle() if amanda is not None and max_age is None else None, config)
    chosen = select_volumes(catalog, volumes or ())
    cycles = _cycles(sources(records), several_tapecycle) if len(catalog.tapelists) > 1 else ()
    report = coverage_report(catalog, chosen, moment, tapecycle, risk_tapes, runtapes, limit, cycles)
    if html is not None:
        with atomic_output(html, force) as f:  # a full disk leaves no half page behind
            f.write(render_calendar(report).encode("utf-8"))
    if json:
        print_json(report.to_dict())
    elif not to_stdout:
        _print_report(report)
    check_strict(catalog, records)
    if report.exit_status:
        raise typer.Exit(report.exit_status)


def _cycles(named: tuple[Source, ...], tapecycle: int | None) -> tuple[Cycle, ...]:
    """Each config's own cycle: its tapecycle (--tapecycle for every
    config, when given) and runtapes asked of Amanda for a --config, not for
    records named by a NAME= prefix alone."""
    out = []
    for s in named:
        amanda = AmandaConfig(s.config) if s.ask and s.config else None
        cycle = tapecycle if tapecycle is not None else amanda.tapecycle() if amanda is not None else None
        out.append(Cycle(s.config or "", cycle, amanda.runtapes() if amanda is not None else 1))
    return tuple(out)


def _print_report(report: CheckReport) -> None:
    out = stdout_console()
    t = table("host", "volume", "verdict", "now", "newest restore point", "age", "oldest restore point", "days",
              "gaps")
    for v in report.volumes:
        gaps = "; ".join(f"{pretty_datestamp(g.start)} to {pretty_datestamp(g.until) if g.until else 'now'}"
                         for g in v.gaps) or "none"
        row(t, v.host, v.disk, v.verdict, "ok" if v.restorable_now else "NOT RESTORABLE",
            _point(v.newest_point) + (f" ({', '.join(v.newest_configs)})" if v.newest_configs else ""),
            age_text(v.newest_age) if v.newest_age is not None else "-",
            _point(v.oldest_point), f"{v.restorable_days}/{v.window_days}", gaps)
    out.print(t)
    for v in report.volumes:
        for why in v.why:
            say(out, f"{v.verdict} {v.host} {v.disk}: {why}")
    if report.at_risk and not report.cycles:
        say(out, f"tapes at risk (tapecycle {report.tapecycle}), in overwrite order:")
    cycle = None
    for r in report.at_risk:
        if report.cycles and r.config != cycle:
            cycle = r.config
            tc = next(c.tapecycle for c in report.cycles if c.config == cycle)
            say(out, f"tapes at risk of config {cycle} (tapecycle {tc}), in overwrite order:")
        state = "in the next run" if r.next_run else f"after {r.writes_before} tape write(s)"
        lost = "; ".join(f"{d} loses {', '.join(_point(p) for p in pts)}" for _, d, pts in r.loses)
        say(out, f"  {r.order}. {r.label} (written {pretty_datestamp(r.datestamp.ljust(14, '0'))}; "
                 f"overwritten {state}): {lost or 'no restore point lost'}")
    if report.at_risk_note:
        say(out, report.at_risk_note)
    say(out, report.summary())
