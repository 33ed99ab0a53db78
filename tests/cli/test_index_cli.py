"""--index PATH, --no-index and coda-restore index, as an operator uses them:
the same answers, a rebuilt index said on stderr, never under --strict."""

from __future__ import annotations

import json

from cli_runner import run_cli

from paths import EXAMPLE

SRC = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist", "--holding", EXAMPLE / "holding"]


def test_history_and_plan_answer_the_same_with_and_without_the_index(tmp_path):
    index = ["--index", tmp_path / "i.sqlite"]
    for argv in (["history", "u.ann", "--json"], ["plan", "u.ann", "--date", "2026-03-07", "--now", "2026-03-09",
                                                  "--json"]):
        plain = run_cli(*argv, *SRC, "--no-index")
        for _ in range(2):  # built, then warm
            indexed = run_cli(*argv, *SRC, *index)
            assert (indexed.stdout, indexed.stderr) == (plain.stdout, plain.stderr)
    shown = json.loads(run_cli("index", *SRC, *index, "--json").stdout)
    assert shown["schema"] == "coda-restore.index/1"
    assert shown["path"] == str(tmp_path / "i.sqlite") and shown["logdir"] == str((EXAMPLE / "log").resolve())
    assert shown["files_indexed"] == 10 and shown["volumes"] == 4 and shown["dumps"] > 20
    assert shown["size_bytes"] > 0 and shown["last_update"]
    rebuilt = json.loads(run_cli("index", *SRC, *index, "--json", "--rebuild").stdout)
    assert {k: v for k, v in rebuilt.items() if k != "last_update"} == \
        {k: v for k, v in shown.items() if k != "last_update"}


def test_the_default_index_is_in_the_cache_for_explicit_records(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    run_cli("history", "u.jan", *SRC)
    assert [p.name[-7:] for p in (tmp_path / "coda-restore").glob("index-*.sqlite")] == [".sqlite"]
    assert "index-" in run_cli("index", *SRC).stdout
    run_cli("history", "u.jan", *SRC, "--no-index", "--index", tmp_path / "x", exit_status=2)


def test_a_damaged_index_is_a_warning_not_a_strict_failure(tmp_path):
    path = tmp_path / "i.sqlite"
    plain = run_cli("history", "u.ann", "--json", *SRC, "--strict", "--no-index")
    path.write_bytes(b"\x00garbage" * 1000)
    got = run_cli("history", "u.ann", "--json", *SRC, "--strict", "--index", path)
    assert got.stdout == plain.stdout
    assert "rebuilt from the logs" in got.stderr and "warning" in got.stderr
    again = run_cli("history", "u.ann", "--json", *SRC, "--strict", "--index", path)
    assert again.stderr == plain.stderr
