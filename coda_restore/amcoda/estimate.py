"""``amcoda estimate``: one ``LEVEL KiB 1`` line per requested level.

Level 0 from the clone's size in ``volutil info``; an incremental by
counting the bytes of an unmarked ``dump -i LEVEL`` of the clone (the next
dump's base does not move).  ``volutil dumpestimate`` kills a current server
once an ``.ancient`` list exists (ref ``coda-dump-format.md`` §23 row 4): it
is used only with ESTIMATE "dumpestimate".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from coda_restore import proc
from coda_restore.amcoda.clone import Clone, fresh_clone
from coda_restore.amcoda.request import CHUNK, Estimate, Request, Settings, kib, settings
from coda_restore.errors import CodaRestoreError, CommandFailed
from coda_restore.volutil import Volutil, VolumeInfo, one_line

VNODE_RECORD = 128  # bytes a vnode takes in a dump besides its data (ref §11: about 109)
DUMP_OVERHEAD = 1024  # header, volume data, index headers, end


def full_size(vol: VolumeInfo) -> int:
    """A level 0's size from ``volutil info``: its KiB in use plus a record per vnode."""
    return vol.disk_used * 1024 + vol.file_count * VNODE_RECORD + DUMP_OVERHEAD


def counted_dump(vu: Volutil, clone_id: int, level: int) -> int:
    """The bytes of ``volutil dump -i LEVEL CLONE``, counted and dropped.  Not
    marked (no ``ancient``), so the base of the next incremental stays."""
    argv = vu.dump_argv(clone_id, level)
    child = proc.Child(argv, stdout=proc.PIPE)
    size = 0
    try:
        for chunk in iter(lambda: child.stdout.read(CHUNK), b""):
            size += len(chunk)
    finally:
        status = child.wait(check=False)
    if status != 0:
        raise CommandFailed(argv, status, one_line(child.stderr_tail))
    return size


def estimate_sizes(s: Settings, c: Clone, levels: Sequence[int]) -> dict[int, int]:
    """Bytes per level.  Never ``dumpestimate`` unless ESTIMATE says so: it
    kills a current server once an .ancient list exists (ref §23 row 4)."""
    if s.estimate is Estimate.DUMPESTIMATE:
        sizes = s.volutil.dumpestimate(c.clone.id)
        return {level: sizes[level] for level in levels}
    return {level: full_size(c.clone) if level == 0 else counted_dump(s.volutil, c.clone.id, level)
            for level in levels}


def do_estimate(req: Request, out: TextIO, err: TextIO) -> int:
    """One ``LEVEL KiB 1`` line per requested level (``estimate_sizes``)."""
    levels = req.levels or (0,)
    try:
        s = settings(req)
        c = fresh_clone(s)
        sizes = estimate_sizes(s, c, levels)
    except CodaRestoreError as exc:
        err.write(f"ERROR amcoda: {one_line(str(exc))}\n")
        return 1
    for level in levels:
        out.write(f"{level} {kib(sizes[level])} 1\n")
    return 0
