"""How many calls each engagement may start now: dial modes, priority and round robin (002_..., C2).

Capacity is counted in representatives. A representative-led call (Progressive, Predictive, Preview)
holds 1/max-calls-per-agent of one while it is in progress; Copilot calls hold none and are limited
by the engagement's maximum concurrent calls instead.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import timedelta

from ccaas_emulator.domain import DialMode, EngagementPriority

COPILOT_MAX_CONCURRENT = 500  # 002_...: "The maximum number that you can specify is 500."
PREDICTIVE_MIN_REPRESENTATIVES = 10  # C2: below 10 available representatives, predictive acts progressive
SCALE_MIN, SCALE_MAX = 0.1, 2.0  # C2: scale factor clamped 0.1-2.0
SCALE_STEP_CAP = 0.35  # C2: rate change capped at +-35 % per interval
TARGET_ABANDONMENT = 0.03
PACING_INTERVAL = timedelta(minutes=1)  # how often predictive pacing re-evaluates its scale factor
DEFAULT_ANSWER_RATE = 0.5


@dataclass(frozen=True)
class Engagement:
    """What dispatch needs to know of an engagement configuration."""

    id: uuid.UUID
    dial_mode: DialMode
    priority: EngagementPriority
    max_concurrent_calls: int
    max_calls_per_agent: int
    in_flight: int
    predictive_ratio: float = 1.0

    @property
    def representative_led(self) -> bool:
        return self.dial_mode is not DialMode.COPILOT

    def cost_per_call(self, available_representatives: float) -> float:
        """Representatives one more call of this engagement takes out of the pool."""
        if self.dial_mode is DialMode.PREVIEW:
            return 1.0  # preview reserves a representative before it dials
        if self.dial_mode is DialMode.PREDICTIVE and available_representatives >= PREDICTIVE_MIN_REPRESENTATIVES:
            return 1.0 / max(self.predictive_ratio, 0.1)
        return 1.0 / max(self.max_calls_per_agent, 1)


def available_representatives(representatives: int, in_flight: list[Engagement]) -> float:
    """Representatives not held by representative-led calls in progress."""
    held = sum(e.in_flight / max(e.max_calls_per_agent, 1) for e in in_flight if e.representative_led)
    return max(0.0, representatives - held)


def copilot_slots(engagement: Engagement) -> int:
    limit = min(max(engagement.max_concurrent_calls, 1), COPILOT_MAX_CONCURRENT)
    return max(0, limit - engagement.in_flight)


def allocate(
    group: list[Engagement], *, budget: float, pool: float, cursor: int, wanted: dict[uuid.UUID, int]
) -> dict[uuid.UUID, int]:
    """Calls to start per engagement of one priority on one queue: round robin from `cursor`, one call at
    a time, while `budget` representatives last; `pool` (the representatives available when the tick
    began) decides whether predictive pacing applies; `wanted` caps each engagement."""
    grants = {engagement.id: 0 for engagement in group}
    if not group:
        return {}
    ordered = group[cursor % len(group) :] + group[: cursor % len(group)]
    remaining = budget
    progress = True
    while progress and remaining > 1e-9:
        progress = False
        for engagement in ordered:
            if grants[engagement.id] >= wanted.get(engagement.id, 0):
                continue
            cost = engagement.cost_per_call(pool)
            if cost > remaining + 1e-9:
                continue
            grants[engagement.id] += 1
            remaining -= cost
            progress = True
    return {key: value for key, value in grants.items() if value}


def predictive_ratio(*, scale: float, answer_rate: float | None) -> float:
    """Calls per available representative: base rate 1/live-answer rate, times the scale factor (C2)."""
    rate = answer_rate if answer_rate and answer_rate > 0 else DEFAULT_ANSWER_RATE
    return max(0.1, min(10.0, (1.0 / rate) * scale))


def next_scale(scale: float, *, abandonment_rate: float | None) -> float:
    """Move the scale factor toward the abandonment target, at most 35 % per interval, within 0.1-2.0."""
    if abandonment_rate is None:
        return scale
    if abandonment_rate > TARGET_ABANDONMENT:
        factor = max(1 - SCALE_STEP_CAP, TARGET_ABANDONMENT / abandonment_rate)
    else:
        factor = min(1 + SCALE_STEP_CAP, 1 + (TARGET_ABANDONMENT - abandonment_rate) / TARGET_ABANDONMENT * 0.1)
    return max(SCALE_MIN, min(SCALE_MAX, scale * factor))


def abandoned_beyond(answered_so_far: int, available: float) -> bool:
    """Predictive over-dials: an answered call no representative can take is abandoned."""
    return answered_so_far > math.floor(available + 1e-9)
