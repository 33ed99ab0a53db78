"""No silent empty answers (issue 12): an empty logdir is an error of its
own, an empty tapelist and an unread holding disk are warnings, and each
dump they make unavailable says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coda_restore.errors import NO_RECORDS
from paths import EXAMPLE

HINT = "holding disk not looked at: pass --holding DIR or --config"


@pytest.mark.parametrize("command", [["volumes"], ["check", "--now", "2026-03-09"], ["history", "u.jan"],
                                     ["plan", "u.jan", "--date", "2026-03-08", "--now", "2026-03-09"]])
def test_a_logdir_without_amanda_logs_is_its_own_error(cli, tmp_path, command):
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "notes.txt").write_text("not a log\n")
    result = cli(*command, "--logdir", tmp_path / "log", exit_status=NO_RECORDS)
    assert result.stdout == ""
    assert result.stderr == f"coda-restore: error: no Amanda logs under {tmp_path / 'log'} (log.* files); " \
                            "nothing to answer from\n"


def test_a_tapelist_naming_no_tapes_is_a_warning(cli, tmp_path):
    empty = tmp_path / "tapelist"
    empty.write_text("")
    result = cli("volumes", "--logdir", EXAMPLE / "log", "--tapelist", empty, "--json")
    assert f"coda-restore: warning: {empty}: the tapelist names no tapes: every tape copy counts as gone" \
        in result.stderr.splitlines()
    assert all(v["available"] == 0 for v in json.loads(result.stdout)["volumes"])


def test_dumps_on_an_unread_holding_disk_say_so(cli):
    src = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist"]
    result = cli("history", "u.ann", *src, "--json")
    assert result.stderr.splitlines() == [
        f"coda-restore: warning: {EXAMPLE / 'log'}: 1 dump(s) were written to a holding disk: {HINT}"]
    newest = json.loads(result.stdout)["dumps"][0]
    assert (newest["datestamp"], newest["available"], newest["unavailable_because"]) == \
        ("20260308010000", False, "holding-not-searched")
    table = cli("history", "u.ann", *src).stdout
    assert f"no: {HINT}" in table
    plan = cli("plan", "u.ann", "--date", "2026-03-08", "--now", "2026-03-09", *src, exit_status=3).stdout
    assert f"20260308010000/1 ({HINT})" in plan
    # with the holding disk read, the same dump is there and nothing is warned
    held = cli("history", "u.ann", *src, "--holding", EXAMPLE / "holding", "--json")
    assert held.stderr == ""
    assert json.loads(held.stdout)["dumps"][0]["available"] is True


def test_no_tapelist_at_all_is_a_warning(cli, tmp_path):
    import shutil

    logdir = tmp_path / "log"  # no tapelist given, none beside it
    shutil.copytree(EXAMPLE / "log", logdir)
    result = cli("volumes", "--logdir", logdir, "--holding", EXAMPLE / "holding", "--json")
    assert result.stderr.splitlines() == [
        f"coda-restore: warning: {logdir}: no tapelist (give --tapelist FILE or --config): every tape copy counts as gone"]
    assert {v["disk"]: v["available"] for v in json.loads(result.stdout)["volumes"]} == {
        "coda:root": 1, "p.proj": 0, "u.ann": 1, "u.jan": 0}  # only the holding disk's dumps
