"""Run from file (002_... File upload) at the wire: POST /emulator/v1/engagements/{configId}/files, both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ccaas_emulator.clock import FixedClock
from ccaas_emulator.db.models import Contact, DeliveryAttribute, DeliveryTask, ProactiveDelivery
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.domain import AttributeType, DeliveryStatus
from ccaas_emulator.intake import upload
from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app
from tests.support.demo import DEMO_VOICE_CONFIG, ORG_URL

SMS_CONFIG = "b2c3d4e5-f6a7-8901-bcde-f12345678901"
HEADER = "UniqueIdentifier,FirstName,LastName,MobilePhoneNumber,BusinessPhoneNumber,TimeZone,Priority,ID,Segment\n"


def _url(config: str = DEMO_VOICE_CONFIG) -> str:
    return f"/emulator/v1/engagements/{config}/files"


def _post(client: TestClient, text: str | bytes, *, config: str = DEMO_VOICE_CONFIG, **headers: str) -> Any:
    body = text.encode() if isinstance(text, str) else text
    return client.post(_url(config), content=body, headers={"Content-Type": "text/csv", **headers})


def _counts(database: Database) -> tuple[int, int, int, int]:
    """Deliveries, tasks, attribute rows and contacts stored."""
    with database.read() as session:
        return (
            session.scalar(select(func.count()).select_from(ProactiveDelivery)) or 0,
            session.scalar(select(func.count()).select_from(DeliveryTask)) or 0,
            session.scalar(select(func.count()).select_from(DeliveryAttribute)) or 0,
            session.scalar(select(func.count()).select_from(Contact)) or 0,
        )


def _contact(database: Database, external_id: str) -> Contact | None:
    with database.read() as session:
        return session.scalars(select(Contact).where(Contact.external_id == external_id)).one_or_none()


def _assert_error(response: Any, status: int, code: str, *fragments: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    for fragment in fragments:
        assert fragment in error["message"]


def test_good_rows_become_pending_deliveries_and_bad_lines_are_reported_by_line(client, database):
    before = _counts(database)
    text = (
        HEADER
        + "C-1,Ada,Lovelace,+15550001,,Pacific Standard Time,,,gold\n"
        + "C-2,Alan,Turing,,,,,,\n"  # no phone at all
        + "C-3,Grace,Hopper,+15550003,,Mars Standard Time,,,\n"  # not a Dynamics time zone
        + "\n"  # a blank line is no row, but it is a line
        + "C-4,,,+15550004,,,,,silver\n"  # names are optional in a file
        + "C-5,Too,Many,+15550005\n"  # fewer values than columns
    )
    response = _post(client, text)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2
    assert body["rejectedCount"] == 3
    assert [item["line"] for item in body["rejected"]] == [3, 4, 7]
    reasons = [item["reason"] for item in body["rejected"]]
    assert "MobilePhoneNumber, BusinessPhoneNumber or HomePhoneNumber" in reasons[0]
    assert "TimeZone 'Mars Standard Time' is not a time zone" in reasons[1]
    assert reasons[2] == "The row has 4 values; the header has 9 columns."
    deliveries, tasks, _, contacts = _counts(database)
    assert (deliveries - before[0], tasks - before[1], contacts - before[3]) == (2, 2, 2)
    with database.read() as session:
        stored = session.scalars(select(ProactiveDelivery).where(ProactiveDelivery.to_address.like("+1555000%"))).all()
    assert sorted(row.to_address for row in stored) == ["+15550001", "+15550004"]
    assert {row.status for row in stored} == {DeliveryStatus.PENDING}
    assert {row.created_by for row in stored} == {None}  # written by the service, as 002_... says


def test_named_columns_update_the_contact_and_other_columns_are_input_attributes(client, database):
    assert _post(client, HEADER + "C-10,Ada,Lovelace,+15550010,+15550011,,,,gold\n").json()["accepted"] == 1
    response = _post(client, "UniqueIdentifier,MobilePhoneNumber,emailaddress1,address1_city,Segment,Note\n"
                             "C-10,+15550012,ada@example.com,London,platinum,\n")  # fmt: skip
    assert response.json() == {"accepted": 1, "rejected": [], "rejectedCount": 0}

    contact = _contact(database, "C-10")
    assert contact is not None
    # Named fields update the contact; a column the file does not have keeps the stored value.
    assert (contact.first_name, contact.last_name, contact.full_name) == ("Ada", "Lovelace", "Ada Lovelace")
    assert (contact.mobile_phone, contact.business_phone) == ("+15550012", "+15550011")
    assert (contact.email, contact.city) == ("ada@example.com", "London")
    with database.read() as session:
        latest = session.scalars(select(ProactiveDelivery).where(ProactiveDelivery.to_address == "+15550012")).one()
        attributes = session.execute(
            select(DeliveryAttribute.keyword, DeliveryAttribute.value, DeliveryAttribute.type).where(
                DeliveryAttribute.delivery_id == latest.id
            )
        ).all()
    # An empty cell passes nothing through.
    assert attributes == [("Segment", "platinum", AttributeType.INPUT)]


def test_rows_sharing_an_id_are_one_account_of_at_most_five_contacts(client, database):
    rows = [f"A-{n},First{n},Last{n},+1555002{n},,,,HOUSE,\n" for n in range(1, 7)]
    text = HEADER + "".join(rows) + "B-1,Solo,Row,+15550030,,,,,\n" + "A-9,Late,Comer,+15550039,,,,HOUSE,\n"
    before = _counts(database)

    body = _post(client, text).json()

    assert body["accepted"] == 6
    assert [item["line"] for item in body["rejected"]] == [7, 9]
    assert "already has 5 contacts (lines 2, 3, 4, 5, 6)" in body["rejected"][0]["reason"]
    assert "ended on line 6" in body["rejected"][1]["reason"]
    deliveries, tasks, _, _ = _counts(database)
    assert (deliveries - before[0], tasks - before[1]) == (2, 2)  # the account's first dial, and the single row
    with database.read() as session:
        chains = [task.contacts for task in session.scalars(select(DeliveryTask)).all()]
    household = next(chain for chain in chains if len(chain.contacts) == 5)
    # 002_...: the system dials contacts in the order they appear in the file.
    assert [contact.unique_identifier for contact in household.contacts] == [f"A-{n}" for n in range(1, 6)]


def test_priority_is_the_accounts_custom_call_order(client, database):
    text = HEADER + "P-1,A,B,+15550041,,,7,,\n" + "P-2,A,B,+15550042,,,2,,\n" + "P-3,A,B,+15550043,,,,,\n"
    assert _post(client, text).json()["accepted"] == 3
    with database.read() as session:
        rows = session.execute(
            select(ProactiveDelivery.to_address, ProactiveDelivery.request_priority, ProactiveDelivery.priority_number)
            .where(ProactiveDelivery.to_address.like("+155500%"))
            .order_by(ProactiveDelivery.to_address)
        ).all()
    assert rows == [("+15550041", "7", 7.0), ("+15550042", "2", 2.0), ("+15550043", None, None)]


def test_a_quoted_value_may_span_lines_and_a_malformed_line_is_rejected_alone(client):
    text = (
        "UniqueIdentifier,MobilePhoneNumber,Note\r\n"
        'Q-1,+15550051,"two\r\nlines, and a ""quote"""\r\n'
        'Q-2,+15550052,"unterminated"x\r\n'
        "Q-3,+15550053,fine\r\n"
    )
    body = _post(client, text).json()
    assert body["accepted"] == 2
    assert body["rejected"] == [{"line": 4, "reason": "The line cannot be read as CSV: ',' expected after '\"'."}]


def test_a_multipart_form_with_the_file_field_is_read_as_the_csv(client, database):
    files = {"file": ("contacts.csv", HEADER + "M-1,Mo,Part,+15550061,,,,,\n", "text/csv")}
    response = client.post(_url(), files=files)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    assert _contact(database, "M-1") is not None


def test_an_sms_engagement_takes_only_rows_with_just_a_mobile_phone(client):
    text = HEADER + "S-1,A,B,+15550071,,,,,\n" + "S-2,A,B,,+15550072,,,,\n"
    body = _post(client, text, config=SMS_CONFIG).json()
    assert body["accepted"] == 1
    assert body["rejected"] == [{"line": 3, "reason": "The row: an SMS contact needs a mobilePhoneNumber."}]


# --- request-level refusals: nothing is stored ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "status"),
    [("application/pdf", 415), ("application/json", 415), ("", 415), ("text/csv; charset=utf-16", 415)],
)
def test_a_body_that_is_not_csv_or_a_form_is_415_and_stores_nothing(client, database, content_type, status):
    before = _counts(database)
    response = client.post(_url(), content=(HEADER + "X-1,A,B,+1,,,,,\n").encode(),
                           headers={"Content-Type": content_type} if content_type else {})  # fmt: skip
    _assert_error(response, status, "0x80060888", "accepts only 'text/csv'")
    assert _counts(database) == before


def test_a_pdf_is_not_a_csv_file(client, database):
    before = _counts(database)
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    named = client.post(_url(), files={"file": ("contacts.pdf", pdf, "application/pdf")})
    _assert_error(named, 400, "0x80040203", "The file is not a CSV file", "contacts.pdf", "Nothing was stored")
    typed = client.post(_url(), files={"file": ("contacts.csv", pdf, "application/pdf")})
    _assert_error(typed, 400, "0x80040203", "its content type is 'application/pdf'")
    sent_as_csv = _post(client, pdf)
    _assert_error(sent_as_csv, 400, "0x80040203", "not UTF-8 text")
    assert _counts(database) == before


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("FirstName,MobilePhoneNumber", "UniqueIdentifier"),
        (
            "UniqueIdentifier,FirstName,Email",
            "at least one of MobilePhoneNumber, BusinessPhoneNumber or HomePhoneNumber",
        ),
        ("FirstName,Email", "UniqueIdentifier and at least one of MobilePhoneNumber"),
    ],
)
def test_a_file_without_the_required_columns_is_400_naming_them(client, database, header, missing):
    before = _counts(database)
    response = _post(client, f"{header}\nvalue,value{',value' * header.count(',')}\n")
    _assert_error(response, 400, "0x80040203", f"The file is missing required columns: {missing}")
    assert _counts(database) == before


def test_an_unknown_engagement_is_404_and_stores_nothing(client, database):
    before = _counts(database)
    response = _post(client, HEADER + "U-1,A,B,+15550081,,,,,\n", config="00000000-0000-0000-0000-0000000000aa")
    _assert_error(response, 404, "0x80040217", "msdyn_proactive_engagement_config")
    assert _counts(database) == before


def test_a_form_without_the_file_field_or_with_another_field_is_400(client, database):
    before = _counts(database)
    other = client.post(_url(), files={"upload": ("c.csv", HEADER, "text/csv")})
    _assert_error(other, 400, "0x80040203", "a field 'upload'")
    empty = client.post(_url(), content=b"", headers={"Content-Type": "text/csv"})
    _assert_error(empty, 400, "0x80040203", "it is empty")
    assert _counts(database) == before


@pytest.mark.parametrize(
    ("content_type", "body", "detail"),
    [
        ("multipart/form-data; boundary=xyz", b"garbage", "cannot be read"),
        ("multipart/form-data; boundary=" + "x" * 300, b"--" + b"x" * 300 + b"\r\n", "Boundary length 300"),
        ("multipart/form-data", b"", "has no boundary parameter"),
        ("multipart/form-data; boundary=xyz",
         b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nUniqueIdentifier,MobilePhoneNumber\r\nA,1\r\n',
         "ended before its closing boundary"),
    ],
)  # fmt: skip
def test_a_malformed_form_is_400_and_stores_nothing(client, database, content_type, body, detail):
    before = _counts(database)
    response = client.post(_url(), content=body, headers={"Content-Type": content_type})
    _assert_error(response, 400, "0x80040203", detail)
    assert _counts(database) == before


@pytest.fixture
def small_limit_client(settings: Settings, clock: FixedClock, database: Database) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"upload_max_bytes": 4096})
    with TestClient(create_test_app(limited, clock=clock, database=database), base_url=ORG_URL,
                    raise_server_exceptions=False) as test_client:  # fmt: skip
        yield test_client


def _rows(count: int) -> str:
    return HEADER + "".join(f"L-{n},A,B,+1555{n:07d},,,,,\n" for n in range(count))


def test_a_file_over_the_limit_is_413_before_anything_is_stored(small_limit_client, database):
    before = _counts(database)
    declared = _post(small_limit_client, _rows(200))
    _assert_error(declared, 413, "0x80060888", "larger than the limit of 4096 bytes", "Nothing was stored")
    form = small_limit_client.post(_url(), files={"file": ("big.csv", _rows(200), "text/csv")})
    _assert_error(form, 413, "0x80060888")
    assert _counts(database) == before


def test_an_upload_that_crosses_the_limit_after_rows_were_written_leaves_nothing(
    small_limit_client, database, monkeypatch
):
    monkeypatch.setattr(upload, "BATCH_ACCOUNTS", 5)  # write every 5 accounts: rows are written before the limit
    before = _counts(database)
    text = _rows(200).encode()

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is found only as the bytes arrive
        for start in range(0, len(text), 512):
            yield text[start : start + 512]

    response = small_limit_client.post(_url(), content=chunked(), headers={"Content-Type": "text/csv"})

    _assert_error(response, 413, "0x80060888")
    assert _counts(database) == before


def test_an_account_none_of_whose_phones_the_planner_dials_is_rejected_line_by_line(emulator):
    # The same refusal as CCaaS_CreateProactiveDelivery's for a request whose contacts have no phone it dials.
    config = emulator.engagement()
    emulator.planner(config, phone_type_priority="HomePhoneNumber")
    text = (
        "UniqueIdentifier,MobilePhoneNumber,HomePhoneNumber,ID\n"
        "H-1,+15550091,,FAM\n"
        "H-2,+15550092,,FAM\n"
        "H-3,+15550093,+15550094,\n"
    )
    response = emulator.client.post(_url(config), content=text, headers={"Content-Type": "text/csv"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 1
    assert [item["line"] for item in body["rejected"]] == [2, 3]
    assert {item["reason"] for item in body["rejected"]} == {
        "None of the contacts has a phone this engagement dials: its planner settings dial HomePhoneNumber."
    }
