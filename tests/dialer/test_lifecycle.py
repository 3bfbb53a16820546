"""Deliveries move Pending -> InProcess -> a terminal status on the shared clock (issue #4, C1)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from ccaas_emulator.db.models import DeliveryAttribute
from ccaas_emulator.dialer.outcomes import MAGIC_NUMBERS
from ccaas_emulator.domain import AttributeType
from tests.support.demo import NOW
from tests.support.in_process import window


def test_a_delivery_whose_window_starts_now_is_complete_five_minutes_later(emulator):
    delivery_id = emulator.post("+15005550001", windows=[window()])

    emulator.advance("PT5M")

    delivery = emulator.delivery(delivery_id)
    assert (delivery.status, delivery.result) == ("Complete", "LiveAnswer")
    assert delivery.start_date == NOW
    assert NOW < delivery.end_date <= NOW + timedelta(minutes=5)
    assert delivery.result_date == delivery.end_date
    assert delivery.call_id and delivery.conversation_id
    assert delivery.from_address == "+14255550100"
    assert delivery.queue_id == "5f2b0c5e-0000-4000-8000-00000000c0e1"


def test_a_delivery_on_an_ordinary_number_also_reaches_a_terminal_status(emulator):
    delivery_id = emulator.post("+15550100", windows=[window()])

    emulator.advance("PT10M")

    delivery = emulator.delivery(delivery_id)
    assert delivery.status in ("Complete", "Error")
    assert delivery.result is not None and delivery.end_date is not None


def test_the_magic_no_answer_number_reads_back_no_answer(emulator):
    delivery_id = emulator.post("+15005550002", windows=[window()])

    emulator.advance("PT5M")

    delivery = emulator.delivery(delivery_id)
    assert (delivery.status, delivery.result) == ("Complete", "NoAnswer")
    assert delivery.conversation_id is None  # nobody answered


def test_a_delivery_whose_window_is_in_the_past_is_expired_after_one_advance(emulator):
    delivery_id = emulator.post(windows=[(NOW - timedelta(days=2), NOW - timedelta(days=1))])

    emulator.advance("PT1S")

    delivery = emulator.delivery(delivery_id)
    assert (delivery.status, delivery.result) == ("Expired", "Expired")
    assert delivery.start_date is None and delivery.call_id is None


def test_a_delivery_with_a_future_window_stays_pending_until_the_clock_reaches_it(emulator):
    delivery_id = emulator.post("+15005550001", windows=[window(start_minutes=120)])

    emulator.advance("PT1H59M")
    assert emulator.delivery(delivery_id).status == "Pending"

    emulator.advance("PT1M")
    assert emulator.delivery(delivery_id).status == "InProcess"
    assert emulator.delivery(delivery_id).start_date == NOW + timedelta(hours=2)

    emulator.advance("PT10M")
    assert emulator.delivery(delivery_id).status == "Complete"


def test_a_call_stays_in_process_while_it_rings_and_talks(emulator):
    emulator.client.post("/emulator/v1/outcomes", json={"phoneNumber": "+15550123", "outcomes": [
        {"result": "LiveAnswer", "ringSeconds": 10, "talkSeconds": 300}]})  # fmt: skip
    delivery_id = emulator.post("+15550123", windows=[window()])

    emulator.advance("PT1S")
    assert emulator.delivery(delivery_id).status == "InProcess"
    emulator.advance("PT5M")
    assert emulator.delivery(delivery_id).status == "InProcess"
    emulator.advance("PT10S")
    delivery = emulator.delivery(delivery_id)
    assert delivery.status == "Complete" and delivery.end_date == NOW + timedelta(seconds=310)


def test_when_the_first_window_passes_undialled_the_delivery_moves_to_its_next_window(emulator):
    config = emulator.engagement(dialMode="Progressive", representatives=0)
    second = (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=2))
    delivery_id = emulator.post(config=config, windows=[window(hours=1), second])

    emulator.advance("PT2H")

    delivery = emulator.delivery(delivery_id)
    assert delivery.status == "Pending"
    assert (delivery.window_start_date, delivery.window_end_date) == second

    emulator.advance("P1D")
    assert (emulator.delivery(delivery_id).status, emulator.delivery(delivery_id).result) == ("Expired", "Expired")


EXPECTED_STATUS = {
    "LiveAnswer": "Complete", "NoAnswer": "Complete", "InvalidAddress": "Complete", "CallFailed": "Complete",
    "NonRetriableError": "Error", "AnsweringMachine": "Complete", "AnsweringMachineHangup": "Complete",
    "NotAHandset": "Complete", "BotFailed": "Complete", "Undetermined": "Complete", "Unknown": "Complete",
    "Abandoned": "Complete", "CallEnded": "Complete", "CSRCancelled": "Complete",
}  # fmt: skip


@pytest.mark.parametrize(("number", "result"), [(n, r.value) for n, (r, _) in MAGIC_NUMBERS.items()])
def test_each_magic_number_gives_its_result_and_the_documented_status(emulator, number, result):
    delivery_id = emulator.post(number, windows=[window()])

    emulator.advance("PT1H")

    delivery = emulator.delivery(delivery_id)
    assert (delivery.result, delivery.status) == (result, EXPECTED_STATUS[result])


def test_scripted_outcomes_are_consumed_one_per_dial_with_their_codes_and_attributes(emulator):
    response = emulator.client.post("/emulator/v1/outcomes", json={
        "phoneNumber": "+15550777",
        "outcomes": ["NoAnswer", {"result": "LiveAnswer", "talkSeconds": 60, "dispositionCodes": ["PromiseToPay",
                     "SpokeToAgent"], "attributes": {"intent": "payment", "amount": "120.00"}}],
    })  # fmt: skip
    assert response.status_code == 201 and response.json()["queued"] == 2
    first = emulator.post("+15550777", windows=[window()])
    emulator.advance("PT5M")
    second = emulator.post("+15550777", windows=[window(start_minutes=5)])
    emulator.advance("PT5M")

    assert emulator.delivery(first).result == "NoAnswer"
    answered = emulator.delivery(second)
    assert answered.result == "LiveAnswer"
    assert answered.disposition_codes == '"PromiseToPay","SpokeToAgent"'
    with emulator.database.read() as session:
        results = session.execute(
            select(DeliveryAttribute.keyword, DeliveryAttribute.value).where(
                DeliveryAttribute.delivery_id == second, DeliveryAttribute.type == AttributeType.RESULT
            )
        ).all()
    assert sorted(results) == [("amount", "120.00"), ("intent", "payment")]
    assert emulator.client.get("/emulator/v1/outcomes").json() == {"value": []}


def test_the_journal_shows_each_state_change_in_order(emulator):
    delivery_id = emulator.post("+15005550001", windows=[window()])
    emulator.advance("PT5M")

    events = emulator.client.get(f"/emulator/v1/deliveries/{delivery_id}/events").json()["value"]

    assert [(e["from"], e["to"], e["result"]) for e in events] == [
        (None, "Pending", None),
        ("Pending", "InProcess", None),
        ("InProcess", "Complete", "LiveAnswer"),
    ]
    assert events[0]["actor"] == "agent"
    assert events[2]["detail"] == {"sipCode": 200, "source": "magic-number"}


def test_draws_are_deterministic_per_delivery_and_follow_the_weights():
    from collections import Counter

    from ccaas_emulator.dialer.outcomes import CallSimulator, parse_weights
    from ccaas_emulator.domain import DialMode

    ids = [uuid.UUID(int=n) for n in range(2000)]
    simulator = CallSimulator(seed=7, weights=parse_weights("LiveAnswer=75,NoAnswer=25"))

    def results(simulator):
        return [
            simulator.plan(delivery_id=i, to_address="+1555", dial_mode=DialMode.COPILOT, handle_seconds=180).result
            for i in ids
        ]

    first = results(simulator)
    assert first == results(CallSimulator(seed=7, weights=parse_weights("LiveAnswer=75,NoAnswer=25")))
    assert first != results(CallSimulator(seed=8, weights=parse_weights("LiveAnswer=75,NoAnswer=25")))
    share = Counter(r.value for r in first)["LiveAnswer"] / len(first)
    assert 0.70 < share < 0.80


@pytest.mark.parametrize("dial_mode", ["PREVIEW", "PROGRESSIVE", "PREDICTIVE"])
def test_drawn_outcomes_fit_the_dial_mode(dial_mode):
    from ccaas_emulator.dialer.outcomes import CallSimulator, parse_weights
    from ccaas_emulator.domain import DialMode

    simulator = CallSimulator(seed=1, weights=parse_weights("BotFailed=1,LiveAnswer=1"))
    results = {simulator.plan(delivery_id=uuid.UUID(int=n), to_address="+1", dial_mode=DialMode[dial_mode],
                              handle_seconds=60).result.value for n in range(200)}  # fmt: skip

    assert results == ({"CallEnded"} if dial_mode == "PREVIEW" else {"LiveAnswer"})
