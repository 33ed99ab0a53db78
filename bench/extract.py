#!/usr/bin/env python3
"""Benchmark of ``coda-restore extract`` and ``ls`` (issue 4).

Generates a full dump of DIRS directories of FILES files each (random sizes
up to 40 KiB, built with the project's writer), writes the same tree as a tar
with ``extract --tar``, then measures in one run, alternating, best of N:

* ``coda-restore extract DUMP --to DIR`` against GNU ``tar -xf`` of the same
  tree into an empty directory (the peer: same files, modes, mtimes);
* ``coda-restore extract DUMP --tar -`` against ``cat`` of the tar;
* ``coda-restore ls DUMP`` (reads the whole dump) and peak RSS.

    python3 -m bench.extract            # 100 x 100 files, ~200 MB
    python3 -m bench.extract --quick    # 20 x 50 files

Prints ratios (peer time / our time: 1.0 = as fast as the peer); exits 0
whatever the numbers (it is not a test).  File creation dominates --to, so
the numbers swing with the machine's load: read the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coda_restore.voldump import dirpage
from coda_restore.voldump.records import DataKind, DumpHeader, IndexHeader, VnodeClass, Vnode, VolumeDiskData
from coda_restore.voldump.writer import DumpWriter


def make_dump(path: Path, dirs: int, files: int) -> int:
    rng = random.Random(1)
    blob = os.urandom(1 << 20)
    dir_fids = [(2 * i + 3, i + 2) for i in range(dirs)]
    file_fids = [[(2 * (d * files + j) + 2, 10_000 + d * files + j) for j in range(files)] for d in range(dirs)]
    large = [((1, 1), (1, 1), [(b"dir%04d" % i, f) for i, f in enumerate(dir_fids)])]
    large += [(f, (1, 1), [(b"file-%05d.dat" % j, ff) for j, ff in enumerate(file_fids[i])]) for i, f in enumerate(dir_fids)]
    with open(path, "wb") as out:
        w = DumpWriter(out)
        w.write(DumpHeader(0x01000005, 0x01000002, b"u.bench.backup\0", 1_700_000_000, 0, 5, 5))
        w.write(VolumeDiskData(id=0x01000005, name=b"u.bench.backup\0", partition=b"/vicepa\0"))
        w.write(IndexHeader(VnodeClass.LARGE, len(large), dirs + 1))
        for me, parent, entries in large:
            pages = b"".join(dirpage.encode(me, parent, entries))
            w.write(Vnode(me[0], me[1], type=2, mode=0o755, mtime=1_700_000_000, vparent=parent[0], uparent=parent[1],
                          length=len(pages), acl=b"0\n0\n\0", data=DataKind.DIRPAGES, size=len(pages) // 2048,
                          pages=pages))
        w.write(IndexHeader(VnodeClass.SMALL, dirs * files, dirs * files))
        for fids in file_fids:
            for fid in fids:
                n = rng.randint(0, 40_000)
                off = rng.randint(0, len(blob) - n)
                w.vnode(Vnode(fid[0], fid[1], type=1, mode=0o644, mtime=1_700_000_000, length=n, size=n),
                        blob[off : off + n])
        w.end()
    return path.stat().st_size


def timed(argv, **kw) -> float:
    t = time.perf_counter()
    subprocess.run(argv, check=True, **kw)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    dirs, files = (20, 50) if args.quick else (100, 100)
    me = [sys.executable, "-m", "coda_restore"]
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        tmp = Path(tmp)
        size = make_dump(tmp / "full.0", dirs, files)
        subprocess.run([*me, "extract", tmp / "full.0", "--tar", tmp / "vol.tar"], check=True, **quiet)
        t_tar, t_to, t_cat, t_stream, t_ls = [], [], [], [], []
        for _ in range(args.rounds):
            for out, times, argv in ((tmp / "a", t_tar, ["tar", "-xf", tmp / "vol.tar", "-C", tmp / "a"]),
                                     (tmp / "b", t_to, [*me, "extract", tmp / "full.0", "--to", tmp / "b"])):
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                times.append(timed(argv, **quiet))
            t_cat.append(timed(["cat", tmp / "vol.tar"], **quiet))
            t_stream.append(timed([*me, "extract", tmp / "full.0", "--tar", "-"], **quiet))
            t_ls.append(timed([*me, "ls", tmp / "full.0"], **quiet))
        same = subprocess.run(["diff", "-r", tmp / "a", tmp / "b"], **quiet).returncode == 0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    mb = size / 1e6
    print(f"dump: {mb:.0f} MB, {dirs} directories x {files} files")
    print(f"extract --to: {mb / min(t_to):.0f} MB/s; GNU tar -x: {mb / min(t_tar):.0f} MB/s; "
          f"ratio {min(t_tar) / min(t_to):.2f} (same tree: {same})")
    print(f"extract --tar -: {mb / min(t_stream):.0f} MB/s; cat of the tar: {mb / min(t_cat):.0f} MB/s; "
          f"ratio {min(t_cat) / min(t_stream):.3f}")
    print(f"ls: {min(t_ls):.2f} s ({mb / min(t_ls):.0f} MB/s); peak RSS of any child: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
