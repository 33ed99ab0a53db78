"""Damaged Amanda logs across every record-reading command (issue 13, the
standing suite), fuzzed with a fixed seed: one clear message, a documented
status, no traceback, nothing written, no RESTORABLE over a damaged log."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adversarial.records import LOGS, OPS, judge


@pytest.mark.parametrize("op", OPS)
def test_each_kind_of_damage_in_the_chain_s_log_ends_clearly(op):
    verdict = judge("log.20260307010000.0", op, 78, 40, b"\x9c garbage")
    assert verdict.ok, verdict


@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(LOGS), st.sampled_from(OPS), st.integers(0, 400), st.integers(0, 400), st.binary(max_size=12))
def test_fuzzed_log_damage_ends_clearly_for_every_command(log, op, line, at, junk):
    verdict = judge(log, op, line, at, junk)
    assert verdict.ok, verdict
