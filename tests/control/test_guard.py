"""Who may call /emulator/v1 (issue 12): this machine or the configured host, never a web page of another origin.

The probe that found it: a plain cross-site form POST with `Origin: https://attacker.example` to
/emulator/v1/reset wiped every delivery; any Host header was accepted, so DNS rebinding worked too; a huge chunked
body was read whole into memory. Each refusal is in the Dataverse envelope, on both back ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ccaas_emulator.db.models import ProactiveDelivery
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app
from tests.support.demo import ORG_URL
from tests.support.in_process import window

JSON = {"Content-Type": "application/json"}
ACCESS_DENIED = "0x80048405"


def _deliveries(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(ProactiveDelivery)) or 0


def _assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"error"}
    assert set(response.json()["error"]) == {"code", "message"}
    assert response.json()["error"]["code"] == code


@pytest.fixture
def local(database_url: str, database: Database) -> Iterator[TestClient]:
    """The emulator as `make run` serves it: http://127.0.0.1:8000, its org URL the default."""
    settings = Settings(database_url=database_url, dialer="off", clock_speed=0, max_body_bytes=4096)
    with TestClient(
        create_test_app(settings, database=database), base_url="http://127.0.0.1:8000", raise_server_exceptions=False
    ) as client:
        yield client


# --- the original finding -------------------------------------------------------------------------------------


def test_a_cross_site_form_post_cannot_reset_the_database(emulator):
    emulator.post(windows=[window()])
    before = _deliveries(emulator.database)

    response = emulator.client.post(
        "/emulator/v1/reset",
        content="reseed=true",
        headers={"Origin": "https://attacker.example", "Content-Type": "application/x-www-form-urlencoded"},
    )

    _assert_refused(response, 403, ACCESS_DENIED)
    assert "another origin" in response.json()["error"]["message"]
    assert _deliveries(emulator.database) == before >= 1


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", None]
)
def test_a_state_change_a_browser_sends_without_a_preflight_is_415(emulator, content_type):
    # Even with no Origin at all (old browsers, some redirects): the content type alone gives it away.
    emulator.post(windows=[window()])
    before = _deliveries(emulator.database)
    headers = {"Content-Type": content_type} if content_type else {}

    response = emulator.client.post("/emulator/v1/reset", content=b"", headers=headers)

    _assert_refused(response, 415, "0x80060888")
    assert _deliveries(emulator.database) == before


def test_a_json_body_sent_as_text_plain_does_not_move_the_clock(emulator):
    before = emulator.client.get("/emulator/v1/clock").json()["now"]

    response = emulator.client.post(
        "/emulator/v1/clock", content=b'{"advance":"P1D"}', headers={"Content-Type": "text/plain"}
    )

    _assert_refused(response, 415, "0x80060888")
    assert emulator.client.get("/emulator/v1/clock").json()["now"] == before


def test_put_and_delete_need_json_when_they_carry_a_content_type(emulator):
    queue = "/emulator/v1/queues/6a3c1d6f-0000-4000-8000-0000000000aa"
    put = emulator.client.put(queue, content=b'{"representatives": 3}', headers={"Content-Type": "text/plain"})
    delete = emulator.client.request("DELETE", "/emulator/v1/outcomes", headers={"Content-Type": "text/plain"})

    _assert_refused(put, 415, "0x80060888")
    _assert_refused(delete, 415, "0x80060888")
    # DELETE cannot leave a browser cross-site without a preflight: curl -X DELETE with no body keeps working.
    assert emulator.client.delete("/emulator/v1/outcomes").status_code == 204
    assert emulator.client.put(queue, json={"representatives": 3}).status_code == 200


def test_json_with_a_charset_is_json(emulator):
    response = emulator.client.post(
        "/emulator/v1/clock", content=b'{"advance":"PT1M"}', headers={"Content-Type": "application/json; charset=utf-8"}
    )

    assert response.status_code == 200


# --- Host: DNS rebinding ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["attacker.example", "attacker.example:8000", "127.0.0.1.attacker.example", "localhost.attacker.example:8000",
     "0.0.0.0:8000", "10.0.0.5:8000", "::1", "[::1", "127.0.0.1:http", "localhost:8000:1", "2130706433"],
)  # fmt: skip
def test_a_foreign_host_is_refused_even_when_it_resolves_to_loopback(local, database, host):
    before = _deliveries(database)

    read = local.get("/emulator/v1/clock", headers={"Host": host})
    reset = local.post("/emulator/v1/reset", headers={"Host": host, **JSON})

    _assert_refused(read, 403, ACCESS_DENIED)
    _assert_refused(reset, 403, ACCESS_DENIED)
    assert f"Host '{host}'" in reset.json()["error"]["message"]
    assert _deliveries(database) == before


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:8000", "127.0.0.1", "127.3.2.1:9", "localhost:8000", "LOCALHOST", "localhost.:8000", "[::1]:8000",
     "[::1]"],
)  # fmt: skip
def test_loopback_names_are_served_with_or_without_a_port(local, host):
    assert local.get("/emulator/v1/clock", headers={"Host": host}).status_code == 200


def test_the_configured_hosts_are_served_too(database_url, database):
    # CCAAS_HOST when it names one address, and the host of CCAAS_ORG_URL (compose: http://localhost:8000).
    settings = Settings(database_url=database_url, host="192.0.2.7", org_url="https://emulator.test:8443",
                        dialer="off", control_token="s3cret")  # fmt: skip
    with TestClient(create_test_app(settings, database=database), raise_server_exceptions=False) as client:
        auth = {"Authorization": "Bearer s3cret"}
        for host in ("192.0.2.7:8000", "emulator.test", "emulator.test:8443"):
            assert client.get("/emulator/v1/clock", headers={"Host": host, **auth}).status_code == 200, host
        refused = client.get("/emulator/v1/clock", headers={"Host": "testserver", **auth})

    _assert_refused(refused, 403, ACCESS_DENIED)
    assert "192.0.2.7, emulator.test" in refused.json()["error"]["message"]


def test_a_wildcard_listen_address_is_no_host_name(database_url, database):
    settings = Settings(database_url=database_url, host="0.0.0.0", org_url=ORG_URL, dialer="off", control_token="t")
    with TestClient(create_test_app(settings, database=database), raise_server_exceptions=False) as client:
        response = client.get("/emulator/v1/clock", headers={"Host": "0.0.0.0:8000", "Authorization": "Bearer t"})

    _assert_refused(response, 403, ACCESS_DENIED)


def test_the_host_is_checked_before_the_control_token(database_url, database):
    settings = Settings(database_url=database_url, org_url=ORG_URL, dialer="off", control_token="s3cret")
    with TestClient(create_test_app(settings, database=database), base_url=ORG_URL, raise_server_exceptions=False) as c:
        foreign = c.get("/emulator/v1/clock", headers={"Host": "attacker.example", "Authorization": "Bearer s3cret"})
        cross_site = c.get("/emulator/v1/clock", headers={"Origin": "https://attacker.example",
                                                          "Authorization": "Bearer s3cret"})  # fmt: skip
        no_token = c.post("/emulator/v1/reset", content="x", headers={"Content-Type": "text/plain"})

    _assert_refused(foreign, 403, ACCESS_DENIED)
    _assert_refused(cross_site, 403, ACCESS_DENIED)
    _assert_refused(no_token, 401, "0x8004A103")  # the token before the content type: say what is missing first
    assert no_token.headers["www-authenticate"] == 'Bearer realm="ccaas-emulator control API"'


# --- Origin and Sec-Fetch-Site ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    ["https://attacker.example", "null", "http://localhost:3000", "http://localhost:8000", "https://127.0.0.1:8000",
     "http://127.0.0.1:8001", "file://", "not an origin"],
)  # fmt: skip
def test_an_origin_other_than_the_emulators_own_is_refused(local, database, origin):
    before = _deliveries(database)

    response = local.post("/emulator/v1/reset", headers={"Origin": origin, **JSON})

    _assert_refused(response, 403, ACCESS_DENIED)
    assert f"Origin: {origin}" in response.json()["error"]["message"]
    assert _deliveries(database) == before


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8000", "HTTP://127.0.0.1:8000"])
def test_the_emulators_own_pages_may_call_it(local, origin):
    # /docs (Swagger UI) at http://127.0.0.1:8000 sends its own origin with "Try it out".
    response = local.post("/emulator/v1/clock", json={"advance": "PT1M"}, headers={"Origin": origin})

    assert response.status_code == 200


def test_the_org_urls_origin_may_call_it(emulator):
    response = emulator.client.post("/emulator/v1/clock", json={"advance": "PT1M"}, headers={"Origin": ORG_URL})

    assert response.status_code == 200


@pytest.mark.parametrize("site, status", [("cross-site", 403), ("same-site", 403), ("same-origin", 200),
                                          ("none", 200)])  # fmt: skip
def test_sec_fetch_site_from_another_site_is_refused(local, site, status):
    response = local.post("/emulator/v1/clock", json={"advance": "PT1M"}, headers={"Sec-Fetch-Site": site})

    assert response.status_code == status
    if status == 403:
        _assert_refused(response, 403, ACCESS_DENIED)


# --- the body limit ---------------------------------------------------------------------------------------------


def _chunks(total: int, size: int = 1000) -> Iterator[bytes]:
    yield b'{"phoneNumber": "+15550100", "outcomes": ["NoAnswer"], "pad": "'
    for _ in range(total // size):
        yield b"a" * size
    yield b'"}'


def test_a_chunked_body_over_the_limit_is_413(local):
    # Before: FastAPI read the whole body (200 MiB took the process from 140 MB to 1.3 GB) and parsed it.
    response = local.post("/emulator/v1/outcomes", content=_chunks(20_000), headers=JSON)

    _assert_refused(response, 413, "0x80060888")
    assert "4096 bytes" in response.json()["error"]["message"]
    assert local.get("/emulator/v1/outcomes").json() == {"value": []}


def test_a_declared_length_over_the_limit_is_413(local):
    body = b"".join(_chunks(20_000))

    response = local.post("/emulator/v1/outcomes", content=body, headers={**JSON, "Content-Length": str(len(body))})

    _assert_refused(response, 413, "0x80060888")


def test_a_body_within_the_limit_still_reaches_the_route(local):
    response = local.post("/emulator/v1/outcomes", content=_chunks(1_000), headers=JSON)  # chunked, read and replayed

    _assert_refused(response, 400, "0x80040203")  # the route ran: its model refuses the unknown key 'pad'
    assert "pad" in response.json()["error"]["message"]
