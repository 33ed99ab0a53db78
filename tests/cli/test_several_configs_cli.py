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


def named_only(args):
    """The same records named by NAME= prefixes alone: nothing is asked of
    Amanda (check asks a --config for its tapecycle and runtapes)."""
    return [a for a in args if a not in ("--config", "daily", "archive")]


def test_check_works_out_the_tapes_at_risk_of_each_config_in_its_own_cycle(args):
    r = run_cli("check", *named_only(args), "--tapecycle", "2", "--now", "2026-03-06", "--json")
    doc = json.loads(r.stdout)
    assert doc["tapecycle"] is None and doc["runtapes"] is None
    assert [(c["config"], c["tapecycle"]) for c in doc["configs"]] == [("daily", 2), ("archive", 2)]
    # daily's three tapes in daily's cycle, archive's one in archive's: never one cycle over both
    assert [(t["config"], t["order"], t["label"], t["writes_before"]) for t in doc["at_risk"]] == [
        ("daily", 1, "daily-01", 0), ("daily", 2, "daily-02", 1), ("daily", 3, "daily-03", 2),
        ("archive", 1, "arch-01", 1)]
    # the archive full keeps u.jan's restore points of 4 and 5 March when daily-01 goes
    first = doc["at_risk"][0]["loses"]
    assert {(x["disk"], tuple(x["restore_points"])) for x in first} == {
        ("u.ann", ("20260302010000/0", "20260303010000/1")), ("u.jan", ("20260302010000/0", "20260303010000/1"))}
    assert "archive: 1 written tapes, tapecycle 2" in doc["at_risk_note"]
    assert {v["disk"]: v["newest_restore_point_configs"] for v in doc["volumes"]} == {
        "u.ann": ["daily"], "u.jan": ["daily"]}
    text = run_cli("check", *named_only(args), "--tapecycle", "2", "--now", "2026-03-06").stdout
    assert "tapes at risk of config daily (tapecycle 2)" in text
    assert "tapes at risk of config archive (tapecycle 2)" in text and "1. arch-01" in text
    assert "level 1 (daily)" in text


def test_check_html_names_the_config_of_each_tape_at_risk(args, tmp_path):
    page = tmp_path / "cal.html"
    run_cli("check", *named_only(args), "--tapecycle", "2", "--now", "2026-03-06", "--html", page)
    html = page.read_text()
    assert "<th>config</th>" in html and "<td>archive</td><td>1</td><td>arch-01</td>" in html
    assert "daily: tapecycle 2, archive: tapecycle 2" in html


def test_index_and_no_index_give_the_same_json_for_two_configs(args):
    # each config's lines come from its own logdir's index; the config is attached when folding
    for argv in (("history", "u.jan"), ("plan", "u.jan", "--date", "2026-03-05", "--now", "2026-03-06"),
                 ("volumes",), ("check", "--tapecycle", "2", "--now", "2026-03-06")):
        plain = run_cli(*argv, *named_only(args), "--no-index", "--json").stdout
        for _ in range(2):  # built, then warm
            assert run_cli(*argv, *named_only(args), "--json").stdout == plain


def test_index_path_is_one_logdirs_so_two_configs_refuse_it(args, tmp_path):
    r = run_cli("history", "u.jan", *args, "--index", tmp_path / "i.sqlite", exit_status=2)
    assert "--index PATH names the index of one logdir" in r.output
    assert not (tmp_path / "i.sqlite").exists()
    r = run_cli("index", *args, exit_status=2)
    assert "give one --config" in r.output


def test_bulk_plan_fetches_each_image_through_its_config(args, tmp_path):
    out = tmp_path / "bulk.json"
    run_cli("plan", "--all", *args, "--date", "2026-03-05", "--output", out)
    doc = json.loads(out.read_text())
    jan = next(v for v in doc["volumes"] if v["disk"] == "u.jan")
    assert [(s["copy"]["config"], s["amfetchdump"][4]) for s in jan["plan"]["steps"]] == [
        ("archive", "archive"), ("daily", "daily")]
