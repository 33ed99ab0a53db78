"""The server's restore reader (vol-restore.cc / readstuff.cc), ref §17.

It reads the way the server reads, tolerant where the server is tolerant
(fields in any order, unknown field tags skipped one byte at a time, a tag
byte >= 0x80 ends a field list as the server's signed chars do) and refuses
what the server refuses, each with its reason:

* an invalid header (first byte not 1, wrong magic, volume id 0 or absent);
* an incremental (``i`` != 0);
* no volume data section (tag 9), or one ended by byte 0 or EOF;
* a volume of type RW (0) or replicated (3);
* a missing index tag, or an index header with fields other than v and s;
* a directory without D_DIRPAGES, with more than 128 pages, or a page
  without its 'P'; a small vnode with neither D_FILEDATA nor D_BADINODE;
* a record that is not a vnode where one is read (D_RMVNODE included);
* a count of non-null vnodes different from the index's nVnodes;
* a wrong end tag or end magic.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from coda_restore.voldump.dirpage import PAGE_SIZE, Directory

from .errors import BadDumpStream
from .model import LARGE, SMALL, VV, Vnode, VnodeIndex, VnodeType, Volume, VolType, bit_of

D_DUMPHEADER, D_SMALLINDEX, D_LARGEINDEX, D_VNODE = 1, 3, 4, 5
D_ENDVV, D_DUMPEND, D_VOLUMEDISKDATA, D_NULLVNODE = 7, 8, 9, 10
D_DIRPAGES, D_FILEDATA, D_RMVNODE, D_BADINODE, D_MAX = 11, 12, 13, 14, 20
DUMPBEGINMAGIC, DUMPENDMAGIC = 0xB3A11322, 0x3A214B6E
MAXPAGES = 128
ACL_A_SIZE = 384  # the raw struct of a 64-bit server


class _In:
    def __init__(self, f: BinaryIO):
        self.f = f
        self.back: list[int] = []
        self.offset = 0

    def fail(self, why: str) -> BadDumpStream:
        return BadDumpStream(f"{why} at offset {self.offset}")

    def read(self, n: int, what: str) -> bytes:
        buf = b""
        while self.back and len(buf) < n:
            buf += bytes([self.back.pop()])
        while len(buf) < n:
            chunk = self.f.read(n - len(buf))
            if not chunk:
                raise self.fail(f"end of dump inside {what}")
            buf += chunk
        self.offset += len(buf)
        return buf

    def tag(self) -> int | None:
        if self.back:
            self.offset += 1
            return self.back.pop()
        b = self.f.read(1)
        if not b:
            return None
        self.offset += 1
        return b[0]

    def push(self, t: int) -> None:
        self.back.append(t)
        self.offset -= 1

    def u32(self, what: str) -> int:
        return struct.unpack(">I", self.read(4, what))[0]

    def u16(self, what: str) -> int:
        return struct.unpack(">H", self.read(2, what))[0]

    def string(self, what: str, limit: int | None = None) -> str:
        n = self.u32(what)
        raw = self.read(n, what).split(b"\0", 1)[0]
        if limit is not None:
            raw = raw[:limit - 1]
        return raw.decode("utf-8", errors="surrogateescape")

    def fields(self):
        """Yield field tags until the first byte that ends a field list (pushed back)."""
        while True:
            t = self.tag()
            if t is None:
                return
            if t <= D_MAX or t >= 0x80:
                self.push(t)
                return
            yield t

    def vv(self, what: str) -> VV:
        vv = VV()
        while True:
            t = self.tag()
            if t is None:
                return vv
            if t <= D_MAX or t >= 0x80:
                if t != D_ENDVV:
                    raise self.fail(f"{what}: version vector not ended by D_ENDVV")
                return vv
            value = self.u32(what)
            if ord("0") <= t <= ord("7"):
                vv.versions[t - ord("0")] = value
            elif t == ord("s"):
                vv.store_host = value
            elif t == ord("u"):
                vv.store_uniq = value
            elif t == ord("f"):
                vv.flags = value


@dataclass
class Removed:
    vnum: int
    uniq: int


@dataclass
class ParsedDump:
    """A whole dump as the server's reader sees it (tests inspect incrementals with it)."""

    volume_id: int
    parent_id: int
    name: str
    backup_date: int
    level: int
    oldest: int
    latest: int
    volume: Volume
    large: list = field(default_factory=list)  # Vnode | Removed, in stream order
    small: list = field(default_factory=list)
    nvnodes: dict = field(default_factory=dict)  # class -> the index header's nVnodes

    def records(self, vclass: str) -> list:
        return self.large if vclass == LARGE else self.small


def read_dump(f: BinaryIO) -> Volume:
    """The volume a server restore makes of ``f``; BadDumpStream for what §17 refuses."""
    return parse_dump(f, restore=True).volume


def parse_dump(f: BinaryIO, restore: bool = False) -> ParsedDump:
    r = _In(f)
    if r.tag() != D_DUMPHEADER or r.u32("dump header") != DUMPBEGINMAGIC:
        raise r.fail("dump header not valid")
    r.u32("dump version")  # never checked by the server
    h = {"v": 0, "p": 0, "b": 0, "i": 0, "n": "", "I": (0, 0)}
    for t in r.fields():
        c = chr(t)
        if c in "vpbi":
            h[c] = r.u32("dump header")
        elif c == "n":
            h["n"] = r.string("dump header name", 32)
        elif c == "I":
            h["I"] = (r.u32("dump header oldest"), r.u32("dump header latest"))
    if h["v"] == 0:
        raise r.fail("dump header not valid (volume id 0)")
    if restore and h["i"] != 0:
        raise r.fail("trying to restore incremental dump")
    if r.tag() != D_VOLUMEDISKDATA:
        raise r.fail("volume data section missing")
    vol = _volume_data(r)
    if restore and vol.type in (VolType.RW, VolType.REPLICATED):
        raise r.fail(f"volume of type {int(vol.type)} cannot be restored")
    out = ParsedDump(h["v"], h["p"], h["n"], h["b"], h["i"], h["I"][0], h["I"][1], vol)
    for vclass in (LARGE, SMALL):
        idx, records, nvnodes = _index(r, vclass, restore)
        out.records(vclass).extend(records)
        out.nvnodes[vclass] = nvnodes
        if vclass == LARGE:
            vol.large = idx
        else:
            vol.small = idx
    if r.tag() != D_DUMPEND:
        raise r.fail("end of dump not found")
    if r.u32("end magic") != DUMPENDMAGIC:
        raise r.fail("wrong end magic")
    return out


_INT_FIELDS = {"i": "id", "v": "stamp_version", "u": "uniquifier", "p": "parent_id",
               "g": "group_id", "c": "clone_id", "b": "backup_id", "q": "maxquota",
               "m": "minquota", "x": "maxfiles", "d": None, "f": None, "a": "account_number",
               "o": "owner", "C": "creation_date", "A": "access_date", "U": "update_date",
               "E": "expiration_date", "B": "backup_date", "D": "day_use_date", "Z": "day_use"}


def _volume_data(r: _In) -> Volume:
    vol = Volume(id=0, name="", partition="", type=VolType.RW, parent_id=0)
    for t in r.fields():
        c = chr(t)
        if c in _INT_FIELDS:
            value = r.u32("volume data")
            if _INT_FIELDS[c]:
                setattr(vol, _INT_FIELDS[c], value)
        elif c in "sP+t":
            if c == "P":
                vol.partition = r.string("partition", 32)
            else:
                value = r.read(1, "volume data")[0]
                if c == "s":
                    vol.in_service = value
                elif c == "+":
                    vol.blessed = value
                else:
                    try:
                        vol.type = VolType(value)
                    except ValueError:
                        vol.type = value  # kept as read; only 0 and 3 are refused
        elif c == "n":
            vol.name = r.string("volume name", 32)
        elif c == "O":
            vol.offline_message = r.string("offline message", 128)
        elif c == "M":
            vol.motd = r.string("motd", 128)
        elif c == "l":
            r.u16("linkcount")
        elif c == "W":
            n = r.u32("weekUse")
            values = [r.u32("weekUse") for _ in range(n)]
            vol.week_use = (values + [0] * 7)[:7]
        elif c == "V":
            vol.vv = r.vv("volume version vector")
    t = r.tag()
    if t is None or t == 0:
        raise r.fail("volume data section not ended")
    r.push(t)
    return vol


def _index(r: _In, vclass: str, restore: bool) -> tuple[VnodeIndex, list, int]:
    want = D_LARGEINDEX if vclass == LARGE else D_SMALLINDEX
    if r.tag() != want:
        raise r.fail(f"{vclass} index not found")
    nvnodes, nlists = 0, 0
    for t in r.fields():
        if t == ord("v"):
            nvnodes = r.u32("index header")
        elif t == ord("s"):
            nlists = r.u32("index header")
        else:
            raise r.fail(f"{vclass} index header has field {chr(t)!r}")
    if nlists <= 0:
        raise r.fail(f"{vclass} index has no lists")
    idx = VnodeIndex(nlists)
    records: list = []
    count = 0
    while True:
        t = r.tag()
        if t == D_NULLVNODE:
            continue
        if t == D_RMVNODE and not restore:
            records.append(Removed(r.u32("removed vnode"), r.u32("removed uniquifier")))
            continue
        if t != D_VNODE:
            if t is not None:
                r.push(t)
            if t == D_RMVNODE:
                raise r.fail("unexpected tag D_RMVNODE (an incremental's removal record)")
            break
        v = _vnode(r, vclass)
        count += 1
        records.append(v)
        idx.lists.setdefault(bit_of(v.vnum), []).append(v)
    if restore and count != nvnodes:
        raise r.fail(f"#vnodes read != #vnodes dumped ({count} != {nvnodes}) in the {vclass} index")
    return idx, records, nvnodes


def _vnode(r: _In, vclass: str) -> Vnode:
    vnum = r.u32("vnode number")
    uniq = r.u32("vnode uniquifier")
    v = Vnode(vnum, uniq, VnodeType.FILE, 0)
    for t in r.fields():
        c = chr(t)
        if c == "t":
            raw = r.read(1, "vnode type")[0] & 7
            v.vtype = VnodeType(raw) if raw in (1, 2, 3) else raw
        elif c in "bl":
            value = r.u16("vnode")
            if c == "b":
                v.mode = value & 0o7777
            else:
                v.link_count = value
        elif c in "Lvmaopq":
            value = r.u32("vnode")
            setattr(v, {"L": "length", "v": "data_version", "m": "mtime", "a": "author",
                        "o": "owner", "p": "vparent", "q": "uparent"}[c], value)
        elif c == "V":
            v.vv = r.vv("vnode version vector")
        elif c == "X":
            v.acl = r.string("ACL")
        elif c == "A":
            v.acl_raw = r.read(ACL_A_SIZE, "ACL")
    t = r.tag()
    if vclass == LARGE:
        if v.vtype == VnodeType.DIRECTORY:
            if t != D_DIRPAGES:
                raise r.fail(f"directory {vnum}.{uniq} has no D_DIRPAGES")
            n = r.u32("page count")
            if n > MAXPAGES:
                raise r.fail(f"directory {vnum}.{uniq} has {n} pages (> {MAXPAGES})")
            pages = []
            for i in range(n):
                if r.tag() != ord("P"):
                    raise r.fail(f"page {i} of directory {vnum}.{uniq} lacks its 'P'")
                pages.append(r.read(PAGE_SIZE, "directory page"))
            v.dir = Directory.from_pages(pages) if pages else None
            v.length = n * PAGE_SIZE if v.length == 0 else v.length
        elif t is not None:
            r.push(t)
    else:
        if t == D_FILEDATA:
            size = r.u32("file size")
            v.data = r.read(size, f"data of vnode {vnum}.{uniq}")
            v.length = size
        elif t == D_BADINODE:
            v.data = b""  # restore makes an empty container
            v.length = 0
        else:
            raise r.fail(f"file {vnum}.{uniq} has neither D_FILEDATA nor D_BADINODE")
    return v


_SUFFIX = re.compile(r"\.(backup|readonly|restored)$")


def default_name(dumped: str, read_only: bool) -> str:
    """The dumped name less .backup/.readonly/.restored, plus .restored (.readonly for RO)."""
    return _SUFFIX.sub("", dumped) + (".readonly" if read_only else ".restored")
