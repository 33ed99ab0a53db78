"""``coda-restore ls``: the files of a full dump or a chain, as extract
would write them."""

from __future__ import annotations

import stat
import time

import typer

from coda_restore.chain import ChainMode
from coda_restore.cli.app import JsonOpt, app, print_json
from coda_restore.cli.dump_args import (ArgsArg, ChainOpt, OrphansOpt, PathOpt, extract_from, orphan_line,
                                        split_arguments)
from coda_restore.cli.extract_cmd import warn
from coda_restore.voldump.extract import ExtractOptions
from coda_restore.voldump.sinks import ListSink
from coda_restore.voldump.tree import Kind, fid_text, show_path

_TYPE = {Kind.DIRECTORY: stat.S_IFDIR, Kind.FILE: stat.S_IFREG, Kind.SYMLINK: stat.S_IFLNK}


@app.command("ls")
def ls_cmd(args: ArgsArg, path: PathOpt = None, orphans: OrphansOpt = False, chain: ChainOpt = ChainMode.EXACT,
           json: JsonOpt = False) -> None:
    """List the files of a dump (everything below PATH, or the whole volume)."""
    dumps, paths = split_arguments(args, path or ())
    sink = ListSink()
    options = ExtractOptions(paths=tuple(paths), orphans=orphans, refuse_unsafe=False)
    result = extract_from(dumps, sink, options, chain)
    warn(result.notes)
    if json:
        print_json({
            "schema": "coda-restore.ls/1",
            "dumps": dumps,
            "entries": [
                {
                    "path": show_path(e.path),
                    "type": e.meta.kind.name.lower(),
                    "fid": fid_text(e.meta.fid),
                    "mode": e.meta.mode,
                    "owner": e.meta.owner,
                    "mtime": e.meta.mtime,
                    "size": e.size,
                    **({"target": e.target.decode("utf-8", "backslashreplace")} if e.target is not None else {}),
                    **({"link_to": show_path(e.link_to)} if e.link_to else {}),
                }
                for e in sink.entries
            ],
            "orphans": result.orphans,
            "warnings": result.notes,
        })
        return
    for e in sink.entries:
        mode = stat.filemode(_TYPE[e.meta.kind] | e.meta.mode)
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(e.meta.mtime))
        name = show_path(e.path) + ("/" if e.meta.kind is Kind.DIRECTORY else "")
        if e.target is not None:
            name += " -> " + show_path((e.target,))
        if e.link_to:
            name += " link to " + show_path(e.link_to)
        typer.echo(f"{mode} {e.meta.owner:>6} {e.size:>10} {when} {name}")
    line = orphan_line(result.orphans, "listed under lost+found/" if orphans else "--orphans lists them")
    if line:
        typer.echo(line, err=True)
