"""Regenerates the committed dumps of this directory (run from the repo root:
``PYTHONPATH=testbed:. python3 tests/data/voldump/make.py``).  The files are committed so that the
hostile inputs stay fixed bytes, whatever the writer becomes."""

import io
from pathlib import Path

import voldump_vectors as V  # testbed/voldump_vectors.py
from coda_restore.voldump.reader import DumpReader
from coda_restore.voldump.records import IndexHeader, RemovedVnode, VnodeClass, Vnode

HERE = Path(__file__).resolve().parent

full, incr = V.f1(), V.i1()
big = next(r for r in DumpReader(io.BytesIO(full)) if isinstance(r, Vnode) and r.size == 5000)
large, small = V.f1_parts()
ilarge, ismall = V.i1_parts()

files = {
    "full.0": full,
    "incr.1": incr,
    # cut 1200 bytes into the 5000-byte file 4.4
    "truncated.0": full[: big.data_offset + 5 + 1200],
    # an incremental whose oldest (4) is not the full's latest (5)
    "wrongbase.1": V.i1(oldest=4),
    "trailing.0": full + b"\0garbage",
    "rmvnode.0": V.build(V.header(), V.volume(), large, small + [RemovedVnode(14, 1)],
                         small_index=IndexHeader(VnodeClass.SMALL, 5, 8)),
    "badmagic.0": full[:1] + b"\xde\xad\xbe\xef" + full[5:],
    # the name's length word says 4 GiB
    "hugestring.0": full[:9] + b"v" + full[10:14] + b"p" + full[15:19] + b"n\xff\xff\xff\xf0" + full[24:],
    # a vnode in list 16 of a 16-list index (Coda's off-by-one lets it through)
    "listindex.1": V.build(V.header(level=1, backup_date=1700086400, oldest=5, latest=9), V.volume(), ilarge,
                           ismall + [V.file(34, 99, b"x")],
                           IndexHeader(VnodeClass.LARGE, 3, 16), IndexHeader(VnodeClass.SMALL, 6, 16)),
    "empty": b"",
}
for name, data in files.items():
    (HERE / name).write_bytes(data)
