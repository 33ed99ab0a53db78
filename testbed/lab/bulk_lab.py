"""The bulk lab: many simulated Coda volumes under real Amanda, for whole-server
restores (``run --plan BULK``) and ``bench/bulk.py``.

Built like the Coda lab (``coda_lab.spec``): amcoda dumps every volume of a
codasim server night by night, Amanda picks the levels (bumps low, so levels
1-3 appear) and spreads the level 0s over the dumpcycle.  There are fewer
vtape slots than nights, so the last nights reuse the first tapes: their
dumps vanish, and an incremental on a reused low-numbered tape can come
before its level 0 on a higher-numbered one.

The changer is ``chg-disk``, which is a multi-drive changer: each process
that reserves a vtape gets its own ``driveN`` directory (``drive0``,
``drive1``, ...) pointing at the slot, and a slot held by a live process is
not given to another one (``Amanda/Changer/disk.pm``: ``_alloc_drive``,
``_is_slot_in_use``).  So two amfetchdumps on two tapes run at once, each
through its own drive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codasim.server import Server

from . import coda_lab
from .coda_lab import CodaLab, Night

K = 1024
CONFIG = "codarestore-bulk"


def volume_names(n: int) -> tuple[str, ...]:
    return tuple(f"u.b{i:02d}" for i in range(1, n + 1))


@dataclass(frozen=True)
class Grow:
    """Night ``night`` of the bulk lab: every volume gets a new file, every
    third one also loses its previous one (a deletion, reported once)."""

    volumes: tuple[str, ...]
    night: int
    size_kb: int = 6

    def __call__(self, s: Server) -> None:
        for i, volume in enumerate(self.volumes):
            with s.edit(volume) as ed:
                if self.night == 1:
                    ed.mkdir("/d")
                    ed.write("/d/base", coda_lab._blob(f"{volume}base", (self.size_kb * 3 + i % 5) * K))
                ed.write(f"/d/n{self.night}", coda_lab._blob(f"{volume}{self.night}", (self.size_kb + i % 3) * K))
                if self.night > 1 and (i + self.night) % 3 == 0:
                    ed.remove(f"/d/n{self.night - 1}")


def nights(volumes: tuple[str, ...], count: int, size_kb: int) -> tuple[Night, ...]:
    return tuple(Night(f"b{n:02d}", f"2026-06-{n:02d} 01:00:00", Grow(volumes, n, size_kb)) for n in range(1, count + 1))


@dataclass(frozen=True)
class BulkLab:
    """What a bulk lab is made of; ``spec()`` is its LabSpec."""

    volumes: int = 6
    nights: int = 9
    slots: int = 6  # fewer than nights: the last nights reuse the first tapes
    size_kb: int = 6
    config: str = CONFIG

    def names(self) -> tuple[str, ...]:
        return volume_names(self.volumes)

    def night_list(self) -> tuple[Night, ...]:
        return nights(self.names(), self.nights, self.size_kb)

    def spec(self):
        return coda_lab.spec(self.night_list(), config=self.config, volumes=self.names(),
                             slots=self.slots, tapecycle=self.slots - 1, runtapes=1, dumpcycle=4,
                             tape_length_kb=4 * 1024)


def load_or_build(desc: BulkLab, reuse: bool = True, progress=lambda m: None) -> CodaLab:
    from .builder import load_or_build as build_lab

    lab = CodaLab(build_lab(desc.spec(), reuse=reuse, progress=progress), desc.night_list())
    coda_lab.install_amcoda()
    return lab


def lock_path(desc: BulkLab) -> Path:
    return Path("/var/tmp") / f"{desc.config}.lock"
