"""CCaaS_CancelDeliveryTask (wire-facts A8): the task and its queued dial end Cancelled; 204, as an action that
returns nothing; idempotent once the task has ended."""

from __future__ import annotations

from sqlalchemy import select

from ccaas_emulator.db.models import SystemUser
from tests.support.demo import DEMO_USERS, NOW
from tests.support.tasks import CANCEL_URL, create_sample_task, journal_of, read_delivery, read_task


def cancel(client, headers, task_id):
    return client.post(CANCEL_URL, json={"ApiVersion": "1.0", "DeliveryTaskId": task_id}, headers=headers)


def test_cancelling_a_task_cancels_it_and_its_pending_delivery(client, agent_headers, database):
    task_id, delivery_id = create_sample_task(client, agent_headers)

    response = cancel(client, agent_headers, task_id)

    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["odata-version"] == "4.0"
    assert "content-type" not in response.headers
    task = read_task(database, task_id)
    assert (task.status, task.next_scheduled_at, task.modified_on, task.version) == ("Cancelled", None, NOW, 2)
    delivery = read_delivery(database, delivery_id)
    assert (delivery.status, delivery.result, delivery.result_date) == ("Cancelled", "Cancelled", NOW)
    assert (delivery.version, delivery.modified_on, delivery.start_date) == (2, NOW, None)
    assert journal_of(database, delivery_id) == [
        (None, "Pending", None, "agent"),
        ("Pending", "Cancelled", "Cancelled", "agent"),
    ]


def test_the_modifying_user_is_the_caller(client, tokens, database):
    headers = {"Authorization": f"Bearer {tokens.for_user('supervisor')}", "Content-Type": "application/json"}
    task_id, delivery_id = create_sample_task(client, headers)

    assert cancel(client, headers, task_id).status_code == 204

    delivery = read_delivery(database, delivery_id)
    with database.read() as session:
        supervisor = session.scalar(select(SystemUser.id).where(SystemUser.object_id == DEMO_USERS["supervisor"]))
    assert delivery.modified_by == supervisor


def test_cancelling_an_ended_task_again_changes_nothing(client, agent_headers, database):
    task_id, delivery_id = create_sample_task(client, agent_headers)
    assert cancel(client, agent_headers, task_id).status_code == 204

    again = cancel(client, agent_headers, task_id)

    assert again.status_code == 204
    assert (read_task(database, task_id).version, read_delivery(database, delivery_id).version) == (2, 2)
    assert len(journal_of(database, delivery_id)) == 2


def test_other_tasks_are_left_alone(client, agent_headers, database):
    task_id, _ = create_sample_task(client, agent_headers)
    other_task, other_delivery = create_sample_task(client, agent_headers)

    assert cancel(client, agent_headers, task_id).status_code == 204

    assert read_task(database, other_task).status == "Pending"
    assert read_delivery(database, other_delivery).status == "Pending"


def test_the_task_id_is_read_in_any_of_dotnets_guid_forms(client, agent_headers, database):
    task_id, _ = create_sample_task(client, agent_headers)

    response = cancel(client, agent_headers, "{" + task_id.upper() + "}")

    assert response.status_code == 204
    assert read_task(database, task_id).status == "Cancelled"


def test_cancel_is_served_on_v9_0_too(client, agent_headers, database):
    task_id, _ = create_sample_task(client, agent_headers)

    response = client.post(
        "/api/data/v9.0/CCaaS_CancelDeliveryTask",
        json={"ApiVersion": "1.0", "DeliveryTaskId": task_id},
        headers=agent_headers,
    )

    assert response.status_code == 204
    assert read_task(database, task_id).status == "Cancelled"
