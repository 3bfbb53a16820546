"""Group commit (db/transaction.GroupCommit) and the actions on it, on SQLite and PostgreSQL.

No timing here: requests are made to wait in the queue deterministically (the writer is held on an event
while they are queued), so each test knows it saw a group of several requests.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ccaas_emulator import journal
from ccaas_emulator.db.models import DeliveryEvent, ProactiveDelivery
from ccaas_emulator.db.transaction import Database, GroupCommit
from ccaas_emulator.journal import StateChange
from ccaas_emulator.wire.errors import INVALID_ARGUMENT
from tests.support.samples import voice_body
from tests.support.tokens import bearer
from tests.support.urls import VOICE_URL as URL

AT = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Recorder:
    """A handler writing one journal row per payload; payload "refuse" is refused, "break" breaks the insert."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()

    def __call__(self, session, payloads):
        self.entered.set()
        self.hold.wait(timeout=30)
        self.groups.append(list(payloads))
        outcomes = []
        entries = []
        for payload in payloads:
            if payload == "refuse":
                outcomes.append(INVALID_ARGUMENT(message="refused: " + payload))
                continue
            delivery_id = uuid.uuid5(uuid.NAMESPACE_URL, payload)
            status = None if payload == "break" else "Pending"  # to_status is NOT NULL: an IntegrityError
            entries.append((StateChange(delivery_id, AT, None, status), "tester"))
            outcomes.append(delivery_id)
        journal.record_many(session, entries)
        return outcomes


def committed(database: Database, delivery_id: uuid.UUID) -> bool:
    with database.read() as session:
        return bool(session.scalar(select(func.count()).where(DeliveryEvent.delivery_id == delivery_id)))


async def submit_held(database: Database, recorder: Recorder, payloads: list[str]) -> list[object]:
    """Queue every payload while the writer is held on its first group, then let it go: the rest form one group."""
    recorder.hold.clear()
    writer = GroupCommit(database, writers=1)  # one writer (PostgreSQL's default is two), so the groups are known
    first = asyncio.ensure_future(writer.run(recorder, "first"))
    await asyncio.to_thread(recorder.entered.wait, 30)  # the writer holds "first" and waits
    results: list[object] = []

    async def one(payload: str) -> None:
        try:
            delivery_id = await writer.run(recorder, payload)
        except Exception as exc:
            results.append(exc)
            return
        # Answered only once committed: another connection already sees the row.
        results.append(("committed" if await asyncio.to_thread(committed, database, delivery_id) else "NOT", payload))

    tasks = [asyncio.ensure_future(one(payload)) for payload in payloads]
    await asyncio.sleep(0)  # every task runs up to its wait: all are queued behind "first"
    recorder.hold.set()
    await asyncio.gather(first, *tasks)
    writer.stop()
    return results


def test_concurrent_requests_are_committed_together_and_each_answered_after_its_commit(database):
    recorder = Recorder()
    payloads = [f"request-{number}" for number in range(40)]

    results = asyncio.run(submit_held(database, recorder, payloads))

    assert sorted(results) == sorted(("committed", payload) for payload in payloads)
    assert recorder.groups[0] == ["first"]
    assert recorder.groups[1] == payloads  # one group, in arrival order
    assert len(recorder.groups) == 2


def test_a_refused_request_gets_its_own_error_and_the_others_commit(database):
    recorder = Recorder()
    payloads = ["a", "refuse", "b"]

    results = asyncio.run(submit_held(database, recorder, payloads))

    errors = [result for result in results if isinstance(result, Exception)]
    assert len(errors) == 1 and errors[0].message == "refused: refuse"
    assert sorted(result for result in results if not isinstance(result, Exception)) == [
        ("committed", "a"),
        ("committed", "b"),
    ]
    assert len(recorder.groups) == 2  # refused inside the group: no second try


def test_a_request_that_breaks_the_group_rolls_back_only_itself(database):
    recorder = Recorder()
    payloads = ["c", "break", "d"]

    results = asyncio.run(submit_held(database, recorder, payloads))

    errors = [result for result in results if isinstance(result, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], IntegrityError)
    assert sorted(result for result in results if not isinstance(result, Exception)) == [
        ("committed", "c"),
        ("committed", "d"),
    ]
    # The group failed as a whole, then each request ran alone in its own transaction.
    assert recorder.groups[1:] == [payloads, ["c"], ["break"], ["d"]]
    assert not committed(database, uuid.uuid5(uuid.NAMESPACE_URL, "break"))


def test_the_writer_finishes_queued_work_when_the_database_closes(database_url):
    from ccaas_emulator.db.engine import make_engine

    database = Database(make_engine(database_url, pool_size=2))
    recorder = Recorder()

    async def go() -> uuid.UUID:
        return await database.group_commit.run(recorder, "closing")

    delivery_id = asyncio.run(go())
    database.dispose()
    reopened = Database(make_engine(database_url, pool_size=1))
    try:
        assert committed(reopened, delivery_id)
    finally:
        reopened.dispose()


@pytest.mark.parametrize("count", [24])
def test_concurrent_voice_deliveries_each_get_their_own_answer(client, tokens, database, count):
    """Many requests at once through the app: every 200's delivery is in the database with its attributes
    and journal entry; the refused ones get their own envelope and leave nothing behind."""
    agent = bearer(tokens.for_user("agent"))
    norole = bearer(tokens.for_user("norole"))
    unknown_config = str(uuid.uuid4())

    def post(number: int):
        if number % 8 == 3:
            return "unknown config", client.post(
                URL, json=voice_body(ProactiveEngagementConfigId=unknown_config), headers=agent
            )
        if number % 8 == 5:
            return "no role", client.post(URL, json=voice_body(), headers=norole)
        if number % 8 == 7:
            return "bad guid", client.post(URL, json=voice_body(ContactId="not-a-guid"), headers=agent)
        return "ok", client.post(URL, json=voice_body(), headers=agent)

    with ThreadPoolExecutor(max_workers=count) as pool:
        answers = list(pool.map(post, range(count)))

    accepted = [uuid.UUID(response.json()["DeliveryId"]) for kind, response in answers if kind == "ok"]
    assert all(response.status_code == 200 for kind, response in answers if kind == "ok")
    statuses = {kind: {response.status_code for k, response in answers if k == kind} for kind, _ in answers}
    assert statuses == {"ok": {200}, "unknown config": {404}, "no role": {403}, "bad guid": {400}}
    for kind, response in answers:
        if kind != "ok":
            assert set(response.json()) == {"error"}
    with database.read() as session:
        stored = set(session.scalars(select(ProactiveDelivery.id)))
        journaled = set(session.scalars(select(DeliveryEvent.delivery_id)))
    assert stored == set(accepted)
    assert journaled == set(accepted)
