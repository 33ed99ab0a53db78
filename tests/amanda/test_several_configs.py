"""Several Amanda configs folded into one catalog: the option syntax
(``sources_of``), each dump and copy knowing its config, one history per
volume across configs, and one config giving exactly today's catalog."""

from __future__ import annotations

import os

import pytest
from amanda_helpers import write_records
from two_configs import ARCHIVE, ARCHIVE_TAPES, DAILY, DAILY_TAPES

from coda_restore.amanda.catalog import build_catalog
from coda_restore.amanda.sources import Source, load_catalog, load_sources, sources_of
from coda_restore.errors import UsageError


@pytest.fixture
def two(tmp_path):
    daily = write_records(tmp_path / "daily", DAILY, DAILY_TAPES)
    archive = write_records(tmp_path / "archive", ARCHIVE, ARCHIVE_TAPES)
    return daily, archive


def _sources(two) -> tuple[Source, ...]:
    (dl, dt), (al, at) = two
    return sources_of((), [f"daily={dl}", f"archive={al}"], [f"daily={dt}", f"archive={at}"])


def test_each_dump_and_copy_knows_its_config(two):
    catalog = load_sources(_sources(two))
    assert catalog.configs == ("archive", "daily") and catalog.several_configs
    jan = catalog.dumps_of("coda1", "u.jan")
    assert [(d.datestamp[:8], d.level, d.config) for d in jan] == [
        ("20260302", 0, "daily"), ("20260303", 1, "daily"), ("20260304", 0, "archive"), ("20260305", 1, "daily")]
    assert [c.config for d in jan for c in d.copies] == ["daily", "daily", "archive", "daily"]
    assert jan[2].copies[0].labels == ("arch-01",) and jan[2].usable  # the archive's full: a restore point
    assert [d.config for d in catalog.dumps_of("coda1", "u.ann")] == ["daily", "daily"]
    assert catalog.warnings == ()


def test_the_same_dump_in_two_configs_is_one_dump_with_both_copies(tmp_path):
    (dl, dt) = write_records(tmp_path / "daily", DAILY, DAILY_TAPES)
    copied = {"log.20260302010000.0": DAILY["log.20260302010000.0"].replace("daily-01", "arch-09")
              .replace("ST:daily", "ST:archive").replace("POOL:daily", "POOL:archive")}
    (al, at) = write_records(tmp_path / "archive", copied, "20260302010000 arch-09 reuse\n")
    catalog = load_sources(sources_of((), [f"daily={dl}", f"archive={al}"], [f"daily={dt}", f"archive={at}"]))
    full = catalog.dumps_of("coda1", "u.jan")[0]
    assert full.level == 0 and [(c.config, c.labels) for c in full.copies] == [
        ("daily", ("daily-01",)), ("archive", ("arch-09",))]
    assert full.configs == ("daily", "archive")
    # both logs say the client was dumped: perhaps two images under one name
    said = [str(w) for w in catalog.warnings]
    assert len(said) == 2 and all("dumped by config daily and by config archive" in w for w in said)


def test_one_config_is_todays_catalog(two):
    (dl, dt), _ = two
    alone = build_catalog(dl, dt)
    assert load_sources(sources_of((), [dl], [dt])) == alone
    assert all(d.config is None and all(c.config is None for c in d.copies) for d in alone.dumps)
    named = load_sources(sources_of((), [f"daily={dl}"], [f"daily={dt}"]))
    assert named.configs == ("daily",) and not named.several_configs
    assert [d.key for d in named.dumps] == [d.key for d in alone.dumps]


def test_a_name_prefix_asks_amanda_nothing(two, monkeypatch):
    (dl, dt), _ = two

    def no_amgetconf(*a, **kw):
        raise AssertionError("amgetconf asked")

    monkeypatch.setattr("coda_restore.amanda.config.AmandaConfig.sources", no_amgetconf)
    catalog = load_catalog("daily", dl, dt, ask=False)
    assert catalog.configs == ("daily",)


def test_option_syntax():
    assert sources_of(("daily",)) == (Source("daily"),)
    assert sources_of((), ["/l"], ["/t"], ["/h1", "/h2"]) == (Source(None, "/l", "/t", ("/h1", "/h2"), ask=False),)
    # one config: paths need no prefix, and override what amgetconf says
    assert sources_of(("daily",), ["/l"]) == (Source("daily", "/l"),)
    assert sources_of(("daily", "archive"), ["archive=/a/log"], [], ["daily=/hold", "archive=/ahold"]) == (
        Source("daily", None, None, ("/hold",)), Source("archive", "/a/log", None, ("/ahold",)))
    # a prefix that is no --config is a config read from its paths alone
    assert sources_of(("daily",), ["vault=/v/log"], ["vault=/v/tapelist"]) == (
        Source("daily"), Source("vault", "/v/log", "/v/tapelist", ask=False))
    assert sources_of((), ["./a=b/log"]) == (Source(None, "./a=b/log", ask=False),)


@pytest.mark.parametrize("configs, logdirs, tapelists, says", [
    (("daily", "archive"), ["/l"], [], "say which config each path belongs to"),
    (("daily", "daily"), [], [], "named twice"),
    ((), ["daily=/a", "daily=/b"], [], "--logdir is given twice for config daily"),
    (("daily",), [], ["archive=/t"], "archive is no --config and has no --logdir archive=DIR"),
])
def test_option_syntax_errors(configs, logdirs, tapelists, says):
    with pytest.raises(UsageError, match=says):
        sources_of(configs, logdirs, tapelists)


def test_each_config_reads_its_own_logdirs_index_and_answers_as_without(two, tmp_path, monkeypatch):
    from coda_restore.amanda.catalog_index import IndexUse, default_path
    from coda_restore.amanda.sources import load_volume

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    sources = _sources(two)
    for disk in ("u.jan", "u.ann"):
        plain = load_volume(disk, sources=sources)
        for _ in range(2):  # built, then warm
            use = IndexUse()
            assert load_volume(disk, sources=sources, index=use) == plain
            assert use.notes == []
    (dl, _), (al, _) = two
    assert os.path.isfile(default_path(dl, False)) and os.path.isfile(default_path(al, False))
    assert default_path(dl, False) != default_path(al, False)  # one index per logdir
    # the lines the index holds carry no config: the label is attached when they are folded
    assert {c.config for d in plain[0].dumps for c in d.copies} == {"daily"}


def test_an_index_path_with_several_configs_is_refused(two, tmp_path):
    from coda_restore.amanda.catalog_index import IndexUse
    from coda_restore.amanda.sources import load_volume

    with pytest.raises(UsageError, match="--index PATH names the index of one logdir"):
        load_volume("u.jan", sources=_sources(two), index=IndexUse(tmp_path / "i.sqlite"))
    assert not (tmp_path / "i.sqlite").exists()
