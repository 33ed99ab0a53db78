"""The one door to Amanda's configuration: ``amgetconf CONF KEY``.

A config that cannot be read (unknown name, no permission, a parse error)
is one ``ConfigUnreadable`` naming the config and Amanda's own reason,
without the Perl trace amgetconf adds ("... at /usr/sbin/amgetconf line N.").
"""

from __future__ import annotations

import re

from coda_restore import proc
from coda_restore.errors import CommandFailed, ConfigUnreadable

AMGETCONF = "amgetconf"
_PERL_TRACE = re.compile(r" at \S+ line \d+\.$")


def reason(stderr: str) -> str:
    """Amanda's words for a failure, one line, the Perl trace left out."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not _PERL_TRACE.search(ln.strip())]
    return "; ".join(lines)[-300:] or "amgetconf failed and said nothing"


def amgetconf(config: str, *args: str) -> str:
    """stdout of ``amgetconf CONFIG ARGS...``; raises ConfigUnreadable."""
    try:
        return proc.run([AMGETCONF, config, *args]).stdout
    except CommandFailed as err:
        raise ConfigUnreadable(config, reason(err.stderr_tail)) from None


def probe(config: str) -> tuple[bool, str, str]:
    """(readable, detail, dumpuser): one ``amgetconf CONF dumpuser`` that
    says whether the config answers, for preflight lines."""
    try:
        user = amgetconf(config, "dumpuser").strip()
    except ConfigUnreadable as err:
        return False, f"{config}: cannot be read: {err.args[1]}", ""
    return True, f"{config}: readable (dumpuser {user})", user


def amanda_user() -> tuple[bool, str, str]:
    """(known, detail, user): the user Amanda's tools run as, asked with no
    config (``amgetconf build.CLIENT_LOGIN``), for amrestore when the
    config is gone."""
    try:
        user = proc.run([AMGETCONF, "build.CLIENT_LOGIN"]).stdout.strip()
    except CommandFailed as err:
        return False, f"amgetconf build.CLIENT_LOGIN: {reason(err.stderr_tail)}", ""
    return True, f"amrestore runs as {user} (Amanda's build.CLIENT_LOGIN); no config needed", user
