"""HTTP edge of the intake actions: read the body, hand it to the pipeline, answer Dataverse-style."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ccaas_emulator.deps import RuntimeDep, runtime_of
from ccaas_emulator.intake import pipeline
from ccaas_emulator.intake.pipeline import ACTIONS, Action
from ccaas_emulator.intake.schemas import ActionParameters
from ccaas_emulator.wire.body import check_json_content_type, parse_json, read_limited_body
from ccaas_emulator.wire.context import action_response_context, request_origin
from ccaas_emulator.wire.openapi import CHALLENGE_HEADER, ERROR_SCHEMA
from ccaas_emulator.wire.responses import ODATA_JSON, ODataJSONResponse

if TYPE_CHECKING:
    from ccaas_emulator.runtime import Runtime


def _openapi(parameters: type[ActionParameters], response: dict[str, Any]) -> dict[str, Any]:
    """The operation's OpenAPI description: the precise body, the 200 answer and every error it can give."""
    odata_version = {"OData-Version": {"required": True, "schema": {"type": "string", "enum": ["4.0"]}}}
    responses: dict[str, Any] = {
        "200": {
            "description": "Accepted: committed before the answer.",
            "headers": odata_version,
            "content": {ODATA_JSON: {"schema": response}},
        }
    }
    for status, description in ERROR_STATUSES.items():
        headers = odata_version | (CHALLENGE_HEADER if status == "401" else {})
        responses[status] = {
            "description": description,
            "headers": headers,
            "content": {ODATA_JSON: {"schema": ERROR_SCHEMA}},
        }
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": parameters.openapi_schema()}},
        },
        "responses": responses,
    }


ERROR_STATUSES = {
    "400": "The body is not JSON, not an object of the action's parameters, or a value is not allowed.",
    "401": "No bearer token, or one this organization does not accept (WWW-Authenticate says where to get one).",
    "403": "The caller is not a user of the organization, is disabled, or has no Omnichannel role.",
    "404": "The proactive engagement configuration or the contact does not exist.",
    "413": "The body is larger than CCAAS_MAX_BODY_BYTES (the bulk actions: CCAAS_BULK_MAX_BODY_BYTES).",
    "414": "The URL is too long.",
    "415": "The body is not application/json.",
}


def response_schema(parameters: type[ActionParameters]) -> dict[str, Any]:
    """The JSON schema of an action's answer: @odata.context and its response fields (GUID strings, but for
    the free-text ones)."""
    fields = ("@odata.context", *parameters.response_fields)
    properties: dict[str, Any] = {
        name: {"type": "string"} if name in parameters.text_response_fields else {"type": "string", "format": "uuid"}
        for name in parameters.response_fields
    }
    return {
        "type": "object",
        "required": list(fields),
        "additionalProperties": False,
        "properties": {
            "@odata.context": {
                "type": "string",
                "pattern": f"/\\$metadata#Microsoft\\.Dynamics\\.CRM\\.{parameters.action}Response$",
            },
            **properties,
        },
    }


def _operation_id(action: str, version: str) -> str:
    return f"{action}_{version.replace('.', '_')}"


class ActionEndpoint:
    """POST /api/data/<version>/<action>: authenticate, read the body, run the pipeline, render the answer.

    Called by the action's FastAPI route and, for the requests ActionDispatch takes, directly.
    """

    def __init__(self, version: str, action: Action[Any]) -> None:
        self.version = version
        self.action = action
        self.fields = action.parameters.response_fields

    async def __call__(self, request: Request, runtime: Runtime) -> ODataJSONResponse:
        action = self.action
        token = runtime.authenticator.authenticate(request)
        check_json_content_type(request)
        settings = runtime.settings
        limit = settings.bulk_max_body_bytes if action.bulk else settings.max_body_bytes
        body = parse_json(await read_limited_body(request, limit))
        # Committed (with the other requests waiting at that moment) before this returns: 200 means persisted.
        accepted = await pipeline.submit(
            action, body, principal=token.principal, clock=runtime.clock, group_commit=runtime.database.group_commit
        )
        context = action_response_context(request_origin(request, settings.org_url), self.version, action.name)
        payload: dict[str, Any] = {"@odata.context": context, **accepted.response(self.fields)}
        return ODataJSONResponse(payload)


def _add_action_route(router: APIRouter, version: str, action: Action[Any]) -> tuple[APIRoute, ActionEndpoint]:
    """The action's documented route; the endpoint it calls is returned too, for ActionDispatch."""
    parameters = action.parameters
    endpoint = ActionEndpoint(version, action)

    @router.post(
        f"/{action.name}",
        summary=parameters.summary,
        openapi_extra=_openapi(parameters, response_schema(parameters)),
        response_class=ODataJSONResponse,
        operation_id=_operation_id(action.name, version),
        name=_operation_id(action.name, version),
    )
    async def run_action(request: Request, runtime: RuntimeDep) -> ODataJSONResponse:
        return await endpoint(request, runtime)

    route = router.routes[-1]
    assert isinstance(route, APIRoute) and route.endpoint is run_action
    return route, endpoint


def build_router(version: str, *, documented: bool) -> APIRouter:
    """The actions under /api/data/<version>/ (v9.0, v9.1 and v9.2 all stay valid: wire-facts E1)."""
    router = APIRouter(prefix=f"/api/data/{version}", include_in_schema=documented, tags=["CCaaS actions"])
    for action in ACTIONS:
        route, endpoint = _add_action_route(router, version, action)
        _ENDPOINTS[route.path] = endpoint
    return router


_ENDPOINTS: dict[str, ActionEndpoint] = {}
"""Each action path's endpoint (the same for every router built for its version: they hold no state)."""


def endpoints_of(router: APIRouter) -> dict[str, tuple[APIRoute, ActionEndpoint]]:
    """The POST paths of a router build_router made, with their route and endpoint (for ActionDispatch)."""
    return {route.path: (route, _ENDPOINTS[route.path]) for route in router.routes if isinstance(route, APIRoute)}


class ActionDispatch:
    """Pure ASGI, innermost: a POST to an action's exact path goes straight to its endpoint.

    FastAPI would match it against every route of every included router (the three versions' actions, task
    APIs and entity sets) and resolve the route's dependencies first: about as much Python as the rest of the
    request. The route is the same one FastAPI would pick (the actions' routers come first for their paths, and
    nothing before them serves /api/data/), so the request is answered exactly as the route answers it: the
    endpoint's DataverseError and database errors are rendered here by the app's own handlers (they would have
    been by ExceptionMiddleware, which sits inside this), anything else propagates to the last-resort handler, as
    it would have. scope["route"] is set as the router would set it (metrics labels by it).
    """

    def __init__(
        self,
        app: ASGIApp,
        endpoints: dict[str, tuple[APIRoute, ActionEndpoint]],
        on_error: Callable[[Request, Exception], Response | None],
    ) -> None:
        self.app = app
        self.endpoints = endpoints
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        found = self.endpoints.get(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        route, endpoint = found
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {}
        request = Request(scope, receive, send)
        response: Response
        try:
            response = await endpoint(request, runtime_of(request))
        except Exception as exc:
            handled = self.on_error(request, exc)
            if handled is None:
                raise
            response = handled
        await response(scope, receive, send)


ACTION_NAMES = frozenset(action.name for action in ACTIONS)
