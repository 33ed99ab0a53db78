"""Amanda's settings come from one ``amadmin CONF config`` per command: on
the real lab they are what amgetconf says key by key, and a ``run`` starts
amadmin once.  Each amadmin start leaves a debug file of its own in Amanda's
debug directory, so Amanda itself counts the calls (no wrapper on PATH)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cli_runner import run_cli
from coda_restore.amanda.config import AmandaConfig, forget

pytestmark = pytest.mark.lab

KEYS = ("logdir", "tapelist", "tapecycle", "dumpcycle", "runtapes", "dumpuser")


def amgetconf(*args: str) -> str:
    return subprocess.run(["amgetconf", *args], capture_output=True, text=True, check=True).stdout.strip()


def test_one_amadmin_config_gives_what_amgetconf_gives_key_by_key(amanda_lab):
    forget()
    settings = AmandaConfig(amanda_lab.config).settings()
    assert {k: settings.values[k.upper()] for k in KEYS} == {k: amgetconf(amanda_lab.config, k) for k in KEYS}
    names = amgetconf(amanda_lab.config, "--list", "holdingdisk").split()
    assert settings.holding_dirs == tuple(amgetconf(amanda_lab.config, f"holdingdisk:{n}:directory") for n in names)
    assert settings.holding_dirs == tuple(str(h) for h in amanda_lab.holding)


def _amadmin_debug_files(config: str) -> set[Path]:
    where = Path(amgetconf("build.AMANDA_DBGDIR")) / "server" / config
    return set(where.glob("amadmin.*.debug"))


def test_a_run_starts_amadmin_once_for_every_setting_it_needs(coda_lab, tmp_path):
    before = _amadmin_debug_files(coda_lab.config)
    run_cli("run", coda_lab.disk("u.jan"), "--date", "2026-05-08", "--config", coda_lab.config,
                     "--workdir", tmp_path / "w", "--output", tmp_path / "merged")
    assert (tmp_path / "merged").stat().st_size > 0
    assert len(_amadmin_debug_files(coda_lab.config) - before) == 1
    # the next command asks anew: nothing is kept from the last one
    run_cli("check", "--config", coda_lab.config, "--json", exit_status=None)
    assert len(_amadmin_debug_files(coda_lab.config) - before) == 2
