"""When the Amanda server is gone too (issue 17), on the Coda lab: real
Amanda wrote the vtapes with amcoda's dumps; the test copies the vtapes and
the holding disk somewhere the config, logs and index do not know, scans
the copy, and restores every night the images prove with ``run --via
amrestore`` (no --config: real amrestore reads the copy), each compared with
the simulator's true state.  In the copy a dump is split across two tapes
and a header is damaged; the first night's tape was reused by Amanda."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import pytest

from cli_runner import run_cli
from lab.coda_lab import CodaLab, at_epoch, checkout_tool

pytestmark = pytest.mark.lab

BLOCK = 32 * 1024


@pytest.fixture
def media(coda_lab: CodaLab):
    """The lab's vtapes and holding disk, copied where user backup can read them."""
    root = Path("/var/tmp") / f"coda-restore-scanlab-{uuid.uuid4().hex[:8]}"
    shutil.copytree(coda_lab.lab.vtapes, root / "vtapes", symlinks=True)
    shutil.copytree(coda_lab.lab.root / "holding", root / "holding")
    shutil.chown(root, "backup")
    for p in root.rglob("*"):
        if not p.is_symlink():
            shutil.chown(p, "backup")
    yield root
    shutil.rmtree(root)


def _slot_of(vtapes: Path, label: str) -> Path:
    return next(p for p in vtapes.glob("slot*") if (p / f"00000.{label}").exists())


def _split_across_two_tapes(vtapes: Path, label: str, filenum: int, new_label: str) -> None:
    """Amanda's file ``filenum`` on ``label`` becomes part 1 (its first 32 KiB
    of data) there and part 2 (the rest) on an empty slot labelled
    ``new_label`` in the same run, as a run with runtapes 2 writes it."""
    slot = _slot_of(vtapes, label)
    path = next(slot.glob(f"{filenum:05d}.*"))
    data = path.read_bytes()
    head, body = data[:BLOCK], data[BLOCK:]
    assert b" part 1/-1 " in head and len(body) > BLOCK
    written = (slot / f"00000.{label}").read_bytes().split(b"DATE ")[1].split(b" ")[0]
    empty = next(p for p in sorted(vtapes.glob("slot*")) if not any(p.iterdir()))
    label_block = b"AMANDA: TAPESTART DATE " + written + b" TAPE " + new_label.encode() + b"\n\f\n"
    (empty / f"00000.{new_label}").write_bytes(label_block.ljust(BLOCK, b"\0"))
    (empty / f"00001.{path.name[6:]}").write_bytes(head.replace(b" part 1/-1 ", b" part 2/-1 ") + body[BLOCK:])
    path.write_bytes(head + body[:BLOCK])
    for p in (empty, *empty.iterdir()):
        shutil.chown(p, "backup")


def _plan(lab, volume, date, scan, *extra, exit_status=None):
    r = run_cli("plan", lab.disk(volume), "--date", date, "--scan", scan, *extra, "--json", exit_status=exit_status)
    return json.loads(r.stdout)


def _night_of(lab: CodaLab, datestamp: str):
    """The night that ran the dump: one a day (a run's datestamp may end in ...01, ref §10)."""
    return next(n for n in lab.nights if n.at[:10].replace("-", "") == datestamp[:8])


def _restore_from_the_media(lab: CodaLab, volume: str, date: str, chosen: str, scan, volutil, tmp_path):
    """``run --scan --via amrestore``: the restored volume is the server's state of the chosen night."""
    name = f"{volume}.s{date[-2:]}"
    server = lab.server()
    for v in server.volumes():
        if v.name == name:
            server.purge(v.id, name)
    log = tmp_path / f"{name}.jsonl"
    r = run_cli("run", lab.disk(volume), "--date", date, "--scan", scan, "--via", "amrestore",
                "--workdir", tmp_path / "w", "--volutil", volutil, "--server", "localhost",
                "--partition", "/vicepa", "--name", name, "--log-json", log)
    assert "verified: dumped back and compared" in r.stdout
    ran = [json.loads(x)["message"] for x in log.read_text().splitlines()]
    assert not any("amfetchdump" in m for m in ran) and any("amrestore -h -p" in m for m in ran)
    truth = lab.server().state_at(volume, at_epoch(_night_of(lab, chosen).at) + 60)
    assert lab.server().state(name) == truth, (volume, date)


def test_with_only_the_tapes_left_every_proven_night_comes_back_exactly(coda_lab, media, tmp_path):
    vt = media / "vtapes"
    # u.jan's level 0 of 05-10 (55 KiB) split over codarestore-coda-05 and a second tape of that run
    plan = json.loads(run_cli("plan", coda_lab.disk("u.jan"), "--date", "2026-05-10", "--config", coda_lab.config,
                              "--json").stdout)
    part = plan["steps"][0]["copy"]["parts"][0]
    _split_across_two_tapes(vt, part["label"], part["filenum"], "codarestore-coda-10")
    # the header of u.jan's level 2 of 05-12 damaged
    plan = json.loads(run_cli("plan", coda_lab.disk("u.jan"), "--date", "2026-05-12", "--config", coda_lab.config,
                              "--json").stdout)
    damaged = plan["steps"][-1]["copy"]["parts"][0]
    damaged_file = next(_slot_of(vt, damaged["label"]).glob(f"{damaged['filenum']:05d}.*"))
    with open(damaged_file, "r+b") as f:
        f.write(b"AMANDA: SPLIT_FILE garbage\0")

    scan = tmp_path / "lab.scan"
    r = run_cli("scan", "--vtapes", vt, "--holding", media / "holding", "-o", scan)
    assert f"not read: {damaged_file}: file {damaged['filenum']} of {damaged['label']}: Amanda header not read" \
        in r.stdout
    assert "10 tape(s)" in r.stdout

    # the split dump is one copy, its parts in order across the two tapes
    p = _plan(coda_lab, "u.jan", "2026-05-11", scan, exit_status=0)
    full = p["steps"][0]["copy"]["parts"]
    assert [(x["partnum"], x["label"]) for x in full] == [(1, part["label"]), (2, "codarestore-coda-10")]
    # the reused first tape: 05-04's dumps are gone, nothing is restorable then
    assert not _plan(coda_lab, "u.jan", "2026-05-04", scan, exit_status=3)["restorable"]
    # the damaged level 2: the level 3 after it has no provable base
    p = _plan(coda_lab, "u.jan", "2026-05-13", scan, exit_status=3)
    assert p["warnings"][0]["code"] == "header-link-broken"
    # the manual dump outside Amanda before n12: u.jan's 05-15 image belongs to no chain on the tapes
    assert _plan(coda_lab, "u.jan", "2026-05-15", scan, exit_status=3)["warnings"][0]["code"] == "header-link-broken"
    # with Amanda's records too, the two must agree: they do not for u.jan's 05-15
    both = _plan(coda_lab, "u.jan", "2026-05-15", scan, "--config", coda_lab.config, exit_status=3)
    assert both["warnings"][0]["code"] == "header-link-broken"

    volutil = checkout_tool(coda_lab.lab.root, tmp_path / "bin")
    restored = []
    for volume in ("u.jan", "p.proj"):
        for day in range(5, 16):
            date = f"2026-05-{day:02d}"
            p = _plan(coda_lab, volume, date, scan)
            if not p["restorable"]:
                continue
            assert p["warnings"][0]["code"] == "chain-proven", p["warnings"]
            _restore_from_the_media(coda_lab, volume, date, p["chosen"].split("/")[0], scan, volutil, tmp_path)
            restored.append((volume, date))
    # every night the images prove: u.jan up to the damaged level 2 (05-12 is the state of the 05-11
    # dump, the newest the media show, and the plan says so), and from the next level 0 on; p.proj
    # from its first level 0 on, also across the night Amanda's records call a broken link (p.proj
    # did not change that night: its headers link 05-08 and 05-10 directly)
    # the run's datestamp is 01:00:00 or 01:00:01, as Amanda under libfaketime starts it
    assert re.fullmatch(r"202605110100\d\d/1", _plan(coda_lab, "u.jan", "2026-05-12", scan)["chosen"])
    assert [d for v, d in restored if v == "u.jan"] == [
        "2026-05-05", "2026-05-06", "2026-05-07", "2026-05-08", "2026-05-09", "2026-05-10", "2026-05-11",
        "2026-05-12", "2026-05-14"]
    assert [d for v, d in restored if v == "p.proj"] == [f"2026-05-{d:02d}" for d in range(8, 16)]


def test_a_device_read_with_amandas_device_api_gives_the_same_catalog(coda_lab, media, tmp_path):
    """--device: each volume's label, write time and headers from Amanda's own
    Device API, each file's data from amrestore; the same catalog as reading
    the vtape files, and a run from it restores what amfetchdump does."""
    from coda_restore import scan as scanning

    vt = media / "vtapes"
    slots = sorted((p for p in vt.glob("slot*") if any(p.iterdir())), key=lambda p: int(p.name[4:]))
    run_cli("scan", "--vtapes", vt, "-o", tmp_path / "files.scan")
    r = run_cli("scan", *[a for s in slots for a in ("--device", f"file:{s}")], "-o", tmp_path / "dev.scan")
    assert "not read" not in r.stdout

    def norm(path):
        cat = scanning.catalog_of(scanning.load(path))
        return [(d.key, d.coda, d.available, [(p.partnum, p.label, p.filenum, p.kb) for c in d.copies for p in c.parts])
                for d in cat.dumps]

    assert norm(tmp_path / "dev.scan") == norm(tmp_path / "files.scan") and norm(tmp_path / "dev.scan")
    via_device, via_config = tmp_path / "a.dump", tmp_path / "b.dump"
    run_cli("run", coda_lab.disk("u.jan"), "--date", "2026-05-13", "--scan", tmp_path / "dev.scan", "--via",
            "amrestore", "--workdir", tmp_path / "w1", "--output", via_device)
    run_cli("run", coda_lab.disk("u.jan"), "--date", "2026-05-13", "--config", coda_lab.config,
            "--workdir", tmp_path / "w2", "--output", via_config)
    assert via_device.read_bytes() == via_config.read_bytes()
