"""Serialise the records of ``records.py`` (ref §1-§7), byte-exactly.

A record read by ``DumpReader`` is written back identically: raw string
payloads, field order (``order``), the swallowed NULs of an 'A' ACL.  Records
built in code (order None) come out in the server's canonical layout, which
is also what ``*.coda_normalised()`` records give (codamergedump's output).

``encode_*`` return bytes; ``DumpWriter`` writes them to a stream and counts
the offset.  File data is written by the caller right after ``vnode()``
(``DumpWriter.data``), so it never has to be held in memory.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterable

from coda_restore.voldump.records import (
    DIR_PAGESIZE,
    DUMPBEGINMAGIC,
    DUMPENDMAGIC,
    HEADER_TAGS,
    TAG_ACL_RAW,
    TAG_ACL_TEXT,
    VNODE_FIELDS,
    VOLUME_FIELDS,
    VV_TAGS,
    DataKind,
    DumpEnd,
    DumpHeader,
    IndexHeader,
    NullVnode,
    RemovedVnode,
    Tag,
    VersionVector,
    Vnode,
    VolumeDiskData,
)

_U32 = struct.Struct(">I")


def _tu32(tag: int, v: int) -> bytes:
    return struct.pack(">BI", tag, v & 0xFFFFFFFF)


def _field(tag: int, enc: str, v) -> bytes:
    if enc == "I":
        return _tu32(tag, v)
    if enc == "H":
        return struct.pack(">BH", tag, v & 0xFFFF)
    if enc == "B":
        return struct.pack(">BB", tag, v & 0xFF)
    if enc == "S":
        return _tu32(tag, len(v)) + v
    if enc == "W":
        return _tu32(tag, len(v)) + struct.pack(f">{len(v)}I", *(x & 0xFFFFFFFF for x in v))
    if enc == "V":
        return bytes([tag]) + encode_vv(v)
    raise AssertionError(enc)


def encode_vv(vv: VersionVector) -> bytes:
    """The eleven sub-fields and D_ENDVV (56 bytes; the caller writes the tag)."""
    vals = dict(zip(VV_TAGS, (*vv.versions, vv.host, vv.uniq, vv.flags)))
    order = VV_TAGS if vv.order is None else vv.order
    return b"".join(_tu32(t, vals[t]) for t in order) + bytes([Tag.ENDVV])


def encode_header(h: DumpHeader) -> bytes:
    fields = {
        ord("v"): _tu32(ord("v"), h.volume_id),
        ord("p"): _tu32(ord("p"), h.parent_id),
        ord("n"): _field(ord("n"), "S", h.name),
        ord("b"): _tu32(ord("b"), h.backup_date),
        ord("i"): _tu32(ord("i"), h.level),
        ord("I"): struct.pack(">BII", ord("I"), h.oldest & 0xFFFFFFFF, h.latest & 0xFFFFFFFF),
    }
    order = HEADER_TAGS if h.order is None else h.order
    return struct.pack(">BII", Tag.DUMPHEADER, DUMPBEGINMAGIC, h.version) + b"".join(fields[t] for t in order)


def encode_volume(v: VolumeDiskData) -> bytes:
    spec = {t: (a, e) for t, a, e in VOLUME_FIELDS}
    order = [t for t, _, _ in VOLUME_FIELDS] if v.order is None else v.order
    return bytes([Tag.VOLUMEDISKDATA]) + b"".join(_field(t, spec[t][1], getattr(v, spec[t][0])) for t in order)


def encode_index(ix: IndexHeader) -> bytes:
    fields = {ord("v"): _tu32(ord("v"), ix.n_vnodes), ord("s"): _tu32(ord("s"), ix.n_lists)}
    order = (ord("v"), ord("s")) if ix.order is None else ix.order
    return bytes([ix.vclass]) + b"".join(fields[t] for t in order)


_VNODE_SPEC = {t: (a, e) for t, a, e in VNODE_FIELDS}


def encode_vnode(v: Vnode) -> bytes:
    """The record, its fields and the head of its data part: all of it for a
    directory or a bad inode, up to and including the size word for file
    data (the ``size`` data bytes follow, written by the caller)."""
    if v.order is None:
        order = [t for t, _, _ in VNODE_FIELDS]
        if v.acl is not None:
            order.append(TAG_ACL_TEXT)
        if v.acl_raw is not None:
            order.append(TAG_ACL_RAW)
    else:
        order = v.order
    parts = [struct.pack(">BII", Tag.VNODE, v.vnum, v.uniq)]
    for t in order:
        if t == TAG_ACL_TEXT:
            parts.append(_field(t, "S", v.acl))
        elif t == TAG_ACL_RAW:
            parts.append(bytes([t]) + v.acl_raw)
        else:
            attr, enc = _VNODE_SPEC[t]
            parts.append(_field(t, enc, getattr(v, attr)))
    parts.append(encode_data_head(v))
    return b"".join(parts)


def encode_data_head(v: Vnode) -> bytes:
    if v.data is DataKind.FILEDATA:
        return _tu32(Tag.FILEDATA, v.size)
    if v.data is DataKind.DIRPAGES:
        pages = v.pages or b""
        return _tu32(Tag.DIRPAGES, v.size) + b"".join(
            b"P" + pages[i * DIR_PAGESIZE : (i + 1) * DIR_PAGESIZE] for i in range(v.size)
        )
    if v.data is DataKind.BADINODE:
        return bytes([Tag.BADINODE])
    return b""


def encode_removed(r: RemovedVnode) -> bytes:
    return struct.pack(">BII", Tag.RMVNODE, r.vnum, r.uniq)


def encode_null(_n: NullVnode | None = None) -> bytes:
    return bytes([Tag.NULLVNODE])


def encode_end(e: DumpEnd | None = None) -> bytes:
    return _tu32(Tag.DUMPEND, DUMPENDMAGIC if e is None else e.magic)


def encode_record(rec) -> bytes:
    """Any record except a vnode's file data bytes."""
    return _ENCODERS[type(rec)](rec)


_ENCODERS = {
    DumpHeader: encode_header,
    VolumeDiskData: encode_volume,
    IndexHeader: encode_index,
    Vnode: encode_vnode,
    RemovedVnode: encode_removed,
    NullVnode: encode_null,
    DumpEnd: encode_end,
}


class DumpWriter:
    """Writes records to ``out`` and keeps the offset.  After ``vnode()`` of a
    FILEDATA vnode, exactly ``size`` bytes must follow through ``data()``."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.offset = 0
        self._data_left = 0

    def _w(self, b) -> None:
        self.out.write(b)
        self.offset += len(b)

    def write(self, rec) -> None:
        if self._data_left:
            raise ValueError(f"{self._data_left} bytes of file data still owed")
        self._w(encode_record(rec))
        if isinstance(rec, Vnode) and rec.data is DataKind.FILEDATA:
            self._data_left = rec.size

    def vnode(self, v: Vnode, data: bytes | Iterable[bytes] | None = None) -> None:
        """A vnode, and its file data when given (bytes or chunks)."""
        self.write(v)
        if data is not None:
            if isinstance(data, (bytes, bytearray, memoryview)):
                data = (data,)
            for chunk in data:
                self.data(chunk)
            if self._data_left:
                raise ValueError(f"vnode {v.vnum}.{v.uniq}: {self._data_left} bytes of file data missing")

    def data(self, chunk) -> None:
        n = len(chunk)
        if n > self._data_left:
            raise ValueError("more file data than the vnode's size")
        self._data_left -= n
        self.out.write(chunk)
        self.offset += n

    header = volume = index = removed = write

    def null(self) -> None:
        self.write(NullVnode())

    def end(self) -> None:
        self.write(DumpEnd())
