"""The bulk run's records: its journal, its outcome and its end report.
(The run itself reads real tapes: tests/lab/test_bulk_run_lab.py.)"""

from __future__ import annotations

import io
import json

import pytest

from cli_runner import run_cli
from coda_restore.errors import ForeignJournal, USAGE
from coda_restore.executor.bulk import BulkJournal, BulkResult, Outcome, VolumeResult
from coda_restore.cli.bulk_run import EXIT, render_bulk_result
from paths import REPO

EXAMPLE = REPO / "example-logs"


def _result(*outcomes: str) -> BulkResult:
    vols = tuple(VolumeResult(f"u.v{i}", "h", f"u.v{i}", o, "" if o == Outcome.RESTORED else "why",
                              f"u.v{i}.20260307" if o == Outcome.RESTORED else None,
                              0x1000000 + i if o == Outcome.RESTORED else None, 1)
                 for i, o in enumerate(outcomes))
    return BulkResult("ab" * 32, vols, ("t-01",), (), (("amfetchdump", "x"),))


@pytest.mark.parametrize("outcomes,expect,status", [
    ((Outcome.RESTORED, Outcome.RESTORED), "all", 0),
    ((Outcome.RESTORED, Outcome.FAILED, Outcome.REFUSED), "some", 10),
    ((Outcome.FAILED, Outcome.REFUSED), "none", 12),
    ((), "none", 12),
])
def test_the_outcome_and_its_exit_status(outcomes, expect, status):
    r = _result(*outcomes)
    assert r.outcome == expect and EXIT[r.outcome] == status
    assert r.to_dict()["outcome"] == expect


def test_the_end_report_lists_every_volume_with_name_and_id():
    out = io.StringIO()
    render_bulk_result(_result(Outcome.RESTORED, Outcome.REFUSED), out)
    lines = out.getvalue().splitlines()
    assert lines[1].split()[:4] == ["u.v0", "restored", "u.v0.20260307", "01000000"]
    assert lines[2].split()[:3] == ["u.v1", "refused", "-"] and lines[2].endswith("why")
    assert lines[-1].startswith("bulk run: some: 1 restored, 0 failed, 1 refused; tapes read 1")
    doc = _result(Outcome.RESTORED).to_dict()
    assert doc["schema"] == "coda-restore.bulkrun/1" and doc["volumes"][0]["volume_id"] == "01000000"


def test_the_bulk_journal_survives_a_new_run_and_refuses_another_plan(tmp_path):
    j = BulkJournal(tmp_path, "a" * 64)
    j.fetched(1, "t-01", ["amfetchdump", "x"])
    j.tape_done("t-01")
    j.volume_done("h:u.v0", _result(Outcome.RESTORED).volumes[0])
    again = BulkJournal(tmp_path, "a" * 64)
    assert again.runs == 2 and again.tapes_done == ["t-01"]
    assert again.fetches == [{"run": 1, "drive": 1, "label": "t-01", "argv": ["amfetchdump", "x"]}]
    assert again.volumes["h:u.v0"]["restored_name"] == "u.v0.20260307"
    with pytest.raises(ForeignJournal):
        BulkJournal(tmp_path, "b" * 64)


def test_a_bulk_plan_run_refuses_the_single_volume_options(tmp_path):
    out = tmp_path / "bulk.json"
    run_cli("plan", "--all", "--date", "last saturday", "--now", "2026-03-09", "--tz", "UTC", "--logdir",
            EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist", "--holding", EXAMPLE / "holding", "-o", out,
            exit_status=None)
    assert json.loads(out.read_text())["schema"] == "coda-restore.bulkplan/1"
    for extra in (("--name", "x"), ("--dry-run",)):
        r = run_cli("run", "--plan", out, "--config", "none", "--server", "s", "--partition", "/vicepa", *extra,
                    exit_status=USAGE)
        assert "a bulk --plan restores every volume under its default name" in r.stderr
    r = run_cli("run", "--date", "yesterday", "--config", "none", "--output", tmp_path / "m", exit_status=USAGE)
    assert "name the VOLUME to restore" in r.stderr
