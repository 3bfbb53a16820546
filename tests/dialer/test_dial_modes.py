"""Dial modes decide how many calls start (002_..., wire-facts C2), with a simulated representative pool."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ccaas_emulator.db.models import ProactiveDelivery
from tests.support.demo import NOW
from tests.support.in_process import window


def in_process(emulator):
    with emulator.database.read() as session:
        return session.scalar(select(func.count()).where(ProactiveDelivery.status == "InProcess"))


def script(emulator, number, result, talk_seconds=600, count=1):
    outcomes = [{"result": result, "ringSeconds": 5, "talkSeconds": talk_seconds}] * count
    response = emulator.client.post("/emulator/v1/outcomes", json={"phoneNumber": number, "outcomes": outcomes})
    assert response.status_code == 201


def test_copilot_dials_up_to_its_max_concurrent_calls_without_representatives(emulator):
    config = emulator.engagement(dialMode="Copilot", maxConcurrentCalls=3, representatives=0)
    script(emulator, "+15550300", "LiveAnswer", count=5)
    ids = [emulator.post("+15550300", config=config, windows=[window()]) for _ in range(5)]

    emulator.advance("PT1S")
    assert in_process(emulator) == 3

    emulator.advance("PT11M")  # the first three end after 605 s; the last two start then
    assert emulator.statuses(ids).count("Complete") == 3 and in_process(emulator) == 2


def test_progressive_dials_one_call_per_available_representative(emulator):
    config = emulator.engagement(dialMode="Progressive", representatives=2, maxCallsPerAgent=1)
    ids = [emulator.post("+15005550001", config=config, windows=[window()]) for _ in range(5)]

    emulator.advance("PT1S")

    assert in_process(emulator) == 2
    assert emulator.statuses(ids).count("Pending") == 3


def test_progressive_multiplies_by_max_calls_per_representative(emulator):
    config = emulator.engagement(dialMode="Progressive", representatives=2, maxCallsPerAgent=2)
    for _ in range(6):
        emulator.post("+15005550001", config=config, windows=[window()])

    emulator.advance("PT1S")

    assert in_process(emulator) == 4


def test_predictive_with_fewer_than_ten_representatives_behaves_progressive(emulator):
    config = emulator.engagement(dialMode="Predictive", representatives=9)
    for _ in range(30):
        emulator.post("+15005550001", config=config, windows=[window()])

    emulator.advance("PT1S")

    assert in_process(emulator) == 9


def test_predictive_with_ten_representatives_overdials_and_abandons_what_it_cannot_serve(emulator):
    config = emulator.engagement(dialMode="Predictive", representatives=10)
    ids = [emulator.post("+15005550001", config=config, windows=[window()]) for _ in range(40)]

    emulator.advance("PT1S")

    dialled = in_process(emulator)
    assert dialled == 20  # base rate 1 / 0.5 answer rate with no history: two calls per representative
    first_wave = [i for i in ids if emulator.delivery(i).status == "InProcess"]
    emulator.advance("PT10M")
    results = [emulator.delivery(i).result for i in first_wave]
    assert results.count("Abandoned") == 10  # ten live answers more than there were representatives
    assert results.count("LiveAnswer") == 10


def test_preview_reserves_a_representative_per_call_and_ends_call_ended(emulator):
    config = emulator.engagement(dialMode="Preview", representatives=1, maxCallsPerAgent=3)
    ids = [emulator.post("+15550400", config=config, windows=[window()]) for _ in range(2)]

    emulator.advance("PT1S")
    assert in_process(emulator) == 1

    emulator.advance("PT2H")
    assert [emulator.delivery(i).status for i in ids] == ["Complete", "Complete"]
    assert {emulator.delivery(i).result for i in ids} <= {"CallEnded", "NoAnswer", "AnsweringMachine",
                                                           "CallFailed", "InvalidAddress", "NotAHandset",
                                                           "Undetermined"}  # fmt: skip


def test_preview_without_a_representative_before_the_window_ends_is_terminated(emulator):
    config = emulator.engagement(dialMode="Preview", representatives=0)
    delivery_id = emulator.post(config=config, windows=[window(hours=1)])

    emulator.advance("PT2H")

    delivery = emulator.delivery(delivery_id)
    assert (delivery.status, delivery.result) == ("Expired", "Terminated")
    assert delivery.result_date == NOW + timedelta(hours=1)


def test_representatives_can_be_set_through_the_control_api(emulator):
    config = emulator.engagement(dialMode="Progressive", queue="6a3c1d6f-0000-4000-8000-0000000000aa")
    response = emulator.client.put(
        "/emulator/v1/queues/6a3c1d6f-0000-4000-8000-0000000000aa",
        json={"representatives": 4, "averageHandleSeconds": 60},
    )
    assert response.status_code == 200
    for _ in range(6):
        emulator.post("+15005550001", config=config, windows=[window()])

    emulator.advance("PT1S")

    assert in_process(emulator) == 4
    assert {"queueId": "6a3c1d6f-0000-4000-8000-0000000000aa", "representatives": 4,
            "averageHandleSeconds": 60} in emulator.client.get("/emulator/v1/queues").json()["value"]  # fmt: skip


def test_a_suspended_or_inactive_engagement_dials_nothing(emulator):
    suspended = emulator.engagement(dialMode="Copilot", suspended=True)
    inactive_id = emulator.engagement(dialMode="Copilot")
    ids = [emulator.post(config=suspended, windows=[window()]), emulator.post(config=inactive_id, windows=[window()])]
    emulator.seed(configurations=[{"id": inactive_id, "name": "off", "active": False}])

    emulator.advance("PT1H")

    assert emulator.statuses(ids) == ["Pending", "Pending"]
