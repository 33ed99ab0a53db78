"""`plan --chain minimal` against amrecover's own answer, on the real Amanda lab.

For every DLE and every day of the lab's week (and date-times between two
runs of one night), amrecover is driven as root (``-o auth=local``):
``setdate D``, ``add .``, ``list``.  amrecover extracts each path from the
newest dump of its chain that holds it (ref §5.3), so its ``list`` shows the
chain members that own at least one newest path.  The same projection of our
minimal chain, computed from Amanda's index files, must give exactly the
same dumps.  Where Amanda's chain has no level 0 (bare incrementals), `plan`
must exit 3 with the reason, and offer an alternative whenever the volume has
any exactly restorable instant.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess

import pytest

from coda_restore.amanda.sources import load_catalog
from coda_restore.planning.history import ChainProblem, VolumeHistory
from cli_runner import run_cli

DAYS = [f"2026-03-{d:02d}" for d in range(1, 10)]
# Between two runs of one night (fri 01:00 and fri-late 04:00), between wed's
# run and its flush, and right at a run's start.
DATETIMES = ["2026-03-06 02:00:00", "2026-03-06 04:30:00", "2026-03-04 05:00:00", "2026-03-07 01:00:00"]
pytestmark = pytest.mark.lab

TAPE_LINE = re.compile(r"^TAPE (.+) LEVEL (\d+) DATE (\S+)$")


def _amrecover_date(when: str) -> str:
    return when.replace(" ", "-").replace(":", "-")


def _datestamp(pretty: str) -> str:
    return pretty.replace("-", "").ljust(14, "0")


def amrecover_sets(lab, disk: str, dates: list[str]) -> list[set[tuple[str, int]]]:
    """The (datestamp, level) of every dump amrecover's extract list uses, per date."""
    script = ["sethost localhost", f"setdisk {disk}"]
    for when in dates:
        script += [f"setdate {_amrecover_date(when)}", "add .", "list", "clear"]
    script.append("quit")
    proc = subprocess.run(
        ["amrecover", lab.config, "-s", "localhost", "-t", "localhost", "-o", "auth=local"],
        input="\n".join(script) + "\n", capture_output=True, text=True, timeout=120, cwd=lab.root,
    )
    out = proc.stdout + proc.stderr
    assert "200 Disk set to" in out, out
    sets, current = [], None
    for line in out.splitlines():
        if line.startswith("amrecover> list"):
            current = set()
        elif line.startswith("amrecover> clear"):
            sets.append(current)
            current = None
        elif current is not None and (m := TAPE_LINE.match(line.strip())):
            current.add((_datestamp(m.group(3)), int(m.group(2))))
    assert len(sets) == len(dates), out
    return sets


def index_paths(lab, disk: str, datestamp: str, level: int) -> set[str]:
    # Amanda names a DLE's index directory after the disk with '/' and ':' made '_'.
    name = disk.replace("/", "_").replace(":", "_")
    path = lab.root / "index" / "localhost" / name / f"{datestamp}_{level}-unsorted.gz"
    with gzip.open(path, "rt") as f:
        return {line.rstrip("\n") for line in f if line.strip()}


def visible(lab, disk: str, dumps) -> set[tuple[str, int]]:
    """The chain members that own the newest copy of at least one path."""
    owner: dict[str, tuple[str, int]] = {}
    for d in dumps:  # oldest first: later dumps take the path over
        for p in index_paths(lab, disk, d.datestamp, d.level):
            owner[p] = (d.datestamp, d.level)
    return set(owner.values())


@pytest.fixture(scope="module")
def lab_catalog(amanda_lab):
    return load_catalog(logdir=amanda_lab.logdir, tapelist=amanda_lab.tapelist, holding=amanda_lab.holding)


@pytest.mark.parametrize("disk", ["u.jan", "p.proj", "u.ann", "coda:root"])
def test_minimal_plan_selects_what_amrecover_selects(amanda_lab, lab_catalog, disk):
    dates = DAYS + DATETIMES
    answers = amrecover_sets(amanda_lab, disk, dates)
    hist = VolumeHistory("localhost", disk, lab_catalog.dumps_of("localhost", disk))
    source = ("--logdir", amanda_lab.logdir, "--tapelist", amanda_lab.tapelist,
              *[x for h in amanda_lab.holding for x in ("--holding", h)])
    compared = bare = 0
    for when, amrecover in zip(dates, answers):
        bound = when.replace("-", "").replace(" ", "").replace(":", "")
        bound = bound + "235959" if len(bound) == 8 else bound
        chain = hist.minimal_chain(bound)
        assert visible(amanda_lab, disk, chain.dumps) == amrecover, (disk, when, [
            (d.datestamp, d.level) for d in chain.dumps])
        r = run_cli("plan", disk, "--date", when, "--chain", "minimal", *source, "--json",
                    exit_status=0 if chain.complete else 3)
        doc = json.loads(r.stdout)
        if chain.complete:
            assert [(s["datestamp"], s["level"]) for s in doc["steps"]] == [
                (d.datestamp, d.level) for d in chain.dumps]
            compared += 1
            continue
        assert doc["restorable"] is False and doc["reason"]
        if amrecover:
            # amrecover answers with incrementals and no level 0: we refuse.
            assert all(level > 0 for _, level in amrecover), (disk, when, amrecover)
            assert chain.problem is ChainProblem.NO_LEVEL0 and "no level 0" in doc["reason"]
            bare += 1
            if hist.restore_points():
                assert doc["alternatives"], (disk, when)
        else:
            assert chain.problem is ChainProblem.NO_DUMP and "no dump" in doc["reason"]
            assert any(a["kind"] == "after" for a in doc["alternatives"]) or not hist.restore_points()
    assert compared >= 3, (disk, compared, bare)  # the comparison is not vacuous


def test_tapes_at_risk_are_the_tapes_amadmin_tape_names(amanda_lab):
    """`check --config` asks amgetconf for tapecycle and runtapes; the tapes it
    says the next run overwrites are the ones `amadmin CONF tape` names."""
    said = amanda_lab.amanda("amadmin", amanda_lab.config, "tape").stdout
    expected = re.findall(r"\btape ([^\s.]+)", said)
    assert expected, said
    from coda_restore.amanda.config import AmandaConfig
    from coda_restore.planning.coverage import coverage_report
    from coda_restore.planning.when import parse_now, zone

    catalog = load_catalog(config=amanda_lab.config)
    report = coverage_report(catalog, catalog.volumes(), parse_now(None, zone(None)), AmandaConfig(amanda_lab.config).tapecycle(),
                   runtapes=AmandaConfig(amanda_lab.config).runtapes())
    r = run_cli("check", "--config", amanda_lab.config, "--json", exit_status=None)
    doc = json.loads(r.stdout)
    assert r.exit_code == doc["exit_status"] and (doc["exit_status"] == 3) == (not report.ok)
    # the max age comes from the config's dumpcycle, and the report says so
    dumpcycle = int(amanda_lab.amanda("amgetconf", amanda_lab.config, "dumpcycle").stdout)
    assert doc["max_age"] == {"seconds": max(dumpcycle, 1) * 86400, "source": f"the dumpcycle of {amanda_lab.config}"}
    assert [t["label"] for t in doc["at_risk"] if t["next_run"]] == expected, said
