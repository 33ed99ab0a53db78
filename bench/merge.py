#!/usr/bin/env python3
"""Benchmark of ``coda-restore merge`` (issue 4).

Generates an exact chain (a full dump plus three incrementals, each
incremental's oldest = the previous latest) and measures, in one run:

* throughput of the one-pass merge against ``cat`` of the same input bytes
  to /dev/null (goal >= 0.5 of cat);
* peak RSS of the merge for the chain and for a chain a quarter its size
  (goal < 100 MiB, and flat as the dump grows);
* the one-pass chain merge against merging pairwise through intermediate
  files with the same tool (goal: faster).

    python3 -m bench.merge            # full ~2 GiB, ~100k vnodes
    python3 -m bench.merge --quick    # ~256 MiB, ~16k vnodes

Prints ratios; exits 0 whatever the numbers (it is not a test).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from coda_restore.voldump import dirpage
from coda_restore.voldump.records import (
    DataKind,
    DumpHeader,
    IndexHeader,
    RemovedVnode,
    VersionVector,
    VnodeClass,
    VnodeType,
    Vnode,
    VolumeDiskData,
)
from coda_restore.voldump.writer import DumpWriter

NAME = b"u.bench.backup\0"
ACL = b"2\n0\nSystem:AnyUser\t9\nSystem:Administrators\t127\n\0"


class Chain:
    """A synthetic volume: slots of (uniq, size, dv) per class."""

    def __init__(self, n_vnodes: int, total_bytes: int, seed: int = 1):
        self.rng = random.Random(seed)
        self.block = os.urandom(1 << 20) * 2  # file contents are slices of this
        self.dir_pages: dict[int, bytes] = {}  # valid directory images by page count (the merge validates them)
        n_dirs = max(1, n_vnodes // 20)
        n_files = n_vnodes - n_dirs
        self.mean = total_bytes // max(1, n_files)
        self.uniq = 1
        self.latest = 10
        self.slots = {VnodeClass.LARGE: [[] for _ in range(n_dirs)], VnodeClass.SMALL: []}
        for b in range(n_dirs):
            self.slots[VnodeClass.LARGE][b].append(self._new_dir())
        small = [[] for _ in range(int(n_files * 1.1) + 1)]
        for b in self.rng.sample(range(len(small)), n_files):
            small[b].append(self._new_file())
        # a few slots with two uniquifiers (vnode numbers reused)
        for b in self.rng.sample(range(len(small)), max(1, n_files // 500)):
            small[b].append(self._new_file())
        self.slots[VnodeClass.SMALL] = small

    def _next_uniq(self) -> int:
        self.uniq += 1
        return self.uniq

    def _new_dir(self):
        return [self._next_uniq(), self.rng.choice((1, 1, 1, 2, 4)), 1]

    def _size(self) -> int:
        r = self.rng.random()
        if r < 0.001:
            return self.mean * 200  # the odd big file
        return int(self.rng.expovariate(1 / (self.mean * 0.8)))

    def _new_file(self):
        return [self._next_uniq(), self._size(), 1]

    def count(self, vclass) -> int:
        return sum(len(s) for s in self.slots[vclass])

    def _dir_image(self, n_pages: int) -> bytes:
        """A directory of ``n_pages`` pages (entries named for nothing in the
        volume: the merge checks the pages, not what they name)."""
        if n_pages not in self.dir_pages:
            d = dirpage.Directory.new((1, 1), (1, 1))
            k = 0
            while len(d.pages()) < n_pages:
                d.create(b"entry-%06d-%s" % (k, b"x" * 40), (2 * k + 2, k + 2))
                k += 1
            self.dir_pages[n_pages] = b"".join(d.pages())
        return self.dir_pages[n_pages]

    def _vnode(self, w: DumpWriter, vclass, b: int, e) -> None:
        uniq, size, dv = e
        vv = VersionVector((dv,) + (0,) * 7, 0x7F000001, dv, 0)
        if vclass is VnodeClass.LARGE:
            pages = self._dir_image(size)
            w.write(Vnode(2 * b + 1, uniq, type=VnodeType.DIRECTORY, mode=0o755, link_count=2, length=size * 2048,
                          data_version=dv, vv=vv, acl=ACL, data=DataKind.DIRPAGES, size=size, pages=pages))
            return
        w.write(Vnode(2 * b + 2, uniq, length=size, data_version=dv, vv=vv, size=size))
        start = uniq % 65536
        left = size
        while left:
            n = min(left, 1 << 20)
            w.data(memoryview(self.block)[start: start + n])
            left -= n

    def _begin(self, f, level: int, oldest: int, date: int) -> DumpWriter:
        w = DumpWriter(f)
        w.write(DumpHeader(0x01000005, 0x01000002, NAME, date, level, oldest, self.latest))
        w.write(VolumeDiskData(id=0x01000005, name=NAME, partition=b"/vicepa\0", type=2, uniquifier=self.uniq,
                               parent_id=0x01000002, group_id=0x7F000001, update_date=date))
        return w

    def write_full(self, path: Path) -> None:
        with open(path, "wb", buffering=1 << 20) as f:
            w = self._begin(f, 0, self.latest, 1700000000)
            for vclass in (VnodeClass.LARGE, VnodeClass.SMALL):
                w.write(IndexHeader(vclass, self.count(vclass), len(self.slots[vclass])))
                for b, slot in enumerate(self.slots[vclass]):
                    for e in slot:
                        self._vnode(w, vclass, b, e)
            w.end()

    def write_incremental(self, path: Path, level: int, change: float) -> None:
        """Change, add and remove about ``change`` of the vnodes, then dump
        what changed (exact chain: oldest = the previous latest)."""
        oldest = self.latest
        self.latest += 7
        touched = {}
        for vclass in (VnodeClass.LARGE, VnodeClass.SMALL):
            slots = self.slots[vclass]
            per = {}
            for b, slot in enumerate(slots):
                dumped, removed = [], []
                for e in list(slot):
                    r = self.rng.random()
                    if r < change / 2:
                        e[2] += 1
                        if vclass is VnodeClass.SMALL:
                            e[1] = self._size()
                        dumped.append(e)
                    elif r < change * 0.75 and not (vclass is VnodeClass.LARGE and b == 0):
                        slot.remove(e)
                        removed.append(e[0])
                if self.rng.random() < change / 4:
                    e = self._new_dir() if vclass is VnodeClass.LARGE else self._new_file()
                    slot.append(e)
                    dumped.append(e)
                if dumped or removed:
                    per[b] = (dumped, removed)
            touched[vclass] = per
        with open(path, "wb", buffering=1 << 20) as f:
            w = self._begin(f, level, oldest, 1700000000 + 86400 * level)
            for vclass in (VnodeClass.LARGE, VnodeClass.SMALL):
                w.write(IndexHeader(vclass, self.count(vclass), len(self.slots[vclass])))
                for b in sorted(touched[vclass]):
                    dumped, removed = touched[vclass][b]
                    for e in dumped:
                        self._vnode(w, vclass, b, e)
                    for u in removed:
                        w.write(RemovedVnode(2 * b + (1 if vclass is VnodeClass.LARGE else 2), u))
            w.end()


def generate(directory: Path, n_vnodes: int, total: int) -> list[Path]:
    chain = Chain(n_vnodes, total)
    paths = [directory / "full.0"]
    chain.write_full(paths[0])
    for level in (1, 2, 3):
        p = directory / f"incr.{level}"
        chain.write_incremental(p, level, 0.04)
        paths.append(p)
    return paths


MERGE = [sys.executable, "-m", "coda_restore", "merge"]


CPU: dict[str, float] = {}  # CPU seconds (user + sys) of the last run of each kind


def timed(argv: list[str], stdout=subprocess.DEVNULL, kind: str = "") -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one child; its CPU time goes to CPU[kind]."""
    t = time.perf_counter()
    p = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT)
    _pid, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if status != 0:
        raise SystemExit(f"{argv} failed ({status}): {err}")
    cpu = usage.ru_utime + usage.ru_stime
    if kind:
        CPU[kind] = min(CPU.get(kind, cpu), cpu)
    return elapsed, usage.ru_maxrss


def best(argv, runs=2, kind: str = "", **kw):
    results = [timed(argv, kind=kind, **kw) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)


def in_process(paths: list[Path], runs: int = 2) -> float:
    """The library's merge to /dev/null, without the interpreter's start-up."""
    from coda_restore.voldump.merge import merge

    times, cpus = [], []
    for _ in range(runs):
        inputs = [(str(p), open(p, "rb", buffering=0)) for p in paths]
        t, c = time.perf_counter(), time.process_time()
        with open(os.devnull, "wb") as out:
            merge(out, inputs)
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        for _, f in inputs:
            f.close()
    return min(times), min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="~256 MiB and ~16k vnodes instead of ~2 GiB and ~100k")
    ap.add_argument("--dir", type=Path, help="work directory (default: a temporary one, removed afterwards)")
    args = ap.parse_args()
    n, total = (16_000, 256 << 20) if args.quick else (100_000, 2 << 30)
    work = Path(tempfile.mkdtemp(prefix="coda-merge-bench.", dir=args.dir))
    try:
        t = time.perf_counter()
        for d in ("big", "small", "files"):
            (work / d).mkdir()
        big = generate(work / "big", n, total)
        small = generate(work / "small", n // 4, total // 4)
        files = generate(work / "files", 64, total // 2)  # few, large files: the data path alone
        sizes = [p.stat().st_size for p in big]
        print(f"generated in {time.perf_counter() - t:.1f}s: full {sizes[0] / 2**20:.0f} MiB, incrementals "
              + ", ".join(f"{s / 2**20:.1f} MiB" for s in sizes[1:]) + f"; {n} vnodes")
        inputs = [str(p) for p in big]
        nbytes = sum(sizes)
        timed(["cat", *inputs])  # warm the page cache
        cat_t, _ = best(["cat", *inputs], kind="cat")
        merge_t, rss = best([*MERGE, "-", *inputs], kind="merge")
        out = work / "out.0"
        file_t, _ = timed([*MERGE, str(out), *inputs])
        small_t, small_rss = best([*MERGE, "-", *(str(p) for p in small)])
        fbytes = sum(p.stat().st_size for p in files)
        timed(["cat", *map(str, files)])
        fcat_t, _ = best(["cat", *map(str, files)])
        fmerge_t, _ = best([*MERGE, "-", *map(str, files)])
        startup_t, _ = best([sys.executable, "-m", "coda_restore", "--version"])
        lib_t = in_process(big)
        flib_t = in_process(files)
        # pairwise through intermediate files, with the same tool
        t = time.perf_counter()
        base = inputs[0]
        for i, incr in enumerate(inputs[1:]):
            step = work / f"pair.{i}"
            timed([*MERGE, str(step), base, incr])
            if base != inputs[0]:
                os.unlink(base)
            base = str(step)
        pair_t = time.perf_counter() - t
        same = subprocess.run(["cmp", "-s", base, str(out)]).returncode == 0
        print(f"input bytes            {nbytes / 2**20:.0f} MiB")
        print(f"cat > /dev/null        {cat_t:.2f}s  {nbytes / cat_t / 2**20:.0f} MiB/s")
        print(f"merge - > /dev/null    {merge_t:.2f}s  {nbytes / merge_t / 2**20:.0f} MiB/s  "
              f"ratio to cat {cat_t / merge_t:.2f} (goal >= 0.5)")
        print(f"  CPU seconds          cat {CPU['cat']:.2f}, merge {CPU['merge']:.2f} "
              "(wall times suffer on a shared machine; CPU does not)")
        print(f"  in-process merge     {lib_t[0]:.2f}s ({lib_t[1]:.2f} CPU)  ratio to cat {cat_t / lib_t[0]:.2f}, "
              f"CPU ratio {CPU['cat'] / lib_t[1]:.2f} (the CLI's start-up alone is {startup_t:.2f}s)")
        print(f"64 large files         cat {fcat_t:.2f}s, merge {fmerge_t:.2f}s, in-process {flib_t[0]:.2f}s for "
              f"{fbytes / 2**20:.0f} MiB: ratio to cat {fcat_t / fmerge_t:.2f}, in-process {fcat_t / flib_t[0]:.2f} "
              "(the per-byte cost alone)")
        print(f"merge OUT (file)       {file_t:.2f}s  {nbytes / file_t / 2**20:.0f} MiB/s")
        print(f"peak RSS               {rss / 1024:.1f} MiB at {nbytes / 2**20:.0f} MiB input, "
              f"{small_rss / 1024:.1f} MiB at {sum(p.stat().st_size for p in small) / 2**20:.0f} MiB input "
              f"(ratio {rss / small_rss:.2f}; goal < 100 MiB, flat)")
        print(f"pairwise (3 merges)    {pair_t:.2f}s  one-pass chain {file_t:.2f}s  "
              f"speed-up {pair_t / file_t:.2f}x (goal > 1); outputs identical: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
