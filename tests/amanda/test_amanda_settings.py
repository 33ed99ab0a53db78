"""The reader of ``amadmin CONF config``, on the text real Amanda 3.5 printed
for the standard lab (captured from tests/lab's config codarestore-lab)."""

from __future__ import annotations

from coda_restore.amanda.config import parse_settings
from paths import REPO

CAPTURED = (REPO / "tests/data/amanda/amadmin-config-lab.txt").read_text()


def test_top_level_settings_and_the_holding_disks_directory():
    s = parse_settings(CAPTURED)
    assert (s.values["LOGDIR"], s.values["TAPELIST"], s.values["DUMPUSER"]) == (
        "/var/tmp/codarestore-lab/log", "/var/tmp/codarestore-lab/tapelist", "backup")
    assert (s.values["TAPECYCLE"], s.values["DUMPCYCLE"], s.values["RUNTAPES"]) == ("6", "4", "2")
    assert s.holding_dirs == ("/var/tmp/codarestore-lab/holding",)


def test_a_block_s_settings_are_not_taken_for_top_level_ones():
    # every DEFINE block has a COMMENT; dumptypes have a HOLDINGDISK of their own (AUTO)
    s = parse_settings(CAPTURED)
    assert s.values["HOLDINGDISK"] == "hd1" and "COMMENT" not in s.values and "DIRECTORY" not in s.values


def test_quoted_strings_are_unescaped_and_several_holding_disks_kept_in_order():
    text = ('LOGDIR                "/srv/a \\"b\\" \\\\c"\n'
            'DEFINE HOLDINGDISK one {\n      DIRECTORY "/h1"\n}\n'
            'DEFINE HOLDINGDISK two {\n      DIRECTORY "rel/h2"\n}\n')
    s = parse_settings(text)
    assert s.values["LOGDIR"] == '/srv/a "b" \\c' and s.holding_dirs == ("/h1", "rel/h2")
