"""``run --plan BULK.json``: the bulk plan's records checked again, the bulk
executor run with run's reporters, then the end report (text or --json) and
the exit status: 0 every volume restored, 10 some, 12 none."""

from __future__ import annotations

import sys

import typer

from coda_restore.cli.app import print_json
from coda_restore.errors import NONE_DONE, PARTIAL
from coda_restore.executor.bulk import BulkOptions, BulkResult, run_bulk
from coda_restore.executor.events import Reporter

EXIT = {"all": 0, "some": PARTIAL, "none": NONE_DONE}


def run_bulk_reported(bulk, options: BulkOptions, reporter: Reporter, json: bool) -> None:
    try:
        result = run_bulk(bulk, options, reporter)
    finally:
        reporter.close()
    if json:
        print_json(result.to_dict())
    else:
        render_bulk_result(result)
    if EXIT[result.outcome]:
        raise typer.Exit(EXIT[result.outcome])


def render_bulk_result(result: BulkResult, out=sys.stdout) -> None:
    """The end report: one line per volume, then the totals."""
    width = max((len(v.name) for v in result.volumes), default=6)
    print(f"{'VOLUME':<{width}}  OUTCOME   RESTORED AS           VOLUME ID  REASON", file=out)
    for v in result.volumes:
        volid = f"{v.volume_id:08x}" if v.volume_id is not None else "-"
        why = v.reason + (" (restored by an earlier run)" if v.resumed else "")
        print(f"{v.name:<{width}}  {v.outcome:<8}  {v.restored_name or '-':<20}  {volid:<9}  {why}", file=out)
    d = result.to_dict()["totals"]
    print(f"bulk run: {result.outcome}: {d['restored']} restored, {d['failed']} failed, {d['refused']} refused; "
          f"tapes read {d['tapes_read']}, skipped {d['tapes_skipped']} (done before); "
          f"{d['fetches']} amfetchdump(s), {d['bytes']} bytes in {d['seconds']:.1f} s", file=out)
