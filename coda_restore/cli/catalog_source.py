"""Opening the catalog from the shared source options, for every command
that reads Amanda's records: warnings go to stderr with file:line, and under
--strict they make the command exit 1 once its result is printed."""

from __future__ import annotations

import gc
import shutil
import sys
from pathlib import Path

import typer
from rich.console import Console

from coda_restore.amanda.model import Catalog
from coda_restore.amanda.sources import load_catalog, load_volume
from coda_restore.errors import StrictWarnings

MAX_WARNINGS_SHOWN = 50


def open_catalog(config: str | None, logdir: Path | None, tapelist: Path | None,
                 holding: list[Path] | None) -> Catalog:
    catalog = load_catalog(config=config, logdir=logdir, tapelist=tapelist, holding=holding or ())
    _settle()
    warn(catalog)
    return catalog


def open_volume(volume: str, host: str | None, config: str | None, logdir: Path | None,
                tapelist: Path | None, holding: list[Path] | None) -> tuple[Catalog, str, str]:
    """(catalog, host, disk): only the records of one volume are read."""
    catalog, h, d = load_volume(volume, host, config=config, logdir=logdir, tapelist=tapelist,
                                holding=holding or ())
    _settle()
    warn(catalog)
    return catalog, h, d


def _settle() -> None:
    """The catalog lives as long as this process and holds no cycles: move
    it out of the collector's sight, or the next collections walk its
    million objects again (a process-wide choice, so made here, not in the
    library)."""
    gc.freeze()


def warn(catalog: Catalog) -> None:
    for w in catalog.warnings[:MAX_WARNINGS_SHOWN]:
        typer.echo(f"coda-restore: warning: {w}", err=True)
    extra = len(catalog.warnings) - MAX_WARNINGS_SHOWN
    if extra > 0:
        typer.echo(f"coda-restore: warning: ... and {extra} more", err=True)


def check_strict(catalog: Catalog, strict: bool) -> None:
    """Call after printing the result."""
    if strict and catalog.warnings:
        raise StrictWarnings(len(catalog.warnings))


def stdout_console() -> Console:
    """Tables for people: the terminal's width, or wide enough not to wrap
    when stdout is a pipe or a file."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=max(shutil.get_terminal_size((200, 24)).columns, 200), no_color=True,
                   force_terminal=False)
