"""Who may not be contacted, as pure rules: opt-out words, the Do not contact disposition, and whether a
cancellation policy covers a contact (issue #14 items 6-7; wire-facts C4). The tables are db/models/compliance.py;
the dialer checks both before every dial and SMS (dialer/dispatcher.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from ccaas_emulator.quiet_hours import QuietHours

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
"""SMS replies that opt the number out: the carriers' standard keywords (the consent doc names STOP)."""
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
"""SMS replies that opt the number back in."""
DO_NOT_CONTACT = "do not contact"
"""The system disposition code that opts the contact out (wire-facts C4), compared without regard to case."""


def reply_keyword(text: str) -> str | None:
    """'STOP', 'START' or None: what an SMS reply asks for (one keyword, any case, surrounding spaces ignored)."""
    word = text.strip().upper()
    if word in OPT_OUT_WORDS:
        return "STOP"
    if word in OPT_IN_WORDS:
        return "START"
    return None


def says_do_not_contact(disposition_codes: list[str] | tuple[str, ...]) -> bool:
    return any(code.strip().strip('"').strip().casefold() == DO_NOT_CONTACT for code in disposition_codes)


class PolicyColumns(Protocol):
    engagement_config_id: uuid.UUID | None
    country: str | None
    state: str | None
    postal_code: str | None
    execute_until: datetime | None


@dataclass(frozen=True)
class Whereabouts:
    """What a policy can match a delivery on: its engagement and its contact's address."""

    engagement_config_id: str
    country: str | None
    state: str | None
    postal_code: str | None


def _same(wanted: str | None, actual: str | None) -> bool:
    return wanted is None or (actual is not None and wanted.strip().casefold() == actual.strip().casefold())


def in_force(policy: PolicyColumns, now: datetime) -> bool:
    """A policy applies until its Execute policy until date, or for good without one."""
    return policy.execute_until is None or now <= policy.execute_until


def covers(policy: PolicyColumns, where: Whereabouts) -> bool:
    """Every criterion the policy gives matches (AND); a criterion it leaves out matches anything."""
    engagement = None if policy.engagement_config_id is None else str(policy.engagement_config_id).lower()
    return (
        (engagement is None or engagement == where.engagement_config_id.lower())
        and _same(policy.country, where.country)
        and _same(policy.state, where.state)
        and _same(policy.postal_code, where.postal_code)
    )


# --- frequency caps (issue #14 item 3; 002_... "Frequency limits") ----------------------------------------


@dataclass(frozen=True)
class FrequencyCap:
    """An engagement's limits on how often one contact is engaged, across channels (None: no limit)."""

    per_day: int | None
    per_week: int | None

    @property
    def limits(self) -> bool:
        return self.per_day is not None or self.per_week is not None


def _local_day_start(moment: datetime, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def cap_reopens(cap: FrequencyCap, engaged: list[datetime], now: datetime, zone: ZoneInfo) -> datetime | None:
    """None when the contact may be engaged at `now`; otherwise the moment (UTC) the limit resets.

    `engaged` are the moments the contact was dialled or sent an SMS. Days run midnight to midnight and weeks Monday
    to Monday, in `zone` (the contact's, or UTC), so a limit resets at local midnight whatever DST does."""
    day_start = _local_day_start(now, zone)
    reopen: datetime | None = None
    if cap.per_day is not None:
        today = sum(1 for moment in engaged if moment >= day_start.astimezone(UTC))
        if today >= cap.per_day:
            next_day = (day_start.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone)
            reopen = next_day.astimezone(UTC)
    if cap.per_week is not None:
        week_start = (day_start.replace(tzinfo=None) - timedelta(days=day_start.weekday())).replace(tzinfo=zone)
        this_week = sum(1 for moment in engaged if moment >= week_start.astimezone(UTC))
        if this_week >= cap.per_week:
            next_week = (week_start.replace(tzinfo=None) + timedelta(days=7)).replace(tzinfo=zone).astimezone(UTC)
            reopen = max(reopen, next_week) if reopen else next_week
    return reopen


@dataclass(frozen=True)
class ContactRules:
    """An engagement's rules on when a contact may be reached: its frequency limits, the quiet hours of each phone
    type, and the time zone both are read in (the planner's msdyn_comm_time_zone_handling)."""

    cap: FrequencyCap | None
    quiet: dict[str, QuietHours]
    """Phone type (PhoneType's value) -> its quiet hours; a type without a quiet-time setting has none."""
    customer_time_zone: bool
    """Each contact's own time zone (else UTC: handling System)."""
    default_zone: str | None
    """msdyn_comm_default_timezone, resolved: for a contact without a time zone (else UTC)."""

    def zone_for(self, contact_zone: str | None) -> ZoneInfo:
        if not self.customer_time_zone:
            return ZoneInfo("UTC")
        return ZoneInfo(contact_zone or self.default_zone or "UTC")
