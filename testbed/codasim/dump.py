"""``volutil dump`` and ``volutil dumpestimate`` on the server side (ref §12).

Which volume: a backup (or read-only) clone, never a RW volume.  The header's
``latest`` is the clone's volume-VV slot of this replica (its updateDate when
not replicated); ``oldest`` is ``latest`` for a full dump, the ``(%x)`` of the
ancient list's header for an incremental.  An incremental without a usable
ancient list (missing, header unparsable, or naming another RW volume) is
silently a full dump, and the level returned is 0 (§12.2).  Every dump
rewrites the replica's .newlist: one line per vnode with the level at which
it was last dumped (§12.4's IsModified rule).  A dump that fails leaves no
.newlist (the server unlinks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from . import vvlist
from .errors import ServerError
from .model import LARGE, SMALL, Vnode, VnodeType, Volume, VolType, vnum_of
from .wire import Emitter

HEADER_EST = 44 + 32  # DUMPDUMPHEADERSIZE: the name at its worst case
DISKDATA_EST = 229 + 4 * 32
END_EST = 5


def _ids(clone: Volume) -> tuple[int, int]:
    """(group id or 0, latest)."""
    if clone.group_id:
        return clone.group_id, clone.vv.versions[clone.replica_index]
    return 0, clone.update_date


def _check_dumpable(clone: Volume) -> None:
    if clone.type in (VolType.RW, VolType.REPLICATED):
        raise ServerError("Volume is read-write.  Dump not allowed")


def _usable_ancient(clone: Volume, backup_dir: Path, group: int) -> vvlist.Ancient | None:
    path = vvlist.list_path(backup_dir, group, clone.parent_id, "ancient")
    if not path.exists():
        return None
    anc = vvlist.parse(path.read_text())
    if anc is None or anc.parent_id != clone.parent_id:
        return None
    return anc


def dump(clone: Volume, level: int, out: BinaryIO, backup_dir: Path) -> tuple[int, int, Path, str]:
    """Write the dump to ``out``; returns (level done, bytes, the .newlist path, its text).

    The old .newlist is removed here; the caller writes the new one once the
    dump has reached its receiver."""
    _check_dumpable(clone)
    if level < 0:
        raise ServerError("negative (full directories) levels are not simulated")
    group, latest = _ids(clone)
    newlist = vvlist.list_path(backup_dir, group, clone.parent_id, "newlist")
    newlist.unlink(missing_ok=True)  # the server truncates it first and unlinks it on failure
    ancient = _usable_ancient(clone, backup_dir, group) if level else None
    if ancient is None:
        level = 0
    oldest = ancient.unique if ancient else latest

    lines = [vvlist.header_line(clone, level, latest)]
    em = Emitter(out)
    em.dump_header(clone, level, oldest, latest)
    em.volume_disk_data(clone)
    for vclass in (LARGE, SMALL):
        idx = clone.index(vclass)
        em.index_header(vclass == LARGE, len(idx), idx.nlists)
        lines.append(vvlist.list_header(vclass, len(idx), idx.nlists))
        if ancient is None:
            for v in idx:
                em.vnode(v)
                lines.append(vvlist.vnode_line(v, 0))
        else:
            table = ancient.table(vclass)
            for bit in range(idx.nlists):
                for v in idx.slot(bit):
                    changed, recorded = table.is_modified(bit, v.uniq, v.vv.store_id, level)
                    if changed:
                        em.vnode(v)
                    lines.append(vvlist.vnode_line(v, recorded))
                for e in table.unseen(bit):
                    em.rmvnode(vnum_of(bit, vclass), e.uniq)
        if vclass == LARGE:
            lines.append(vvlist.END_LARGE)
    em.end()
    return level, em.nbytes, newlist, "".join(lines)


def vnode_estimate(v: Vnode) -> int:
    if v.vtype != VnodeType.DIRECTORY:
        return 109 + 5 + v.length
    acl = 4 + len((v.acl or "").encode()) + 1 if v.acl_raw is None else len(v.acl_raw)
    return 109 + 6 + acl + 2049 * v.dir.npages


def has_ancient(clone: Volume, backup_dir: Path) -> bool:
    """Whether the replica has an .ancient list the server would read."""
    group, _ = _ids(clone)
    return _usable_ancient(clone, backup_dir, group) is not None


def estimate(clone: Volume, backup_dir: Path) -> list[int]:
    """Sizes in bytes of a dump at levels 0..9 against the current ancient list.

    The real server dies reading an .ancient list here (ref §23 row 4), so the
    Server calls this only when there is none; the ancient-list branch below
    is what a fixed server would answer (list headers matched without regard
    to case, an unusable list counted as none).
    """
    _check_dumpable(clone)
    group, _ = _ids(clone)
    ancient = _usable_ancient(clone, backup_dir, group)
    sizes = [0] * 10
    sizes[9] = HEADER_EST + DISKDATA_EST + END_EST
    for vclass in (LARGE, SMALL):
        idx = clone.index(vclass)
        sizes[9] += 11
        table = ancient.table(vclass) if ancient else None
        for bit in range(idx.nlists):
            for v in idx.slot(bit):
                recorded = 9
                if table is not None:
                    _, recorded = table.is_modified(bit, v.uniq, v.vv.store_id, 9)
                sizes[recorded] += vnode_estimate(v)
            if table is not None:
                sizes[9] += 9 * len(table.unseen(bit))
    levels = [0] * 10
    running = 0
    for lvl in range(9, -1, -1):
        running += sizes[lvl]
        levels[lvl] = running
    return levels
