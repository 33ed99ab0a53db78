"""`plan --all --config` on the real Amanda lab: every tape file the bulk
schedule reads is where ``amadmin CONF find`` says that dump's part is, each
tape once, and every volume's chain is exactly its single plan."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.lab

DATES = ["2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08"]


@pytest.mark.parametrize("date", DATES)
def test_the_bulk_schedule_reads_what_amadmin_find_lists(amanda_lab, cli, date):
    clock = ("--now", "2026-03-09", "--tz", "UTC")
    r = cli("plan", "--all", "--date", date, "--drives", "2", "--config", amanda_lab.config, *clock, "--json",
            exit_status=None)
    assert r.exit_code in (0, 10), r.stderr
    doc = json.loads(r.stdout)
    found = {(f.host, f.disk, f.datestamp, f.level, f.label, f.filenum, f.partnum)
             for f in amanda_lab.find() if f.ok and not f.holding}
    labels = [t["label"] for t in doc["schedule"]["tapes"]]
    assert len(labels) == len(set(labels))
    for t in doc["schedule"]["tapes"]:
        assert [f["filenum"] for f in t["files"]] == sorted(f["filenum"] for f in t["files"])
        for f in t["files"]:
            key = (f["host"], f["disk"], f["datestamp"], f["level"], t["label"], f["filenum"], f["partnum"])
            assert key in found, f"{date}: amadmin find does not list {key}"
    assert {v["disk"] for v in doc["volumes"]} == {d.disk for d in amanda_lab.dles}
    for v in doc["volumes"]:
        single = cli("plan", v["disk"], "--host", v["host"], "--date", date, "--config", amanda_lab.config,
                     *clock, "--json", exit_status=None)
        assert json.loads(single.stdout) == v["plan"], f"{date} {v['disk']}"
