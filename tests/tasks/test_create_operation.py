"""CCaaS_CreateOperation (wire-facts A7): Suspend and Resume an engagement, Cancel queued deliveries; 202, no body."""

from __future__ import annotations

from tests.support.demo import DEMO_VOICE_CONFIG, NOW
from tests.support.in_process import window
from tests.support.tasks import (
    SAMPLE_CONFIG,
    create_sample_task,
    journal_of,
    operation,
    read_config,
    read_delivery,
    read_task,
)

ANSWERS = "+15005550001"  # magic number: LiveAnswer


def assert_accepted(response):
    assert response.status_code == 202, response.text
    assert response.content == b""
    assert response.headers["odata-version"] == "4.0"


def test_a_suspended_engagement_is_not_dialled_until_it_is_resumed(emulator):
    delivery_id = emulator.post(ANSWERS, windows=[window(hours=8)])

    assert_accepted(
        operation(emulator.client, emulator.headers, "Suspend", ProactiveEngagementConfigId=DEMO_VOICE_CONFIG)
    )
    emulator.advance("PT1H")

    assert emulator.delivery(delivery_id).status == "Pending"
    assert read_config(emulator.database, DEMO_VOICE_CONFIG).suspended is True

    assert_accepted(
        operation(emulator.client, emulator.headers, "Resume", ProactiveEngagementConfigId=DEMO_VOICE_CONFIG)
    )
    emulator.advance("PT5M")

    delivery = emulator.delivery(delivery_id)
    assert (delivery.status, delivery.result) == ("Complete", "LiveAnswer")
    assert delivery.start_date == NOW.replace(hour=13)  # dialled on the first tick after the resume
    assert read_config(emulator.database, DEMO_VOICE_CONFIG).suspended is False


def test_a_suspended_engagements_windows_keep_running(emulator):
    delivery_id = emulator.post(ANSWERS, windows=[window(hours=1)])
    assert_accepted(
        operation(emulator.client, emulator.headers, "Suspend", ProactiveEngagementConfigId=DEMO_VOICE_CONFIG)
    )

    emulator.advance("PT2H")

    assert (emulator.delivery(delivery_id).status, emulator.delivery(delivery_id).result) == ("Expired", "Expired")


def test_suspend_and_resume_are_idempotent_and_bump_the_version_once(client, agent_headers, database):
    before = read_config(database, SAMPLE_CONFIG).version

    for _ in range(2):
        assert_accepted(operation(client, agent_headers, "Suspend", ProactiveEngagementConfigId=SAMPLE_CONFIG))
    assert read_config(database, SAMPLE_CONFIG).version == before + 1
    for _ in range(2):
        assert_accepted(operation(client, agent_headers, "Resume", ProactiveEngagementConfigId=SAMPLE_CONFIG))

    config = read_config(database, SAMPLE_CONFIG)
    assert (config.suspended, config.version, config.modified_on) == (False, before + 2, NOW)


def test_cancel_of_one_queued_delivery_of_a_task_cancels_the_task(client, agent_headers, database):
    task_id, delivery_id = create_sample_task(client, agent_headers)
    other_task, other_delivery = create_sample_task(client, agent_headers)

    assert_accepted(operation(client, agent_headers, "Cancel", DeliveryId=delivery_id))

    delivery = read_delivery(database, delivery_id)
    assert (delivery.status, delivery.result, delivery.result_date, delivery.version) == (
        "Cancelled",
        "Cancelled",
        NOW,
        2,
    )
    assert journal_of(database, delivery_id)[-1] == ("Pending", "Cancelled", "Cancelled", "agent")
    assert read_task(database, task_id).status == "Cancelled"
    assert (read_task(database, other_task).status, read_delivery(database, other_delivery).status) == (
        "Pending",
        "Pending",
    )


def test_cancel_of_one_queued_delivery_without_a_task(emulator):
    delivery_id = emulator.post(ANSWERS, windows=[window(start_minutes=60)])
    other = emulator.post(ANSWERS, windows=[window(start_minutes=60)])

    assert_accepted(operation(emulator.client, emulator.headers, "Cancel", DeliveryId=str(delivery_id)))
    emulator.advance("PT2H")

    assert (emulator.delivery(delivery_id).status, emulator.delivery(delivery_id).result) == ("Cancelled", "Cancelled")
    assert emulator.delivery(delivery_id).start_date is None  # never dialled
    assert emulator.delivery(other).status == "Complete"


def test_cancel_with_the_engagement_cancels_its_queued_deliveries_and_their_tasks(emulator):
    first = emulator.post(ANSWERS, windows=[window(start_minutes=60)])
    second = emulator.post(ANSWERS, windows=[window(start_minutes=60)])
    task_delivery = emulator.post_task(ANSWERS, config=DEMO_VOICE_CONFIG, windows=[window(start_minutes=60)])
    elsewhere = emulator.post_task(ANSWERS, config=SAMPLE_CONFIG, windows=[window(start_minutes=60)])

    assert_accepted(
        operation(emulator.client, emulator.headers, "Cancel", ProactiveEngagementConfigId=DEMO_VOICE_CONFIG.upper())
    )

    assert emulator.statuses([first, second, task_delivery]) == ["Cancelled"] * 3
    assert {emulator.delivery(item).result for item in (first, second, task_delivery)} == {"Cancelled"}
    assert read_task(emulator.database, emulator.delivery(task_delivery).task_id).status == "Cancelled"
    assert emulator.delivery(elsewhere).status == "Pending"
    assert read_task(emulator.database, emulator.delivery(elsewhere).task_id).status == "Pending"
    emulator.advance("PT2H")
    assert emulator.statuses([first, second, task_delivery, elsewhere]) == ["Cancelled"] * 3 + ["Complete"]


def test_cancel_of_an_engagement_with_nothing_queued_is_accepted(client, agent_headers):
    assert_accepted(operation(client, agent_headers, "Cancel", ProactiveEngagementConfigId=DEMO_VOICE_CONFIG))


def test_a_dial_in_progress_cannot_be_cancelled(emulator):
    emulator.client.post("/emulator/v1/outcomes", json={"phoneNumber": "+15550123", "outcomes": [
        {"result": "LiveAnswer", "ringSeconds": 10, "talkSeconds": 600}]})  # fmt: skip
    delivery_id = emulator.post("+15550123", windows=[window()])
    emulator.advance("PT1M")
    assert emulator.delivery(delivery_id).status == "InProcess"

    response = operation(emulator.client, emulator.headers, "Cancel", DeliveryId=str(delivery_id))

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "0x80040203",
            "message": f"The delivery {delivery_id} is InProcess; only a queued (Pending) delivery can be cancelled.",
        }
    }
    assert emulator.delivery(delivery_id).status == "InProcess"


def test_a_delivery_that_already_ended_cannot_be_cancelled(client, agent_headers):
    _, delivery_id = create_sample_task(client, agent_headers)
    assert_accepted(operation(client, agent_headers, "Cancel", DeliveryId=delivery_id))

    response = operation(client, agent_headers, "Cancel", DeliveryId=delivery_id)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        f"The delivery {delivery_id} is Cancelled; only a queued (Pending) delivery can be cancelled."
    )


def test_cancel_naming_both_ids_needs_the_delivery_to_belong_to_the_engagement(client, agent_headers, database):
    _, delivery_id = create_sample_task(client, agent_headers)

    wrong = operation(
        client, agent_headers, "Cancel", DeliveryId=delivery_id, ProactiveEngagementConfigId=DEMO_VOICE_CONFIG
    )
    right = operation(
        client, agent_headers, "Cancel", DeliveryId=delivery_id, ProactiveEngagementConfigId=SAMPLE_CONFIG
    )

    assert wrong.status_code == 400
    assert wrong.json()["error"] == {
        "code": "0x80040203",
        "message": f"The delivery {delivery_id} belongs to the proactive engagement configuration {SAMPLE_CONFIG}, "
        f"not to {DEMO_VOICE_CONFIG}.",
    }
    assert_accepted(right)
    assert read_delivery(database, delivery_id).status == "Cancelled"


def test_operations_are_served_on_v9_0(client, agent_headers, database):
    response = client.post(
        "/api/data/v9.0/CCaaS_CreateOperation",
        json={"ApiVersion": "1.0", "ProactiveEngagementConfigId": SAMPLE_CONFIG, "Operation": "Suspend"},
        headers=agent_headers,
    )

    assert_accepted(response)
    assert read_config(database, SAMPLE_CONFIG).suspended is True
