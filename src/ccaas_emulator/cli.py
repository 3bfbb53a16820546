"""ccaas-emulator serve | worker | migrate | token | ca | seed | user | app | upload | clock."""

from __future__ import annotations

import json
import logging.config
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

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


def _prepare(settings: Settings, *, starts_clock: bool = False) -> None:
    """Migrate and set up; only `serve` and `worker` start the clock (apply CCAAS_CLOCK_SPEED), see prepare_database."""
    from sqlalchemy.exc import SQLAlchemyError

    from ccaas_emulator.runtime import prepare_database

    try:
        prepare_database(settings, starts_clock=starts_clock)
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
    _prepare(settings, starts_clock=True)

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
    _prepare(settings, starts_clock=True)
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
                rows = session.execute(
                    select(SystemUser.user_name, SystemUser.application_id).order_by(SystemUser.user_name)
                ).all()
                people = ", ".join(name for name, application in rows if application is None) or "(none)"
                apps = ", ".join(name for name, application in rows if application is not None)
                raise _fail(
                    f"no user named {user!r}; seeded users: {people}" + (f"; applications: {apps}" if apps else "")
                )
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


user_cli = typer.Typer(no_args_is_help=True, help="Users of the organization (systemuser rows).")
app_cli = typer.Typer(no_args_is_help=True, help="Application users: app registrations with a client secret.")
cli.add_typer(user_cli, name="user")
cli.add_typer(app_cli, name="app")


def _directory_session() -> Any:
    """A write transaction on the configured (migrated) database, for the user and app commands."""
    from contextlib import contextmanager

    from ccaas_emulator.db.engine import make_engine
    from ccaas_emulator.db.transaction import Database

    settings = _settings()
    _prepare(settings)

    @contextmanager
    def session() -> Any:
        database = Database(make_engine(settings.database_url, pool_size=1))
        try:
            with database.transaction() as opened:
                yield opened
        finally:
            database.dispose()

    return session()


@user_cli.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name (domainname); also what the password grant signs in with.")],
    role: Annotated[list[str] | None, typer.Option("--role", help="Security role; repeat for several.")] = None,
    password: Annotated[str | None, typer.Option(help="Password for the authority's password grant.")] = None,
    full_name: Annotated[str | None, typer.Option(help="Full name (default: the user name).")] = None,
) -> None:
    """Add a user (or update the one with this name); prints its systemuserid and Entra object id as JSON."""
    import json

    from ccaas_emulator.auth import directory
    from ccaas_emulator.clock import SystemClock

    now = SystemClock().now()
    try:
        with _directory_session() as session:
            user = directory.upsert_user(session, user_name=name, full_name=full_name, roles=role or [], now=now)
            if password is not None:
                directory.set_secret(session, user, password, now=now)
            result = {"systemUserId": str(user.id), "objectId": str(user.object_id), "userName": user.user_name}
    except directory.DirectoryError as exc:
        raise _fail(str(exc)) from None
    typer.echo(json.dumps(result))


@user_cli.command("list")
def user_list() -> None:
    """Every user and application user: name, ids, roles, and whether it can sign in."""
    import json

    from ccaas_emulator.auth import directory

    with _directory_session() as session:
        rows = [
            {
                "userName": user.user_name,
                "systemUserId": str(user.id),
                "objectId": str(user.object_id),
                "applicationId": str(user.application_id) if user.application_id else None,
                "roles": sorted(role.name for role in user.roles),
                "disabled": user.is_disabled,
                "canSignIn": has_secret,
            }
            for user, has_secret in directory.list_users(session)
        ]
    for row in rows:
        typer.echo(json.dumps(row))


@user_cli.command("remove")
def user_remove(name: Annotated[str, typer.Argument(help="User name to remove.")]) -> None:
    """Remove a user or application user (its roles and credential with it)."""
    from ccaas_emulator.auth import directory

    with _directory_session() as session:
        removed = directory.remove_user(session, name)
    if not removed:
        raise _fail(f"no user named {name!r}")
    typer.echo(f"removed {name}", err=True)


@app_cli.command("add")
def app_add(
    name: Annotated[str, typer.Argument(help="Application user's name.")],
    role: Annotated[list[str], typer.Option("--role", help="Security role; repeat for several.")],
) -> None:
    """Register an application and its application user; prints clientId, clientSecret (shown once), tenantId,
    authority and scope as JSON, ready for MSAL's ConfidentialClientApplication."""
    import json

    from ccaas_emulator.auth import directory
    from ccaas_emulator.clock import SystemClock

    settings = _settings()
    try:
        with _directory_session() as session:
            user, secret = directory.add_application(session, name=name, roles=role, now=SystemClock().now())
            client_id = str(user.application_id)
    except directory.DirectoryError as exc:
        raise _fail(str(exc)) from None
    authority_origin = f"https://{settings.local_host}:{settings.tls_port}" if settings.tls_port else settings.org_url
    typer.echo(
        json.dumps(
            {
                "clientId": client_id,
                "clientSecret": secret,
                "tenantId": settings.tenant,
                "authority": f"{authority_origin}/{settings.tenant}",
                "scope": f"{settings.org_url}/.default",
            }
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


UPLOAD_CHUNK = 64 * 1024


@cli.command()
def upload(
    file: Annotated[Path, typer.Argument(help="The CSV contact list (002_... File upload).")],
    config: Annotated[str, typer.Option("--config", help="The proactive engagement configuration id.")],
    url: Annotated[
        str | None, typer.Option(help="The running emulator (default: http://CCAAS_HOST:CCAAS_PORT, as serve uses).")
    ] = None,
) -> None:
    """Run from file: stream a CSV to an engagement of the running server, with a progress bar; print its answer.

    Exits 0 once the server has read the file (its rejected lines are in the answer), 1 when it refused the file
    (nothing stored) or could not be reached."""
    import httpx
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    settings = _settings()
    try:
        size = file.stat().st_size
        handle = file.open("rb")
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror or exc}") from None
    target = f"{(url or _server_url(settings)).rstrip('/')}/emulator/v1/engagements/{config}/files"
    headers = {"Content-Type": "text/csv", "Content-Length": str(size)}
    if settings.control_token is not None:
        headers["Authorization"] = f"Bearer {settings.control_token.get_secret_value().strip()}"
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )

    def chunks() -> Iterator[bytes]:
        while chunk := handle.read(UPLOAD_CHUNK):
            progress.advance(task, len(chunk))
            yield chunk

    with handle, progress:
        task = progress.add_task(f"uploading {file.name}", total=size)
        try:
            # The server reads the file as it writes its rows and answers once they are committed: it may leave the
            # socket unread while it writes a batch and take minutes to answer, so only connecting is timed.
            response = httpx.post(
                target, content=chunks(), headers=headers, timeout=httpx.Timeout(10.0, read=None, write=None)
            )
        except httpx.HTTPError as exc:
            raise _fail(f"cannot upload to {target}: {exc}") from None
    try:
        answer = response.json()
    except ValueError:
        raise _fail(f"{target} answered {response.status_code}: {response.text[:500]}") from None
    typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    if response.status_code != 200:
        raise _fail(f"the server refused the file ({response.status_code}); nothing was stored")


def _server_url(settings: Settings) -> str:
    """Where `serve` listens with these settings: CCAAS_HOST (loopback for a wildcard address) and CCAAS_PORT."""
    host = settings.host.strip()
    if host in ("", "0.0.0.0", "::", "[::]"):  # noqa: S104 (names the wildcard addresses, binds nothing)
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


# --- the clock, through the running server's control API ---------------------------------------------------------
#
# Not in process against the database: the server draws outcomes with its own CCAAS_OUTCOME_SEED and
# CCAAS_OUTCOME_WEIGHTS, which a second shell may not carry, and the server's dialer must not advance at the same
# time as another one on SQLite (docs/dialer.md, "The clock").

clock_cli = typer.Typer(no_args_is_help=True, help="Read, set or advance the running server's simulated clock.")
cli.add_typer(clock_cli, name="clock")
ServerOption = Annotated[
    str | None, typer.Option("--server", help="The server's base URL (default: http://CCAAS_HOST:CCAAS_PORT).")
]


def _timeout() -> Any:
    import httpx

    # `clock set` far ahead answers only when every event on the way has run: an hour to read, 10 s to connect.
    return httpx.Timeout(10.0, read=3600.0)


def _unreachable(url: str, exc: Exception) -> typer.Exit:
    return _fail(f"cannot reach the server at {url} ({type(exc).__name__}); is `ccaas-emulator serve` running?")


def _control(server: str | None, path: str = "clock") -> tuple[str, dict[str, str]]:
    settings = _settings()
    base = (server or _server_url(settings)).rstrip("/") + f"/emulator/v1/{path}"
    token = settings.control_token
    return base, {"Authorization": f"Bearer {token.get_secret_value()}"} if token is not None else {}


def _answer(response: Any) -> dict[str, Any]:
    """The control API's JSON answer, or the error message it gave, as a failed command."""
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        raise _fail(f"the server answered {response.status_code} without JSON") from None
    if response.status_code >= 400 or "error" in body:
        raise _fail(str(body.get("error", {}).get("message", body)))
    return body


def _say(body: dict[str, Any]) -> None:
    typer.echo(f"{body['now']}  (speed {body['speed']:g})")
    if body.get("processed"):
        processed = body["processed"]
        typer.echo(", ".join(f"{processed[key]} {key}" for key in ("dialled", "completed", "expired", "rewindowed",
                                                                     "chained")))  # fmt: skip


def _request(server: str | None, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    import httpx

    url, headers = _control(server)
    try:
        return _answer(httpx.request(method, url, json=body, headers=headers, timeout=_timeout()))
    except httpx.TransportError as exc:
        raise _unreachable(url, exc) from None


@clock_cli.command("show")
def clock_show(server: ServerOption = None) -> None:
    """Print the simulated time and the clock's speed."""
    _say(_request(server, "GET"))


@clock_cli.command("set")
def clock_set(
    moment: Annotated[str, typer.Argument(help="A UTC time, ISO 8601: 2026-12-01T09:00:00Z.")],
    server: ServerOption = None,
) -> None:
    """Set the clock (either direction); deliveries due on the way forward are run first."""
    _say(_request(server, "POST", {"now": moment}))


@clock_cli.command("advance")
def clock_advance(
    duration: Annotated[str, typer.Argument(help="An ISO 8601 duration: PT2H, P1D, P1DT6H.")],
    server: ServerOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Move the clock forward, running every event on the way, with a progress bar of simulated time."""
    import httpx
    import orjson
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    url, headers = _control(server)
    headers |= {"Accept": "application/x-ndjson"}
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn(), TextColumn("{task.fields[detail]}"))  # fmt: skip
    try:
        with (
            httpx.stream(
                "POST",
                url,
                json={"advance": duration},
                headers=headers,
                timeout=_timeout(),
            ) as response,
            Progress(*columns, console=Console(stderr=True), disable=quiet, transient=True) as bar,
        ):
            if response.status_code >= 400:
                response.read()
                _answer(response)
            task = bar.add_task(f"advance {duration}", total=1.0, detail="")
            last: dict[str, Any] = {}
            for line in response.iter_lines():
                if not line.strip():
                    continue
                last = orjson.loads(line)
                if "progress" in last:
                    step = last["progress"]
                    done = step["processed"]
                    bar.update(task, completed=step["fraction"], detail=f"{step['reached']}  {done['dialled']} dialled"
                               f", {done['completed']} completed")  # fmt: skip
    except httpx.TransportError as exc:
        raise _unreachable(url, exc) from None
    if "error" in last or "now" not in last:
        raise _fail(str(last.get("error", {}).get("message", "the advance ended without an answer")))
    _say(last)


# --- the whole state, through the running server's control API (docs/state.md) ------------------------------------


@cli.command("export")
def export_state(
    file: Annotated[Path, typer.Argument(help="Where to write the state document (JSON); - for stdout.")],
    server: ServerOption = None,
) -> None:
    """Save the running server's whole state (GET /emulator/v1/state) to FILE. It holds the signing keys and
    password hashes: keep it as you would a secret."""
    import httpx

    url, headers = _control(server, "state")
    try:
        response = httpx.get(url, headers=headers, timeout=_timeout())
    except httpx.TransportError as exc:
        raise _unreachable(url, exc) from None
    document = _answer(response)
    if str(file) == "-":
        typer.echo(response.text)
        return
    partial = file.with_name(f".{file.name}.partial")
    partial.write_bytes(response.content)
    partial.replace(file)  # a failed write leaves the previous export, never half a document
    rows = sum(len(table) for table in document.get("tables", {}).values())
    typer.echo(f"exported {rows} rows of {len(document.get('tables', {}))} tables to {file}", err=True)


@cli.command("import")
def import_state(
    file: Annotated[Path, typer.Argument(help="A state document written by `ccaas-emulator export`.")],
    server: ServerOption = None,
) -> None:
    """Replace the running server's whole state with FILE (PUT /emulator/v1/state), in one transaction: a document
    it refuses changes nothing."""
    import httpx

    try:
        content = file.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    url, headers = _control(server, "state")
    try:
        response = httpx.put(url, content=content, headers=headers | {"Content-Type": "application/json"},
                             timeout=_timeout())  # fmt: skip
    except httpx.TransportError as exc:
        raise _unreachable(url, exc) from None
    if response.status_code != 204:
        _answer(response)
        raise _fail(f"the server answered {response.status_code}")
    typer.echo(f"imported {file}", err=True)


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
