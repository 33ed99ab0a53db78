"""``amcoda install`` into an amlibexecdir-like directory, tried for real as
Amanda's user (root and Amanda's ``backup`` user needed, as for the lab).

The suite's own venv must be one that user can reach: tests/setup-and-run
makes it so (and the Coda lab installs its plugin from it the same way)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from coda_restore.plugin_install import MARK

AMCODA = Path(sysconfig.get_path("scripts")) / "amcoda"
USER = "backup"


@pytest.fixture
def libexec():
    """A directory like /usr/lib/amanda that Amanda's user can reach (pytest's
    tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="amcoda-install-", dir="/var/tmp"))
    root.chmod(0o755)
    (root / "application").mkdir(mode=0o755)
    yield root
    shutil.rmtree(root)


def install(*args, python: Path | None = None) -> subprocess.CompletedProcess:
    argv = [str(python), "-m", "coda_restore.amcoda"] if python else [str(AMCODA)]
    return subprocess.run([*argv, "install", *map(str, args)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def as_amanda(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", USER, "--", "env", "-i", "PATH=/usr/bin:/bin", *argv],
                          capture_output=True, text=True, cwd="/", timeout=60)


def test_install_puts_an_amcoda_there_that_amandas_user_runs(libexec):
    done = install("--amlibexecdir", libexec, "--user", USER)
    assert done.returncode == 0, done.stderr
    plugin = libexec / "application" / "amcoda"
    # the venv's interpreter, under whichever name the console script's #! gives
    assert re.fullmatch(f"installed {re.escape(str(plugin))}: runs {re.escape(sys.prefix)}/bin/python3?"
                        f" as {USER}\n", done.stdout), done.stdout
    assert plugin.stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in plugin.parent.iterdir()) == ["amcoda"]  # no temporary left
    support = as_amanda([str(plugin), "support"])
    assert support.returncode == 0 and support.stdout.startswith("CONFIG YES\n"), support.stderr
    # its own wrapper it replaces without --force
    again = install("--amlibexecdir", libexec, "--user", USER)
    assert again.returncode == 0, again.stderr


def test_install_from_a_venv_amandas_user_cannot_reach_is_refused(libexec, tmp_path):
    """A venv under a 0700 directory (as root's home is): the trial run as
    that user fails, exit 9, and nothing is installed."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    venv = private / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # this venv imports the suite's coda_restore (and its .pth files: editable installs too)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "suite.pth").write_text(f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n")
    done = install("--amlibexecdir", libexec, "--user", USER, python=venv / "bin" / "python")
    assert done.returncode == 9, done.stdout + done.stderr
    assert done.stderr.startswith(f"amcoda install: error: Amanda's user {USER} cannot run amcoda from {venv}: ")
    assert f"{libexec}/application/amcoda: 3: exec: {venv}/bin/python: Permission denied" in done.stderr
    assert "nothing was installed" in done.stderr
    assert list((libexec / "application").iterdir()) == []


@pytest.mark.parametrize("foreign", ["file", "symlink"])
def test_a_foreign_amcoda_is_kept_unless_force(libexec, foreign):
    plugin = libexec / "application" / "amcoda"
    if foreign == "file":
        plugin.write_text("#!/bin/sh\nexec /usr/bin/python3 -m coda_restore.amcoda \"$@\"\n")
    else:
        plugin.symlink_to("/bin/true")
    before = plugin.read_bytes()
    done = install("--amlibexecdir", libexec, "--user", USER)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr == (f"amcoda install: error: {plugin} (not written by amcoda install) exists; "
                           "use --force to overwrite it\n")
    assert plugin.read_bytes() == before and plugin.is_symlink() == (foreign == "symlink")
    forced = install("--amlibexecdir", libexec, "--user", USER, "--force")
    assert forced.returncode == 0, forced.stderr
    assert not plugin.is_symlink() and plugin.read_text().splitlines()[1].startswith(MARK)


def test_install_without_amanda_application_dir_is_a_usage_error(tmp_path):
    done = install("--amlibexecdir", tmp_path / "nowhere", "--user", USER)
    assert done.returncode == 2
    assert done.stderr == (f"amcoda install: error: {tmp_path / 'nowhere' / 'application'} is not a directory "
                           "(is Amanda installed? see --amlibexecdir)\n")


def test_install_under_a_name_of_its_own(libexec):
    """--name: a second plugin beside amcoda (amanda.conf: plugin "amcoda-test")."""
    done = install("--amlibexecdir", libexec, "--user", USER, "--name", "amcoda-test")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (libexec / "application").iterdir()) == ["amcoda-test"]
    bad = install("--amlibexecdir", libexec, "--user", USER, "--name", "../amcoda")
    assert bad.returncode == 2 and "bad plugin name '../amcoda'" in bad.stderr
