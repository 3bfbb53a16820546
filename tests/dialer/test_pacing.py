"""Predictive pacing's documented clamps (wire-facts C2), as plain functions."""

from __future__ import annotations

import uuid

from ccaas_emulator.dialer import capacity
from ccaas_emulator.domain import DialMode, EngagementPriority


def test_the_scale_factor_changes_at_most_35_percent_per_interval():
    assert capacity.next_scale(1.0, abandonment_rate=0.9) == 0.65
    assert capacity.next_scale(1.0, abandonment_rate=0.0) <= 1.35


def test_the_scale_factor_stays_between_0_1_and_2():
    scale = 1.0
    for _ in range(50):
        scale = capacity.next_scale(scale, abandonment_rate=1.0)
    assert scale == 0.1
    for _ in range(200):
        scale = capacity.next_scale(scale, abandonment_rate=0.0)
    assert scale == 2.0


def test_without_history_the_scale_is_kept():
    assert capacity.next_scale(1.3, abandonment_rate=None) == 1.3


def test_the_base_rate_is_one_over_the_live_answer_rate():
    assert capacity.predictive_ratio(scale=1.0, answer_rate=0.25) == 4.0
    assert capacity.predictive_ratio(scale=0.5, answer_rate=0.25) == 2.0
    assert capacity.predictive_ratio(scale=1.0, answer_rate=None) == 2.0


def test_copilot_is_capped_at_500_concurrent_calls():
    engagement = capacity.Engagement(uuid.uuid4(), DialMode.COPILOT, EngagementPriority.NORMAL, 900, 1, 100)

    assert capacity.copilot_slots(engagement) == 400
