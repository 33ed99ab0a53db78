"""coda-restore check on the bundled records: staleness, verdicts, the one
summary line a cron job acts on, and the same verdicts under --json."""

from __future__ import annotations

import json
from pathlib import Path

from coda_restore.errors import NOT_RESTORABLE, STALE, USAGE
from paths import EXAMPLE

SOURCES = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist", "--holding", EXAMPLE / "holding"]


def test_a_volume_nine_months_old_is_stale_with_exit_8(cli):
    result = cli("check", "p.proj", "--now", "2026-12-09", "--tz", "UTC", *SOURCES, exit_status=STALE)
    lines = result.stdout.splitlines()
    assert lines[1].split()[:4] == ["localhost", "p.proj", "FAIL", "ok"]
    assert ("FAIL localhost p.proj: stale: the newest restore point (20260307010000/0) is 277d 22h old, over the "
            "max age 10 days (Amanda's default dumpcycle; give --max-age or --config)") in lines
    assert lines[-1] == ("check: FAIL: 1 volume(s): 0 ok, 0 warn, 1 fail (0 not restorable now, 1 stale, "
                         "0 with no restore point); max age 10 days (Amanda's default dumpcycle; give "
                         "--max-age or --config)")


def test_json_carries_the_verdicts_and_max_age_is_honoured(cli):
    doc = json.loads(cli("check", "--now", "2026-03-09", "--tz", "UTC", "--max-age", "36h", "--json", *SOURCES,
                         exit_status=STALE).stdout)
    assert doc["max_age"] == {"seconds": 36 * 3600, "source": "--max-age"}
    assert {v["disk"]: (v["verdict"], v["stale"]) for v in doc["volumes"]} == {
        "coda:root": ("FAIL", True), "p.proj": ("FAIL", True), "u.ann": ("FAIL", True), "u.jan": ("FAIL", True)}
    assert (doc["verdict"], doc["exit_status"]) == ("FAIL", STALE)
    assert doc["summary"].startswith("check: FAIL: 4 volume(s): 0 ok, 0 warn, 4 fail (0 not restorable now, 4 stale")


def test_not_restorable_now_is_exit_3_even_when_also_stale(cli):
    # without the holding disk, two volumes' newest dumps are broken links
    src = SOURCES[:4]
    result = cli("check", "--now", "2026-03-09", "--tz", "UTC", "--max-age", "1d", *src, exit_status=NOT_RESTORABLE)
    assert result.stdout.splitlines()[-1].startswith("check: FAIL: 4 volume(s): 0 ok, 0 warn, 4 fail "
                                                     "(2 not restorable now, 4 stale")


def test_a_bad_max_age_fails_before_any_log_is_read(cli, tmp_path):
    result = cli("check", "--max-age", "a week", "--logdir", tmp_path / "nothing-here", exit_status=USAGE)
    assert result.stderr == ("coda-restore: error: --max-age 'a week': give a positive number of hours, days "
                             "or weeks (36h, 7d, 2w)\n")


def test_the_volumes_named_are_checked_in_the_order_named_each_once(cli):
    doc = json.loads(cli("check", "u.jan", "u.ann", "u.jan", "--now", "2026-03-09", "--tz", "UTC", "--json",
                         *SOURCES).stdout)
    assert [(v["host"], v["disk"]) for v in doc["volumes"]] == [("localhost", "u.jan"), ("localhost", "u.ann")]
    unknown = cli("check", "u.jan", "u.jn", "--now", "2026-03-09", "--tz", "UTC", *SOURCES, exit_status=USAGE)
    assert unknown.stdout == "" and unknown.stderr.startswith("coda-restore: error: unknown volume 'u.jn'")
