"""/redoc from the fastapi-offline wheel's ReDoc, with nothing fetched from another origin.

/docs (Swagger UI) is fastapi-offline's own route (app.py). ReDoc's bundle draws the "API docs by Redocly" logo
from cdn.redoc.ly in its side bar; this page's Content-Security-Policy lets images come from this origin only, so
the browser never asks for it (the documentation renders the same without it).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html
from starlette.responses import HTMLResponse

ASSETS = "/docs/assets"
"""Where Swagger UI's and ReDoc's files are served (fastapi-offline's static folder, mounted by app.py)."""
REDOC_POLICY = "img-src 'self' data: blob:"

router = APIRouter(include_in_schema=False)


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    page = get_redoc_html(
        openapi_url="/openapi.json",
        title="ccaas-emulator - ReDoc",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )
    page.headers["Content-Security-Policy"] = REDOC_POLICY
    return page
