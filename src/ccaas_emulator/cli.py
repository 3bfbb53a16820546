"""ccaas-emulator serve | worker | migrate | token | ca | seed."""

from __future__ import annotations

import logging.config
import os
from pathlib import Path
from typing import Annotated

import typer

from ccaas_emulator.settings import Settings, SettingsError, get_settings, require_control_token_beyond_loopback

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="A local, faithful emulator of the Dynamics 365 Contact Center proactive engagement APIs.",
)


def _settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        typer.secho(str(exc), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None


def _fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(1)


def _prepare(settings: Settings) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from ccaas_emulator.runtime import prepare_database

    try:
        prepare_database(settings)
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)  # the driver's own error, when there is one: its message is the useful one
        reason = str(orig) if orig is not None else str(exc)
        raise _fail(f"cannot prepare the database ({type(exc).__name__}): {reason.strip()}") from None


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Overrides CCAAS_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides CCAAS_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (overrides CCAAS_WORKERS).")] = None,
    tls_port: Annotated[int | None, typer.Option(help="HTTPS port, 0 for none (overrides CCAAS_TLS_PORT).")] = None,
) -> None:
    """Migrate the database, then serve the API over HTTP and HTTPS with uvicorn (uvloop + httptools)."""
    overrides = (("CCAAS_HOST", host), ("CCAAS_PORT", port), ("CCAAS_WORKERS", workers), ("CCAAS_TLS_PORT", tls_port))
    for name, value in overrides:
        if value is not None:
            os.environ[name] = str(value)
    get_settings.cache_clear()
    settings = _settings()
    try:
        require_control_token_beyond_loopback(settings)
    except SettingsError as exc:
        typer.secho(str(exc), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    _prepare(settings)

    import copy

    from uvicorn.config import LOGGING_CONFIG

    from ccaas_emulator import serving

    try:
        serving.prepare_serving(settings)
    except ValueError as exc:  # a stored CA or key the cryptography library cannot read
        raise _fail(f"cannot prepare HTTPS: {exc}") from None
    # uvicorn configures only its own loggers; the journal's one-line JSON events go to the same stream.
    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["loggers"]["ccaas_emulator"] = {
        "handlers": ["default"],
        "level": settings.log_level.upper(),
        "propagate": False,
    }
    logging.config.dictConfig(log_config)
    tls = f" and https on port {settings.tls_port}" if settings.tls_port else ""
    typer.echo(
        f"ccaas-emulator serving {settings.org_url}{tls} (database: {_redacted(settings.database_url)})", err=True
    )
    try:
        serving.serve(settings, log_config)
    except OSError as exc:
        raise _fail(str(exc)) from None


@cli.command()
def ca() -> None:
    """Print the path of the local CA's certificate (PEM), creating it if needed, for clients to trust HTTPS."""
    from ccaas_emulator import serving

    settings = _settings()
    _prepare(settings)
    if not settings.tls_port:
        typer.secho("note: CCAAS_TLS_PORT=0, so `serve` does not listen with TLS", err=True, fg=typer.colors.YELLOW)
    bundle = serving.prepare_ca(settings)
    typer.echo(str(bundle))


@cli.command()
def worker() -> None:
    """Run the dialer on its own (set CCAAS_DIALER=off on the API processes); SIGTERM drains and exits."""
    import logging
    import signal

    from ccaas_emulator.runtime import Runtime

    settings = _settings()
    _prepare(settings)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runtime = Runtime.start(settings)
    assert runtime.dialer is not None
    dialer = runtime.dialer

    def drain(signum: int, _frame: object) -> None:
        logging.getLogger("ccaas_emulator.dialer").info("signal %s: finishing the current tick", signum)
        dialer.stop(timeout=0)

    signal.signal(signal.SIGTERM, drain)
    signal.signal(signal.SIGINT, drain)
    try:
        dialer.run()
    finally:
        runtime.database.dispose()


@cli.command()
def migrate() -> None:
    """Apply every database migration not yet applied (and the demo seed, unless CCAAS_DEMO_SEED=0)."""
    settings = _settings()
    _prepare(settings)
    typer.echo(f"database at head ({_redacted(settings.database_url)})", err=True)


@cli.command()
def token(
    user: Annotated[str, typer.Option(help="User name of a seeded user (agent, supervisor, norole...).")] = "agent",
    expires_in: Annotated[
        int | None, typer.Option(help="Lifetime in seconds; negative mints an already expired token.")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant id to claim (default: CCAAS_TENANT_ID).")] = None,
    audience: Annotated[
        str | None,
        typer.Option(
            help="Audience to claim (default: CCAAS_ORG_URL when set, else the org URL of the last `serve` "
            "started on this database, else http://CCAAS_HOST:CCAAS_PORT)."
        ),
    ] = None,
    token_version: Annotated[int, typer.Option(min=1, max=2, help="1 (sts.windows.net issuer) or 2.")] = 1,
) -> None:
    """Print a signed bearer token for a seeded user to stdout."""
    from sqlalchemy import select

    from ccaas_emulator.auth.keys import SigningKeys
    from ccaas_emulator.auth.origins import recorded_org_url
    from ccaas_emulator.auth.tokens import mint_token
    from ccaas_emulator.clock import SystemClock
    from ccaas_emulator.db.engine import make_engine
    from ccaas_emulator.db.models import SystemUser
    from ccaas_emulator.db.transaction import Database

    settings = _settings()
    _prepare(settings)
    clock = SystemClock()
    database = Database(make_engine(settings.database_url, pool_size=1))
    try:
        keys = SigningKeys.load_or_create(database, clock)
        with database.read() as session:
            found = session.scalars(select(SystemUser).where(SystemUser.user_name == user)).one_or_none()
            if found is None:
                names = ", ".join(session.scalars(select(SystemUser.user_name).order_by(SystemUser.user_name)))
                raise _fail(f"no user named {user!r}; seeded users: {names or '(none)'}")
            object_id = found.object_id
        if audience is None and not os.environ.get("CCAAS_ORG_URL"):
            # The running server's org URL, whatever port it took: tokens follow the server, not this shell.
            audience = recorded_org_url(database)
    finally:
        database.dispose()
    typer.echo(
        mint_token(
            keys,
            object_id=object_id,
            user_name=user,
            tenant=tenant or settings.tenant,
            audience=audience or settings.org_url,
            issued_at=clock.now(),
            expires_in=settings.token_lifetime_seconds if expires_in is None else expires_in,
            version=token_version,
        )
    )


@cli.command()
def seed(file: Annotated[Path, typer.Argument(help="JSON seed file (see README: Seed files).")]) -> None:
    """Load engagement configurations, contacts and users from a JSON file (insert or update)."""
    from ccaas_emulator.clock import SystemClock
    from ccaas_emulator.db.engine import make_engine
    from ccaas_emulator.db.transaction import Database
    from ccaas_emulator.seed import SeedError, apply_seed, read_seed_file

    settings = _settings()
    try:
        content = read_seed_file(file)
    except SeedError as exc:
        raise _fail(str(exc)) from None
    _prepare(settings)
    database = Database(make_engine(settings.database_url, pool_size=1))
    try:
        with database.transaction() as session:
            counts = apply_seed(session, content, clock=SystemClock())
    finally:
        database.dispose()
    typer.echo(", ".join(f"{count} {kind}" for kind, count in counts.items()) + " seeded", err=True)


def _redacted(url: str) -> str:
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


def main() -> None:
    cli(prog_name="ccaas-emulator")


if __name__ == "__main__":
    main()  # typer exits with the command's status itself
