"""Quiet hours per phone type, in the contact's time zone (issue #14 item 2; 002_... "Schedule", "Time zones")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ccaas_emulator.db.models import DeliveryEvent
from ccaas_emulator.domain import TimeZoneHandling
from ccaas_emulator.quiet_hours import DAYS

NO_ANSWER, LIVE_ANSWER = "+15005550002", "+15005550001"
PACIFIC = "(GMT-08:00) Pacific Time (US & Canada)"
NIGHTS = json.dumps([{"day": day, "start": start, "end": end} for day in DAYS
                     for start, end in (("00:00", "08:00"), ("21:00", "24:00"))])  # fmt: skip


def quiet_engagement(emulator, *, handling=TimeZoneHandling.CUSTOMER, **columns) -> str:
    config = emulator.engagement(dialMode="Copilot")
    nights = emulator.quiet_time(transactional_weekly_hours=NIGHTS)
    emulator.planner(config, quiet_time_mobile_phone=nights, time_zone_handling=handling, **columns)
    return config


def post_at(emulator, moment, config, contact, hours=24):
    emulator.set_clock(moment)
    return emulator.post_chain([contact], config=config, windows=[(moment, moment + timedelta(hours=hours))])


def test_a_seattle_contact_posted_at_22_local_is_first_dialled_when_its_quiet_hours_end(emulator):
    config = quiet_engagement(emulator)
    ten_pm = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 22:00 PST on the 24th
    task_id = post_at(emulator, ten_pm, config, {"mobilePhoneNumber": LIVE_ANSWER, "timezone": PACIFIC})

    emulator.advance("PT6H")
    [held] = emulator.task_dials(task_id)
    eight_am = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 08:00 PST
    assert (held.status, held.window_start_date, held.earliest_schedule_date) == ("Pending", eight_am, eight_am)

    emulator.advance("PT6H")
    assert emulator.task_dials(task_id)[0].start_date == eight_am


def test_quiet_hours_end_at_local_eight_across_the_end_of_daylight_saving(emulator):
    config = quiet_engagement(emulator)
    ten_pm_pdt = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)  # 22:00 PDT on 31 October; clocks go back at 02:00
    task_id = post_at(emulator, ten_pm_pdt, config, {"mobilePhoneNumber": LIVE_ANSWER, "timezone": PACIFIC})

    emulator.advance("PT14H")

    assert emulator.task_dials(task_id)[0].start_date == datetime(
        2026, 11, 1, 16, 0, tzinfo=UTC
    )  # 08:00 PST, not 15:00


def test_a_contact_without_a_time_zone_and_utc_handling_use_utc(emulator):
    for config, contact in (
        (quiet_engagement(emulator), {"mobilePhoneNumber": LIVE_ANSWER}),
        (
            quiet_engagement(emulator, handling=TimeZoneHandling.SYSTEM),
            {"mobilePhoneNumber": LIVE_ANSWER, "timezone": PACIFIC},
        ),
    ):
        task_id = post_at(emulator, datetime(2026, 11, 24, 22, 0, tzinfo=UTC), config, contact)
        emulator.advance("PT12H")
        assert emulator.task_dials(task_id)[0].start_date == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_a_quiet_phone_is_skipped_for_the_next_phone_of_the_chain(emulator):
    config = quiet_engagement(emulator)  # only the mobile phone has quiet hours
    ten_pm = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    contact = {"mobilePhoneNumber": NO_ANSWER, "homePhoneNumber": LIVE_ANSWER, "timezone": PACIFIC}
    task_id = post_at(emulator, ten_pm, config, contact)

    emulator.advance("PT10M")

    [dial] = emulator.task_dials(task_id)
    assert (dial.to_address, dial.result, dial.start_date) == (LIVE_ANSWER, "LiveAnswer", ten_pm)
    with emulator.database.read() as session:
        skipped = session.scalars(select(DeliveryEvent.detail).where(
            DeliveryEvent.delivery_id == dial.id, DeliveryEvent.from_status == "Pending",
            DeliveryEvent.to_status == "Pending")).one()  # fmt: skip
    assert (skipped["reason"], skipped["skippedNumber"], skipped["phoneType"]) == ("QuietHours", NO_ANSWER,
                                                                                   "HomePhoneNumber")  # fmt: skip
    assert emulator.task(task_id).customer_reached is True


def test_a_delivery_whose_windows_end_inside_quiet_hours_expires(emulator):
    config = quiet_engagement(emulator)
    ten_pm = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    task_id = post_at(emulator, ten_pm, config, {"mobilePhoneNumber": LIVE_ANSWER, "timezone": PACIFIC}, hours=4)

    emulator.advance("PT1H")

    [expired] = emulator.task_dials(task_id)
    assert (expired.status, expired.result, expired.start_date) == ("Expired", "Expired", None)
    assert emulator.result_attributes(expired.id)["ExpiredReason"] == "QuietHours"
    assert emulator.task(task_id).status == "Expired"


def test_quiet_dates_hold_a_whole_day(emulator):
    config = emulator.engagement(dialMode="Copilot")
    holiday = emulator.quiet_time(transactional_dates=json.dumps([{"start": "2026-12-25", "end": "2026-12-25"}]))
    emulator.planner(config, quiet_time_mobile_phone=holiday)
    christmas = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)
    task_id = post_at(emulator, christmas, config, {"mobilePhoneNumber": LIVE_ANSWER}, hours=48)

    emulator.advance("P1D")

    assert emulator.task_dials(task_id)[0].start_date == datetime(2026, 12, 26, 0, 0, tzinfo=UTC)
