"""One read order (issue 12): the tape list plan prints is the order run
fetches in, on the bundled records, whose u.ann chain has its level 0 on
codarestore-lab-02 and its incrementals on later tapes (-03, -05): run
spools the incrementals first and streams the level 0 last."""

from __future__ import annotations

import json
from pathlib import Path

from coda_restore.errors import PREFLIGHT_FAILED
from paths import EXAMPLE

SOURCES = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist", "--holding", EXAMPLE / "holding"]
WHEN = ["--date", "last saturday", "--now", "2026-03-09", "--tz", "UTC"]


def test_plan_shows_the_tapes_in_the_order_run_fetches_them(cli, tmp_path):
    plan = json.loads(cli("plan", "u.ann", *WHEN, *SOURCES, "--json").stdout)
    assert [s["copy"]["parts"][0]["label"] for s in plan["steps"]] == [
        "codarestore-lab-02", "codarestore-lab-03", "codarestore-lab-05"]  # apply order: the level 0 first
    shown = [(t["label"], f["datestamp"], f["level"]) for t in plan["tapes"] for f in t["files"]]
    # the rehearsal lists the commands run executes, in its order (the config
    # is not there, so it fails its preflight, but still shows them)
    dry = json.loads(cli("run", "u.ann", *WHEN, *SOURCES, "--config", "nosuch", "--output", tmp_path / "m",
                         "--workdir", tmp_path / "w", "--dry-run", "--json", exit_status=PREFLIGHT_FAILED).stdout)
    fetched = [(c[-2], int(c[-1])) for c in dry["commands"]]
    label_of = {(s["datestamp"], s["level"]): s["copy"]["parts"][0]["label"] for s in plan["steps"]}
    assert [(label_of[f], *f) for f in fetched] == shown
    assert [label for label, _, _ in shown] == ["codarestore-lab-03", "codarestore-lab-05", "codarestore-lab-02"]
    lines = [line.strip() for line in cli("plan", "u.ann", *WHEN, *SOURCES).stdout.splitlines()]
    start = lines.index("tapes, in read order") + 2  # after the title and the column heads
    listed = lines[start:start + 3]
    assert [line.split()[0] for line in listed] == [label for label, _, _ in shown]
