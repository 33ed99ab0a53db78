"""coda-restore volumes: one line per DLE the Amanda records know."""

from __future__ import annotations

from rich.table import Table

from coda_restore.amanda.views import summarize, volumes_json
from coda_restore.cli.app import JsonOpt, Records, app, option_groups, print_json
from coda_restore.cli.catalog_source import check_strict, open_catalog
from coda_restore.cli.render import pretty_datestamp, stdout_console


@app.command("volumes")
@option_groups
def volumes(records: Records, json: JsonOpt = False) -> None:
    """List every volume (DLE) with its dumps known and available, its last
    available full dump and its last dump."""
    catalog = open_catalog(records)
    summaries = summarize(catalog)
    if json:
        print_json(volumes_json(summaries))
    else:
        table = Table(box=None, header_style="bold")
        for col in ("host", "volume", "dumps", "available", "last full (available)", "last dump"):
            table.add_column(col, justify="right" if col in ("dumps", "available") else "left", overflow="fold")
        for s in summaries:
            full = pretty_datestamp(s.last_full.datestamp) if s.last_full else "none"
            last = "none"
            if s.last_dump:
                last = f"{pretty_datestamp(s.last_dump.datestamp)} level {s.last_dump.level}"
                if not s.last_dump.available:
                    last += f" ({s.last_dump.unavailable_because.value})"
            table.add_row(s.host, s.disk, str(s.dumps), str(s.available), full, last)
        stdout_console().print(table)
    check_strict(catalog, records)
