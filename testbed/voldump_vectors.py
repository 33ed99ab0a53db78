"""Dumps for the voldump tests, built with the project's own writer:
the ref §20 vectors and small helpers to make more.

A dump is described as lists of records; a file vnode is a (Vnode, data)
pair, a directory is a Vnode carrying its pages.
"""

from __future__ import annotations

import io

from coda_restore.voldump import dirpage
from coda_restore.voldump.records import (
    DataKind,
    DumpHeader,
    IndexHeader,
    NullVnode,
    RemovedVnode,
    VersionVector,
    VnodeClass,
    VnodeType,
    Vnode,
    VolumeDiskData,
)
from coda_restore.voldump.writer import DumpWriter

NAME = b"u.test.backup\0"
VOLID = 0x01000005
PARENT = 0x01000002
GROUP = 0x7F000001
ACL = b"2\n0\nSystem:AnyUser\t9\nSystem:Administrators\t127\n\0"
MTIME = 1699990000


def vv(n: int, host: int = 0x7F000001) -> VersionVector:
    return VersionVector((n, 0, 0, 0, 0, 0, 0, 0), host, n, 0)


def header(level=0, backup_date=1700000000, oldest=5, latest=5, name=NAME, parent=PARENT, volid=VOLID):
    return DumpHeader(volid, parent, name, backup_date, level, oldest, latest)


def volume(uniquifier=100, update=1700000000, **kw) -> VolumeDiskData:
    base = dict(
        id=VOLID, version=1, name=NAME, partition=b"/vicepa\0", in_service=1, blessed=1,
        uniquifier=uniquifier, type=2, parent_id=PARENT, group_id=GROUP, clone_id=0, backup_id=VOLID,
        max_quota=0, min_quota=0, max_files=0, disk_used=20, file_count=5, link_count=0,
        account_number=0, owner=0, creation_date=1690000000, access_date=0, update_date=update,
        expiration_date=0, backup_date=update, offline_message=b"\0", motd=b"\0",
        week_use=(0,) * 7, day_use_date=0, day_use=0, vv=vv(5),
    )
    base.update(kw)
    return VolumeDiskData(**base)


def directory(vnum, uniq, entries, parent=(1, 1), dv=1, acl=ACL) -> Vnode:
    pages = b"".join(dirpage.encode((vnum, uniq), parent, entries))
    return Vnode(
        vnum, uniq, type=VnodeType.DIRECTORY, mode=0o755, link_count=2, length=len(pages), data_version=dv,
        vv=vv(dv), mtime=MTIME + dv, author=1, owner=1, vparent=parent[0], uparent=parent[1], acl=acl,
        data=DataKind.DIRPAGES, size=len(pages) // 2048, pages=pages,
    )


def file(vnum, uniq, data: bytes, parent=(1, 1), dv=1, type=VnodeType.FILE, mode=0o644, **kw):
    v = Vnode(
        vnum, uniq, type=type, mode=mode, link_count=1, length=len(data), data_version=dv, vv=vv(dv),
        mtime=MTIME + dv, author=1, owner=1, vparent=parent[0], uparent=parent[1],
        data=DataKind.FILEDATA, size=len(data), **kw,
    )
    return (v, data)


def build(hdr, vol, large, small, large_index=None, small_index=None, end=True) -> bytes:
    """large/small: lists of Vnode (dirs), (Vnode, bytes) (files), RemovedVnode, NullVnode.
    Index defaults: nVnodes = the vnode records, nLists = 8."""
    def count(recs):
        return sum(1 for r in recs if isinstance(r, (Vnode, tuple)))

    out = io.BytesIO()
    w = DumpWriter(out)
    w.write(hdr)
    w.write(vol)
    w.write(large_index or IndexHeader(VnodeClass.LARGE, count(large), 8))
    _records(w, large)
    w.write(small_index or IndexHeader(VnodeClass.SMALL, count(small), 8))
    _records(w, small)
    if end:
        w.end()
    return out.getvalue()


def _records(w: DumpWriter, recs) -> None:
    for r in recs:
        if isinstance(r, tuple):
            w.vnode(r[0], r[1])
        elif isinstance(r, Vnode) and r.data is DataKind.FILEDATA:
            w.vnode(r, b"\0" * r.size)
        else:
            w.write(r)


# -- ref §20.1 / §20.2 --------------------------------------------------------

ROOT_F = [(b"a.txt", (2, 3)), (b"sub", (3, 2)), (b"link", (6, 5)), (b"x1", (12, 20)), (b"x2", (12, 21))]
ROOT_I = [(b"a.txt", (2, 3)), (b"sub", (3, 2)), (b"newdir", (5, 6)), (b"link", (6, 8)),
          (b"x1", (12, 20)), (b"x2", (12, 21))]
A_TXT_I = b"hello world\nhello again\n"
LINK_I = b"sub/b.txt"
X1 = b"x1\n"
X2 = b"x2\n"
# Free contents (§20 does not give them); chosen so the merge is 7630 bytes.
C_TXT = b"C" * (79 - len(A_TXT_I) - len(LINK_I) - len(X1) - len(X2))


def f1_parts():
    large = [directory(1, 1, ROOT_F), directory(3, 2, [(b"b.txt", (4, 4))])]
    small = [
        file(2, 3, b"hello world\n"),
        file(4, 4, b"B" * 5000, parent=(3, 2)),
        file(6, 5, b"a.txt", type=VnodeType.SYMLINK, mode=0o777),
        file(12, 20, X1),
        file(12, 21, X2),
    ]
    return large, small


def f1() -> bytes:
    large, small = f1_parts()
    return build(header(), volume(), large, small)


def i1_parts():
    large = [directory(1, 1, ROOT_I, dv=2), directory(5, 6, [(b"c.txt", (8, 7))])]
    small = [
        file(2, 3, A_TXT_I, dv=2),
        RemovedVnode(4, 4),
        file(6, 8, LINK_I, type=VnodeType.SYMLINK, mode=0o777),
        RemovedVnode(6, 5),
        file(8, 7, C_TXT, parent=(5, 6)),
        RemovedVnode(10, 9),
    ]
    return large, small


def i1(oldest=5, latest=9, level=1, **kw) -> bytes:
    large, small = i1_parts()
    return build(
        header(level=level, backup_date=1700086400, oldest=oldest, latest=latest, **kw),
        volume(uniquifier=110, update=1700086400),
        large, small,
        IndexHeader(VnodeClass.LARGE, 3, 16), IndexHeader(VnodeClass.SMALL, 5, 16),
    )
