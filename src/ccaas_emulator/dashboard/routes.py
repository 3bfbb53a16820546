"""/dashboard (the page and its script and style, shipped in the package) and /emulator/v1/dashboard (its data).

Both follow the control API's rule (control/guard.py): loopback or the configured host, never another origin. The
data endpoint is a control API route like the others, CCAAS_CONTROL_TOKEN included; the page and its files hold no
data and are served without the token, which a browser cannot send when it opens a page (docs/dashboard.md).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ccaas_emulator.clock import SharedClock
from ccaas_emulator.control.guard import GuardedRoute, check_caller
from ccaas_emulator.dashboard import queries
from ccaas_emulator.deps import ClockDep, DatabaseDep, SettingsDep
from ccaas_emulator.domain import format_timestamp
from ccaas_emulator.wire.errors import INVALID_ARGUMENT, RESOURCE_NOT_FOUND
from ccaas_emulator.wire.responses import ODataJSONResponse

STATIC = resources.files("ccaas_emulator.dashboard") / "static"
ASSETS = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
"""The page's files: a fixed list, so no path from the URL ever reaches the file system."""

# Only this origin, for everything: no CDN, no font, no beacon; and no frame of another site around the buttons.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

api = APIRouter(prefix="/emulator/v1", tags=["Emulator control"], route_class=GuardedRoute)
pages = APIRouter(include_in_schema=False)


@api.get("/dashboard", summary="What the dashboard shows: clock, engagements, newest deliveries and tasks, charts")
async def dashboard_data(
    request: Request,
    database: DatabaseDep,
    clock: ClockDep,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_DELIVERIES, description="Newest deliveries listed.")] = (
        queries.DEFAULT_DELIVERIES
    ),
) -> ODataJSONResponse:
    unknown = sorted(set(request.query_params) - {"limit"})
    if unknown:
        raise INVALID_ARGUMENT(message=f"Unknown query parameter '{unknown[0]}'; the dashboard takes 'limit' only.")

    def read() -> dict[str, Any]:
        now = clock.now()
        speed = clock.speed if isinstance(clock, SharedClock) else 0.0
        with database.read() as session:
            body = queries.snapshot(session, now=now, limit=limit)
        return {"clock": {"now": format_timestamp(now), "speed": speed}, **body}

    return ODataJSONResponse(await run_in_threadpool(read), headers={"Cache-Control": "no-store"})


@pages.get("/dashboard")
async def dashboard_page(request: Request, settings: SettingsDep) -> Response:
    check_caller(request, settings, token=False)
    return Response(_read("index.html"), media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@pages.get("/dashboard/assets/{name}")
async def dashboard_asset(name: str, request: Request, settings: SettingsDep) -> Response:
    check_caller(request, settings, token=False)
    media_type = ASSETS.get(name)
    if media_type is None:
        raise RESOURCE_NOT_FOUND(segment=name)
    return Response(_read(name), media_type=media_type, headers=PAGE_HEADERS)


@functools.cache
def _read(name: str) -> bytes:
    return (STATIC / name).read_bytes()
