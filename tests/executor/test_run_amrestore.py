"""run --via amrestore: each image read by the real amrestore from the
vtape slots a scan saw, no Amanda config; parts of a split dump are
concatenated in order, each part's header checked before a byte reaches the
merge (issue 17 item 3).  The slots are laid out as Amanda's vfs device
writes them (tests/support/vtapes.py); amrestore itself reads them."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from vtapes import BLOCK, DISK, FULL, HOST, INCR, header, slot
from voldump_model import codamergedump

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("amrestore") is None,
                                reason="needs root and Amanda's amrestore")


@pytest.fixture
def media():
    """A directory Amanda's user can read (pytest's tmp_path is root's only)."""
    root = Path("/var/tmp") / f"coda-restore-amrestore-{uuid.uuid4().hex[:8]}"
    root.mkdir()
    yield root
    shutil.rmtree(root)


def _readable(root: Path) -> None:
    for dirpath, dirs, files in os.walk(root):
        os.chmod(dirpath, 0o755)
        for f in files:
            os.chmod(os.path.join(dirpath, f), 0o644)


def _lab(media: Path) -> Path:
    """The full dump split across two tapes (part 2 first in slot order), the level 1 on a third."""
    slot(media / "vt", 1, "DAILY-2", "20260501010000", [("20260501010000", 0, FULL[3000:], 2, len(FULL))])
    slot(media / "vt", 2, "DAILY-1", "20260501010000", [("20260501010000", 0, FULL[:3000], 1, len(FULL))])
    slot(media / "vt", 3, "DAILY-3", "20260502010000", [("20260502010000", 1, INCR, 1, len(INCR))])
    _readable(media)
    return media / "vt"


def _run(cli, media, tmp_path, *extra, exit_status=0):
    cli("scan", "--vtapes", media / "vt", "-o", tmp_path / "s", "--force")
    return cli("run", DISK, "--date", "2026-05-02", "--tz", "UTC", "--now", "2026-06-01", "--scan", tmp_path / "s",
               "--via", "amrestore", "--workdir", tmp_path / "wd", *extra, exit_status=exit_status)


def test_run_via_amrestore_puts_a_split_dump_together_and_merges(cli, media, tmp_path):
    _lab(media)
    out = tmp_path / "merged.dump"
    r = _run(cli, media, tmp_path, "--dry-run", "--output", out)
    lines = [ln.strip() for ln in r.stdout.splitlines() if "amrestore -h" in ln]
    assert lines == [
        f"runuser -u backup -- amrestore -h -p --exact-match -f 1 -l DAILY-3 file:{media}/vt/slot3 localhost "
        f"{DISK} 20260502010000",
        f"runuser -u backup -- amrestore -h -p --exact-match -f 1 -l DAILY-1 file:{media}/vt/slot2 localhost "
        f"{DISK} 20260501010000",
        f"runuser -u backup -- amrestore -h -p --exact-match -f 1 -l DAILY-2 file:{media}/vt/slot1 localhost "
        f"{DISK} 20260501010000",
    ]
    assert not out.exists()
    _run(cli, media, tmp_path, "--output", out)
    assert out.read_bytes() == codamergedump(FULL, INCR)[0]


def test_a_wrong_part_is_refused_before_the_merge(cli, media, tmp_path):
    vt = _lab(media)
    cli("scan", "--vtapes", vt, "-o", tmp_path / "s")
    # after the scan, part 2's file is replaced by another dump's part 2 (same place, same label)
    (vt / "slot1" / f"00001.{HOST}._coda_u.jan.0").write_bytes(
        header("SPLIT_FILE", "20260424010000", 0, 2, len(FULL)) + FULL[3000:])
    out = tmp_path / "merged.dump"
    r = cli("run", DISK, "--date", "2026-05-02", "--tz", "UTC", "--now", "2026-06-01", "--scan", tmp_path / "s",
            "--via", "amrestore", "--workdir", tmp_path / "wd", "--output", out, exit_status=None)
    assert r.exit_code != 0 and not out.exists()
    assert r.exit_code == 4 and "Traceback" not in r.stderr
    assert "amrestore returned nothing: file 1 of DAILY-2 holds no part 2 of that dump (amrestore wrote nothing)" in r.stderr
    # the same place holding the right dump's part 1 instead: the part number is checked
    (vt / "slot1" / f"00001.{HOST}._coda_u.jan.0").write_bytes(
        header("SPLIT_FILE", "20260501010000", 0, 1, len(FULL)) + FULL[3000:])
    r = cli("run", DISK, "--date", "2026-05-02", "--tz", "UTC", "--now", "2026-06-01", "--scan", tmp_path / "s",
            "--via", "amrestore", "--workdir", tmp_path / "wd", "--output", out, exit_status=4)
    assert "amrestore returned part 1 of localhost /coda/u.jan 20260501010000 level 0 but the plan asked for part 2" in r.stderr
    assert not out.exists()


def test_a_tape_not_where_the_scan_saw_it_says_which_to_load(cli, media, tmp_path):
    vt = _lab(media)
    cli("scan", "--vtapes", vt, "-o", tmp_path / "s")
    (vt / "slot1" / "00000.DAILY-2").rename(vt / "slot1" / "00000.DAILY-9")
    (vt / "slot1" / "00000.DAILY-9").write_bytes(b"AMANDA: TAPESTART DATE 20260509010000 TAPE DAILY-9\n\f\n".ljust(BLOCK, b"\0"))
    r = cli("run", DISK, "--date", "2026-05-02", "--tz", "UTC", "--now", "2026-06-01", "--scan", tmp_path / "s",
            "--via", "amrestore", "--workdir", tmp_path / "wd", "--output", tmp_path / "m", exit_status=9)
    assert f"load DAILY-2 into file:{vt}/slot1 (it holds DAILY-9)" in r.stderr
    r = cli("run", DISK, "--date", "2026-05-02", "--via", "amrestore", "--output", tmp_path / "m", exit_status=2)
    assert "--via amrestore needs --scan FILE" in r.stderr


def test_a_holding_copy_is_read_with_amrestore_holding(cli, media, tmp_path):
    slot(media / "vt", 1, "DAILY-1", "20260501010000", [("20260501010000", 0, FULL, 1, len(FULL))])
    run_dir = media / "holding" / "20260502010000"
    run_dir.mkdir(parents=True)
    (run_dir / f"{HOST}._coda_u.jan.1").write_bytes(header("FILE", "20260502010000", 1, None) + INCR)
    _readable(media)
    cli("scan", "--vtapes", media / "vt", "--holding", media / "holding", "-o", tmp_path / "s")
    out = tmp_path / "merged.dump"
    r = cli("run", DISK, "--date", "2026-05-02", "--tz", "UTC", "--now", "2026-06-01", "--scan", tmp_path / "s",
            "--via", "amrestore", "--workdir", tmp_path / "wd", "--output", out)
    assert (f"amrestore -h -p --exact-match --holding {run_dir}/{HOST}._coda_u.jan.1 localhost {DISK} "
            "20260502010000") in r.stderr
    assert out.read_bytes() == codamergedump(FULL, INCR)[0]


def _unload(slot: Path, label: str, other: str) -> None:
    """The slot now holds another volume (its label file says so)."""
    (slot / f"00000.{label}").rename(slot / f"00000.{other}")
    (slot / f"00000.{other}").write_bytes(f"AMANDA: TAPESTART DATE 20260509010000 TAPE {other}\n\f\n".encode()
                                         .ljust(BLOCK, b"\0"))


def _load(slot: Path, label: str, other: str) -> None:
    (slot / f"00000.{other}").unlink()
    (slot / f"00000.{label}").write_bytes(f"AMANDA: TAPESTART DATE 20260501010000 TAPE {label}\n\f\n".encode()
                                         .ljust(BLOCK, b"\0"))
    _readable(slot)


def test_with_tape_wait_the_run_says_which_tape_to_load_and_waits_for_it(cli, media, tmp_path):
    import threading

    vt = _lab(media)
    cli("scan", "--vtapes", vt, "-o", tmp_path / "s")
    _unload(vt / "slot1", "DAILY-2", "DAILY-9")  # part 2 of the level 0: read last, mid-stream
    loader = threading.Timer(3.0, _load, (vt / "slot1", "DAILY-2", "DAILY-9"))
    loader.start()
    out = tmp_path / "merged.dump"
    try:
        r = cli("run", DISK, "--date", "2026-05-02", "--tz", "UTC", "--now", "2026-06-01", "--scan", tmp_path / "s",
                "--via", "amrestore", "--workdir", tmp_path / "wd", "--output", out, "--tape-wait", "60")
    finally:
        loader.cancel()
    assert (f"preflight: tapes: WARN: needs DAILY-1, DAILY-2, DAILY-3; not in place now: load DAILY-2 into "
            f"file:{vt}/slot1 (it holds DAILY-9); the run asks for each in turn and waits up to 60 s") in r.stderr
    assert f"load tape DAILY-2 into file:{vt}/slot1 (it holds DAILY-9); waiting up to 60 s" in r.stderr
    assert f"tape DAILY-2 is in file:{vt}/slot1" in r.stderr
    assert out.read_bytes() == codamergedump(FULL, INCR)[0]


def test_a_tape_never_loaded_ends_the_run_clearly_and_keeps_what_was_verified(cli, media, tmp_path):
    vt = _lab(media)
    cli("scan", "--vtapes", vt, "-o", tmp_path / "s")
    _unload(vt / "slot1", "DAILY-2", "DAILY-9")
    out = tmp_path / "merged.dump"
    r = cli("run", DISK, "--date", "2026-05-02", "--tz", "UTC", "--now", "2026-06-01", "--scan", tmp_path / "s",
            "--via", "amrestore", "--workdir", tmp_path / "wd", "--output", out, "--tape-wait", "2", exit_status=1)
    assert (f"tape DAILY-2 was not loaded into file:{vt}/slot1 within 2 s (--tape-wait); load it and run again"
            in r.stderr) and "Traceback" not in r.stderr
    assert not out.exists()
    _load(vt / "slot1", "DAILY-2", "DAILY-9")
    r = cli("run", DISK, "--date", "2026-05-02", "--tz", "UTC", "--now", "2026-06-01", "--scan", tmp_path / "s",
            "--via", "amrestore", "--workdir", tmp_path / "wd", "--output", out)
    assert "fetch 20260502010000/1: resumed" in r.stderr  # the verified level 1 was not read again
    assert out.read_bytes() == codamergedump(FULL, INCR)[0]
