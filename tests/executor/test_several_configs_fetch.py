"""Over two configs (daily and archive), every amfetchdump names the
config whose records hold the copy it reads: run's, the bulk run's and
verify's fetches (one door, runner.step_fetch_argv), and verify looks each
image's index file up in its own config's index directory."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from amanda_helpers import write_records
from two_configs import ARCHIVE, ARCHIVE_TAPES, DAILY, DAILY_TAPES

from coda_restore.amanda.sources import load_sources, sources_of
from coda_restore.chain import ChainMode
from coda_restore.executor.drill import AmandaImages, DrillOptions
from coda_restore.executor.runner import step_fetch_argv
from coda_restore.planning import bulk as bulkfile
from coda_restore.planning.planner import plan_for
from coda_restore.planning.when import parse_when


def _catalog(tmp_path):
    (dl, dt), (al, at) = (write_records(tmp_path / "daily", DAILY, DAILY_TAPES),
                          write_records(tmp_path / "archive", ARCHIVE, ARCHIVE_TAPES))
    return load_sources(sources_of(("daily", "archive"), [f"daily={dl}", f"archive={al}"],
                                   [f"daily={dt}", f"archive={at}"], [f"daily={tmp_path}", f"archive={tmp_path}"]))


def _target():
    return parse_when("2026-03-05", now=datetime(2026, 3, 6, tzinfo=timezone.utc))


def test_each_fetch_names_the_config_of_its_copy(tmp_path):
    plan = plan_for(_catalog(tmp_path), "coda1", "u.jan", _target(), ChainMode.EXACT, config="daily")
    assert [(s.datestamp, step_fetch_argv(plan, s, None)[5]) for s in plan.steps] == [
        ("20260304020000", "archive"), ("20260305010000", "daily")]
    images = AmandaImages(plan, watchdog=None)  # verify's fetches
    assert [images.argv(s)[5] for s in plan.steps] == ["archive", "daily"]


def test_the_bulk_plans_volumes_fetch_through_their_copies_configs(tmp_path):
    catalog = _catalog(tmp_path)
    bulk = bulkfile.make_bulk_plan(catalog, [bulkfile.Request("u.jan", None)], _target(), ChainMode.EXACT,
                                   config="daily")
    plan = bulk.volumes[0].plan
    assert [step_fetch_argv(plan, s, None)[5] for s in plan.steps] == ["archive", "daily"]


def test_verify_reads_each_index_file_from_its_configs_indexdir():
    opts = DrillOptions(Path("/first"), indexdirs=(("daily", Path("/d")), ("archive", Path("/a"))))
    assert (opts.indexdir_of("archive"), opts.indexdir_of("daily"), opts.indexdir_of(None)) == (
        Path("/a"), Path("/d"), Path("/first"))
