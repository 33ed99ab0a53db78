"""Two real Amanda 3.5 configs of one site, as an operator has them: a
daily (mon full, tue and thu incrementals of u.jan) and an archive (a wed
full), on vtapes, run as backup.  ``--config daily --config archive`` folds
them: the thu plan chains the daily incremental onto the archive full;
each step's amfetchdump, run by real Amanda, reads its image through its
copy's config (and the archive's image is not found through the daily);
check asks each config for its own tapecycle and works out the tapes at
risk per config; the index and --no-index answer alike."""

from __future__ import annotations

import json
import sys

import pytest
from cli_runner import run_cli

from lab import builder
from lab.builder import Dle, LabSpec, Run, Write

pytestmark = pytest.mark.lab

K = 1024
DAILY = LabSpec(
    config="codarestore-cfg-daily", dles=(Dle("u.jan"),), initial=(Write("u.jan", "docs/a.tex", 60 * K),),
    runs=(Run("mon", "2026-03-02 01:00:00"),
          Run("tue", "2026-03-03 01:00:00", changes=(Write("u.jan", "docs/b.tex", 20 * K),)),
          Run("thu", "2026-03-05 01:00:00", changes=(Write("u.jan", "docs/c.tex", 20 * K),))),
    tapecycle=3, runtapes=1)
ARCHIVE = LabSpec(
    config="codarestore-cfg-archive", dles=(Dle("u.jan"),), initial=(Write("u.jan", "docs/a.tex", 60 * K),),
    runs=(Run("wed", "2026-03-04 02:00:00"),), tapecycle=2, runtapes=1)


@pytest.fixture(scope="module")
def two_labs():
    try:
        builder.check_can_build()
    except builder.LabError as err:
        pytest.fail(f"cannot build the Amanda lab: {err}", pytrace=False)
    labs = []
    for spec in (DAILY, ARCHIVE):
        with builder.session_lock(spec):
            labs.append(builder.load_or_build(spec, reuse=True,
                                              progress=lambda m: print(f"lab {spec.config}: {m}", file=sys.stderr)))
    return labs


ARGS = ["--config", DAILY.config, "--config", ARCHIVE.config]
NOW = ["--now", "2026-03-06 12:00:00"]


def test_the_plan_crosses_configs_and_each_amfetchdump_reads_through_its_own(two_labs, tmp_path):
    daily, archive = two_labs
    doc = json.loads(run_cli("plan", "u.jan", *ARGS, "--date", "2026-03-05", *NOW, "--json").stdout)
    steps = doc["steps"]
    assert [s["copy"]["config"] for s in steps] == [ARCHIVE.config, DAILY.config]
    assert steps[0]["level"] == 0 and steps[0]["datestamp"].startswith("20260304")
    assert steps[1]["datestamp"].startswith("20260305") and steps[1]["level"] >= 1
    for step, lab in zip(steps, (archive, daily)):
        argv = step["amfetchdump"]
        assert argv[4] == lab.config
        image = tmp_path / f"{step['datestamp']}.{step['level']}"
        with open(image, "wb") as out:
            got = lab.amanda(*argv, check=False, stdout=out)
        assert got.returncode == 0 and image.stat().st_size > 32 * K, (argv, got.stderr)
    # amfetchdump CONF finds only its own config's copies: the archive full is not the daily's
    wrong = [*steps[0]["amfetchdump"][:4], DAILY.config, *steps[0]["amfetchdump"][5:]]
    with open(tmp_path / "wrong", "wb") as out:
        assert daily.amanda(*wrong, check=False, stdout=out).returncode != 0


def test_check_asks_each_config_for_its_cycle_and_never_mixes_their_tapes(two_labs):
    r = run_cli("check", *ARGS, *NOW, "--json", exit_status=None)
    doc = json.loads(r.stdout)
    assert [(c["config"], c["tapecycle"], c["runtapes"]) for c in doc["configs"]] == [
        (DAILY.config, 3, 1), (ARCHIVE.config, 2, 1)]
    for tape in doc["at_risk"]:
        assert tape["label"].startswith(tape["config"] + "-")
    assert {t["config"] for t in doc["at_risk"]} <= {DAILY.config, ARCHIVE.config}


def test_the_index_and_no_index_answer_alike_over_two_real_configs(two_labs):
    for argv in (["history", "u.jan"], ["plan", "u.jan", "--date", "2026-03-05", *NOW], ["volumes"],
                 ["check", *NOW]):
        plain = run_cli(*argv, *ARGS, "--json", "--no-index", exit_status=None)
        for _ in range(2):
            indexed = run_cli(*argv, *ARGS, "--json", exit_status=None)
            assert (indexed.exit_code, indexed.stdout) == (plain.exit_code, plain.stdout), argv
