"""create_app(settings): routers, middleware and error handlers; nothing else."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from ccaas_emulator import __version__, api_docs, operations
from ccaas_emulator.auth import routes as auth_routes
from ccaas_emulator.auth import whoami
from ccaas_emulator.clock import Clock, SystemClock
from ccaas_emulator.control import faults as control_faults
from ccaas_emulator.control import files as control_files
from ccaas_emulator.control import routes as control_routes
from ccaas_emulator.dashboard import routes as dashboard_routes
from ccaas_emulator.db.engine import database_trouble, error_summary
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.deps import AuthenticatorDep, runtime_of
from ccaas_emulator.intake import routes as intake_routes
from ccaas_emulator.metrics import MetricsMiddleware
from ccaas_emulator.odata import routes as odata_routes
from ccaas_emulator.protection.callers import TokenCallers
from ccaas_emulator.protection.faults import FaultBoard
from ccaas_emulator.protection.limits import Limits, ServiceProtection
from ccaas_emulator.protection.middleware import FaultInjectionMiddleware, ServiceProtectionMiddleware
from ccaas_emulator.runtime import Runtime
from ccaas_emulator.settings import Settings, get_settings
from ccaas_emulator.tasks import routes as task_routes
from ccaas_emulator.wire.cors import CorsMiddleware
from ccaas_emulator.wire.errors import (
    DATABASE_BUSY,
    DATABASE_UNAVAILABLE,
    INTERNAL_ERROR,
    INVALID_ARGUMENT,
    METHOD_NOT_ALLOWED,
    RESOURCE_NOT_FOUND,
    DataverseError,
)
from ccaas_emulator.wire.forwarded import ForwardedHeaders
from ccaas_emulator.wire.headers import DataverseHeadersMiddleware, dataverse_headers, request_id_of
from ccaas_emulator.wire.limits import HeadAsGet, UrlLengthLimit
from ccaas_emulator.wire.responses import ODataJSONResponse, error_response

log = logging.getLogger("ccaas_emulator")


def create_app(
    settings: Settings, *, clock: Clock | None = None, database: Database | None = None, real_clock: Clock | None = None
) -> FastAPI:
    """The emulator as an ASGI app. The database must be migrated (see runtime.prepare_database).

    `clock` is the simulated clock (deliveries); `real_clock` the real time the service protection limits count in
    (tests hand in a fake one; users cannot move it, or a client could reset its own limits).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Request threads (sync routes and dependencies, run_in_threadpool) each hold at most one connection: as
        # many threads as pooled connections, so a burst waits for a thread instead of opening overflow
        # connections (db/engine.py, BACKGROUND_CONNECTIONS) past PostgreSQL's max_connections.
        to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
        runtime = Runtime.start(settings, clock=clock, database=database)
        app.state.runtime = runtime
        app.state.head_revision = operations.expected_head()
        if runtime.dialer is not None and settings.dialer == "embedded":
            runtime.dialer.start_in_background()
        try:
            yield
        finally:
            if runtime.dialer is not None:
                runtime.dialer.stop()
            if database is None:
                runtime.close()

    # /docs and /redoc load Swagger UI and ReDoc from files in the fastapi-offline wheel, not from a CDN; /redoc is
    # api_docs.py's, which keeps ReDoc's logo from being fetched from its CDN.
    app = FastAPIOffline(
        title="ccaas-emulator",
        version=__version__,
        description="A local, faithful emulator of the Dynamics 365 Contact Center proactive engagement APIs.",
        lifespan=lifespan,
        static_url=api_docs.ASSETS,
        redoc_url=None,
        swagger_ui_parameters={"validatorUrl": None},  # Swagger UI's badge would ask validator.swagger.io
        telemetry=_telemetry(),
    )
    # Innermost: an action's POST skips FastAPI's route matching and dependency resolution (intake/routes.py).
    endpoints = {
        path: found
        for version in SUPPORTED_VERSIONS
        for path, found in intake_routes.endpoints_of(_versioned_routers(version)[0]).items()
    }
    app.add_middleware(intake_routes.ActionDispatch, endpoints=endpoints, on_error=_handled_error)
    app.add_middleware(HeadAsGet)
    limits = Limits.from_settings(settings)
    app.state.fault_board = FaultBoard()
    if settings.control_api:  # only the control API arms faults
        app.add_middleware(FaultInjectionMiddleware, board=app.state.fault_board, limits=limits)
    app.state.protection = None
    if settings.limits:
        # Outside the faults (a delayed request holds its concurrency slot), inside the 414, CORS and the headers
        # (a 429 carries REQ_ID and can be read by a browser app).
        real_clock = real_clock or SystemClock()
        app.state.protection = ServiceProtection(limits, real_clock)
        callers = TokenCallers(verified_caller, real_clock)
        app.add_middleware(ServiceProtectionMiddleware, protection=app.state.protection, caller_of=callers)
    app.add_middleware(UrlLengthLimit)  # inside the headers middleware, so a 414 carries them too
    # Outside the 414, so a browser app can read that answer too; inside the headers, so preflights carry REQ_ID.
    app.add_middleware(CorsMiddleware, origins=settings.cors_origin_set)
    app.add_middleware(DataverseHeadersMiddleware)
    app.add_middleware(MetricsMiddleware)  # counts every answer, the 414s and 500s too
    # Outermost: decides the request's scheme and host (trusted proxies' X-Forwarded-*) before anything reads them.
    app.add_middleware(ForwardedHeaders, trusted=settings.trusted_proxy_networks)
    _install_error_handlers(app)
    app.include_router(operations.router)
    app.include_router(api_docs.router)
    app.include_router(auth_routes.router)
    if settings.control_api:
        app.include_router(control_routes.router)
        app.include_router(control_faults.router)
        app.include_router(control_files.router)
        app.include_router(dashboard_routes.api)
        app.include_router(dashboard_routes.pages)
    for version in reversed(SUPPORTED_VERSIONS):
        for router in _versioned_routers(version):
            app.include_router(router)
    app.include_router(build_fallback_router(OPERATION_METHODS))
    return app


SUPPORTED_VERSIONS = ("v9.0", "v9.1", "v9.2")
"""Web API versions served; all three stay valid (wire-facts E1)."""
OPERATION_METHODS = (
    dict.fromkeys(intake_routes.ACTION_NAMES, "POST") | task_routes.OPERATION_METHODS | {whoami.WHO_AM_I: "GET"}
)
"""Every unbound action and function and the method it answers: any other method is 405 with this Allow."""


@functools.cache
def _versioned_routers(version: str) -> tuple[APIRouter, ...]:
    """The actions', the task APIs' and the entity sets' routers of one version, built once per process: they hold
    no state (routes get the process's pieces through dependencies), and building them is most of an app's ~100 ms."""
    documented = version == "v9.2"
    return (
        intake_routes.build_router(version, documented=documented),
        task_routes.build_router(version, documented=documented),
        whoami.build_router(version, documented=documented),  # before the entity sets' /{entity_set} routes
        odata_routes.build_router(version, documented=documented),
    )


def _telemetry() -> dict[str, bool] | None:
    """FastAPI's own OpenTelemetry, only where OpenTelemetry is configured (an OTEL_* variable is set).

    Otherwise it is off: its check for configured providers reads the environment on every request (a few percent
    of an action's Python), and the emulator's own figures are Prometheus's (/metrics).
    """
    if any(name.startswith("OTEL_") for name in os.environ):
        return None  # FastAPI's defaults
    return {"tracing": False, "metrics": False, "logs": False}


def verified_caller(scope: Scope) -> tuple[str, float] | None:
    """The request's verified token as (oid, exp), None without a valid one (the route then answers 401).

    The routes' own authenticator: the service protection limits count per token caller (protection/callers.py).
    """
    request = Request(scope)
    try:
        token = runtime_of(request).authenticator.authenticate(request)
    except DataverseError:
        return None
    return str(token.object_id), float(token.claims["exp"])


def build_fallback_router(known_operations: dict[str, str]) -> APIRouter:
    """Everything under /api/data/ that no route serves: 401 first (as Dataverse), then 405 or 404.

    It is assembled here, last, because it must know every action and function the other routers serve (with the
    method each answers, for the 405's Allow).
    """
    router = APIRouter(include_in_schema=False)

    @router.api_route("/api/data/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    async def unmatched(rest: str, request: Request, authenticator: AuthenticatorDep) -> None:
        authenticator.authenticate(request)
        version, _, path = rest.partition("/")
        if version not in SUPPORTED_VERSIONS:
            raise RESOURCE_NOT_FOUND(segment=version)
        segment = path.split("/", 1)[0].split("(", 1)[0]
        if segment in known_operations and "/" not in path:
            error = METHOD_NOT_ALLOWED(method=request.method)
            error.headers["Allow"] = known_operations[segment]
            raise error
        raise RESOURCE_NOT_FOUND(segment=segment or path)

    return router


def _install_error_handlers(app: FastAPI) -> None:
    """One place renders every error in the Dataverse envelope; no FastAPI default body reaches a client."""

    @app.exception_handler(DataverseError)
    async def dataverse_error(_request: Request, exc: DataverseError) -> ODataJSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> ODataJSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error_response(INVALID_ARGUMENT(message=f"{where}: {first.get('msg')}"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> ODataJSONResponse:
        if exc.status_code == 405:
            return error_response(METHOD_NOT_ALLOWED(method=request.method))
        if exc.status_code == 404:
            segment = request.url.path.rstrip("/").rsplit("/", 1)[-1]
            return error_response(RESOURCE_NOT_FOUND(segment=segment))
        return error_response(DataverseError(exc.status_code, "0x80040216", str(exc.detail)))

    @app.exception_handler(SQLAlchemyError)
    async def database_error(request: Request, exc: SQLAlchemyError) -> ODataJSONResponse:
        # Handled here, inside the middleware, rather than by Starlette's last-resort handler below, which
        # re-raises after answering: uvicorn then drops the keep-alive connection under the client's next request.
        return _server_error_response(request, exc)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> ODataJSONResponse:
        # Starlette renders this outside every middleware (then re-raises): stamp the headers they would have.
        response = _server_error_response(request, exc)
        for name, value in dataverse_headers(request_id_of(request.scope)).items():
            response.headers.setdefault(name, value)
        return response


def _handled_error(request: Request, exc: Exception) -> ODataJSONResponse | None:
    """What the handlers below answer for an exception a route raised, None for one left to the last resort."""
    if isinstance(exc, DataverseError):
        return error_response(exc)
    if isinstance(exc, SQLAlchemyError):
        return _server_error_response(request, exc)
    return None


def _server_error_response(request: Request, exc: Exception) -> ODataJSONResponse:
    """503 + Retry-After when the database is unreachable, full, locked or too slow (it passes); 500 for a bug."""
    request_id = request_id_of(request.scope)
    trouble = database_trouble(exc)
    if trouble is None:
        log.error("unexpected error on request %s", request_id, exc_info=exc)
        return error_response(INTERNAL_ERROR(request_id=request_id))
    # One line, no traceback: an outage is not a bug, and a traceback per request would flood the log.
    detail = error_summary(exc)
    log.warning("database %s on request %s: %s", trouble, request_id, detail)
    kind, retry_after = (DATABASE_BUSY, 1) if trouble == "busy" else (DATABASE_UNAVAILABLE, 5)
    error = kind(detail=detail, retry_after=retry_after)
    error.headers["Retry-After"] = str(retry_after)
    return error_response(error)


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` (used by `ccaas-emulator serve` for several worker processes)."""
    return create_app(get_settings())
