"""An independent encoder of the dump stream, written from ref §1-§7 alone.

The simulator emits its dumps with the project's writer (``wire.py`` over
coda_restore.voldump.writer); this second encoder exists so a test can check
the two agree byte for byte, and so that the project's reader and writer are
not the only witnesses of each other.  Field order is the server's (§3,
§4, §6.1); every multi-byte integer is big-endian.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from .model import VV, Vnode, VnodeType, Volume

D_DUMPHEADER, D_SMALLINDEX, D_LARGEINDEX, D_VNODE = 1, 3, 4, 5
D_ENDVV, D_DUMPEND, D_VOLUMEDISKDATA, D_NULLVNODE = 7, 8, 9, 10
D_DIRPAGES, D_FILEDATA, D_RMVNODE, D_BADINODE = 11, 12, 13, 14
DUMPBEGINMAGIC, DUMPENDMAGIC, DUMPVERSION = 0xB3A11322, 0x3A214B6E, 2


def _u32(v: int) -> bytes:
    return struct.pack(">I", v & 0xFFFFFFFF)


class Emitter:
    """Writes tags and fields to a binary stream and counts the bytes."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.nbytes = 0

    def _w(self, b: bytes) -> None:
        self.out.write(b)
        self.nbytes += len(b)

    def tag(self, t: int) -> None:
        self._w(bytes([t]))

    def int32(self, t: int, v: int) -> None:
        self._w(bytes([t]) + _u32(v))

    def double(self, t: int, a: int, b: int) -> None:
        self._w(bytes([t]) + _u32(a) + _u32(b))

    def short(self, t: int, v: int) -> None:
        self._w(bytes([t]) + struct.pack(">H", v & 0xFFFF))

    def byte(self, t: int, v: int) -> None:
        self._w(bytes([t, v & 0xFF]))

    def string(self, t: int, s: str | bytes) -> None:
        raw = (s.encode() if isinstance(s, str) else s) + b"\0"
        self._w(bytes([t]) + _u32(len(raw)) + raw)

    def array(self, t: int, values: list[int]) -> None:
        self._w(bytes([t]) + _u32(len(values)) + b"".join(_u32(v) for v in values))

    def vv(self, t: int, vv: VV) -> None:
        self.tag(t)
        for i, site in enumerate(vv.versions):
            self.int32(ord(str(i)), site)
        self.int32(ord("s"), vv.store_host)
        self.int32(ord("u"), vv.store_uniq)
        self.int32(ord("f"), vv.flags)
        self.tag(D_ENDVV)

    # -- sections ------------------------------------------------------
    def dump_header(self, vol: Volume, level: int, oldest: int, latest: int) -> None:
        self.double(D_DUMPHEADER, DUMPBEGINMAGIC, DUMPVERSION)
        self.int32(ord("v"), vol.id)
        self.int32(ord("p"), vol.parent_id)
        self.string(ord("n"), vol.name)
        self.int32(ord("b"), vol.copy_date)
        self.int32(ord("i"), level)
        self.double(ord("I"), oldest, latest)

    def volume_disk_data(self, v: Volume) -> None:
        self.tag(D_VOLUMEDISKDATA)
        self.int32(ord("i"), v.id)
        self.int32(ord("v"), v.stamp_version)
        self.string(ord("n"), v.name)
        self.string(ord("P"), v.partition)
        self.byte(ord("s"), v.in_service)
        self.byte(ord("+"), v.blessed)
        self.int32(ord("u"), v.uniquifier)
        self.byte(ord("t"), int(v.type))
        self.int32(ord("p"), v.parent_id)
        self.int32(ord("g"), v.group_id)
        self.int32(ord("c"), v.clone_id)
        self.int32(ord("b"), v.backup_id)
        self.int32(ord("q"), v.maxquota)
        self.int32(ord("m"), v.minquota)
        self.int32(ord("x"), v.maxfiles)
        self.int32(ord("d"), v.diskused)
        self.int32(ord("f"), v.filecount)
        self.short(ord("l"), 1)
        self.int32(ord("a"), v.account_number)
        self.int32(ord("o"), v.owner)
        self.int32(ord("C"), v.creation_date)
        self.int32(ord("A"), v.access_date)
        self.int32(ord("U"), v.update_date)
        self.int32(ord("E"), v.expiration_date)
        self.int32(ord("B"), v.backup_date)
        self.string(ord("O"), v.offline_message)
        self.string(ord("M"), v.motd)
        self.array(ord("W"), v.week_use)
        self.int32(ord("D"), v.day_use_date)
        self.int32(ord("Z"), v.day_use)
        self.vv(ord("V"), v.vv)

    def index_header(self, large: bool, nvnodes: int, nlists: int) -> None:
        self.tag(D_LARGEINDEX if large else D_SMALLINDEX)
        self.int32(ord("v"), nvnodes)
        self.int32(ord("s"), nlists)

    def vnode(self, v: Vnode) -> None:
        self.double(D_VNODE, v.vnum, v.uniq)
        self.byte(ord("t"), int(v.vtype))
        self.short(ord("b"), v.mode)
        self.short(ord("l"), v.link_count)
        self.int32(ord("L"), v.length)
        self.int32(ord("v"), v.data_version)
        self.vv(ord("V"), v.vv)
        self.int32(ord("m"), v.mtime)
        self.int32(ord("a"), v.author)
        self.int32(ord("o"), v.owner)
        self.int32(ord("p"), v.vparent)
        self.int32(ord("q"), v.uparent)
        if v.vtype == VnodeType.DIRECTORY:
            if v.acl_raw is not None:
                self._w(b"A" + v.acl_raw)
            else:
                self.string(ord("X"), v.acl or "")
            pages = v.dir.pages()
            self.int32(D_DIRPAGES, len(pages))
            for page in pages:
                self._w(b"P" + page)
        elif v.data is None:
            self.tag(D_BADINODE)
        else:
            self.int32(D_FILEDATA, len(v.data))
            self._w(v.data)

    def rmvnode(self, vnum: int, uniq: int) -> None:
        self.double(D_RMVNODE, vnum, uniq)

    def end(self) -> None:
        self.int32(D_DUMPEND, DUMPENDMAGIC)
