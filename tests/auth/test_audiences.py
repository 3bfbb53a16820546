"""Tokens are accepted for the org URL and every origin a `serve` recorded, and for nothing else (issue 15, 2 and 4).

Dataverse accepts a token on each of its host names; the emulator answers on http and https, 127.0.0.1 and
localhost, on ports chosen at start. `serve` records those origins in the database, the verifier accepts them
(read again, rate-limited, when a token names one it does not know), and `ccaas-emulator token` run in another
shell that shares only the database mints for the running server's org URL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import orjson
import pytest
from sqlalchemy import event

from ccaas_emulator.auth.origins import RELOAD_INTERVAL, KnownAudiences, record_origins, recorded_org_url
from ccaas_emulator.clock import real_now
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.serving import served_origins
from ccaas_emulator.settings import Settings
from tests.support.demo import NOW, ORG_URL
from tests.support.servers import start_server, stop
from tests.support.tokens import bearer
from tests.support.urls import DELIVERIES


def test_a_token_for_an_origin_recorded_after_start_is_accepted(client, tokens, database):
    token = tokens.for_user(audience="HTTPS://LOCALHOST:9443/")  # case and a trailing slash do not matter
    before = client.get(DELIVERIES, headers=bearer(token))
    record_origins(database, ["https://localhost:9443"], org_url=ORG_URL, now=NOW)
    time.sleep(RELOAD_INTERVAL.total_seconds())  # the refusal just read the set: it is read again a second later

    after = client.get(DELIVERIES, headers=bearer(token))

    assert before.status_code == 401
    assert after.status_code == 200, after.text


def test_a_token_for_any_other_audience_is_still_refused(client, tokens, database):
    record_origins(database, ["http://127.0.0.1:8123", "http://localhost:8123"], org_url=ORG_URL, now=NOW)

    for audience in ("http://127.0.0.1:8124", "http://localhost", "https://contoso.crm4.dynamics.com", "*"):
        response = client.get(DELIVERIES, headers=bearer(tokens.for_user(audience=audience)))
        assert response.status_code == 401, audience
        assert "IDX10214" in response.json()["error"]["message"]
        assert "WWW-Authenticate" in response.headers


def test_the_recorded_set_is_read_again_at_most_once_a_second(database):
    statements: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    audiences = KnownAudiences(ORG_URL, database=database)
    start = real_now()

    assert audiences.accepts(ORG_URL.upper() + "/", now=start)
    assert statements == []  # the org URL never costs a query
    assert not audiences.accepts("http://localhost:7001", now=start)
    record_origins(database, ["http://localhost:7001"], org_url=ORG_URL, now=NOW)
    queries = len([s for s in statements if "emulator_served_origin" in s and s.lstrip().startswith("SELECT")])
    assert not audiences.accepts("http://localhost:7001", now=start + timedelta(milliseconds=500))
    assert not audiences.accepts("http://localhost:7002", now=start + timedelta(milliseconds=900))
    again = len([s for s in statements if "emulator_served_origin" in s and s.lstrip().startswith("SELECT")])
    assert again == queries  # a flood of unknown audiences within the interval costs no query

    assert audiences.accepts("http://localhost:7001", now=start + timedelta(seconds=1, milliseconds=1))


def test_serve_records_http_and_https_on_loopback_names_and_the_configured_host():
    settings = Settings(host="ccaas.internal", port=8100, tls_port=8543, org_url="https://contoso.crm.dynamics.com")

    assert served_origins(settings) == [
        "http://127.0.0.1:8100",
        "http://localhost:8100",
        "http://ccaas.internal:8100",
        "https://127.0.0.1:8543",
        "https://localhost:8543",
        "https://ccaas.internal:8543",
    ]
    assert served_origins(Settings(host="0.0.0.0", port=80, tls_port=0)) == ["http://127.0.0.1", "http://localhost"]
    assert served_origins(Settings(host="::1", port=8000, tls_port=0))[-1] == "http://[::1]:8000"


def test_the_org_url_of_the_server_that_started_last_is_the_recorded_one(database):
    assert recorded_org_url(database) is None
    record_origins(database, served_origins(Settings(port=8001)), org_url="http://127.0.0.1:8001", now=NOW)
    record_origins(database, [], org_url="http://127.0.0.1:8002", now=NOW + timedelta(seconds=1))

    assert recorded_org_url(database) == "http://127.0.0.1:8002"


# --- `ccaas-emulator token` in another shell ------------------------------------------------------------------


def _cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    environment |= {"CCAAS_DATABASE_URL": database_url} | env
    return subprocess.run(
        [sys.executable, "-m", "ccaas_emulator", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _audience(token: str) -> str:
    return orjson.loads(jwt.api_jws.decode(token, options={"verify_signature": False}))["aud"]


@pytest.fixture
def served_database(tmp_path: Path) -> str:
    """A migrated SQLite file on which a server on port 18765 recorded where it answers."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    assert _cli(url, "migrate").returncode == 0
    database = Database(make_engine(url))
    try:
        settings = Settings(database_url=url, port=18765, tls_port=18766)
        record_origins(database, served_origins(settings), org_url=settings.org_url, now=real_now())
    finally:
        database.dispose()
    return url


def test_the_token_command_mints_for_the_running_server_without_port_variables(served_database):
    minted = _cli(served_database, "token")

    assert minted.returncode == 0, minted.stderr
    assert _audience(minted.stdout.strip()) == "http://127.0.0.1:18765"


def test_an_explicit_org_url_or_audience_still_wins(served_database):
    from_env = _cli(served_database, "token", CCAAS_ORG_URL="https://contoso.crm.dynamics.com")
    from_option = _cli(served_database, "token", "--audience", "https://localhost:18766")

    assert _audience(from_env.stdout.strip()) == "https://contoso.crm.dynamics.com"
    assert _audience(from_option.stdout.strip()) == "https://localhost:18766"


@pytest.mark.slow  # two serve processes on one database
def test_a_running_server_accepts_tokens_for_a_second_server_started_after_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'var' / 'ccaas.db'}"
    first, first_process = start_server(url, CCAAS_DIALER="off")
    second, second_process = start_server(url, CCAAS_DIALER="off")
    try:
        token = _cli(url, "token").stdout.strip()  # another shell: the last server's org URL
        for_https = _cli(url, "token", "--audience", f"https://localhost:{second.tls_port}").stdout.strip()
        time.sleep(RELOAD_INTERVAL.total_seconds())
        answers = [
            httpx.get(f"{server.base}{DELIVERIES}", headers=bearer(bearer_token), timeout=10).status_code
            for server in (first, second)
            for bearer_token in (token, for_https)
        ]
        stranger = _cli(url, "token", "--audience", "http://127.0.0.1:1").stdout.strip()  # served by no one
        refused = httpx.get(f"{first.base}{DELIVERIES}", headers=bearer(stranger), timeout=10).status_code
    finally:
        stop(first_process)
        stop(second_process)

    assert _audience(token) == f"http://127.0.0.1:{second.port}"
    assert answers == [200, 200, 200, 200]
    assert refused == 401
