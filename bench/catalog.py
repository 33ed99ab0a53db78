#!/usr/bin/env python3
"""Benchmark: coda-restore's catalog against Amanda's own finder, same logdir.

Builds a large synthetic Amanda 3.5 logdir (default 500 DLEs x 365 nights,
one run a night, a tapelist of 60 tapes written round robin, so only the
last 60 nights are still on media), a throwaway Amanda config
/etc/amanda/codarestore-bench pointing at it, and then times, each as a
fresh process (median of --repeat runs, page cache warm for both):

    coda-restore history DISK --host HOST --json   vs   amadmin CONF find HOST DISK
    coda-restore volumes --json                    vs   amadmin CONF find

It prints the time ratios (coda-restore / amadmin; < 1 means faster) and the
peak RSS of each process, and coda-restore's peak RSS per dump known.
Note the two do not do the same work: amadmin reads only the logs whose
datestamp is still in the tapelist (60), coda-restore reads every log (365),
so that it can also report the dumps that are gone.

Run as root (Amanda runs as user backup):  python3 -m bench.catalog [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

CONFIG = "codarestore-bench"
ETC = Path("/etc/amanda") / CONFIG
HOSTS = 5
FULL_EVERY = 7  # a level 0 every 7 nights per DLE, staggered
SPLIT_FULL_PARTS = 3  # level 0s are split in parts
BASE = dt.datetime(2025, 1, 1, 1, 0, 0)


def dles(n: int) -> list[tuple[str, str]]:
    return [(f"coda{i % HOSTS + 1}.example.org", f"u.user{i:04d}") for i in range(n)]


def generate(root: Path, n_dles: int, nights: int, n_tapes: int) -> int:
    """Write logdir, tapelist; return the number of dumps written."""
    logdir = root / "log"
    if root.exists():
        shutil.rmtree(root)
    (logdir / "oldlog").mkdir(parents=True)
    dle_list = dles(n_dles)
    tapelist: dict[str, str] = {}
    for night in range(nights):
        label, ts = write_night(logdir, night, dle_list, n_tapes)
        tapelist[label] = ts
    write_tapelist(root, tapelist)
    return n_dles * nights


def write_tapelist(root: Path, tapelist: dict[str, str]) -> None:
    lines = [f"{ts} {label} reuse BLOCKSIZE:32 POOL:{CONFIG} STORAGE:{CONFIG} CONFIG:{CONFIG}"
             for label, ts in sorted(tapelist.items(), key=lambda kv: kv[1], reverse=True)]
    (root / "tapelist").write_text("\n".join(lines) + "\n")


def write_night(logdir: Path, night: int, dle_list: list[tuple[str, str]], n_tapes: int) -> tuple[str, str]:
    """One night's log (night 0 is BASE); its (label, datestamp)."""
    crc = "6f7806ac:307200"
    ts = (BASE + dt.timedelta(days=night)).strftime("%Y%m%d%H%M%S")
    label = f"BENCH-{night % n_tapes + 1:03d}"
    out = [f"INFO amdump amdump pid {1000 + night}", f"START planner date {ts}"]
    out += [f"DISK planner {h} {d}" for h, d in dle_list]
    out += [f"START driver date {ts}", "STATS driver hostname bench", "STATS driver startup time 0.031",
            f'START taper datestamp {ts} "ST:{CONFIG}" "POOL:{CONFIG}" label {label} tape 1']
    filenum = 0
    for i, (h, d) in enumerate(dle_list):
        level = 0 if (night + i) % FULL_EVERY == 0 else 1 + (night + i) % FULL_EVERY // 4
        kb = 5000 if level == 0 else 300
        out.append(f"SUCCESS dumper {h} {d} {ts} {level} {crc} {crc} [sec 0.085 kb {kb} kps 3505.5 orig-kb {kb}]")
        out.append(f"SUCCESS chunker {h} {d} {ts} {level} {crc} [sec 1.046642 kb {kb} kps 286.630959]")
        out.append(f"STATS driver estimate {h} {d} {ts} {level} [sec 0 nkb {kb} ckb {kb} kps 1024]")
        nparts = SPLIT_FULL_PARTS if level == 0 else 1
        for p in range(1, nparts + 1):
            filenum += 1
            out.append(f'PART taper "ST:{CONFIG}" "POOL:{CONFIG}" {label} {filenum} {h} {d} {ts} {p}/-1 {level} '
                       f"[sec 0.000468 bytes {kb * 1024 // nparts} kps 273504.273504 orig-kb {kb}]")
        out.append(f'DONE taper "ST:{CONFIG}" "POOL:{CONFIG}" {h} {d} {ts} {nparts} {level} {crc} {crc} {crc} '
                   f"[sec 0.100000 bytes {kb * 1024} kps 3000.000000 orig-kb {kb}]")
    out.append(f"INFO taper tape {label} kb 1 fm {filenum} [OK]")
    out += [f"FINISH driver date {ts} time 3.761", f"INFO amdump pid-done {1000 + night}"]
    (logdir / f"log.{ts}.0").write_text("\n".join(out) + "\n")
    return label, ts


def write_config(root: Path, n_dles: int) -> None:
    ETC.mkdir(parents=True, exist_ok=True)
    (ETC / "amanda.conf").write_text(f'''org "{CONFIG}"
mailto ""
dumpuser "backup"
dumpcycle 7
tapecycle 60
logdir "{root}/log"
tapelist "{root}/tapelist"
infofile "{root}/curinfo"
indexdir "{root}/index"
tpchanger "chg-disk:{root}/vtapes"
labelstr "^BENCH-[0-9][0-9]*$"
define dumptype bench {{
  program "GNUTAR"
  auth "local"
  compress none
  index no
}}
''')
    (ETC / "disklist").write_text("".join(f"{h} {d} /srv/{d} bench\n" for h, d in dles(n_dles)))
    for sub in ("curinfo", "index", "vtapes"):
        (root / sub).mkdir(exist_ok=True)
    subprocess.run(["chown", "-R", "backup:backup", str(root), str(ETC)], check=True)


def run_once(argv: list[str]) -> tuple[float, int, float]:
    """Wall time (s), peak RSS (bytes) and CPU time (s, user + system) of one
    fresh process (the machine may be shared: CPU time is the steadier)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}: {err[-2000:]}")
    return elapsed, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def measure(argv: list[str], repeat: int) -> tuple[float, int, float]:
    runs = [run_once(argv) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs), statistics.median(r[2] for r in runs)


def parse_args(doc: str, root: Path) -> argparse.Namespace:
    """The synthetic logdir's options, shared with bench/plan.py."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="50 DLEs x 60 nights, 12 tapes")
    ap.add_argument("--dles", type=int, default=500)
    ap.add_argument("--nights", type=int, default=365)
    ap.add_argument("--tapes", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--root", type=Path, default=root)
    ap.add_argument("--keep", action="store_true", help="keep the logdir and the Amanda config afterwards")
    args = ap.parse_args()
    if args.quick:
        args.dles, args.nights, args.tapes = 50, 60, 12
    if os.geteuid() != 0:
        sys.exit("run as root: amadmin must run as user backup (runuser)")
    return args


def main() -> None:
    args = parse_args(__doc__, Path("/var/tmp/codarestore-bench"))
    coda = [sys.executable, "-m", "coda_restore"]
    src = ["--logdir", str(args.root / "log"), "--tapelist", str(args.root / "tapelist")]
    amadmin = ["runuser", "-u", "backup", "--", "amadmin", CONFIG, "find"]

    t0 = time.perf_counter()
    n_dumps = generate(args.root, args.dles, args.nights, args.tapes)
    write_config(args.root, args.dles)
    size = sum(f.stat().st_size for f in (args.root / "log").iterdir() if f.is_file())
    print(f"synthetic logdir: {args.dles} DLEs x {args.nights} nights = {n_dumps} dumps, "
          f"{args.tapes} tapes, {size / 1e6:.0f} MB of logs (built in {time.perf_counter() - t0:.1f} s)")
    # Warm the page cache for both sides alike.
    for f in (args.root / "log").iterdir():
        if f.is_file():
            f.read_bytes()
    host, disk = dles(args.dles)[args.dles // 2]
    try:
        _, base_rss, _ = measure([*coda, "--version"], 1)
        # The logs Amanda reads (datestamp still in the tapelist), alone in a
        # logdir: the same work for both sides.
        same = args.root / "log-searched"
        same.mkdir(exist_ok=True)
        stamps = {line.split()[0] for line in (args.root / "tapelist").read_text().splitlines()}
        for f in (args.root / "log").iterdir():
            if f.name.startswith("log.") and f.name.split(".")[1] in stamps:
                (same / f.name).symlink_to(f)
        rows = [
            (f"history {disk} --host {host}", [*coda, "history", disk, "--host", host, "--json", *src],
             f"amadmin find {host} {disk}", [*amadmin, host, disk]),
            ("volumes", [*coda, "volumes", "--json", *src], "amadmin find (all DLEs)", amadmin),
            (f"volumes, only the {len(stamps)} logs amadmin reads",
             [*coda, "volumes", "--json", "--logdir", str(same), "--tapelist", str(args.root / "tapelist")],
             "amadmin find (all DLEs)", amadmin),
        ]
        t_start, _, c_start = measure([*coda, "--version"], args.repeat)
        print(f"start-up alone (coda-restore --version): {t_start:.2f}s wall, {c_start:.2f}s CPU, "
              f"{base_rss / 2**20:.0f} MB")
        print(f"{'coda-restore':44} {'wall':>7} {'CPU':>7} {'peak RSS':>9} | {'amadmin':34} {'wall':>7} {'CPU':>7} "
              f"{'peak RSS':>9} | ratio wall, CPU")
        for name, argv, peer_name, peer in rows:
            t, rss, c = measure(argv, args.repeat)
            pt, prss, pc = measure(peer, args.repeat)
            print(f"{name:44} {t:6.2f}s {c:6.2f}s {rss / 2**20:7.0f}MB | {peer_name:34} {pt:6.2f}s {pc:6.2f}s "
                  f"{prss / 2**20:7.0f}MB | {t / pt:5.2f}x {c / max(pc, 0.001):5.2f}x")
            if name == "volumes":
                per_dump = rss / n_dumps
                net = (rss - base_rss) / n_dumps
                print(f"memory: volumes peak RSS {rss / 2**20:.0f} MB for {n_dumps} dumps = {per_dump:.0f} bytes/dump "
                      f"({net:.0f} bytes/dump above the {base_rss / 2**20:.0f} MB of a bare start-up)")
    finally:
        if not args.keep:
            shutil.rmtree(args.root, ignore_errors=True)
            shutil.rmtree(ETC, ignore_errors=True)


if __name__ == "__main__":
    main()
