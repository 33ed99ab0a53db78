"""volumes, history, plan and run over two configs (daily and archive):
each copy names its config, text and JSON, and every amfetchdump a plan
shows or a run executes names the config whose records hold the copy."""

from __future__ import annotations

import json

import pytest
from cli_runner import run_cli
from two_configs import two_config_args

from coda_restore.planning import plan as planfile


@pytest.fixture
def args(tmp_path):
    return two_config_args(tmp_path)


def test_volumes_name_the_configs(args):
    doc = json.loads(run_cli("volumes", *args, "--json").stdout)
    jan = next(v for v in doc["volumes"] if v["disk"] == "u.jan")
    assert jan["configs"] == ["archive", "daily"]
    assert jan["last_full"]["datestamp"] == "20260304020000" and jan["last_full"]["configs"] == ["archive"]
    assert jan["last_dump"]["configs"] == ["daily"]
    ann = next(v for v in doc["volumes"] if v["disk"] == "u.ann")
    assert ann["configs"] == ["daily"]
    text = run_cli("volumes", *args).stdout
    assert "configs" in text and "(archive)" in text


def test_history_names_each_copys_config(args):
    doc = json.loads(run_cli("history", "u.jan", *args, "--json").stdout)
    assert [(d["datestamp"][:8], d["level"], d["configs"], [c["config"] for c in d["copies"]])
            for d in doc["dumps"]] == [
        ("20260305", 1, ["daily"], ["daily"]), ("20260304", 0, ["archive"], ["archive"]),
        ("20260303", 1, ["daily"], ["daily"]), ("20260302", 0, ["daily"], ["daily"])]
    text = run_cli("history", "u.jan", *args).stdout
    assert "archive: archive arch-01:1" in text and "daily: daily daily-03:1" in text


def test_plan_chains_onto_the_archive_full_and_fetches_each_through_its_config(args, tmp_path):
    out = tmp_path / "plan.json"
    run_cli("plan", "u.jan", *args, "--date", "2026-03-05", "--output", out)
    plan = planfile.load(out)
    assert plan.configs == ("archive", "daily") and plan.config == "daily"
    assert [(s.datestamp, s.level, s.copy.config, s.amfetchdump[4]) for s in plan.steps] == [
        ("20260304020000", 0, "archive", "archive"), ("20260305010000", 1, "daily", "daily")]
    doc = json.loads(out.read_text())
    assert doc["configs"] == ["archive", "daily"] and [s["copy"]["config"] for s in doc["steps"]] == [
        "archive", "daily"]
    text = run_cli("plan", "u.jan", *args, "--date", "2026-03-05").stdout
    assert "tape arch-01:1 (archive)" in text
    assert "amfetchdump -a -p --exact-match archive coda1 u.jan 20260304020000 0" in text
    assert "amfetchdump -a -p --exact-match daily coda1 u.jan 20260305010000 1" in text


def test_run_fetches_each_image_through_its_config(args, tmp_path):
    # no config daily or archive on this machine: the preflight fails (9),
    # and the dry run still shows what a run executes
    r = run_cli("run", "u.jan", *args, "--date", "2026-03-05", "--dry-run", "--json", "--output",
                tmp_path / "merged", "--workdir", tmp_path / "work", exit_status=9)
    doc = json.loads(r.stdout)
    assert doc["commands"] == [
        ["amfetchdump", "-a", "-p", "--exact-match", "-h", "daily", "coda1", "u.jan", "20260305010000", "1"],
        ["amfetchdump", "-a", "-p", "--exact-match", "-h", "archive", "coda1", "u.jan", "20260304020000", "0"]]
    # each config the run reads through is asked
    assert [c["detail"].split(":")[0] for c in doc["preflight"] if c["check"] == "Amanda config"] == [
        "daily", "archive"]


def test_a_saved_plan_runs_through_the_configs_it_names(args, tmp_path):
    out = tmp_path / "plan.json"
    run_cli("plan", "u.jan", *args, "--date", "2026-03-05", "--output", out)
    r = run_cli("run", "u.jan", "--plan", out, *args, "--dry-run", "--json", "--output", tmp_path / "merged",
                "--workdir", tmp_path / "work", exit_status=9)
    assert [c[5] for c in json.loads(r.stdout)["commands"]] == ["daily", "archive"]
