"""Opening the catalog from the shared source options, for every command
that reads Amanda's records: warnings go to stderr with file:line, and under
--strict they make the command exit 1 once its result is printed."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import typer
from rich.console import Console

from coda_restore.amanda.model import Catalog
from coda_restore.amanda.sources import load_catalog, load_volume
from coda_restore.errors import StrictWarnings

MAX_WARNINGS_SHOWN = 50


def open_catalog(config: str | None, logdir: Path | None, tapelist: Path | None,
                 holding: list[Path] | None, scan: Path | None = None) -> Catalog:
    catalog = load_catalog(config=config, logdir=logdir, tapelist=tapelist, holding=holding or (), scan=scan)
    _settle()
    warn(catalog)
    return catalog


def open_volume(volume: str, host: str | None, config: str | None, logdir: Path | None,
                tapelist: Path | None, holding: list[Path] | None,
                scan: Path | None = None) -> tuple[Catalog, str, str]:
    """(catalog, host, disk): only the records of one volume are read."""
    catalog, h, d = load_volume(volume, host, config=config, logdir=logdir, tapelist=tapelist,
                                holding=holding or (), scan=scan)
    _settle()
    warn(catalog)
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


PIPE_WIDTH = 200  # a pipe or a file without COLUMNS: wide, so that little wraps


class _PlainConsole(Console):
    """For a pipe or a file: no colour, and no padding at the ends of lines
    (rich pads every table row and title to the table's width)."""

    def print(self, *objects, **kwargs) -> None:
        with self.capture() as captured:
            super().print(*objects, **kwargs)
        self.file.write("\n".join(line.rstrip() for line in captured.get().split("\n")))


def stdout_console() -> Console:
    """Tables for people: the terminal's width (rich follows COLUMNS too);
    for a pipe or a file, COLUMNS or PIPE_WIDTH, unpadded.  Table columns
    wrap (and fold long words) rather than cut a label."""
    if sys.stdout.isatty():
        return Console()
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH
    return _PlainConsole(width=width, no_color=True, force_terminal=False)
