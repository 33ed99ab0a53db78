"""`plan` and `check` end to end, on a small constructed logdir (Amanda 3.x log
lines and a tapelist, read by the real catalog reader)."""

import json

import pytest

from coda_restore.planning import plan as planfile
from cli_runner import run_cli

# day -> (level, taper outcome); day 3's dump was recorded on the server but never taped.
DAYS = {1: (0, "ok"), 2: (1, "ok"), 3: (1, "fail"), 4: (1, "ok"), 6: (0, "ok"), 7: (1, "ok")}
TIME = ("--tz", "UTC", "--now", "2004-02-07 12:00")


def _log(day, level, outcome):
    d = f"200402{day:02d}030000"
    label = f"DAILY-{day:02d}"
    lines = [
        f"START planner date {d}",
        f"START driver date {d}",
        f"SUCCESS dumper coda1 u.jan {d} {level} [sec 0.1 kb 100 kps 10 orig-kb 100]",
        f"SUCCESS chunker coda1 u.jan {d} {level} [sec 0.1 kb 100 kps 10]",
        f"SUCCESS dumper coda1 u.feb {d} {level} [sec 0.1 kb 50 kps 10 orig-kb 50]",
        f"SUCCESS chunker coda1 u.feb {d} {level} [sec 0.1 kb 50 kps 10]",
        f"START taper datestamp {d} label {label} tape 1",
        f"PART taper {label} 1 coda1 u.feb {d} 1/1 {level} [sec 0.1 kb 50 kps 10]",
        f"DONE taper coda1 u.feb {d} 1 {level} [sec 0.1 kb 50 kps 10]",
    ]
    if outcome == "ok":
        lines += [f"PART taper {label} 2 coda1 u.jan {d} 1/1 {level} [sec 0.1 kb 100 kps 10]",
                  f"DONE taper coda1 u.jan {d} 1 {level} [sec 0.1 kb 100 kps 10]"]
    else:
        lines += [f'FAIL taper coda1 u.jan {d} {level} error "no-space"']
    lines.append(f"FINISH driver date {d} time 1")
    return d, label, "\n".join(lines) + "\n"


@pytest.fixture
def records(tmp_path):
    logdir = tmp_path / "log"
    logdir.mkdir()
    tapelist = []
    for day, (level, outcome) in DAYS.items():
        d, label, text = _log(day, level, outcome)
        (logdir / f"log.{d}.0").write_text(text)
        tapelist.insert(0, f"{d} {label} reuse")
    (tmp_path / "tapelist").write_text("\n".join(tapelist) + "\n")
    return ("--logdir", logdir, "--tapelist", tmp_path / "tapelist")


def test_plan_restorable_json(records):
    r = run_cli("plan", "u.jan", "--date", "2004-02-02", *TIME, *records, "--json")
    doc = json.loads(r.stdout)
    assert doc["schema"] == "coda-restore.plan/1" and doc["restorable"] is True
    assert [(s["datestamp"], s["level"]) for s in doc["steps"]] == [("20040201030000", 0), ("20040202030000", 1)]
    assert [t["label"] for t in doc["tapes"]] == ["DAILY-02", "DAILY-01"]  # run reads the level 0 last
    assert doc["steps"][1]["amfetchdump"][-4:] == ["coda1", "u.jan", "20040202030000", "1"]
    assert planfile.from_dict(doc).plan_hash == doc["plan_hash"]


def test_plan_text_shows_steps_tapes_and_commands(records):
    r = run_cli("plan", "u.jan", "--date", "2004-02-02", *TIME, *records)
    assert "RESTORABLE" in r.stdout and "tapes, in read order" in r.stdout
    assert "amfetchdump -a -p --exact-match CONFIG coda1 u.jan 20040202030000 1" in r.stdout


def test_plan_broken_link_exits_3_with_alternatives(records):
    r = run_cli("plan", "u.jan", "--date", "2004-02-04", *TIME, *records, "--json", exit_status=3)
    doc = json.loads(r.stdout)
    assert doc["restorable"] is False and "20040203030000/1" in doc["reason"]
    assert {a["kind"]: a["datestamp"] for a in doc["alternatives"]} == {
        "before": "20040202030000", "after": "20040206030000", "minimal": "20040204030000"}
    text = run_cli("plan", "u.jan", "--date", "2004-02-04", *TIME, *records, exit_status=3).stdout
    assert "NOT RESTORABLE" in text and "broken link" in text and "alternatives" in text


def test_plan_minimal_warns_about_skipped_dumps(records):
    r = run_cli("plan", "u.jan", "--date", "2004-02-04", "--chain", "minimal", *TIME, *records, "--json")
    doc = json.loads(r.stdout)
    assert doc["chain"] == "minimal" and len(doc["steps"]) == 2
    assert "skipped-dumps" in [w["code"] for w in doc["warnings"]]


def test_bad_or_future_date_fails_before_reading_logs(tmp_path):
    missing = ("--logdir", tmp_path / "nowhere")
    r = run_cli("plan", "u.jan", "--date", "next blursday", *TIME, *missing, exit_status=2)
    assert "cannot read date" in r.stderr and "accepted forms" in r.stderr
    r = run_cli("plan", "u.jan", "--date", "2004-02-08", *TIME, *missing, exit_status=2)
    assert "future" in r.stderr
    r = run_cli("plan", "u.jan", "--date", "", *TIME, *missing, exit_status=2)
    assert "empty date" in r.stderr


def test_target_before_first_full(records):
    r = run_cli("plan", "u.jan", "--date", "2004-01-20", *TIME, *records, "--json", exit_status=3)
    doc = json.loads(r.stdout)
    assert "no dump" in doc["reason"] and doc["alternatives"][0]["kind"] == "after"


def test_output_file_round_trips_and_is_not_overwritten(records, tmp_path):
    out = tmp_path / "plan.json"
    run_cli("plan", "u.jan", "--date", "2004-02-02", *TIME, *records, "--output", out)
    loaded = planfile.load(out)
    assert loaded.restorable and loaded.chosen == "20040202030000/1"
    r = run_cli("plan", "u.jan", "--date", "2004-02-02", *TIME, *records, "--output", out, exit_status=2)
    assert "exists" in r.stderr
    run_cli("plan", "u.jan", "--date", "2004-02-04", *TIME, *records, "--output", out, "--force", exit_status=3)
    assert planfile.load(out).restorable is False


def test_unknown_volume(records):
    r = run_cli("plan", "u.jna", "--date", "2004-02-02", *TIME, *records, exit_status=2)
    assert "u.jan" in r.stderr  # suggested


def test_check_reports_each_volume_and_exits_3(records):
    r = run_cli("check", *TIME, *records, "--tapecycle", "4", "--json", exit_status=0)
    doc = json.loads(r.stdout)
    assert doc["schema"] == "coda-restore.check/1" and doc["ok"] is True
    vols = {v["disk"]: v for v in doc["volumes"]}
    jan = vols["u.jan"]
    assert jan["restorable_now"] is True and jan["newest_restore_point"] == "20040207030000/1"
    assert jan["oldest_restore_point"] == "20040201030000/0"
    # Day 5 had no run: its state is day 4's, behind the same broken link.
    assert jan["window_days"] == 7 and jan["restorable_days"] == 4
    assert jan["unrestorable_days"] == ["2004-02-03", "2004-02-04", "2004-02-05"]
    assert jan["gaps"] == [{"start": "20040203030000", "until": "20040206030000",
                            "dumps": ["20040203030000/1", "20040204030000/1"]}]
    # 6 written tapes, tapecycle 4: overwritten oldest first, the next run (runtapes 1) takes DAILY-01.
    risk = doc["at_risk"]
    assert [(t["label"], t["writes_before"], t["next_run"]) for t in risk] == [
        ("DAILY-01", 0, True), ("DAILY-02", 1, False), ("DAILY-03", 2, False)]
    lost = {(t["label"], x["disk"]): x["restore_points"] for t in risk for x in t["loses"]}
    assert lost[("DAILY-01", "u.jan")] == ["20040201030000/0", "20040202030000/1"]
    assert lost[("DAILY-01", "u.feb")] == [f"2004020{d}030000/{1 if d in (2, 3, 4) else 0}" for d in (1, 2, 3, 4)]
    assert ("DAILY-02", "u.jan") not in lost  # already lost with DAILY-01


def test_check_not_restorable_now_exits_3(records):
    r = run_cli("check", "u.jan", "--tz", "UTC", "--now", "2004-02-04 12:00", *records, exit_status=3)
    assert "NOT RESTORABLE" in r.stdout and "broken link" in r.stdout
    assert "tapecycle unknown" in r.stdout
    r = run_cli("check", "u.feb", "--tz", "UTC", "--now", "2004-02-04 12:00", *records)
    assert "u.jan" not in r.stdout
    run_cli("check", "u.nope", *TIME, *records, exit_status=2)
