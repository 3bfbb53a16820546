"""HTTP edge of the intake actions: read the body, bind parameters, run the service, answer Dataverse-style."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from ccaas_emulator.auth.callers import Caller, load_callers, require_omnichannel_role
from ccaas_emulator.clock import Clock
from ccaas_emulator.db.transaction import Handler
from ccaas_emulator.intake import service
from ccaas_emulator.intake.schemas import (
    ACTIONS,
    ActionParameters,
    CreateProactiveDeliveryParameters,
    CreateProactiveVoiceDeliveryParameters,
)
from ccaas_emulator.runtime import Runtime
from ccaas_emulator.wire.body import check_json_content_type, parse_json, read_limited_body
from ccaas_emulator.wire.context import action_response_context, request_origin
from ccaas_emulator.wire.errors import DataverseError
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


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The Dataverse error envelope.",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "pattern": "^0x[0-9A-Fa-f]{8}$", "examples": ["0x80040203"]},
                "message": {"type": "string"},
            },
        }
    },
}
ERROR_STATUSES = {
    "400": "The body is not JSON, not an object of the action's parameters, or a value is not allowed.",
    "401": "No bearer token, or one this organization does not accept (WWW-Authenticate says where to get one).",
    "403": "The caller is not a user of the organization, is disabled, or has no Omnichannel role.",
    "404": "The proactive engagement configuration or the contact does not exist.",
    "413": "The body is larger than CCAAS_MAX_BODY_BYTES.",
    "414": "The URL is too long.",
    "415": "The body is not application/json.",
}
CHALLENGE_HEADER: dict[str, Any] = {
    "WWW-Authenticate": {
        "required": True,
        "description": "Where to get a token: the tenant's authorize endpoint and the organization's URI.",
        "schema": {"type": "string", "pattern": "^Bearer authorization_uri=[^ ,]+, resource_id=[^ ,]+$"},
    }
}


def response_schema(parameters: type[ActionParameters]) -> dict[str, Any]:
    """The JSON schema of an action's answer: @odata.context and its response fields (GUID strings)."""
    fields = ("@odata.context", *parameters.response_fields)
    properties: dict[str, Any] = {name: {"type": "string", "format": "uuid"} for name in parameters.response_fields}
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


@dataclass(frozen=True)
class _ActionRequest:
    """One request's work for the group committer: who calls, what they asked (checked), or its refusal."""

    object_id: uuid.UUID
    checked: Any
    error: DataverseError | None
    clock: Clock


async def _run_action(
    request: Request,
    version: str,
    parameters_type: type[ActionParameters],
    check: Callable[[Any], Any],
    write: Handler,
) -> ODataJSONResponse:
    runtime: Runtime = request.app.state.runtime
    token = runtime.authenticator.authenticate(request)
    check_json_content_type(request)
    body = parse_json(await read_limited_body(request, runtime.settings.max_body_bytes))
    # The values are checked here, on the event loop, but a problem is reported only after the caller's
    # privilege (in the unit of work), so a user without an Omnichannel role gets 403 whatever the
    # (well-formed JSON) body says.
    try:
        checked, error = check(parameters_type.bind(body)), None
    except DataverseError as exc:
        checked, error = None, exc
    # Committed (with the other requests waiting at that moment) before this returns: 200 means persisted.
    accepted: service.Accepted = await runtime.database.group_commit.run(
        write, _ActionRequest(token.object_id, checked, error, runtime.clock)
    )
    payload: dict[str, Any] = {
        "@odata.context": action_response_context(
            request_origin(request, runtime.settings.org_url), version, parameters_type.action
        ),
        "DeliveryId": str(accepted.delivery_id),
    }
    if accepted.task_id is not None:
        payload["DeliveryTaskId"] = str(accepted.task_id)
    return ODataJSONResponse(payload)


def _authorized(session: Session, requests: Sequence[_ActionRequest], action: str) -> list[Caller | DataverseError]:
    """Each request's caller, or the error it gets: the caller's 403 first, then its parameters' 400."""
    callers = load_callers(session, object_ids={request.object_id for request in requests})
    outcomes: list[Caller | DataverseError] = []
    for request in requests:
        caller = callers[request.object_id]
        if not isinstance(caller, DataverseError):
            try:
                require_omnichannel_role(caller, action=action)
            except DataverseError as exc:
                caller = exc
        outcomes.append(request.error if request.error is not None and isinstance(caller, Caller) else caller)
    return outcomes


def _write_voice_deliveries(session: Session, requests: Sequence[_ActionRequest]) -> list[Any]:
    outcomes: list[Any] = _authorized(session, requests, CreateProactiveVoiceDeliveryParameters.action)
    ready = [index for index, outcome in enumerate(outcomes) if isinstance(outcome, Caller)]
    written = service.write_voice_deliveries(
        session, [(requests[index].checked, outcomes[index], requests[index].clock.now()) for index in ready]
    )
    for index, outcome in zip(ready, written, strict=True):
        outcomes[index] = outcome
    return outcomes


def _write_proactive_deliveries(session: Session, requests: Sequence[_ActionRequest]) -> list[Any]:
    outcomes: list[Any] = _authorized(session, requests, CreateProactiveDeliveryParameters.action)
    for index, caller in enumerate(outcomes):
        if not isinstance(caller, Caller):
            continue
        request = requests[index]
        try:
            with session.begin_nested():  # a refusal leaves nothing of this request behind
                outcomes[index] = service.create_proactive_delivery(
                    session, parameters=request.checked, caller=caller, now=request.clock.now()
                )
        except DataverseError as exc:
            outcomes[index] = exc
    return outcomes


def _unchanged(parameters: Any) -> Any:
    return parameters


def build_router(version: str, *, documented: bool) -> APIRouter:
    """The actions under /api/data/<version>/ (v9.0, v9.1 and v9.2 all stay valid: wire-facts E1)."""
    router = APIRouter(prefix=f"/api/data/{version}", include_in_schema=documented, tags=["CCaaS actions"])

    @router.post(
        "/CCaaS_CreateProactiveVoiceDelivery",
        summary="Create one proactive voice delivery",
        openapi_extra=_openapi(
            CreateProactiveVoiceDeliveryParameters, response_schema(CreateProactiveVoiceDeliveryParameters)
        ),
        response_class=ODataJSONResponse,
        operation_id=f"CCaaS_CreateProactiveVoiceDelivery_{version.replace('.', '_')}",
    )
    async def create_voice_delivery(request: Request) -> ODataJSONResponse:
        return await _run_action(
            request,
            version,
            CreateProactiveVoiceDeliveryParameters,
            service.check_voice_delivery,
            _write_voice_deliveries,
        )

    @router.post(
        "/CCaaS_CreateProactiveDelivery",
        summary="Create a proactive delivery task (voice or SMS, up to 5 chained contacts)",
        openapi_extra=_openapi(CreateProactiveDeliveryParameters, response_schema(CreateProactiveDeliveryParameters)),
        response_class=ODataJSONResponse,
        operation_id=f"CCaaS_CreateProactiveDelivery_{version.replace('.', '_')}",
    )
    async def create_proactive_delivery(request: Request) -> ODataJSONResponse:
        return await _run_action(
            request, version, CreateProactiveDeliveryParameters, _unchanged, _write_proactive_deliveries
        )

    return router


ACTION_NAMES = frozenset(parameters.action for parameters in ACTIONS)
