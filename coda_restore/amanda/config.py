"""The one door to Amanda's tools: ``amadmin``, ``amgetconf``, ``amtape``
and the ``amfetchdump`` argv stem.

``AmandaConfig(name)`` asks one config what a command needs (where its
records are, tapecycle, runtapes, dumpcycle, dumpuser) in one child,
``amadmin NAME config`` (Amanda's C parser prints every setting: one ~50 ms
start, where each ``amgetconf`` is a Perl start of ~0.2 s).  amadmin runs
only as the config's dumpuser: as root it is run again as the user its
refusal names.  The answer is kept for the command being run (``forget``
drops it when the next command starts), never across commands.  What the
changer holds is ``amtape NAME inventory``.  The planner shows, and the
executor runs, ``AMFETCHDUMP`` from here.

A config that cannot be read (unknown name, no permission, a parse error)
is one ``ConfigUnreadable`` naming the config and Amanda's own reason,
without the Perl trace amgetconf adds ("... at /usr/sbin/amgetconf line N.").
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from coda_restore import proc
from coda_restore.errors import CommandFailed, ConfigUnreadable, UsageError

AMGETCONF = "amgetconf"
AMADMIN = "amadmin"
AMTAPE = "amtape"
AMFETCHDUMP = ("amfetchdump", "-a", "-p", "--exact-match")  # -p: only the first match, on stdout
CONFIG_ROOT = "/etc/amanda"  # Debian's CONFIG_DIR: relative paths in amanda.conf are under CONF
_PERL_TRACE = re.compile(r" at \S+ line \d+\.$")
_ONLY_REPEATS = re.compile(r"^\S+: errors processing config file")  # after the parse error that says why
_WRONG_USER = re.compile(r'must be executed as the "([^"]+)" user')


def reason(stderr: str) -> str:
    """Amanda's words for a failure, one line, the Perl trace left out."""
    lines = [ln.strip() for ln in stderr.splitlines()
             if ln.strip() and not _PERL_TRACE.search(ln.strip()) and not _ONLY_REPEATS.match(ln.strip())]
    return "; ".join(lines)[-300:] or "Amanda failed and said nothing"


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


@dataclass(frozen=True)
class Settings:
    """What ``amadmin NAME config`` printed: top-level settings by upper-case
    name, and each holding disk's directory, as Amanda wrote them (unquoted)."""

    values: dict[str, str]
    holding_dirs: tuple[str, ...]


def _unquote(text: str) -> str:
    r"""Amanda's quoted strings: "..." with \\, \" and \n-style escapes."""
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        return text
    escapes = {"n": "\n", "t": "\t", "r": "\r", "f": "\f"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), text[1:-1])


def parse_settings(text: str) -> Settings:
    """``amadmin NAME config``: ``KEY value`` lines at the left margin, then
    ``DEFINE KIND NAME {`` blocks; of those only a holding disk's DIRECTORY
    is read."""
    values: dict[str, str] = {}
    dirs: list[str] = []
    block = None
    for line in text.splitlines():
        words = line.split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        if block is not None:
            if words[0] == "}":
                block = None
            elif block == "HOLDINGDISK" and words[0] == "DIRECTORY" and len(words) == 2:
                dirs.append(_unquote(words[1].strip()))
        elif line.startswith("DEFINE ") and line.rstrip().endswith("{"):
            block = line.split()[1].upper()
        elif not line[0].isspace():
            values[words[0].upper()] = _unquote(words[1].strip()) if len(words) == 2 else ""
    return Settings(values, tuple(dirs))


_asked: dict[str, Settings | ConfigUnreadable] = {}


def forget() -> None:
    """Drop the settings kept for the last command: each command asks anew."""
    _asked.clear()


class AmandaConfig:
    """One Amanda config, as Amanda's own tools report it."""

    def __init__(self, name: str):
        self.name = name

    def settings(self) -> Settings:
        """Every setting, from one ``amadmin NAME config`` (kept for this
        command).  Raises ConfigUnreadable."""
        if self.name not in _asked:
            try:
                _asked[self.name] = parse_settings(self._amadmin_config())
            except ConfigUnreadable as err:
                _asked[self.name] = err
        got = _asked[self.name]
        if isinstance(got, ConfigUnreadable):
            raise got
        return got

    def _amadmin_config(self) -> str:
        """amadmin runs only as the dumpuser.  Root runs it as the owner of
        the config's amanda.conf (Debian's layout), and if Amanda names
        another user in its refusal, once more as that one."""
        argv = [AMADMIN, self.name, "config"]
        env = {**os.environ, "LC_ALL": "C"}  # the refusal below is matched in English
        done = proc.run(as_amanda_user(argv, self._owner()), check=False, env=env)
        wrong_user = _WRONG_USER.search(done.stderr)
        if done.status != 0 and wrong_user and os.geteuid() == 0:
            done = proc.run(as_amanda_user(argv, wrong_user.group(1)), check=False, env=env)
        if done.status != 0:
            raise ConfigUnreadable(self.name, reason(done.stderr))
        return done.stdout

    def _owner(self) -> str | None:
        """For root, the user owning the config's amanda.conf (None: run as is)."""
        if os.geteuid() != 0:
            return None
        try:
            import pwd

            owner = pwd.getpwuid(os.stat(os.path.join(CONFIG_ROOT, self.name, "amanda.conf")).st_uid).pw_name
        except (OSError, KeyError):
            return None
        return owner if owner != "root" else None

    def _value(self, key: str) -> str:
        return self.settings().values.get(key.upper(), "")

    def _path(self, value: str) -> str:
        value = value.strip()
        return value if os.path.isabs(value) else os.path.join(CONFIG_ROOT, self.name, value)

    def sources(self, logdir: bool = True, tapelist: bool = True,
                holding: bool = True) -> tuple[str | None, str | None, tuple[str, ...] | None]:
        """(logdir, tapelist, holding directories); only the ones asked for
        (None for the others; nothing asked, no child).  Raises ConfigUnreadable."""
        if not (logdir or tapelist or holding):
            return None, None, None
        return (self._path(self._value("logdir")) if logdir else None,
                self._path(self._value("tapelist")) if tapelist else None,
                tuple(self._path(d) for d in self.settings().holding_dirs) if holding else None)

    def tapecycle(self) -> int:
        """``tapecycle``.  Raises ConfigUnreadable, UsageError when not a number."""
        out = self._value("tapecycle").strip()
        try:
            return int(out)
        except ValueError:
            raise UsageError(f"amadmin {self.name} config gave tapecycle {out!r}, not a number") from None

    def dumpcycle(self) -> int | None:
        """``dumpcycle`` in days (None when not a number).  Raises ConfigUnreadable."""
        out = self._value("dumpcycle").strip()
        return int(out) if out.isdigit() else None

    def runtapes(self) -> int:
        """``runtapes`` (1 when not a number).  Raises ConfigUnreadable."""
        out = self._value("runtapes").strip()
        return int(out) if out.isdigit() else 1

    def probe(self) -> tuple[bool, str, str]:
        """(readable, detail, dumpuser): whether the config answers, for
        preflight lines."""
        try:
            user = self._value("dumpuser").strip()
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
        return self._path(self._value("indexdir"))

    def fetch_argv(self, host: str, disk: str, datestamp: str, level: int, user: str | None) -> list[str]:
        """The amfetchdump that writes one dump, Amanda's header first (-h), to stdout."""
        return as_amanda_user([*AMFETCHDUMP, "-h", self.name, host, disk, datestamp, str(level)], user)
