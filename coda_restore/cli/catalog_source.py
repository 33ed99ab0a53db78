"""Opening the catalog from the shared source options, for every command
that reads Amanda's records: warnings go to stderr with file:line, and under
--strict they make the command exit 1 once its result is printed."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from coda_restore.amanda.model import Catalog
from coda_restore.amanda.sources import load_catalog, load_volume
from coda_restore.cli.render import warn
from coda_restore.errors import StrictWarnings

MAX_WARNINGS_SHOWN = 50


def open_catalog(config: str | None, logdir: Path | None, tapelist: Path | None,
                 holding: list[Path] | None, scan: Path | None = None) -> Catalog:
    catalog = load_catalog(config=config, logdir=logdir, tapelist=tapelist, holding=holding or (), scan=scan)
    _settle()
    warn(catalog.warnings, MAX_WARNINGS_SHOWN)
    return catalog


def open_volume(volume: str, host: str | None, config: str | None, logdir: Path | None,
                tapelist: Path | None, holding: list[Path] | None,
                scan: Path | None = None) -> tuple[Catalog, str, str]:
    """(catalog, host, disk): only the records of one volume are read."""
    catalog, h, d = load_volume(volume, host, config=config, logdir=logdir, tapelist=tapelist,
                                holding=holding or (), scan=scan)
    _settle()
    warn(catalog.warnings, MAX_WARNINGS_SHOWN)
    return catalog, h, d


def source_argv(config: str | None, logdir: Path | None, tapelist: Path | None, holding: list[Path] | None,
                now: str | None = None, tz: str | None = None, scan: Path | None = None) -> list[str]:
    """The options that name these records (and this clock) again, for a
    command printed to be pasted."""
    argv = ["--config", config] if config else []
    argv += ["--scan", os.fspath(scan)] if scan is not None else []
    argv += ["--logdir", os.fspath(logdir)] if logdir is not None else []
    argv += ["--tapelist", os.fspath(tapelist)] if tapelist is not None else []
    for h in holding or ():
        argv += ["--holding", os.fspath(h)]
    argv += ["--now", now] if now else []
    argv += ["--tz", tz] if tz else []
    return argv


def _settle() -> None:
    """The catalog lives as long as this process and holds no cycles: move
    it out of the collector's sight, or the next collections walk its
    million objects again (check on 500 volumes x 365 nights: 3x slower).
    A process-wide choice, so made here, once, not in the library."""
    gc.freeze()


def check_strict(catalog: Catalog, strict: bool) -> None:
    """Call after printing the result."""
    if strict and catalog.warnings:
        raise StrictWarnings(len(catalog.warnings))
