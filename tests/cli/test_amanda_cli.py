"""coda-restore volumes and history, on committed records (a broken log
file, two hosts sharing a volume name)."""

from __future__ import annotations

import json
from pathlib import Path

from paths import DATA as TEST_DATA

DATA = TEST_DATA / "amanda"
BROKEN = DATA / "broken"
TWO = DATA / "twohosts"
BROKEN_LOG = BROKEN / "log" / "log.20260302005959.0"
BROKEN_WARNINGS = [
    f"coda-restore: warning: {BROKEN_LOG}:7: malformed PART taper line: expected a file number, got 'one'",
    f"coda-restore: warning: {BROKEN_LOG}:9: malformed DONE taper line: expected a datestamp, got '2026030'",
    f"coda-restore: warning: {BROKEN_LOG}:11: malformed SUCCESS dumper line: expected host, disk and level",
]


def src(root: Path) -> list[str]:
    return ["--logdir", str(root / "log"), "--tapelist", str(root / "tapelist")]


def test_broken_lines_are_warned_with_file_line_and_reading_goes_on(cli):
    result = cli("volumes", *src(BROKEN), "--json")
    assert result.stderr.splitlines() == BROKEN_WARNINGS
    doc = json.loads(result.stdout)
    # p.proj is after every broken line: it was read, and is available.
    assert [(v["disk"], v["dumps"], v["available"]) for v in doc["volumes"]] == [("p.proj", 1, 1), ("u.jan", 1, 1)]


def test_history_reads_and_warns_only_about_its_volume(cli):
    proj = cli("history", "p.proj", *src(BROKEN), "--json")
    assert proj.stderr == ""
    assert [(d["datestamp"], d["level"], d["available"]) for d in json.loads(proj.stdout)["dumps"]] == [
        ("20260302005959", 0, True)]
    jan = cli("history", "u.jan", *src(BROKEN), "--json")
    assert jan.stderr.splitlines() == BROKEN_WARNINGS[:2]
    assert json.loads(jan.stdout)["dumps"][0]["copies"][0]["parts"] == [
        {"part": 1, "label": "lab-01", "filenum": 1, "status": "ok", "available": True,
         "unavailable_because": None, "kb": 128}]


def test_strict_makes_warnings_an_error_after_printing(cli):
    result = cli("volumes", *src(BROKEN), "--strict", exit_status=1)
    assert "u.jan" in result.stdout and "p.proj" in result.stdout
    assert result.stderr.splitlines() == BROKEN_WARNINGS + [
        "coda-restore: error: 3 warning(s) and --strict was given"]


def test_history_json_schema(cli):
    doc = json.loads(cli("history", "u.jan", "--host", "coda1", *src(TWO), "--json").stdout)
    assert doc == {
        "schema": "coda-restore.history/1",
        "volume": {"host": "coda1", "disk": "u.jan"},
        "dumps": [{
            "datestamp": "20260302005959", "level": 0, "status": "ok", "available": True,
            "unavailable_because": None, "recorded": True, "client": "success", "client_message": "", "kb": 10,
            "origin": f"{TWO}/log/log.20260302005959.0:3",
            "copies": [{
                "kind": "tape", "storage": "lab", "pool": "lab", "write_timestamp": "20260302005959",
                "status": "ok", "available": True, "unavailable_because": None, "message": "", "kb": 10,
                "origin": f"{TWO}/log/log.20260302005959.0:5",
                "parts": [{"part": 1, "label": "lab-01", "filenum": 1, "status": "ok", "available": True,
                           "unavailable_because": None, "kb": 10}]}]}]}


def test_a_volume_on_two_hosts_asks_for_host(cli):
    result = cli("history", "u.jan", *src(TWO), exit_status=2)
    assert result.stderr == "coda-restore: error: volume 'u.jan' is on several hosts (coda1, coda2); choose one with --host\n"


def test_an_unknown_volume_suggests_close_matches(cli):
    result = cli("history", "u.jam", *src(TWO), exit_status=2)
    assert result.stderr == "coda-restore: error: unknown volume 'u.jam'; did you mean u.jan?\n"
    result = cli("history", "u.jan", "--host", "coda3", *src(TWO), exit_status=2)
    assert result.stderr == ("coda-restore: error: unknown volume 'u.jan' on host 'coda3': no such host; "
                             "known hosts: coda1, coda2\n")


def test_a_name_with_a_space_recorded_but_not_written(cli):
    doc = json.loads(cli("history", "/vice/my vol", *src(TWO), "--json").stdout)
    [d] = doc["dumps"]
    assert (d["status"], d["available"], d["unavailable_because"], d["recorded"], d["copies"]) == (
        "none", False, "not-written", True, [])


def test_volumes_json(cli):
    doc = json.loads(cli("volumes", *src(TWO), "--json").stdout)
    assert doc["schema"] == "coda-restore.volumes/1"
    assert [(v["host"], v["disk"], v["dumps"], v["available"], (v["last_full"] or {}).get("datestamp"))
            for v in doc["volumes"]] == [
        ("coda1", "u.jan", 1, 1, "20260302005959"),
        ("coda2", "/vice/my vol", 1, 0, None),
        ("coda2", "u.jan", 1, 1, "20260302005959")]


def test_volumes_table_for_people(cli):
    out = cli("volumes", *src(TWO)).stdout.splitlines()
    assert out[0].split() == ["host", "volume", "dumps", "available", "last", "full", "(available)", "last", "dump"]
    assert out[2].split() == ["coda2", "/vice/my", "vol", "1", "0", "none", "2026-03-02", "00:59:59", "level", "0",
                              "(not-written)"]


def test_no_source_is_a_usage_error(cli):
    result = cli("volumes", exit_status=2)
    assert "say where the Amanda records are" in result.stderr


def test_config_asks_amgetconf_and_an_unknown_config_fails(cli):
    result = cli("volumes", "--config", "no-such-config-here", exit_status=2)
    assert result.stderr == ("coda-restore: error: Amanda config 'no-such-config-here' cannot be read: parse error: "
                             "could not open conf file '/etc/amanda/no-such-config-here/amanda.conf': "
                             "No such file or directory\n")
