"""What a command asks of Amanda, on the real lab.  Its settings come from
one ``amadmin CONF config`` per command, the same as amgetconf says key by
key; the changer's inventory (``amtape CONF inventory``) is asked by a real
run only, not by a dry run.  Each amadmin and amtape start leaves a debug
file of its own in Amanda's debug directory, so Amanda itself counts the
calls (no wrapper on PATH)."""

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


def _debug_files(config: str, program: str = "amadmin") -> set[Path]:
    where = Path(amgetconf("build.AMANDA_DBGDIR")) / "server" / config
    return set(where.glob(f"{program}.*.debug"))


def test_a_run_starts_amadmin_once_for_every_setting_it_needs(coda_lab, tmp_path):
    before = _debug_files(coda_lab.config)
    run_cli("run", coda_lab.disk("u.jan"), "--date", "2026-05-08", "--config", coda_lab.config,
                     "--workdir", tmp_path / "w", "--output", tmp_path / "merged")
    assert (tmp_path / "merged").stat().st_size > 0
    assert len(_debug_files(coda_lab.config) - before) == 1
    # the next command asks anew: nothing is kept from the last one
    run_cli("check", "--config", coda_lab.config, "--json", exit_status=None)
    assert len(_debug_files(coda_lab.config) - before) == 2


def test_the_changer_is_asked_by_a_run_and_not_by_its_dry_run(coda_lab, tmp_path):
    args = ["run", coda_lab.disk("u.jan"), "--date", "2026-05-08", "--config", coda_lab.config,
            "--workdir", tmp_path / "w", "--output", tmp_path / "merged"]
    before = _debug_files(coda_lab.config, "amtape")
    dry = run_cli(*args, "--dry-run")
    assert "a dry run does not ask the changer" in dry.stdout
    assert _debug_files(coda_lab.config, "amtape") == before
    real = run_cli(*args)
    assert "in the changer" in real.stderr
    assert len(_debug_files(coda_lab.config, "amtape") - before) == 1
