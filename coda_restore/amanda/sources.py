"""Where the Amanda records come from, and finding a volume in them.

``load_catalog`` is the one entry point every command uses: either a config
name (then Amanda itself is asked, ``amgetconf NAME logdir`` / ``tapelist`` /
``--list holdingdisk`` and each ``holdingdisk:H:directory``), or explicit
paths.  Explicit paths win over what the config says, so a copy of the
records can be read with the config's holding disks, for example.

``find_volume`` resolves what an operator typed (a disk name, maybe a host)
to one DLE, with close-match suggestions when it is unknown.
"""

from __future__ import annotations

import difflib
import os
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterable
from pathlib import Path

from coda_restore import proc
from coda_restore.amanda.catalog import build_catalog, list_logs
from coda_restore.amanda.model import Catalog
from coda_restore.errors import AmbiguousVolume, NoRecords, UnknownVolume, UsageError

AMGETCONF = "amgetconf"
CONFIG_ROOT = "/etc/amanda"  # Debian's CONFIG_DIR: relative paths in amanda.conf are under CONF


def _amgetconf(config: str, *args: str) -> str:
    return proc.run([AMGETCONF, config, *args]).stdout


def _config_path(config: str, value: str) -> str:
    value = value.strip()
    return value if os.path.isabs(value) else os.path.join(CONFIG_ROOT, config, value)


def config_sources(config: str) -> tuple[str, str, tuple[str, ...]]:
    """(logdir, tapelist, holding directories) of an Amanda config, as
    Amanda's own amgetconf reports them.  Raises CommandFailed."""
    # Each amgetconf is a Perl start-up (~0.2 s): ask the questions side by side.
    with ThreadPoolExecutor(max_workers=4) as pool:
        logdir, tapelist, names = pool.map(lambda args: _amgetconf(config, *args),
                                           [("logdir",), ("tapelist",), ("--list", "holdingdisk")])
        dirs = pool.map(lambda n: _amgetconf(config, f"holdingdisk:{n}:directory"), names.split())
        holding = tuple(_config_path(config, d) for d in dirs)
    return _config_path(config, logdir), _config_path(config, tapelist), holding


def load_catalog(config: str | None = None, logdir: str | os.PathLike | None = None,
                 tapelist: str | os.PathLike | None = None,
                 holding: Iterable[str | os.PathLike] | None = (), volume: str | None = None) -> Catalog:
    """The catalog of one Amanda config, from ``config`` (asked of amgetconf)
    or explicit paths; explicit paths override the config's.  Without
    ``tapelist`` next to an explicit logdir, ``<logdir>/../tapelist`` is
    tried (Amanda's usual layout).  Raises UsageError when there is nothing
    to read, CommandFailed when amgetconf fails.  With ``volume`` (a disk
    name) only that volume's records are read: fast, and the catalog holds
    only its dumps (see load_volume)."""
    holding = tuple(holding or ())
    if config is None and logdir is None:
        raise UsageError("say where the Amanda records are: --config NAME, or --logdir DIR (and --tapelist FILE)")
    if config is not None:
        c_logdir, c_tapelist, c_holding = config_sources(config)
        logdir = logdir if logdir is not None else c_logdir
        tapelist = tapelist if tapelist is not None else c_tapelist
        holding = holding or c_holding
    if tapelist is None:
        guess = Path(logdir).parent / "tapelist"  # type: ignore[arg-type]
        if guess.is_file():
            tapelist = guess
    if not os.path.isdir(logdir):  # type: ignore[arg-type]
        raise UsageError(f"log directory {os.fspath(logdir)} does not exist")  # type: ignore[arg-type]
    if tapelist is not None and not os.path.isfile(tapelist):
        raise UsageError(f"tapelist {os.fspath(tapelist)} does not exist")
    if not list_logs(os.fspath(logdir), ()):  # an empty answer would look like "nothing is wrong"
        raise NoRecords(os.fspath(logdir))
    return build_catalog(logdir, tapelist, holding, config=config, volume=volume)


def load_volume(volume: str, host: str | None = None, config: str | None = None,
                logdir: str | os.PathLike | None = None, tapelist: str | os.PathLike | None = None,
                holding: Iterable[str | os.PathLike] | None = ()) -> tuple[Catalog, str, str]:
    """(catalog, host, disk) for one volume, reading only its records.  An
    unknown name reads everything once more, to suggest close matches."""
    catalog = load_catalog(config, logdir, tapelist, holding, volume=volume)
    try:
        host_, disk = find_volume(catalog, volume, host)
    except UnknownVolume:
        # Read everything: for the suggestions, and in case the logs spell
        # the name otherwise than Amanda's quoting rules say (then the full
        # catalog, which does not search for the name, still finds it).
        catalog = load_catalog(config, logdir, tapelist, holding)
        host_, disk = find_volume(catalog, volume, host)
    return catalog, host_, disk


def find_volume(catalog: Catalog, volume: str, host: str | None = None) -> tuple[str, str]:
    """The (host, disk) of the DLE named ``volume`` (its disk name; hosts are
    compared case-insensitively, as amindexd does).  Raises UnknownVolume
    with close matches, or AmbiguousVolume when several hosts have it."""
    dles = catalog.volumes()
    on_host = [(h, d) for h, d in dles if host is None or h.lower() == host.lower()]
    matches = [(h, d) for h, d in on_host if d == volume]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise AmbiguousVolume(volume, ", ".join(sorted(h for h, _ in matches)))
    if host is not None and not on_host:
        hosts = sorted({h for h, _ in dles})
        raise UnknownVolume(volume, f" on host {host!r}: no such host" + (
            f"; known hosts: {', '.join(hosts)}" if hosts else ""))
    if host is not None and any(d == volume for _, d in dles):
        hosts = sorted({h for h, d in dles if d == volume})
        raise UnknownVolume(volume, f" on host {host!r}; it is on {', '.join(hosts)}")
    disks = sorted({d for _, d in on_host})
    if not disks:
        raise UnknownVolume(volume, ": the Amanda records name no volumes")
    close = difflib.get_close_matches(volume, disks, n=5, cutoff=0.6)
    close += [d for d in disks if volume.lower() in d.lower() and d not in close][: 5 - len(close)]
    raise UnknownVolume(volume, f"; did you mean {', '.join(close)}?" if close else "")
