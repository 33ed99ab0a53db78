"""``coda-restore verify`` on the Coda lab: real Amanda (amdump ran amcoda,
which wrote the index lines Amanda keeps under its indexdir; amfetchdump
reads the vtapes), the chains proven without volutil.  A drill must also
fail: on the chain a manual dump outside Amanda broke (night n12), and on
an index file that no longer names what its image holds."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cli_runner import run_cli
from coda_restore.errors import NONE_DONE, PARTIAL
from lab.coda_lab import CodaLab

pytestmark = pytest.mark.lab


def _verify(lab: CodaLab, tmp_path, *args, exit_status=0) -> dict:
    out = run_cli("verify", *args, "--config", lab.config, "--workdir", tmp_path / "w", "--json",
                  exit_status=exit_status).stdout
    assert not list((tmp_path / "w").rglob("*.dump*"))  # the drill's spool is removed
    return json.loads(out)


def _indexdir(lab: CodaLab) -> str:
    return subprocess.run(["amgetconf", lab.config, "indexdir"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_verify_all_proves_every_chain_with_amandas_index(coda_lab, tmp_path):
    doc = _verify(coda_lab, tmp_path, "--all", "--date", "2026-05-14")
    assert doc["schema"] == "coda-restore.verify/1" and doc["proven"] and doc["exit_status"] == 0
    volumes = {v["disk"]: v for v in doc["volumes"]}
    assert set(volumes) == {"/coda/u.jan", "/coda/p.proj"}
    for v in volumes.values():
        assert v["proven"] and v["links"]["prove_chain"], v["reasons"]
        assert len(v["links"]["checked"]) == len(v["steps"]) - 1 and all(k["ok"] for k in v["links"]["checked"])
        for image in v["images"]:
            # each dump's index file, as amdump left it, equals the names of its image
            assert image["valid"] and image["index"].startswith(_indexdir(coda_lab)) and image["names"]["ok"]
        assert v["merged"]["valid"] and v["merged"]["names"]["ok"] and v["merged"]["vnodes"] > 0
    # u.jan's 05-14 dump is a level 0: the merged volume is exactly its index
    (only,) = volumes["/coda/u.jan"]["steps"]
    assert only.startswith("20260514") and only.endswith("/0")
    assert volumes["/coda/u.jan"]["merged"]["names"]["check"] == "merged = target's index"
    assert len(volumes["/coda/p.proj"]["steps"]) > 1


def test_the_chain_a_manual_dump_broke_is_not_proven(coda_lab, tmp_path):
    doc = _verify(coda_lab, tmp_path, "--all", exit_status=PARTIAL)
    volumes = {v["disk"]: v for v in doc["volumes"]}
    jan = volumes["/coda/u.jan"]
    assert not jan["proven"] and [k["ok"] for k in jan["links"]["checked"]] == [False]
    assert any("is not" in r and "latest" in r for r in jan["reasons"])
    assert jan["images"][0]["valid"] and jan["images"][0]["names"]["ok"]  # the level 0 itself is fine
    assert volumes["/coda/p.proj"]["proven"], volumes["/coda/p.proj"]["reasons"]


def test_an_index_that_lost_a_name_makes_the_drill_fail(coda_lab, tmp_path):
    copy = tmp_path / "index"
    shutil.copytree(_indexdir(coda_lab), copy)  # the lab's own index is shared: tamper with a copy
    good = _verify(coda_lab, tmp_path, coda_lab.disk("p.proj"), "--date", "2026-05-14", "--indexdir", copy)
    (proof,) = good["volumes"]
    target = next(i for i in proof["images"] if i["dump"] == proof["steps"][0])  # the level 0: files named
    path = Path(target["index"])
    assert path.is_relative_to(copy)
    lines = gzip.decompress(path.read_bytes()).splitlines()
    dropped = next(line for line in lines if line != b"/" and not line.endswith(b"/"))
    path.write_bytes(gzip.compress(b"".join(line + b"\n" for line in lines if line != dropped)))
    doc = _verify(coda_lab, tmp_path, coda_lab.disk("p.proj"), "--date", "2026-05-14", "--indexdir", copy,
                  exit_status=NONE_DONE)
    (proof,) = doc["volumes"]
    bad = next(i for i in proof["images"] if i["dump"] == target["dump"])
    assert bad["names"]["extra"] == [dropped.decode()] and bad["names"]["extra_count"] == 1
    assert any(dropped.decode() in r for r in proof["reasons"])
