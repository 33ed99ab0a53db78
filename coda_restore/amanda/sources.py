"""Where the Amanda records come from, and finding a volume in them.

``load_catalog`` is the one entry point every command uses: either a config
name (then Amanda itself is asked through ``AmandaConfig.sources``, one
``amadmin NAME config``), or explicit paths.  Explicit paths win over what the config says, so a copy of the
records can be read with the config's holding disks, for example.

Several configs (``--config daily --config archive``) are several
``Source``s; ``load_sources`` folds their catalogs into one
(``merge_catalogs``), each dump and copy knowing its config.  Explicit paths
name their config with a prefix, ``--logdir NAME=DIR`` (``sources_of``).

``find_volume`` resolves what an operator typed (a disk name, maybe a host)
to one DLE, with close-match suggestions when it is unknown.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from coda_restore.amanda.catalog import build_catalog, list_logs, merge_catalogs
from coda_restore.amanda.config import AmandaConfig
from coda_restore.amanda.model import Catalog
from coda_restore.errors import AmbiguousVolume, NoRecords, UnknownVolume, UsageError

if TYPE_CHECKING:
    from coda_restore.amanda.catalog_index import IndexUse

SEVERAL_INDEX = ("--index PATH names the index of one logdir: with several configs each logdir keeps its own "
                 "index in its default place (leave out --index, or give --no-index)")
SEVERAL_UNNAMED = ("with several configs, say which config each path belongs to: --logdir NAME=DIR, "
                   "--tapelist NAME=FILE, --holding NAME=DIR")
_NAMED = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)=(.+)", re.S)


@dataclass(frozen=True)
class Source:
    """The records of one config: its name (None when paths alone are
    given and name none) and the paths given for it (None and (): ask
    amgetconf, or the usual layout)."""

    config: str | None = None
    logdir: str | None = None
    tapelist: str | None = None
    holding: tuple[str, ...] = ()
    ask: bool = True  # ask amgetconf ``config`` for what is not given (False: a NAME= prefix only names it)


def named(path: str | os.PathLike) -> tuple[str | None, str]:
    """(config, path) of ``NAME=PATH``; (None, path) of a plain path.  A
    path with ``=`` before its first ``/`` is written ``./a=b``."""
    text = os.fspath(path)
    m = _NAMED.fullmatch(text)
    return (m.group(1), m.group(2)) if m and "/" not in m.group(1) else (None, text)


def sources_of(configs: Sequence[str] = (), logdirs: Sequence[str | os.PathLike] = (),
               tapelists: Sequence[str | os.PathLike] = (),
               holdings: Sequence[str | os.PathLike] = ()) -> tuple[Source, ...]:
    """The Sources the shared options name: one per ``--config`` and per
    other ``NAME=`` prefix, in the order named.  With one source, paths need
    no prefix (today's options); with several, every path needs one.
    Raises UsageError."""
    names = list(dict.fromkeys(configs))
    if len(names) != len(configs):
        raise UsageError("a --config is named twice")
    given: dict[str, dict[str | None, list[str]]] = {"logdir": {}, "tapelist": {}, "holding": {}}
    for what, paths in (("logdir", logdirs), ("tapelist", tapelists), ("holding", holdings)):
        for path in paths:
            name, p = named(path)
            given[what].setdefault(name, []).append(p)
            if name is not None and name not in names:
                names.append(name)
    if len(names) > 1 and any(None in g for g in given.values()):
        raise UsageError(SEVERAL_UNNAMED)
    out = []
    for name in names or [None]:
        # one source: its paths with or without the prefix; several: by prefix
        keys = (name,) if len(names) > 1 else tuple(dict.fromkeys((name, None)))
        logdir, tapelist, holding = ([p for k in keys for p in given[what].get(k, ())]
                                     for what in ("logdir", "tapelist", "holding"))
        for what, paths in (("--logdir", logdir), ("--tapelist", tapelist)):
            if len(paths) > 1:
                raise UsageError(f"{what} is given twice" + (f" for config {name}" if name else ""))
        if name is not None and name not in configs and not logdir:
            raise UsageError(f"{name} is no --config and has no --logdir {name}=DIR")
        out.append(Source(name, logdir[0] if logdir else None, tapelist[0] if tapelist else None,
                          tuple(dict.fromkeys(holding)), ask=name in configs))
    return tuple(out)


def load_sources(sources: Sequence[Source], volume: str | None = None,
                 scan: str | os.PathLike | None = None, index: IndexUse | None = None) -> Catalog:
    """load_catalog of each source, folded into one catalog (see
    merge_catalogs); one source is exactly load_catalog.  Each source's
    lines come from its own logdir's index (its default place: one index
    per logdir); the config is attached when the lines are folded, so the
    index cannot change an answer.  An explicit ``index.path`` names one
    logdir's index, so it is refused with several sources (UsageError)."""
    if len(sources) == 1:
        s = sources[0]
        return load_catalog(s.config, s.logdir, s.tapelist, s.holding, volume=volume, scan=scan, index=index,
                            ask=s.ask)
    if index is not None and index.path is not None:
        raise UsageError(SEVERAL_INDEX)
    merged = merge_catalogs([load_catalog(s.config, s.logdir, s.tapelist, s.holding, volume=volume, index=index,
                                          ask=s.ask)
                             for s in sources], [s.config for s in sources])
    if scan is None:
        return merged
    from coda_restore import scan as scanning  # the scan reads Coda headers: not needed otherwise

    return scanning.with_links(merged, scanning.catalog_of(scanning.load(scan), os.fspath(scan)))


def load_catalog(config: str | None = None, logdir: str | os.PathLike | None = None,
                 tapelist: str | os.PathLike | None = None,
                 holding: Iterable[str | os.PathLike] | None = (), volume: str | None = None,
                 scan: str | os.PathLike | None = None, index: IndexUse | None = None,
                 ask: bool = True) -> Catalog:
    """The catalog of one Amanda config, from ``config`` (asked of Amanda)
    or explicit paths; explicit paths override the config's.  Without
    ``tapelist`` next to an explicit logdir, ``<logdir>/../tapelist`` is
    tried (Amanda's usual layout).  Raises UsageError when there is nothing
    to read, ConfigUnreadable when Amanda cannot read the config, NoRecords when the
    logdir holds no Amanda log.  With ``volume`` (a disk
    name) only that volume's records are read: fast, and the catalog holds
    only its dumps (see load_volume), taken from the catalog index when
    ``index`` says to use one (catalog_index.py).  With ``ask`` False,
    ``config`` only names the records (nothing is asked of Amanda)."""
    holding = tuple(holding or ())
    if scan is not None:
        return _with_scan(scan, config, logdir, tapelist, holding, volume, index, ask)
    logdir, tapelist, holding, beside = records_of(config, logdir, tapelist, holding, ask)
    lines = None
    if index is not None and volume is not None:  # only one volume's reads use the index
        from coda_restore.amanda.catalog_index import open_index

        lines = open_index(index, logdir, beside)
    return build_catalog(logdir, tapelist, holding, config=config, volume=volume, index=lines)


def records_of(config: str | None, logdir: str | os.PathLike | None, tapelist: str | os.PathLike | None,
               holding: tuple[str | os.PathLike, ...], ask: bool = True
               ) -> tuple[str | os.PathLike, str | os.PathLike | None, tuple[str | os.PathLike, ...], bool]:
    """(logdir, tapelist, holding disks, whether they are a config's own
    records) from what was given, checked (see load_catalog)."""
    if (config is None or not ask) and logdir is None:
        raise UsageError("say where the Amanda records are: --config NAME, or --logdir DIR (and --tapelist FILE), "
                         "or --scan FILE (a scan of the tapes)")
    beside = config is not None and ask and logdir is None  # the config's own records: its index may live beside them
    if config is not None and ask:  # ask Amanda only what was not given
        c_logdir, c_tapelist, c_holding = AmandaConfig(config).sources(logdir is None, tapelist is None, not holding)
        logdir = logdir if logdir is not None else c_logdir
        tapelist = tapelist if tapelist is not None else c_tapelist
        holding = holding or c_holding or ()
    if tapelist is None:
        guess = Path(logdir).parent / "tapelist"  # type: ignore[arg-type]
        if guess.is_file():
            tapelist = guess
    wrong = _not_a(logdir, directory=True)  # type: ignore[arg-type]
    if wrong:
        raise UsageError(f"log directory {os.fspath(logdir)} {wrong}")  # type: ignore[arg-type]
    wrong = _not_a(tapelist, directory=False) if tapelist is not None else None
    if wrong:
        raise UsageError(f"tapelist {os.fspath(tapelist)} {wrong}")
    if not list_logs(os.fspath(logdir), ()):  # an empty answer would look like "nothing is wrong"
        raise NoRecords(os.fspath(logdir))
    return logdir, tapelist, tuple(holding), beside  # type: ignore[return-value]


def _with_scan(scan, config, logdir, tapelist, holding, volume, index, ask=True) -> Catalog:
    """A scan file alone, or Amanda's records with the Coda headers the scan
    read (so that the planner checks one against the other)."""
    from coda_restore import scan as scanning  # the scan reads Coda headers: not needed otherwise

    scanned = scanning.catalog_of(scanning.load(scan), os.fspath(scan))
    if config is None and logdir is None:
        if holding:
            raise UsageError("--holding goes to coda-restore scan, not next to --scan FILE")
        return scanned
    return scanning.with_links(load_catalog(config, logdir, tapelist, holding, volume, index=index, ask=ask),
                               scanned)


def _not_a(path: str | os.PathLike, directory: bool) -> str | None:
    """What is wrong with a record path, truly said ("does not exist" only
    when it does not), or None when it is the directory or file wanted."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "does not exist"
    except OSError as err:
        return f"cannot be read: {err.strerror}"
    if directory:
        if not stat.S_ISDIR(mode):
            return "is not a directory"
        return None if os.access(path, os.R_OK | os.X_OK) else "cannot be read: Permission denied"
    if stat.S_ISREG(mode):
        return None
    return "is a directory, not a file" if stat.S_ISDIR(mode) else "is not a regular file (a FIFO or a device)"


def load_volume(volume: str, host: str | None = None, config: str | None = None,
                logdir: str | os.PathLike | None = None, tapelist: str | os.PathLike | None = None,
                holding: Iterable[str | os.PathLike] | None = (),
                scan: str | os.PathLike | None = None, index: IndexUse | None = None,
                sources: Sequence[Source] | None = None) -> tuple[Catalog, str, str]:
    """(catalog, host, disk) for one volume, reading only its records (from
    the index, with ``index``), of one config or of ``sources`` (several
    folded, see load_sources).  An unknown name reads everything once
    more, to suggest close matches."""
    if sources is None:
        sources = (Source(config, logdir, tapelist, tuple(holding or ())),)
    catalog = load_sources(sources, volume=volume, scan=scan, index=index)
    try:
        host_, disk = find_volume(catalog, volume, host)
    except UnknownVolume:
        # Read everything: for the suggestions, and in case the logs spell
        # the name otherwise than Amanda's quoting rules say (then the full
        # catalog, which does not search for the name, still finds it).
        catalog = load_sources(sources, scan=scan)
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


def select_volumes(catalog: Catalog, names: Iterable[str]) -> list[tuple[str, str]]:
    """The (host, disk) of every DLE with one of these disk names, in the
    order named, each once; all of the catalog's volumes when no name is
    given.  A name no host has raises UnknownVolume (see find_volume)."""
    known = catalog.volumes()
    chosen: list[tuple[str, str]] = []
    for name in names:
        matches = [v for v in known if v[1] == name]
        if not matches:
            find_volume(catalog, name)  # raises UnknownVolume with suggestions
        chosen += [v for v in matches if v not in chosen]
    return chosen or list(known)
