#!/usr/bin/env python3
"""Benchmark of ``coda-restore scan`` and ``run --via amrestore`` (issue 17),
on the run benchmark's Coda lab (``bench/run.py``: config
``codarestore-runbench``, one volume with a large level 0 and three small
incrementals).  In one run:

* ``scan --vtapes`` of the lab's vtapes against reading them with bare
  ``amrestore -h`` (every file restored with its header into a directory, one
  amrestore per slot), and against amrestore's own header listing (a dumpspec
  that matches nothing: each header is printed, no data written); goal <= 1.2;
* ``run --via amrestore --scan FILE --output /dev/null`` against the same
  ``run --config`` through amfetchdump; goal <= 1.1.

    PYTHONPATH=testbed python3 -m bench.scan            # the 256 MiB lab of bench/run.py
    PYTHONPATH=testbed python3 -m bench.scan --quick    # its 32 MiB lab
    PYTHONPATH=testbed python3 -m bench.scan --reuse    # keep a lab built by an earlier run

Needs root, Amanda and libfaketime, as the lab does.  Prints ratios; exits 0
whatever the numbers (it is not a test).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.run import CONFIG, MiB, lab_spec  # the same lab
from lab import builder

ROOT = Path(__file__).resolve().parent.parent

AS_BACKUP = ["runuser", "-u", "backup", "--"]


def timed(argv: list[str], **kw) -> float:
    start = time.monotonic()
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, **kw)
    return time.monotonic() - start


def best(n: int, f) -> float:
    return min(f() for _ in range(n))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a 32 MiB volume instead of 256 MiB")
    ap.add_argument("--reuse", action="store_true", help="reuse a lab built by an earlier run")
    ap.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    args = ap.parse_args()
    size = (32 if args.quick else 256) * MiB
    lab = builder.load_or_build(lab_spec(size), reuse=args.reuse, progress=lambda m: print(f"lab: {m}"))
    vtapes = lab.vtapes
    slots = sorted(p for p in vtapes.glob("slot*") if any(p.iterdir()))
    cr = [sys.executable, "-m", "coda_restore"]
    work = Path(tempfile.mkdtemp(prefix="scanbench.", dir="/var/tmp"))
    shutil.chown(work, "backup")
    try:
        scan_file = work / "lab.scan"

        def scan() -> float:
            scan_file.unlink(missing_ok=True)
            return timed([*cr, "scan", "--vtapes", str(vtapes), "-o", str(scan_file)], cwd=ROOT)

        def amrestore_all() -> float:
            out = work / "restored"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            shutil.chown(out, "backup")
            t = sum(timed([*AS_BACKUP, "amrestore", "-h", f"file:{s}"], cwd=out) for s in slots)
            shutil.rmtree(out)
            return t

        def amrestore_list() -> float:
            return sum(timed([*AS_BACKUP, "amrestore", f"file:{s}", "no-such-host"], cwd=work) for s in slots)

        t_scan = best(args.repeat, scan)
        t_all = best(args.repeat, amrestore_all)
        t_list = best(args.repeat, amrestore_list)
        data = sum(f.stat().st_size for s in slots for f in s.iterdir())

        disk, date = "/coda/u.jan", "2026-06-04"

        def via(*how: str) -> float:
            wd = work / "wd"
            shutil.rmtree(wd, ignore_errors=True)
            return timed([*cr, "run", disk, "--date", date, "--workdir", str(wd), "--output", "/dev/null", *how],
                         cwd=ROOT)

        t_fetchdump = best(args.repeat, lambda: via("--config", CONFIG))
        t_amrestore = best(args.repeat, lambda: via("--scan", str(scan_file), "--via", "amrestore"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(slots)} vtapes, {data / MiB:.0f} MiB; best of {args.repeat}")
    print(f"coda-restore scan --vtapes:                 {t_scan:7.2f} s")
    print(f"bare amrestore -h of every file, per slot:  {t_all:7.2f} s  ratio {t_scan / t_all:.2f} (goal <= 1.2)")
    print(f"amrestore header listing only, per slot:    {t_list:7.2f} s  ratio {t_scan / t_list:.2f}")
    print(f"run --output /dev/null via amfetchdump:     {t_fetchdump:7.2f} s")
    print(f"run --output /dev/null via amrestore:       {t_amrestore:7.2f} s  ratio {t_amrestore / t_fetchdump:.2f} "
          "(goal <= 1.1)")


if __name__ == "__main__":
    main()
