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
from coda_restore.cli.render import warn
from coda_restore.errors import CodaRestoreError, UsageError
from coda_restore.voldump import extract as ex
from coda_restore.voldump.files import output
from coda_restore.voldump.tree import show_path

ArgsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="DUMP... [PATH...]",
        help="A full dump (or FULL INCR... a chain, oldest first), then paths inside the volume. "
        "Dumps are the leading arguments whose first bytes are a Coda dump header; '-' is stdin.",
    ),
]
PathOpt = Annotated[
    Optional[list[str]],
    typer.Option("--path", help="A path inside the volume (repeatable); then every argument is a dump."),
]
ChainOpt = Annotated[
    ChainMode,
    typer.Option("--chain", help="For a chain: exact (default) checks that each incremental's oldest is the previous "
                 "dump's latest; minimal accepts Amanda's chain, whose skipped deletions come back as orphans."),
]
OrphansOpt = Annotated[
    bool, typer.Option("--orphans", help="Also take the vnodes the root does not reach, as lost+found/VVVVVVVV.UUUUUUUU.")
]


def orphan_line(n: int, hint: str) -> str | None:
    if not n:
        return None
    return f"{n} orphan vnode(s) are not reachable from the root ({hint})"


@app.command("extract")
def extract_cmd(
    args: ArgsArg,
    to: Annotated[Optional[Path], typer.Option("--to", help="Write the files below this directory (created if missing).")] = None,
    tar: Annotated[Optional[str], typer.Option("--tar", help="Write a tar archive to this file, or '-' for stdout.")] = None,
    path: PathOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing files (never directories).")] = False,
    orphans: OrphansOpt = False,
    chain: ChainOpt = ChainMode.EXACT,
    owners: Annotated[
        Optional[bool],
        typer.Option("--owners/--no-owners", help="Restore owners and setuid/setgid bits (default: when run as root)."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Extract files, directories and symlinks (modes, mtimes) from a dump."""
    if (to is None) == (tar is None):
        raise UsageError("give exactly one of --to DIR and --tar FILE")
    if json and tar == "-":
        raise UsageError("--json needs stdout, and --tar - writes the archive there")
    dumps, paths = ex.split_arguments(args, path or ())
    options = ex.ExtractOptions(paths=tuple(paths), orphans=orphans)
    stdin = typer.get_binary_stream("stdin")
    if to is not None:
        owners = os.geteuid() == 0 if owners is None else owners
        sink = ex.DirectorySink(to, force=force, owners=owners)
        try:
            result = ex.run(dumps, sink, options, stdin, chain)
        except CodaRestoreError as err:
            if sink.last is None:
                raise  # refused before anything was written
            partly = ex.PartlyExtracted(err, sink.what_was_written())
            partly.exit_status = err.exit_status
            raise partly from err
        finally:
            sink.close()
        target = str(to)
    else:
        with output(tar, force) as f:  # a temporary name, renamed when complete
            tar_sink = ex.TarSink(f, name="standard output" if tar == "-" else tar)
            try:
                result = ex.run(dumps, tar_sink, options, stdin, chain)
            except BaseException:
                tar_sink.abandon()
                raise
        target = tar
    warn(result.notes)
    hint = "extracted under lost+found/" if orphans else "--orphans extracts them under lost+found/"
    line = orphan_line(result.orphans, hint)
    if json:
        print_json({
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
        })
        return
    out = sys.stderr if tar == "-" else sys.stdout
    print(f"extracted {result.directories} directories, {result.files} files ({result.bytes} bytes), "
          f"{result.symlinks} symlinks, {result.hardlinks} hard links to {target}", file=out)
    if result.not_created:
        print(f"not created ({len(result.not_created)}, no file system can hold them; see the warnings): "
              + ", ".join(result.not_created), file=out)
    if line:
        print(line, file=out)
