"""``coda-restore merge``: a full dump and its incrementals, in one pass."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated, Optional

import typer

from coda_restore.chain import ChainMode
from coda_restore.cli.app import app
from coda_restore.cli.render import warn
from coda_restore.errors import UsageError
from coda_restore.voldump.files import display_name, open_dump, output
from coda_restore.voldump.merge import merge
from coda_restore.voldump.validate import copy_validated


@app.command("merge")
def merge_cmd(
    out: Annotated[str, typer.Argument(metavar="OUT", help="The merged full dump; '-' for stdout.")],
    full: Annotated[str, typer.Argument(metavar="FULL", help="The level 0 dump ('-' for stdin).")],
    incrementals: Annotated[
        Optional[list[str]], typer.Argument(metavar="[INCR]...", help="The incrementals, oldest first "
                                            "(none: FULL is validated and written as it is).")
    ] = None,
    chain: Annotated[
        ChainMode,
        typer.Option("--chain", help="exact: each incremental's oldest must equal the previous latest; "
                     "minimal: only require latest not to go back (deletions in skipped dumps come back as orphans)."),
    ] = ChainMode.EXACT,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
) -> None:
    """Merge FULL and INCR... into one full dump, checking every link (like codamergedump applied in turn).
    With no INCR, FULL is validated and written as it is."""
    names = [full, *(incrementals or [])]
    if names.count("-") > 1:
        raise UsageError("only one input can be '-' (stdin)")
    if out == "-" and sys.stdout.isatty():
        raise UsageError("refusing to write a dump to a terminal: redirect stdout or name OUT")
    with contextlib.ExitStack() as stack:
        sources = [(display_name(n), stack.enter_context(open_dump(n))) for n in names]
        sink = stack.enter_context(output(out, force))
        if len(sources) == 1:  # an exact chain can be one level 0
            checked = copy_validated(sources[0][1], sink.write, sources[0][0])
            typer.echo(f"coda-restore: wrote the full dump {sources[0][0]} of {checked.header.volume_name} "
                       f"({checked.size} bytes, validated) to {display_name(out) if out != '-' else '<stdout>'}",
                       err=True)
            return
        result = merge(sink, sources, chain)
    for note in result.notes:
        typer.echo(f"coda-restore: note: {note}", err=True)
    warn(result.warnings)
    for text in result.discrepancies:
        typer.echo(f"coda-restore: {'warning' if chain is ChainMode.EXACT else 'orphans'}: {text}", err=True)
    h = result.header
    typer.echo(
        f"coda-restore: merged {len(names)} dumps of {h.volume_name} into {display_name(out) if out != '-' else '<stdout>'}: "
        f"{result.bytes_written} bytes, latest {h.latest}, "
        + ", ".join(f"{s.written} {s.vclass} vnodes" for s in result.sections),
        err=True,
    )
