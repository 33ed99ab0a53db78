"""The simulated Coda server: ref §20's vectors and §12's incremental rules, case by case."""

from __future__ import annotations

import io

import pytest

from codasim import Server, diff, volume_state
from codasim.model import VnodeType
from codasim.restore import Removed
from codasim.vvlist import list_path
from codasim import dump as dumping
from sim_cycles import DAY, T0, cycle, make_f1

def fids(records) -> list[str]:
    """Records as compact strings: '2.3' for a vnode, 'RM 4.4' for a removal."""
    return [f"RM {r.vnum}.{r.uniq}" if isinstance(r, Removed) else f"{r.vnum}.{r.uniq}" for r in records]


def recorded_levels(srv: Server, vol) -> dict[str, int]:
    """fid -> level, from the list of the last recorded dump (.ancient)."""
    text = list_path(srv.backup_dir, vol.group_id, vol.id, "ancient").read_text()
    out = {}
    for line in text.splitlines():
        if line[:1].isdigit():
            fid, *_rest, level = line.split()
            out[fid] = int(level)
    return out


# -- ref §20: F1 and I1 ------------------------------------------------------

def test_f1_full_dump_has_the_vector_layout(srv, clock):
    vol = make_f1(srv)
    d = cycle(srv, vol, 0)
    assert (d.level, d.name, d.parent_id, d.backup_date) == (0, "u.test.backup", vol.id, T0)
    assert d.oldest == d.latest == srv.volume(vol.id).vv.versions[0]
    assert d.volume_id == srv.volume(vol.id).backup_id != vol.id
    assert fids(d.large) == ["1.1", "3.2"]
    assert fids(d.small) == ["2.3", "4.4", "6.5", "12.20", "12.21"]  # two uniquifiers, one slot
    assert d.nvnodes == {"large": 2, "small": 5}
    assert (d.volume.large.nlists, d.volume.small.nlists) == (8, 8)
    small = {f"{v.vnum}.{v.uniq}": v for v in d.small}
    assert small["2.3"].data == b"hello world\n"
    assert small["4.4"].data == b"B" * 5000
    assert (small["6.5"].vtype, small["6.5"].mode, small["6.5"].data) == (VnodeType.SYMLINK, 0o777, b"a.txt")
    root = d.large[0]
    names = {e.name: e.fid for e in root.dir.entries()}
    assert names == {b".": (1, 1), b"..": (1, 1), b"a.txt": (2, 3), b"sub": (3, 2),
                     b"link": (6, 5), b"x1": (12, 20), b"x2": (12, 21)}
    assert {e.name: e.fid for e in d.large[1].dir.entries()} == {b".": (3, 2), b"..": (1, 1), b"b.txt": (4, 4)}
    assert d.large[1].acl.startswith("2\n0\n")
    # the dump header is 43 + len(name) + 1 bytes and the first vnode follows the index header
    assert d.raw[:1] == b"\x01" and d.raw[-5:] == b"\x08\x3a\x21\x4b\x6e"


def test_i1_incremental_as_the_server_makes_it(srv, clock):
    """§20's I1 changes made through the server.  Two differences from the synthetic
    vector are forced by §12.4: removing sub/b.txt changes sub (3.2 is dumped), and no
    D_RMVNODE can name a vnode (10.9) that the recorded list never held."""
    vol = make_f1(srv)
    f1 = cycle(srv, vol, 0)
    clock.tick(DAY)
    with srv.edit("u.test") as ed:
        ed.grow_lists(large=16, small=16)
        ed.mkdir("/newdir", vnum=5, uniq=6)
        ed.write("/newdir/c.txt", "c\n", vnum=8, uniq=7)
        ed.write("/a.txt", "hello again\n")
        ed.remove("/sub/b.txt")
        ed.remove("/link")
        ed.symlink("/link", "a.txt", vnum=6, uniq=8)
    i1 = cycle(srv, vol, 1)
    # the refreshed clone keeps its first creation time (ref §23 row 5)
    assert (i1.level, i1.oldest, i1.backup_date) == (1, f1.latest, T0)
    assert i1.latest > f1.latest
    assert fids(i1.large) == ["1.1", "3.2", "5.6"]
    assert fids(i1.small) == ["2.3", "RM 4.4", "6.8", "RM 6.5", "8.7"]
    assert i1.nvnodes == {"large": 3, "small": 5}  # vnodes in the volume, not records
    assert (i1.volume.large.nlists, i1.volume.small.nlists) == (16, 16)


# -- ref §12.4, case by case ---------------------------------------------------

@pytest.fixture
def vol(srv):
    v = srv.create_volume("u.jan")
    with srv.edit("u.jan") as ed:
        ed.mkdir("/d")
        ed.write("/d/keep", "unchanged")
        ed.write("/d/change", "v1")
        ed.write("/gone", "deleted later")
    return v


def test_unchanged_vnode_is_not_dumped_and_keeps_its_level(srv, vol, clock):
    cycle(srv, vol, 0)
    clock.tick(DAY)
    d = cycle(srv, vol, 1)
    assert fids(d.large) == [] and fids(d.small) == []
    assert set(recorded_levels(srv, vol).values()) == {0}


def test_changed_vnode_is_dumped_at_the_current_level(srv, vol, clock):
    cycle(srv, vol, 0)
    with srv.edit("u.jan") as ed:
        ed.write("/d/change", "v2")
        fid = ed.lookup("/d/change").fid
    d = cycle(srv, vol, 1)
    assert fids(d.small) == [f"{fid[0]}.{fid[1]}"]
    assert d.small[0].data == b"v2"
    assert recorded_levels(srv, vol)[f"{fid[0]}.{fid[1]}"] == 1


def test_changes_are_cumulative_per_level(srv, vol, clock):
    cycle(srv, vol, 0)
    with srv.edit("u.jan") as ed:
        ed.write("/d/change", "v2")
    assert len(cycle(srv, vol, 1).small) == 1
    # recorded at level 1: a second level 1 repeats it (1 < 1 is false) ...
    assert len(cycle(srv, vol, 1).small) == 1
    # ... a level 2 does not (recorded 1 < 2), and keeps level 1 in its list
    d2 = cycle(srv, vol, 2)
    assert d2.small == []
    assert 1 in recorded_levels(srv, vol).values()
    # a new level 1 after the level 2 still holds it: changed since the last level 0
    assert len(cycle(srv, vol, 1).small) == 1
    # and a level 0 resets every recorded level
    cycle(srv, vol, 0)
    assert cycle(srv, vol, 1).small == []


def test_new_vnode_is_dumped(srv, vol):
    cycle(srv, vol, 0)
    with srv.edit("u.jan") as ed:
        v = ed.write("/d/new", "fresh")
    d = cycle(srv, vol, 1)
    assert f"{v.vnum}.{v.uniq}" in fids(d.small)
    assert fids(d.large) == ["3.2"]  # its directory changed too


def test_deletion_is_reported_once_after_the_recorded_dump(srv, vol):
    cycle(srv, vol, 0)
    with srv.edit("u.jan") as ed:
        gone = ed.lookup("/gone").fid
        ed.remove("/gone")
    rm = f"RM {gone[0]}.{gone[1]}"
    # not yet recorded: every dump relative to the level 0's list repeats the removal
    assert rm in fids(cycle(srv, vol, 1, record=False).small)
    assert rm in fids(cycle(srv, vol, 1).small)
    # recorded: the next dumps, of any level, no longer mention it
    assert rm not in fids(cycle(srv, vol, 1).small)
    assert rm not in fids(cycle(srv, vol, 2).small)


def test_reused_vnode_number_is_a_new_vnode_plus_a_removal(srv, vol):
    cycle(srv, vol, 0)
    with srv.edit("u.jan") as ed:
        old = ed.lookup("/gone").fid
        ed.remove("/gone")
        new = ed.write("/again", "reuses the number").fid
    assert new[0] == old[0] and new[1] != old[1]
    d = cycle(srv, vol, 1)
    assert fids(d.small) == [f"{new[0]}.{new[1]}", f"RM {old[0]}.{old[1]}"]


def test_several_removals_in_one_slot_come_in_reverse_list_order(srv, clock):
    vol = srv.create_volume("u.slot")
    with srv.edit("u.slot") as ed:
        ed.write("/a", "a", vnum=2, uniq=10)
        ed.write("/b", "b", vnum=2, uniq=11)
        ed.write("/c", "c", vnum=2, uniq=12)
    cycle(srv, vol, 0)
    with srv.edit("u.slot") as ed:
        ed.remove("/a")
        ed.remove("/c")
    assert fids(cycle(srv, vol, 1).small) == ["RM 2.12", "RM 2.10"]


def test_directories_follow_the_same_rules(srv, vol):
    cycle(srv, vol, 0)
    with srv.edit("u.jan") as ed:
        ed.mkdir("/e")
        e = ed.lookup("/e").fid
    assert fids(cycle(srv, vol, 1).large) == ["1.1", f"{e[0]}.{e[1]}"]
    with srv.edit("u.jan") as ed:
        ed.remove("/e")
    assert fids(cycle(srv, vol, 1).large) == ["1.1", f"RM {e[0]}.{e[1]}"]


def test_rename_changes_both_directories_not_the_file(srv, vol):
    cycle(srv, vol, 0)
    with srv.edit("u.jan") as ed:
        ed.mkdir("/other")
        other = ed.lookup("/other").fid
    cycle(srv, vol, 1)
    with srv.edit("u.jan") as ed:
        moved = ed.lookup("/d/keep")
        ed.rename("/d/keep", "/other/kept")
    d = cycle(srv, vol, 1)
    assert fids(d.large) == ["1.1", "3.2", f"{other[0]}.{other[1]}"]
    assert f"{moved.vnum}.{moved.uniq}" in fids(d.small)  # its StoreId changed with the rename


# -- the silent full-dump fallback (§12.2) ------------------------------------

def test_incremental_without_ancient_list_is_a_full_dump(srv, vol):
    d = cycle(srv, vol, 3)
    assert d.level == 0 and d.oldest == d.latest
    assert len(d.small) == 3 and not [r for r in d.small if isinstance(r, Removed)]


def test_dump_that_is_not_marked_leaves_the_base_unchanged(srv, vol):
    cycle(srv, vol, 0)
    first = cycle(srv, vol, 1, record=False)
    second = cycle(srv, vol, 1)
    assert first.oldest == second.oldest


def test_ancient_list_of_another_volume_means_full_dump(srv, vol):
    cycle(srv, vol, 0)
    anc = list_path(srv.backup_dir, vol.group_id, vol.id, "ancient")
    anc.write_text(anc.read_text().replace(f"R/W vol {vol.id:08x}", "R/W vol 0badbad0"))
    assert cycle(srv, vol, 1).level == 0


def test_unparsable_ancient_list_means_full_dump(srv, vol):
    cycle(srv, vol, 0)
    list_path(srv.backup_dir, vol.group_id, vol.id, "ancient").write_text("garbage\n")
    assert cycle(srv, vol, 1).level == 0


def test_headers_chain_oldest_to_the_previous_recorded_latest(srv, vol, clock):
    prev = cycle(srv, vol, 0)
    for night, level in enumerate([1, 2, 1, 3, 2], start=1):
        clock.tick(DAY)
        with srv.edit("u.jan") as ed:
            ed.write(f"/n{night}", str(night))
        d = cycle(srv, vol, level)
        assert d.oldest == prev.latest and d.latest > prev.latest
        prev = d


def test_ancient_needs_a_newlist(srv, vol):
    from codasim import ServerError
    d = cycle(srv, vol, 0)
    with pytest.raises(ServerError, match="newlist"):
        srv.ancient(d.volume_id)  # already renamed by cycle()


def test_coda6_style_ancient_takes_group_and_replica(srv, vol):
    cycle(srv, vol, 0, record=False)
    srv.ancient(vol.group_id, vol.id)
    assert list_path(srv.backup_dir, vol.group_id, vol.id, "ancient").exists()
    assert not list_path(srv.backup_dir, vol.group_id, vol.id, "newlist").exists()


def test_rw_volume_cannot_be_dumped(srv, vol):
    from codasim import ServerError
    with pytest.raises(ServerError, match="Dump not allowed"):
        srv.dump(vol.id, 0, io.BytesIO())


def test_backup_needs_the_lock_and_unlocks(srv, vol):
    from codasim import ServerError, WouldBlock
    with pytest.raises(ServerError, match="not locked"):
        srv.backup(vol.id)
    srv.lock(vol.id)
    with pytest.raises(WouldBlock):
        srv.lock(vol.id)
    with pytest.raises(WouldBlock):
        with srv.edit("u.jan") as ed:
            ed.write("/x", "blocked")
    srv.backup(vol.id)
    assert not srv.volume(vol.id).locked


# -- dumpestimate ----------------------------------------------------------------

def test_estimate_without_ancient_is_the_full_size_at_every_level(srv, vol):
    srv.lock(vol.id)
    bid = srv.backup(vol.id)
    sizes = srv.dumpestimate(bid)
    assert len(set(sizes)) == 1
    buf = io.BytesIO()
    srv.dump(bid, 0, buf)
    # the estimate reserves 32 bytes per name: header name, volume name, partition, messages
    clone = srv.volume(bid)
    slack = (32 - len(clone.name)) + (128 - len(clone.name) - len(clone.partition))
    assert sizes[0] - len(buf.getvalue()) == slack


def test_estimate_per_level_matches_the_dumps(srv, vol, clock):
    cycle(srv, vol, 0)
    with srv.edit("u.jan") as ed:
        ed.write("/d/change", "v2" * 100)
    cycle(srv, vol, 1)
    with srv.edit("u.jan") as ed:
        ed.write("/d/keep", "now changed")
        ed.remove("/gone")
    srv.lock(vol.id)
    bid = srv.backup(vol.id)
    # what a fixed server would answer: the real one dies here (ref §23 row 4)
    sizes = dumping.estimate(srv.volume(bid), srv.backup_dir)
    assert sizes[0] > sizes[1] > sizes[2] == sizes[9]
    clone = srv.volume(bid)
    slack = (32 - len(clone.name)) + (128 - len(clone.name) - len(clone.partition))
    # the removal record is counted at level 9, so even the level 0 estimate holds it
    for level, removals_not_dumped in ((0, 1), (1, 0), (2, 0), (5, 0)):
        buf = io.BytesIO()
        srv.dump(bid, level, buf)
        assert sizes[level] - len(buf.getvalue()) == slack + 9 * removals_not_dumped, level


def test_estimate_with_an_ancient_list_kills_the_server(srv, vol):
    from codasim.errors import ServerDied
    cycle(srv, vol, 0)
    srv.lock(vol.id)
    bid = srv.backup(vol.id)
    assert not srv.dead
    with pytest.raises(ServerDied):
        srv.dumpestimate(bid)
    assert srv.dead
    srv.restart()
    assert not srv.dead


# -- backup clones (ref §23 rows 5, 9; vol-backup.cc) ----------------------------

def test_refreshing_a_clone_keeps_its_dates_and_moves_only_the_rw_backup_date(srv, vol, clock):
    srv.lock(vol.id)
    bid = srv.backup(vol.id)
    first = srv.volume(bid)
    assert (first.creation_date, first.copy_date, srv.volume(vol.id).backup_date) == (T0, T0, T0)
    clock.tick(DAY)
    with srv.edit("u.jan") as ed:
        ed.write("/new", "n")
    srv.lock(vol.id)
    assert srv.backup(vol.id) == bid
    again = srv.volume(bid)
    assert (again.creation_date, again.copy_date) == (T0, T0)
    assert srv.volume(vol.id).backup_date == T0 + DAY
    assert "/new" in volume_state(again)  # its contents did follow the RW volume


def test_a_purged_clone_leaves_a_backup_id_naming_no_volume_and_backup_makes_a_new_one(srv, vol, clock):
    from codasim import NoVolume
    srv.lock(vol.id)
    bid = srv.backup(vol.id)
    srv.purge(bid, "u.jan.backup")
    assert srv.volume(vol.id).backup_id == bid  # nothing told the RW volume
    with pytest.raises(NoVolume):
        srv.volume(bid)
    clock.tick(DAY)
    srv.lock(vol.id)
    new = srv.backup(vol.id)
    assert new != bid and srv.volume(vol.id).backup_id == new  # a newly allocated id
    assert srv.volume(new).copy_date == srv.volume(vol.id).backup_date == T0 + DAY


# -- the timeline -------------------------------------------------------------------

def test_state_at_an_instant(srv, clock):
    srv.create_volume("u.feb")
    with srv.edit("u.feb") as ed:
        ed.write("/f", "one")
    t1 = clock.now
    clock.tick(100)
    with srv.edit("u.feb") as ed:
        ed.write("/f", "two")
        ed.symlink("/l", "f")
    assert srv.state_at("u.feb", t1)["/f"].data == b"one"
    assert "/l" not in srv.state_at("u.feb", t1 + 99)
    later = srv.state_at("u.feb", clock.now)
    assert later == srv.state("u.feb")
    assert diff(srv.state_at("u.feb", t1), later) == ["~ /f: file 0644 3 bytes -> file 0644 3 bytes",
                                                       "+ /l: symlink 0777 -> f"]


def test_a_full_dump_restores_the_clone_exactly(srv, vol):
    d = cycle(srv, vol, 0)
    restored = srv.restore(io.BytesIO(d.raw), "/vicepa")
    r = srv.volume(restored)
    assert r.name == "u.jan.restored" and r.restored_from_id == vol.id
    assert volume_state(r) == srv.state("u.jan")


def test_recreate_reuses_the_vnode_number_even_with_lower_free_numbers(srv, vol):
    with srv.edit("u.jan") as ed:
        ed.remove("/d/keep")  # frees a lower number than /gone's
        old = ed.lookup("/gone").fid
    cycle(srv, vol, 0)
    with srv.edit("u.jan") as ed:
        new = ed.recreate("/gone", "same name, same number, new uniquifier").fid
    assert new[0] == old[0] and new[1] > old[1]
    assert fids(cycle(srv, vol, 1).small) == [f"{new[0]}.{new[1]}", f"RM {old[0]}.{old[1]}"]


def test_big_directory_spans_pages_and_survives_a_restore(srv):
    """§20 vector 14: more than 49 names, and names at the blob-count boundaries."""
    from coda_restore.voldump.dirpage import check
    vol = srv.create_volume("u.big")
    names = ["a" * 15, "b" * 16, "c" * 47, "d" * 48] + [f"file{i:03d}" for i in range(60)]
    with srv.edit("u.big") as ed:
        for n in names:
            ed.write("/" + n, n)
        ed.write("/setuid", "#!", mode=0o4755)
        ed.remove("/file010")  # leaves stale bytes behind, as the server does
    d = cycle(srv, vol, 0)
    root = d.large[0]
    assert root.dir.npages >= 2 and check(root.dir.image()) == []
    new = srv.restore(io.BytesIO(d.raw), "/vicepa")
    state = volume_state(srv.volume(new))
    assert state == srv.state("u.big")
    assert state["/setuid"].mode == 0o4755 and "/file010" not in state
