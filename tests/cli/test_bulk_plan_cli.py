"""`plan` with several volumes, --all and --from: one bulk plan, its exit
statuses, its file for run --plan; one volume stays today's plan."""

from __future__ import annotations

import json
from pathlib import Path

from coda_restore.errors import BadPlan, NOT_RESTORABLE, OVER_BUDGET, PARTIAL, USAGE
from coda_restore.planning import bulk as bulkfile
from coda_restore.planning import plan as planfile
from cli_runner import run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "example-logs"
SOURCES = ("--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist", "--holding", EXAMPLE / "holding",
           "--now", "2026-03-09", "--tz", "UTC")
VOLUMES = ["coda:root", "p.proj", "u.ann", "u.jan"]


def plan(*args, exit_status=0):
    return run_cli("plan", *args, *SOURCES, exit_status=exit_status)


def test_one_volume_is_todays_plan_byte_for_byte(tmp_path):
    text = plan("u.ann", "--date", "yesterday").stdout
    assert "tape schedule" not in text and text.startswith("volume   localhost u.ann")
    d = json.loads(plan("u.ann", "--date", "yesterday", "--json").stdout)
    assert d["schema"] == "coda-restore.plan/1"


def test_all_plans_every_volume_with_one_tape_schedule(tmp_path):
    out = tmp_path / "bulk.json"
    r = plan("--all", "--date", "last saturday", "--drives", "2", "--staging", tmp_path, "-o", out)
    assert "tape schedule, in mount order per drive" in r.stdout and "ALL RESTORABLE" in r.stdout
    assert "at 100.0 MiB/s each (--drive-speed)" in r.stdout
    b = bulkfile.load_any(out)
    assert [v.disk for v in b.volumes] == VOLUMES and b.outcome == "all"
    labels = [t.label for t in b.schedule.tapes]
    assert len(labels) == len(set(labels)) and {t.drive for t in b.schedule.tapes} == {1, 2}
    # every volume's tapes are in the schedule
    assert {tr.label for v in b.volumes for tr in v.plan.tapes} == set(labels)


def test_from_file_with_an_unknown_volume_is_some_and_still_written(tmp_path):
    names = tmp_path / "volumes"
    names.write_text("# lost server\nu.ann\n\nu.nope   # gone\n")
    out = tmp_path / "bulk.json"
    r = plan("--from", names, "--date", "yesterday", "-o", out, exit_status=PARTIAL)
    assert "unknown: unknown volume 'u.nope'" in r.stdout and "SOME RESTORABLE (1 of 2)" in r.stdout
    assert bulkfile.load_any(out).outcome == "some"


def test_all_or_nothing_refuses_and_writes_nothing(tmp_path):
    out = tmp_path / "bulk.json"
    plan("u.ann", "u.nope", "--all-or-nothing", "--date", "yesterday", "-o", out, exit_status=NOT_RESTORABLE)
    assert not out.exists()


def test_over_the_staging_budget_says_what_forces_it_and_writes_nothing(tmp_path):
    out = tmp_path / "bulk.json"
    # u.jan's chain runs lab-06 -> lab-02 -> lab-03: two drives read its incremental early
    r = plan("--all", "--date", "last friday", "--drives", "2", "--staging-max", "10K", "-o", out, "--json",
             exit_status=OVER_BUDGET)
    d = json.loads(r.stdout)
    assert d["schedule"]["fits"] is False and d["schedule"]["peak_spool_kb"] == 120
    (w,) = [w for w in d["warnings"] if w["code"] == "over-budget"]
    assert "over the --staging-max of 10 KiB" in w["message"] and "localhost:u.jan (from codarestore-lab-02)" \
        in w["message"] and "with --drives 1 it fits (peak 0 KiB)" in w["message"]
    assert not out.exists()
    plan("--all", "--date", "last friday", "--staging-max", "10K", "-o", out, exit_status=PARTIAL)


def test_bad_selections_and_sizes_are_usage_errors_before_any_log(tmp_path):
    for args in (("--date", "yesterday"), ("u.ann", "--all", "--date", "yesterday"),
                 ("--all", "--staging-max", "lots", "--date", "yesterday"),
                 ("--from", tmp_path / "missing", "--date", "yesterday")):
        r = run_cli("plan", *args, "--logdir", tmp_path / "no-logs", exit_status=USAGE)
        assert "coda-restore: error:" in r.stderr


def test_run_plan_refuses_an_edited_bulk_plan_as_it_refuses_a_plan(tmp_path):
    out = tmp_path / "bulk.json"
    plan("--all", "--date", "last saturday", "-o", out)
    d = json.loads(out.read_text())
    d["schedule"]["drives"] = 3
    out.write_text(json.dumps(d))
    r = run_cli("run", "u.ann", "--plan", out, "--config", "none", exit_status=BadPlan.exit_status)
    assert "plan_hash does not match its content (was it edited?)" in r.stderr
    single = tmp_path / "one.json"
    plan("u.ann", "--date", "yesterday", "-o", single)
    assert planfile.load(single).disk == "u.ann"
