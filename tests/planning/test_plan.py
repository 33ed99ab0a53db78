"""plan.py: the JSON form, the canonical hash, and the loader that checks it."""

import hashlib
import json
from datetime import datetime

import pytest

from coda_restore.planning import plan as planmod
from coda_restore.amanda.model import Unavailable
from coda_restore.chain import ChainMode
from coda_restore.errors import BadPlan
from coda_restore.planning.history import VolumeHistory
from coda_restore.planning.planner import make_plan
from coda_restore.planning.when import parse_when, zone

from plan_records import DISK, HOST, ds, dump, holding, tape

NOW = datetime(2004, 3, 10, 12, 0, tzinfo=zone("UTC"))
DUMPS = (
    dump(ds(1), 0, tape("DAILY-01", 1, kb=1000)),
    dump(ds(2), 1, holding("/hold/20040202030000/coda1.u.jan.1", kb=20)),
    dump(ds(3), 1, tape("DAILY-03", 1, unavailable=Unavailable.TAPE_REUSED)),
    dump(ds(4), 0, tape("DAILY-04", 2, kb=900)),
)


def make(when="2004-02-02", mode=ChainMode.EXACT):
    return make_plan(VolumeHistory(HOST, DISK, DUMPS), parse_when(when, now=NOW), mode, config="daily")


def test_json_has_the_documented_fields():
    d = make().to_dict()
    for key in ("schema", "volume", "target", "chain", "restorable", "steps", "tapes", "warnings",
                "alternatives", "plan_hash"):
        assert key in d, key
    assert d["schema"] == "coda-restore.plan/1"
    assert d["volume"] == {"host": HOST, "disk": DISK}
    assert d["target"]["input"] == "2004-02-02" and d["target"]["instant"] == "2004-02-02T23:59:59+00:00"
    assert d["chain"] == "exact" and d["restorable"] is True
    step = d["steps"][1]
    assert {"datestamp", "level", "copy", "why"} <= set(step)
    assert step["copy"]["kind"] == "holding"
    assert d["tapes"] == [{"label": "DAILY-01", "kb": 1000,
                           "files": [{"filenum": 1, "datestamp": ds(1), "level": 0, "partnum": 1, "kb": 1000}]}]
    json.dumps(d)  # plain values only


def test_hash_is_sha256_of_canonical_json_without_the_hash():
    d = make().to_dict()
    h = d.pop("plan_hash")
    body = json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert h == hashlib.sha256(body).hexdigest()


def test_round_trip_and_stable_hash():
    p = make("2004-02-03")  # not restorable: has alternatives and warnings
    assert not p.restorable and p.alternatives and p.warnings
    text = planmod.dumps(p)
    back = planmod.loads(text)
    assert back == p and back.plan_hash == p.plan_hash
    assert make("2004-02-03").plan_hash == p.plan_hash  # deterministic
    assert make("2004-02-02").plan_hash != p.plan_hash


def test_loader_refuses_an_edited_plan(tmp_path):
    d = make().to_dict()
    d["steps"][0]["level"] = 1
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(d))
    with pytest.raises(BadPlan) as info:
        planmod.load(path)
    assert "plan_hash does not match" in str(info.value) and info.value.exit_status == 2


@pytest.mark.parametrize("text, message", [
    ("not json", "not JSON"),
    ("[]", "not a JSON object"),
    ('{"schema": "coda-restore.plan/9"}', "schema"),
    ('{"schema": "coda-restore.plan/1"}', "malformed plan"),
])
def test_loader_refuses_malformed_documents(text, message):
    with pytest.raises(BadPlan) as info:
        planmod.loads(text)
    assert message in str(info.value)


def test_loader_reports_a_missing_file(tmp_path):
    with pytest.raises(BadPlan):
        planmod.load(tmp_path / "absent.json")
