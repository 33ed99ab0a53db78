"""coda-restore index: bring the catalog index up to date (or --rebuild it)
and show what it holds."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from coda_restore.amanda.catalog import list_logs
from coda_restore.amanda.catalog_index import CatalogIndex, IndexUnusable, IndexUse, default_path
from coda_restore.amanda.sources import records_of
from coda_restore.cli.catalog_source import sources
from coda_restore.cli.app import JsonOpt, Records, app, option_groups, print_json
from coda_restore.cli.render import stdout_console, table, warn
from coda_restore.errors import UsageError

RebuildOpt = Annotated[bool, typer.Option("--rebuild", help="Forget what the index holds and index every log again.")]


@app.command("index")
@option_groups
def index(records: Records, rebuild: RebuildOpt = False, json: JsonOpt = False) -> None:
    """Bring the catalog index of these records up to date and show what it
    holds: its file, the logs indexed, the taper results (dumps) and volumes they
    name, its size, its last update."""
    if records.no_index:
        raise UsageError("coda-restore index with --no-index: there is nothing to show")
    if records.scan is not None:
        raise UsageError("a scan file is not indexed: give --config or --logdir")
    several = sources(records)
    if len(several) > 1:
        raise UsageError("coda-restore index shows the index of one logdir: give one --config (or one --logdir); "
                         "each config keeps its own index")
    s = several[0]
    logdir, _, _, beside = records_of(s.config, s.logdir, s.tapelist, s.holding, s.ask)
    use = IndexUse(records.index)
    found = CatalogIndex(use.path if use.path is not None else default_path(logdir, beside), logdir, use.notes)
    try:
        found.reader(list_logs(os.fspath(logdir), ()), None, rebuild=rebuild)
        stats = found.stats()
    except IndexUnusable as err:
        raise UsageError(str(err)) from None
    finally:
        warn(use.notes)
    if json:
        print_json(stats.to_dict())
        return
    t = table("", "")
    for name, value in (("index", stats.path), ("logdir", stats.logdir), ("log files indexed", str(stats.files)),
                        ("dumps", str(stats.dumps)), ("volumes", str(stats.volumes)),
                        ("lines kept", str(stats.lines)), ("size", f"{stats.size / 2**20:.1f} MiB"),
                        ("last update", stats.updated or "never")):
        t.add_row(name, value)
    stdout_console().print(t)
