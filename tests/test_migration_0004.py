"""Migration 0004 on a database of the previous revision: its delivery tasks are upgraded to what the chain
reads (issue #13), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.migrate import upgrade_to, upgrade_to_head
from ccaas_emulator.db.models import DeliveryTask
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.domain import Window
from tests.support.postgres import create_postgres_database

CREATED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PHONES = [{"type": "MobilePhoneNumber", "number": "+15550100"}, {"type": "HomePhoneNumber", "number": "+15550102"}]
OWN_WINDOW = {"start": "2026-11-21T09:00:00.000Z", "end": "2026-11-21T17:00:00.000Z"}
REQUEST_WINDOW = {"start": "2026-11-22T09:00:00.000Z", "end": "2026-11-22T12:00:00.000Z"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    created, drop = create_postgres_database(request.getfixturevalue("postgres_admin_url"))
    yield created
    drop()


def insert_old_task(connection, *, contacts, windows) -> uuid.UUID:
    task_id = uuid.uuid4()
    connection.execute(
        text("INSERT INTO ccaas_delivery_task (id, engagement_config_id, channel, status, contacts, windows, "
             "loop_number, contact_index, phone_index, retry_count, created_on, modified_on, version) VALUES "
             "(:id, :config, 'Voice', 'Pending', :contacts, :windows, 1, 0, 0, 0, :created, :created, 1)"),
        {"id": task_id if connection.dialect.name == "postgresql" else task_id.hex, "config": uuid.uuid4().hex,
         "contacts": json.dumps(contacts), "windows": json.dumps(windows), "created": CREATED},
    )  # fmt: skip
    return task_id


def test_old_tasks_get_their_effective_windows_and_eligible_phones(url):
    engine = create_engine(url)
    upgrade_to(engine, "0003")
    with engine.begin() as connection:
        own = insert_old_task(connection, windows=[REQUEST_WINDOW], contacts=[
            {"contactId": "c1", "uniqueIdentifier": "u1", "timezone": None, "phones": PHONES, "windows": [OWN_WINDOW],
             "attributes": {"a": "b"}},
            {"contactId": "c2", "uniqueIdentifier": "u2", "timezone": None, "phones": PHONES[:1], "windows": [],
             "attributes": {}},
        ])  # fmt: skip
        bare = insert_old_task(connection, windows=[], contacts=[
            {"contactId": "c3", "uniqueIdentifier": "u3", "timezone": None, "phones": PHONES[:1], "windows": [],
             "attributes": {}},
        ])  # fmt: skip
    engine.dispose()

    upgrade_to_head(make_engine(url))

    database = Database(make_engine(url))
    with database.read() as session:
        first, second = session.get(DeliveryTask, own), session.get(DeliveryTask, bare)
    database.dispose()
    assert [contact.windows for contact in first.contacts.contacts] == [
        (Window.from_json(OWN_WINDOW),), (Window.from_json(REQUEST_WINDOW),)]  # fmt: skip
    assert all(phone.eligible for contact in first.contacts.contacts for phone in contact.phones)
    assert first.expiration_date == Window.from_json(REQUEST_WINDOW).end
    assert second.contacts.contacts[0].windows == (Window(CREATED, CREATED + timedelta(hours=24)),)
    assert first.settings.retries == 0 and first.seq_no == 1 and first.customer_reached is False
