"""coda-restore scan: read the tapes and holding disks themselves (no
Amanda config, logs or index) into a scan file that volumes, history, plan,
check and run accept with --scan FILE."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from coda_restore import scan as scanning
from coda_restore.cli.app import JsonOpt, app, print_json
from coda_restore.cli.render import stdout_console
from coda_restore.errors import StrictWarnings, UsageError
from coda_restore.voldump.files import check_output, output as atomic_output


@app.command("scan")
def scan_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="The scan file to write (JSON).")],
    vtapes: Annotated[Optional[list[Path]], typer.Option("--vtapes", help="A vtape directory: a chg-disk root "
                                                         "(its slotN directories) or one slot (repeatable).")] = None,
    device: Annotated[Optional[list[str]], typer.Option("--device", help="An Amanda device (tape:/dev/nst0, "
                                                        "file:SLOT): its label and headers read with Amanda's "
                                                        "Device API, each file with amrestore (repeatable).")] = None,
    holding: Annotated[Optional[list[Path]], typer.Option("--holding", help="Holding-disk directory (repeatable).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --output file.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when anything could not be read.")] = False,
    json: JsonOpt = False,
) -> None:
    """Read the Amanda header of every file on the vtapes, devices and
    holding disks given, and the Coda dump header inside each image, into a scan file.
    Split dumps are put together from their parts' headers; a label seen
    twice keeps its newest write; what could not be read is listed."""
    if not vtapes and not holding and not device:
        raise UsageError("say what to scan: --vtapes DIR, --device DEVICE and/or --holding DIR")
    check_output(output, force)
    found = scanning.scan(vtapes or [], holding or [], device or [])
    with atomic_output(output, force) as f:
        f.write(scanning.dumps(found).encode("utf-8"))
    catalog = scanning.catalog_of(found, str(output))
    whole = sum(1 for d in catalog.dumps if d.available)
    if json:
        print_json({"schema": scanning.SCHEMA, "output": str(output), "tapes": len(found.tapes),
                    "files": len(found.files), "holding": len(found.holding), "dumps": len(catalog.dumps),
                    "available": whole, "problems": [str(w) for w in catalog.warnings]})
    else:
        out = stdout_console()
        out.print(f"scanned  {len(found.tapes)} tape(s), {len(found.files)} file(s) on them, "
                  f"{len(found.holding)} holding file(s)", highlight=False, markup=False)
        out.print(f"dumps    {len(catalog.dumps)} ({whole} whole and readable) of "
                  f"{len(catalog.volumes())} volume(s)", highlight=False, markup=False)
        for w in catalog.warnings:
            out.print(f"not read: {w}", highlight=False, markup=False)
        out.print(f"wrote    {output}", highlight=False, markup=False)
    if strict and catalog.warnings:
        raise StrictWarnings(len(catalog.warnings))
