"""Frequency limits: a contact is engaged at most N times a day and a week, days and weeks counted in its own time
zone (issue #14 item 3; 002_... "Frequency limits", "Time zones")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ccaas_emulator.domain import TimeZoneHandling
from tests.support.demo import NOW

LIVE_ANSWER = "+15005550001"
PACIFIC = "(GMT-08:00) Pacific Time (US & Canada)"
TWO_DAYS = [(NOW, NOW + timedelta(days=2))]  # NOW is Tuesday 2026-11-24 12:00 UTC, 04:00 in Seattle


def capped(emulator, **columns) -> str:
    config = emulator.engagement(dialMode="Copilot")
    emulator.planner(config, **({"frequency_limit_enabled": True} | columns))
    return config


def two_tasks(emulator, config, *, timezone=PACIFIC, windows=TWO_DAYS):
    contact = {"uniqueIdentifier": "cap-1", "mobilePhoneNumber": LIVE_ANSWER}
    if timezone:
        contact["timezone"] = timezone
    return [emulator.post_chain([contact], config=config, windows=windows) for _ in range(2)]


def test_a_one_a_day_limit_holds_the_second_task_until_the_contacts_next_local_day(emulator):
    config = capped(emulator, max_frequency_per_day=1)
    first, second = two_tasks(emulator, config)

    emulator.advance("PT1H")
    assert emulator.task_dials(first)[0].start_date == NOW
    held = emulator.task_dials(second)[0]
    midnight_in_seattle = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert (held.status, held.window_start_date, held.earliest_schedule_date) == (
        "Pending", midnight_in_seattle, midnight_in_seattle)  # fmt: skip

    emulator.advance("P1D")
    assert emulator.task_dials(second)[0].start_date == midnight_in_seattle


def test_a_contact_without_a_time_zone_counts_days_in_utc(emulator):
    config = capped(emulator, max_frequency_per_day=1)
    _, second = two_tasks(emulator, config, timezone=None)

    emulator.advance("P1D")

    assert emulator.task_dials(second)[0].start_date == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def test_utc_handling_ignores_the_contacts_time_zone(emulator):
    config = capped(emulator, max_frequency_per_day=1, time_zone_handling=TimeZoneHandling.SYSTEM)
    _, second = two_tasks(emulator, config)

    emulator.advance("P1D")

    assert emulator.task_dials(second)[0].start_date == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def test_a_one_a_week_limit_lets_the_second_task_expire_when_its_windows_end_first(emulator):
    config = capped(emulator, max_frequency_per_week=1)
    _, second = two_tasks(emulator, config)

    emulator.advance("P3D")

    [expired] = emulator.task_dials(second)
    assert (expired.status, expired.result, expired.start_date) == ("Expired", "Expired", None)
    assert emulator.result_attributes(expired.id)["ExpiredReason"] == "FrequencyCap"
    assert emulator.task(second).status == "Expired"


def test_limits_switched_off_or_unset_hold_nothing(emulator):
    for config in (capped(emulator, frequency_limit_enabled=False, max_frequency_per_day=1), capped(emulator)):
        first, second = two_tasks(emulator, config)
        emulator.advance("PT1H")
        assert [emulator.task_dials(t)[0].start_date for t in (first, second)] == [
            emulator.task_dials(first)[0].start_date] * 2  # fmt: skip


def test_the_first_generation_voice_action_is_not_capped_but_counts(emulator):
    config = capped(emulator, max_frequency_per_day=1)
    first = emulator.post(LIVE_ANSWER, config=config, windows=TWO_DAYS)
    second = emulator.post(LIVE_ANSWER, config=config, windows=TWO_DAYS)  # the same demo contact

    emulator.advance("PT1H")

    assert [emulator.delivery(d).start_date for d in (first, second)] == [NOW, NOW]  # wire-facts A1: no capping
