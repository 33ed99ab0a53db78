"""Opening the catalog from the shared source options, for every command
that reads Amanda's records: warnings go to stderr with file:line, and under
--strict they make the command exit 1 once its result is printed."""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING

from coda_restore.amanda.model import Catalog
from coda_restore.amanda.sources import Source, load_sources, load_volume, sources_of
from coda_restore.cli.app import Clock, Records
from coda_restore.cli.render import warn
from coda_restore.errors import StrictWarnings, UsageError

if TYPE_CHECKING:
    from coda_restore.amanda.catalog_index import IndexUse

MAX_WARNINGS_SHOWN = 50


def sources(records: Records) -> tuple[Source, ...]:
    """The configs (and paths) the options name; raises UsageError."""
    return sources_of(records.config or (), records.logdir or (), records.tapelist or (), records.holding or ())


def open_catalog(records: Records) -> Catalog:
    use = index_use(records)
    catalog = load_sources(sources(records), scan=records.scan, index=use)
    _notes(use)
    _settle()
    warn(catalog.warnings, MAX_WARNINGS_SHOWN)
    return catalog


def open_volume(volume: str, host: str | None, records: Records) -> tuple[Catalog, str, str]:
    """(catalog, host, disk): only the records of one volume are read."""
    use = index_use(records)
    catalog, h, d = load_volume(volume, host, scan=records.scan, index=use, sources=sources(records))
    _notes(use)
    _settle()
    warn(catalog.warnings, MAX_WARNINGS_SHOWN)
    return catalog, h, d


def index_use(records: Records) -> IndexUse | None:
    """--index PATH, --no-index, or the default place."""
    if records.no_index:
        if records.index is not None:
            raise UsageError("--index PATH and --no-index say opposite things: give one")
        return None
    from coda_restore.amanda.catalog_index import IndexUse  # sqlite3: only for the reads that use it

    return IndexUse(records.index)


def _notes(use: IndexUse | None) -> None:
    """What the index had to say (rebuilt, unusable): on stderr, but no
    catalog warning (the index never changes an answer, nor --strict's)."""
    if use is not None:
        warn(use.notes)


def source_argv(records: Records, clock: Clock | None = None) -> list[str]:
    """The options that name these records (and this clock) again, for a
    command printed to be pasted."""
    argv = [a for c in records.config or () for a in ("--config", c)]
    argv += ["--scan", os.fspath(records.scan)] if records.scan is not None else []
    for option, paths in (("--logdir", records.logdir), ("--tapelist", records.tapelist)):
        argv += [a for p in paths or () for a in (option, os.fspath(p))]
    for h in records.holding or ():
        argv += ["--holding", os.fspath(h)]
    if clock is not None:
        argv += ["--now", clock.now] if clock.now else []
        argv += ["--tz", clock.tz] if clock.tz else []
    return argv


def _settle() -> None:
    """The catalog lives as long as this process and holds no cycles: move
    it out of the collector's sight, or the next collections walk its
    million objects again (check on 500 volumes x 365 nights: 3x slower).
    A process-wide choice, so made here, once, not in the library."""
    gc.freeze()


def check_strict(catalog: Catalog, records: Records) -> None:
    """Call after printing the result: under --strict, a warning is an error."""
    if records.strict and catalog.warnings:
        raise StrictWarnings(len(catalog.warnings))
