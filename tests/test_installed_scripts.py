"""The console scripts the package installs start, run as a user would run
them: from the interpreter's own scripts directory, with a bare environment,
outside the checkout.  An undeclared import fails here on the first line
(tests/setup-and-run runs this on the wheel and on the lowest allowed
versions of every dependency)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from coda_restore import __version__
from coda_restore.cli import commands
from paths import REPO

CHECKOUT = REPO
SCRIPTS = Path(sysconfig.get_path("scripts"))
# no PYTHONPATH, no venv activation: what a shell or Amanda gives
BARE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "COLUMNS": "200"}


def script(name: str, *args: str, cwd: Path, python: tuple[str, ...] = (),
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run an installed script; kept help texts go under cwd, not the home directory."""
    path = SCRIPTS / name
    assert path.exists(), f"{name} is not installed in {SCRIPTS}"
    return subprocess.run([*python, str(path), *args], cwd=cwd, capture_output=True, text=True,
                          env={**BARE_ENV, "XDG_CACHE_HOME": str(cwd / "cache"), **(env or {})},
                          stdin=subprocess.DEVNULL, timeout=60)


# what --version and kept help must not pay for
HEAVY = ("typer", "rich", "networkx", "dateutil", "coda_restore.cli", "coda_restore.planning")


def imported_by(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """The script's result, and every module its interpreter imported (-X importtime on stderr)."""
    done = script("coda-restore", *args, cwd=cwd, python=(sys.executable, "-X", "importtime"), env=env)
    modules = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return done, modules


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_version_imports_nothing_heavy(tmp_path):
    done, modules = imported_by("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == f"coda-restore {__version__}\n"
    assert "coda_restore.start" in modules and not heavy_in(modules)


@pytest.mark.parametrize("args", [("--help",), ("-h",), ("run", "--help")])
def test_help_is_typers_text_then_kept_and_printed_without_typer(args, tmp_path):
    first, modules = imported_by(*args, cwd=tmp_path)
    assert first.returncode == 0 and "Usage: coda-restore" in first.stdout and "typer" in modules
    again, modules = imported_by(*args, cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, first.stdout)
    assert "coda_restore.start" in modules and not heavy_in(modules)


def test_kept_help_is_not_reused_at_another_width(tmp_path):
    narrow = script("coda-restore", "plan", "--help", cwd=tmp_path, env={"COLUMNS": "60"})
    wide = script("coda-restore", "plan", "--help", cwd=tmp_path, env={"COLUMNS": "120"})
    widths = {max(map(len, narrow.stdout.splitlines())), max(map(len, wide.stdout.splitlines()))}
    assert widths == {60, 120}


def test_coda_restore_version(tmp_path):
    done = script("coda-restore", "--version", cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"coda-restore {__version__}\n", "")


def test_coda_restore_help_lists_every_command(tmp_path):
    done = script("coda-restore", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    missing = [name for name in commands.names() if name not in done.stdout]
    assert not missing and commands.names(), done.stdout


@pytest.mark.parametrize("name", commands.names())
def test_every_command_help(name, tmp_path):
    done = script("coda-restore", name, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Usage: coda-restore {name} " in done.stdout and not done.stderr, done.stdout + done.stderr


def test_amcoda_support(tmp_path):
    done = script("amcoda", "support", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("CONFIG YES\n") and "MAX-LEVEL 9\n" in done.stdout, done.stdout


def test_amcoda_help_names_the_install_command(tmp_path):
    done = script("amcoda", "--help", cwd=tmp_path)
    assert done.returncode == 0 and "amcoda install [--amlibexecdir DIR]" in done.stdout, done.stderr
    install = script("amcoda", "install", "--help", cwd=tmp_path)
    assert install.returncode == 0 and "--amlibexecdir" in install.stdout and "--force" in install.stdout
    top = script("coda-restore", "--help", cwd=tmp_path)
    assert "'amcoda install'" in top.stdout


def test_man_coda_restore_shows_the_installed_page(tmp_path):
    """The wheel puts the man page under VENV/share/man, where man-db looks
    for a PATH entry VENV/bin."""
    if _editable() and not os.environ.get("CODARESTORE_TEST_INSTALLED"):
        pytest.skip("an editable install has no data files; tests/setup-and-run tests the wheel")
    page = Path(sysconfig.get_path("data")) / "share" / "man" / "man1" / "coda-restore.1"
    assert page.read_text() == (CHECKOUT / "man" / "coda-restore.1").read_text()
    env = dict(BARE_ENV, PATH=f"{SCRIPTS}:/usr/bin:/bin", MANPAGER="cat")
    where = subprocess.run(["man", "-w", "coda-restore"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert (where.returncode, where.stdout) == (0, f"{page}\n"), where.stderr
    shown = subprocess.run(["man", "coda-restore"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert shown.returncode == 0 and "coda-restore - " in shown.stdout, shown.stderr


def _editable() -> bool:
    """The package runs from this checkout (an editable install)."""
    import coda_restore

    return Path(coda_restore.__file__).resolve().is_relative_to(CHECKOUT)
