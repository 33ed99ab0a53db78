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


def test_from_standard_input():
    r = run_cli("plan", "--from", "-", "--date", "yesterday", "--json", *SOURCES, input="u.jan\nu.ann\n")
    assert [v["disk"] for v in json.loads(r.stdout)["volumes"]] == ["u.jan", "u.ann"]


def test_all_or_nothing_refuses_and_writes_nothing(tmp_path):
    out = tmp_path / "bulk.json"
    plan("u.ann", "u.nope", "--all-or-nothing", "--date", "yesterday", "-o", out, exit_status=NOT_RESTORABLE)
    assert not out.exists()


FLUSHED = {  # day 3's run wrote its level 1 of u.x ahead of the flushed level 0 of day 2
    "log.20040202030000.0": """START driver date 20040202030000
SUCCESS dumper coda1 u.x 20040202030000 0 [sec 0.1 kb 500 kps 10 orig-kb 500]
SUCCESS chunker coda1 u.x 20040202030000 0 [sec 0.1 kb 500 kps 10]
FINISH driver date 20040202030000 time 1
""",
    "log.20040203030000.0": """START driver date 20040203030000
SUCCESS dumper coda1 u.x 20040203030000 1 [sec 0.1 kb 40 kps 10 orig-kb 40]
SUCCESS chunker coda1 u.x 20040203030000 1 [sec 0.1 kb 40 kps 10]
START taper datestamp 20040203030000 label D-03 tape 1
PART taper D-03 1 coda1 u.x 20040203030000 1/1 1 [sec 0.1 kb 40 kps 10]
DONE taper coda1 u.x 20040203030000 1 1 [sec 0.1 kb 40 kps 10]
PART taper D-03 2 coda1 u.x 20040202030000 1/1 0 [sec 0.1 kb 500 kps 10]
DONE taper coda1 u.x 20040202030000 1 0 [sec 0.1 kb 500 kps 10]
FINISH driver date 20040203030000 time 1
""",
}


def test_over_the_staging_budget_says_what_forces_it_and_writes_nothing(tmp_path):
    (tmp_path / "log").mkdir()
    for name, text in FLUSHED.items():
        (tmp_path / "log" / name).write_text(text)
    (tmp_path / "tapelist").write_text("20040203030000 D-03 reuse\n")
    out = tmp_path / "bulk.json"
    args = ("plan", "--all", "--date", "2004-02-03", "--now", "2004-02-05", "--tz", "UTC",
            "--logdir", tmp_path / "log", "--tapelist", tmp_path / "tapelist", "-o", out)
    r = run_cli(*args, "--staging-max", "10K", "--json", exit_status=OVER_BUDGET)
    d = json.loads(r.stdout)
    assert d["schedule"]["fits"] is False and d["schedule"]["peak_spool_kb"] == 40
    (w,) = [w for w in d["warnings"] if w["code"] == "over-budget"]
    assert "over the --staging-max of 10 KiB" in w["message"] and "coda1:u.x (from D-03)" in w["message"]
    assert not out.exists()
    r = run_cli(*args, "--staging-max", "40K", "--staging", tmp_path)
    assert "spool    peak 40 KiB after D-03:1 of 40 KiB allowed (--staging-max)" in r.stdout
    assert "1: u.x 20040203030000/1*, 2: u.x 20040202030000/0" in r.stdout and out.exists()


def test_fewer_drives_are_used_when_more_would_spool_over_the_budget(tmp_path):
    # u.jan's chain runs lab-06 -> lab-02 -> lab-03: a second drive would read its incremental early
    r = plan("--all", "--date", "last friday", "--drives", "2", "--staging-max", "10K", "--json",
             exit_status=PARTIAL)
    d = json.loads(r.stdout)
    assert d["schedule"]["fits"] and {t["drive"] for t in d["schedule"]["tapes"]} == {1}
    assert [w["code"] for w in d["warnings"]] == ["drives-idle"]
    d = json.loads(plan("--all", "--date", "last friday", "--drives", "2", "--json", exit_status=PARTIAL).stdout)
    assert {t["drive"] for t in d["schedule"]["tapes"]} == {1, 2} and d["schedule"]["peak_spool_kb"] == 120


def test_bad_selections_and_sizes_are_usage_errors_before_any_log(tmp_path):
    for args in (("--date", "yesterday"), ("u.ann", "--all", "--date", "yesterday"),
                 ("--all", "--staging-max", "lots", "--date", "yesterday"),
                 ("--from", tmp_path / "missing", "--date", "yesterday")):
        r = run_cli("plan", *args, "--logdir", tmp_path / "no-logs", exit_status=USAGE)
        assert "coda-restore: error:" in r.stderr
    r = plan("--all", "--host", "elsewhere", "--date", "yesterday", exit_status=USAGE)
    assert "--all: the records name no volume on host 'elsewhere'" in r.stderr


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


def test_the_readme_disaster_recovery_example_is_what_plan_prints(tmp_path, monkeypatch):
    readme = (EXAMPLE.parent / "README.md").read_text()
    block = readme.split("    $ cat lost-server.txt\n", 1)[1].split("\n\n", 1)[0].splitlines()
    prompt = next(i for i, line in enumerate(block) if line.startswith("    $ coda-restore plan"))
    (tmp_path / "lost-server.txt").write_text("".join(line[4:] + "\n" for line in block[:prompt]))
    command = " ".join(line.strip().rstrip("\\") for line in block[prompt:prompt + 3])
    assert command.split() == [
        "$", "coda-restore", "plan", "--from", "lost-server.txt", "--date", "'last", "saturday'", "--drives", "2",
        "--drive-speed", "160M", "--staging", "/srv/spool", "--staging-max", "2G", "-o", "lost-server.plan",
        "--now", "2026-03-09", "--tz", "UTC", "--logdir", "example-logs/log", "--tapelist",
        "example-logs/tapelist", "--holding", "example-logs/holding"]
    monkeypatch.setenv("COLUMNS", "110")  # the width the example was taken at
    r = plan("--from", tmp_path / "lost-server.txt", "--date", "last saturday", "--drives", "2",
             "--drive-speed", "160M", "--staging", "/srv/spool", "--staging-max", "2G",
             "-o", tmp_path / "lost-server.plan", exit_status=PARTIAL)
    shown = [line[4:].rstrip() for line in block[prompt + 3:]]
    assert len(shown) > 20 and shown == [line.rstrip() for line in r.stdout.splitlines()]
