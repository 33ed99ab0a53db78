"""``amcoda install``: put amcoda where Amanda looks for applications, as a
program Amanda's user can run.

Amanda runs an application as its own user (``backup`` on Debian) from
AMLIBEXECDIR/application (``amgetconf build.amlibexecdir``), with a bare
environment.  So the plugin is a small shell wrapper that execs this very
interpreter (the venv's ``python``: it finds the venv's site-packages by
itself) in isolated mode on ``coda_restore.amcoda``.  Whether that user can
reach the interpreter and the package is not guessed from permission bits:
the new wrapper is run as that user (``amcoda support``) before it replaces
anything, so a venv under root's home (0700) is refused and nothing changes.

Not promised: installing the package itself (pip does that), or reaching
volutil (``amcheck`` tells).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from coda_restore import proc
from coda_restore.amanda.config import build
from coda_restore.errors import CodaRestoreError, OutputExists, PluginUnreachable, UsageError, WriteFailed

NAME = "amcoda"
MARK = "# written by 'amcoda install'"  # a file with this line is ours to replace
CHECK_TIMEOUT = 60.0  # seconds for the trial run as Amanda's user


def ask_amanda(key: str) -> str:
    """One build setting (``amgetconf build.KEY``)."""
    value = build(key)
    if not value:
        raise UsageError(f"amgetconf build.{key} printed nothing")
    return value


def wrapper_text(python: Path) -> str:
    # -I: no PYTHONPATH, no user site, no current directory on the import path
    return ("#!/bin/sh\n"
            f"{MARK} from {python.parent.parent}\n"
            f'exec {shlex.quote(str(python))} -I -m coda_restore.amcoda "$@"\n')


def run_as(user: str, argv: list[str]) -> proc.Completed:
    """Run ARGV as USER with the bare environment Amanda gives applications."""
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    if os.geteuid() == 0:
        argv = ["runuser", "-u", user, "--", *argv]
    elif user != _me():
        raise UsageError(f"run amcoda install as root or as {user}: it must try the plugin as {user}")
    return proc.run(argv, check=False, env=env, timeout=CHECK_TIMEOUT)


def _me() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def install(app_dir: Path, user: str, python: Path, force: bool = False, name: str = NAME) -> Path:
    """Write APP_DIR/NAME running PYTHON, once USER has run it."""
    if not app_dir.is_dir():
        raise UsageError(f"{app_dir} is not a directory (is Amanda installed? see --amlibexecdir)")
    if not name or "/" in name or name.startswith("."):
        raise UsageError(f"bad plugin name {name!r}: a file name, as amanda.conf's plugin names it")
    target = app_dir / name
    if (target.exists() or target.is_symlink()) and not force and not _ours(target):
        raise OutputExists(f"{target} (not written by amcoda install)")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=app_dir)
    except OSError as exc:
        raise WriteFailed(app_dir, exc.strerror) from None
    try:
        with os.fdopen(fd, "w") as f:
            f.write(wrapper_text(python))
        os.chmod(tmp, 0o755)
        tried = run_as(user, [tmp, "support"])
        if tried.status != 0 or not tried.stdout.startswith("CONFIG YES"):
            why = (tried.stderr.strip() or tried.stdout.strip() or f"exit status {tried.status}").splitlines()
            raise PluginUnreachable(user, python.parent.parent, why[-1].replace(tmp, str(target)))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _ours(path: Path) -> bool:
    try:
        return not path.is_symlink() and path.read_text(errors="replace").splitlines()[1].startswith(MARK)
    except (OSError, IndexError):
        return False


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="amcoda install",
        description="Install amcoda as an Amanda application (AMLIBEXECDIR/application/amcoda) that runs "
                    "this Python installation; it is tried as Amanda's user before anything is replaced.")
    p.add_argument("--amlibexecdir", type=Path,
                   help="Amanda's libexec directory (default: what 'amgetconf build.amlibexecdir' says)")
    p.add_argument("--user", help="Amanda's user (default: what 'amgetconf build.CLIENT_LOGIN' says)")
    p.add_argument("--name", default=NAME,
                   help="the plugin's file name, as amanda.conf's 'plugin' names it (default: amcoda)")
    p.add_argument("--force", action="store_true",
                   help="replace an amcoda that 'amcoda install' did not write")
    return p


def main(argv: Sequence[str]) -> int:
    """Exit 0 installed, 1 a failure (amgetconf, writing), 2 usage or a foreign
    amcoda without --force, 9 Amanda's user cannot run it."""
    args = parser().parse_args(list(argv))
    try:
        libexec = args.amlibexecdir or Path(ask_amanda("amlibexecdir"))
        user = args.user or ask_amanda("CLIENT_LOGIN")
        target = install(libexec / "application", user, Path(sys.executable), force=args.force, name=args.name)
    except CodaRestoreError as err:
        sys.stderr.write(f"amcoda install: error: {err}\n")
        return err.exit_status
    print(f"installed {target}: runs {sys.executable} as {user}")
    return 0
