"""HTTP edge of the intake actions: read the body, hand it to the pipeline, answer Dataverse-style."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ccaas_emulator.deps import RuntimeDep
from ccaas_emulator.intake import pipeline
from ccaas_emulator.intake.pipeline import ACTIONS, Action
from ccaas_emulator.intake.schemas import ActionParameters
from ccaas_emulator.wire.body import check_json_content_type, parse_json, read_limited_body
from ccaas_emulator.wire.context import action_response_context, request_origin
from ccaas_emulator.wire.openapi import CHALLENGE_HEADER, ERROR_SCHEMA
from ccaas_emulator.wire.responses import ODATA_JSON, ODataJSONResponse


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


def _add_action_route(router: APIRouter, version: str, action: Action[Any]) -> None:
    """POST /api/data/<version>/<action>: authenticate, read the body, run the pipeline, render the answer."""
    parameters = action.parameters

    @router.post(
        f"/{action.name}",
        summary=parameters.summary,
        openapi_extra=_openapi(parameters, response_schema(parameters)),
        response_class=ODataJSONResponse,
        operation_id=_operation_id(action.name, version),
        name=_operation_id(action.name, version),
    )
    async def run_action(request: Request, runtime: RuntimeDep) -> ODataJSONResponse:
        token = runtime.authenticator.authenticate(request)
        check_json_content_type(request)
        settings = runtime.settings
        limit = settings.bulk_max_body_bytes if action.bulk else settings.max_body_bytes
        body = parse_json(await read_limited_body(request, limit))
        # Committed (with the other requests waiting at that moment) before this returns: 200 means persisted.
        accepted = await pipeline.submit(
            action, body, principal=token.principal, clock=runtime.clock, group_commit=runtime.database.group_commit
        )
        payload: dict[str, Any] = {
            "@odata.context": action_response_context(request_origin(request, settings.org_url), version, action.name),
            **accepted.response(parameters.response_fields),
        }
        return ODataJSONResponse(payload)


def build_router(version: str, *, documented: bool) -> APIRouter:
    """The actions under /api/data/<version>/ (v9.0, v9.1 and v9.2 all stay valid: wire-facts E1)."""
    router = APIRouter(prefix=f"/api/data/{version}", include_in_schema=documented, tags=["CCaaS actions"])
    for action in ACTIONS:
        _add_action_route(router, version, action)
    return router


ACTION_NAMES = frozenset(action.name for action in ACTIONS)
