"""Everything under /api/data/ that no route serves: 401 first (as Dataverse), then 405 or 404."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ccaas_emulator.runtime import Runtime
from ccaas_emulator.wire.errors import METHOD_NOT_ALLOWED, RESOURCE_NOT_FOUND

SUPPORTED_VERSIONS = ("v9.0", "v9.1", "v9.2")


def build_fallback_router(known_actions: frozenset[str]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.api_route("/api/data/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    async def unmatched(rest: str, request: Request) -> None:
        runtime: Runtime = request.app.state.runtime
        runtime.authenticator.authenticate(request)
        version, _, path = rest.partition("/")
        if version not in SUPPORTED_VERSIONS:
            raise RESOURCE_NOT_FOUND(segment=version)
        segment = path.split("/", 1)[0].split("(", 1)[0]
        if segment in known_actions and "/" not in path:
            error = METHOD_NOT_ALLOWED(method=request.method)
            error.headers["Allow"] = "POST"
            raise error
        raise RESOURCE_NOT_FOUND(segment=segment or path)

    return router
