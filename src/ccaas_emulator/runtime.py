"""The process-wide pieces a request needs, built once: settings, database, clock, keys, authenticator."""

from __future__ import annotations

from dataclasses import dataclass

from ccaas_emulator.auth.challenge import Authenticator
from ccaas_emulator.auth.keys import SigningKeys
from ccaas_emulator.auth.tokens import TokenVerifier
from ccaas_emulator.clock import Clock, SystemClock
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.migrate import upgrade_to_head
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.seed import apply_demo_seed
from ccaas_emulator.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    clock: Clock
    keys: SigningKeys
    authenticator: Authenticator

    @classmethod
    def start(
        cls, settings: Settings, *, clock: Clock | None = None, database: Database | None = None
    ) -> Runtime:
        """Connect and load the signing keys (the schema must already be migrated)."""
        clock = clock or SystemClock()
        database = database or Database(make_engine(settings.database_url, pool_size=settings.db_pool_size))
        keys = SigningKeys.load_or_create(database, clock)
        verifier = TokenVerifier(
            keys, org_url=settings.org_url, tenant=settings.tenant, skew_seconds=settings.clock_skew_seconds
        )
        return cls(settings, database, clock, keys, Authenticator(verifier, settings, clock))

    def close(self) -> None:
        self.database.dispose()


def prepare_database(settings: Settings, *, clock: Clock | None = None) -> None:
    """Migrate to head, make sure a signing key exists, and apply the demo seed when it is on."""
    clock = clock or SystemClock()
    database = Database(make_engine(settings.database_url, pool_size=1))
    try:
        upgrade_to_head(database.engine)
        SigningKeys.load_or_create(database, clock)
        if settings.demo_seed:
            apply_demo_seed(database, clock)
    finally:
        database.dispose()
