"""Ref §19 edge cases not covered by the §20 vectors in test_voldump_merge.py."""

from __future__ import annotations

import dataclasses
import io
import struct

import pytest

import voldump_model as M
import voldump_vectors as V
from coda_restore.errors import DumpFormatError
from coda_restore.voldump import reader as reader_mod
from coda_restore.voldump.merge import merge
from coda_restore.voldump.reader import DumpReader
from coda_restore.voldump.records import (
    DataKind,
    IndexHeader,
    NullVnode,
    VnodeClass,
    VnodeType,
    Vnode,
)
from coda_restore.voldump.validate import validate
from coda_restore.voldump.writer import encode_index


def run(*dumps: bytes, **kw):
    out = io.BytesIO()
    names = ["full"] + [f"incr{i}" for i in range(1, len(dumps))]
    result = merge(out, [(n, io.BytesIO(d)) for n, d in zip(names, dumps)], **kw)
    return out.getvalue(), result


def first_vnode(data: bytes) -> Vnode:
    return next(r for r in DumpReader(io.BytesIO(data)) if isinstance(r, Vnode))


def test_fast_and_field_loop_parsers_agree(monkeypatch):
    for data in (V.f1(), V.i1()):
        fast = list(DumpReader(io.BytesIO(data)))
        monkeypatch.setattr(reader_mod.DumpReader, "_vnode_fast", lambda self, at: None)
        slow = list(DumpReader(io.BytesIO(data)))
        monkeypatch.undo()
        assert fast == slow
        assert all(r.raw is not None for r in fast if isinstance(r, Vnode))


def test_19_1_unknown_field_tag_in_a_vnode_is_refused_with_its_offset():
    data = V.f1()
    v = first_vnode(data)
    at = v.offset + 9  # before the 't' field
    bad = data[:at] + b"~" + data[at:]
    res = validate(io.BytesIO(bad), "x")
    assert str(res.error) == f"x: offset {at}: unknown field tag '~' in vnode 0x1.0x1"


def test_19_1_repeated_field_is_refused():
    data = V.f1()
    v = first_vnode(data)
    at = v.offset + 9
    bad = data[:at] + data[at:at + 2] + data[at:]  # 't' twice
    assert "field 't' repeated in vnode 0x1.0x1" in str(validate(io.BytesIO(bad)).error)


def test_19_3_empty_string_and_non_utf8_names():
    name = b"u.\xffbin.backup\0"
    full = V.build(V.header(name=name), dataclasses.replace(V.volume(), motd=b"", name=name), *V.f1_parts())
    res = validate(io.BytesIO(full))
    assert res.valid
    assert any("motd payload is not one NUL-terminated string" in w.text for w in res.warnings)
    large, small = V.i1_parts()
    incr = V.build(V.header(level=1, backup_date=1700086400, oldest=5, latest=9, name=name), V.volume(),
                   large, small, IndexHeader(VnodeClass.LARGE, 3, 16), IndexHeader(VnodeClass.SMALL, 5, 16))
    data, _ = run(full, incr)
    assert DumpReader(io.BytesIO(data)).read_header().name == name


def test_19_5_volume_id_zero_is_invalid():
    res = validate(io.BytesIO(V.build(V.header(volid=0), V.volume(), *V.f1_parts())))
    assert "offset 0: dump header is not valid: volume id is 0 or missing" in str(res.error)


@pytest.mark.parametrize("index, text", [
    (encode_index(IndexHeader(VnodeClass.LARGE, 2, 0)), "large index has nLists = 0"),
    (encode_index(IndexHeader(VnodeClass.LARGE, 2, 8)) + b"x" + bytes(4), "unknown field tag 'x' in the large index header"),
    (bytes([4]) + b"v" + bytes(4), "large index header lacks its nLists (s) field"),
])
def test_19_6_index_header_rules(index, text):
    data = V.f1()
    r = DumpReader(io.BytesIO(data))
    r.read_header()
    r.read_volume()
    at = r.offset
    bad = data[:at] + index + data[at + 11:]
    assert text in str(validate(io.BytesIO(bad)).error)


def test_19_10_null_vnode_in_an_incremental_is_ignored():
    large, small = V.i1_parts()
    incr = V.build(V.header(level=1, backup_date=1700086400, oldest=5, latest=9),
                   V.volume(uniquifier=110, update=1700086400), large, [NullVnode()] + small, IndexHeader(VnodeClass.LARGE, 3, 16), IndexHeader(VnodeClass.SMALL, 5, 16))
    assert run(V.f1(), incr)[0] == run(V.f1(), V.i1())[0]


def test_19_13_acl_on_a_non_directory_is_dropped_by_the_merge_and_warned():
    large, small = V.f1_parts()
    v, d = small[0]
    small[0] = (dataclasses.replace(v, acl=V.ACL), d)
    full = V.build(V.header(), V.volume(), large, small)
    res = validate(io.BytesIO(full))
    assert any("ACL on a non-directory" in w.text for w in res.warnings)
    data, _ = run(full, V.i1())
    assert data == M.codamergedump(full, V.i1())[0]


def test_19_14_more_than_128_pages_is_refused():
    data = bytearray(V.f1())
    v = first_vnode(bytes(data))
    struct.pack_into(">I", data, v.data_offset + 1, 129)
    assert f"offset {v.data_offset}: vnode 0x1.0x1 has 129 directory pages, more than 128" in str(
        validate(io.BytesIO(bytes(data))).error)


def test_19_15_symlink_with_empty_target_passes_through():
    large, small = V.f1_parts()
    small[2] = V.file(6, 5, b"", type=VnodeType.SYMLINK, mode=0o777)
    full = V.build(V.header(), V.volume(), large, small)
    empty = V.build(V.header(level=1, backup_date=1700086400, oldest=5, latest=6), V.volume(), [], [],
                    IndexHeader(VnodeClass.LARGE, 2, 8), IndexHeader(VnodeClass.SMALL, 5, 8))
    data, _ = run(full, empty)
    assert M.contents(data)[("SMALL", 6, 5)][1] == b""


def test_19_17_wrong_or_missing_end_magic():
    data = V.f1()
    assert "end magic is 0x00000000, expected 0x3a214b6e" in str(validate(io.BytesIO(data[:-4] + bytes(4))).error)
    assert "truncated dump: end magic needs 4 bytes, got 0" in str(validate(io.BytesIO(data[:-4])).error)
    assert "truncated dump: next record of the small index needs 1 bytes, got 0" in str(
        validate(io.BytesIO(data[:-5])).error)


def test_19_20_differing_volume_ids_are_allowed_as_in_coda():
    incr = V.i1(volid=0x01000099)
    data, _ = run(V.f1(), incr)
    assert DumpReader(io.BytesIO(data)).read_header().volume_id == V.VOLID


def test_directory_in_the_small_index_is_refused():
    large, small = V.f1_parts()
    d = V.directory(14, 9, [])
    full = V.build(V.header(), V.volume(), large, small + [d])
    res = validate(io.BytesIO(full))
    assert "vnode 0xe.0x9: file vnode with neither D_FILEDATA nor D_BADINODE" in str(res.error)
    with pytest.raises(DumpFormatError, match="neither D_FILEDATA nor D_BADINODE"):
        run(full, V.i1())


def test_large_files_cross_the_merge_and_the_spill():
    big = bytes(range(256)) * (9 << 12)  # 9 MiB
    large, small = V.f1_parts()
    small[3] = V.file(12, 20, big)  # slot 5 has two entries: reordered, so buffered
    full = V.build(V.header(), V.volume(), large, small)
    data, result = run(full, V.i1(), memory_budget=1 << 20)
    assert result.spilled_bytes >= len(big)
    assert M.contents(data)[("SMALL", 12, 20)][1] == big
    assert data == M.codamergedump(full, V.i1())[0]
