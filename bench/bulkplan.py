#!/usr/bin/env python3
"""Benchmark: the bulk plan against planning volume by volume, same catalog.

Uses the catalog benchmark's synthetic Amanda 3.5 logdir (bench/catalog.py:
DLEs x nights, one tape a night round robin, a level 0 every 7 nights,
level 0s split in 3 parts), reads it once, and measures in this process
(median of --repeat runs):

    bulk     make_bulk_plan(every volume, --drives N)  (chains + tape schedule)
    peer     make_plan for each volume, one after another (chains only)

and prints the time ratio bulk / peer (the schedule's own cost), tape mounts
(the bulk schedule's against the sum of each single plan's tape loads, what
volume-by-volume restores mount), the estimated read time with N drives
against one, and the peak spool of the schedule against the naive one
(tapes by label, dealt to the drives in turn; the labels wrap round within
the last week, as a tape rotation's do).  Goals: bulk <= 1.5x peer;
each tape mounted once; the spool no larger than the naive order's.

No Amanda needed:  python3 -m bench.bulkplan [--quick] [--drives N]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

from bench import catalog as catalog_bench
from coda_restore.amanda.sources import load_catalog
from coda_restore.planning.bulk import all_volumes, chain_of, make_bulk_plan
from coda_restore.planning.history import VolumeHistory
from coda_restore.planning.plan import label_key
from coda_restore.planning.planner import make_plan
from coda_restore.planning.schedule import replay
from coda_restore.planning.when import parse_when, zone


def timed(fn, repeat: int):
    fn()  # warm: the first call builds the catalog's lazy indexes
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="50 DLEs x 64 nights, 12 tapes")
    ap.add_argument("--dles", type=int, default=500)
    ap.add_argument("--nights", type=int, default=123)  # the last week's labels wrap (57..60, 1..3)
    ap.add_argument("--tapes", type=int, default=60)
    ap.add_argument("--drives", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--root", type=Path, default=Path("/var/tmp/bulkplan-bench"))
    args = ap.parse_args()
    if args.quick:
        args.dles, args.nights, args.tapes = 50, 64, 12
    dumps = catalog_bench.generate(args.root, args.dles, args.nights, args.tapes)
    catalog = load_catalog(logdir=args.root / "log", tapelist=args.root / "tapelist")
    gc.freeze()  # as the CLI does (cli/catalog_source.py): collections must not walk the catalog
    tz = zone("UTC")
    last = catalog_bench.BASE.replace(tzinfo=tz) + catalog_bench.dt.timedelta(days=args.nights - 1)
    target = parse_when(last.strftime("%Y-%m-%d"), now=last)
    requests = all_volumes(catalog)

    def peer():
        return [make_plan(VolumeHistory.of(catalog, r.host, r.name), target) for r in requests]

    def bulk(drives: int):
        return lambda: make_bulk_plan(catalog, requests, target, drives=drives)

    t_peer, singles = timed(peer, args.repeat)
    t_one, one = timed(bulk(1), args.repeat)
    t_bulk, many = timed(bulk(args.drives), args.repeat)
    chains = [chain_of(v.plan) for v in many.volumes if v.plan is not None and v.plan.restorable]
    labels = sorted({t.label for t in many.schedule.tapes}, key=label_key)
    naive = replay(chains, [labels[d::args.drives] for d in range(args.drives)], many.schedule.drive_kb_s)
    loads = sum(p.tape_loads for p in singles)
    s1, sn = one.schedule, many.schedule

    print(f"catalog: {args.dles} DLEs x {args.nights} nights ({dumps} dumps), {args.tapes} tapes; "
          f"{len(requests)} volumes, {many.outcome} restorable, to {target.bound}")
    print(f"plan time   bulk --drives {args.drives} {t_bulk:.3f}s, --drives 1 {t_one:.3f}s, "
          f"peer (one make_plan per volume) {t_peer:.3f}s: ratio {t_bulk / t_peer:.2f}x (goal <= 1.5x)")
    print(f"tape mounts bulk {len(sn.tapes)} (each once: {len(sn.tapes) == len(labels)}), volume by volume "
          f"{loads}: ratio {len(sn.tapes) / loads:.3f}x")
    print(f"read time   est. {sn.seconds:.0f}s on {sn.drives_used} of {args.drives} drive(s), {s1.seconds:.0f}s on "
          f"1: speed-up {s1.seconds / sn.seconds if sn.seconds else 1:.2f}x")
    print(f"spool peak  bulk {sn.peak_spool_kb} KiB with {args.drives} drive(s), {s1.peak_spool_kb} KiB with 1; "
          f"naive label order with {args.drives}: {naive.peak_kb} KiB "
          f"(ratio {sn.peak_spool_kb / naive.peak_kb if naive.peak_kb else 0:.2f}x)")
    ok = len(sn.tapes) == len(labels) and sn.peak_spool_kb <= naive.peak_kb
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
