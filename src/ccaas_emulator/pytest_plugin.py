"""The `ccaas` pytest fixture: a real `ccaas-emulator serve` for a user's own test suite (docs/pytest-plugin.md).

Loaded by pytest through the `pytest11` entry point of the installed package, in every session of every project
that has ccaas-emulator installed, so this module imports only the standard library and pytest, and starts
nothing until a test asks for `ccaas`. The server is then started once per session (the fixture is
session-scoped), in its own process:

- a subprocess rather than uvicorn on a thread of the test process: the user's tests may freeze or patch time
  (freezegun, time-machine), monkeypatch modules, set CCAAS_* variables or run their own event loop, and none of
  that reaches a server in another process; its dialer thread and database pool never share the test process's
  GIL with the code under test; it is exactly what users run (`python -m ccaas_emulator serve`); and a crash
  in it fails the session with its log, not the interpreter.
- its own SQLite database in the session's temporary directory, migrated and demo-seeded by `serve`;
- a stopped clock (CCAAS_CLOCK_SPEED=0): nothing happens until a test advances it;
- plain HTTP on a free loopback port, no TLS, the control API open to loopback as always.

`reset()` restores the state the session started with through the state import (PUT /emulator/v1/state), every
table at once, the clock included, and disarms the faults.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

START_TIMEOUT_SECONDS = 60.0
"""How long `serve` may take to answer /ready before the session fails (its first start migrates a new database)."""

DEMO_PASSWORD = "ccaas-demo-password"  # noqa: S105  (the published demo users' password, docs/operations.md)
PUBLIC_CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"  # any client id does for the password grant

# Keyword filters of deliveries(): readable names for the delivery columns a test filters on most. Any other
# keyword is taken as the wire name of a column (msdyn_channel, msdyn_batch_id...).
DELIVERY_FILTERS = {
    "status": "msdyn_status",
    "result": "msdyn_result",
    "phone": "msdyn_to_address",
    "to": "msdyn_to_address",
    "channel": "msdyn_channel",
    "contact": "msdyn_contact_id",
    "config": "msdyn_proactive_engagement_config_id",
    "batch": "msdyn_batch_id",
    "delivery_id": "msdyn_delivery_id",
}
DELIVERIES_PATH = "/api/data/v9.2/msdyn_proactive_deliveries"
MAX_PAGES = 1000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _literal(value: Any) -> str:
    """An OData literal: strings quoted (a quote doubled), None as null, booleans and numbers as themselves."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def delivery_filter(filters: dict[str, Any]) -> str:
    """The $filter of deliveries(**filters): each keyword an equality, all of them together (and)."""
    parts = []
    for name, value in sorted(filters.items()):
        column = DELIVERY_FILTERS.get(name, name)
        if not column.replace("_", "").isalnum():
            raise ValueError(f"{name!r} is not a delivery column")
        parts.append(f"{column} eq {_literal(value)}")
    return " and ".join(parts)


class Emulator:
    """The running emulator, as the `ccaas` fixture hands it to a test."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        """The base URL, http://127.0.0.1:<port>: the org URL (tokens' audience) and the Web API's host."""
        self.api = f"{url}/api/data/v9.2"
        """The Web API root, for the client under test."""
        self.log = log
        """The server's output (warnings and errors), for a failing test to read."""
        self._process = process
        self._tokens: dict[str, str] = {}
        self._snapshot: bytes | None = None
        import httpx

        self._http = httpx.Client(base_url=url, timeout=httpx.Timeout(10.0, read=600.0))

    # --- tokens ---------------------------------------------------------------------------------------------

    def token(self, user: str = "agent", *, password: str = DEMO_PASSWORD) -> str:
        """A bearer token for a seeded user (agent, supervisor, admin, norole), from the emulator's own authority
        (the password grant), cached for the session: tokens live in real time, an hour."""
        if user not in self._tokens:
            answer = self._http.post(
                "/organizations/oauth2/token",
                data={"grant_type": "password", "client_id": PUBLIC_CLIENT_ID, "username": user,
                      "password": password, "resource": self.url},
            )  # fmt: skip
            if answer.status_code != 200:
                raise AssertionError(f"no token for {user!r}: {answer.status_code} {answer.text}")
            self._tokens[user] = answer.json()["access_token"]
        return self._tokens[user]

    def headers(self, user: str = "agent") -> dict[str, str]:
        """Authorization and the OData headers a Dataverse client sends."""
        return {"Authorization": f"Bearer {self.token(user)}", "Accept": "application/json",
                "OData-MaxVersion": "4.0", "OData-Version": "4.0"}  # fmt: skip

    # --- the clock --------------------------------------------------------------------------------------------

    def now(self) -> str:
        """The simulated time, ISO 8601 UTC."""
        return str(self._control("GET", "clock")["now"])

    def advance(self, duration: str) -> dict[str, Any]:
        """Move the clock forward by an ISO 8601 duration (PT1H, P1D); every delivery due on the way is dialled
        and ended first. Returns the control API's answer: {"now", "speed", "processed": {...}}."""
        return self._control("POST", "clock", {"advance": duration})

    def set_clock(self, moment: str) -> dict[str, Any]:
        """Set the clock to an ISO 8601 UTC time (either direction; forward runs what falls due)."""
        return self._control("POST", "clock", {"now": moment})

    # --- outcomes, state --------------------------------------------------------------------------------------

    def script(self, phone: str, outcomes: list[Any] | tuple[Any, ...] | str) -> None:
        """The next dials (or SMS) of `phone` end with these outcomes, in order: result names ("NoAnswer") or
        objects ({"result": "LiveAnswer", "talkSeconds": 120, "dispositionCodes": [...]}; docs/control-api.md)."""
        listed = [outcomes] if isinstance(outcomes, str) else list(outcomes)
        self._control("POST", "outcomes", {"phoneNumber": phone, "outcomes": listed})

    def reset(self) -> None:
        """Back to the state the session started with: every table (deliveries, tasks, contacts, users,
        configurations, scripted outcomes, opt-outs, the journal...) and the clock; faults disarmed."""
        if self._snapshot is None:
            raise RuntimeError("the emulator has no snapshot to reset to")
        self._call("PUT", "state", content=self._snapshot)
        self._call("DELETE", "faults")

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """The deliveries matching every filter (status="Complete", phone="+1555...", result="LiveAnswer", or any
        column by its wire name), oldest first, as the Web API returns them: plain dicts with the wire names
        (msdyn_proactive_deliveryid, msdyn_status, msdyn_result, msdyn_to_address...)."""
        params = {"$orderby": "createdon asc,msdyn_proactive_deliveryid asc"}
        if filters:
            params["$filter"] = delivery_filter(filters)
        answer = self._http.get(DELIVERIES_PATH, params=params, headers=self.headers("supervisor"))
        rows: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if answer.status_code != 200:
                raise AssertionError(f"reading deliveries failed: {answer.status_code} {answer.text}")
            body = answer.json()
            rows.extend({k: v for k, v in row.items() if not k.startswith("@")} for row in body["value"])
            if "@odata.nextLink" not in body:
                return rows
            answer = self._http.get(body["@odata.nextLink"], headers=self.headers("supervisor"))
        raise AssertionError(f"more than {MAX_PAGES} pages of deliveries")

    def events(self, delivery_id: str) -> list[dict[str, Any]]:
        """The journal of one delivery: [{"at", "from", "to", "result", "actor", "detail"}, ...]."""
        value: list[dict[str, Any]] = self._control("GET", f"deliveries/{delivery_id}/events")["value"]
        return value

    # --- plumbing ---------------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None, *, content: bytes | None = None) -> httpx.Response:
        response = self._http.request(method, f"/emulator/v1/{path}", json=body, content=content,
                                      headers={"Content-Type": "application/json"})  # fmt: skip
        if response.status_code >= 400:
            raise AssertionError(f"{method} /emulator/v1/{path}: {response.status_code} {response.text}")
        return response

    def _control(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        answer: dict[str, Any] = self._call(method, path, body).json()
        return answer

    def _take_snapshot(self) -> None:
        self._snapshot = self._call("GET", "state").content

    def close(self) -> None:
        self._http.close()
        _stop(self._process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_emulator(directory: Path) -> Emulator:
    """`python -m ccaas_emulator serve` on a free port with a new SQLite database in `directory`, once it answers
    /ready (a port taken between choosing and binding it is retried on another)."""
    import httpx

    for _attempt in range(3):
        port = _free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
        env |= {"CCAAS_DATABASE_URL": f"sqlite:///{directory / 'ccaas.db'}", "CCAAS_HOST": "127.0.0.1",
                "CCAAS_PORT": str(port), "CCAAS_TLS_PORT": "0", "CCAAS_CLOCK_SPEED": "0",
                "CCAAS_LOG_LEVEL": "warning", "CCAAS_WORKERS": "1"}  # fmt: skip
        log = directory / "serve.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "ccaas_emulator", "serve"], env=env, stdout=output, stderr=subprocess.STDOUT
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/ready", timeout=1.0).status_code == 200:
                    emulator = Emulator(url, process, log)
                    emulator._take_snapshot()
                    return emulator
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        _stop(process)
        if "address already in use" not in log.read_text(errors="replace").lower():
            break
    raise RuntimeError(f"ccaas-emulator serve did not become ready; its output:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def ccaas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """A running ccaas-emulator for this test session: its own SQLite database, demo data, a stopped clock."""
    try:
        emulator = start_emulator(tmp_path_factory.mktemp("ccaas-emulator"))
    except RuntimeError as failed:
        pytest.fail(str(failed), pytrace=False)
    try:
        yield emulator
    finally:
        emulator.close()
