"""Every query the intake actions make, in one place."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import Insert, Table, bindparam, exists, func, select
from sqlalchemy.orm import Session

from ccaas_emulator import journal
from ccaas_emulator.chain import ChainSettings
from ccaas_emulator.db.models import (
    Contact,
    DeliveryAttribute,
    DeliveryTask,
    EngagementConfig,
    ProactiveDelivery,
)
from ccaas_emulator.db.models.planner import applicable_planners
from ccaas_emulator.db.rows import insert_for, insert_rows
from ccaas_emulator.domain import StateCode
from ccaas_emulator.journal import StateChange


def find_active_config(session: Session, *, config_id: uuid.UUID) -> EngagementConfig | None:
    """The engagement configuration, if it exists and is active."""
    return find_active_configs(session, config_ids=[config_id]).get(config_id)


def find_active_configs(session: Session, *, config_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, EngagementConfig]:
    """The active engagement configurations among these ids (one query for a whole group of requests)."""
    wanted = set(config_ids)
    if not wanted:
        return {}
    configs = session.scalars(_ACTIVE_CONFIGS, {"ids": list(wanted)})
    return {config.id: config for config in configs}


def planner_settings(session: Session, *, config_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ChainSettings]:
    """Each engagement's planner settings (the defaults when it has no active planner row)."""
    wanted = set(config_ids)
    found: dict[uuid.UUID, ChainSettings] = {}
    if wanted:
        for planner in session.scalars(applicable_planners(wanted)):
            if planner.engagement_config_id is not None:
                found.setdefault(planner.engagement_config_id, ChainSettings.of(planner))
    return {config_id: found.get(config_id, ChainSettings()) for config_id in wanted}


def contact_exists(session: Session, *, contact_id: uuid.UUID) -> bool:
    return bool(session.scalar(select(exists().where(Contact.id == contact_id))))


def existing_contacts(session: Session, *, contact_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these contactids exist (one query for a whole group of requests)."""
    wanted = set(contact_ids)
    if not wanted:
        return set()
    return set(session.scalars(_EXISTING_CONTACTS, {"ids": list(wanted)}))


def upsert_contacts(session: Session, *, rows: list[dict[str, Any]]) -> None:
    """Insert contacts, or update the ones whose contactid exists (the engagement's unique identifier)."""
    if not rows:
        return
    insert_rows(session, Contact, rows, statement=_contact_upsert(session.get_bind().dialect.name))


@cache
def _contact_upsert(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (contactid) DO UPDATE, built once per dialect: a value the request leaves out
    (None) keeps the stored one, the creation time is kept, and the version goes up by one."""
    table = cast(Table, Contact.__table__)
    statement = insert_for(dialect, table)
    updated: dict[str, Any] = {
        column.name: func.coalesce(statement.excluded[column.name], column)
        for column in table.c
        if column.name not in ("contactid", "createdon", "versionnumber")
    }
    updated["versionnumber"] = table.c.versionnumber + 1
    return statement.on_conflict_do_update(index_elements=["contactid"], set_=updated)


def insert_tasks(session: Session, *, rows: list[dict[str, Any]]) -> None:
    """New delivery tasks: one executemany for a whole group of requests."""
    insert_rows(session, DeliveryTask, rows)


def insert_deliveries(session: Session, *, deliveries: list[NewDelivery], attributes: list[dict[str, Any]]) -> None:
    """New deliveries (each with the user name its journal entry is written as, and the chain step it is, if
    any) and their attribute rows: one executemany per table for a whole group of requests, through
    SQLAlchemy Core (no ORM objects)."""
    if not deliveries:
        return
    insert_rows(session, ProactiveDelivery, [delivery.row for delivery in deliveries])
    insert_rows(session, DeliveryAttribute, attributes)
    journal.record_many(
        session,
        [
            (StateChange(row["id"], row["created_on"], None, row["status"], None, detail), actor)
            for row, actor, detail in deliveries
        ],
    )


class NewDelivery(NamedTuple):
    row: dict[str, Any]
    actor: str
    """The user name the journal entry is written as."""
    detail: dict[str, Any] | None = None


# Statements every action runs, built once: building (and keying) one costs about as much as running it, and
# SQLAlchemy memoizes a statement object's cache key.
_ACTIVE_CONFIGS = select(EngagementConfig).where(
    EngagementConfig.id.in_(bindparam("ids", expanding=True)), EngagementConfig.state == StateCode.ACTIVE
)
_EXISTING_CONTACTS = select(Contact.id).where(Contact.id.in_(bindparam("ids", expanding=True)))
