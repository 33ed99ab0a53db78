"""run --dry-run is a full rehearsal (issue 12): every preflight check on a
line of its own (OK, WARN or FAIL), every command a run executes, exit 9
when a check fails; explicit sources are used as given, and a config that
cannot be read is one FAIL line, not Amanda's Perl trace.  Amanda's real
amgetconf answers; a wrapper on PATH only records what it was asked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from coda_restore.errors import NOT_RESTORABLE, PREFLIGHT_FAILED, USAGE
from paths import EXAMPLE

SOURCES = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist", "--holding", EXAMPLE / "holding"]
NO_CONF = ("nosuch: cannot be read: parse error: could not open conf file '/etc/amanda/nosuch/amanda.conf': "
           "No such file or directory")


@pytest.fixture
def asked(tmp_path, monkeypatch):
    """The questions amadmin was asked, one line each."""
    real = shutil.which("amadmin")
    assert real, "Amanda's amadmin is needed"
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "amadmin.log"
    log.touch()
    (bin_ / "amadmin").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    (bin_ / "amadmin").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_}:{__import__('os').environ['PATH']}")
    return lambda: log.read_text().splitlines()


def _dry(cli, tmp_path, *extra, exit_status=PREFLIGHT_FAILED):
    return cli("run", "u.ann", "--date", "friday", "--now", "2026-03-09", "--tz", "UTC", "--config", "nosuch",
               "--output", tmp_path / "merged", "--workdir", tmp_path / "w", "--dry-run", *extra,
               exit_status=exit_status)


def test_an_unknown_config_is_one_fail_line_and_the_rest_is_still_shown(cli, tmp_path, asked):
    result = _dry(cli, tmp_path, *SOURCES)
    out = result.stdout
    pre = out.split("preflight:\n", 1)[1].split("commands a run executes", 1)[0].splitlines()
    assert [line.split()[0] for line in pre] == ["OK", "FAIL", "WARN", "OK"]
    assert pre[1] == f"  FAIL Amanda config: {NO_CONF}"
    commands = out.split("commands a run executes, in order:\n", 1)[1].splitlines()
    assert commands[:2] == ["  amfetchdump -a -p --exact-match -h nosuch localhost u.ann 20260306040000 1",
                            "  amfetchdump -a -p --exact-match -h nosuch localhost u.ann 20260306010000 0"]
    assert commands[2] == "preflight FAILED (1 check(s)): a run would refuse to start"
    assert "line 363" not in result.stdout + result.stderr and "amgetconf:" not in result.stdout
    # --logdir, --tapelist and --holding were given: Amanda is asked only whether the config answers
    assert asked() == ["nosuch config"]
    assert not (tmp_path / "merged").exists() and not (tmp_path / "w").exists()


def test_the_json_rehearsal_carries_the_same_verdicts(cli, tmp_path, asked):
    doc = json.loads(_dry(cli, tmp_path, *SOURCES, "--json").stdout)
    assert doc["preflight_ok"] is False
    assert [(c["check"], c["state"]) for c in doc["preflight"]] == [
        ("tool amfetchdump", "OK"), ("Amanda config", "FAIL"), ("tapes", "WARN"), ("workdir space", "OK")]
    assert len(doc["commands"]) == 2


def test_with_no_records_to_read_the_config_is_still_a_fail_line(cli, tmp_path, asked):
    out = _dry(cli, tmp_path).stdout.splitlines()
    assert out[0] == "preflight:"
    assert out[2] == f"  FAIL Amanda config: {NO_CONF}"
    assert out[3].startswith("  FAIL plan: no plan")
    assert out[-1] == "preflight FAILED (2 check(s)): a run would refuse to start"


def test_only_what_was_not_given_is_asked_of_the_config(cli, tmp_path, asked):
    # no --holding: the holding disks are asked of the config, nothing else
    src = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist"]
    result = cli("volumes", "--config", "nosuch", *src, exit_status=USAGE)
    assert asked() == ["nosuch config"]
    assert result.stderr == f"coda-restore: error: Amanda config 'nosuch' cannot be read: {NO_CONF.split(': ', 2)[2]}\n"


def test_an_unrestorable_plan_still_shows_the_checks_and_exits_3_as_a_run_does(cli, tmp_path, asked):
    src = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist"]  # no holding: a broken link
    out = cli("run", "u.ann", "--date", "2026-03-08", "--now", "2026-03-09", "--tz", "UTC", "--config", "nosuch",
              *src, "--output", tmp_path / "m", "--workdir", tmp_path / "w", "--dry-run",
              exit_status=NOT_RESTORABLE).stdout
    pre = out.split("preflight:\n", 1)[1].splitlines()
    assert pre[1] == f"  FAIL Amanda config: {NO_CONF}"
    assert pre[2].startswith("  FAIL plan: not restorable: the exact chain for 2026-03-08") and "20260308010000/1" in pre[2]


def test_a_real_run_refuses_an_unreadable_config_as_the_rehearsal_does(cli, tmp_path, asked):
    src = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist", "--holding", EXAMPLE / "holding"]
    for given in (src, []):  # with the records given, or asked of the config
        result = cli("run", "u.ann", "--date", "friday", "--now", "2026-03-09", "--tz", "UTC", "--config", "nosuch",
                     *given, "--output", tmp_path / "m", "--workdir", tmp_path / "w", exit_status=PREFLIGHT_FAILED)
        assert result.stderr.splitlines()[-1].startswith("coda-restore: error: preflight failed: Amanda config: ")
        assert "nosuch" in result.stderr.splitlines()[-1] and "line 363" not in result.stderr
    assert not (tmp_path / "m").exists() and not (tmp_path / "w").exists()


def test_a_saved_plan_is_run_only_while_the_records_still_give_its_steps(cli, tmp_path, asked):
    saved = tmp_path / "plan.json"
    when = ["--now", "2026-03-09", "--tz", "UTC"]
    cli("plan", "u.ann", "--date", "friday", *when, "--config", "nosuch", *SOURCES, "--output", saved)
    plan_hash = json.loads(saved.read_text())["plan_hash"]
    run = ["run", "u.ann", "--plan", saved, "--config", "nosuch", "--output", tmp_path / "m",
           "--workdir", tmp_path / "w", "--dry-run", "--json"]
    doc = json.loads(cli(*run, *SOURCES, "--plan-hash", plan_hash[:12], exit_status=PREFLIGHT_FAILED).stdout)
    assert doc["plan_hash"] == plan_hash and len(doc["commands"]) == 2  # the records agree: it is rehearsed
    wrong = cli(*run, *SOURCES, "--plan-hash", "0" * 12, exit_status=USAGE)
    assert f"its plan_hash is {plan_hash}, not {'0' * 12}" in wrong.stderr
    # the night of the plan's level 1 is gone from the records: the plan no longer holds
    logs = tmp_path / "log"
    shutil.copytree(EXAMPLE / "log", logs)
    (logs / "log.20260306040000.0").unlink()
    changed = cli(*run, "--logdir", logs, *SOURCES[2:], exit_status=USAGE)
    assert changed.stderr == ("coda-restore: error: plan --plan cannot be used: the Amanda records no longer agree "
                              "with this plan (dumps or copies changed); make a new plan\n")
