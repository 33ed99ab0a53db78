"""amcoda under a real Amanda (the Coda lab, testbed/lab/coda_lab.py): amcheck
passes, amdump's nights succeed (but the night the server was down), Amanda
chooses levels 0-3 itself, every image amfetchdump returns is a valid Coda
dump (``coda-restore inspect``), and the headers chain: each incremental's
``oldest`` equals the ``latest`` of the previous recorded dump."""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from coda_restore.voldump.reader import DumpReader
from lab import coda_lab as coda_lab_module
from lab.builder import LabError, load_or_build, run_as_backup
from lab.coda_lab import VOLUMES, CodaLab, ManualDump, Night, at_epoch, checkout_tool, install_amcoda, volutil_wrapper

pytestmark = pytest.mark.lab

# STRANGE dumper lines carry no datestamp (ref amanda-formats §1.6): the run's
# is in the log file's name.
# A failed estimate (amcoda counts an incremental with a dump) is a FAIL planner line.
_RESULT = re.compile(r"^(SUCCESS|FAIL|STRANGE) (?:dumper|planner) (\S+) (\S+) (?:(\d{14}) )?(\d+) (.*)$", re.M)


@dataclass(frozen=True)
class DumperResult:
    kind: str
    disk: str
    datestamp: str
    level: int
    rest: str


def dumper_results(lab: CodaLab) -> list[DumperResult]:
    out = []
    for log in sorted(lab.lab.logdir.glob("log.*")):
        run = log.name.split(".")[1]
        for m in _RESULT.finditer(log.read_text(errors="replace")):
            out.append(DumperResult(m.group(1), m.group(3), m.group(4) or run, int(m.group(5)),
                                    m.group(6)))
    return sorted(out, key=lambda r: (r.datestamp, r.disk))


def recorded(lab: CodaLab, volume: str) -> list[DumperResult]:
    """The dumps the client finished (and so marked on the server), in time order."""
    return [r for r in dumper_results(lab)
            if r.disk == lab.disk(volume) and r.kind in ("SUCCESS", "STRANGE")]


def fetch(lab: CodaLab, r: DumperResult, tmp_path) -> bytes | None:
    """The image as amfetchdump returns it, or None when no copy is left."""
    out = tmp_path / f"{r.disk.replace('/', '_')}.{r.datestamp}.{r.level}"
    with open(out, "wb") as f:
        p = run_as_backup(["amfetchdump", "-a", "-p", lab.config, "localhost", r.disk,
                           r.datestamp, str(r.level)], lab.lab.clock, check=False, stdout=f)
    if p.returncode != 0:
        assert "No matching dumps found" in p.stderr, p.stderr
        return None
    return out.read_bytes()


def header(image: bytes):
    return DumpReader(io.BytesIO(image)).read_header()


def night_of(r: DumperResult) -> str:
    return f"{r.datestamp[:4]}-{r.datestamp[4:6]}-{r.datestamp[6:8]}"


def test_amcheck_passes_with_amcoda(coda_lab):
    p = coda_lab.lab.amanda("amcheck", coda_lab.config, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 problems found" in p.stdout


def test_every_night_dumps_every_volume_but_the_night_the_server_was_down(coda_lab):
    results = dumper_results(coda_lab)
    for night in coda_lab.nights:
        day = night.at[:10]
        for volume in VOLUMES:
            kinds = {r.kind for r in results if r.disk == coda_lab.disk(volume)
                     and night_of(r) == day}
            if night.server_down:
                assert kinds == {"FAIL"}, (night.name, volume, kinds)
            else:
                assert kinds == {"SUCCESS"}, (night.name, volume, kinds)
    failed = [r for r in results if r.kind == "FAIL"]
    # one line each: volutil's binding line is not in it (ref §23 row 10)
    assert failed and all("amcoda: " in r.rest and "volutil" in r.rest and "V_BindToServer" not in r.rest
                          for r in failed)


def test_amanda_chooses_levels_0_to_3_itself(coda_lab):
    levels = {r.level for v in VOLUMES for r in recorded(coda_lab, v)}
    assert {0, 1, 2, 3} <= levels


def test_fetched_images_are_valid_and_their_headers_chain(coda_lab, tmp_path, cli):
    broken = foreign = 0
    for volume in VOLUMES:
        dumps = recorded(coda_lab, volume)
        images = {r: fetch(coda_lab, r, tmp_path) for r in dumps}
        assert sum(i is not None for i in images.values()) >= 4, volume
        for r, image in images.items():
            if image is None:
                continue
            path = tmp_path / "image"
            path.write_bytes(image)
            cli("inspect", str(path))  # exit 0: a valid dump
            h = header(image)
            assert h.level == r.level, (r, h.level)  # no silent full-dump fallback here
            assert h.backup_date <= at_epoch(f"{night_of(r)} 01:00:00") + 600
        for prev, cur in zip(dumps, dumps[1:]):
            if images[cur] is None or header(images[cur]).level == 0:
                continue
            if images[prev] is None:
                broken += 1  # the recorded base is on no tape: a broken link
                continue
            if _manual_dump_before(coda_lab, volume, cur):
                # relative to the operator's dump, which Amanda never saw
                assert header(images[cur]).oldest > header(images[prev]).latest, (prev, cur)
                foreign += 1
                continue
            assert header(images[cur]).oldest == header(images[prev]).latest, (prev, cur)
    # n06's dumps were recorded, then their holding files were lost
    assert broken >= 1
    assert foreign == 1  # n12's u.jan


def _manual_dump_before(lab: CodaLab, volume: str, r: DumperResult) -> bool:
    night = next(n for n in lab.nights if n.at.startswith(night_of(r)))
    return isinstance(night.edit, ManualDump) and night.edit.volume == volume


def test_amcheckdump_validates_the_last_tape_with_amcoda(coda_lab):
    p = coda_lab.lab.amanda("amcheckdump", coda_lab.config, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    # amcheckdump runs `amcoda validate` on each image of the last run's tape
    assert "Validating image localhost:/coda/u.jan" in p.stdout
    assert re.search(r"All images \(\d+\) successfully validated", p.stdout), p.stdout


def test_the_first_nights_tape_was_reused(coda_lab, tmp_path):
    first = coda_lab.nights[0].at[:10]
    gone = [r for v in VOLUMES for r in recorded(coda_lab, v) if night_of(r) == first]
    assert gone and all(fetch(coda_lab, r, tmp_path) is None for r in gone)


def test_amcoda_restore_of_a_fetched_full_dump_recreates_the_volume(coda_lab, tmp_path):
    """amfetchdump | amcoda restore (the installed application, as user
    backup, as amrecover would run it): the restored volume is the
    simulator's u.jan as it was when the dump's clone was made."""
    fulls = [r for r in recorded(coda_lab, "u.jan") if r.level == 0]
    r, image = next((r, i) for r in reversed(fulls) if (i := fetch(coda_lab, r, tmp_path)) is not None)
    src = tmp_path / "full"
    src.write_bytes(image)
    name = "u.jan.amcoda-test"
    bin_dir = Path(tempfile.mkdtemp(prefix="amcoda-bin.", dir="/var/tmp"))  # user backup must reach it
    try:
        bin_dir.chmod(0o755)
        volutil = checkout_tool(coda_lab.lab.root, bin_dir)  # this checkout's server, as §23 describes one
        with open(src, "rb") as stdin:
            p = run_as_backup([str(install_amcoda()), "restore", "--config", coda_lab.config,
                               "--disk", "/coda/u.jan", "--level", "0",
                               "--volutil", str(volutil),
                               "--partition", "/vicepb", "--restore-name", name, "."],
                              coda_lab.lab.clock, check=False, stdin=stdin)
    finally:
        shutil.rmtree(bin_dir)
    assert p.returncode == 0, p.stderr
    assert "VolRestore successful" in p.stderr and "amcoda: verified" in p.stderr
    server = coda_lab.server()
    try:
        # the night's clone (the header's backupDate is the first clone's, ref §23 row 5)
        assert server.state(name) == server.state_at("u.jan", at_epoch(f"{night_of(r)} 01:00:00"))
    finally:
        restored = server.volume(name)
        run_as_backup([str(volutil_wrapper(coda_lab.lab.root)), "purge", f"{restored.id:08x}",
                       name], coda_lab.lab.clock)


def test_the_lost_holding_night_is_recorded_but_on_no_tape(coda_lab, tmp_path):
    """A broken link: the client finished (the server marked the dump), but
    the holding files were lost before any tape saw them."""
    lost = next(n for n in coda_lab.nights if n.lose_holding).at[:10]
    dumps = [r for v in VOLUMES for r in recorded(coda_lab, v) if night_of(r) == lost]
    assert len(dumps) == len(VOLUMES)
    assert all(fetch(coda_lab, r, tmp_path) is None for r in dumps)


# --- the silent full-dump fallback, through Amanda (a small lab of its own) ---


def lose_ancient_lists(server) -> None:
    """The server loses its .ancient lists (ref §12.2): the next incremental
    is silently a full dump."""
    for path in server.backup_dir.glob("*.ancient"):
        path.unlink()
    with server.edit("u.jan") as ed:
        ed.write("/after-loss", b"x" * 2048)


FALLBACK_NIGHTS = (
    Night("f1", "2026-06-01 01:00:00", coda_lab_module._mon, note="fulls"),
    Night("f2", "2026-06-02 01:00:00", lose_ancient_lists, expect_status=None,
          note="Amanda asks for incrementals; the server makes fulls"),
)


@pytest.fixture(scope="module")
def fallback_lab():
    spec = coda_lab_module.spec(FALLBACK_NIGHTS, config="codarestore-coda-fallback")
    try:
        lab = load_or_build(spec, reuse=os.environ.get("CODARESTORE_LAB_REUSE", "") not in ("", "0"))
    except LabError as err:
        pytest.fail(f"cannot build the fallback lab: {err}", pytrace=False)
    return CodaLab(lab, FALLBACK_NIGHTS)


def test_a_silent_full_dump_is_strange_in_amanda_and_its_header_says_level_0(fallback_lab, tmp_path):
    second = [r for r in dumper_results(fallback_lab) if night_of(r) == "2026-06-02"]
    assert {r.disk for r in second} == {fallback_lab.disk(v) for v in VOLUMES}
    incrementals = [r for r in second if r.level > 0]  # Amanda may promote one to a full
    assert incrementals, second
    for r in second:
        image = fetch(fallback_lab, r, tmp_path)
        assert image is not None and header(image).level == 0  # every image is a full
        assert r.kind == ("STRANGE" if r.level > 0 else "SUCCESS"), r
    log = "".join(p.read_text(errors="replace") for p in fallback_lab.lab.logdir.glob("log.*"))
    assert re.search(r"\? amcoda: asked for level \d but the server made a full dump", log)
