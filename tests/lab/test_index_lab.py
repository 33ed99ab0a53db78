"""The catalog index on the real-Amanda lab, night by night: Amanda's
records after each run of the lab's week are laid into one directory as
Amanda left them (a log unchanged keeps its inode and mtime, a new or grown
one is copied, a removed one goes), the index is kept from night to night,
and volumes, history, plan and check answer as with --no-index."""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import pytest

from cli_runner import run_cli

pytestmark = pytest.mark.lab


def _lay(step, work: Path) -> None:
    """work/ made to hold what the step's snapshot holds, touching only what changed."""
    log = work / "log"
    log.mkdir(parents=True, exist_ok=True)
    names = {p.name for p in step.logdir.glob("log.*")}
    for gone in {p.name for p in log.glob("log.*")} - names:
        (log / gone).unlink()
    for name in sorted(names):
        if not (log / name).exists() or not filecmp.cmp(step.logdir / name, log / name, shallow=False):
            shutil.copy2(step.logdir / name, log / name)
    shutil.copy2(step.tapelist, work / "tapelist")
    shutil.rmtree(work / "holding", ignore_errors=True)
    shutil.copytree(step.holding, work / "holding", symlinks=True)


def _answer(*argv) -> tuple[int, str, str]:
    r = run_cli(*argv, exit_status=None)
    return r.exit_code, r.stdout, r.stderr


def test_the_index_kept_night_by_night_answers_as_the_logs_do(amanda_lab, tmp_path):
    work = tmp_path / "records"
    index = ["--index", tmp_path / "catalog-index.sqlite"]
    compared = 0
    for step in amanda_lab.steps:
        _lay(step, work)
        src = ["--logdir", work / "log", "--tapelist", work / "tapelist", "--holding", work / "holding"]
        now = ["--now", step.at]
        argvs = [["volumes", "--json", *src], ["check", "--json", *now, *src]]
        for dle in amanda_lab.dles:
            argvs += [["history", dle.disk, "--host", dle.host, "--json", *src],
                      ["plan", dle.disk, "--host", dle.host, "--date", step.at[:10], *now, "--json", *src]]
        for argv in argvs:
            assert _answer(*argv, *index) == _answer(*argv, "--no-index"), (step.name, argv)
            compared += 1
        shown = json.loads(run_cli("index", *src, *index, "--json").stdout)
        assert shown["files_indexed"] == len(list((work / "log").glob("log.*"))), step.name
    assert compared >= 2 * len(amanda_lab.steps) * (1 + len(amanda_lab.dles))
