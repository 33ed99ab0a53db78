"""``coda-restore inspect``: header, counts, sizes and validation of one dump."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from coda_restore.cli.app import JsonOpt, app, print_json
from coda_restore.errors import InvalidDump
from coda_restore.voldump.files import display_name, open_dump
from coda_restore.voldump.validate import Validation, validate

SCHEMA = "coda-restore.inspect/1"


def _date(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def to_json(v: Validation) -> dict:
    h, vol = v.header, v.volume
    return {
        "schema": SCHEMA,
        "source": v.source,
        "valid": v.valid,
        "restorable": v.restorable,
        "not_restorable_because": v.not_restorable_because or None,
        "error": None if v.error is None else {"offset": v.error.offset, "message": str(v.error)},
        "size": v.size,
        "header": None if h is None else {
            "volume_id": f"{h.volume_id:08x}", "parent_id": f"{h.parent_id:08x}", "name": h.volume_name,
            "level": h.level, "backup_date": h.backup_date, "backup_date_utc": _date(h.backup_date),
            "oldest": h.oldest, "latest": h.latest, "version": h.version,
        },
        "volume": None if vol is None else {
            "id": f"{vol.id:08x}", "name": vol.volume_name, "type": vol.type,
            "parent_id": f"{vol.parent_id:08x}", "group_id": f"{vol.group_id:08x}",
            "partition": vol.partition.split(b"\0")[0].decode("utf-8", "replace"),
            "uniquifier": vol.uniquifier, "disk_used_kb": vol.disk_used, "file_count": vol.file_count,
            "update_date": vol.update_date,
        },
        "sections": [vars(s) for s in v.sections],
        "warnings": [{"offset": w.offset, "text": w.text} for w in v.warnings],
    }


def render(v: Validation) -> None:
    h = v.header
    echo = typer.echo
    echo(f"dump        {v.source} ({v.size} bytes read)")
    if h is not None:
        kind = "full" if h.level == 0 else f"incremental, level {h.level}"
        echo(f"volume      {h.volume_name} ({h.volume_id:08x}), parent {h.parent_id:08x}")
        echo(f"level       {h.level} ({kind})")
        echo(f"backup date {_date(h.backup_date)} ({h.backup_date})")
        echo(f"ordering    oldest {h.oldest}, latest {h.latest}")
    if v.volume is not None:
        vol = v.volume
        echo(f"volume data type {vol.type}, group {vol.group_id:08x}, {vol.file_count} files, "
             f"{vol.disk_used} KB used")
    for s in v.sections:
        echo(f"{s.vclass:5} index nVnodes {s.n_vnodes}, nLists {s.n_lists}: {s.vnodes} vnodes, "
             f"{s.removed} removed, {s.nulls} null, {s.bad_inodes} bad inodes, "
             f"{s.dir_pages} dir pages, {s.file_bytes} file bytes")
    for w in v.warnings:
        echo(f"warning     offset {w.offset}: {w.text}")
    if v.error is not None:
        echo(f"INVALID     {v.error}")
    else:
        echo("valid       yes")
        echo("restorable  " + ("yes" if v.restorable else f"no: {v.not_restorable_because}"))


@app.command("inspect")
def inspect_cmd(
    dump: Annotated[str, typer.Argument(help="A Coda dump file, or '-' for stdin.")],
    json: JsonOpt = False,
) -> None:
    """Show a dump's header, counts and sizes, and validate it (exit 4 when invalid)."""
    with open_dump(dump) as f:
        result = validate(f, display_name(dump))
    if json:
        print_json(to_json(result))
    else:
        render(result)
    if result.error is not None:
        raise InvalidDump(result.error)
