"""Behind a TLS-terminating proxy, links carry the client's scheme and host (issue 15, item 6).

X-Forwarded-Proto and X-Forwarded-Host are honoured from CCAAS_TRUSTED_PROXIES only (default loopback): every
absolute link (@odata.context, @odata.nextLink, OData-EntityId, a batch part's) is built from the origin the
client called. From any other address the headers are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from ccaas_emulator.settings import Settings, SettingsError, load_settings
from tests.support.apps import create_test_app
from tests.support.demo import ORG_URL
from tests.support.samples import voice_body
from tests.support.tokens import bearer
from tests.support.urls import API, CONFIGS, DELIVERIES, VOICE_URL

PUBLIC = "https://ccaas.example.test"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ccaas.example.test"}
NEW_CONFIG = {
    "msdyn_name": "Forwarded",
    "msdyn_description": "Made through a proxy",
    "msdyn_type": 100000000,
    "msdyn_dialmode_type": 100000001,
    "msdyn_priority": 2,
    "msdyn_processing_order": 700610001,
    "msdyn_max_concurrent_calls": 20,
    "msdyn_max_calls_per_agent": 2,
    "msdyn_ignore_queue_hours": True,
    "msdyn_queue@odata.bind": "/queues(5f2b0c5e-0000-4000-8000-00000000c0e9)",
}


@contextmanager
def connected_from(settings: Settings, clock, database, address: str) -> Iterator[TestClient]:
    """The app as a client at `address` reaches it (the peer address the proxy check judges)."""
    app = create_test_app(settings, clock=clock, database=database)
    with TestClient(app, base_url="http://127.0.0.1:8000", client=(address, 50000)) as client:
        yield client


def as_user(tokens, user: str = "agent", **headers: str) -> dict[str, str]:
    return bearer(tokens.for_user(user)) | headers


def test_a_trusted_proxys_forwarded_scheme_and_host_make_every_link(settings, clock, database, tokens):
    with connected_from(settings, clock, database, "127.0.0.1") as client:
        action = client.post(VOICE_URL, json=voice_body(), headers=as_user(tokens, **FORWARDED))
        client.post(VOICE_URL, json=voice_body(), headers=as_user(tokens))  # a second row: the first page links on
        page = client.get(
            f"{DELIVERIES}?$select=msdyn_status", headers=as_user(tokens, Prefer="odata.maxpagesize=1", **FORWARDED)
        )
        created = client.post(CONFIGS, json=NEW_CONFIG, headers=as_user(tokens, "admin", **FORWARDED))

    assert action.status_code == 200, action.text
    assert action.json()["@odata.context"].startswith(f"{PUBLIC}{API}/$metadata#")
    assert page.status_code == 200, page.text
    assert page.json()["@odata.context"] == f"{PUBLIC}{API}/$metadata#msdyn_proactive_deliveries(msdyn_status)"
    assert page.json()["@odata.nextLink"].startswith(f"{PUBLIC}{API}/msdyn_proactive_deliveries?")
    assert created.status_code == 204, created.text
    assert created.headers["odata-entityid"].startswith(f"{PUBLIC}{API}/msdyn_proactive_engagement_configs(")


def test_a_batch_part_answers_with_the_forwarded_origin_and_cannot_forward_itself(settings, clock, database, tokens):
    boundary = "batch_forwarded"
    body = (
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"GET {API}/msdyn_proactive_deliveries?$top=1 HTTP/1.1\r\nAccept: application/json\r\n"
        "X-Forwarded-Host: attacker.example\r\nX-Forwarded-Proto: http\r\n\r\n"
        f"--{boundary}--\r\n"
    )
    headers = as_user(tokens, **FORWARDED, **{"Content-Type": f"multipart/mixed; boundary={boundary}"})
    with connected_from(settings, clock, database, "127.0.0.1") as client:
        response = client.post(f"{API}/$batch", content=body.encode(), headers=headers)

    assert response.status_code == 200, response.text
    assert f'"@odata.context":"{PUBLIC}{API}/$metadata#msdyn_proactive_deliveries"' in response.text
    assert "attacker.example" not in response.text


def test_an_untrusted_clients_forwarded_headers_are_ignored(settings, clock, database, tokens):
    with connected_from(settings, clock, database, "192.0.2.10") as client:
        page = client.get(DELIVERIES, headers=as_user(tokens, **FORWARDED))
        created = client.post(CONFIGS, json=NEW_CONFIG, headers=as_user(tokens, "admin", **FORWARDED))

    assert page.status_code == 200, page.text
    assert page.json()["@odata.context"] == f"http://127.0.0.1:8000{API}/$metadata#msdyn_proactive_deliveries"
    assert created.headers["odata-entityid"].startswith(f"http://127.0.0.1:8000{API}/")


def test_with_no_trusted_proxies_even_loopback_is_not_believed(database_url, clock, database, tokens):
    settings = Settings(database_url=database_url, org_url=ORG_URL, trusted_proxies="")
    with connected_from(settings, clock, database, "127.0.0.1") as client:
        page = client.get(DELIVERIES, headers=as_user(tokens, **FORWARDED))

    assert page.json()["@odata.context"].startswith(f"http://127.0.0.1:8000{API}/")


def test_a_configured_proxy_network_is_trusted_and_its_neighbours_are_not(database_url, clock, database, tokens):
    settings = Settings(database_url=database_url, org_url=ORG_URL, trusted_proxies="10.1.0.0/16, ::1")
    with connected_from(settings, clock, database, "10.1.2.3") as inside:
        trusted = inside.get(DELIVERIES, headers=as_user(tokens, **FORWARDED)).json()["@odata.context"]
    with connected_from(settings, clock, database, "127.0.0.1") as outside:
        untrusted = outside.get(DELIVERIES, headers=as_user(tokens, **FORWARDED)).json()["@odata.context"]

    assert trusted.startswith(f"{PUBLIC}{API}/")
    assert untrusted.startswith(f"http://127.0.0.1:8000{API}/")


@pytest.mark.parametrize(
    ("headers", "origin"),
    [
        ({"X-Forwarded-Proto": "https"}, "https://127.0.0.1:8000"),  # the scheme alone; the Host stands
        ({"X-Forwarded-Host": "ccaas.example.test:9443"}, "http://ccaas.example.test:9443"),
        ({"X-Forwarded-Proto": "http, https", "X-Forwarded-Host": "evil.example, ccaas.example.test"}, PUBLIC),
        ({"X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "bad host/with?path"}, "http://127.0.0.1:8000"),
    ],
    ids=["proto-only", "host-only", "nearest-proxy-last", "unusable-values-ignored"],
)
def test_the_forwarded_values_a_link_takes(settings, clock, database, tokens, headers, origin):
    with connected_from(settings, clock, database, "127.0.0.1") as client:
        response = client.get(DELIVERIES, headers=as_user(tokens, **headers))

    assert response.status_code == 200, response.text
    assert response.json()["@odata.context"] == f"{origin}{API}/$metadata#msdyn_proactive_deliveries"


def test_an_unparsable_trusted_proxy_setting_is_named():
    with pytest.raises(SettingsError, match="CCAAS_TRUSTED_PROXIES"):
        load_settings(trusted_proxies="127.0.0.1,localhost")


def test_a_rebinding_page_cannot_pass_the_control_apis_host_check_by_forwarding_loopback(settings, clock, database):
    """A page on attacker.example resolving to 127.0.0.1 connects from loopback (a trusted proxy address)."""
    forged = {"Host": "attacker.example:8000", "X-Forwarded-Host": "127.0.0.1:8000", "X-Forwarded-Proto": "http"}
    with connected_from(settings, clock, database, "127.0.0.1") as client:
        response = client.post("/emulator/v1/reset", headers=forged | {"Content-Type": "application/json"})

    assert response.status_code == 403, response.text
    assert "attacker.example" in response.json()["error"]["message"]
