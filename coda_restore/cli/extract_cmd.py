"""``coda-restore extract``: files out of a full dump or a chain, to a
directory or a tar stream."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from coda_restore.chain import ChainMode
from coda_restore.cli.app import JsonOpt, app, print_json
from coda_restore.cli.dump_args import (ArgsArg, ChainOpt, OrphansOpt, PathOpt, extract_from, orphan_line,
                                        split_arguments)
from coda_restore.errors import CodaRestoreError, PartlyExtracted, UsageError
from coda_restore.voldump.extract import ExtractOptions, ExtractResult
from coda_restore.voldump.files import output
from coda_restore.voldump.sinks import DirectorySink, TarSink
from coda_restore.voldump.tree import VPath, show_path

ToOpt = Annotated[
    Optional[Path], typer.Option("--to", help="Write the files below this directory (created if missing).")
]
TarOpt = Annotated[Optional[str], typer.Option("--tar", help="Write a tar archive to this file, or '-' for stdout.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace existing files (never directories).")]
OwnersOpt = Annotated[
    Optional[bool],
    typer.Option("--owners/--no-owners", help="Restore owners and setuid/setgid bits (default: when run as root)."),
]


def warn(notes) -> None:
    for note in notes:
        typer.echo(f"coda-restore: warning: {note}", err=True)


@app.command("extract")
def extract_cmd(
    args: ArgsArg,
    to: ToOpt = None,
    tar: TarOpt = None,
    path: PathOpt = None,
    force: ForceOpt = False,
    orphans: OrphansOpt = False,
    chain: ChainOpt = ChainMode.EXACT,
    owners: OwnersOpt = None,
    json: JsonOpt = False,
) -> None:
    """Extract files, directories and symlinks (modes, mtimes) from a dump."""
    if (to is None) == (tar is None):
        raise UsageError("give exactly one of --to DIR and --tar FILE")
    if json and tar == "-":
        raise UsageError("--json needs stdout, and --tar - writes the archive there")
    dumps, paths = split_arguments(args, path or ())
    options = ExtractOptions(paths=tuple(paths), orphans=orphans)
    if to is not None:
        owners = os.geteuid() == 0 if owners is None else owners
        result = _to_directory(dumps, options, chain, DirectorySink(to, force=force, owners=owners))
        target = str(to)
    else:
        result = _to_tar(dumps, options, chain, tar, force)
        target = tar
    warn(result.notes)
    if json:
        print_json(_document(dumps, paths, target, result))
        return
    _summary(result, target, orphans, sys.stderr if tar == "-" else sys.stdout)


def _to_directory(dumps: list[str], options: ExtractOptions, chain: ChainMode, sink: DirectorySink) -> ExtractResult:
    """A failure after the first write says exactly what is on disk."""
    try:
        return extract_from(dumps, sink, options, chain)
    except CodaRestoreError as err:
        if sink.last is None:
            raise  # refused before anything was written
        raise PartlyExtracted(err, sink.what_was_written()) from err
    finally:
        sink.close()


def _to_tar(dumps: list[str], options: ExtractOptions, chain: ChainMode, tar: str, force: bool) -> ExtractResult:
    with output(tar, force) as f:  # a temporary name, renamed when complete
        sink = TarSink(f, name="standard output" if tar == "-" else tar)
        try:
            return extract_from(dumps, sink, options, chain)
        except BaseException:
            sink.abandon()
            raise


def _document(dumps: list[str], paths: list[VPath], target: str, result: ExtractResult) -> dict:
    return {
        "schema": "coda-restore.extract/1",
        "dumps": dumps,
        "paths": [show_path(p) for p in paths],
        "target": target,
        "directories": result.directories,
        "files": result.files,
        "symlinks": result.symlinks,
        "hardlinks": result.hardlinks,
        "bytes": result.bytes,
        "not_created": result.not_created,
        "orphans": result.orphans,
        "warnings": result.notes,
    }


def _summary(result: ExtractResult, target: str, orphans: bool, out) -> None:
    print(f"extracted {result.directories} directories, {result.files} files ({result.bytes} bytes), "
          f"{result.symlinks} symlinks, {result.hardlinks} hard links to {target}", file=out)
    if result.not_created:
        print(f"not created ({len(result.not_created)}, no file system can hold them; see the warnings): "
              + ", ".join(result.not_created), file=out)
    hint = "extracted under lost+found/" if orphans else "--orphans extracts them under lost+found/"
    line = orphan_line(result.orphans, hint)
    if line:
        print(line, file=out)
