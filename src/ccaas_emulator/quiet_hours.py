"""Quiet hours: when a phone may not be called, read from a quiet-time setting (msdynmkt_quiettimesetting), as pure
rules (issue #14 item 2; docs/history/2026-11-30-quiet-time-research.md).

The real table keeps its quiet windows in Memo columns whose text format Microsoft does not document; the format
here is ours:

- weekly hours (`msdynmkt_transactionalweeklyhours`, `msdynmkt_commercialweeklyhours`): a JSON array of
  `{"day": "Monday", "start": "21:00", "end": "24:00"}`, local wall-clock times, start before end, `24:00` allowed
  as an end (a night is two entries: 21:00-24:00 and, the next day, 00:00-08:00, as the Journeys UI asks for it);
- dates (`msdynmkt_transactionaldates`, `msdynmkt_commercialdates`): a JSON array of
  `{"start": "2026-12-24", "end": "2026-12-26"}`, whole local days, both ends included, at most 21 days each
  (Journeys' limit).

A moment is quiet when either the transactional or the commercial rules say so. The advanced rules
(`msdynmkt_advancedquiettimes`) are stored, not evaluated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_ENTRIES = 200
MAX_DATE_SPAN = timedelta(days=21)


class QuietHoursError(ValueError):
    """A weekly-hours or dates value that is not in the documented (emulator's) shape."""


@dataclass(frozen=True)
class WeeklySpan:
    weekday: int  # 0 Monday
    start: time
    end: time | None  # None: until midnight (24:00)


@dataclass(frozen=True)
class DateSpan:
    first: date
    last: date


@dataclass(frozen=True)
class QuietHours:
    """One setting's rules, both kinds together."""

    weekly: tuple[WeeklySpan, ...] = ()
    dates: tuple[DateSpan, ...] = ()

    def quiet_at(self, local: datetime) -> bool:
        day, clock = local.date(), local.time().replace(tzinfo=None)
        if any(span.first <= day <= span.last for span in self.dates):
            return True
        return any(
            span.weekday == day.weekday() and span.start <= clock and (span.end is None or clock < span.end)
            for span in self.weekly
        )

    def quiet_until(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """None when `moment` is not quiet in `zone`; otherwise the first moment (UTC) after it that is not."""
        local = moment.astimezone(zone)
        if not self.quiet_at(local):
            return None
        # Step through the local boundaries (span ends, midnights) until one is not quiet; wall-clock times are
        # turned into instants by zoneinfo, so a quiet end at 08:00 is 08:00 local on either side of a DST change.
        for _ in range(64):
            local = self._next_boundary(local, zone)
            if not self.quiet_at(local):
                return local.astimezone(UTC)
        return None  # quiet for good (more than 64 boundaries): treated as quiet until the windows end

    def _next_boundary(self, local: datetime, zone: ZoneInfo) -> datetime:
        wall = local.replace(tzinfo=None)
        candidates = [datetime.combine(wall.date() + timedelta(days=1), time(0))]
        for span in self.weekly:
            if span.weekday == wall.weekday() and span.end is not None and span.end > wall.time():
                candidates.append(datetime.combine(wall.date(), span.end))
        return min(candidates).replace(tzinfo=zone)


def _time(text: Any, *, where: str, allow_midnight: bool) -> time | None:
    if not isinstance(text, str):
        raise QuietHoursError(f'{where} must be a time such as "21:00".')
    if allow_midnight and text.strip() == "24:00":
        return None
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise QuietHoursError(f"{where} '{text}' is not a time such as \"21:00\".") from None


def _entries(text: str | None, *, column: str) -> list[Any]:
    if text is None or not text.strip():
        return []
    try:
        value = json.loads(text)
    except ValueError:
        raise QuietHoursError(f"{column} must be a JSON array.") from None
    if not isinstance(value, list):
        raise QuietHoursError(f"{column} must be a JSON array.")
    if len(value) > MAX_ENTRIES:
        raise QuietHoursError(f"{column} has {len(value)} entries; at most {MAX_ENTRIES} are allowed.")
    return value


def parse_weekly(text: str | None, *, column: str) -> tuple[WeeklySpan, ...]:
    spans = []
    for index, entry in enumerate(_entries(text, column=column)):
        where = f"{column}[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"day", "start", "end"}:
            raise QuietHoursError(f'{where} must be {{"day": "Monday", "start": "21:00", "end": "24:00"}}.')
        if entry["day"] not in DAYS:
            raise QuietHoursError(f"{where}.day must be one of {', '.join(DAYS)}.")
        start = _time(entry["start"], where=f"{where}.start", allow_midnight=False)
        end = _time(entry["end"], where=f"{where}.end", allow_midnight=True)
        assert start is not None
        if end is not None and end <= start:
            raise QuietHoursError(f"{where}: end must be after start (a night is two entries, split at midnight).")
        spans.append(WeeklySpan(DAYS.index(entry["day"]), start, end))
    return tuple(spans)


def parse_dates(text: str | None, *, column: str) -> tuple[DateSpan, ...]:
    spans = []
    for index, entry in enumerate(_entries(text, column=column)):
        where = f"{column}[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"start", "end"}:
            raise QuietHoursError(f'{where} must be {{"start": "2026-12-24", "end": "2026-12-26"}}.')
        try:
            first, last = date.fromisoformat(entry["start"]), date.fromisoformat(entry["end"])
        except (TypeError, ValueError):
            raise QuietHoursError(f'{where}: start and end must be dates such as "2026-12-24".') from None
        if last < first:
            raise QuietHoursError(f"{where}: end must not be before start.")
        if last - first >= MAX_DATE_SPAN:
            raise QuietHoursError(f"{where}: a quiet period lasts at most 21 days.")
        spans.append(DateSpan(first, last))
    return tuple(spans)


def of(setting: Any) -> QuietHours:
    """A quiet-time setting row's rules (transactional and commercial together). Raises QuietHoursError."""
    weekly = parse_weekly(setting.transactional_weekly_hours, column="msdynmkt_transactionalweeklyhours")
    weekly += parse_weekly(setting.commercial_weekly_hours, column="msdynmkt_commercialweeklyhours")
    dates = parse_dates(setting.transactional_dates, column="msdynmkt_transactionaldates")
    dates += parse_dates(setting.commercial_dates, column="msdynmkt_commercialdates")
    return QuietHours(weekly, dates)
