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
    several = catalog.several_configs
    if json:
        print_json(volumes_json(summaries, several))
    else:
        t = table("host", "volume", *(("configs",) if several else ()), "dumps", "available",
                  "last full (available)", "last dump", right=("dumps", "available"))
        for s in summaries:
            full = pretty_datestamp(s.last_full.datestamp) if s.last_full else "none"
            if several and s.last_full:
                full += f" ({', '.join(s.last_full.configs)})"
            last = "none"
            if s.last_dump:
                last = f"{pretty_datestamp(s.last_dump.datestamp)} level {s.last_dump.level}"
                if not s.last_dump.available:
                    last += f" ({s.last_dump.unavailable_because.value})"
                if several:
                    last += f" ({', '.join(s.last_dump.configs)})"
            t.add_row(s.host, s.disk, *((", ".join(s.configs),) if several else ()), str(s.dumps),
                      str(s.available), full, last)
        stdout_console().print(t)
    check_strict(catalog, records)
