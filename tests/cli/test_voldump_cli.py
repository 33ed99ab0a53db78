"""``coda-restore inspect`` and ``merge`` on the committed dumps of
tests/data/voldump/ (made by make.py there): exact messages, exit statuses,
and nothing left behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli_runner import run_cli
from paths import DATA as TEST_DATA

DATA = TEST_DATA / "voldump"


def test_inspect_valid_full_dump():
    r = run_cli("inspect", DATA / "full.0")
    assert "volume      u.test.backup (01000005), parent 01000002" in r.stdout
    assert "ordering    oldest 5, latest 5" in r.stdout
    assert "small index nVnodes 5, nLists 8: 5 vnodes" in r.stdout
    assert "restorable  yes" in r.stdout


def test_inspect_json_of_an_incremental():
    r = run_cli("inspect", DATA / "incr.1", "--json")
    doc = json.loads(r.stdout)
    assert doc["schema"] == "coda-restore.inspect/1"
    assert doc["valid"] is True and doc["restorable"] is False
    assert doc["header"]["level"] == 1 and (doc["header"]["oldest"], doc["header"]["latest"]) == (5, 9)
    assert [s["removed"] for s in doc["sections"]] == [0, 3]


def test_inspect_reads_stdin():
    r = run_cli("inspect", "-", input=(DATA / "full.0").read_bytes())
    assert "dump        <stdin> (10358 bytes read)" in r.stdout


@pytest.mark.parametrize("name, message", [
    ("truncated.0", "offset 5000: truncated dump: file data needs 5000 bytes, got 1200"),
    ("trailing.0", "offset 10358: trailing bytes after the end of the dump"),
    ("rmvnode.0", "offset 10353: D_RMVNODE 0xe.0x1: D_RMVNODE in a full dump"),
    ("badmagic.0", "offset 1: not a Coda dump: begin magic is 0xdeadbeef, expected 0xb3a11322"),
    ("hugestring.0", "offset 20: dump header field n length 4294967280 is larger than 1048576"),
    ("listindex.1", "offset 5202: vnode 0x22.0x63: list index 16 >= nLists 16"),
    ("empty", "offset 0: empty input: not a Coda dump"),
])
def test_inspect_hostile_dumps_exit_4_with_the_offset(name, message):
    r = run_cli("inspect", DATA / name, exit_status=4)
    assert f"coda-restore: error: {DATA / name}: {message}" in r.stderr
    r = run_cli("inspect", DATA / name, "--json", exit_status=4)
    assert json.loads(r.stdout)["error"]["message"].endswith(message)


def test_merge_to_a_file(tmp_path):
    out = tmp_path / "merged.0"
    r = run_cli("merge", out, DATA / "full.0", DATA / "incr.1")
    assert out.stat().st_size == 7630
    assert "Removing a null Vnode for a.9!" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged.0"]
    run_cli("inspect", out)


def test_merge_of_a_full_dump_alone_writes_it_validated(tmp_path):
    # an exact chain can be one level 0
    out = tmp_path / "merged.0"
    r = run_cli("merge", out, DATA / "full.0")
    assert out.read_bytes() == (DATA / "full.0").read_bytes()
    assert "(10358 bytes, validated)" in r.stderr
    r = run_cli("merge", "-", "-", input=(DATA / "full.0").read_bytes())
    assert r.stdout_bytes == (DATA / "full.0").read_bytes()


@pytest.mark.parametrize("full, message", [
    ("incr.1", "incr.1 is not a full dump (level 1); nothing to merge it onto"),
    ("truncated.0", "truncated.0: offset 5000: truncated dump: file data needs 5000 bytes, got 1200"),
    ("trailing.0", "trailing.0: offset 10358: trailing bytes after the end of the dump"),
])
def test_merge_of_a_bad_full_dump_alone_exits_4_and_leaves_nothing(tmp_path, full, message):
    r = run_cli("merge", tmp_path / "merged.0", DATA / full, exit_status=4)
    assert message in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_merge_to_stdout_and_from_stdin(tmp_path):
    out = tmp_path / "merged.0"
    run_cli("merge", out, DATA / "full.0", DATA / "incr.1")
    r = run_cli("merge", "-", "-", DATA / "incr.1", input=(DATA / "full.0").read_bytes())
    assert r.stdout_bytes == out.read_bytes()


def test_merge_refuses_an_existing_output_without_force(tmp_path):
    out = tmp_path / "merged.0"
    out.write_bytes(b"precious")
    r = run_cli("merge", out, DATA / "full.0", DATA / "incr.1", exit_status=2)
    assert f"coda-restore: error: {out} exists; use --force to overwrite it" in r.stderr
    assert out.read_bytes() == b"precious"
    run_cli("merge", out, DATA / "full.0", DATA / "incr.1", "--force")
    assert out.stat().st_size == 7630
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged.0"]


@pytest.mark.parametrize("full, incr, message", [
    ("full.0", "wrongbase.1",
     "wrongbase.1 is not with respect to {d}/full.0: its oldest is 4, the base's latest is 5"),
    ("truncated.0", "incr.1", "truncated.0: offset 5000: truncated dump: file data needs 5000 bytes, got 1200"),
    ("trailing.0", "incr.1", "trailing.0: offset 10358: trailing bytes after the end of the dump"),
    ("full.0", "listindex.1", "listindex.1: offset 5202: vnode 0x22.0x63: list index 16 >= nLists 16"),
    ("incr.1", "incr.1", "incr.1 is not a full dump (level 1); cannot merge onto an incremental"),
    ("full.0", "full.0", "full.0 is a full dump (level 0); cannot merge from a full dump"),
])
def test_merge_failures_exit_4_and_leave_nothing(tmp_path, full, incr, message):
    out = tmp_path / "merged.0"
    r = run_cli("merge", out, DATA / full, DATA / incr, exit_status=4)
    assert message.format(d=DATA) in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_merge_minimal_accepts_the_wrong_base(tmp_path):
    out = tmp_path / "merged.0"
    run_cli("merge", out, DATA / "full.0", DATA / "wrongbase.1", "--chain", "minimal")
    assert out.stat().st_size == 7630


def test_merge_missing_input_is_an_error_and_leaves_nothing(tmp_path):
    out = tmp_path / "merged.0"
    r = run_cli("merge", out, DATA / "full.0", tmp_path / "nope.1", exit_status=1)
    assert "cannot open" in r.stderr and "nope.1" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_merge_output_in_a_copy_directory(tmp_path):
    # inputs and output side by side, relative names
    shutil.copy(DATA / "full.0", tmp_path / "full.0")
    shutil.copy(DATA / "incr.1", tmp_path / "incr.1")
    run_cli("merge", tmp_path / "m", tmp_path / "full.0", tmp_path / "incr.1", "--chain", "exact")
    assert (tmp_path / "m").stat().st_size == 7630
