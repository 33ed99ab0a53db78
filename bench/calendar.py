#!/usr/bin/env python3
"""Benchmark: what the restorability calendar costs over `check --json`.

On bench/catalog.py's synthetic logdir (default 500 DLEs x 365 nights, 60
tapes), each as a fresh process (median of --repeat runs, page cache warm):

    coda-restore check --json             (the peer)
    coda-restore check --html FILE --force (the same report, and the page)

It prints both times, the ratio (html / json), the page's size and the
JSON's.  Needs no Amanda config (explicit --logdir and --tapelist), but
bench/catalog.py's argument check wants root.

    python3 -m bench.calendar [--quick]
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import time
from pathlib import Path

from bench.catalog import BASE, generate, measure, parse_args


def main() -> None:
    args = parse_args(__doc__, Path("/var/tmp/codarestore-bench-calendar"))
    t0 = time.perf_counter()
    n_dumps = generate(args.root, args.dles, args.nights, args.tapes)
    print(f"synthetic logdir: {args.dles} DLEs x {args.nights} nights = {n_dumps} dumps, {args.tapes} tapes "
          f"(built in {time.perf_counter() - t0:.1f} s)")
    last = (BASE + dt.timedelta(days=args.nights - 1)).strftime("%Y-%m-%d")
    # --now on the last night and a month's max age: exit 0, as run_once wants
    check = [sys.executable, "-m", "coda_restore", "check", "--now", last, "--tz", "UTC", "--max-age", "30d",
             "--tapecycle", str(args.tapes),
             "--logdir", str(args.root / "log"), "--tapelist", str(args.root / "tapelist")]
    page, doc = args.root / "calendar.html", args.root / "check.json"
    try:
        t_json, rss_json, c_json = measure([*check, "--json"], args.repeat)
        t_html, rss_html, c_html = measure([*check, "--html", str(page), "--force"], args.repeat)
        with doc.open("w") as out:  # once more, for its size
            import subprocess

            subprocess.run([*check, "--json"], stdout=out, check=True)
        print(f"check --json         {t_json:6.2f}s wall {c_json:6.2f}s CPU {rss_json / 2**20:5.0f}MB  "
              f"({doc.stat().st_size / 1e3:.0f} kB of JSON)")
        print(f"check --html --force {t_html:6.2f}s wall {c_html:6.2f}s CPU {rss_html / 2**20:5.0f}MB  "
              f"({page.stat().st_size / 1e3:.0f} kB page)")
        print(f"ratio html / json: {t_html / t_json:.2f}x wall, {c_html / max(c_json, 0.001):.2f}x CPU")
    finally:
        if not args.keep:
            shutil.rmtree(args.root, ignore_errors=True)


if __name__ == "__main__":
    main()
