"""Every query the intake actions make, in one place."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ccaas_emulator import journal
from ccaas_emulator.db.models import (
    Contact,
    DeliveryAttribute,
    DeliveryTask,
    EngagementConfig,
    ProactiveDelivery,
)
from ccaas_emulator.domain import StateCode
from ccaas_emulator.journal import StateChange


def find_active_config(session: Session, *, config_id: uuid.UUID) -> EngagementConfig | None:
    """The engagement configuration, if it exists and is active."""
    return session.scalars(
        select(EngagementConfig).where(
            EngagementConfig.id == config_id, EngagementConfig.state == StateCode.ACTIVE
        )
    ).one_or_none()


def contact_exists(session: Session, *, contact_id: uuid.UUID) -> bool:
    return bool(session.scalar(select(exists().where(Contact.id == contact_id))))


def upsert_contacts(session: Session, *, rows: list[dict[str, Any]]) -> None:
    """Insert contacts, or update the ones whose contactid exists (the engagement's unique identifier)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Contact.__table__
    for row in rows:
        values = {Contact.__mapper__.attrs[key].columns[0].name: value for key, value in row.items()}
        statement = insert_into(table).values(values)
        updated = {
            name: statement.excluded[name]
            for name in values
            if name not in ("contactid", "createdon") and values[name] is not None
        }
        updated["versionnumber"] = table.c.versionnumber + 1
        session.execute(statement.on_conflict_do_update(index_elements=["contactid"], set_=updated))


def insert_task(session: Session, *, row: dict[str, Any]) -> None:
    session.execute(insert(DeliveryTask), [row])


def insert_delivery(
    session: Session, *, row: dict[str, Any], attributes: list[dict[str, Any]], actor: str
) -> None:
    """The delivery, its attribute rows and its first journal entry, as set-based inserts."""
    session.execute(insert(ProactiveDelivery), [row])
    if attributes:
        session.execute(insert(DeliveryAttribute), attributes)
    journal.record(session, [StateChange(row["id"], row["created_on"], None, row["status"])], actor=actor)
