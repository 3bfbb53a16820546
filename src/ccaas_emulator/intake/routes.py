"""HTTP edge of the intake actions: read the body, bind parameters, run the service, answer Dataverse-style."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ccaas_emulator.auth.callers import Caller, load_caller, require_omnichannel_role
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
from ccaas_emulator.wire.responses import ODataJSONResponse

ServiceCall = Callable[..., service.Accepted]


def _openapi(parameters: type[ActionParameters], response: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": parameters.model_json_schema()}},
        },
        "responses": {
            "200": {
                "description": "Accepted",
                "content": {"application/json": {"schema": response}},
            },
            "default": {
                "description": "Dataverse error",
                "content": {"application/json": {"schema": ERROR_SCHEMA}},
            },
        },
    }


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def response_schema(parameters: type[ActionParameters]) -> dict[str, Any]:
    """The JSON schema of an action's answer: @odata.context and its response fields (GUID strings)."""
    fields = ("@odata.context", *parameters.response_fields)
    properties: dict[str, Any] = {name: {"type": "string", "format": "uuid"} for name in parameters.response_fields}
    return {
        "type": "object",
        "required": list(fields),
        "properties": {"@odata.context": {"type": "string"}, **properties},
    }


async def _run_action(
    request: Request, version: str, parameters_type: type[ActionParameters], call: ServiceCall
) -> ODataJSONResponse:
    runtime: Runtime = request.app.state.runtime
    token = runtime.authenticator.authenticate(request)
    check_json_content_type(request)
    body = parse_json(await read_limited_body(request, runtime.settings.max_body_bytes))

    def unit_of_work() -> service.Accepted:
        with runtime.database.transaction() as session:
            # The caller's privilege is checked before the operation looks at its parameters, so a user
            # without an Omnichannel role gets 403 whatever the (well-formed JSON) body says.
            caller = _authorized_caller(session, token.object_id, parameters_type.action)
            parameters = parameters_type.bind(body)
            return call(session, parameters=parameters, caller=caller, now=runtime.clock.now())

    accepted = await run_in_threadpool(unit_of_work)
    payload: dict[str, Any] = {
        "@odata.context": action_response_context(
            request_origin(request, runtime.settings.org_url), version, parameters_type.action
        ),
        "DeliveryId": str(accepted.delivery_id),
    }
    if accepted.task_id is not None:
        payload["DeliveryTaskId"] = str(accepted.task_id)
    return ODataJSONResponse(payload)


def _authorized_caller(session: Session, object_id: Any, action: str) -> Caller:
    caller = load_caller(session, object_id=object_id)
    require_omnichannel_role(caller, action=action)
    return caller


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
            request, version, CreateProactiveVoiceDeliveryParameters, service.create_voice_delivery
        )

    @router.post(
        "/CCaaS_CreateProactiveDelivery",
        summary="Create a proactive delivery task (voice or SMS, up to 5 chained contacts)",
        openapi_extra=_openapi(CreateProactiveDeliveryParameters, response_schema(CreateProactiveDeliveryParameters)),
        response_class=ODataJSONResponse,
        operation_id=f"CCaaS_CreateProactiveDelivery_{version.replace('.', '_')}",
    )
    async def create_proactive_delivery(request: Request) -> ODataJSONResponse:
        return await _run_action(request, version, CreateProactiveDeliveryParameters, service.create_proactive_delivery)

    return router


ACTION_NAMES = frozenset(parameters.action for parameters in ACTIONS)
