"""State export and import: GET/PUT /emulator/v1/state (issue 18 item 3), on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, update

from ccaas_emulator.auth.keys import _generate
from ccaas_emulator.control.state import EXCLUDED_TABLES, codec, exported_tables, schema_revision
from ccaas_emulator.db.base import Base
from ccaas_emulator.db.models import ClockState, DeliveryEvent, ProactiveDelivery, ScriptedOutcome
from ccaas_emulator.domain import DeliveryStatus
from tests.support.demo import DEMO_VOICE_CONFIG
from tests.support.in_process import window
from tests.support.urls import DELIVERIES

STATE = "/emulator/v1/state"
JSON = {"Content-Type": "application/json"}

# The tables the state leaves out, on purpose (control/state.py says why for each).
LEFT_OUT = {"timezonedefinition", "emulator_tls_material", "emulator_served_origin"}


def test_every_table_of_the_metadata_is_exported_but_the_named_few():
    assert set(EXCLUDED_TABLES) == LEFT_OUT
    assert {table.name for table in exported_tables()} == set(Base.metadata.tables) - LEFT_OUT


def test_every_exported_column_has_a_codec():
    for table in exported_tables():
        for column in table.columns:
            codec(column)  # raises TypeError for a column type the document cannot carry


def busy(emulator: Any) -> dict[str, Any]:
    """Deliveries in every status, a task, attributes, the journal, opt-outs, scripted outcomes, a moved clock."""
    client = emulator.client
    # Complete (LiveAnswer), Complete after NoAnswer retries are off: the demo config has no planner.
    done = emulator.post("+15550000101", windows=[window(0, 4)])
    emulator.script("+15550000101", {"result": "LiveAnswer", "talkSeconds": 60, "dispositionCodes": ["Paid"],
                                     "attributes": {"intent": "pay"}})  # fmt: skip
    failed = emulator.post("+15550000102", windows=[window(0, 4)])
    emulator.script("+15550000102", "NonRetriableError")
    in_call = emulator.post("+15550000103", windows=[window(0, 4)])
    emulator.script("+15550000103", {"result": "LiveAnswer", "talkSeconds": 86_400})
    expiring = emulator.post("+15550000104", windows=[window(-120, 1)])
    pending = emulator.post("+15550000105", windows=[window(24 * 60, 4)])
    stopped = emulator.post("+15550000106", windows=[window(0, 4)])
    reply = client.post("/emulator/v1/sms/replies", json={"from": "+15550000106", "text": "STOP"})
    assert reply.status_code == 200, reply.text
    task = emulator.post_task("+15550000107", config=DEMO_VOICE_CONFIG, windows=[window(0, 4)])
    emulator.script("+15559999999", "NoAnswer", "AnsweringMachine")  # never dialled: stays scripted
    policy = client.post("/emulator/v1/cancellation-policies", json={"country": "Narnia", "comment": "test"})
    assert policy.status_code == 201, policy.text
    emulator.advance("PT10M")
    statuses = {emulator.delivery(d).status for d in (done, failed, in_call, expiring, pending, stopped)}
    assert statuses == set(DeliveryStatus), statuses
    return {"task": task, "done": done}


def rows(emulator: Any) -> dict[str, Any]:
    """Every exported table's rows through the API, the clock's real anchor aside (it is real time)."""
    response = emulator.client.get(STATE)
    assert response.status_code == 200, response.text
    document = response.json()
    for clock in document["tables"]["emulator_clock"]:
        clock.pop("real_anchor")
    return document


def test_a_busy_state_survives_export_reset_import(emulator):
    busy(emulator)
    before = rows(emulator)
    assert before["version"] == 1 and before["schema"] == schema_revision() == "0011"
    tables = before["tables"]
    for name in ("msdyn_proactive_delivery", "ccaas_delivery_task", "msdyn_proactive_delivery_attribute",
                 "emulator_delivery_event", "emulator_opt_out", "emulator_scripted_outcome", "contact",
                 "emulator_cancellation_policy", "systemuser", "emulator_credential", "emulator_signing_key",
                 "msdyn_proactive_engagement_config", "emulator_clock"):  # fmt: skip
        assert tables[name], f"{name} is empty: the state is not busy enough to prove anything"
    assert tables["emulator_clock"][0]["anchor"] == "2026-11-24T12:10:00Z"
    exported = emulator.client.get(STATE).content

    assert emulator.client.post("/emulator/v1/reset", headers=JSON).status_code == 204
    emulator.set_clock(datetime(2030, 1, 1, tzinfo=UTC))
    assert rows(emulator) != before

    answer = emulator.client.put(STATE, content=exported, headers=JSON)
    assert answer.status_code == 204, answer.text
    assert rows(emulator) == before
    clock = emulator.client.get("/emulator/v1/clock").json()
    assert clock["now"] == "2026-11-24T12:10:00.000Z"


def test_after_an_import_the_journal_counts_on_from_the_imported_ids(emulator):
    busy(emulator)
    exported = emulator.client.get(STATE).content
    highest = max(row["id"] for row in orjson.loads(exported)["tables"]["emulator_delivery_event"])
    assert emulator.client.post("/emulator/v1/reset", headers=JSON).status_code == 204
    assert emulator.client.put(STATE, content=exported, headers=JSON).status_code == 204

    emulator.script("+15550000201", "NoAnswer")
    emulator.post("+15550000201", windows=[window(10, 4)])
    emulator.advance("PT10M")

    with emulator.database.read() as session:
        assert session.scalar(select(func.max(DeliveryEvent.id))) > highest
        assert session.scalar(select(func.count()).select_from(ScriptedOutcome)) == 2


def test_the_signing_keys_are_part_of_the_state_so_tokens_follow_the_import(emulator):
    busy(emulator)
    exported = orjson.loads(emulator.client.get(STATE).content)
    signed_before = emulator.headers  # a token signed with the exported key
    other = copy.deepcopy(exported)
    kid, pem = _generate()
    other["tables"]["emulator_signing_key"] = [{**exported["tables"]["emulator_signing_key"][0],
                                                "kid": kid, "private_key_pem": pem}]  # fmt: skip

    assert emulator.client.put(STATE, content=orjson.dumps(other), headers=JSON).status_code == 204
    refused = emulator.client.get(f"{DELIVERIES}?$top=1", headers=signed_before)
    assert refused.status_code == 401, refused.text  # the server signs and verifies with the imported key at once

    assert emulator.client.put(STATE, content=orjson.dumps(exported), headers=JSON).status_code == 204
    answer = emulator.client.get(f"{DELIVERIES}?$top=1", headers=signed_before)
    assert answer.status_code == 200, answer.text


def bad_documents(document: dict[str, Any]) -> list[tuple[str, Any]]:
    def changed(change: Any) -> dict[str, Any]:
        copied = copy.deepcopy(document)
        change(copied)
        return copied

    first_delivery = "msdyn_proactive_delivery"
    return [
        ("not an object", [1, 2]),
        ("another version", changed(lambda d: d.update(version=2))),
        ("version true", changed(lambda d: d.update(version=True))),
        ("another schema", changed(lambda d: d.update(schema="0010"))),
        ("an unknown key", changed(lambda d: d.update(extra=1))),
        ("a table missing", changed(lambda d: d["tables"].pop("contact"))),
        ("an unknown table", changed(lambda d: d["tables"].update(timezonedefinition=[]))),
        ("rows not a list", changed(lambda d: d["tables"].update(contact={}))),
        ("a column missing", changed(lambda d: d["tables"][first_delivery][0].pop("msdyn_status"))),
        ("an unknown column", changed(lambda d: d["tables"][first_delivery][0].update(nope=1))),
        ("a bad uuid", changed(lambda d: d["tables"][first_delivery][0].update(msdyn_proactive_deliveryid="x"))),
        ("a naive datetime", changed(lambda d: d["tables"][first_delivery][0].update(createdon="2026-11-24T12:00:00"))),
        ("a null in a required column", changed(lambda d: d["tables"][first_delivery][0].update(msdyn_status=None))),
        ("a string too long", changed(lambda d: d["tables"][first_delivery][0].update(msdyn_status="x" * 101))),
        ("a NUL", changed(lambda d: d["tables"][first_delivery][0].update(msdyn_to_address="+1\x00"))),
        (
            "an integer as a string",
            changed(
                lambda d: d["tables"]["emulator_queue"].append(
                    {
                        "queue_id": str(uuid.uuid4()),
                        "representatives": "5",
                        "average_handle_seconds": 1,
                        "round_robin_cursor": 0,
                    }
                )
            ),
        ),
        ("a repeated key", changed(lambda d: d["tables"][first_delivery].append(d["tables"][first_delivery][0]))),
        (
            "a dangling foreign key",
            changed(
                lambda d: d["tables"]["systemuserroles"].append(
                    {
                        **d["tables"]["systemuserroles"][0],
                        "systemuserroleid": str(uuid.uuid4()),
                        "systemuserid": str(uuid.uuid4()),
                    }
                )
            ),
        ),
        (
            "a unique column repeated",
            changed(lambda d: d["tables"]["role"].append({**d["tables"]["role"][0], "roleid": str(uuid.uuid4())})),
        ),
    ]


def test_a_bad_document_is_refused_and_changes_nothing(emulator):
    busy(emulator)
    document = orjson.loads(emulator.client.get(STATE).content)
    before = rows(emulator)
    for what, bad in bad_documents(document):
        answer = emulator.client.put(STATE, content=orjson.dumps(bad), headers=JSON)
        assert answer.status_code == 400, (what, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "0x80040203", what
        assert error["message"].startswith("The state document is not valid"), (what, error)
        assert rows(emulator) == before, what


def test_a_body_that_is_not_json_is_the_envelope(emulator):
    answer = emulator.client.put(STATE, content=b"{not json", headers=JSON)
    assert answer.status_code == 400
    assert set(answer.json()["error"]) == {"code", "message"}


def test_the_import_is_guarded_like_the_other_control_routes(emulator):
    document = emulator.client.get(STATE).content
    assert emulator.client.put(STATE, content=document, headers={"Content-Type": "text/plain"}).status_code == 415
    cross_site = {**JSON, "Origin": "https://attacker.example"}
    assert emulator.client.put(STATE, content=document, headers=cross_site).status_code == 403
    assert emulator.client.get(STATE, headers={"Origin": "https://attacker.example"}).status_code == 403


def test_a_document_larger_than_the_state_limit_is_413(emulator):
    limit = emulator.client.app.state.runtime.settings.state_max_bytes
    answer = emulator.client.put(STATE, content=b" " * (limit + 1), headers=JSON)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "0x80060888"


def test_a_document_larger_than_the_ordinary_control_limit_is_taken(emulator):
    document = orjson.loads(emulator.client.get(STATE).content)
    limit = emulator.client.app.state.runtime.settings.max_body_bytes
    padding = {"id": None}
    # Many scripted outcomes: more than CCAAS_MAX_BODY_BYTES of rows, under CCAAS_STATE_MAX_BYTES.
    template = {
        "phone_number": "+15550000999",
        "result": "NoAnswer",
        "talk_seconds": None,
        "ring_seconds": None,
        "disposition_codes": None,
        "attributes": {"note": "x" * 500},
        "created_on": "2026-11-24T12:00:00Z",
    }
    document["tables"]["emulator_scripted_outcome"] = [
        {**template, **padding, "id": index + 1} for index in range(limit // 500 + 10)
    ]
    body = orjson.dumps(document)
    assert len(body) > limit
    answer = emulator.client.put(STATE, content=body, headers=JSON)
    assert answer.status_code == 204, answer.text
    assert len(emulator.client.get("/emulator/v1/outcomes").json()["value"]) == limit // 500 + 10


def test_a_moving_clock_resumes_from_the_exported_moment(emulator):
    with emulator.database.transaction() as session:
        session.execute(update(ClockState).values(speed=60.0))
    emulator.client.app.state.runtime.clock.forget()
    document = orjson.loads(emulator.client.get(STATE).content)
    exported_now = document["tables"]["emulator_clock"][0]["anchor"]
    emulator.set_clock(datetime(2031, 1, 1, tzinfo=UTC))
    assert emulator.client.put(STATE, content=orjson.dumps(document), headers=JSON).status_code == 204
    now = emulator.client.get("/emulator/v1/clock").json()["now"]
    moved = datetime.fromisoformat(now) - datetime.fromisoformat(exported_now)
    assert timedelta(0) <= moved < timedelta(minutes=30), moved  # 60x for the test's few seconds (30 s at most)


@pytest.mark.parametrize("status", [DeliveryStatus.PENDING])
def test_an_imported_pending_delivery_is_dialled_on_the_next_advance(emulator, status):
    busy(emulator)
    exported = emulator.client.get(STATE).content
    assert emulator.client.post("/emulator/v1/reset", headers=JSON).status_code == 204
    assert emulator.client.put(STATE, content=exported, headers=JSON).status_code == 204
    with emulator.database.read() as session:
        pending = session.scalar(select(ProactiveDelivery.id).where(ProactiveDelivery.status == status))
    emulator.advance("P1D")
    assert emulator.delivery(pending).status != status
