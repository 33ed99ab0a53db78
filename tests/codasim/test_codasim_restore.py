"""The simulated server's restore: what ref §17 accepts and what it refuses."""

from __future__ import annotations

import io

import pytest

from codasim import BadDumpStream, Server, ServerError, volume_state
from codasim.model import VnodeType, VolType
from codasim.wire import D_BADINODE, D_DIRPAGES, D_NULLVNODE, D_RMVNODE, DUMPENDMAGIC, Emitter


@pytest.fixture
def clone(srv):
    vol = srv.create_volume("u.jan")
    with srv.edit("u.jan") as ed:
        ed.mkdir("/d")
        ed.write("/d/f", "contents\n")
        ed.symlink("/l", "d/f")
    srv.lock(vol.id)
    return srv.volume(srv.backup(vol.id))


def emit(fn) -> bytes:
    buf = io.BytesIO()
    fn(Emitter(buf))
    return buf.getvalue()


def sections(clone) -> dict[str, bytes]:
    """A full dump of ``clone`` cut at its section boundaries; tests break one piece."""
    large, small = list(clone.large), list(clone.small)
    return {
        "header": emit(lambda e: e.dump_header(clone, 0, 7, 7)),
        "diskdata": emit(lambda e: e.volume_disk_data(clone)),
        "large_hdr": emit(lambda e: e.index_header(True, len(large), clone.large.nlists)),
        "large": b"".join(emit(lambda e, v=v: e.vnode(v)) for v in large),
        "small_hdr": emit(lambda e: e.index_header(False, len(small), clone.small.nlists)),
        "small": b"".join(emit(lambda e, v=v: e.vnode(v)) for v in small),
        "end": emit(lambda e: e.end()),
    }


def join(parts: dict[str, bytes]) -> bytes:
    return b"".join(parts.values())


def restore(srv: Server, data: bytes, partition: str = "/vicepa", name=None, volid=0) -> int:
    return srv.restore(io.BytesIO(data), partition, name, volid)


def refused(srv: Server, data: bytes, match: str, **kw) -> None:
    # a fresh server's transfer buffer: nothing of an earlier restore to read on into (§23 row 2)
    (srv.root / "transfer.buf").unlink(missing_ok=True)
    before = [v.id for v in srv.volumes()]
    with pytest.raises(ServerError, match=match):
        restore(srv, data, **kw)
    assert [v.id for v in srv.volumes()] == before  # nothing created


def test_the_pieces_make_a_restorable_dump(srv, clone):
    new = restore(srv, join(sections(clone)))
    assert volume_state(srv.volume(new)) == volume_state(clone)


def test_name_and_id_given_or_derived(srv, clone):
    dump = join(sections(clone))
    a = srv.volume(restore(srv, dump))
    assert a.name == "u.jan.restored" and a.parent_id == clone.parent_id
    assert a.restored_from_id == clone.parent_id and a.type == VolType.BACKUP
    b = srv.volume(restore(srv, dump, name="u.jan.friday", volid=0x1000099))
    assert (b.id, b.name) == (0x1000099, "u.jan.friday")


# -- refusals, in the order of ref §17 ---------------------------------------------

def test_partition_must_be_a_server_partition(srv, clone):
    refused(srv, join(sections(clone)), "not a server partition", partition="/tmp")


def test_requested_volume_id_in_use(srv, clone):
    refused(srv, join(sections(clone)), "in use", volid=clone.id)


def test_header_not_valid(srv, clone):
    p = sections(clone)
    bad_magic = dict(p, header=p["header"][:1] + b"\xde\xad\xbe\xef" + p["header"][5:])
    refused(srv, join(bad_magic), "header not valid")
    bad_first = dict(p, header=b"\x02" + p["header"][1:])
    refused(srv, join(bad_first), "header not valid")


def test_volume_id_zero(srv, clone):
    p = sections(clone)
    hdr = p["header"]
    i = hdr.index(b"v", 9)  # the 'v' field after tag, magic and version
    p["header"] = hdr[:i + 1] + b"\0\0\0\0" + hdr[i + 5:]
    refused(srv, join(p), "volume id 0")


def test_incremental_dump(srv, clone):
    p = sections(clone)
    p["header"] = emit(lambda e: e.dump_header(clone, 1, 5, 7))
    refused(srv, join(p), "trying to restore incremental dump")


def test_volume_data_section_missing(srv, clone):
    p = sections(clone)
    del p["diskdata"]
    refused(srv, join(p), "volume data section missing")


@pytest.mark.parametrize("vtype", [VolType.RW, VolType.REPLICATED])
def test_rw_and_replicated_volumes(srv, clone, vtype):
    p = sections(clone)
    clone.type = vtype
    p["diskdata"] = emit(lambda e: e.volume_disk_data(clone))
    refused(srv, join(p), f"type {int(vtype)} cannot be restored")


def test_index_tag_missing(srv, clone):
    p = sections(clone)
    del p["small_hdr"]
    refused(srv, join(p), "small index not found|#vnodes read != #vnodes dumped")
    q = sections(clone)
    del q["large_hdr"]
    refused(srv, join(q), "large index not found")


def test_index_header_with_another_field(srv, clone):
    p = sections(clone)
    p["large_hdr"] += b"x\0\0\0\1"
    refused(srv, join(p), "index header has field 'x'")


def directory(clone):
    return next(v for v in clone.large if v.vnum != 1)


def test_directory_without_dirpages(srv, clone):
    p = sections(clone)
    d = directory(clone)
    one = emit(lambda e: e.vnode(d))
    cut = one[:one.index(bytes([D_DIRPAGES]) + b"\0\0\0\1P")]
    p["large"] = p["large"].replace(one, cut)
    refused(srv, join(p), "has no D_DIRPAGES")


def test_directory_with_more_than_128_pages(srv, clone):
    p = sections(clone)
    d = directory(clone)
    one = emit(lambda e: e.vnode(d))
    head = one[:one.index(bytes([D_DIRPAGES]) + b"\0\0\0\1P")]
    page = one[-2048:]
    many = head + bytes([D_DIRPAGES]) + (129).to_bytes(4, "big") + (b"P" + page) * 129
    p["large"] = p["large"].replace(one, many)
    refused(srv, join(p), r"129 pages \(> 128\)")


def test_page_without_its_p(srv, clone):
    p = sections(clone)
    d = directory(clone)
    one = emit(lambda e: e.vnode(d))
    p["large"] = p["large"].replace(one, one[:-2049] + b"Q" + one[-2048:])
    refused(srv, join(p), "lacks its 'P'")


def test_file_without_data(srv, clone):
    p = sections(clone)
    f = next(v for v in clone.small if v.vtype == VnodeType.FILE)
    one = emit(lambda e: e.vnode(f))
    p["small"] = p["small"].replace(one, one[:-(5 + len(f.data))])
    refused(srv, join(p), "neither D_FILEDATA nor D_BADINODE")


@pytest.mark.parametrize("delta", [1, -1])
def test_vnode_count_differs(srv, clone, delta):
    p = sections(clone)
    p["small_hdr"] = emit(lambda e: e.index_header(False, len(clone.small) + delta, clone.small.nlists))
    refused(srv, join(p), "#vnodes read != #vnodes dumped")


def test_removal_record_in_a_full_dump(srv, clone):
    p = sections(clone)
    p["small"] += bytes([D_RMVNODE]) + (8).to_bytes(4, "big") + (9).to_bytes(4, "big")
    refused(srv, join(p), "unexpected tag D_RMVNODE")


def test_wrong_end(srv, clone):
    p = sections(clone)
    refused(srv, join(dict(p, end=b"\x08" + (DUMPENDMAGIC ^ 1).to_bytes(4, "big"))), "wrong end magic")
    refused(srv, join(dict(p, end=b"")), "end of dump not found")


def test_truncated_inside_file_data(srv, clone):
    data = join(sections(clone))
    refused(srv, data[:-20], "end of dump inside")


# -- what the server tolerates -----------------------------------------------------

def test_tolerated_quirks(srv, clone):
    p = sections(clone)
    # an unknown one-byte field tag in a vnode is skipped; a null vnode is not counted
    f = next(v for v in clone.small if v.vtype == VnodeType.FILE)
    one = emit(lambda e: e.vnode(f))
    p["small"] = p["small"].replace(one, one[:9] + b"~" + one[9:]) + bytes([D_NULLVNODE])
    p["end"] += b"trailing bytes are never read"
    new = restore(srv, join(p))
    assert volume_state(srv.volume(new)) == volume_state(clone)


def test_never_written_file_is_restored_empty(srv):
    vol = srv.create_volume("u.empty")
    with srv.edit("u.empty") as ed:
        ed.create("/never-written")
    srv.lock(vol.id)
    clone = srv.volume(srv.backup(vol.id))
    buf = io.BytesIO()
    srv.dump(clone.id, 0, buf)
    assert bytes([D_BADINODE]) + b"\x08" in buf.getvalue()[-6:] or bytes([D_BADINODE]) in buf.getvalue()
    new = restore(srv, buf.getvalue())
    assert volume_state(srv.volume(new))["/never-written"].data == b""


def test_refusal_is_a_bad_dump_stream(srv, clone):
    with pytest.raises(BadDumpStream):
        restore(srv, b"")


# -- what a real server does beyond §17 (ref §23) ---------------------------

def _dump(srv: Server, clone) -> bytes:
    buf = io.BytesIO()
    srv.dump(clone.id, 0, buf)
    return buf.getvalue()


def test_a_name_in_use_is_restored_again(srv, clone):
    # row 15: the server makes a second volume of that name
    data = _dump(srv, clone)
    first, second = restore(srv, data, name="u.jan.fri"), restore(srv, data, name="u.jan.fri")
    assert first != second
    assert [v.id for v in srv.volumes() if v.name == "u.jan.fri"] == [first, second]


def _with_acl(srv, entries):
    vol = srv.volume("u.jan")
    with srv.edit("u.jan") as ed:
        ed.setacl("/d", entries)
    srv.lock(vol.id)
    return srv.volume(srv.backup(vol.id))


def test_acls_come_back_in_the_servers_order(srv):
    srv.create_volume("u.jan")
    with srv.edit("u.jan") as ed:
        ed.mkdir("/d")
    srv.set_pdb({**srv.pdb(), "jan": 1001})
    clone = _with_acl(srv, [("jan", 127), ("System:AnyUser", 9)])
    restored = srv.volume(restore(srv, _dump(srv, clone)))
    d = next(v for v in restored.large if v.vnum != 1)
    # row 17: the same ACL, entries in id order
    assert d.acl == "2\n0\nSystem:AnyUser\t9\njan\t127\n"
    assert (srv.root / "SrvLog").exists() is False or "ExternalAccessList" not in (srv.root / "SrvLog").read_text()


def test_an_acl_naming_an_unknown_user_is_left_stale_and_logged(srv):
    srv.create_volume("u.jan")
    with srv.edit("u.jan") as ed:
        ed.mkdir("/d")
    clone = _with_acl(srv, [("jan", 127), ("System:AnyUser", 9)])  # jan is not in the protection DB
    vid = restore(srv, _dump(srv, clone))  # row 16: it succeeds anyway
    restored = srv.volume(vid)
    root, d = sorted(restored.large, key=lambda v: v.vnum)
    assert d.acl == root.acl  # the previous vnode's ACL, not the one sent
    assert "jan" not in d.acl
    assert "failed to parse ExternalAccessList" in (srv.root / "SrvLog").read_text()


def test_a_restored_volume_can_be_dumped_back(srv, clone):
    # row 18: the way to check a restore
    data = _dump(srv, clone)
    vid = restore(srv, data, name="u.jan.back")
    again = io.BytesIO()
    level, n = srv.dump(vid, 0, again)
    assert level == 0 and n == len(again.getvalue())
    assert volume_state(read_dump_of(again.getvalue())) == srv.state(clone.id)


def read_dump_of(data: bytes):
    from codasim.restore import read_dump

    return read_dump(io.BytesIO(data))


def test_a_short_transfer_is_read_on_into_the_previous_restore(srv, clone):
    # row 2 at the API: the server's buffer keeps the last restore's bytes
    data = _dump(srv, clone)
    restore(srv, data, name="u.jan.one")
    vid = restore(srv, data[:50], name="u.jan.two")  # the rest never arrived
    assert srv.state(vid) == srv.state(clone.id)


def test_a_size_limit_fails_a_larger_dump(srv, clone):
    data = _dump(srv, clone)
    with pytest.raises(ServerError, match="CheckSideEffect"):
        srv.restore(io.BytesIO(data), "/vicepa", "u.jan.big", limit=len(data) - 1)
    assert restore(srv, data, name="u.jan.ok")  # off by default
