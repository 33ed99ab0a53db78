#!/usr/bin/env python3
"""Benchmark of ``coda-restore verify`` (issue 15, restore drills), on a
Coda lab like the run benchmark's (``bench.run``, config
``codarestore-verifybench``: one volume with a large level 0 and three small incrementals written by
amdump through amcoda, whose index lines Amanda keeps).

In one run, for the same chain:

* bare ``amfetchdump -a -p ... > /dev/null`` of every image (the peer: the
  tape reads a drill cannot avoid);
* ``coda-restore run --output /dev/null`` (fetch, validate, merge);
* ``coda-restore verify`` (fetch, validate every image and the merged
  volume with their names, compare with the index files);

and prints verify's wall time as a ratio to each, and its peak RSS.

    PYTHONPATH=testbed python3 -m bench.verify            # a 256 MiB volume
    PYTHONPATH=testbed python3 -m bench.verify --quick    # 32 MiB
    PYTHONPATH=testbed python3 -m bench.verify --reuse    # keep a lab built by an earlier run

Needs root, Amanda and libfaketime, as the lab does.  Prints ratios; exits 0
whatever the numbers (it is not a test).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from bench.run import MiB, ROOT, bare_fetch, bench_lab, chain_steps, peak_rss_of

CONFIG = "codarestore-verifybench"  # its own config: bench.run may be rebuilding its lab meanwhile
DATE = "2026-06-04"
DISK = "/coda/u.jan"


def main() -> None:
    bench_lab(__doc__.split("\n\n")[0], CONFIG)
    cr = [sys.executable, "-m", "coda_restore"]
    steps = chain_steps(cr, DISK, DATE, CONFIG)
    bare = bare_fetch(steps, DISK, CONFIG)
    work = Path(tempfile.mkdtemp(prefix="verifybench."))
    try:
        t_run, rss_run, r = peak_rss_of([*cr, "run", DISK, "--config", CONFIG, "--date", DATE, "--workdir",
                                         str(work / "run"), "--output", "/dev/null"], cwd=ROOT)
        if r.returncode != 0:
            sys.exit(f"run --output failed:\n{r.stderr}")
        report = work / "drill.json"
        t_ver, rss_ver, r = peak_rss_of([*cr, "verify", DISK, "--config", CONFIG, "--date", DATE, "--workdir",
                                         str(work / "verify"), "--report", str(report), "--quiet"], cwd=ROOT)
        if r.returncode != 0:
            sys.exit(f"verify did not prove the chain (exit {r.returncode}):\n{r.stderr}\n"
                     f"{report.read_text() if report.exists() else ''}")
        (proof,) = json.loads(report.read_text())["volumes"]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    names = sum(i["names"]["index_lines_checked"] for i in proof["images"])
    print(f"verify proved {len(proof['steps'])} dump(s), {len(proof['links']['checked'])} link(s), "
          f"{names} index name(s); merged volume {proof['merged']['bytes'] // MiB} MiB, "
          f"{proof['merged']['vnodes']} vnodes")
    print(f"bare amfetchdump, {len(steps)} images: {bare:7.2f} s")
    print(f"run --output /dev/null:          {t_run:7.2f} s  ratio to bare amfetchdump {t_run / bare:.2f}")
    print(f"verify:                          {t_ver:7.2f} s  ratio to bare amfetchdump {t_ver / bare:.2f}, "
          f"to run --output /dev/null {t_ver / t_run:.2f}")
    print(f"peak RSS: verify {rss_ver / MiB:.0f} MiB, run --output {rss_run / MiB:.0f} MiB")


if __name__ == "__main__":
    main()
