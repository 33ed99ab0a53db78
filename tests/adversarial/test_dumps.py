"""Hostile dumps across every command (issue 13, item 4 and the standing
suite): directory pages with a flipped bit, a duplicate name, a second '.',
a '/' in a name, and hypothesis' own flips, fuzzed with a fixed seed.  One
validator (dirpage.validate) decides for all commands, so they agree."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adversarial.dumps import judge, root_pages_at
from coda_restore.voldump import dirpage
from voldump_vectors import f1, f1_parts

AT, LENGTH = root_pages_at()


def _with_root_pages(pages: bytes) -> bytes:
    data = f1()
    return data[:AT] + pages + data[AT + LENGTH:]


def _rename(pages: bytes, old: bytes, new: bytes) -> bytes:
    """Overwrite a name in place, as a hand-edited image would (its hash
    bucket is then wrong unless the new name hashes alike)."""
    assert len(new) <= len(old) and pages.count(old + b"\0") == 1
    return pages.replace(old + b"\0", new.ljust(len(old), b"\0") + b"\0")


def _hand_made():
    pages = f1_parts()[0][0].pages  # the root: a.txt sub link x1 x2
    cases = {
        "slash in a name": _rename(pages, b"a.txt", b"a/txt"),
        "duplicate name": _rename(pages, b"x1", b"x2"),
        "second dot-dot": _rename(pages, b"x1", b".."),
        "second dot": _rename(pages, b"x1", b"."),
    }
    # a flipped bit in each hash chain head that is in use
    for bucket in range(dirpage.NHASH):
        at = dirpage._HASHTABLE + 2 * bucket
        if pages[at:at + 2] != b"\0\0":
            flipped = bytearray(pages)
            flipped[at + 1] ^= 0x01
            cases[f"hash chain {bucket} bit 0"] = bytes(flipped)
    return cases


HAND_MADE = _hand_made()


@pytest.mark.parametrize("case", sorted(HAND_MADE))
def test_a_hostile_directory_is_refused_by_every_command_alike(case):
    verdict = judge(_with_root_pages(HAND_MADE[case]))
    assert verdict.ok, verdict
    assert set(verdict.statuses.values()) == {4}, verdict


def test_the_sound_dump_passes_every_command():
    verdict = judge(f1())
    assert verdict.ok and set(verdict.statuses.values()) == {0}, verdict


@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, LENGTH - 1), st.integers(0, 7)), min_size=1, max_size=3))
def test_bit_flips_in_directory_pages_get_one_verdict_from_every_command(flips):
    pages = bytearray(f1_parts()[0][0].pages)
    for at, bit in flips:
        pages[at] ^= 1 << bit
    verdict = judge(_with_root_pages(bytes(pages)))
    assert verdict.ok, verdict
