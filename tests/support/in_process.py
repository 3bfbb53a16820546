"""The emulator in this process on its shared clock (frozen at NOW), moved only through the control API.

The `emulator` fixture (dialer and OData tests) runs the app with a TestClient, the dialer off, on the
session's demo-seeded database of each back end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ccaas_emulator.clock import FixedClock, real_now
from ccaas_emulator.db.models import (
    DeliveryAttribute,
    DeliveryEvent,
    DeliveryTask,
    PlannerConfig,
    ProactiveDelivery,
    QuietTimeSetting,
)
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.domain import AttributeType, format_timestamp
from ccaas_emulator.seed import SeedFile, apply_seed
from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app
from tests.support.demo import DEMO_CONTACT, DEMO_VOICE_CONFIG, NOW, ORG_URL
from tests.support.tokens import Tokens, bearer
from tests.support.urls import PROACTIVE_URL, VOICE_URL


@dataclass
class InProcessEmulator:
    """A test's handle on the running emulator: post deliveries, move the clock, read rows back."""

    client: TestClient
    database: Database
    headers: dict[str, str]

    def post(self, number: str = "+15550100", *, config: str = DEMO_VOICE_CONFIG, windows: Any = None,
             **extra: Any) -> uuid.UUID:  # fmt: skip
        body: dict[str, Any] = {"ApiVersion": "1.0", "ProactiveEngagementConfigId": config,
                                "DestinationPhoneNumber": number, "ContactId": DEMO_CONTACT, **extra}  # fmt: skip
        if windows is not None:
            body["Windows"] = [
                {"Start": format_timestamp(start), "End": format_timestamp(end)} for start, end in windows
            ]
        response = self.client.post(VOICE_URL, json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        return uuid.UUID(response.json()["DeliveryId"])

    def post_task(self, number: str, *, config: str, windows: Any, priority: str | None = None) -> uuid.UUID:
        """CCaaS_CreateProactiveDelivery with one contact; returns its first delivery."""
        contact = {"uniqueIdentifier": f"ext-{uuid.uuid4()}", "firstName": "T", "lastName": "C",
                   "mobilePhoneNumber": number}  # fmt: skip
        body: dict[str, Any] = {"ApiVersion": "1.0", "ProactiveEngagementConfigId": config, "Contacts": [contact],
                                "Windows": [{"Start": format_timestamp(s), "End": format_timestamp(e)}
                                            for s, e in windows]}  # fmt: skip
        if priority is not None:
            body["Priority"] = priority
        response = self.client.post(PROACTIVE_URL, json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        return uuid.UUID(response.json()["DeliveryId"])

    def post_chain(
        self, contacts: list[dict[str, Any]], *, config: str, windows: Any = None, **extra: Any
    ) -> uuid.UUID:
        """CCaaS_CreateProactiveDelivery with these contacts (uniqueIdentifier and names filled in); returns
        the task id."""
        filled = [{"uniqueIdentifier": f"ext-{uuid.uuid4()}", "firstName": "T", "lastName": f"C{index}", **contact}
                  for index, contact in enumerate(contacts)]  # fmt: skip
        body: dict[str, Any] = {"ApiVersion": "1.0", "ProactiveEngagementConfigId": config, "Contacts": filled, **extra}
        if windows is not None:
            body["Windows"] = [{"Start": format_timestamp(s), "End": format_timestamp(e)} for s, e in windows]
        response = self.client.post(PROACTIVE_URL, json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        return uuid.UUID(response.json()["DeliveryTaskId"])

    def planner(self, config_id: str, **columns: Any) -> None:
        """Planner settings for the engagement (PlannerConfig attributes)."""
        with self.database.transaction() as session:
            session.add(PlannerConfig(id=uuid.uuid4(), name="test planner", engagement_config_id=uuid.UUID(config_id),
                                      created_on=NOW, modified_on=NOW, **columns))  # fmt: skip

    def quiet_time(self, **columns: Any) -> uuid.UUID:
        """A quiet-time setting (QuietTimeSetting attributes, the weekly hours and dates as JSON text)."""
        setting_id = uuid.uuid4()
        with self.database.transaction() as session:
            session.add(QuietTimeSetting(id=setting_id, name="test quiet times", created_on=NOW, modified_on=NOW,
                                         **columns))  # fmt: skip
        return setting_id

    def set_clock(self, moment: datetime) -> None:
        response = self.client.post("/emulator/v1/clock", json={"now": format_timestamp(moment)})
        assert response.status_code == 200, response.text

    def script(self, number: str, *outcomes: Any) -> None:
        """The next dials of `number` end with these outcomes (result names or outcome objects)."""
        response = self.client.post("/emulator/v1/outcomes", json={"phoneNumber": number, "outcomes": list(outcomes)})
        assert response.status_code == 201, response.text

    def task(self, task_id: uuid.UUID) -> DeliveryTask:
        with self.database.read() as session:
            found = session.get(DeliveryTask, task_id)
            assert found is not None
            return found

    def task_dials(self, task_id: uuid.UUID) -> list[ProactiveDelivery]:
        """The task's deliveries in the order they were scheduled."""
        with self.database.read() as session:
            return list(
                session.scalars(
                    select(ProactiveDelivery)
                    .where(ProactiveDelivery.task_id == task_id)
                    .order_by(ProactiveDelivery.created_on, ProactiveDelivery.sequence)
                )
            )

    def advance(self, duration: str) -> dict[str, Any]:
        response = self.client.post("/emulator/v1/clock", json={"advance": duration})
        assert response.status_code == 200, response.text
        return response.json()

    def delivery(self, delivery_id: uuid.UUID) -> ProactiveDelivery:
        with self.database.read() as session:
            found = session.get(ProactiveDelivery, delivery_id)
            assert found is not None
            return found

    def result_attributes(self, delivery_id: uuid.UUID) -> dict[str, str]:
        """The Result attributes the runtime wrote on a delivery (keyword -> value)."""
        with self.database.read() as session:
            rows = session.execute(
                select(DeliveryAttribute.keyword, DeliveryAttribute.value).where(
                    DeliveryAttribute.delivery_id == delivery_id, DeliveryAttribute.type == AttributeType.RESULT
                )
            )
            return {keyword: value for keyword, value in rows}

    def statuses(self, ids: list[uuid.UUID]) -> list[str]:
        return [self.delivery(delivery_id).status for delivery_id in ids]

    def dial_order(self) -> list[uuid.UUID]:
        """Deliveries in the order they were dialled (journal order)."""
        with self.database.read() as session:
            return list(
                session.scalars(
                    select(DeliveryEvent.delivery_id)
                    .where(DeliveryEvent.to_status == "InProcess")
                    .order_by(DeliveryEvent.at, DeliveryEvent.id)
                )
            )

    def seed(self, **content: Any) -> None:
        with self.database.transaction() as session:
            apply_seed(session, SeedFile.model_validate(content), clock=FixedClock(NOW))

    def engagement(self, *, queue: str | None = None, representatives: int | None = None, **config: Any) -> str:
        """A voice engagement configuration (and its queue's pool); returns its id."""
        config_id = str(uuid.uuid4())
        queue = queue or str(uuid.uuid4())
        self.seed(configurations=[{"id": config_id, "name": f"test {config_id[:8]}", "queueId": queue,
                                   "fromAddress": "+14255550199", **config}])  # fmt: skip
        if representatives is not None:
            self.seed(queues=[{"queueId": queue, "representatives": representatives, "averageHandleSeconds": 120}])
        return config_id


def window(start_minutes: float = 0, hours: float = 8) -> tuple[datetime, datetime]:
    start = NOW + timedelta(minutes=start_minutes)
    return start, start + timedelta(hours=hours)


@pytest.fixture
def emulator(database_url: str, database: Database) -> Iterator[InProcessEmulator]:
    settings = Settings(database_url=database_url, org_url=ORG_URL, dialer="off", clock_speed=0)
    app = create_test_app(settings, database=database)
    with TestClient(app, base_url=ORG_URL, raise_server_exceptions=False) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        tokens = Tokens(runtime.keys, settings, real_now())
        yield InProcessEmulator(client, database, bearer(tokens.for_user("agent")))
