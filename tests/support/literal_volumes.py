"""A volume as a test means it (directories, files, symlinks as literal
trees), the full dump the project's writer makes of it, the tree extraction
must give back (as ``trees.on_disk`` reads it), and hypothesis strategies
for any such volume."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from hypothesis import strategies as st

from coda_restore.voldump import dirpage
from coda_restore.voldump.records import DataKind, DumpHeader, IndexHeader, VnodeClass, Vnode, VolumeDiskData
from coda_restore.voldump.writer import DumpWriter



@dataclass(eq=False)
class F:
    data: bytes
    mode: int = 0o644
    mtime: int = 1_700_000_000
    owner: int = 501


@dataclass(eq=False)
class L:
    target: bytes
    mtime: int = 1_700_000_000


@dataclass(eq=False)
class D:
    children: dict = field(default_factory=dict)
    mode: int = 0o755
    mtime: int = 1_700_000_000
    owner: int = 500


def dump_bytes(root: D, extra_files=(), level=0) -> bytes:
    """A full dump of ``root``: directories get odd vnode numbers, files and
    symlinks even ones, uniquifiers count up; ``extra_files`` are vnodes no
    directory names (orphans).  An object named twice is one vnode."""
    fids: dict[int, tuple[int, int]] = {}
    counters = {"dir": 1, "file": 2, "uniq": 1}

    def fid(obj):
        if id(obj) not in fids:
            kind = "dir" if isinstance(obj, D) else "file"
            fids[id(obj)] = (counters[kind], counters["uniq"])
            counters[kind] += 2
            counters["uniq"] += 1
        return fids[id(obj)]

    fids[id(root)] = (1, 1)
    counters.update(dir=3, uniq=2)
    dirs, small, queue = [], {}, [(root, (1, 1))]
    while queue:
        d, parent = queue.pop(0)
        me = fid(d)
        pages = b"".join(dirpage.encode(me, parent, [(n, fid(c)) for n, c in d.children.items()]))
        dirs.append(Vnode(me[0], me[1], type=2, mode=d.mode, mtime=d.mtime, owner=d.owner, vparent=parent[0],
                          uparent=parent[1], length=len(pages), acl=b"1\n0\nSystem:AnyUser\t9\n\0",
                          data=DataKind.DIRPAGES, size=len(pages) // 2048, pages=pages))
        for c in d.children.values():
            if isinstance(c, D):
                queue.append((c, me))
            else:
                small[fid(c)] = c
    for c in extra_files:
        small[fid(c)] = c
    out = io.BytesIO()
    w = DumpWriter(out)
    w.write(DumpHeader(0x01000005, 0x01000002, b"u.test.backup\0", 1_700_000_000, level, 5, 5))
    w.write(VolumeDiskData(id=0x01000005, name=b"u.test.backup\0", partition=b"/vicepa\0"))
    dirs.sort(key=lambda v: v.fid)
    w.write(IndexHeader(VnodeClass.LARGE, len(dirs), max(v.slot for v in dirs) + 1))
    for v in dirs:
        w.write(v)
    w.write(IndexHeader(VnodeClass.SMALL, len(small), max([(f[0] - 1) >> 1 for f in small], default=0) + 1))
    for (vnum, uniq), c in sorted(small.items()):
        data = c.data if isinstance(c, F) else c.target
        w.vnode(Vnode(vnum, uniq, type=1 if isinstance(c, F) else 3, mode=getattr(c, "mode", 0o777),
                      mtime=c.mtime, owner=getattr(c, "owner", 0), length=len(data), size=len(data),
                      link_count=1), data)
    w.end()
    return out.getvalue()


def expected(root: D, prefix=b"") -> dict:
    out = {}
    for name, c in root.children.items():
        p = prefix + name
        if isinstance(c, D):
            out[p] = ("dir", c.mode, c.mtime)
            out.update(expected(c, p + b"/"))
        elif isinstance(c, F):
            out[p] = ("file", c.data, c.mode, c.mtime)
        else:
            out[p] = ("link", c.target)
    return out


# -- any volume (property tests)

names = st.binary(min_size=1, max_size=30).filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))
modes = st.sampled_from([0o644, 0o600, 0o755, 0o444, 0o700, 0o640])
times = st.integers(0, 2**31 - 1)
leaves = st.one_of(
    st.builds(F, st.binary(max_size=3000), modes, times),
    st.builds(L, st.binary(min_size=1, max_size=60).filter(lambda b: b"\0" not in b), times),
)
volumes = st.recursive(
    leaves,
    lambda kids: st.builds(D, st.dictionaries(names, kids, max_size=6), st.sampled_from([0o755, 0o700, 0o555]), times),
    max_leaves=25,
).filter(lambda v: isinstance(v, D))
