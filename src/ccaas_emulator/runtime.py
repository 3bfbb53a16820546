"""The process-wide pieces a request needs, built once: settings, database, clock, keys, authenticator, dialer."""

from __future__ import annotations

from dataclasses import dataclass, field

from ccaas_emulator.auth.challenge import Authenticator
from ccaas_emulator.auth.keys import SigningKeys
from ccaas_emulator.auth.origins import KnownAudiences
from ccaas_emulator.auth.tokens import TokenVerifier
from ccaas_emulator.clock import Clock, SharedClock, SystemClock
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.migrate import upgrade_to_head
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.dialer.runner import Dialer
from ccaas_emulator.seed import apply_demo_seed
from ccaas_emulator.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    clock: Clock
    keys: SigningKeys
    authenticator: Authenticator
    dialer: Dialer | None
    audiences: KnownAudiences
    """The audiences tokens may name (the org URL and the recorded origins); the verifier and the authority share it."""
    wall_clock: Clock = field(default_factory=SystemClock)
    """Real time, for what Entra would time: tokens and the authority's answers (deliveries use `clock`)."""

    @classmethod
    def start(cls, settings: Settings, *, clock: Clock | None = None, database: Database | None = None) -> Runtime:
        """Connect, load the signing keys and build the dialer (the schema must already be migrated).

        The clock is the shared, simulated one unless a test hands in another; only on the shared clock
        is there a dialer (it needs a clock it can set).
        """
        database = database or Database(
            make_engine(
                settings.database_url,
                pool_size=settings.db_pool_size,
                lock_timeout=settings.db_lock_timeout_seconds,
                statement_timeout=settings.db_statement_timeout_seconds,
            )
        )
        clock = clock or SharedClock(database)
        keys = SigningKeys.load_or_create(database, clock)
        audiences = KnownAudiences(settings.org_url, database=database)
        verifier = TokenVerifier(
            keys,
            org_url=settings.org_url,
            tenant=settings.tenant,
            skew_seconds=settings.clock_skew_seconds,
            audiences=audiences,
        )
        dialer = Dialer(database, clock, settings) if isinstance(clock, SharedClock) else None
        # Tokens live in real time (Entra issued them); only deliveries live on the simulated clock, so
        # advancing it never expires a token.
        authenticator = Authenticator(verifier, settings, SystemClock())
        return cls(settings, database, clock, keys, authenticator, dialer, audiences)

    def close(self) -> None:
        if self.dialer is not None:
            self.dialer.stop()
        self.database.dispose()


def prepare_database(settings: Settings, *, clock: Clock | None = None, starts_clock: bool = True) -> None:
    """Migrate to head, set up the shared clock and a signing key, and apply the demo seed when it is on.

    `starts_clock=False` (every CLI command but `serve` and `worker`) creates the clock if there is none but never
    applies CCAAS_CLOCK_SPEED to it: a `token` minted in a second shell must not restart a stopped clock.
    """
    database = Database(make_engine(settings.database_url, pool_size=1))
    try:
        upgrade_to_head(database.engine)
        SharedClock.ensure(database, speed=settings.clock_speed if starts_clock else None)
        clock = clock or SharedClock(database)
        SigningKeys.load_or_create(database, clock)
        if settings.demo_seed:
            apply_demo_seed(database, clock)
    finally:
        database.dispose()
