"""Service protection limits per user, as Dataverse enforces them (wire-facts E4, E7, E13; issue 15 item 7).

Before, no limit existed: a client's retry-on-429 logic could not be exercised. The limits count real time on an
injected clock; here it is a fake one the tests move, so nothing waits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from ccaas_emulator.clock import FixedClock, real_now
from ccaas_emulator.protection.callers import TokenCallers
from ccaas_emulator.protection.limits import Exceeded, Limits, Refusal, ServiceProtection, Ticket
from ccaas_emulator.settings import Settings, SettingsError, load_settings
from tests.support.apps import create_test_app
from tests.support.demo import ORG_URL
from tests.support.tokens import Tokens, bearer
from tests.support.urls import API, DELIVERIES

BURST = "x-ms-ratelimit-burst-remaining-xrm-requests"
TIME = "x-ms-ratelimit-time-remaining-xrm-requests"


class SteppingClock:
    """Real time as the limits see it: each reading is `step` later than the one before (no sleeping)."""

    def __init__(self, at: datetime, step: timedelta) -> None:
        self.at, self.step = at, step

    def now(self) -> datetime:
        self.at += self.step
        return self.at


def limited_client(settings: Settings, clock, database, real_clock, **limits: object) -> TestClient:
    app = create_test_app(settings.model_copy(update=limits), clock=clock, database=database, real_clock=real_clock)
    return TestClient(app, base_url=ORG_URL, raise_server_exceptions=False)


@pytest.fixture
def real_clock() -> FixedClock:
    return FixedClock(real_now())


@pytest.fixture
def three_a_window(settings, clock, database, real_clock) -> Iterator[TestClient]:
    with limited_client(settings, clock, database, real_clock, limit_requests=3, limit_window_seconds=300) as client:
        yield client


def tokens_of(client: TestClient, settings: Settings) -> Tokens:
    return Tokens(client.app.state.runtime.keys, settings, real_now())  # type: ignore[attr-defined]


def get(client: TestClient, token: str, path: str = f"{API}/") -> httpx.Response:
    return client.get(path, headers=bearer(token))


def test_the_request_limit_refuses_with_429_retry_after_and_the_documented_message_then_admits_later(
    three_a_window, settings, real_clock
):
    token = tokens_of(three_a_window, settings).for_user("agent")

    remaining = [get(three_a_window, token).headers[BURST] for _ in range(3)]
    refused = get(three_a_window, token)

    assert remaining == ["2", "1", "0"]
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "300"
    assert refused.json() == {
        "error": {
            "code": "0x80072322",
            "message": "Number of requests exceeded the limit of 3 over time window of 300 seconds.",
        }
    }
    assert refused.headers[BURST] == "0"
    assert refused.headers["REQ_ID"]  # inside the Dataverse headers middleware

    real_clock.set(real_clock.now() + timedelta(seconds=299))
    assert get(three_a_window, token).status_code == 429
    real_clock.set(real_clock.now() + timedelta(seconds=1))
    admitted = get(three_a_window, token)
    assert admitted.status_code == 200
    assert admitted.headers[BURST] == "2"


def test_the_window_slides_retry_after_names_when_the_oldest_request_leaves_it(three_a_window, settings, real_clock):
    token = tokens_of(three_a_window, settings).for_user("agent")
    start = real_clock.now()
    for offset in (0, 100, 200):
        real_clock.set(start + timedelta(seconds=offset))
        assert get(three_a_window, token).status_code == 200

    real_clock.set(start + timedelta(seconds=250))
    refused = get(three_a_window, token)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "50"

    real_clock.set(start + timedelta(seconds=300))  # the first request has left the window; the others have not
    assert get(three_a_window, token).status_code == 200
    assert get(three_a_window, token).status_code == 429


def test_limits_are_per_user(three_a_window, settings):
    tokens = tokens_of(three_a_window, settings)
    agent, admin = tokens.for_user("agent"), tokens.for_user("admin")
    for _ in range(3):
        get(three_a_window, agent)

    assert get(three_a_window, agent).status_code == 429
    answer = get(three_a_window, admin)
    assert answer.status_code == 200
    assert answer.headers[BURST] == "2"


def test_every_answer_under_the_web_api_carries_the_ratelimit_headers_in_the_captured_format(client, agent_headers):
    answers = [
        client.get(f"{API}/", headers=agent_headers),  # 200
        client.get(f"{DELIVERIES}({uuid.uuid4()})", headers=agent_headers),  # 404
        client.get(f"{DELIVERIES}?$skip=1", headers=agent_headers),  # 400
        client.get(f"{API}/nothing_here", headers=agent_headers),  # 404 of the fallback router
        client.post(f"{API}/CCaaS_CreateProactiveVoiceDelivery", content=b"{", headers=agent_headers),  # 400
    ]

    assert [answer.status_code for answer in answers] == [200, 404, 400, 404, 400]
    for answer in answers:
        assert answer.headers[BURST].isdigit()
        assert int(answer.headers[BURST]) < 6000
        # wire-facts E4: `1,200.00`, seconds with thousands separators and two decimals
        assert answer.headers[TIME].replace(",", "").replace(".", "", 1).isdigit()
        assert answer.headers[TIME][-3] == "."
    assert answers[0].headers[BURST] == "5999"


def test_a_fresh_user_is_told_the_whole_execution_budget_as_1_200_00_seconds(settings, clock, database, real_clock):
    # A fixed clock: the request takes no time, so the whole 1,200,000 ms remain.
    with limited_client(settings, clock, database, real_clock) as client:
        answer = get(client, tokens_of(client, settings).for_user("agent"))

    assert answer.headers[TIME] == "1,200.00"
    assert answer.headers[BURST] == "5999"


def test_an_unauthenticated_request_is_not_counted_and_gets_its_401_without_the_headers(three_a_window):
    answers = [three_a_window.get(f"{API}/") for _ in range(5)]

    assert {answer.status_code for answer in answers} == {401}
    assert all(BURST not in answer.headers and TIME not in answer.headers for answer in answers)


def test_the_control_api_and_health_are_outside_the_limits(three_a_window):
    for _ in range(5):
        assert three_a_window.get("/emulator/v1/clock").status_code == 200
        assert three_a_window.get("/health").status_code == 200
    assert BURST not in three_a_window.get("/emulator/v1/clock").headers


def test_the_execution_time_limit_refuses_once_the_window_holds_that_much(settings, clock, database):
    # Each reading of this clock is 400 ms after the last: admission and answer are one reading apart, so each
    # request executes for 400 ms of (fake) real time.
    stepping = SteppingClock(real_now(), timedelta(milliseconds=400))
    with limited_client(settings, clock, database, stepping, limit_execution_ms=1000) as client:
        token = tokens_of(client, settings).for_user("agent")
        first, second, third = (get(client, token) for _ in range(3))
        refused = get(client, token)

    assert [first.status_code, second.status_code, third.status_code] == [200, 200, 200]
    assert [first.headers[TIME], second.headers[TIME], third.headers[TIME]] == ["0.60", "0.20", "0.00"]
    assert refused.status_code == 429
    assert refused.json()["error"] == {
        "code": "0x80072321",
        "message": "Combined execution time of incoming requests exceeded limit of 1,000 milliseconds over time "
        "window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try "
        "again later.",
    }
    assert 1 <= int(refused.headers["Retry-After"]) <= 300


def test_ccaas_limits_0_switches_them_off(settings, clock, database, real_clock):
    with limited_client(settings, clock, database, real_clock, limits=False, limit_requests=1) as client:
        token = tokens_of(client, settings).for_user("agent")
        answers = [get(client, token) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert all(BURST not in answer.headers and TIME not in answer.headers for answer in answers)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("LIMIT_REQUESTS", "0"), ("LIMIT_WINDOW_SECONDS", "0"), ("LIMIT_EXECUTION_MS", "-1"), ("LIMIT_CONCURRENT", "x")],
)
def test_a_limit_that_is_not_a_positive_number_stops_the_start(monkeypatch, variable, value):
    monkeypatch.setenv(f"CCAAS_{variable}", value)
    with pytest.raises(SettingsError, match=f"CCAAS_{variable}"):
        load_settings()


# --- the bookkeeping itself ------------------------------------------------------------------------------------


def protection(clock, **overrides: int) -> ServiceProtection:
    limits = {"requests": 6000, "window_seconds": 300, "execution_ms": 1_200_000, "concurrent": 52} | overrides
    return ServiceProtection(Limits(**limits), clock)


def test_the_53rd_concurrent_request_is_refused_at_once_and_admitted_when_one_ends(real_clock):
    limits = protection(real_clock)
    tickets = [limits.admit("user") for _ in range(52)]

    refused = limits.admit("user")

    assert all(isinstance(ticket, Ticket) for ticket in tickets)
    assert refused == Refusal(Exceeded.CONCURRENCY, 1)
    assert isinstance(limits.admit("someone else"), Ticket)
    limits.release(tickets[0])  # type: ignore[arg-type]
    assert isinstance(limits.admit("user"), Ticket)


def test_a_refused_request_is_not_counted(real_clock):
    limits = protection(real_clock, requests=2)
    for _ in range(2):
        limits.release(limits.admit("user"))  # type: ignore[arg-type]
    for _ in range(10):
        assert isinstance(limits.admit("user"), Refusal)

    real_clock.set(real_clock.now() + timedelta(seconds=300))
    assert isinstance(limits.admit("user"), Ticket)
    assert isinstance(limits.admit("user"), Ticket)
    assert isinstance(limits.admit("user"), Refusal)


def test_memory_is_bounded_users_with_an_empty_window_are_forgotten(real_clock):
    limits = protection(real_clock)
    for index in range(1000):
        limits.release(limits.admit(f"user {index}"))  # type: ignore[arg-type]
    held = limits.admit("still executing")
    assert limits.users == 1001

    real_clock.set(real_clock.now() + timedelta(seconds=301))
    limits.admit("newcomer")

    assert limits.users == 2  # the newcomer, and the user whose request is still in flight
    limits.release(held)  # type: ignore[arg-type]


def test_a_users_buckets_are_bounded_by_the_windows_seconds(real_clock):
    limits = protection(real_clock, requests=1_000_000)
    for second in range(1000):
        real_clock.set(real_clock.now() + timedelta(seconds=1))
        ticket = limits.admit("user")
        assert isinstance(ticket, Ticket)
        limits.release(ticket)

    assert len(ticket.window.buckets) <= 300
    assert limits.remaining(ticket).requests == 1_000_000 - 300


def test_a_tokens_caller_is_remembered_until_the_token_expires_then_verified_again(real_clock):
    verified: list[bytes] = []
    expires = real_clock.now().timestamp() + 60

    def verify(scope) -> tuple[str, float] | None:
        verified.append(dict(scope["headers"])[b"authorization"])
        return ("the oid", expires) if verified[-1] == b"Bearer good" else None

    callers = TokenCallers(verify, real_clock, size=2)
    scope = {"headers": [(b"authorization", b"Bearer good")]}

    assert [callers(scope) for _ in range(3)] == ["the oid"] * 3
    assert callers({"headers": [(b"authorization", b"Bearer bad")]}) is None
    assert callers({"headers": []}) is None
    assert verified == [b"Bearer good", b"Bearer bad"]  # the good one once; no header: nothing to verify

    real_clock.set(real_clock.now() + timedelta(seconds=60))
    assert callers(scope) == "the oid"
    assert verified[-1] == b"Bearer good"
    assert len(verified) == 3
