"""coda-restore volumes: one line per DLE the Amanda records know."""

from __future__ import annotations

from coda_restore.amanda.views import summarize, volumes_json
from coda_restore.cli.app import JsonOpt, Records, app, option_groups, print_json
from coda_restore.cli.catalog_source import check_strict, open_catalog
from coda_restore.cli.render import pretty_datestamp, stdout_console, table


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
        t = table("host", "volume", "dumps", "available", "last full (available)", "last dump",
                  right=("dumps", "available"))
        for s in summaries:
            full = pretty_datestamp(s.last_full.datestamp) if s.last_full else "none"
            last = "none"
            if s.last_dump:
                last = f"{pretty_datestamp(s.last_dump.datestamp)} level {s.last_dump.level}"
                if not s.last_dump.available:
                    last += f" ({s.last_dump.unavailable_because.value})"
            t.add_row(s.host, s.disk, str(s.dumps), str(s.available), full, last)
        stdout_console().print(t)
    check_strict(catalog, records)
