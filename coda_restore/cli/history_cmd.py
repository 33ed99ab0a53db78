"""coda-restore history VOLUME: every dump of one volume, newest first."""

from __future__ import annotations

from coda_restore.amanda.catalog import HOLDING_HINT
from coda_restore.amanda.model import Dump, HoldingCopy, Unavailable
from coda_restore.amanda.views import dump_status, history_json
from coda_restore.cli.app import HostOpt, JsonOpt, Records, VolumeArg, app, option_groups, print_json
from coda_restore.cli.catalog_source import check_strict, open_volume
from coda_restore.cli.render import pretty_datestamp, stdout_console, table


def _ranges(nums: list[int]) -> str:
    """[3, 4, 5, 7] -> "3-5,7"."""
    out, start, prev = [], None, None
    for n in nums + [None]:
        if start is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ",".join(out)


def _copies(dump: Dump, several: bool = False) -> str:
    lines = []
    for c in dump.copies:
        of = f"{c.config}: " if several else ""  # several configs: each copy says its own
        if isinstance(c, HoldingCopy):
            lines.append(f"{of}holding {c.path}" + ("" if c.available else f" ({c.status.value})"))
            continue
        by_label: dict[str, list[int]] = {}
        for p in (c.restore_parts() if c.available else c.parts):
            by_label.setdefault(p.label, []).append(p.filenum)
        where = " ".join(f"{label}:{_ranges(files)}" for label, files in by_label.items()) or "no parts"
        state = "" if c.available else f" ({c.unavailable_because.value})"
        lines.append(f"{of}{c.storage} {where}{state}")
    return "\n".join(lines)


@app.command("history")
@option_groups
def history(volume: VolumeArg, host: HostOpt = None, *, records: Records, json: JsonOpt = False) -> None:
    """Show every dump of VOLUME, newest first: level, status, whether it can
    be restored from (or why not), and where its copies are."""
    catalog, h, d = open_volume(volume, host, records)
    several = catalog.several_configs
    if json:
        print_json(history_json(h, d, catalog.dumps_of(h, d), several))
    else:
        dumps = sorted(catalog.dumps_of(h, d), key=lambda x: (x.datestamp, -x.level), reverse=True)
        t = table("date", "lvl", "status", "available", "client",
                  "copies (config: storage label:files)" if several else "copies (storage label:files)",
                  title=f"{h} {d}", title_justify="left")
        for x in dumps:
            avail = "yes" if x.available else f"no: {x.unavailable_because.value}"
            if x.unavailable_because is Unavailable.HOLDING_NOT_SEARCHED:
                avail = f"no: {HOLDING_HINT}"
            t.add_row(pretty_datestamp(x.datestamp), str(x.level), dump_status(x), avail, x.client.value,
                      _copies(x, several))
        stdout_console().print(t)
    check_strict(catalog, records)
