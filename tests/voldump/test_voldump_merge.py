"""The one-pass chain merge: ref §20 vectors, §19 edge cases, and properties
against an independent codamergedump model (tests/voldump_model.py)."""

from __future__ import annotations

import dataclasses
import io
import os
import random
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voldump_model as M
import voldump_vectors as V
from coda_restore.chain import ChainMode
from coda_restore.errors import ChainMismatch, DumpFormatError, TruncatedDump, VerificationFailed, WrongBase
from coda_restore.voldump.merge import merge
from coda_restore.voldump.reader import DumpReader
from coda_restore.voldump.records import (
    DataKind,
    IndexHeader,
    NullVnode,
    RemovedVnode,
    VnodeClass,
    VnodeType,
    Vnode,
)


def run(*dumps: bytes, mode=ChainMode.EXACT, **kw):
    out = io.BytesIO()
    names = ["full"] + [f"incr{i}" for i in range(1, len(dumps))]
    result = merge(out, [(n, io.BytesIO(d)) for n, d in zip(names, dumps)], mode, **kw)
    return out.getvalue(), result


def order(data: bytes):
    """[(class, [(vnum, uniq), ...], nVnodes, nLists)] of a dump."""
    r = DumpReader(io.BytesIO(data))
    r.read_header()
    r.read_volume()
    out = []
    for _ in range(2):
        ix = r.read_index()
        recs = []
        while (rec := r.next_record()) is not None:
            recs.append((rec.vnum, rec.uniq) if not isinstance(rec, NullVnode) else None)
        out.append((ix.vclass.name, recs, ix.n_vnodes, ix.n_lists))
    r.read_end()
    return out


# -- §20.2 --------------------------------------------------------------------

def test_20_2_merge_is_7630_bytes_in_codamergedump_order():
    data, result = run(V.f1(), V.i1())
    assert len(data) == 7630
    assert order(data) == [
        ("LARGE", [(1, 1), (3, 2), (5, 6)], 3, 16),
        ("SMALL", [(2, 3), (6, 8), (8, 7), (12, 21), (12, 20)], 5, 16),
    ]
    h = DumpReader(io.BytesIO(data)).read_header()
    assert (h.volume_id, h.parent_id, h.volume_name) == (V.VOLID, V.PARENT, "u.test.backup")
    assert (h.backup_date, h.level, h.oldest, h.latest) == (1700086400, 0, 5, 9)
    assert any("Removing a null Vnode for a.9!" in n for n in result.notes)
    # the volume data is I1's, re-serialised
    r = DumpReader(io.BytesIO(data))
    r.read_header()
    assert r.read_volume().uniquifier == 110
    # and the independent model of codamergedump agrees byte for byte
    model, notes = M.codamergedump(V.f1(), V.i1())
    assert data == model
    assert notes == ["Removing a null Vnode for a.9!"]


def test_20_2_file_data_comes_from_the_right_dump():
    data, _ = run(V.f1(), V.i1())
    got = M.contents(data)
    assert got[("SMALL", 2, 3)][1] == V.A_TXT_I
    assert got[("SMALL", 12, 20)][1] == V.X1
    assert ("SMALL", 4, 4) not in got and ("SMALL", 6, 5) not in got


def test_20_3_empty_incremental_reverses_slots_only():
    large, small = V.f1_parts()
    empty = V.build(V.header(level=1, backup_date=1700086400, oldest=5, latest=6), V.volume(), [], [],
                    IndexHeader(VnodeClass.LARGE, 2, 8), IndexHeader(VnodeClass.SMALL, 5, 8))
    data, _ = run(V.f1(), empty)
    assert order(data)[1][1] == [(2, 3), (4, 4), (6, 5), (12, 21), (12, 20)]
    assert data == M.codamergedump(V.f1(), empty)[0]
    # two reversals give the full's order back; chain == pairwise
    empty2 = V.build(V.header(level=2, backup_date=1700090000, oldest=6, latest=7), V.volume(), [], [],
                     IndexHeader(VnodeClass.LARGE, 2, 8), IndexHeader(VnodeClass.SMALL, 5, 8))
    data2, _ = run(V.f1(), empty, empty2)
    assert order(data2)[1][1] == [(2, 3), (4, 4), (6, 5), (12, 20), (12, 21)]
    assert data2 == M.codamergedump(data, empty2)[0]


def _incr(small, large=(), oldest=5, latest=9, level=1, n_small=5, n_large=2, lists=8):
    return V.build(V.header(level=level, backup_date=1700086400, oldest=oldest, latest=latest), V.volume(),
                   list(large), list(small),
                   IndexHeader(VnodeClass.LARGE, n_large, lists), IndexHeader(VnodeClass.SMALL, n_small, lists))


def test_20_4_remove_then_add_add_then_remove_duplicate_update():
    incr = _incr([
        RemovedVnode(2, 3), V.file(2, 30, b"re-added"),               # remove then add (new uniq)
        V.file(4, 4, b"first", dv=2), V.file(4, 4, b"second", dv=3),  # duplicate update
        V.file(14, 40, b"short-lived"), RemovedVnode(14, 40),         # add then remove
    ])
    data, result = run(V.f1(), incr)
    assert data == M.codamergedump(V.f1(), incr)[0]
    got = M.contents(data)
    assert got[("SMALL", 2, 30)][1] == b"re-added" and ("SMALL", 2, 3) not in got
    assert ("SMALL", 14, 40) not in got
    assert got[("SMALL", 4, 4)] == (3, b"second")
    assert result.sections[1].written == 5


def test_20_5_mode_high_bits_are_masked_like_coda():
    large, small = V.f1_parts()
    v, d = small[0]
    small[0] = (dataclasses.replace(v, mode=0o104755, type=VnodeType.FILE | 8), d)
    full = V.build(V.header(), V.volume(), large, small)
    data, _ = run(full, V.i1())
    r = DumpReader(io.BytesIO(data))
    modes = {rec.fid: (rec.mode, rec.type) for rec in r if isinstance(rec, Vnode)}
    # 2.3 is replaced by I1; check the untouched high-bit case with an empty incremental
    empty = _incr([], n_small=5, latest=6)
    data, _ = run(full, empty)
    modes = {rec.fid: (rec.mode, rec.type) for rec in DumpReader(io.BytesIO(data)) if isinstance(rec, Vnode)}
    assert modes[(2, 3)] == (0o4755, VnodeType.FILE)


@pytest.mark.parametrize("change, error, text", [
    (dict(name=b"u.other.backup\0"), ChainMismatch, "not a dump of the same volume"),
    (dict(parent=0x01000003), ChainMismatch, "not a dump of the same volume"),
    (dict(level=0), ChainMismatch, "cannot merge from a full dump"),
    (dict(oldest=4), WrongBase, "is not with respect to full: its oldest is 4, the base's latest is 5"),
])
def test_20_6_header_mismatches_fail_before_any_output(change, error, text):
    out = io.BytesIO()
    with pytest.raises(error, match=text) as exc:
        merge(out, [("full", io.BytesIO(V.f1())), ("incr1", io.BytesIO(V.i1(**change)))])
    assert out.getvalue() == b""
    assert exc.value.exit_status == 4


def test_20_6_full_with_level_is_refused_and_minimal_mode_relaxes_only_the_link():
    out = io.BytesIO()
    with pytest.raises(ChainMismatch, match="not a full dump"):
        merge(out, [("full", io.BytesIO(V.i1())), ("incr1", io.BytesIO(V.i1()))])
    # oldest != latest: refused in exact mode, merged in minimal mode
    data, _ = run(V.f1(), V.i1(oldest=4), mode=ChainMode.MINIMAL)
    assert data == run(V.f1(), V.i1())[0]
    # minimal mode still wants latest not to go back
    with pytest.raises(ChainMismatch, match="not newer"):
        run(V.f1(), V.i1(oldest=4, latest=4), mode=ChainMode.MINIMAL)


def test_20_7_base_with_more_lists_than_the_incremental_is_refused():
    incr = _incr([], lists=4)
    out = io.BytesIO()
    with pytest.raises(ChainMismatch, match="4 lists, fewer than the 8"):
        merge(out, [("full", io.BytesIO(V.f1())), ("incr1", io.BytesIO(incr))])
    assert out.getvalue() == b""


def test_20_8_trailing_bytes_refused_after_the_base_tolerated_after_the_incremental():
    with pytest.raises(DumpFormatError, match="trailing bytes"):
        run(V.f1() + b"x", V.i1())
    data, result = run(V.f1(), V.i1() + b"junk")
    assert data == run(V.f1(), V.i1())[0]
    assert any("trailing bytes" in w.text for w in result.warnings)


def test_20_9_bad_inode_is_carried_through_from_base_and_incremental():
    large, small = V.f1_parts()
    bad = dataclasses.replace(small[1][0], data=DataKind.BADINODE, size=0)
    small[1] = bad
    full = V.build(V.header(), V.volume(), large, small)
    incr = _incr([dataclasses.replace(V.file(8, 7, b"")[0], data=DataKind.BADINODE), V.file(10, 9, b"after")],
                 n_small=7)
    data, _ = run(full, incr)
    kinds = {rec.fid: rec.data for rec in DumpReader(io.BytesIO(data)) if isinstance(rec, Vnode)}
    assert kinds[(4, 4)] is DataKind.BADINODE and kinds[(8, 7)] is DataKind.BADINODE
    assert M.contents(data)[("SMALL", 10, 9)][1] == b"after"


def test_20_10_old_raw_acl_is_carried_through():
    large, small = V.f1_parts()
    large[1] = dataclasses.replace(large[1], acl=None, acl_raw=bytes(384))
    full = V.build(V.header(), V.volume(), large, small)
    data, _ = run(full, _incr([], latest=6))
    dirs = {rec.fid: rec for rec in DumpReader(io.BytesIO(data)) if isinstance(rec, Vnode) and rec.vnum & 1}
    assert dirs[(3, 2)].acl_raw == bytes(384) and dirs[(3, 2)].acl is None


def test_20_11_null_vnode_counted_in_the_base_gets_the_true_count():
    large, small = V.f1_parts()
    full = V.build(V.header(), V.volume(), large, [NullVnode()] + small,
                   small_index=IndexHeader(VnodeClass.SMALL, 6, 8))
    data, result = run(full, V.i1())
    assert order(data)[1][2] == 5  # codamergedump would say 6
    assert result.sections[1].coda_count == 6 and result.sections[1].written == 5
    assert any("null vnodes" in n for n in result.notes)
    model, _ = M.codamergedump(full, V.i1())
    assert order(model)[1][2] == 6 and len(model) == len(data)


def test_20_12_version_word_1_is_accepted_and_written_as_2():
    full = bytearray(V.f1())
    full[5:9] = (1).to_bytes(4, "big")
    data, result = run(bytes(full), V.i1())
    assert data == run(V.f1(), V.i1())[0]
    assert any("version is 1" in w.text for w in result.warnings)


def test_20_12_unknown_header_tag_is_refused_with_its_offset():
    full = V.f1()
    at = 9  # right after magic and version
    bad = full[:at] + b"z" + full[at:]
    with pytest.raises(DumpFormatError, match=r"full: offset 9: unknown field tag 'z' in the dump header"):
        run(bad, V.i1())


def _cuts(data: bytes):
    """Every section boundary and a few points inside file data and pages."""
    r = DumpReader(io.BytesIO(data))
    points = set()
    for rec in r:
        points.add(rec.offset)
        points.add(rec.offset + 1)
        if isinstance(rec, Vnode):
            points.add(rec.data_offset)
            points.add(rec.data_offset + 3)
            points.add(rec.data_offset + 7)
    return sorted(p for p in points if 0 < p < len(data))


@pytest.mark.parametrize("which", ["full", "incr"])
def test_20_13_truncation_anywhere_is_an_error_naming_the_offset(which):
    full, incr = V.f1(), V.i1()
    victim = full if which == "full" else incr
    for cut in _cuts(victim) + [len(victim) - 1]:
        dumps = (victim[:cut], incr) if which == "full" else (full, victim[:cut])
        with pytest.raises(DumpFormatError) as exc:
            run(*dumps)
        assert exc.value.offset <= cut
        assert f"offset {exc.value.offset}" in str(exc.value)


def test_truncated_inside_file_data_is_truncated_dump():
    full = V.f1()
    r = DumpReader(io.BytesIO(full))
    big = next(rec for rec in r if isinstance(rec, Vnode) and rec.size == 5000)
    cut = big.data_offset + 5 + 1200
    with pytest.raises(TruncatedDump, match=r"full: offset \d+: truncated dump: file data needs 5000 bytes, got 1200"):
        run(full[:cut], V.i1())


@pytest.mark.parametrize("vnum, text", [
    (2 * 16 + 2, "list index 16 >= nLists 16"),   # == nLists: Coda's off-by-one
    (2 * 20 + 2, "list index 20 >= nLists 16"),
    (7, "odd vnode number in the small index"),
])
def test_list_index_and_parity_are_checked(vnum, text):
    large, small = V.i1_parts()
    small.append(V.file(vnum, 99, b"x"))
    incr = V.build(V.header(level=1, backup_date=1700086400, oldest=5, latest=9), V.volume(), large, small,
                   IndexHeader(VnodeClass.LARGE, 3, 16), IndexHeader(VnodeClass.SMALL, 5, 16))
    with pytest.raises(DumpFormatError, match=text):
        run(V.f1(), incr)


def test_rmvnode_in_full_and_out_of_order_slots_are_refused():
    large, small = V.f1_parts()
    full = V.build(V.header(), V.volume(), large, small + [RemovedVnode(14, 1)],
                   small_index=IndexHeader(VnodeClass.SMALL, 5, 8))
    with pytest.raises(DumpFormatError, match="D_RMVNODE in a full dump"):
        run(full, V.i1())
    full = V.build(V.header(), V.volume(), large, [small[1], small[0]] + small[2:])
    with pytest.raises(DumpFormatError, match="out of slot order"):
        run(full, V.i1())
    full = V.build(V.header(), V.volume(), large, small + [small[0]],
                   small_index=IndexHeader(VnodeClass.SMALL, 6, 8))
    with pytest.raises(DumpFormatError, match="out of slot order|duplicate"):
        run(full, V.i1())


def test_rmvnode_of_unknown_vnode_is_a_note_and_the_merge_goes_on():
    _, result = run(V.f1(), V.i1())
    assert len(result.notes) == 1


def test_incremental_with_more_records_than_its_count_is_normal():
    large, small = V.i1_parts()
    incr = V.build(V.header(level=1, backup_date=1700086400, oldest=5, latest=9), V.volume(), large,
                   small + [RemovedVnode(12, 20)],
                   IndexHeader(VnodeClass.LARGE, 1, 16), IndexHeader(VnodeClass.SMALL, 4, 16))
    data, result = run(V.f1(), incr)
    assert order(data)[1][2] == 4
    assert data == M.codamergedump(V.f1(), incr)[0][:len(data)] or True
    model, _ = M.codamergedump(V.f1(), incr)
    assert data == model


def test_negative_level_needs_minimal_mode_and_its_resurrections_are_reported():
    # §20.15: full large section, no removals; dir 3.2 deleted since the base
    large = [V.directory(1, 1, V.ROOT_I, dv=2), V.directory(5, 6, [(b"c.txt", (8, 7))])]
    incr = V.build(V.header(level=-1, backup_date=1700086400, oldest=5, latest=9), V.volume(), large,
                   [V.file(8, 7, b"c")], IndexHeader(VnodeClass.LARGE, 2, 8), IndexHeader(VnodeClass.SMALL, 6, 8))
    with pytest.raises(ChainMismatch, match="negative-level"):
        run(V.f1(), incr)
    data, result = run(V.f1(), incr, mode=ChainMode.MINIMAL)
    assert (3, 2) in order(data)[0][1]  # the deleted directory came back
    assert result.discrepancies and "orphans" in result.discrepancies[0]


def test_spilling_gives_the_same_bytes():
    base, r0 = run(V.f1(), V.i1())
    spilled, r1 = run(V.f1(), V.i1(), memory_budget=0)
    assert spilled == base and r1.spilled_bytes > 0 and r0.spilled_bytes == 0


class _Pipe(io.RawIOBase):
    """A non-seekable stream, like a pipe."""

    def __init__(self, data: bytes):
        self._b = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        chunk = self._b.read(min(len(b), 977))  # short reads, odd size
        b[: len(chunk)] = chunk
        return len(chunk)


class _Sink(io.RawIOBase):
    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.data += b
        return len(b)


def test_pipes_in_and_out():
    sink = _Sink()
    merge(sink, [("full", _Pipe(V.f1())), ("incr1", _Pipe(V.i1()))])
    assert bytes(sink.data) == run(V.f1(), V.i1())[0]


def test_pipe_output_with_a_count_the_chain_does_not_reproduce_fails():
    large, small = V.i1_parts()
    incr = V.build(V.header(level=1, backup_date=1700086400, oldest=5, latest=9), V.volume(), large, small,
                   IndexHeader(VnodeClass.LARGE, 3, 16), IndexHeader(VnodeClass.SMALL, 7, 16))
    with pytest.raises(ChainMismatch, match="5 vnodes merged but incr1 counts 7"):
        merge(_Sink(), [("full", _Pipe(V.f1())), ("incr1", _Pipe(incr))])
    # a seekable output gets the true count
    data, result = run(V.f1(), incr)
    assert order(data)[1][2] == 5
    # minimal mode spools a pipe output and is right too
    sink = _Sink()
    merge(sink, [("full", _Pipe(V.f1())), ("incr1", _Pipe(incr))], ChainMode.MINIMAL)
    assert bytes(sink.data) == data


def test_real_os_pipe_input():
    r, w = os.pipe()
    full = V.f1()

    def feed():
        with os.fdopen(w, "wb") as f:
            f.write(full)

    t = threading.Thread(target=feed)
    t.start()
    with os.fdopen(r, "rb", buffering=0) as f:
        out = io.BytesIO()
        merge(out, [("full", f), ("incr1", io.BytesIO(V.i1()))])
    t.join()
    assert out.getvalue() == run(V.f1(), V.i1())[0]


# -- properties -------------------------------------------------------------------

def _history(seed: int, days: int):
    rng = random.Random(seed)
    vol = M.Volume(rng)
    dumps = []
    for day in range(days):
        vol.mutate(rng.randint(0, 12))
        level = 0 if day == 0 else rng.choice((1, 1, 2, 3))
        dumps.append((level, vol.dump(level)))
    return vol, dumps


def _minimal(dumps):
    """Amanda's chain: the newest, then each older dump of a strictly lower level."""
    chain = [len(dumps) - 1]
    for i in range(len(dumps) - 2, -1, -1):
        if dumps[i][0] < dumps[chain[-1]][0]:
            chain.append(i)
    return [dumps[i][1] for i in reversed(chain)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.integers(2, 6))
def test_exact_chain_merge_equals_pairwise_codamergedump_and_the_volume(seed, days):
    vol, dumps = _history(seed, days)
    chain = [d for _, d in dumps]
    data, result = run(*chain)
    pairwise = chain[0]
    for incr in chain[1:]:
        pairwise, _ = M.codamergedump(pairwise, incr)
    assert data == pairwise
    ours_pairwise = chain[0]
    for incr in chain[1:]:
        ours_pairwise, _ = run(ours_pairwise, incr)
    assert data == ours_pairwise
    assert M.contents(data) == vol.state()
    assert not result.discrepancies


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.integers(3, 7))
def test_minimal_chain_leaves_exactly_the_reported_orphans(seed, days):
    vol, dumps = _history(seed, days)
    chain = _minimal(dumps)
    if len(chain) < 2:
        return
    try:
        exact, _ = run(*chain)
    except WrongBase:
        pass
    else:  # every link held (skipped dumps changed nothing): the result is exact
        assert M.contents(exact) == vol.state()
    data, result = run(*chain, mode=ChainMode.MINIMAL)
    merged, state = M.contents(data), vol.state()
    assert {k: merged[k] for k in state} == state  # every live vnode, newest content
    extra = set(merged) - set(state)
    counted = sum(s.written - s.last_incremental_count for s in result.sections)
    assert counted == len(extra)


def test_hypothesis_found_nothing_to_skip():
    # a fixed seed with deletions in a skipped dump, so the orphan path is exercised
    for seed in range(200):
        vol, dumps = _history(seed, 6)
        chain = _minimal(dumps)
        if len(chain) < 2:
            continue
        data, result = run(*chain, mode=ChainMode.MINIMAL)
        if result.discrepancies:
            assert "orphans" in result.discrepancies[0]
            return
    pytest.fail("no history with orphans in 200 seeds")


def test_append_mode_output_is_never_patched(tmp_path):
    target = tmp_path / "out"
    target.write_bytes(b"prefix")
    with open(target, "ab") as f:
        merge(f, [("full", io.BytesIO(V.f1())), ("incr1", io.BytesIO(V.i1()))], ChainMode.MINIMAL)
    assert target.read_bytes() == b"prefix" + run(V.f1(), V.i1())[0]


def test_progress_reports_the_bytes_written():
    seen = []
    big = V.build(V.header(), V.volume(), [V.directory(1, 1, [])], [V.file(2, 3, b"q" * (3 << 20))])
    empty = V.build(V.header(level=1, backup_date=1700086400, oldest=5, latest=6), V.volume(), [], [],
                    IndexHeader(VnodeClass.LARGE, 1, 8), IndexHeader(VnodeClass.SMALL, 1, 8))
    data, result = run(big, empty, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == len(data) == result.bytes_written


def _plain_chain(n: int = 400):
    """A full dump of ``n`` files (one bigger than the reader's buffer, every
    10th slot holding a second vnode) in ``n + 40`` slots, and two
    incrementals that touch every 37th and every 53rd slot: most file records
    are plain, in runs between touched slots."""
    rng = random.Random(3)
    sizes = [rng.randrange(4000) for _ in range(n)]
    sizes[n // 2] = 3 << 19
    data = [bytes([b % 251]) * size for b, size in enumerate(sizes)]
    files = []
    for b in range(n):
        files.append(V.file(2 * b + 2, b + 10, data[b]))
        if b % 10 == 0:  # a vnode number reused: the slot is reversed by an odd chain
            files.append(V.file(2 * b + 2, b + 5000, b"second %d" % b))
    index = IndexHeader(VnodeClass.SMALL, len(files), n + 40)
    full = V.build(V.header(), V.volume(), [V.directory(1, 1, [])], files, small_index=index)
    incrs, latest = [], 5
    for level, step in ((1, 37), (2, 53)):
        recs = [V.file(2 * b + 2, b + 10, data[b][::-1] + b"!", dv=level + 1) if b % 2
                else RemovedVnode(2 * b + 2, b + 10) for b in range(0, n, step)]
        incrs.append(V.build(V.header(level, oldest=latest, latest=latest + 4), V.volume(), [], recs,
                             small_index=index))
        latest += 4
    return [full, *incrs]


def test_the_plain_file_fast_path_merges_exactly_as_the_record_path(monkeypatch):
    """copy_plain_files copies file records unparsed; without it every record
    is parsed, checked and re-emitted: the same bytes and the same result,
    for chains of an odd and an even number of incrementals."""
    from coda_restore.voldump import merge as merge_mod

    chain = _plain_chain()
    plain = merge_mod._Merger.copy_plain_files
    copied = []

    def counted(self, *args):
        before = self.written
        plain(self, *args)
        copied.append(self.written - before)

    for dumps in (chain[:2], chain):
        copied.clear()
        monkeypatch.setattr(merge_mod._Merger, "copy_plain_files", counted)
        fast = run(*dumps)
        monkeypatch.setattr(merge_mod._Merger, "copy_plain_files", lambda self, *args: None)
        assert run(*dumps) == fast
        assert sum(copied) > 300  # most files went through the fast path
