"""Directory pages (ref §10): encode/decode round trips, the server's exact
bytes for a fresh directory, page growth, deletes, and hostile images."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coda_restore.errors import BadDirectory
from coda_restore.voldump import dirpage
from coda_restore.voldump.dirpage import DirEntry, Directory, decode, encode, name_blobs, name_hash


def _as_map(entries):
    return {e.name: e.fid for e in entries}


def test_fresh_directory_is_the_servers_bytes():
    pages = encode((1, 1), (1, 1), [])
    assert len(pages) == 1 and len(pages[0]) == 2048
    p = pages[0]
    assert p[0:4] == struct.pack(">I", 1234)
    # '.' and '..' take one blob each (blobs 13 and 14): 51 - 2 free.
    assert p[4] == 49
    assert p[5:13] == bytes([0xFF, 0x7F, 0, 0, 0, 0, 0, 0])
    assert p[32] == 49 and set(p[33:160]) == {64}
    assert struct.unpack_from(">H", p, 160 + 2 * name_hash(b"."))[0] == 13
    assert struct.unpack_from(">H", p, 160 + 2 * name_hash(b".."))[0] == 14
    assert p[13 * 32 : 13 * 32 + 14] == bytes([1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]) + b".\0"
    assert _as_map(decode(pages)) == {b".": (1, 1), b"..": (1, 1)}
    assert dirpage.check(pages) == []


def test_hash_matches_the_reference_rule():
    # h = h*173 + c (signed chars, 32-bit); t = h & 127; t = 128 - t if h < 0.
    assert name_hash(b".") == ord(".")
    assert name_hash(b"ab") == (97 * 173 + 98) & 127
    # A high byte is a negative char: h = -1 -> t = 127 -> 128 - 127 = 1.
    assert name_hash(b"\xff") == 1
    assert name_hash(b"\x80") == 0  # h = -128: t = 0 stays 0
    for name in (b"x" * 200, "é".encode(), b"a.txt"):
        assert 0 <= name_hash(name) < 128


@pytest.mark.parametrize("length,blobs", [(1, 1), (15, 1), (16, 2), (47, 2), (48, 3), (255, 9)])
def test_blob_counts_at_the_boundaries(length, blobs):
    assert name_blobs(b"n" * length) == blobs
    d = Directory.new((3, 2), (1, 1))
    before = d.image()[4]
    d.create(b"n" * length, (2, 3))
    assert before - d.image()[4] == blobs
    assert _as_map(d.entries())[b"n" * length] == (2, 3)
    assert dirpage.check(d.pages()) == []


def test_many_names_span_several_pages_and_round_trip():
    entries = [(f"file-{i:05d}".encode(), (2 * i + 2, i + 7)) for i in range(600)]
    pages = encode((1, 1), (1, 1), entries)
    assert len(pages) == 10  # 49 names on page 0, 63 on each further page
    for k, page in enumerate(pages):
        assert page[0:4] == struct.pack(">I", 1234), k
    got = _as_map(decode(pages))
    assert got == {b".": (1, 1), b"..": (1, 1), **dict(entries)}
    assert dirpage.check(pages) == []
    # Allocation map: existing pages have < 64 free, the rest exactly 64.
    allomap = pages[0][32:160]
    assert all(allomap[i] < 64 for i in range(len(pages)))
    assert all(allomap[i] == 64 for i in range(len(pages), 128))


def test_second_page_starts_after_49_short_names():
    pages = encode((1, 1), (1, 1), [(f"n{i:02d}".encode(), (2 * i + 2, 1)) for i in range(49)])
    assert len(pages) == 1 and pages[0][4] == 0
    pages = encode((1, 1), (1, 1), [(f"n{i:02d}".encode(), (2 * i + 2, 1)) for i in range(50)])
    assert len(pages) == 2
    assert pages[1][4] == 62 and pages[1][5] == 0b11  # header blob + the new entry


def test_delete_frees_blobs_keeps_stale_bytes_and_reuses_the_space():
    d = Directory.new((1, 1), (1, 1))
    d.create(b"gone-soon", (2, 5))
    d.create(b"stays", (4, 6))
    assert d.delete(b"gone-soon") == (2, 5)
    img = d.image()
    assert b"gone-soon" in img  # the server leaves the bytes
    assert _as_map(decode(img)) == {b".": (1, 1), b"..": (1, 1), b"stays": (4, 6)}
    assert dirpage.check(img) == []
    d.create(b"new", (6, 7))  # first fit: lands in the freed blob
    assert d.image().index(b"new\0") == 15 * 32 + 12
    with pytest.raises(KeyError):
        d.delete(b"gone-soon")


def test_names_coda_cannot_store_are_refused():
    d = Directory.new((1, 1), (1, 1))
    for bad in (b"", b"a\0b", b"x" * 256):
        with pytest.raises(ValueError):
            d.create(bad, (2, 1))
    with pytest.raises(ValueError):
        d.create(b"..", (2, 1))  # already there
    # Hostile names that Coda can store are stored: the reader must judge them.
    d.create(b"../escape", (2, 1))
    d.create(b"/etc/passwd", (4, 1))
    assert {b"../escape", b"/etc/passwd"} <= set(_as_map(d.entries()))


def test_a_full_directory_raises():
    d = Directory.new((1, 1), (1, 1))
    with pytest.raises(dirpage.DirectoryFull):
        for i in range(128 * 63):
            d.create(b"%0200d" % i, (2, i + 1))
    assert d.npages == 128


def _set(img, off, fmt, *vals):
    img = bytearray(img)
    struct.pack_into(fmt, img, off, *vals)
    return bytes(img)


@pytest.mark.parametrize(
    "mutate,reason",
    [
        (lambda p: p[:100], "not 1..128 pages"),
        (lambda p: b"", "not 1..128 pages"),
        (lambda p: _set(p, 0, ">I", 99), "tag 99"),
        (lambda p: _set(p, 160 + 2 * name_hash(b"."), ">H", 5000), "outside the entries"),
        (lambda p: _set(p, 160 + 2 * name_hash(b"."), ">H", 3), "outside the entries"),
        (lambda p: _set(p, 13 * 32 + 2, ">H", 13), "a loop"),
        (lambda p: _set(p, 13 * 32, ">B", 0), "flag 0"),
        (lambda p: _set(p, 13 * 32 + 12, ">B", 0), "empty name"),
        (lambda p: p[: 13 * 32 + 12] + b"x" * (2048 - 13 * 32 - 12), "no NUL"),
    ],
)
def test_hostile_images_are_refused_with_the_reason(mutate, reason):
    pages = encode((1, 1), (1, 1), [])
    with pytest.raises(BadDirectory) as exc:
        decode(mutate(pages[0]), where="3.2 at offset 400")
    assert reason in str(exc.value)
    assert "3.2 at offset 400" in str(exc.value)
    assert exc.value.exit_status == 4


def test_duplicate_names_are_refused():
    d = Directory.new((1, 1), (1, 1))
    d.create(b"a", (2, 1))
    img = bytearray(d.image())
    # Copy the entry for 'a' into a free blob and thread it on the same chain.
    a_blob = struct.unpack_from(">H", img, 160 + 2 * name_hash(b"a"))[0]
    img[20 * 32 : 21 * 32] = img[a_blob * 32 : a_blob * 32 + 32]
    struct.pack_into(">H", img, 20 * 32 + 2, a_blob)
    struct.pack_into(">H", img, 160 + 2 * name_hash(b"a"), 20)
    with pytest.raises(BadDirectory, match="appears twice"):
        decode(bytes(img))


def test_check_reports_bookkeeping_errors():
    pages = encode((1, 1), (1, 1), [(b"a", (2, 1))])
    bad = bytearray(pages[0])
    bad[4] = 7
    bad[40] = 3
    problems = dirpage.check(bytes(bad))
    assert any("free count 7" in p for p in problems)
    assert any("beyond the 1 pages" in p for p in problems)


names = st.binary(min_size=1, max_size=255).filter(lambda b: b"\0" not in b and b not in (b".", b".."))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(names, st.tuples(st.integers(1, 2**32 - 1), st.integers(0, 2**32 - 1)), max_size=150))
def test_round_trip_of_any_names(table):
    pages = encode((1, 1), (1, 1), table.items())
    assert _as_map(decode(pages)) == {b".": (1, 1), b"..": (1, 1), **table}
    assert dirpage.check(pages) == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), names), max_size=120))
def test_creates_and_deletes_keep_the_directory_consistent(ops):
    d = Directory.new((5, 9), (1, 1))
    model = {b".": (5, 9), b"..": (1, 1)}
    for i, (add, name) in enumerate(ops):
        if add and name not in model:
            d.create(name, (2 * i + 2, i))
            model[name] = (2 * i + 2, i)
        elif not add and name in model:
            d.delete(name)
            del model[name]
    assert _as_map(d.entries()) == model
    assert dirpage.check(d.pages()) == []
    assert DirEntry(b"..", 1, 1) in d.entries()


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3), st.data())
def test_any_bytes_decode_or_raise_bad_directory(npages, data):
    # Start from a real image and scribble on it: decode never loops or crashes.
    img = bytearray(b"".join(encode((1, 1), (1, 1), [(b"n%d" % i, (2 * i + 2, i)) for i in range(60 * npages)])))
    for _ in range(data.draw(st.integers(1, 40))):
        img[data.draw(st.integers(0, len(img) - 1))] = data.draw(st.integers(0, 255))
    try:
        entries = decode(bytes(img))
    except BadDirectory:
        return
    assert len({e.name for e in entries}) == len(entries)
    assert all(e.name and b"\0" not in e.name for e in entries)
    dirpage.check(bytes(img))  # reports, never raises here
