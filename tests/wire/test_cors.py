"""CORS for browser single-page apps, as Dataverse offers it (issue 12): off by default, CCAAS_CORS_ORIGINS lists
the origins whose pages may call /api/data/; /emulator/v1 is never opened to another origin.

Before, no response carried any Access-Control-* header, so a browser app could not call the emulator at all.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from ccaas_emulator.settings import Settings, SettingsError, load_settings
from tests.support.apps import create_test_app
from tests.support.demo import ORG_URL
from tests.support.tokens import bearer
from tests.support.urls import CONFIGS, VOICE_URL

SPA = "http://localhost:5173"
OTHER = "https://attacker.example"


def preflight(client: TestClient, url: str, origin: str, method: str = "POST") -> httpx.Response:
    return client.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type,odata-version,odata-maxversion,if-match",
        },
    )


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


@pytest.fixture
def cors_client(settings: Settings, clock, database) -> Iterator[TestClient]:
    listed = settings.model_copy(update={"cors_origins": f"{SPA},https://app.contoso.example"})
    app = create_test_app(listed, clock=clock, database=database)
    with TestClient(app, base_url=ORG_URL, raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_listed_origins_preflight_is_answered_with_the_methods_and_the_odata_headers(cors_client):
    response = preflight(cors_client, VOICE_URL, SPA)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "POST", "PATCH", "PUT", "DELETE"}
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {
        "authorization",
        "content-type",
        "odata-version",
        "odata-maxversion",
        "prefer",
        "if-match",
        "if-none-match",
        "accept",
        "mscrm.sessiontoken",
        "callerobjectid",
    } <= allowed
    assert "access-control-allow-credentials" not in response.headers  # tokens travel in Authorization
    assert "Origin" in response.headers["vary"]
    assert response.headers["odata-version"] == "4.0"
    assert response.headers["req_id"]


def test_an_unlisted_origins_preflight_gets_no_cors_headers(cors_client):
    response = preflight(cors_client, VOICE_URL, OTHER)

    assert cors_headers(response) == {}
    assert response.status_code == 401  # the app answers it as any OPTIONS without a token
    assert response.json()["error"]["code"] == "0x8004A103"


def test_a_listed_origins_request_may_read_the_answer_and_its_headers(cors_client, tokens):
    response = cors_client.get(CONFIGS, headers={"Origin": SPA, **bearer(tokens.for_user("agent"))})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"odata-entityid", "etag", "location", "preference-applied", "req_id", "www-authenticate"} <= exposed
    assert {"retry-after", "x-ms-ratelimit-burst-remaining-xrm-requests"} <= exposed
    assert {"x-ms-ratelimit-time-remaining-xrm-requests"} <= exposed
    assert "Origin" in response.headers["vary"]


def test_a_listed_origin_reads_the_error_envelope_too(cors_client):
    response = cors_client.post(VOICE_URL, content=b"{}", headers={"Origin": SPA, "Content-Type": "application/json"})

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == SPA
    assert response.json()["error"]["code"] == "0x8004A103"


def test_origins_are_matched_whole_and_without_letter_case(cors_client):
    assert preflight(cors_client, VOICE_URL, "HTTP://LOCALHOST:5173").headers["access-control-allow-origin"]
    assert cors_headers(preflight(cors_client, VOICE_URL, "http://localhost:5174")) == {}
    assert cors_headers(preflight(cors_client, VOICE_URL, "http://localhost:5173.attacker.example")) == {}


def test_the_control_api_never_gets_cors_headers(cors_client):
    for response in (
        preflight(cors_client, "/emulator/v1/reset", SPA),
        cors_client.get("/emulator/v1/clock", headers={"Origin": SPA}),
        preflight(cors_client, "/health", SPA, method="GET"),
    ):
        assert cors_headers(response) == {}


def test_cors_is_off_by_default(client, tokens):
    assert cors_headers(preflight(client, VOICE_URL, SPA)) == {}
    assert cors_headers(client.get(CONFIGS, headers={"Origin": SPA, **bearer(tokens.for_user("agent"))})) == {}


def test_any_origin_is_answered_with_a_star_and_never_with_credentials(settings, clock, database):
    app = create_test_app(settings.model_copy(update={"cors_origins": "*"}), clock=clock, database=database)
    with TestClient(app, base_url=ORG_URL, raise_server_exceptions=False) as client:
        response = preflight(client, VOICE_URL, OTHER)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("value", ["localhost:5173", "http://localhost:5173/app", "ftp://x.example", "https://"])
def test_a_value_that_is_not_an_origin_stops_start_up_naming_the_variable(value):
    with pytest.raises(SettingsError, match="CCAAS_CORS_ORIGINS"):
        load_settings(cors_origins=value)


def test_listed_origins_are_normalised():
    assert load_settings(cors_origins=" http://LocalHost:5173/ , https://app.example ").cors_origin_set == {
        "http://localhost:5173",
        "https://app.example",
    }
