"""Restore drills on dumps made by the Coda server simulator: the chain,
its header links, the validator and the names against the index files
amcoda writes (built here with amcoda's own scan of each dump).  The images
come through the drill's ``Images`` seam, not amfetchdump (the lab test
runs the real one)."""

from __future__ import annotations

import contextlib
import gzip
import io
from pathlib import Path

import pytest

from codasim import FakeClock, Server
from sim_cycles import T0, cycle

from coda_restore.amanda.amanda_index import candidates, read_index, sanitise
from coda_restore.amcoda.backup import scan_dump
from coda_restore.errors import NONE_DONE, OK, IndexUnreadable, Interrupted
from coda_restore.executor.drill import DrillOptions, drill, drill_all, sample
from coda_restore.planning.plan import CopyRef, Plan, Step, TargetRecord

HOST, DISK = "localhost", "/coda/u.drill"
STAMPS = ("20260510010000", "20260511010000", "20260512010000")


class SimImages:
    """Images by "datestamp/level": what amfetchdump would give after Amanda's header."""

    def __init__(self, raw: dict[str, bytes]):
        self.raw = raw
        self.read: list[str] = []

    def spool(self, step, dest: Path) -> None:
        self.read.append(f"{step.datestamp}/{step.level}")
        dest.write_bytes(self.raw[f"{step.datestamp}/{step.level}"])

    @contextlib.contextmanager
    def stream(self, step):
        self.read.append(f"{step.datestamp}/{step.level}")
        yield io.BytesIO(self.raw[f"{step.datestamp}/{step.level}"])


def _plan(levels, chain="exact") -> Plan:
    steps = tuple(Step(STAMPS[i], lvl, CopyRef("tape"), "why") for i, lvl in enumerate(levels))
    target = TargetRecord("friday", "2026-05-15T23:59:59+00:00", True, "20260515235959")
    return Plan(HOST, DISK, target, chain, True, "", f"{steps[-1].datestamp}/{steps[-1].level}", steps, (),
                config="daily")


def _write_index(indexdir: Path, datestamp: str, level: int, lines) -> Path:
    where = indexdir / sanitise(HOST) / sanitise(DISK)
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{datestamp}_{level}.gz"
    path.write_bytes(gzip.compress(b"".join(line + b"\n" for line in lines)))
    return path


@pytest.fixture
def week(tmp_path):
    """A level 0, then two recorded level 1s: the second deletes a file the
    first dumps saw, and adds one below a new directory."""
    srv = Server(tmp_path / "server", clock=FakeClock(T0))
    vol = srv.create_volume("u.drill")
    with srv.edit("u.drill") as ed:
        ed.mkdir("/docs")
        ed.write("/docs/a.txt", "alpha\n")
        ed.write("/gone.txt", "soon deleted\n")
    raw = {f"{STAMPS[0]}/0": cycle(srv, vol, 0).raw}
    with srv.edit("u.drill") as ed:
        ed.write("/docs/b.txt", "beta\n")
    raw[f"{STAMPS[1]}/1"] = cycle(srv, vol, 1).raw
    with srv.edit("u.drill") as ed:
        ed.remove("/gone.txt")
        ed.mkdir("/new")
        ed.write("/new/c.txt", "gamma\n")
    raw[f"{STAMPS[2]}/1"] = cycle(srv, vol, 1).raw
    indexdir = tmp_path / "index"
    for k, data in raw.items():
        ds, level = k.split("/")
        _write_index(indexdir, ds, int(level), scan_dump(io.BytesIO(data)).index)
    return raw, indexdir, tmp_path / "work"


def test_an_exact_chain_is_proven_even_though_a_name_of_the_level_0_was_deleted_since(week):
    raw, indexdir, work = week
    images = SimImages(raw)
    proof = drill(_plan((0, 1, 1)), DrillOptions(indexdir, work), images)
    assert proof.proven, proof.reasons
    # incrementals first (spooled, in the plan's read order), the level 0 streamed last
    assert images.read == [f"{STAMPS[1]}/1", f"{STAMPS[2]}/1", f"{STAMPS[0]}/0"]
    assert [i.dump for i in proof.images] == [f"{STAMPS[0]}/0", f"{STAMPS[1]}/1", f"{STAMPS[2]}/1"]
    assert all(i.valid and i.names.ok and i.names.checked > 0 for i in proof.images)
    assert [(link.dump, link.ok) for link in proof.links] == [(f"{STAMPS[1]}/1", True), (f"{STAMPS[2]}/1", True)]
    # the target's index is held by the merged volume; /gone.txt (in the level 0's index) is not there
    assert b"/gone.txt" in read_index(indexdir, HOST, DISK, STAMPS[0], 0).lines
    assert proof.merged.names.what == "merged holds the target's index" and proof.merged.names.ok
    assert proof.merged.vnodes > 0 and proof.merged.bytes > 0
    assert not list(work.rglob("*.dump"))  # the drill's spool is gone
    doc = proof.to_dict()
    assert doc["proven"] and doc["links"]["prove_chain"] and doc["images"][2]["names"]["missing_count"] == 0


def test_a_level_0_alone_must_match_its_index_exactly(week):
    raw, indexdir, work = week
    proof = drill(_plan((0,)), DrillOptions(indexdir, work), SimImages(raw))
    assert proof.proven, proof.reasons
    assert proof.merged.names.what == "merged = target's index"
    # a name added to the index that the image does not hold: both checks fail
    lines = read_index(indexdir, HOST, DISK, STAMPS[0], 0).lines | {b"/docs/forged.txt"}
    _write_index(indexdir, STAMPS[0], 0, sorted(lines))
    proof = drill(_plan((0,)), DrillOptions(indexdir, work), SimImages(raw))
    assert not proof.proven
    assert proof.images[0].names.missing == ("/docs/forged.txt",)
    assert proof.merged.names.missing == ("/docs/forged.txt",)


def test_an_index_that_lacks_a_name_of_its_image_is_not_proven(week):
    raw, indexdir, work = week
    lines = set(read_index(indexdir, HOST, DISK, STAMPS[2], 1).lines) - {b"/new/c.txt"}
    _write_index(indexdir, STAMPS[2], 1, sorted(lines))
    report = drill_all([_plan((0, 1, 1))], DrillOptions(indexdir, work), images=lambda p: SimImages(raw))
    assert report.exit_status == NONE_DONE
    (proof,) = report.volumes
    bad = proof.images[2]
    assert (bad.names.extra, bad.names.extra_count) == (("/new/c.txt",), 1)
    assert any("not in the index (/new/c.txt)" in r for r in proof.reasons)
    assert proof.merged.names.ok  # what the index still names is all there
    assert report.to_dict()["schema"] == "coda-restore.verify/1" and not report.to_dict()["proven"]


def test_a_missing_index_file_and_a_damaged_image_are_each_not_proven(week):
    raw, indexdir, work = week
    candidates(indexdir, HOST, DISK, STAMPS[2], 1)[4].unlink()  # the plain .gz
    proof = drill(_plan((0, 1, 1)), DrillOptions(indexdir, work), SimImages(raw))
    assert not proof.proven and "no index file" in proof.images[2].error
    assert "no index of the target dump" in proof.merged.error
    damaged = dict(raw)
    damaged[f"{STAMPS[1]}/1"] = raw[f"{STAMPS[1]}/1"][:-40]
    proof = drill(_plan((0, 1)), DrillOptions(indexdir, work), SimImages(damaged))
    assert not proof.proven
    assert not proof.images[1].valid and "truncated" in proof.images[1].error.lower()


def test_a_chain_that_skips_a_recorded_dump_fails_its_link(week):
    raw, indexdir, work = week
    skipping = {f"{STAMPS[0]}/0": raw[f"{STAMPS[0]}/0"], f"{STAMPS[1]}/1": raw[f"{STAMPS[2]}/1"]}
    ds, _ = STAMPS[1], 1
    _write_index(indexdir, ds, 1, scan_dump(io.BytesIO(raw[f"{STAMPS[2]}/1"])).index)
    proof = drill(_plan((0, 1)), DrillOptions(indexdir, work), SimImages(skipping))
    assert not proof.proven
    assert [link.ok for link in proof.links] == [False]
    assert "does not belong" in proof.failure or "oldest" in proof.failure


def test_a_plan_that_is_not_restorable_is_reported_not_proven(tmp_path):
    plan = _plan((0,))
    import dataclasses

    plan = dataclasses.replace(plan, restorable=False, reason="no level 0")
    report = drill_all([plan], DrillOptions(tmp_path, tmp_path))
    assert report.exit_status == NONE_DONE and report.volumes[0].reasons == ("not restorable: no level 0",)
    assert drill_all([], DrillOptions(tmp_path, tmp_path)).exit_status == OK


def test_a_sample_is_reproducible_from_its_seed_and_keeps_the_selection_order():
    volumes = [("h", f"v{i:02d}") for i in range(40)]
    a, b = sample(volumes, 5, seed=7), sample(volumes, 5, seed=7)
    assert a == b and len(a) == 5 and a == sorted(a)
    assert sample(volumes, 5, seed=8) != a
    assert sample(volumes, 50, seed=1) == volumes


def test_index_paths_follow_amandas_sanitising():
    assert sanitise("/coda/u.jan") == "_coda_u.jan" and sanitise("C:\\x") == "C__x"
    paths = candidates(Path("/idx"), "Host", "/a b", "2026-05-10 01:00:00", 1)
    assert paths[4] == Path("/idx/Host/_a b/20260510010000_1.gz")
    assert Path("/idx/host/_a b/20260510010000_1.gz") in paths
    with pytest.raises(IndexUnreadable):
        read_index(Path("/nonexistent"), "h", "d", "20260510", 0)


def test_a_signal_stops_the_whole_drill_and_leaves_no_spool(week):
    raw, indexdir, work = week

    class Stopped(SimImages):
        @contextlib.contextmanager
        def stream(self, step):
            raise Interrupted(15)
            yield

    with pytest.raises(Interrupted):
        drill_all([_plan((0, 1, 1)), _plan((0,))], DrillOptions(indexdir, work), images=lambda p: Stopped(raw))
    assert not list(work.rglob("*.dump*"))
