#!/usr/bin/env python3
"""Benchmark: what amcoda's in-line checking costs on top of volutil dump.

A simulated Coda server (testbed/codasim) holds one volume with many
directories and a few large files.  Each run is a fresh process, timed as the
median of --repeat runs:

    the peer: the volutil calls amcoda makes, without amcoda:
        volutil info VOL; volutil info CLONE; volutil dump CLONE > /dev/null
    amcoda backup --level 0 --index line (fd 1, 3, 4 to /dev/null)

amcoda reads the same stream with the codec's reader (every record parsed,
directory pages decoded for the index) while copying it to fd 1, so the
ratio amcoda / volutil is the price of never passing on an unchecked dump.
Also printed: amcoda's own peak RSS (bounded: file data is never held), from
/usr/bin/time on the amcoda process alone.

Run:  PYTHONPATH=testbed python3 -m bench.amcoda [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codasim.clock import FakeClock
from codasim.server import Server

REPO = Path(__file__).resolve().parents[1]


def build(root: Path, dirs: int, files_per_dir: int, big_mb: int, bigs: int) -> int:
    clock = FakeClock(int(time.time()) - 600)
    server = Server(root, clock=clock)
    server.create_volume("bench.vol")
    with server.edit("bench.vol") as ed:
        for d in range(dirs):
            ed.mkdir(f"/d{d:04d}")
            for f in range(files_per_dir):
                ed.write(f"/d{d:04d}/f{f:03d}", os.urandom(512))
        for b in range(bigs):
            ed.write(f"/big{b}", os.urandom(big_mb << 20))
    rw = server.volume("bench.vol")
    server.lock(rw.id)
    return server.backup(rw.id)


def timed(argvs: list[list[str]], env: dict, pass_fds: bool) -> float:
    """Wall time of running the commands one after the other, output to /dev/null."""
    with open(os.devnull, "wb") as null:
        def fds():
            if pass_fds:  # fds 3 and 4 to /dev/null too (fd 1 is /dev/null here)
                os.dup2(1, 3)
                os.dup2(1, 4)
        t0 = time.perf_counter()
        for argv in argvs:
            p = subprocess.run(argv, stdout=null, stderr=subprocess.PIPE, env=env,
                               preexec_fn=fds, close_fds=False)
            if p.returncode != 0:
                raise SystemExit(f"{argv[0]} failed: {p.stderr.decode()[-500:]}")
        return time.perf_counter() - t0


def peak_rss_kib(argv: list[str], env: dict) -> int:
    """Peak RSS of the process itself (not its children), via GNU time."""
    with open(os.devnull, "wb") as null, tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%M", *argv], stdout=null,
                       stderr=subprocess.DEVNULL, env=env, check=True,
                       preexec_fn=lambda: (os.dup2(1, 3), os.dup2(1, 4)), close_fds=False)
        return int(out.read().split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a small volume, 3 runs")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    dirs, per_dir, big_mb, bigs = (50, 20, 8, 2) if args.quick else (200, 40, 32, 2)
    repeat = 3 if args.quick else args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = tmp / "state"
        clone = build(root, dirs, per_dir, big_mb, bigs)
        env = dict(os.environ, CODASIM_STATE=str(root), PYTHONPATH=f"{REPO / 'testbed'}:{REPO}")
        sim = tmp / "volutil"
        sim.write_text(f"#!/bin/sh\nexec {sys.executable} -m codasim.volutil_cli \"$@\"\n")
        sim.chmod(0o755)
        calls = (("info", "bench.vol"), ("info", f"{clone:08x}"), ("dump", f"{clone:08x}"))
        # the same answers, recorded: a "volutil" that is only cat, to see
        # amcoda's own cost and memory without the simulator's
        replay = tmp / "replay"
        lines = ["#!/bin/sh", 'case "$*" in']
        for i, call in enumerate(calls):
            out = tmp / f"answer{i}"
            out.write_bytes(subprocess.run([str(sim), *call], capture_output=True, env=env,
                                           check=True).stdout)
            lines.append(f'  "{" ".join(call)}") exec cat {out} ;;')
        lines += ['  *) echo "replay: $*" >&2; exit 1 ;;', "esac", ""]
        replay.write_text("\n".join(lines))
        replay.chmod(0o755)
        size = (tmp / "answer2").stat().st_size

        def amcoda(volutil: Path) -> list[str]:
            return [sys.executable, "-m", "coda_restore.amcoda", "backup", "--disk", "bench.vol",
                    "--level", "0", "--index", "line", "--volutil", str(volutil),
                    "--clone-max-age", "1d"]

        def median(argvs, fds):
            return statistics.median(timed(argvs, env, fds) for _ in range(repeat))

        t_sim = median([[str(sim), *c] for c in calls], False)
        t_am_sim = median([amcoda(sim)], True)
        t_cat = median([[str(replay), *c] for c in calls], False)
        t_am_cat = median([amcoda(replay)], True)
        rss = peak_rss_kib(amcoda(replay), env)
    mib = size / 2**20
    print(f"volume: {dirs} directories x {per_dir} files + {bigs} x {big_mb} MiB; "
          f"dump {mib:.1f} MiB; median of {repeat}")
    print("against the simulated server (volutil info, info, dump > /dev/null):")
    print(f"  volutil calls  {t_sim:7.3f} s   amcoda backup {t_am_sim:7.3f} s   "
          f"ratio {t_am_sim / t_sim:.2f}")
    print("against the recorded answers (a volutil that is cat):")
    print(f"  cat            {t_cat:7.3f} s   amcoda backup {t_am_cat:7.3f} s   "
          f"ratio {t_am_cat / t_cat:.2f}   amcoda {mib / t_am_cat:.0f} MiB/s")
    print(f"amcoda's peak RSS (replay, cat's included): {rss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
