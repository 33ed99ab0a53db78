"""coda-restore verify on the bundled records: what is refused before any
log is read, and that a drill whose fetches fail (a config Amanda cannot
read: real amfetchdump says so) reports every volume not proven, exit 12,
with the JSON report saying why.  The proven path needs tapes: see
tests/lab/test_verify_lab.py."""

from __future__ import annotations

import json

import pytest

from coda_restore.errors import NONE_DONE, USAGE
from paths import EXAMPLE

SOURCES = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist", "--holding", EXAMPLE / "holding",
           "--now", "2026-03-09", "--tz", "UTC"]


@pytest.mark.parametrize("args,message", [
    ([], "name the volumes to verify, or give --all"),
    (["u.ann", "--all"], "name the volumes to verify, or give --all"),
    (["u.ann"], "verify needs --config NAME"),
    (["u.ann", "--config", "nosuch", "--seed", "3"], "--seed goes with --sample N"),
    (["u.ann", "--config", "nosuch", "--date", "next blursday"], "cannot read date"),
    (["u.nosuch", "--config", "nosuch"], "unknown volume 'u.nosuch'"),
])
def test_bad_requests_are_usage_errors(cli, args, message):
    result = cli("verify", *args, *SOURCES, exit_status=USAGE)
    assert message in result.stderr


def test_fetches_that_fail_leave_every_volume_not_proven_with_exit_12(cli, tmp_path):
    report = tmp_path / "drill.json"
    result = cli("verify", "--all", "--config", "nosuch", "--indexdir", tmp_path / "index", "--workdir",
                 tmp_path / "work", "--report", report, "--quiet", *SOURCES, exit_status=NONE_DONE)
    lines = result.stdout.splitlines()
    assert lines[-1] == "verify: 0 of 4 volume(s) proven"
    not_proven = [line for line in lines if line.startswith("NOT PROVEN localhost ")]
    assert len(not_proven) == 4 and all("amfetchdump" in line or "not restorable" in line for line in not_proven)
    assert result.stderr == ""  # --quiet: no progress log
    doc = json.loads(report.read_text())
    assert doc["schema"] == "coda-restore.verify/1" and doc["exit_status"] == NONE_DONE and not doc["proven"]
    assert all(not v["proven"] and v["reasons"] for v in doc["volumes"])
    assert not list((tmp_path / "work").rglob("*.dump*"))  # nothing left spooled


def test_a_sample_with_a_seed_drills_the_same_volumes_again(cli, tmp_path):
    def drilled(seed):
        out = cli("verify", "--all", "--sample", "2", "--seed", seed, "--config", "nosuch", "--indexdir", tmp_path,
                  "--workdir", tmp_path, "--json", *SOURCES, exit_status=NONE_DONE).stdout
        doc = json.loads(out)
        assert (doc["sample"], doc["seed"], doc["selected"]) == (2, int(seed), 4)
        return [v["disk"] for v in doc["volumes"]]

    first = drilled("11")
    assert len(first) == 2 and drilled("11") == first
    assert {tuple(drilled(str(s))) for s in range(12)} != {tuple(first)}  # other seeds, other samples
