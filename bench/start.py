#!/usr/bin/env python3
"""Benchmark of coda-restore's start and of a short ``run`` (issue 16).

In one run, each as a ratio to a peer measured alongside:

* ``coda-restore --version`` (the console script installed next to this
  interpreter) against ``python -c pass`` of the same interpreter
  (goal <= 3);
* ``coda-restore --help``, kept (its text in the cache: the usual case) and
  first (an empty cache: typer renders it), against the same peer;
* ``coda-restore run --output /dev/null`` of a three-image chain (a level 0
  and two incrementals) on ``bench.run``'s lab against the sum of bare
  ``amfetchdump -a -p`` of the same images (goal <= 1.2), with the time the
  run spends before its first amfetchdump.

    PYTHONPATH=testbed python3 -m bench.start                   # start-up only
    PYTHONPATH=testbed python3 -m bench.start --run [--quick] [--reuse]

The run part needs root, Amanda and libfaketime, as the lab does.  Prints
ratios; exits 0 whatever the numbers (it is not a test).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

SCRIPT = Path(sysconfig.get_path("scripts")) / "coda-restore"
ROUNDS = 21


def wall(argv: list[str], env: dict[str, str] | None = None, fresh_cache: bool = False) -> float:
    """Median wall time of ROUNDS runs (stdout to /dev/null)."""
    times = []
    for _ in range(ROUNDS):
        run_env = dict(env or os.environ)
        cache = tempfile.mkdtemp(prefix="start-bench.") if fresh_cache else None
        if cache:
            run_env["XDG_CACHE_HOME"] = cache
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=run_env, check=True)
        times.append(time.perf_counter() - start)
        if cache:
            shutil.rmtree(cache)
    return statistics.median(times)


def start_up() -> None:
    if not SCRIPT.exists():
        sys.exit(f"no coda-restore script next to {sys.executable}: install the package in this venv")
    editable = "__editable__" in subprocess.run([sys.executable, "-c", "import sys; print(sys.meta_path)"],
                                                 capture_output=True, text=True).stdout
    cache = tempfile.mkdtemp(prefix="start-bench.")
    env = {**os.environ, "XDG_CACHE_HOME": cache}
    try:
        peer = wall([sys.executable, "-c", "pass"], env)
        version = wall([str(SCRIPT), "--version"], env)
        kept = wall([str(SCRIPT), "--help"], env)  # the first round keeps the text, the median is kept ones
        first = wall([str(SCRIPT), "--help"], env, fresh_cache=True)
        sub = wall([str(SCRIPT), "run", "--help"], env)
    finally:
        shutil.rmtree(cache)
    print(f"{sys.executable} -c pass:  {peer * 1000:6.1f} ms (median of {ROUNDS})"
          + ("; an editable install: its import hook adds ~10 ms a wheel does not" if editable else ""))
    print(f"coda-restore --version:      {version * 1000:6.1f} ms  ratio {version / peer:.2f} (goal <= 3)")
    print(f"coda-restore --help, kept:   {kept * 1000:6.1f} ms  ratio {kept / peer:.2f}")
    print(f"coda-restore run --help, kept: {sub * 1000:4.1f} ms  ratio {sub / peer:.2f}")
    print(f"coda-restore --help, first:  {first * 1000:6.1f} ms  ratio {first / peer:.2f} (typer renders it)")


def short_run(quick: bool, reuse: bool) -> None:
    from bench import run as runbench
    from lab import builder

    size = (32 if quick else 256) * runbench.MiB
    t0 = time.monotonic()
    lab = builder.load_or_build(runbench.lab_spec(size), reuse=reuse, progress=lambda m: print(f"lab: {m}"))
    print(f"lab ready in {time.monotonic() - t0:.0f} s")
    cr = [str(SCRIPT)]
    date = "2026-06-04"  # a level 0 and two incrementals on this lab
    disk = "/coda/u.jan"
    steps = runbench.chain_steps(cr, disk, date)
    bare = runbench.bare_fetch(steps, disk)
    work = Path(tempfile.mkdtemp(prefix="start-bench."))
    events = work / "events.jsonl"
    try:
        t_run, _, r = runbench.peak_rss_of([*cr, "run", disk, "--config", runbench.CONFIG, "--date", date,
                                            "--workdir", str(work / "w"), "--output", "/dev/null",
                                            "--log-json", str(events)], cwd=runbench.ROOT)
        if r.returncode != 0:
            sys.exit(f"run failed:\n{r.stderr}")
        times = [json.loads(line) for line in events.read_text().splitlines()]
        data = next(e["time"] for e in times if e["step"] == "end") - next(
            e["time"] for e in times if e["step"] == "fetch")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"bare amfetchdump, {len(steps)} images: {bare:7.2f} s")
    print(f"run --output /dev/null:          {t_run:7.2f} s  ratio {t_run / bare:.2f} (goal <= 1.2)")
    print(f"  before the first amfetchdump (start-up, catalog, Amanda's settings, preflight): "
          f"{t_run - data:5.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", action="store_true", help="also the run of a three-image chain on the lab")
    ap.add_argument("--quick", action="store_true", help="with --run: a 32 MiB volume instead of 256 MiB")
    ap.add_argument("--reuse", action="store_true", help="with --run: reuse a lab built by an earlier run")
    args = ap.parse_args()
    start_up()
    if args.run:
        short_run(args.quick, args.reuse)


if __name__ == "__main__":
    main()
