"""What the real-client tests share: the running emulator with its two tokens, and a few helpers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import DeliveryAttribute, DeliveryTask, EngagementConfig, ProactiveDelivery
from ccaas_emulator.db.transaction import Database
from tests.test_end_to_end import Server

VOICE_CONFIG = "cbbac510-3e66-ef11-a671-6045bd03d9d8"
DEMO_CONTACT = "761e062f-c734-ef11-8e4f-00224808a166"


@dataclass(frozen=True)
class Emulator:
    server: Server
    database_url: str
    agent_token: str  # Omnichannel agent: actions and reads
    admin_token: str  # System Administrator: configuration writes too

    @property
    def base(self) -> str:
        return self.server.base

    @property
    def api(self) -> str:
        return f"{self.server.base}/api/data/v9.2/"

    def rows(self) -> dict[str, Any]:
        """What the database holds, read past the Web API: deliveries, their attributes, tasks, configs."""
        database = Database(make_engine(self.database_url))
        try:
            with database.read() as session:
                deliveries = {
                    str(row.id): {"to": row.to_address, "status": row.status}
                    for row in session.scalars(select(ProactiveDelivery))
                }
                attributes: dict[str, set[tuple[str, str]]] = {}
                for attribute in session.scalars(select(DeliveryAttribute)):
                    owner = str(attribute.delivery_id)
                    attributes.setdefault(owner, set()).add((attribute.keyword, attribute.value))
                tasks = {str(task_id) for task_id in session.scalars(select(DeliveryTask.id))}
                configs = {str(row.id): row.name for row in session.scalars(select(EngagementConfig))}
        finally:
            database.dispose()
        return {"deliveries": deliveries, "attributes": attributes, "tasks": tasks, "configs": configs}


def tomorrow_window() -> dict[str, str]:
    """A calling window that opens tomorrow: the embedded dialer leaves such a delivery Pending."""
    opens = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    closes = opens + timedelta(hours=6)
    return {"Start": opens.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "End": closes.strftime("%Y-%m-%dT%H:%M:%S.000Z")}


def is_guid(value: Any) -> bool:
    try:
        return str(uuid.UUID(str(value))) == str(value).lower()
    except ValueError:
        return False
