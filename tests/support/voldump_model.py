"""Test oracles for the merge, written from ref §12 and §13 and independent
of coda_restore.voldump.merge:

* ``codamergedump(full, incr)``: the pairwise merge exactly as §13.4/§13.5
  describe it (slots with head insertion, repointing, header arithmetic),
  holding everything in memory;
* ``Volume``: a tiny server following §12.4 (lists, uniquifiers, StoreIds,
  the ancient list) that produces full and incremental dumps, so that
  random histories give valid exact and minimal chains.
"""

from __future__ import annotations

import dataclasses
import io
import random

from coda_restore.voldump.reader import DumpReader
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
)
from coda_restore.voldump.writer import DumpWriter, encode_vnode

import voldump_vectors as V


# -- codamergedump, literally -------------------------------------------------

def _read_all(data: bytes):
    r = DumpReader(io.BytesIO(data), "model", allow_trailing=True)
    h = r.read_header()
    vol = r.read_volume()
    sections = []
    for _ in range(2):
        ix = r.read_index()
        recs = []
        while (rec := r.next_record()) is not None:
            if isinstance(rec, Vnode) and rec.data is DataKind.FILEDATA:
                recs.append((rec, r.read_data()))
            else:
                recs.append((rec, None))
        sections.append((ix, recs))
    r.read_end()
    return h, vol, sections


def codamergedump(full: bytes, incr: bytes) -> tuple[bytes, list[str]]:
    fh, _fvol, fsec = _read_all(full)
    ih, ivol, isec = _read_all(incr)
    notes = []
    out = io.BytesIO()
    w = DumpWriter(out)
    w.write(DumpHeader(fh.volume_id, fh.parent_id, fh.name, ih.backup_date, fh.level, fh.oldest, ih.latest)
            .coda_normalised())
    w.write(ivol.coda_normalised())
    for (fix, frecs), (iix, irecs) in zip(fsec, isec):
        assert fix.n_lists <= iix.n_lists
        slots = [[] for _ in range(iix.n_lists)]
        n = fix.n_vnodes
        for rec, data in frecs:  # exactly nV records; nulls counted, not stored
            if isinstance(rec, Vnode):
                slots[rec.slot].insert(0, [rec.uniq, rec, data])
        for rec, data in irecs:
            if isinstance(rec, NullVnode):
                continue
            slot = slots[rec.slot]
            hit = next((e for e in slot if e[0] == rec.uniq), None)
            if isinstance(rec, RemovedVnode):
                if hit is None:
                    notes.append(f"Removing a null Vnode for {rec.vnum:x}.{rec.uniq:x}!")
                else:
                    slot.remove(hit)
                    n -= 1
            elif hit is not None:
                hit[1], hit[2] = rec, data
            else:
                slot.insert(0, [rec.uniq, rec, data])
                n += 1
        w.write(IndexHeader(fix.vclass, n, iix.n_lists))
        for slot in slots:
            for _u, rec, data in slot:
                out.write(encode_vnode(rec.coda_normalised()))
                if data is not None:
                    out.write(data)
    w.end()
    return out.getvalue(), notes


def contents(data: bytes) -> dict:
    """{(class, vnum, uniq): (data_version, payload)} of a full dump."""
    _h, _vol, sections = _read_all(data)
    out = {}
    for ix, recs in sections:
        for rec, payload in recs:
            if isinstance(rec, Vnode):
                out[(ix.vclass.name, rec.vnum, rec.uniq)] = (rec.data_version, rec.pages if payload is None else payload)
    return out


# -- a small server -------------------------------------------------------------

@dataclasses.dataclass
class _V:
    vnum: int
    uniq: int
    dv: int
    payload: bytes


class Volume:
    """Vnode lists per class, a uniquifier counter, the ancient list of the
    last recorded dump, and the dumps of §12.4."""

    STEP = 8  # lists grow in steps (128/256 on a real server)

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.lists = {VnodeClass.LARGE: [[] for _ in range(self.STEP)], VnodeClass.SMALL: [[] for _ in range(self.STEP)]}
        self.uniq = 1
        self.version = 0  # latest (the volume VV entry)
        self.ancient = None  # {(class, slot, uniq): (storeid, level)}, latest
        self.date = 1700000000
        root = _V(1, 1, 1, self._dirpayload(1, 1))
        self.lists[VnodeClass.LARGE][0].append(root)
        self.uniq = 2

    def _dirpayload(self, vnum, uniq) -> bytes:
        return b"".join(V.dirpage.encode((vnum, uniq), (1, 1), []))

    def count(self, vclass) -> int:
        return sum(len(l) for l in self.lists[vclass])

    def all(self, vclass):
        for b, lst in enumerate(self.lists[vclass]):
            for v in lst:
                yield b, v

    def mutate(self, n: int) -> None:
        for _ in range(n):
            self.version += 1
            op = self.rng.random()
            vclass = VnodeClass.SMALL if self.rng.random() < 0.7 else VnodeClass.LARGE
            existing = [(b, v) for b, v in self.all(vclass) if not (vclass is VnodeClass.LARGE and v.vnum == 1)]
            if op < 0.45 or not existing:
                nlists = len(self.lists[vclass])
                b = self.rng.randrange(nlists + (self.STEP if self.rng.random() < 0.2 else 0))
                while b >= len(self.lists[vclass]):
                    self.lists[vclass].extend([] for _ in range(self.STEP))
                vnum = vclass.vnode_number(b)
                u = self.uniq
                self.uniq += 1
                payload = self._dirpayload(vnum, u) if vclass is VnodeClass.LARGE else \
                    self.rng.randbytes(self.rng.choice((0, 1, 7, 100, 3000)))
                self.lists[vclass][b].append(_V(vnum, u, 1, payload))
            elif op < 0.75:
                b, v = self.rng.choice(existing)
                v.dv += 1
                if vclass is VnodeClass.SMALL:
                    v.payload = self.rng.randbytes(self.rng.choice((0, 5, 200)))
            else:
                b, v = self.rng.choice(existing)
                self.lists[vclass][b].remove(v)

    def dump(self, level: int) -> bytes:
        """A dump at ``level`` against the ancient list, then recorded (ancient)."""
        self.date += 86400
        if level > 0 and self.ancient is None:
            level = 0
        oldest = self.version if level == 0 else self.ancient[1]
        out = io.BytesIO()
        w = DumpWriter(out)
        w.write(V.header(level=level, backup_date=self.date, oldest=oldest, latest=self.version))
        w.write(V.volume(uniquifier=self.uniq, update=self.date))
        newlist = {}
        for vclass in (VnodeClass.LARGE, VnodeClass.SMALL):
            lists = self.lists[vclass]
            w.write(IndexHeader(vclass, self.count(vclass), len(lists)))
            for b, lst in enumerate(lists):
                matched = set()
                for v in lst:
                    key = (vclass, b, v.uniq)
                    old = None if level == 0 else self.ancient[0].get(key)
                    if old is not None:
                        matched.add(key)
                    if old is not None and old[0] == v.dv and old[1] < level:
                        newlist[key] = old
                        continue
                    newlist[key] = (v.dv, level)
                    self._write(w, vclass, v)
                if level:
                    gone = [k for k in self.ancient[0] if k[0] is vclass and k[1] == b and k not in matched]
                    for k in reversed(gone):
                        w.write(RemovedVnode(vclass.vnode_number(b), k[2]))
        w.end()
        self.ancient = (newlist, self.version)
        return out.getvalue()

    def _write(self, w, vclass, v: _V) -> None:
        vv = VersionVector((v.dv,) + (0,) * 7, 0x7F000001, v.dv, 0)
        if vclass is VnodeClass.LARGE:
            w.write(Vnode(v.vnum, v.uniq, type=VnodeType.DIRECTORY, mode=0o755, link_count=2, length=len(v.payload),
                          data_version=v.dv, vv=vv, acl=V.ACL, data=DataKind.DIRPAGES,
                          size=len(v.payload) // 2048, pages=v.payload))
        else:
            w.vnode(Vnode(v.vnum, v.uniq, length=len(v.payload), data_version=v.dv, vv=vv, size=len(v.payload)),
                    v.payload)

    def state(self) -> dict:
        return {(vclass.name, v.vnum, v.uniq): (v.dv, v.payload)
                for vclass in (VnodeClass.LARGE, VnodeClass.SMALL) for _b, v in self.all(vclass)}
