#!/usr/bin/env python3
"""Benchmark of ``coda-restore run`` (issue 6), on a Coda lab of its own.

Builds (or, with --reuse, reuses) a real-Amanda Coda lab, config
``codarestore-runbench``: one volume with a large level 0 and three small
incrementals, written by amdump through amcoda and the simulated server.
Then, in one run:

* the wall time of ``coda-restore run --output /dev/null`` (fetch, verify,
  merge: everything coda-restore does) against the sum of bare
  ``amfetchdump -a -p ... > /dev/null`` times for the same images, as a
  ratio (goal <= 1.2);
* the same ``run`` into the simulator's ``volutil restore -f`` and its dump
  back (the simulator's own cost is included there; it is not
  coda-restore's), with the time of its restore and verify phases against
  its fetch-and-merge phase;
* the peak RSS of the coda-restore process itself (VmHWM; goal < 150 MiB).

    PYTHONPATH=testbed python3 -m bench.run            # a 256 MiB volume
    PYTHONPATH=testbed python3 -m bench.run --quick    # 32 MiB
    PYTHONPATH=testbed python3 -m bench.run --reuse    # keep a lab built by an earlier run

Needs root, Amanda and libfaketime, as the lab does.  Prints ratios; exits 0
whatever the numbers (it is not a test).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codasim.server import Server
from lab import builder
from lab.coda_lab import Night, spec, volutil_wrapper

ROOT = Path(__file__).resolve().parent.parent

CONFIG = "codarestore-runbench"
MiB = 1 << 20


class Fill:
    """The first night's edit: SIZE bytes in files of 4 MiB."""

    def __init__(self, size: int):
        self.size = size

    def __repr__(self) -> str:  # part of the lab's fingerprint
        return f"Fill({self.size})"

    def __call__(self, s: Server) -> None:
        with s.edit("u.jan") as ed:
            ed.mkdir("/data")
            for i in range(self.size // (4 * MiB)):
                ed.write(f"/data/f{i:04d}", os.urandom(4 * MiB))
        with s.edit("p.proj") as ed:
            ed.write("/x", b"x")


class Touch:
    def __init__(self, tag: str):
        self.tag = tag

    def __repr__(self) -> str:
        return f"Touch({self.tag})"

    def __call__(self, s: Server) -> None:
        with s.edit("u.jan") as ed:
            ed.write(f"/note-{self.tag}", os.urandom(64 * 1024))


def lab_spec(size: int, config: str = CONFIG):
    nights = (Night("b1", "2026-06-01 01:00:00", Fill(size)),
              Night("b2", "2026-06-02 01:00:00", Touch("b2")),
              Night("b3", "2026-06-03 01:00:00", Touch("b3")),
              Night("b4", "2026-06-04 01:00:00", Touch("b4")))
    mb = size // 1024
    return spec(nights, config=config, slots=6, tapecycle=6,
                tape_length_kb=4 * mb + 65536, part_size_kb=2 * mb + 1024)


def peak_rss_of(argv: list[str], **kw) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall time, the process's own VmHWM (bytes), and its result."""
    start = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    hwm = 0
    status = Path(f"/proc/{p.pid}/status")
    while p.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]) * 1024)
        except OSError:
            pass
        time.sleep(0.02)
    err = p.stderr.read().decode()
    p.wait()
    return time.monotonic() - start, hwm, subprocess.CompletedProcess(argv, p.returncode, "", err)


def bare_fetch(steps: list[dict], disk: str, config: str = CONFIG) -> float:
    """The peer: bare amfetchdump of the chain's images, each read once, as Amanda's user."""
    total = 0.0
    for s in steps:
        argv = ["runuser", "-u", "backup", "--", "amfetchdump", "-a", "-p", "--exact-match", config,
                "localhost", disk, s["datestamp"], str(s["level"])]
        start = time.monotonic()
        with open(os.devnull, "wb") as null:
            subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=null, stderr=subprocess.DEVNULL, check=True)
        total += time.monotonic() - start
    return total


def bench_lab(description: str, config: str = CONFIG):
    """The lab the options ask for (--quick, --reuse), built or reused."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="a 32 MiB volume instead of 256 MiB")
    ap.add_argument("--reuse", action="store_true", help="reuse a lab built by an earlier run")
    args = ap.parse_args()
    size = (32 if args.quick else 256) * MiB
    t0 = time.monotonic()
    lab = builder.load_or_build(lab_spec(size, config), reuse=args.reuse, progress=lambda m: print(f"lab: {m}"))
    print(f"lab ready in {time.monotonic() - t0:.0f} s")
    return lab


def chain_steps(cr: list[str], disk: str, date: str, config: str = CONFIG) -> list[dict]:
    """The plan's steps for DISK at DATE, printed in one line."""
    plan = subprocess.run([*cr, "plan", disk, "--config", config, "--date", date, "--json"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    steps = json.loads(plan.stdout)["steps"]
    print(f"chain: {', '.join(s['datestamp'] + '/' + str(s['level']) for s in steps)}; "
          f"{sum(s['kb'] or 0 for s in steps) // 1024} MiB")
    return steps


def main() -> None:
    lab = bench_lab(__doc__.split("\n\n")[0])
    cr = [sys.executable, "-m", "coda_restore"]
    disk = "/coda/u.jan"
    steps = chain_steps(cr, disk, "2026-06-04")

    bare = bare_fetch(steps, disk)

    work = Path(tempfile.mkdtemp(prefix="runbench."))
    events = work / "events.jsonl"
    try:
        t_out, rss_out, r = peak_rss_of([*cr, "run", disk, "--config", CONFIG, "--date", "2026-06-04",
                                         "--workdir", str(work), "--output", "/dev/null",
                                         "--log-json", str(events)], cwd=ROOT)
        if r.returncode != 0:
            sys.exit(f"run --output failed:\n{r.stderr}")
        # the data phase: from the first amfetchdump started to the end
        times = [json.loads(line) for line in events.read_text().splitlines()]
        first_fetch = next(e["time"] for e in times if e["step"] == "fetch")
        t_data = next(e["time"] for e in times if e["step"] == "end") - first_fetch
        name = f"u.jan.b{int(time.time()) % 100000}"
        events_vol = work / "events-volutil.jsonl"
        t_vol, rss_vol, r = peak_rss_of([*cr, "run", disk, "--config", CONFIG, "--date", "2026-06-04",
                                         "--workdir", str(work), "--server", "localhost", "--partition",
                                         "/vicepa", "--name", name, "--volutil",
                                         str(volutil_wrapper(lab.root)), "--log-json", str(events_vol)],
                                        cwd=ROOT)
        if r.returncode != 0:
            sys.exit(f"run into volutil failed:\n{r.stderr}")
        ev = [json.loads(line) for line in events_vol.read_text().splitlines()]
        t_merged = next(e["time"] for e in ev if e["step"] == "merge" and e["finished"])
        t_fetch0 = next(e["time"] for e in ev if e["step"] == "fetch")
        t_restore = next(e["time"] for e in ev if e["step"] == "restore" and e["finished"])
        t_verified = next(e["time"] for e in ev if e["step"] == "verify" and e["finished"] and e["dump"] is None)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"bare amfetchdump, {len(steps)} images:      {bare:7.2f} s")
    print(f"run --output /dev/null:               {t_out:7.2f} s  ratio {t_out / bare:.2f} (goal <= 1.2)")
    print(f"  of which the data phase (first amfetchdump to the end): {t_data:7.2f} s  ratio {t_data / bare:.2f}; "
          f"the rest is start-up, the catalog and preflight")
    print(f"run into the simulator's volutil:     {t_vol:7.2f} s  ratio {t_vol / bare:.2f} (simulator included)")
    fetch_merge = t_merged - t_fetch0
    print(f"  fetch and merge into the staged file: {fetch_merge:7.2f} s; volutil restore -f: "
          f"{t_restore - t_merged:7.2f} s; the dump back and compare: {t_verified - t_restore:7.2f} s "
          f"(ratio to fetch and merge {(t_verified - t_restore) / fetch_merge:.2f}, simulator included)")
    print(f"peak RSS of coda-restore: {rss_out / MiB:.0f} MiB (--output), {rss_vol / MiB:.0f} MiB (volutil); "
          f"goal < 150 MiB")


if __name__ == "__main__":
    main()
