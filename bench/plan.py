#!/usr/bin/env python3
"""Benchmark: `plan` and `check` against Amanda's own finder, same logdir.

Uses the catalog benchmark's synthetic Amanda 3.5 logdir (bench/catalog.py:
default 500 DLEs x 365 nights, 60 tapes round robin, a level 0 every 7
nights), with its own throwaway config /etc/amanda/codarestore-planbench, and
times, each as a fresh process (median of --repeat runs, page cache warm):

    coda-restore plan DISK --host HOST --date D --json   vs   amadmin CONF find HOST DISK
    coda-restore check --tapecycle 60 --json (all DLEs)  vs   amadmin CONF find

and prints the ratios (coda-restore / amadmin; < 1 means faster).  Goals:
plan <= 1x amadmin find for one volume; check a few seconds for 500 volumes.
Both coda-restore commands read every log (365), amadmin only the logs whose
datestamp is still in the tapelist (60).

Run as root (Amanda runs as user backup):  python3 -m bench.plan [--quick]
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _catalog_bench():
    spec = importlib.util.spec_from_file_location("bench_catalog", HERE / "catalog.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # Our own config and paths, so the two benchmarks can run side by side.
    mod.CONFIG = "codarestore-planbench"
    mod.ETC = Path("/etc/amanda") / mod.CONFIG
    return mod


def run_once(argv: list[str]) -> tuple[float, float, int]:
    """Wall time (s), CPU time (s, user + system: steadier on a shared
    machine) and peak RSS (bytes) of one fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if code not in (0, 3):  # 3: not restorable, still a complete answer
        sys.exit(f"{' '.join(argv)} exited {code}: {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def measure(argv: list[str], repeat: int) -> tuple[float, float, int]:
    runs = [run_once(argv) for _ in range(repeat)]
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
            max(r[2] for r in runs))


def main() -> None:
    cb = _catalog_bench()
    args = cb.parse_args(__doc__, Path("/var/tmp/codarestore-planbench"))
    coda = [sys.executable, "-m", "coda_restore"]
    src = ["--logdir", str(args.root / "log"), "--tapelist", str(args.root / "tapelist")]
    amadmin = ["runuser", "-u", "backup", "--", "amadmin", cb.CONFIG, "find"]
    last = cb.BASE + dt.timedelta(days=args.nights - 1)
    now = (last + dt.timedelta(hours=12)).strftime("%Y-%m-%d %H:%M")
    # A target a few nights back: a chain of several incrementals on tape.
    target = (last - dt.timedelta(days=3)).strftime("%Y-%m-%d")
    when = ["--now", now, "--tz", "UTC"]

    t0 = time.perf_counter()
    n_dumps = cb.generate(args.root, args.dles, args.nights, args.tapes)
    cb.write_config(args.root, args.dles)
    print(f"synthetic logdir: {args.dles} DLEs x {args.nights} nights = {n_dumps} dumps, {args.tapes} tapes "
          f"(built in {time.perf_counter() - t0:.1f} s)")
    for f in (args.root / "log").iterdir():
        if f.is_file():
            f.read_bytes()
    host, disk = cb.dles(args.dles)[args.dles // 2]
    try:
        rows = [
            (f"plan {disk} --date {target}",
             [*coda, "plan", disk, "--host", host, "--date", target, *when, "--json", *src],
             f"amadmin find {host} {disk}", [*amadmin, host, disk]),
            (f"check ({args.dles} volumes)",
             [*coda, "check", "--tapecycle", str(args.tapes), *when, "--json", *src],
             "amadmin find (all DLEs)", amadmin),
        ]
        print(f"{'coda-restore':34} {'wall':>7} {'cpu':>7} {'RSS':>6} | {'amadmin':34} {'wall':>7} {'cpu':>7} "
              f"{'RSS':>6} | ratio wall, cpu")
        for name, argv, peer_name, peer in rows:
            t, c, rss = measure(argv, args.repeat)
            pt, pc, prss = measure(peer, args.repeat)
            print(f"{name:34} {t:6.2f}s {c:6.2f}s {rss / 2**20:4.0f}MB | {peer_name:34} {pt:6.2f}s {pc:6.2f}s "
                  f"{prss / 2**20:4.0f}MB | {t / pt:5.2f}x {c / pc:5.2f}x")
    finally:
        if not args.keep:
            shutil.rmtree(args.root, ignore_errors=True)
            shutil.rmtree(cb.ETC, ignore_errors=True)


if __name__ == "__main__":
    main()
