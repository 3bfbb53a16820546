"""Who may not be contacted, as pure rules: opt-out words, the Do not contact disposition, and whether a
cancellation policy covers a contact (issue #14 items 6-7; wire-facts C4). The tables are db/models/compliance.py;
the dialer checks both before every dial and SMS (dialer/dispatcher.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

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
