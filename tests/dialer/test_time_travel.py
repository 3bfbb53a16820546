"""Time travel as a discrete-event simulation (issue #17 item 1): the fast advance gives the journal and the final
deliveries of the old one-tick-per-event-time advance, event for event."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ccaas_emulator.db.models import DeliveryEvent, DeliveryTask, ProactiveDelivery
from ccaas_emulator.dialer import repository, runner
from ccaas_emulator.domain import ContactDelayUnit, PhoneDelayUnit, ReattemptReason, WaitTimeUnit
from ccaas_emulator.quiet_hours import DAYS
from tests.support.database import reset_database
from tests.support.demo import NOW
from tests.support.in_process import InProcessEmulator, window

NO_ANSWER, LIVE_ANSWER, INVALID = "+15005550002", "+15005550001", "+15005550003"
SMS_CONFIG = "b2c3d4e5-f6a7-8901-bcde-f12345678901"  # the demo SMS engagement
NIGHTS = json.dumps([{"day": day, "start": start, "end": end} for day in DAYS
                     for start, end in (("00:00", "08:00"), ("21:00", "24:00"))])  # fmt: skip
SEATTLE = "Pacific Standard Time"
UNSTABLE_COLUMNS = {"sequence", "lease_expires_at"}  # real time: differ between any two runs


def scenario(emulator: InProcessEmulator) -> None:
    """Several engagements and dial modes, chains with delays and reattempts, windows that close, scripted, magic
    and seeded outcomes, opt-outs, a cancellation policy, SMS, quiet hours and a frequency cap; advanced in steps."""
    emulator.set_clock(NOW)
    rng = random.Random(17)
    seeded = [f"+1555{rng.randrange(10**6, 10**7)}" for _ in range(40)]  # drawn outcomes
    copilot = emulator.engagement(dialMode="Copilot", maxConcurrentCalls=3)
    emulator.planner(copilot, reattempt_rules=(ReattemptReason.NO_ANSWER, ReattemptReason.ANSWERING_MACHINE),
                     number_of_retries=2, delay_between_retries=20, wait_time_unit=WaitTimeUnit.MINUTES,
                     delay_between_contacts=5, delay_between_contacts_unit=ContactDelayUnit.MINUTES,
                     delay_between_phone_numbers=2, delay_between_phone_numbers_unit=PhoneDelayUnit.MINUTES,
                     retry_on_disposition_codes='"Call back"', retry_priority=1)  # fmt: skip
    queue = str(uuid.uuid4())
    progressive = emulator.engagement(dialMode="Progressive", queue=queue, representatives=2, priority="High")
    predictive = emulator.engagement(dialMode="Predictive", representatives=12)
    preview = emulator.engagement(dialMode="Preview", queue=queue, processingOrder="Last In First Out")
    busy = emulator.engagement(dialMode="Preview", representatives=1)
    quiet = emulator.engagement(dialMode="Copilot")
    nights = emulator.quiet_time(transactional_weekly_hours=NIGHTS)
    emulator.planner(quiet, quiet_time_mobile_phone=nights, frequency_limit_enabled=True, max_frequency_per_day=1)
    policy = {"state": "WA", "proactiveEngagementConfigId": copilot}
    assert emulator.client.post("/emulator/v1/cancellation-policies", json=policy).status_code == 201

    call_back = {"result": "LiveAnswer", "talkSeconds": 90, "dispositionCodes": ["Call back"]}
    emulator.script("+15554001", "NoAnswer", call_back, "AnsweringMachine")
    emulator.script("+15554002", {"result": "NoAnswer", "dispositionCodes": ["Do not contact"]})
    emulator.script("+15554003", "MessageFailed")
    for index, number in enumerate(seeded[:12]):
        emulator.post(number, config=[progressive, predictive, preview][index % 3],
                      windows=[window(index * 7, 0.5), window(600 + index, 2)])  # fmt: skip
    for index, number in enumerate(seeded[12:24]):
        emulator.post(number, config=predictive, windows=[window(index * 3, 1)])
        emulator.post(number, config=busy, windows=[window(30, 0.1)])
    emulator.post_chain([{"mobilePhoneNumber": "+15554001", "businessPhoneNumber": NO_ANSWER},
                         {"mobilePhoneNumber": seeded[24], "homePhoneNumber": INVALID}],
                        config=copilot, windows=[window(5, 6)])  # fmt: skip
    emulator.post_chain([{"mobilePhoneNumber": "+15554002", "homePhoneNumber": "+15554005"},
                         {"mobilePhoneNumber": seeded[25], "state": "WA"},
                         {"mobilePhoneNumber": seeded[26]}], config=copilot, windows=[window(0, 3)])  # fmt: skip
    for number in seeded[27:33]:
        emulator.post_chain([{"mobilePhoneNumber": number}, {"mobilePhoneNumber": NO_ANSWER}], config=copilot,
                            windows=[window(rng.randrange(0, 120), 1)])  # fmt: skip
    for number in seeded[33:37]:
        emulator.post_chain([{"mobilePhoneNumber": number}], config=SMS_CONFIG, windows=[window(rng.randrange(0, 60))])
    emulator.post_chain([{"mobilePhoneNumber": "+15554003"}, {"mobilePhoneNumber": seeded[37]}], config=SMS_CONFIG,
                        windows=[window(1)])  # fmt: skip
    night = NOW + timedelta(hours=18)  # 06:00 UTC: 22:00 in Seattle
    emulator.advance("PT3H")
    emulator.post_chain([{"mobilePhoneNumber": "+15554002"}], config=copilot, windows=[window(190, 1)])
    emulator.advance("PT15H")
    for number in (seeded[38], seeded[38], seeded[39]):
        emulator.post_chain([{"uniqueIdentifier": f"q-{number}", "mobilePhoneNumber": number, "timezone": SEATTLE}],
                            config=quiet, windows=[(night, night + timedelta(hours=30))])  # fmt: skip
    emulator.advance("P2D")


def journal(emulator: InProcessEmulator) -> tuple[list[Any], list[Any], list[Any]]:
    """Every event in the order written, every delivery's final columns, every task's final state."""
    with emulator.database.read() as session:
        events = [(e.delivery_id, e.at, e.from_status, e.to_status, e.result, e.actor, e.detail)
                  for e in session.scalars(select(DeliveryEvent).order_by(DeliveryEvent.id))]  # fmt: skip
        columns = [c.key for c in ProactiveDelivery.__mapper__.column_attrs if c.key not in UNSTABLE_COLUMNS]
        deliveries = [tuple(getattr(d, key) for key in columns)
                      for d in session.scalars(select(ProactiveDelivery).order_by(ProactiveDelivery.id))]  # fmt: skip
        task_columns = [c.key for c in DeliveryTask.__mapper__.column_attrs]
        tasks = [tuple(str(getattr(t, key)) for key in task_columns)
                 for t in session.scalars(select(DeliveryTask).order_by(DeliveryTask.id))]  # fmt: skip
    return events, deliveries, tasks


def run(emulator: InProcessEmulator, monkeypatch: pytest.MonkeyPatch, advance: Callable[..., Any]) -> Any:
    """The scenario on a freshly reset database, with the same ids every run (the seeded outcomes draw on them)."""
    reset_database(emulator.database)
    ids = random.Random(4242)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=ids.getrandbits(128), version=4))
    dialer = emulator.client.app.state.runtime.dialer  # type: ignore[attr-defined]
    monkeypatch.setattr(dialer, "advance_to", advance.__get__(dialer))
    scenario(emulator)
    return journal(emulator)


def advance_by_catching_up(self: runner.Dialer, target: datetime, *, progress: Any = None) -> Any:
    """The clock runs ahead of the dialer, as a running clock faster than the dialer's polls does, and the
    background loop's step catches up."""
    self.tick()  # the dialer has run everything up to the clock's time
    self.clock.set(target)
    return self.catch_up()


def test_the_fast_advance_writes_the_journal_of_the_old_one_event_for_event(emulator, monkeypatch):
    old = run(emulator, monkeypatch, runner.Dialer.advance_stepwise)
    monkeypatch.setattr(runner, "ADVANCE_TRANSACTION_SECONDS", 60.0)  # one transaction per advance
    new = run(emulator, monkeypatch, runner.Dialer.advance_to)
    monkeypatch.setattr(runner, "ADVANCE_TRANSACTION_SECONDS", 0.002)  # many transactions per advance
    # and claims through the call-order indexes whenever more than two deliveries are open
    monkeypatch.setattr(repository, "OPEN_SCAN_LIMIT", 3)
    chunked = run(emulator, monkeypatch, runner.Dialer.advance_to)
    monkeypatch.setattr(runner, "ADVANCE_TRANSACTION_SECONDS", 60.0)  # time to catch up event by event
    caught_up = run(emulator, monkeypatch, advance_by_catching_up)

    events, deliveries, tasks = old
    assert len(events) > 150 and len(deliveries) > 50 and len(tasks) > 10  # the scenario did what it says
    results = {event[4] for event in events}
    assert {"LiveAnswer", "NoAnswer", "Expired", "Cancelled", "MessageSent", "MessageFailed"} <= results
    assert {"Abandoned", "Terminated"} & results
    assert any(event[6] and "heldUntil" in event[6] for event in events)  # quiet hours or the cap held a dial
    assert any(event[6] and event[6].get("OptOutSource") for event in events)  # an opt-out made on the way
    for fast in (new, chunked, caught_up):
        assert fast[0] == events
        assert fast[1] == deliveries
        assert fast[2] == tasks


def test_catching_up_dials_each_delivery_when_its_window_opens_but_never_before_it_was_posted(emulator, monkeypatch):
    monkeypatch.setattr(runner, "ADVANCE_TRANSACTION_SECONDS", 60.0)  # time to catch up event by event, however busy
    dialer = emulator.client.app.state.runtime.dialer
    early = emulator.post(NO_ANSWER, windows=[window(10, 1)])  # opens at 12:10
    dialer.tick()  # the dialer has run up to 12:00
    dialer.clock.set(NOW + timedelta(minutes=30))  # the clock runs ahead of it, to 12:30
    late = emulator.post(LIVE_ANSWER, windows=[window(5, 1)])  # posted at 12:30, its window open since 12:05

    report = dialer.catch_up()

    assert report.dialled == 2 and report.completed == 1  # the NoAnswer call rang 30 s from 12:10
    assert emulator.delivery(early).start_date == NOW + timedelta(minutes=10)
    assert emulator.delivery(early).end_date == NOW + timedelta(minutes=10, seconds=30)
    assert emulator.delivery(late).start_date == NOW + timedelta(minutes=30)  # not at 12:05, before it existed
    assert dialer.catch_up().changed == 0  # everything up to the clock's time is done


def test_a_catch_up_out_of_time_dials_the_rest_at_the_clocks_time_as_a_tick_did(emulator, monkeypatch):
    monkeypatch.setattr(runner, "ADVANCE_TRANSACTION_SECONDS", 0.0)  # one event time, then the clock's time
    dialer = emulator.client.app.state.runtime.dialer
    first, second = (emulator.post(NO_ANSWER, windows=[window(minutes, 1)]) for minutes in (10, 20))
    dialer.tick()
    dialer.clock.set(NOW + timedelta(minutes=30))

    assert dialer.catch_up().dialled == 2

    assert emulator.delivery(first).start_date == NOW + timedelta(minutes=10)
    assert emulator.delivery(second).start_date == NOW + timedelta(minutes=30)


def test_catching_up_leaves_another_workers_live_call_to_it(emulator):
    runtime = emulator.client.app.state.runtime
    dialer, other = runtime.dialer, runner.Dialer(runtime.database, runtime.clock, runtime.settings)
    theirs = emulator.post(NO_ANSWER, windows=[window(0, 1)])
    other.tick()  # the other worker dials it at 12:00; its call ends at 12:00:30, its lease runs in real time
    later = emulator.post(LIVE_ANSWER, windows=[window(10, 1)])
    dialer.tick()
    dialer.clock.set(NOW + timedelta(minutes=30))

    report = dialer.catch_up()

    assert emulator.delivery(theirs).status == "InProcess"  # the other worker ends it, on its own step
    assert report.dialled == 1 and report.completed == 0
    assert emulator.delivery(later).start_date == NOW + timedelta(minutes=30)  # at the closing tick
    other.catch_up()
    assert emulator.delivery(theirs).end_date == NOW + timedelta(seconds=30)


def test_an_advance_reports_its_progress_after_each_transaction(emulator, monkeypatch):
    monkeypatch.setattr(runner, "ADVANCE_TRANSACTION_SECONDS", 0.0)  # one event time per transaction
    for minutes in range(0, 300, 10):
        emulator.post(f"+1555600{minutes:04d}", windows=[window(minutes, 1)])
    dialer = emulator.client.app.state.runtime.dialer
    heard: list[runner.AdvanceProgress] = []

    report = dialer.advance_to(NOW + timedelta(hours=8), progress=heard.append)

    assert report.completed == 30
    assert len(heard) > 30
    assert [p.reached for p in heard] == sorted(p.reached for p in heard)
    assert heard[-1].reached == NOW + timedelta(hours=8) and heard[-1].fraction == 1.0
    assert 0 < heard[0].fraction < 1
    assert emulator.client.get("/emulator/v1/clock").json()["now"] == "2026-11-24T20:00:00.000Z"


def test_an_advance_streams_its_progress_as_ndjson_when_asked_and_ends_with_the_usual_answer(emulator, monkeypatch):
    monkeypatch.setattr(runner, "ADVANCE_TRANSACTION_SECONDS", 0.0)
    monkeypatch.setattr("ccaas_emulator.control.routes.PROGRESS_EVERY_SECONDS", 0.0)  # a line per transaction
    for minutes in range(0, 120, 10):
        emulator.post(f"+1555700{minutes:04d}", windows=[window(minutes, 1)])

    response = emulator.client.post("/emulator/v1/clock", json={"advance": "PT4H"},
                                    headers={"Accept": "application/x-ndjson"})  # fmt: skip

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    *progress, answer = [json.loads(line) for line in response.text.splitlines()]
    assert len(progress) > 12
    fractions = [line["progress"]["fraction"] for line in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0 < fractions[0] < 1
    assert progress[-1]["progress"]["processed"] == answer["processed"]
    assert set(progress[0]["progress"]) == {"start", "reached", "target", "fraction", "eventTimes", "processed"}
    assert answer["now"] == "2026-11-24T16:00:00.000Z" and answer["processed"]["completed"] == 12


def test_without_the_ndjson_accept_header_an_advance_answers_one_json_body(emulator):
    response = emulator.client.post("/emulator/v1/clock", json={"advance": "PT1H"},
                                    headers={"Accept": "application/json"})  # fmt: skip

    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.json()["now"] == "2026-11-24T13:00:00.000Z"


@pytest.mark.parametrize("body", [{"now": "yesterday"}, {"advance": "-PT1H"}, {}])
def test_a_bad_clock_change_asking_for_ndjson_is_still_a_400_envelope(emulator, body):
    response = emulator.client.post("/emulator/v1/clock", json=body, headers={"Accept": "application/x-ndjson"})

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message"}
