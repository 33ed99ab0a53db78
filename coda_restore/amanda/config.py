"""The one door to Amanda's tools: ``amgetconf``, ``amtape`` and the
``amfetchdump`` argv stem.

``AmandaConfig(name)`` asks one config what a command needs (where its
records are, tapecycle, runtapes, dumpcycle, dumpuser, what the changer
holds), each question one child through ``proc``.  The planner shows, and
the executor runs, ``AMFETCHDUMP`` from here.

A config that cannot be read (unknown name, no permission, a parse error)
is one ``ConfigUnreadable`` naming the config and Amanda's own reason,
without the Perl trace amgetconf adds ("... at /usr/sbin/amgetconf line N.").
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

from coda_restore import proc
from coda_restore.errors import CommandFailed, ConfigUnreadable, UsageError

AMGETCONF = "amgetconf"
AMTAPE = "amtape"
AMFETCHDUMP = ("amfetchdump", "-a", "-p", "--exact-match")  # -p: only the first match, on stdout
CONFIG_ROOT = "/etc/amanda"  # Debian's CONFIG_DIR: relative paths in amanda.conf are under CONF
_PERL_TRACE = re.compile(r" at \S+ line \d+\.$")


def reason(stderr: str) -> str:
    """Amanda's words for a failure, one line, the Perl trace left out."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not _PERL_TRACE.search(ln.strip())]
    return "; ".join(lines)[-300:] or "amgetconf failed and said nothing"


def as_amanda_user(argv: list[str], user: str | None) -> list[str]:
    """``runuser -u USER -- argv`` when a user is given: Amanda's tools
    refuse to run as root, so a root caller runs them as Amanda's user."""
    return ["runuser", "-u", user, "--", *argv] if user else argv


def build(key: str) -> str:
    """A build setting, asked with no config (``amgetconf build.KEY``).
    Raises CommandFailed."""
    return proc.run([AMGETCONF, f"build.{key}"]).stdout.strip()


def amanda_user() -> tuple[bool, str, str]:
    """(known, detail, user): the user Amanda's tools run as, asked with no
    config (``amgetconf build.CLIENT_LOGIN``), for amrestore when the
    config is gone."""
    try:
        user = build("CLIENT_LOGIN")
    except CommandFailed as err:
        return False, f"amgetconf build.CLIENT_LOGIN: {reason(err.stderr_tail)}", ""
    return True, f"amrestore runs as {user} (Amanda's build.CLIENT_LOGIN); no config needed", user


class AmandaConfig:
    """One Amanda config, as Amanda's own tools report it."""

    def __init__(self, name: str):
        self.name = name

    def get(self, *args: str) -> str:
        """stdout of ``amgetconf NAME ARGS...``; raises ConfigUnreadable."""
        try:
            return proc.run([AMGETCONF, self.name, *args]).stdout
        except CommandFailed as err:
            raise ConfigUnreadable(self.name, reason(err.stderr_tail)) from None

    def _path(self, value: str) -> str:
        value = value.strip()
        return value if os.path.isabs(value) else os.path.join(CONFIG_ROOT, self.name, value)

    def sources(self, logdir: bool = True, tapelist: bool = True,
                holding: bool = True) -> tuple[str | None, str | None, tuple[str, ...] | None]:
        """(logdir, tapelist, holding directories); only the ones asked for
        (None for the others).  Raises ConfigUnreadable."""
        questions = ([("logdir",)] if logdir else []) + ([("tapelist",)] if tapelist else []) \
            + ([("--list", "holdingdisk")] if holding else [])
        # Each amgetconf is a Perl start-up (~0.2 s): ask the questions side by side.
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = iter(pool.map(lambda args: self.get(*args), questions))
            c_logdir = self._path(next(answers)) if logdir else None
            c_tapelist = self._path(next(answers)) if tapelist else None
            dirs = None
            if holding:
                names = next(answers).split()
                dirs = tuple(self._path(d) for d in pool.map(lambda n: self.get(f"holdingdisk:{n}:directory"), names))
        return c_logdir, c_tapelist, dirs

    def tapecycle(self) -> int:
        """``tapecycle``.  Raises ConfigUnreadable, UsageError when not a number."""
        out = self.get("tapecycle").strip()
        try:
            return int(out)
        except ValueError:
            raise UsageError(f"amgetconf {self.name} tapecycle printed {out!r}, not a number") from None

    def dumpcycle(self) -> int | None:
        """``dumpcycle`` in days (None when not a number).  Raises ConfigUnreadable."""
        out = self.get("dumpcycle").strip()
        return int(out) if out.isdigit() else None

    def runtapes(self) -> int:
        """``runtapes`` (1 when not a number).  Raises ConfigUnreadable."""
        out = self.get("runtapes").strip()
        return int(out) if out.isdigit() else 1

    def probe(self) -> tuple[bool, str, str]:
        """(readable, detail, dumpuser): one ``amgetconf NAME dumpuser`` that
        says whether the config answers, for preflight lines."""
        try:
            user = self.get("dumpuser").strip()
        except ConfigUnreadable as err:
            return False, f"{self.name}: cannot be read: {err.args[1]}", ""
        return True, f"{self.name}: readable (dumpuser {user})", user

    def changer_labels(self, user: str | None) -> set[str] | None:
        """Labels the changer holds now (``amtape NAME inventory``, run as
        ``user``), or None when amtape cannot tell."""
        done = proc.run(as_amanda_user([AMTAPE, self.name, "inventory"], user), check=False, timeout=120)
        if done.status != 0:
            return None
        return set(re.findall(r"label (\S+)", done.stdout + done.stderr))

    def indexdir(self) -> str:
        """Where Amanda keeps the index files of this config's dumps."""
        return self._path(self.get("indexdir"))

    def fetch_argv(self, host: str, disk: str, datestamp: str, level: int, user: str | None) -> list[str]:
        """The amfetchdump that writes one dump, Amanda's header first (-h), to stdout."""
        return as_amanda_user([*AMFETCHDUMP, "-h", self.name, host, disk, datestamp, str(level)], user)
