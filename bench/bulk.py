#!/usr/bin/env python3
"""Benchmark of the bulk run (issue 15): a whole server back to one date.

Builds (or reuses) a bulk lab (``testbed/lab/bulk_lab.py``): 40 volumes
dumped by real Amanda through amcoda for 7 nights on 6 vtapes (5 in the
cycle: tapes are reused, incrementals lie on tapes before their level 0).
Then, in one run, for the last night:

* the sum of bare ``amfetchdump -a -p ... > /dev/null`` times of every image
  the schedule reads, tape after tape, each tape once (the peer);
* ``run --plan BULK`` with one drive, and with two drives (volutil restores
  into the simulator included, ``--restores-per-server 2``);
* the same restores volume by volume with ``run VOLUME --date``;

and prints the ratios (goals: one drive within 1.15 x the tape-read sum,
two drives >= 1.7 x faster than one), the staging directory's peak (sampled
every 20 ms) against ``--staging-max``, whether each tape was taken once,
and whether every restored volume equals the simulator's state.

    PYTHONPATH=testbed python3 -m bench.bulk --reuse          # 40 volumes
    PYTHONPATH=testbed python3 -m bench.bulk --quick --reuse  # the lab tests' 6 volumes

Needs root, Amanda and libfaketime.  Exits 0 whatever the numbers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from lab import builder
from lab.bulk_lab import BulkLab, load_or_build
from lab.coda_lab import CodaLab, at_epoch, checkout_tool

CODA_RESTORE = str(Path(sys.executable).with_name("coda-restore"))
FULL = BulkLab(volumes=40, nights=7, slots=6, config="codarestore-bulkbench")
QUICK = BulkLab()  # the lab tests' own


def cr(*args, check_status=(0, 10)) -> tuple[float, subprocess.CompletedProcess]:
    t = time.monotonic()
    done = subprocess.run([CODA_RESTORE, *map(str, args)], capture_output=True, text=True)
    if done.returncode not in check_status:
        raise SystemExit(f"coda-restore {' '.join(map(str, args))} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return time.monotonic() - t, done


def purge(lab: CodaLab, day: str) -> None:
    server = lab.server()
    for v in server.volumes():
        if v.name.endswith(f".{day}"):
            server.purge(v.id, v.name)


def tape_read_sum(lab: CodaLab, schedule: dict) -> float:
    """Every image the schedule reads, by bare amfetchdump, tape after tape."""
    total = 0.0
    for tape in schedule["tapes"]:
        for f in tape["files"]:
            if f["partnum"] != 1:
                continue
            t = time.monotonic()
            subprocess.run(["runuser", "-u", "backup", "--", "amfetchdump", "-a", "-p", "--exact-match", lab.config,
                            f["host"], f["disk"], f["datestamp"], str(f["level"])],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            total += time.monotonic() - t
    return total


class DirPeak:
    """The most bytes a directory held, sampled every 20 ms."""

    def __init__(self, path: Path):
        self.path, self.peak, self._stop = path, 0, threading.Event()
        self._t = threading.Thread(target=self._watch, daemon=True)
        self._t.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            try:
                size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
            except OSError:
                continue
            self.peak = max(self.peak, size)

    def stop(self) -> int:
        self._stop.set()
        self._t.join()
        return self.peak


def bulk_run(lab: CodaLab, work: Path, day: str, date: str, drives: int, budget: str) -> dict:
    purge(lab, day)
    plan = work / f"bulk{drives}.plan"
    staging = work / f"staging{drives}"
    staging.mkdir()
    cr("plan", "--all", "--date", date, "--drives", drives, "--staging", staging, "--staging-max", budget,
       "--config", lab.config, "--now", "2026-07-01", "-o", plan, check_status=(0, 10, 11))
    peak = DirPeak(staging)
    seconds, done = cr("run", "--plan", plan, "--config", lab.config, "--server", "localhost", "--partition",
                       "/vicepa", "--workdir", work / f"w{drives}", "--volutil", checkout_tool(lab.lab.root, work / "bin"),
                       "--restores-per-server", 2, "--now", "2026-07-01", "--json")
    report = json.loads(done.stdout)
    report["wall"], report["staging_peak"] = seconds, peak.stop()
    report["schedule"] = json.loads(plan.read_text())["schedule"]
    journal = json.loads(next((work / f"w{drives}").glob("bulk-*/bulk-journal.json")).read_text())
    labels = [f["label"] for f in journal["fetches"]]
    # each tape once: a tape's amfetchdumps are one unbroken run on its drive
    report["tapes_once"] = len(set(report["tapes_read"])) == len(report["tapes_read"])
    report["fetches_per_tape"] = {lb: labels.count(lb) for lb in set(labels)}
    return report


def exact(lab: CodaLab, report: dict, night: str) -> tuple[int, int]:
    at = at_epoch(lab.night(night).at) + 60
    restored = [v for v in report["volumes"] if v["outcome"] == "restored"]
    good = sum(lab.server().state(v["restored_name"]) == lab.server().state_at(v["disk"].rsplit("/", 1)[1], at)
               for v in restored)
    return good, len(restored)


def one_by_one(lab: CodaLab, work: Path, day: str, date: str, volumes: list[dict]) -> float:
    purge(lab, day)
    total = 0.0
    for v in volumes:
        if v["outcome"] != "restored":
            continue
        seconds, _ = cr("run", v["disk"], "--date", date, "--config", lab.config, "--server", "localhost",
                        "--partition", "/vicepa", "--workdir", work / "single", "--volutil",
                        checkout_tool(lab.lab.root, work / "bin"), "--now", "2026-07-01")
        total += seconds
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the lab tests' 6 volumes instead of 40")
    ap.add_argument("--reuse", action="store_true", help="reuse a lab built by an earlier run")
    ap.add_argument("--budget", default="200K", help="--staging-max for the bulk plans (default 200K)")
    args = ap.parse_args()
    desc = QUICK if args.quick else FULL
    builder.check_can_build()
    with builder.session_lock(desc.spec()) as share:
        lab = load_or_build(desc, reuse=args.reuse, progress=lambda m: print(f"lab: {m}", file=sys.stderr))
        share()
        night = lab.nights[-1]
        date, day = night.at[:10], night.at[:10].replace("-", "")
        with tempfile.TemporaryDirectory(prefix="bulkrun-bench-", dir="/var/tmp") as tmp:
            work = Path(tmp)
            one = bulk_run(lab, work, day, date, 1, args.budget)
            read_sum = tape_read_sum(lab, one["schedule"])
            two = bulk_run(lab, work, day, date, 2, args.budget)
            good, restored = exact(lab, two, night.name)
            seq = one_by_one(lab, work, day, date, two["volumes"])
            purge(lab, day)
    tapes = len(one["schedule"]["tapes"])
    print(f"lab {desc.config}: {desc.volumes} volumes, {tapes} tapes read for {date}; "
          f"{one['totals']['restored']} restored, {one['totals']['refused']} refused")
    print(f"tape-read sum (bare amfetchdump, each image once): {read_sum:7.2f} s")
    print(f"bulk, 1 drive:                                     {one['wall']:7.2f} s  "
          f"ratio to tape-read sum {one['wall'] / read_sum:.2f} (goal <= 1.15)")
    print(f"bulk, 2 drives:                                    {two['wall']:7.2f} s  "
          f"speed-up over 1 drive {one['wall'] / two['wall']:.2f} (goal >= 1.7)")
    print(f"volume by volume (run VOLUME --date):              {seq:7.2f} s  "
          f"bulk 2 drives is {seq / two['wall']:.2f} x faster")
    for name, r in (("1 drive", one), ("2 drives", two)):
        print(f"{name}: staging peak {r['staging_peak']} bytes (budget --staging-max {args.budget}; "
              f"plan's peak {r['schedule']['peak_spool_kb']} KiB); each tape taken once: {r['tapes_once']}")
    print(f"restored exactly (2 drives, vs the simulator's state): {good} of {restored}")


if __name__ == "__main__":
    main()
