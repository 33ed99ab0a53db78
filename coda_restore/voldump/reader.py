"""Streaming reader of a Coda ``voldump`` stream (ref §2-§8).

One pass, forward only, over any binary file object (a pipe works); memory
holds one record at a time, file data is handed out in chunks::

    reader = DumpReader(stream, "full.0")
    for rec in reader:                       # header, volume, index, records..., end
        if isinstance(rec, Vnode) and rec.data is DataKind.FILEDATA:
            for chunk in reader.data_chunks():   # optional: skipped if not drained
                out.write(chunk)

or, structured, as the merge does: ``read_header()``, ``read_volume()``,
``read_index()``, ``next_record()`` until it returns None, ``read_index()``,
``next_record()``..., ``read_end()``.

Tighter than Coda where Coda desynchronises or hangs (§8, §19): unknown and
repeated field tags, a missing section, a bad magic, huge counts and
truncation anywhere raise a DumpFormatError naming the byte offset.
Things Coda accepts and that are only odd (version word != 2, trailing bytes
when allowed) become ``warnings``.  Semantic checks that need more than one
record (slot order, duplicates, counts, parity) live in ``validate.py``.
"""

from __future__ import annotations

import enum
import operator
import struct
from typing import BinaryIO, Callable, Iterator

from coda_restore.errors import DumpFormatError, TruncatedDump
from coda_restore.voldump.records import (
    ACL_A_SIZE,
    ACL_A_SLACK,
    D_MAX,
    DIR_MAXPAGES,
    DIR_PAGESIZE,
    DUMPBEGINMAGIC,
    DUMPENDMAGIC,
    DUMPVERSION,
    HEADER_TAGS,
    TAG_ACL_RAW,
    TAG_ACL_TEXT,
    VNODE_FIELDS,
    VOLUME_FIELDS,
    VV_TAGS,
    DataKind,
    DumpEnd,
    DumpHeader,
    DumpWarning,
    IndexHeader,
    NullVnode,
    Record,
    RemovedVnode,
    SectionRecord,
    Tag,
    VersionVector,
    VnodeClass,
    Vnode,
    VolumeDiskData,
)
from coda_restore.voldump.stream import InputStream, read_exact

MAX_STRING = 1 << 20  # no legitimate string (names, ACL text) comes near this
MAX_WEEKUSE = 1 << 12

_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_DOUBLE = struct.Struct(">II")
_TAG_U32 = struct.Struct(">BI")
_TAG_DOUBLE = struct.Struct(">BII")


# A vnode's 109 fixed bytes in the server's canonical layout (§6.1), for the
# two fast paths that read them straight from the stream's buffer (the
# reader's _vnode_fast, the merge's copy_plain_files): one unpack, then
# fixed_vnode_tags(values) == CANONICAL_VNODE_TAGS, else the field loop.
FIXED_VNODE = struct.Struct(">BII" + "BB" + "BH" + "BH" + "BI" + "BI" + "B" + "BI" * 11 + "B" + "BI" * 5)
_FIXED_TAG_INDEX = (3, 5, 7, 9, 11, 13, *range(14, 36, 2), 36, 37, 39, 41, 43, 45)
fixed_vnode_tags = operator.itemgetter(*_FIXED_TAG_INDEX)
CANONICAL_VNODE_TAGS = tuple(b"tblLvV01234567suf") + (Tag.ENDVV,) + tuple(b"maopq")
assert FIXED_VNODE.size == 109


def _tagname(tag: int) -> str:
    if tag > D_MAX and 32 <= tag < 127:
        return repr(chr(tag))
    try:
        return f"{tag} ({Tag(tag).name})"
    except ValueError:
        return str(tag)


class _State(enum.Enum):
    HEADER = 1
    VOLUME = 2
    LARGE_INDEX = 3
    LARGE = 4
    SMALL_INDEX = 5
    SMALL = 6
    END = 7
    DONE = 8


class DumpReader:
    """Reads one dump.  ``allow_trailing``: bytes after the end magic are a
    warning instead of an error (Coda tolerates them on incrementals)."""

    def __init__(self, raw: BinaryIO, source: str = "dump", *, allow_trailing: bool = False):
        self.stream = InputStream(raw, source)
        self.source = source
        self.allow_trailing = allow_trailing
        self.warnings: list[DumpWarning] = []
        self.header: DumpHeader | None = None
        self.volume: VolumeDiskData | None = None
        self.large: IndexHeader | None = None
        self.small: IndexHeader | None = None
        self.end: DumpEnd | None = None
        self._state = _State.HEADER
        self._data_left = 0  # file bytes of the last vnode not yet consumed
        self._data_start = 0

    # -- errors ----------------------------------------------------------------
    def error(self, offset: int, detail: str) -> DumpFormatError:
        return DumpFormatError(offset, detail, self.source)

    def warn(self, offset: int, text: str) -> None:
        self.warnings.append(DumpWarning(self.source, offset, text))

    @property
    def offset(self) -> int:
        return self.stream.offset

    # -- primitives ------------------------------------------------------------
    def _u8(self, what: str) -> int:
        return read_exact(self.stream, 1, what)[0]

    def _u16(self, what: str) -> int:
        return _U16.unpack(read_exact(self.stream, 2, what))[0]

    def _u32(self, what: str) -> int:
        return _U32.unpack(read_exact(self.stream, 4, what))[0]

    def _string(self, what: str) -> bytes:
        at = self.stream.offset
        n = self._u32(what + " length")
        if n > MAX_STRING:
            raise self.error(at, f"{what} length {n} is larger than {MAX_STRING}")
        return read_exact(self.stream, n, what)

    def _vv(self, what: str) -> VersionVector:
        versions = [0] * 8
        vals = {}
        seen: list[int] = []
        while True:
            at = self.stream.offset
            tag = self.stream.peek_byte()
            if tag < 0:
                raise TruncatedDump(at, f"{what} terminator", 1, 0, self.source)
            if tag <= D_MAX:
                break
            if tag not in VV_TAGS:
                raise self.error(at, f"unknown field tag {_tagname(tag)} in {what}")
            if tag in seen:
                raise self.error(at, f"field {_tagname(tag)} repeated in {what}")
            self.stream.advance(1)
            seen.append(tag)
            vals[tag] = self._u32(f"{what} {chr(tag)}")
        at = self.stream.offset
        if tag != Tag.ENDVV:
            raise self.error(at, f"{what} ends with tag {_tagname(tag)}, expected D_ENDVV")
        self.stream.advance(1)
        for i in range(8):
            versions[i] = vals.get(ord("0") + i, 0)
        order = tuple(seen)
        return VersionVector(
            tuple(versions), vals.get(ord("s"), 0), vals.get(ord("u"), 0), vals.get(ord("f"), 0),
            None if order == VV_TAGS else order,
        )

    def _field(self, enc: str, what: str):
        if enc == "I":
            return self._u32(what)
        if enc == "H":
            return self._u16(what)
        if enc == "B":
            return self._u8(what)
        if enc == "S":
            return self._string(what)
        if enc == "V":
            return self._vv(what)
        if enc == "W":
            at = self.stream.offset
            n = self._u32(what + " count")
            if n > MAX_WEEKUSE:
                raise self.error(at, f"{what} count {n} is larger than {MAX_WEEKUSE}")
            data = read_exact(self.stream, 4 * n, what)
            return struct.unpack(f">{n}I", data)
        if enc == "D":
            return _DOUBLE.unpack(read_exact(self.stream, 8, what))
        raise AssertionError(enc)

    def _fields(self, spec: dict[int, tuple[str, str]], what: str, extra: Callable[[int], object] | None = None,
                in_what: str | None = None):
        """Read tagged fields until a byte <= 20; returns (values, tags seen).
        ``in_what`` names the record in "unknown"/"repeated" errors, if not ``what``."""
        values: dict[str, object] = {}
        seen: list[int] = []
        in_what = in_what or what
        while True:
            at = self.stream.offset
            tag = self.stream.peek_byte()
            if tag < 0:
                raise TruncatedDump(at, f"{what} (next tag)", 1, 0, self.source)
            if tag <= D_MAX:
                return values, seen
            if tag in seen:
                raise self.error(at, f"field {_tagname(tag)} repeated in {in_what}")
            if tag in spec:
                self.stream.advance(1)
                attr, enc = spec[tag]
                values[attr] = self._field(enc, f"{what} field {chr(tag)}")
            elif extra is not None and extra(tag):
                pass
            else:
                raise self.error(at, f"unknown field tag {_tagname(tag)} in {in_what}")
            seen.append(tag)

    def _expect_tag(self, tag: int, what: str) -> int:
        at = self.stream.offset
        got = self.stream.peek_byte()
        if got < 0:
            raise TruncatedDump(at, what, 1, 0, self.source)
        if got != tag:
            raise self.error(at, f"{what} not found (tag {_tagname(got)}, expected {_tagname(tag)})")
        self.stream.advance(1)
        return at

    def _check_state(self, want: _State, what: str) -> None:
        if self._state is not want:
            raise RuntimeError(f"{what} read out of order (reader is at {self._state.name})")

    # -- sections ----------------------------------------------------------------
    def read_header(self) -> DumpHeader:
        self._check_state(_State.HEADER, "header")
        at = self.stream.offset
        first = self.stream.peek_byte()
        if first != Tag.DUMPHEADER:
            if first < 0:
                raise self.error(at, "empty input: not a Coda dump")
            raise self.error(at, f"not a Coda dump: first byte is {first}, expected 1 (D_DUMPHEADER)")
        self.stream.advance(1)
        magic, version = _DOUBLE.unpack(read_exact(self.stream, 8, "dump header magic and version"))
        if magic != DUMPBEGINMAGIC:
            raise self.error(at + 1, f"not a Coda dump: begin magic is {magic:#010x}, expected {DUMPBEGINMAGIC:#010x}")
        spec = {
            ord("v"): ("volume_id", "I"), ord("p"): ("parent_id", "I"), ord("n"): ("name", "S"),
            ord("b"): ("backup_date", "I"), ord("i"): ("level", "I"), ord("I"): ("ordering", "D"),
        }
        values, seen = self._fields(spec, "dump header", in_what="the dump header")
        oldest, latest = values.pop("ordering", (0, 0))
        level = values.get("level", 0)
        values["level"] = level - (1 << 32) if level >= 1 << 31 else level
        order = tuple(seen)
        header = DumpHeader(
            oldest=oldest, latest=latest, version=version,
            order=None if order == HEADER_TAGS else order, offset=at, **values,
        ) if "volume_id" in values else None
        if header is None or header.volume_id == 0:
            raise self.error(at, "dump header is not valid: volume id is 0 or missing")
        if version != DUMPVERSION:
            self.warn(at + 5, f"dump version is {version}, expected {DUMPVERSION} (Coda ignores it)")
        self.header = header
        self._state = _State.VOLUME
        return header

    def read_volume(self) -> VolumeDiskData:
        self._check_state(_State.VOLUME, "volume data")
        at = self._expect_tag(Tag.VOLUMEDISKDATA, "volume data section (D_VOLUMEDISKDATA)")
        spec = {tag: (attr, enc) for tag, attr, enc in VOLUME_FIELDS}
        values, seen = self._fields(spec, "the volume data")
        order = tuple(seen)
        canonical = tuple(t for t, _, _ in VOLUME_FIELDS)
        self.volume = VolumeDiskData(offset=at, order=None if order == canonical else order, **values)
        self._state = _State.LARGE_INDEX
        return self.volume

    def read_index(self) -> IndexHeader:
        if self._state is _State.LARGE:
            while self.next_record() is not None:
                pass
        if self._state is _State.LARGE_INDEX:
            vclass, what = VnodeClass.LARGE, "large index (D_LARGEINDEX)"
        elif self._state is _State.SMALL_INDEX:
            vclass, what = VnodeClass.SMALL, "small index (D_SMALLINDEX)"
        else:
            raise RuntimeError(f"index read out of order (reader is at {self._state.name})")
        at = self._expect_tag(vclass, what)
        spec = {ord("v"): ("n_vnodes", "I"), ord("s"): ("n_lists", "I")}
        values, seen = self._fields(spec, f"the {vclass.name.lower()} index header")
        if "n_lists" not in values or "n_vnodes" not in values:
            raise self.error(at, f"{vclass.name.lower()} index header lacks its "
                             f"{'nLists (s)' if 'n_lists' not in values else 'nVnodes (v)'} field")
        if values["n_lists"] == 0:
            raise self.error(at, f"{vclass.name.lower()} index has nLists = 0")
        order = tuple(seen)
        index = IndexHeader(vclass, offset=at, order=None if order == (ord("v"), ord("s")) else order, **values)
        if vclass is VnodeClass.LARGE:
            self.large, self._state = index, _State.LARGE
        else:
            self.small, self._state = index, _State.SMALL
        return index

    @property
    def vclass(self) -> VnodeClass | None:
        return {_State.LARGE: VnodeClass.LARGE, _State.SMALL: VnodeClass.SMALL}.get(self._state)

    def next_record(self) -> SectionRecord | None:
        """The next record of the current section, or None at its end."""
        if self._data_left:
            self.skip_data()
        if self._state is _State.LARGE:
            end_tag, section = Tag.SMALLINDEX, "large index"
        elif self._state is _State.SMALL:
            end_tag, section = Tag.DUMPEND, "small index"
        else:
            raise RuntimeError(f"record read out of section (reader is at {self._state.name})")
        s = self.stream
        at = s.offset
        tag = s.peek_byte()
        if tag < 0:
            raise TruncatedDump(at, f"next record of the {section}", 1, 0, self.source)
        if tag == Tag.VNODE:
            return self._vnode(at)
        if tag == Tag.RMVNODE:
            s.advance(1)
            vnum, uniq = _DOUBLE.unpack(read_exact(s, 8, "D_RMVNODE"))
            return RemovedVnode(vnum, uniq, at)
        if tag == Tag.NULLVNODE:
            s.advance(1)
            return NullVnode(at)
        if tag == end_tag:
            self._state = _State.SMALL_INDEX if end_tag == Tag.SMALLINDEX else _State.END
            return None
        raise self.error(at, f"unexpected tag {_tagname(tag)} in the {section} "
                         f"(expected a vnode record or {_tagname(end_tag)})")

    def _extra_vnode_field(self, tag: int) -> bool:
        return tag in (TAG_ACL_TEXT, TAG_ACL_RAW)

    def _vnode(self, at: int) -> Vnode:
        fast = self._vnode_fast(at)
        if fast is not None:
            return fast
        s = self.stream
        s.advance(1)
        vnum, uniq = _DOUBLE.unpack(read_exact(s, 8, "D_VNODE number and uniquifier"))
        what = f"vnode {vnum:#x}.{uniq:#x}"
        spec = {tag: (attr, enc) for tag, attr, enc in VNODE_FIELDS}
        spec[TAG_ACL_TEXT] = ("acl", "S")
        values, seen = self._fields(spec, what, self._acl_raw_field(what))
        if self._acl_raw is not None:
            values["acl_raw"], self._acl_raw = self._acl_raw, None
        expected = [t for t, _, _ in VNODE_FIELDS]
        if "acl" in values:
            expected.append(TAG_ACL_TEXT)
        if "acl_raw" in values:
            expected.append(TAG_ACL_RAW)
        order = tuple(seen)
        kind, size, pages, data_at = self._data_part(what)
        vn = Vnode(
            vnum, uniq, data=kind, size=size, pages=pages, offset=at, data_offset=data_at,
            order=None if order == tuple(expected) else order,
            **{**{a: 0 for _, a, _ in VNODE_FIELDS if a != "vv"}, **values},
        )
        if kind is DataKind.FILEDATA:
            self._data_left = size
        return vn

    def _vnode_fast(self, at: int) -> Vnode | None:
        """A vnode in the server's canonical layout, parsed with one unpack;
        None (nothing consumed) for anything else, left to the field loop."""
        s = self.stream
        fixed = 109  # FIXED_VNODE.size
        buf, pos = s.buf, s.pos
        n = len(buf) - pos
        if n < fixed + 10:
            n = s.fill(fixed + 10)
            if n < fixed + 1:
                return None
            buf, pos = s.buf, s.pos
        vals = FIXED_VNODE.unpack_from(buf, pos)
        if fixed_vnode_tags(vals) != CANONICAL_VNODE_TAGS:
            return None
        end = pos + fixed
        nxt = buf[end]
        acl = None
        if nxt == TAG_ACL_TEXT and n >= fixed + 5:
            alen = _U32.unpack_from(buf, end + 1)[0]
            need = fixed + 5 + alen + 1
            if alen > 65536 or s.fill(need) < need:
                return None
            buf, pos = s.buf, s.pos
            end = pos + fixed
            acl = bytes(buf[end + 5 : end + 5 + alen])
            end += 5 + alen
            nxt = buf[end]
        if nxt > D_MAX:
            return None
        raw = bytes(buf[pos:end])
        vnum, uniq = vals[1], vals[2]
        if nxt == Tag.FILEDATA and end + 5 <= len(buf):
            # the common case, inline: D_FILEDATA and its size
            data_at = s.offset + (end - pos)
            size = _U32.unpack_from(buf, end + 1)[0]
            s.advance(end + 5 - pos)
            kind, pages = DataKind.FILEDATA, None
        else:
            s.advance(end - pos)
            kind, size, pages, data_at = self._data_part(f"vnode {vnum:#x}.{uniq:#x}")
        vv = VersionVector(vals[15:30:2], vals[31], vals[33], vals[35])
        vn = Vnode(vnum, uniq, vals[4], vals[6], vals[8], vals[10], vals[12], vv, vals[38], vals[40], vals[42],
                   vals[44], vals[46], acl, None, kind, size, pages, None, at, data_at, raw)
        if kind is DataKind.FILEDATA:
            self._data_left = size
        return vn

    def _data_part(self, what: str):
        s = self.stream
        data_at = s.offset
        tag = s.peek_byte()
        pages = None
        size = 0
        if tag == Tag.FILEDATA:
            s.advance(1)
            size = self._u32(f"{what} D_FILEDATA size")
            kind = DataKind.FILEDATA
        elif tag == Tag.DIRPAGES:
            s.advance(1)
            size = self._u32(f"{what} D_DIRPAGES count")
            if size > DIR_MAXPAGES:
                raise self.error(data_at, f"{what} has {size} directory pages, more than {DIR_MAXPAGES}")
            parts = []
            for i in range(size):
                pat = s.offset
                p = self._u8(f"{what} page {i} marker")
                if p != ord("P"):
                    raise self.error(pat, f"{what} page {i} lacks its 'P' marker (found {p})")
                parts.append(read_exact(s, DIR_PAGESIZE, f"{what} page {i}"))
            pages = b"".join(parts)
            kind = DataKind.DIRPAGES
        elif tag == Tag.BADINODE:
            s.advance(1)
            kind = DataKind.BADINODE
        else:
            kind = DataKind.NONE
        return kind, size, pages, data_at

    _acl_raw: bytes | None = None

    def _acl_raw_field(self, what: str) -> Callable[[int], bool]:
        def take(tag: int) -> bool:
            if tag != TAG_ACL_RAW:
                return False
            at = self.stream.offset
            if self._acl_raw is not None:
                raise self.error(at, f"field 'A' repeated in {what}")
            self.stream.advance(1)
            blob = read_exact(self.stream, ACL_A_SIZE, f"{what} raw ACL")
            # Coda's reader swallows up to 16 NULs after the 384 bytes (400-byte
            # structs of 32-bit servers); keep them so the writer can restore them.
            k = 0
            while k < ACL_A_SLACK and self.stream.peek_byte() == 0:
                self.stream.advance(1)
                k += 1
            self._acl_raw = blob + b"\0" * k
            return True

        return take

    # -- file data ----------------------------------------------------------------
    @property
    def data_left(self) -> int:
        return self._data_left

    def data_chunks(self) -> Iterator[memoryview]:
        """The current vnode's file data in pieces (each valid until the next)."""
        n, self._data_left = self._data_left, 0
        yield from self.stream.chunks(n, "file data")

    def next_key(self) -> tuple[int, int] | None:
        """(tag, vnode number) of the record after the current vnode's data,
        without reading anything; None when that would need reading ahead on
        a pipe.  Lets a merge know whether a slot has more records."""
        got = self.stream.peek_at(self._data_left, 5)
        if got is None:
            return None
        if len(got) < 5:
            return (got[0] if got else -1, 0)
        return got[0], _U32.unpack_from(got, 1)[0]

    def read_data(self) -> bytes:
        """The whole file data of the current vnode (for small files and tests)."""
        return b"".join(bytes(c) for c in self.data_chunks())

    def copy_data(self, write: Callable[[memoryview], object]) -> int:
        n = self._data_left
        for chunk in self.data_chunks():
            write(chunk)
        return n

    def skip_data(self) -> None:
        n, self._data_left = self._data_left, 0
        self.stream.skip(n, "file data")

    # -- end ---------------------------------------------------------------------
    def read_end(self) -> DumpEnd:
        if self._state is _State.SMALL:
            while self.next_record() is not None:
                pass
        self._check_state(_State.END, "end of dump")
        at = self._expect_tag(Tag.DUMPEND, "end of dump (D_DUMPEND)")
        magic = self._u32("end magic")
        if magic != DUMPENDMAGIC:
            raise self.error(at + 1, f"end magic is {magic:#010x}, expected {DUMPENDMAGIC:#010x}")
        self.end = DumpEnd(magic, at)
        self._state = _State.DONE
        if not self.stream.at_eof():
            text = "trailing bytes after the end of the dump"
            if not self.allow_trailing:
                raise self.error(self.stream.offset, text)
            self.warn(self.stream.offset, text + " (ignored, as Coda does for incrementals)")
        return self.end

    # -- everything ----------------------------------------------------------------
    def __iter__(self) -> Iterator[Record]:
        yield self.read_header()
        yield self.read_volume()
        for _ in range(2):
            yield self.read_index()
            while (rec := self.next_record()) is not None:
                yield rec
        yield self.read_end()
