"""The origins `serve` answers on, recorded in the database: tokens for any of them are accepted (wire-facts F).

Dataverse accepts a token on each of its host names (<org>.crm… and <org>.api.crm…). Here the names are the
ones a local server answers on: http and https, 127.0.0.1, localhost and CCAAS_HOST, with their ports, and the
org URL. `serve` records them at start, so `ccaas-emulator token` in another shell (sharing only the database)
mints for the running server, and every process's verifier accepts them. A verifier meeting an audience it does
not know reads the recorded set again, at most once per RELOAD_INTERVAL (as SigningKeys does for unknown kids),
so an origin recorded after it started (another `serve`) is accepted without a query per request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select

from ccaas_emulator.db.models import ServedOrigin
from ccaas_emulator.db.transaction import Database

RELOAD_INTERVAL = timedelta(seconds=1)


def normalize_audience(value: str) -> str:
    """Dataverse compares the audience without a trailing slash and ignoring case."""
    return value.strip().rstrip("/").lower()


def origin(scheme: str, host: str, port: int) -> str:
    """scheme://host[:port] as a client writes it: IPv6 bracketed, the scheme's default port left out."""
    host = host.strip().lower().removeprefix("[").removesuffix("]")
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" if port == default else f"{scheme}://{host}:{port}"


def record_origins(database: Database, origins: Iterable[str], *, org_url: str, now: datetime) -> None:
    """Record where this server answers (kept: a token for an origin served earlier stays one of ours)."""
    wanted = {normalize_audience(value) for value in origins} | {normalize_audience(org_url)}
    with database.transaction() as session:
        for value in sorted(wanted):
            row = session.get(ServedOrigin, value)
            if row is None:
                row = ServedOrigin(origin=value)
                session.add(row)
            row.is_org_url = value == normalize_audience(org_url)
            row.recorded_on = now


def recorded_org_url(database: Database) -> str | None:
    """The org URL of the server that started last, if any did."""
    with database.read() as session:
        return session.scalars(
            select(ServedOrigin.origin)
            .where(ServedOrigin.is_org_url.is_(True))
            .order_by(ServedOrigin.recorded_on.desc(), ServedOrigin.origin)
            .limit(1)
        ).first()


class KnownAudiences:
    """The audiences a token may name: the org URL and every recorded origin, compared normalized."""

    def __init__(self, org_url: str, *, database: Database | None = None) -> None:
        self._org_url = normalize_audience(org_url)
        self._database = database
        self._lock = threading.Lock()
        self._last_reload: datetime | None = None
        # Read on the first audience that is not the org URL, not at start: most callers never name another.
        self._known = frozenset({self._org_url})

    def _load(self, database: Database) -> frozenset[str]:
        with database.read() as session:
            stored = session.scalars(select(ServedOrigin.origin)).all()
        return frozenset({self._org_url, *(normalize_audience(value) for value in stored)})

    def accepts(self, audience: str, *, now: datetime) -> bool:
        """Whether `audience` is ours; an unknown one reloads the recorded set first unless it was reloaded lately."""
        value = normalize_audience(audience)
        if value in self._known:
            return True
        if self._database is None or not self._may_reload(now):
            return False
        self._known = self._load(self._database)  # one assignment: readers see the old set or the new
        return value in self._known

    def _may_reload(self, now: datetime) -> bool:
        with self._lock:
            last = self._last_reload
            if last is not None and last <= now < last + RELOAD_INTERVAL:
                return False
            self._last_reload = now
            return True
