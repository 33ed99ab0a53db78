#!/usr/bin/env python3
"""Benchmark: the catalog index against Amanda's own finder, same logdir.

On bench/catalog.py's synthetic logdir (default 500 DLEs x 365 nights, 60
tapes), with its own Amanda config (/etc/amanda/codarestore-index-bench, so
that it can run beside bench/catalog.py), each as a fresh process (median of
--repeat runs, page cache warm), and each ratio against Amanda measured in
the same run (< 1 means faster):

    warm index:  history / plan of one volume     vs  amadmin CONF find HOST DISK   (goal <= 0.2x)
                 volumes / check over all volumes vs  amadmin CONF find             (goal <= 1.0x)
    one more night written, the first history call (index update included)
                                                  vs  amadmin CONF find HOST DISK   (goal <= 0.3x)
    cold: the first history call (index built), and index --rebuild
                                                  vs  volumes --no-index (today's full read)

and the index's size and each process's peak RSS.

Run as root (Amanda runs as user backup):  python3 -m bench.index [--quick]
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from bench import catalog as base

CONFIG = "codarestore-index-bench"


def main() -> None:
    # bench/catalog.py's logdir and config, under a name of this script's own.
    base.CONFIG, base.ETC = CONFIG, Path("/etc/amanda") / CONFIG
    args = base.parse_args(__doc__, Path("/var/tmp/codarestore-index-bench"))
    coda = [sys.executable, "-m", "coda_restore"]
    src = ["--logdir", str(args.root / "log"), "--tapelist", str(args.root / "tapelist")]
    index_path = args.root / "catalog-index.sqlite"
    index = ["--index", str(index_path)]
    amadmin = ["runuser", "-u", "backup", "--", "amadmin", CONFIG, "find"]
    dle_list = base.dles(args.dles)
    host, disk = dle_list[args.dles // 2]
    day = (base.BASE + base.dt.timedelta(days=args.nights - 1)).strftime("%Y-%m-%d")
    now = ["--now", (base.BASE + base.dt.timedelta(days=args.nights)).strftime("%Y-%m-%d")]

    n_dumps = base.generate(args.root, args.dles, args.nights, args.tapes)
    base.write_config(args.root, args.dles)
    print(f"synthetic logdir: {args.dles} DLEs x {args.nights} nights = {n_dumps} dumps, {args.tapes} tapes")
    for f in (args.root / "log").iterdir():  # warm the page cache for both sides alike
        if f.is_file():
            f.read_bytes()
    history = [*coda, "history", disk, "--host", host, "--json", *src]
    plan = [*coda, "plan", disk, "--host", host, "--date", day, *now, "--json", *src]
    try:
        one = base.measure([*amadmin, host, disk], args.repeat)
        every = base.measure(amadmin, args.repeat)
        print(f"amadmin find {host} {disk}: {one[0]:.3f}s wall, {one[2]:.3f}s CPU, {one[1] / 2**20:.0f} MB")
        print(f"amadmin find (all DLEs): {every[0]:.3f}s wall, {every[2]:.3f}s CPU, {every[1] / 2**20:.0f} MB")
        start = base.measure([*coda, "--version"], args.repeat)
        print(f"start-up alone (coda-restore --version): {start[0]:.3f}s wall, {start[2]:.3f}s CPU")
        full = base.measure([*coda, "volumes", "--json", "--no-index", *src], 1)

        rows: list[tuple[str, tuple, str, tuple]] = []
        index_path.unlink(missing_ok=True)
        rows.append(("cold: first history (index built)", base.measure([*history, *index], 1),
                     "volumes --no-index (full read)", full))
        rows.append(("cold: index --rebuild", base.measure([*coda, "index", "--rebuild", *src, *index], 1),
                     "volumes --no-index (full read)", full))
        rows.append(("history, no index", base.measure([*history, "--no-index"], args.repeat),
                     f"amadmin find {host} {disk}", one))
        rows.append(("warm: history", base.measure([*history, *index], args.repeat), f"amadmin find {host} {disk}",
                     one))
        rows.append(("warm: plan", base.measure([*plan, *index], args.repeat), f"amadmin find {host} {disk}", one))
        rows.append(("volumes (reads every log)", base.measure([*coda, "volumes", "--json", *src, *index], 1),
                     "amadmin find (all DLEs)", every))
        rows.append(("check (reads every log)", base.measure([*coda, "check", "--json", *now, *src, *index], 1),
                     "amadmin find (all DLEs)", every))
        tapes: dict[str, str] = {}
        for line in (args.root / "tapelist").read_text().splitlines():
            ts, label = line.split()[:2]
            tapes[label] = ts
        after = []
        for k in range(args.repeat):  # each run: one more night, then its first call
            label, ts = base.write_night(args.root / "log", args.nights + k, dle_list, args.tapes)
            tapes[label] = ts
            base.write_tapelist(args.root, tapes)
            after.append(base.run_once([*history, *index]))
        after.sort()
        rows.append(("one more night: first history", after[len(after) // 2], f"amadmin find {host} {disk}", one))

        print(f"{'coda-restore':38} {'wall':>7} {'CPU':>7} {'peak RSS':>9} | {'peer':32} {'wall':>7} | ratio wall, CPU")
        for name, (t, rss, c), peer_name, (pt, _, pc) in rows:
            print(f"{name:38} {t:6.3f}s {c:6.3f}s {rss / 2**20:7.0f}MB | {peer_name:32} {pt:6.3f}s | "
                  f"{t / pt:5.2f}x {c / max(pc, 0.001):5.2f}x")
        size = sum(os.path.getsize(str(index_path) + s) for s in ("", "-wal") if os.path.exists(str(index_path) + s))
        logs = sum(f.stat().st_size for f in (args.root / "log").iterdir() if f.is_file())
        print(f"index size: {size / 2**20:.1f} MiB for {logs / 2**20:.0f} MiB of logs "
              f"({size / max(n_dumps, 1):.0f} bytes/dump)")
    finally:
        if not args.keep:
            shutil.rmtree(args.root, ignore_errors=True)
            shutil.rmtree(base.ETC, ignore_errors=True)


if __name__ == "__main__":
    main()
