"""Reader, writer and validator: sizes of ref §3-§11, byte-exact round trips,
non-canonical inputs, and hostile bytes (never a crash, never a hang)."""

from __future__ import annotations

import dataclasses
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voldump_model as M
import voldump_vectors as V
from coda_restore.errors import DumpFormatError, TruncatedDump
from coda_restore.voldump.reader import DumpReader
from coda_restore.voldump.records import (
    DataKind,
    DumpEnd,
    DumpHeader,
    IndexHeader,
    VersionVector,
    VnodeClass,
    Vnode,
    VolumeDiskData,
)
from coda_restore.voldump.stream import InputStream, read_exact
from coda_restore.voldump.validate import validate
from coda_restore.voldump.writer import DumpWriter, encode_header, encode_index, encode_volume, encode_vnode


def roundtrip(data: bytes, **kw) -> bytes:
    r = DumpReader(io.BytesIO(data), **kw)
    out = io.BytesIO()
    w = DumpWriter(out)
    for rec in r:
        w.write(rec)
        if isinstance(rec, Vnode) and rec.data is DataKind.FILEDATA:
            for chunk in r.data_chunks():
                w.data(chunk)
    return out.getvalue()


def test_sizes_match_ref_section_11():
    h = V.header()
    assert len(encode_header(h)) == 43 + 14 == 57
    assert len(encode_volume(V.volume())) == 225 + 14 + 8 + 1 + 1
    assert len(encode_index(IndexHeader(VnodeClass.LARGE, 1, 1))) == 11
    f, _ = V.file(2, 3, b"hello world\n")
    assert len(encode_vnode(f)) == 109 + 5
    d = V.directory(1, 1, [])
    assert len(encode_vnode(d)) == 109 + 5 + len(V.ACL) + 5 + 2049


def test_offsets_are_those_of_the_size_formulas():
    recs = list(DumpReader(io.BytesIO(V.f1())))
    assert [type(r).__name__ for r in recs[:4]] == ["DumpHeader", "VolumeDiskData", "IndexHeader", "Vnode"]
    assert recs[1].offset == 57 and recs[2].offset == 57 + 249 and recs[3].offset == 57 + 249 + 11
    assert isinstance(recs[-1], DumpEnd) and recs[-1].offset == len(V.f1()) - 5


@pytest.mark.parametrize("make", [V.f1, V.i1])
def test_round_trip_of_the_vectors(make):
    assert roundtrip(make()) == make()


def test_round_trip_keeps_non_canonical_layouts():
    # fields out of order, missing fields, VV sub-fields reordered, 'A' ACL with its
    # 16 swallowed NULs, a 3-entry weekUse, a string without NUL, version 1
    vv = VersionVector((1, 2, 3, 4, 5, 6, 7, 8), 9, 10, 11, order=tuple(b"fus76543210"))
    large, small = V.f1_parts()
    large[1] = dataclasses.replace(large[1], acl=None, acl_raw=bytes(400), vv=vv)
    v, d = small[0]
    small[0] = (dataclasses.replace(v, order=tuple(b"btLvVmaopq")), d)  # "l" missing, b first
    vol = dataclasses.replace(V.volume(), week_use=(1, 2, 3), motd=b"no nul", order=tuple(b"ivnP") + tuple(
        t for t in b"s+utpgcbqmxdflaoCAUEBOMWDZV"))
    hdr = dataclasses.replace(V.header(), version=1, order=tuple(b"pvnbiI"))
    data = V.build(hdr, vol, large, small)
    assert roundtrip(data) == data
    r = DumpReader(io.BytesIO(data))
    recs = list(r)
    assert recs[0].version == 1 and any("version is 1" in w.text for w in r.warnings)
    assert recs[1].week_use == (1, 2, 3)
    dirs = [x for x in recs if isinstance(x, Vnode) and x.vnum == 3]
    assert dirs[0].acl_raw == bytes(400) and dirs[0].vv == vv
    # what codamergedump would write instead
    n = recs[1].coda_normalised()
    assert n.week_use == (1, 2, 3, 0, 0, 0, 0) and n.motd == b"no nul\0"


def test_validator_reports_non_canonical_and_odd_records_as_warnings():
    large, small = V.f1_parts()
    v, d = small[0]
    small[0] = (dataclasses.replace(v, order=tuple(b"btLvVmaopq"), mode=0o104755, length=99), d)
    data = V.build(V.header(), dataclasses.replace(V.volume(), motd=b"x" * 200 + b"\0"), large, small)
    res = validate(io.BytesIO(data), "odd.0")
    assert res.valid and res.restorable
    texts = " | ".join(w.text for w in res.warnings)
    assert "fields missing (l)" in texts
    assert "mode 0o104755 has bits above 0o7777 (merge writes 0o4755)" in texts
    assert "D_FILEDATA size 12 differs from length 99" in texts
    assert "motd is 200 bytes, Coda keeps 127" in texts


@pytest.mark.parametrize("n_vnodes, ok, text", [
    (5, True, ""),
    (6, False, "small index says nVnodes 6 but 5 vnode records follow"),
    (4, False, "small index says nVnodes 4 but 5 vnode records follow"),
])
def test_validator_checks_full_dump_counts(n_vnodes, ok, text):
    large, small = V.f1_parts()
    data = V.build(V.header(), V.volume(), large, small, small_index=IndexHeader(VnodeClass.SMALL, n_vnodes, 8))
    res = validate(io.BytesIO(data))
    assert res.valid is ok
    if not ok:
        assert text in str(res.error)


def test_validator_directory_rules():
    large, small = V.f1_parts()
    large[1] = dataclasses.replace(large[1], size=0, pages=b"")
    res = validate(io.BytesIO(V.build(V.header(), V.volume(), large, small)))
    assert "directory with 0 pages" in str(res.error)
    data = bytearray(V.f1())
    page = next(r for r in DumpReader(io.BytesIO(bytes(data))) if isinstance(r, Vnode)).data_offset + 5
    data[page] = ord("Q")
    res = validate(io.BytesIO(bytes(data)))
    assert f"offset {page}: vnode 0x1.0x1 page 0 lacks its 'P' marker" in str(res.error)


def test_incremental_trailing_bytes_are_a_warning_full_an_error():
    assert validate(io.BytesIO(V.i1() + b"x")).valid
    assert not validate(io.BytesIO(V.f1() + b"x")).valid


def test_read_exact_names_what_and_where():
    s = InputStream(io.BytesIO(b"abcdef"), "t")
    assert read_exact(s, 4, "four") == b"abcd"
    with pytest.raises(TruncatedDump) as exc:
        read_exact(s, 5, "the rest")
    assert (exc.value.offset, exc.value.what, exc.value.expected, exc.value.got) == (4, "the rest", 5, 2)
    assert str(exc.value) == "t: offset 4: truncated dump: the rest needs 5 bytes, got 2"


def test_offsets_are_64_bit():
    s = InputStream(io.BytesIO(b"xyz"), "t")
    s.offset = 5 << 32  # as if 20 GiB had gone by
    with pytest.raises(TruncatedDump, match=f"offset {5 << 32}:"):
        read_exact(s, 4, "word")


def test_file_data_is_streamed_in_bounded_chunks():
    big = b"z" * (3 << 20)
    data = V.build(V.header(), V.volume(), [V.directory(1, 1, [])], [V.file(2, 3, big)])
    r = DumpReader(io.BytesIO(data))
    sizes = []
    for rec in r:
        if isinstance(rec, Vnode) and rec.data is DataKind.FILEDATA:
            sizes = [len(c) for c in r.data_chunks()]
    assert sum(sizes) == len(big) and max(sizes) <= 1 << 20


def test_unread_file_data_is_skipped():
    kinds = [type(r).__name__ for r in DumpReader(io.BytesIO(V.f1()))]
    assert kinds.count("Vnode") == 7 and kinds[-1] == "DumpEnd"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_hostile_bytes_never_crash(data):
    base = data.draw(st.sampled_from([V.f1(), V.i1()]))
    buf = bytearray(base)
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.integers(0, 2))
        at = data.draw(st.integers(0, len(buf) - 1))
        if op == 0:
            buf[at] = data.draw(st.integers(0, 255))
        elif op == 1:
            del buf[at: at + data.draw(st.integers(1, 64))]
        else:
            buf[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        if not buf:
            break
    res = validate(io.BytesIO(bytes(buf)), "fuzz")
    if res.error is not None:
        assert isinstance(res.error, DumpFormatError)
        assert 0 <= res.error.offset <= len(buf)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.integers(1, 4))
def test_round_trip_of_random_volumes(seed, days):
    import random
    rng = random.Random(seed)
    vol = M.Volume(rng)
    for day in range(days):
        vol.mutate(rng.randint(0, 15))
        dump = vol.dump(0 if day == 0 else rng.randint(1, 3))
        assert roundtrip(dump) == dump
        assert validate(io.BytesIO(dump)).valid
