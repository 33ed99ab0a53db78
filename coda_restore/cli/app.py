"""The typer app, the options every catalog-reading command shares, and the
one place that turns a CodaRestoreError into a message and an exit status."""

from __future__ import annotations

import copy
import functools
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Annotated, Optional, get_type_hints

import typer
from typer.core import TyperGroup

from coda_restore.amanda import config as amanda_config
from coda_restore.errors import CodaRestoreError
from coda_restore.json_text import indented


# Metavariables by option name, for help and usage lines: what a person
# types there, not the Python type (typer shows <str>, <bool>, <list[Path]>).
METAVARS = {
    "date": "WHEN", "now": "WHEN", "tz": "ZONE", "config": "NAME", "name": "NAME", "host": "HOST",
    "server": "HOST", "logdir": "DIR", "holding": "DIR", "workdir": "DIR", "to": "DIR",
    "tapelist": "FILE", "scan": "FILE", "vtapes": "DIR", "device": "DEVICE", "tape_wait": "SECONDS", "output": "FILE", "plan_file": "FILE", "log_json": "FILE", "tar": "FILE",
    "partition": "/vicepX", "plan_hash": "HASH", "stall_timeout": "SECONDS", "volutil": "PROGRAM",
    "tapecycle": "N", "risk_tapes": "N", "path": "PATH", "chain": "exact|minimal",
}
VOLUME_ARGUMENTS = ("volume", "volumes")


def _complete_volumes(ctx, _param, incomplete: str) -> list[str]:
    """Volume names from the records the command line names so far (its
    --config or --logdir); nothing when it names none or they cannot be read."""
    p = ctx.params
    if not (p.get("config") or p.get("logdir")):
        return []
    try:
        from coda_restore.amanda.sources import load_sources, sources_of

        catalog = load_sources(sources_of(p.get("config") or (), p.get("logdir") or (), p.get("tapelist") or (),
                                          p.get("holding") or ()))
    except CodaRestoreError:
        return []
    return sorted({d for _, d in catalog.volumes() if d.startswith(incomplete)})


def _fit_param(param) -> None:
    if param.param_type_name == "argument":
        if param.metavar is None:
            param.metavar = param.name.upper() + ("..." if param.nargs != 1 else "")
        # typer writes a required argument as {NAME} in usage lines and adds
        # its type (<str>) in help: the metavariable alone says it
        piece = param.metavar if param.required else f"[{param.metavar}]"
        param.get_usage_pieces = lambda ctx: [piece]
        param.display_type_rich = lambda ctx: None  # typer 0.29
        param.type = copy.copy(param.type)  # typer 0.27-0.28 ask the type (shared by many params: a copy)
        param.type.get_metavar = lambda param, ctx: ""
        if param.name in VOLUME_ARGUMENTS:
            param._custom_shell_complete = _complete_volumes
    elif getattr(param, "is_flag", False):
        param.metavar = ""
    elif param.metavar is None:
        param.metavar = METAVARS.get(param.name, param.name.upper())


def _fit(command) -> None:
    """Every parameter gets a metavariable (flags and --help none), and
    volume arguments complete from the records.  Done once, here, so that
    no command module has to repeat it."""
    for param in command.params:
        _fit_param(param)
    make_help = command.get_help_option

    def help_option(ctx):
        option = make_help(ctx)
        if option is not None:
            _fit_param(option)
        return option

    command.get_help_option = help_option


class _Group(TyperGroup):
    """Catches library errors for every command: one line on stderr, the
    class's exit status, no traceback (unless the class asks for one)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for command in (self, *self.commands.values()):
            _fit(command)

    def get_params(self, ctx):
        for param in self.params:  # typer adds the completion options after __init__
            _fit_param(param)
        return super().get_params(ctx)

    def invoke(self, ctx: typer.Context):
        amanda_config.forget()  # Amanda's settings are asked once per command, never kept from the last
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
    add_completion=True,  # --install-completion / --show-completion for bash, zsh and fish
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Where the Amanda records come from; shared by every command that reads them.
ConfigOpt = Annotated[
    Optional[list[str]],
    typer.Option("--config", "-c", help="Amanda config name; logdir, tapelist and holding disks are asked of Amanda (amadmin NAME config). "
                 "Repeatable: several configs (daily, archive) are read as one catalog."),
]
LogdirOpt = Annotated[
    Optional[list[Path]],
    typer.Option("--logdir", help="Amanda log directory (log.* files); NAME=DIR names its config (one per config "
                 "when there are several)."),
]
TapelistOpt = Annotated[
    Optional[list[Path]], typer.Option("--tapelist", help="Amanda tapelist file; NAME=FILE names its config.")
]
HoldingOpt = Annotated[
    Optional[list[Path]],
    typer.Option("--holding", help="Holding-disk directory (repeatable); NAME=DIR names its config."),
]
ScanOpt = Annotated[
    Optional[Path],
    typer.Option("--scan", help="A scan file (coda-restore scan): the tapes themselves, when Amanda's records "
                 "are gone; with --config or --logdir, the two are checked against each other."),
]
IndexOpt = Annotated[
    Optional[Path],
    typer.Option("--index", help="The catalog index file (default: beside a config's logdir when it can be "
                 "written, else in ~/.cache/coda-restore/; one per logdir, so not with several --config).", metavar="PATH"),
]
NoIndexOpt = Annotated[bool, typer.Option("--no-index", help="Read the logs themselves, neither using nor "
                                          "updating the catalog index.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Treat malformed log lines as an error (exit 1).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
# Which volume, and when "now" is: shared by history, plan, check and run.
VolumeArg = Annotated[str, typer.Argument(help="The volume: its Amanda disk name (e.g. u.jan).")]
HostOpt = Annotated[Optional[str], typer.Option("--host", help="The host, when several have this volume.")]
NowOpt = Annotated[
    Optional[str],
    typer.Option("--now", help="Take this as the current time (YYYY-MM-DD, 'YYYY-MM-DD HH:MM' or a datestamp)."),
]
TzOpt = Annotated[
    Optional[str],
    typer.Option("--tz", help="Time zone of Amanda's datestamps (IANA name; default: the local zone)."),
]


@dataclass(frozen=True)
class Records:
    """Where the Amanda records come from, and whether a malformed line in
    them is an error: the options every command that reads them takes."""

    config: ConfigOpt = None
    logdir: LogdirOpt = None
    tapelist: TapelistOpt = None
    holding: HoldingOpt = None
    scan: ScanOpt = None
    index: IndexOpt = None
    no_index: NoIndexOpt = False
    strict: StrictOpt = False

    @property
    def first_config(self) -> str | None:
        """The first --config: the one a plan's own config field names."""
        return self.config[0] if self.config else None


@dataclass(frozen=True)
class Clock:
    """When "now" is, and the zone of Amanda's datestamps."""

    now: NowOpt = None
    tz: TzOpt = None

    def zone(self) -> tzinfo:
        """--tz (default: the local zone); a bad name fails here."""
        from coda_restore.planning.when import zone  # dateutil: only for the commands that ask

        return zone(self.tz)

    def moment(self) -> datetime:
        """--now in --tz (default: the clock); a bad zone or date fails
        here, before any log is read."""
        from coda_restore.planning.when import parse_now

        return parse_now(self.now, self.zone())


OPTION_GROUPS = (Records, Clock)


def _spread(group: type) -> list[inspect.Parameter]:
    hints = get_type_hints(group, include_extras=True)
    return [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name])
            for f in fields(group)]


def option_groups(command: Callable) -> Callable:
    """Lets a command take ``records: Records`` and ``clock: Clock``: typer
    sees each group's options in the group's place (so --help lists them
    there), and the command gets them back as one record."""
    signature = inspect.signature(command, eval_str=True)
    groups = {p.name: p.annotation for p in signature.parameters.values() if p.annotation in OPTION_GROUPS}
    params: list[inspect.Parameter] = []
    for p in signature.parameters.values():
        params += _spread(p.annotation) if p.name in groups else [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)]

    @functools.wraps(command)
    def with_groups(**given):
        for name, group in groups.items():
            given[name] = group(**{f.name: given.pop(f.name) for f in fields(group)})
        return command(**given)

    with_groups.__signature__ = signature.replace(parameters=params)  # what typer reads
    with_groups.__annotations__ = {p.name: p.annotation for p in params}
    return with_groups


def print_json(data) -> None:
    """stdout is the result, indented for diffs; keys in the order the
    document builds them (its schema's order), not sorted."""
    # one write (json.dump to a stream writes every token separately); indented() is
    # json.dumps(indent=2), faster
    sys.stdout.write(indented(data) + "\n")


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
