"""The task APIs' paths and bodies, and reads of what they change (tests/tasks/)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from ccaas_emulator.db.models import DeliveryEvent, DeliveryTask, EngagementConfig, ProactiveDelivery
from ccaas_emulator.db.transaction import Database
from tests.support.samples import fixture_bytes
from tests.support.urls import PROACTIVE_URL

GET_TASKS = "CCaaS_GetDeliveryTasks"
CANCEL_URL = "/api/data/v9.2/CCaaS_CancelDeliveryTask"
OPERATION_URL = "/api/data/v9.2/CCaaS_CreateOperation"
DEFAULT_ORGANIZATION = "08759224-0347-53f4-b592-813d93417946"
"""organizationId for the default tenant (CCAAS_TENANT_ID unset): fixed, so clients may keep it."""
SAMPLE_CONFIG = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"  # the 001_ samples' voice engagement (demo seed)


def get_tasks_url(task_id: Any, version: str = "v9.2") -> str:
    return f"/api/data/{version}/{GET_TASKS}(DeliveryTaskId={task_id})"


def create_sample_task(client: TestClient, headers: dict[str, str]) -> tuple[str, str]:
    """The documented CCaaS_CreateProactiveDelivery voice sample (001_...); returns (task id, first delivery id)."""
    response = client.post(PROACTIVE_URL, content=fixture_bytes("001_voice_sample.json"), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["DeliveryTaskId"], response.json()["DeliveryId"]


def operation(client: TestClient, headers: dict[str, str], name: str | None, **ids: str) -> Any:
    """POST CCaaS_CreateOperation with this Operation (None: left out) and ids."""
    body: dict[str, Any] = {"ApiVersion": "1.0", **ids}
    if name is not None:
        body["Operation"] = name
    return client.post(OPERATION_URL, json=body, headers=headers)


def read_task(database: Database, task_id: Any) -> DeliveryTask:
    with database.read() as session:
        found = session.get(DeliveryTask, uuid.UUID(str(task_id)))
        assert found is not None
        return found


def read_delivery(database: Database, delivery_id: Any) -> ProactiveDelivery:
    with database.read() as session:
        found = session.get(ProactiveDelivery, uuid.UUID(str(delivery_id)))
        assert found is not None
        return found


def read_config(database: Database, config_id: str) -> EngagementConfig:
    with database.read() as session:
        found = session.get(EngagementConfig, uuid.UUID(config_id))
        assert found is not None
        return found


def journal_of(database: Database, delivery_id: Any) -> list[tuple[str | None, str, str | None, str]]:
    """(from, to, result, actor) of each journal entry of the delivery, in order."""
    with database.read() as session:
        events = session.scalars(
            select(DeliveryEvent)
            .where(DeliveryEvent.delivery_id == uuid.UUID(str(delivery_id)))
            .order_by(DeliveryEvent.at, DeliveryEvent.id)
        )
        return [(event.from_status, event.to_status, event.result, event.actor) for event in events]
