"""`ccaas-emulator serve` in its own process, as a new user runs it: end-to-end, Postman, metrics and
real-client tests. Each server is a subprocess on a free port, reached over a real socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import DeliveryAttribute, DeliveryTask, EngagementConfig, ProactiveDelivery
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.settings import DEFAULT_TENANT_ID, Settings
from ccaas_emulator.tls import ca_bundle_path
from tests.support.database import BACKENDS
from tests.support.postgres import create_postgres_database

CLI = [sys.executable, "-m", "ccaas_emulator"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


class Server:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port = env, port
        self.host = env.get("CCAAS_HOST", "127.0.0.1")
        self.base = f"http://{self.host}:{port}"
        self.tls_port = int(env.get("CCAAS_TLS_PORT", "0"))
        tls_authority = self.host if self.tls_port == 443 else f"{self.host}:{self.tls_port}"
        self.tls_base = f"https://{tls_authority}" if self.tls_port else None

    def ca_bundle(self) -> str:
        """The CA file `serve` wrote for this server's database, where the settings put it (as `ccaas-emulator ca`
        prints it, without the CLI's start-up: tests/clients/test_msal.py checks the two agree)."""
        path = ca_bundle_path(Settings(database_url=self.env["CCAAS_DATABASE_URL"]))
        assert path.is_file(), f"serve wrote no CA bundle at {path}"
        return str(path)

    def token(self, *args: str) -> str:
        result = run_cli(self.env, "token", *args)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


def start_server(url: str, **settings: str) -> tuple[Server, subprocess.Popen[bytes]]:
    """`ccaas-emulator serve` on a free port (and HTTPS on another, unless CCAAS_TLS_PORT says), once /ready answers."""
    port = free_port()
    host = settings.get("CCAAS_HOST", "127.0.0.1")
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    env |= {"CCAAS_DATABASE_URL": url, "CCAAS_PORT": str(port), "CCAAS_LOG_LEVEL": "warning"}
    env |= {"CCAAS_TLS_PORT": str(free_port())} | settings
    args = [*CLI, "serve"] + (["--workers", settings["CCAAS_WORKERS"]] if "CCAAS_WORKERS" in settings else [])
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://{host}:{port}/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"serve did not become ready: {output}")
        time.sleep(0.2)
    server = Server(env, port)
    server.database_url = url  # type: ignore[attr-defined]
    return server, process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(params=BACKENDS)
def database_for_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each back end for a server to migrate and seed (SQLite: a file under tmp_path)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'ccaas.db'}"
        return
    url, drop = create_postgres_database(request.getfixturevalue("postgres_admin_url"))
    yield url
    drop()


# --- the real-client tests' handle -----------------------------------------------------------------------


@dataclass(frozen=True)
class ServedEmulator:
    """A running `serve` process with its two tokens, for clients that speak HTTP themselves."""

    server: Server
    database_url: str
    agent_token: str  # Omnichannel agent: actions and reads
    admin_token: str  # System Administrator: configuration writes too

    @property
    def base(self) -> str:
        return self.server.base

    @property
    def api(self) -> str:
        return f"{self.server.base}/api/data/v9.2/"

    def rows(self) -> dict[str, Any]:
        """What the database holds, read past the Web API: deliveries, their attributes, tasks, configs."""
        return stored_rows(self.database_url)


@dataclass(frozen=True)
class HttpsEmulator:
    """A running `serve` reached over its own HTTPS listener, with the CA file `ccaas-emulator ca` names for it."""

    server: Server
    database_url: str
    ca: str

    @property
    def origin(self) -> str:
        assert self.server.tls_base is not None
        return self.server.tls_base

    @property
    def tenant(self) -> str:
        return str(DEFAULT_TENANT_ID)

    @property
    def authority(self) -> str:
        return f"{self.origin}/{self.tenant}"


def stored_rows(database_url: str) -> dict[str, Any]:
    """What the database holds, read past the Web API: deliveries, their attributes, tasks, configs."""
    database = Database(make_engine(database_url))
    try:
        with database.read() as session:
            deliveries = {
                str(row.id): {
                    "to": row.to_address,
                    "status": row.status,
                    "created_by": str(row.created_by),
                    "business_unit": str(row.owning_business_unit),
                }
                for row in session.scalars(select(ProactiveDelivery))
            }
            attributes: dict[str, set[tuple[str, str]]] = {}
            for attribute in session.scalars(select(DeliveryAttribute)):
                owner = str(attribute.delivery_id)
                attributes.setdefault(owner, set()).add((attribute.keyword, attribute.value))
            tasks = {str(task_id) for task_id in session.scalars(select(DeliveryTask.id))}
            configs = {str(row.id): row.name for row in session.scalars(select(EngagementConfig))}
    finally:
        database.dispose()
    return {"deliveries": deliveries, "attributes": attributes, "tasks": tasks, "configs": configs}


def tomorrow_window() -> dict[str, str]:
    """A calling window that opens tomorrow: the embedded dialer leaves such a delivery Pending."""
    opens = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    closes = opens + timedelta(hours=6)
    return {"Start": opens.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "End": closes.strftime("%Y-%m-%dT%H:%M:%S.000Z")}


def is_guid(value: Any) -> bool:
    try:
        return str(uuid.UUID(str(value))) == str(value).lower()
    except ValueError:
        return False
