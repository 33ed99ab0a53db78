"""The typer app, the options every catalog-reading command shares, and the
one place that turns a CodaRestoreError into a message and an exit status."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from coda_restore.errors import CodaRestoreError


class _Group(TyperGroup):
    """Catches library errors for every command: one line on stderr, the
    class's exit status, no traceback (unless the class asks for one)."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except CodaRestoreError as err:
            if err.traceback:
                raise
            typer.echo(f"coda-restore: error: {err}", err=True)
            raise typer.Exit(err.exit_status) from None


app = typer.Typer(
    cls=_Group,
    name="coda-restore",
    help="Plan and run restores of Coda volumes from Amanda backups.",
    epilog="The backup side is the Amanda plugin amcoda: 'amcoda install' puts it into Amanda's "
    "application directory (see 'amcoda --help').",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Where the Amanda records come from; shared by every command that reads them.
ConfigOpt = Annotated[
    Optional[str],
    typer.Option("--config", "-c", help="Amanda config name; logdir, tapelist and holding disks are asked of amgetconf."),
]
LogdirOpt = Annotated[Optional[Path], typer.Option("--logdir", help="Amanda log directory (log.* files).")]
TapelistOpt = Annotated[Optional[Path], typer.Option("--tapelist", help="Amanda tapelist file.")]
HoldingOpt = Annotated[
    Optional[list[Path]], typer.Option("--holding", help="Holding-disk directory (repeatable).")
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Treat malformed log lines as an error (exit 1).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
# Which volume, and when "now" is: shared by history, plan, check and run.
HostOpt = Annotated[Optional[str], typer.Option("--host", help="The host, when several have this volume.")]
NowOpt = Annotated[
    Optional[str],
    typer.Option("--now", help="Take this as the current time (YYYY-MM-DD, 'YYYY-MM-DD HH:MM' or a datestamp)."),
]
TzOpt = Annotated[
    Optional[str],
    typer.Option("--tz", help="Time zone of Amanda's datestamps (IANA name; default: the local zone)."),
]


def print_json(data) -> None:
    """stdout is the result; JSON is sorted and indented for diffs."""
    # one write: json.dump to a stream writes every token separately (slow)
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _print_version(value: bool) -> None:
    if value:
        from coda_restore import __version__

        typer.echo(f"coda-restore {__version__}")
        raise typer.Exit()


@app.callback()
def _top(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Plan and run restores of Coda volumes from Amanda backups."""
