"""Emitting a dump stream through the project's writer (coda_restore.voldump.writer).

The simulator's state (model.py) becomes the codec's records here, in the
server's canonical field order.  ``Emitter`` keeps the section-by-section
calls of vol-dump.cc (header, volume data, index, vnodes, removals, end)
and counts the bytes as the server's dump buffer does.
"""

from __future__ import annotations

from typing import BinaryIO

from coda_restore.voldump import records as rec
from coda_restore.voldump.writer import DumpWriter

from .model import VV, Vnode, VnodeType, Volume

D_DUMPHEADER, D_SMALLINDEX, D_LARGEINDEX, D_VNODE = 1, 3, 4, 5
D_ENDVV, D_DUMPEND, D_VOLUMEDISKDATA, D_NULLVNODE = 7, 8, 9, 10
D_DIRPAGES, D_FILEDATA, D_RMVNODE, D_BADINODE = 11, 12, 13, 14
DUMPBEGINMAGIC, DUMPENDMAGIC, DUMPVERSION = rec.DUMPBEGINMAGIC, rec.DUMPENDMAGIC, rec.DUMPVERSION


def _s(text: str) -> bytes:
    return rec.cstring_payload(text)


def vv_record(vv: VV) -> rec.VersionVector:
    return rec.VersionVector(tuple(s & 0xFFFFFFFF for s in vv.versions), vv.store_host, vv.store_uniq, vv.flags)


def header_record(vol: Volume, level: int, oldest: int, latest: int) -> rec.DumpHeader:
    return rec.DumpHeader(volume_id=vol.id, parent_id=vol.parent_id, name=_s(vol.name),
                          backup_date=vol.copy_date, level=level, oldest=oldest & 0xFFFFFFFF,
                          latest=latest & 0xFFFFFFFF)


def volume_record(v: Volume) -> rec.VolumeDiskData:
    return rec.VolumeDiskData(
        id=v.id, version=v.stamp_version, name=_s(v.name), partition=_s(v.partition),
        in_service=v.in_service, blessed=v.blessed, uniquifier=v.uniquifier, type=int(v.type),
        parent_id=v.parent_id, group_id=v.group_id, clone_id=v.clone_id, backup_id=v.backup_id,
        max_quota=v.maxquota, min_quota=v.minquota, max_files=v.maxfiles, disk_used=v.diskused,
        file_count=v.filecount, link_count=1, account_number=v.account_number, owner=v.owner,
        creation_date=v.creation_date, access_date=v.access_date, update_date=v.update_date,
        expiration_date=v.expiration_date, backup_date=v.backup_date,
        offline_message=_s(v.offline_message), motd=_s(v.motd), week_use=tuple(v.week_use),
        day_use_date=v.day_use_date, day_use=v.day_use, vv=vv_record(v.vv))


def vnode_record(v: Vnode) -> rec.Vnode:
    common = dict(vnum=v.vnum, uniq=v.uniq, type=int(v.vtype), mode=v.mode, link_count=v.link_count,
                  length=v.length, data_version=v.data_version, vv=vv_record(v.vv), mtime=v.mtime,
                  author=v.author, owner=v.owner, vparent=v.vparent, uparent=v.uparent)
    if v.vtype == VnodeType.DIRECTORY:
        acl = None if v.acl_raw is not None else _s(v.acl or "")
        if v.dir is None:
            return rec.Vnode(**common, acl=acl, acl_raw=v.acl_raw, data=rec.DataKind.DIRPAGES, size=0, pages=b"")
        return rec.Vnode(**common, acl=acl, acl_raw=v.acl_raw, data=rec.DataKind.DIRPAGES,
                         size=v.dir.npages, pages=v.dir.image())
    if v.data is None:
        return rec.Vnode(**common, data=rec.DataKind.BADINODE)
    return rec.Vnode(**common, data=rec.DataKind.FILEDATA, size=len(v.data))


class Emitter:
    """The server's dump calls, written with DumpWriter; ``nbytes`` counts them."""

    def __init__(self, out: BinaryIO):
        self.w = DumpWriter(out)

    @property
    def nbytes(self) -> int:
        return self.w.offset

    def dump_header(self, vol: Volume, level: int, oldest: int, latest: int) -> None:
        self.w.header(header_record(vol, level, oldest, latest))

    def volume_disk_data(self, v: Volume) -> None:
        self.w.volume(volume_record(v))

    def index_header(self, large: bool, nvnodes: int, nlists: int) -> None:
        vclass = rec.VnodeClass.LARGE if large else rec.VnodeClass.SMALL
        self.w.index(rec.IndexHeader(vclass, nvnodes, nlists))

    def vnode(self, v: Vnode) -> None:
        r = vnode_record(v)
        self.w.vnode(r, v.data if r.data is rec.DataKind.FILEDATA else None)

    def rmvnode(self, vnum: int, uniq: int) -> None:
        self.w.removed(rec.RemovedVnode(vnum, uniq))

    def end(self) -> None:
        self.w.end()
