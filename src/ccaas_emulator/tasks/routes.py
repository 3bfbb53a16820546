"""HTTP edge of the task APIs: authenticate, read the request, run the service in one unit of work, answer.

As for the intake actions: 401 first, then the body's media type, size and JSON syntax, then (inside the unit of
work) 403 for a caller without an Omnichannel role, whatever the parameters say, then the parameters' problems.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ccaas_emulator.auth.callers import Caller
from ccaas_emulator.auth.tokens import VerifiedToken
from ccaas_emulator.deps import RuntimeDep
from ccaas_emulator.intake.schemas import ActionParameters
from ccaas_emulator.organization import organization_id
from ccaas_emulator.tasks import service
from ccaas_emulator.tasks.parameters import (
    EXAMPLE_TASK,
    GET_DELIVERY_TASKS,
    TASK_ID,
    CancelDeliveryTaskParameters,
    CreateOperationParameters,
    OperationCommand,
    check_cancel_task,
    check_operation,
    function_task_id,
)
from ccaas_emulator.tasks.representation import delivery_tasks_body, expando_context
from ccaas_emulator.wire.body import check_json_content_type, parse_json, read_limited_body
from ccaas_emulator.wire.context import request_origin
from ccaas_emulator.wire.errors import DataverseError
from ccaas_emulator.wire.openapi import CHALLENGE_HEADER, ERROR_SCHEMA
from ccaas_emulator.wire.query_parameters import refuse_custom_parameters
from ccaas_emulator.wire.responses import ODATA_JSON, ODataJSONResponse

if TYPE_CHECKING:
    from ccaas_emulator.runtime import Runtime

T = TypeVar("T")
P = TypeVar("P", bound=ActionParameters)
CANCEL_DELIVERY_TASK = CancelDeliveryTaskParameters.action
CREATE_OPERATION = CreateOperationParameters.action
OPERATION_METHODS = {GET_DELIVERY_TASKS: "GET", CANCEL_DELIVERY_TASK: "POST", CREATE_OPERATION: "POST"}
"""Each task API and the one method it answers (any other is 405 with this Allow)."""

_ODATA_VERSION = {"OData-Version": {"required": True, "schema": {"type": "string", "enum": ["4.0"]}}}
_ERRORS = {
    "400": "A parameter is missing, of the wrong type, unknown, or not allowed (a malformed GUID, an unknown "
    "Operation, a delivery that is not queued).",
    "401": "No bearer token, or one this organization does not accept (WWW-Authenticate says where to get one).",
    "403": "The caller is not a user of the organization, is disabled, or has no Omnichannel role.",
    "404": "The delivery task, delivery or proactive engagement configuration does not exist.",
    "414": "The URL is too long.",
}
_BODY_ERRORS = {
    "413": "The body is larger than CCAAS_MAX_BODY_BYTES.",
    "415": "The body is not application/json.",
}


def _responses(success: str, description: str, *, body: bool) -> dict[str, Any]:
    """The operation's documented answers: its success and every error, all in the Dataverse envelope."""
    responses: dict[str, Any] = {success: {"description": description, "headers": _ODATA_VERSION}}
    for status, text in (_ERRORS | (_BODY_ERRORS if body else {})).items():
        responses[status] = {
            "description": text,
            "headers": _ODATA_VERSION | (CHALLENGE_HEADER if status == "401" else {}),
            "content": {ODATA_JSON: {"schema": ERROR_SCHEMA}},
        }
    return responses


def _action_openapi(parameters: type[ActionParameters], success: str, description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": parameters.openapi_schema()}},
        },
        "responses": _responses(success, description, body=True),
    }


def _operation_id(name: str, version: str) -> str:
    return f"{name}_{version.replace('.', '_')}"


def build_router(version: str, *, documented: bool) -> APIRouter:
    """The task APIs under /api/data/<version>/ (v9.0 as documented, v9.1 and v9.2 too: wire-facts E1)."""
    router = APIRouter(prefix=f"/api/data/{version}", include_in_schema=documented, tags=["CCaaS delivery tasks"])

    async def get_delivery_tasks(request: Request, runtime: RuntimeDep) -> ODataJSONResponse:
        token = runtime.authenticator.authenticate(request)
        refuse_custom_parameters([key for key, _ in request.query_params.multi_items()])
        arguments = request.path_params.get("arguments")
        aliases = {key: value for key, value in request.query_params.multi_items() if key.startswith("@")}
        context = expando_context(request_origin(request, runtime.settings.org_url), version)
        organization = organization_id(runtime.settings.tenant_id)

        def unit_of_work() -> dict[str, Any]:
            with runtime.database.read() as session:
                service.authorize(session, principal=token.principal, operation=GET_DELIVERY_TASKS)
                view = service.get_task(session, task_id=function_task_id(arguments, aliases))
                return delivery_tasks_body(view, context=context, organization=organization)

        return ODataJSONResponse(await run_in_threadpool(unit_of_work))

    router.add_api_route(
        f"/{GET_DELIVERY_TASKS}({{arguments}})",
        get_delivery_tasks,
        methods=["GET"],
        summary="Read a delivery task: its status, counters, contact chain position and dials",
        response_class=ODataJSONResponse,
        operation_id=_operation_id(GET_DELIVERY_TASKS, version),
        name=_operation_id(GET_DELIVERY_TASKS, version),
        openapi_extra=_function_openapi(),
    )
    for bare in (f"/{GET_DELIVERY_TASKS}", f"/{GET_DELIVERY_TASKS}()"):  # no parameter: 400, not 404
        router.add_api_route(bare, get_delivery_tasks, methods=["GET"], include_in_schema=False)

    @router.post(
        f"/{CANCEL_DELIVERY_TASK}",
        summary=CancelDeliveryTaskParameters.summary,
        status_code=204,
        response_class=Response,
        operation_id=_operation_id(CANCEL_DELIVERY_TASK, version),
        name=_operation_id(CANCEL_DELIVERY_TASK, version),
        openapi_extra=_action_openapi(
            CancelDeliveryTaskParameters,
            "204",
            "Cancelled (or the task had already ended): committed before the answer. No body.",
        ),
    )
    async def cancel_delivery_task(request: Request, runtime: RuntimeDep) -> Response:
        token, checked = await _checked(request, runtime, CancelDeliveryTaskParameters, check_cancel_task)

        def work(session: Session, caller: Caller, task_id: uuid.UUID) -> None:
            service.cancel_task(session, task_id=task_id, caller=caller, now=runtime.clock.now())

        await _write(runtime, token, CANCEL_DELIVERY_TASK, checked, work)
        return Response(status_code=204)

    @router.post(
        f"/{CREATE_OPERATION}",
        summary=CreateOperationParameters.summary,
        status_code=202,
        response_class=Response,
        operation_id=_operation_id(CREATE_OPERATION, version),
        name=_operation_id(CREATE_OPERATION, version),
        openapi_extra=_action_openapi(
            CreateOperationParameters, "202", "Accepted: committed before the answer. No body (wire-facts A7)."
        ),
    )
    async def create_operation(request: Request, runtime: RuntimeDep) -> Response:
        token, checked = await _checked(request, runtime, CreateOperationParameters, check_operation)

        def work(session: Session, caller: Caller, command: OperationCommand) -> None:
            service.run_operation(session, command=command, caller=caller, now=runtime.clock.now())

        await _write(runtime, token, CREATE_OPERATION, checked, work)
        return Response(status_code=202)

    return router


async def _checked(
    request: Request, runtime: Runtime, parameters: type[P], check: Callable[[P], T]
) -> tuple[VerifiedToken, T | DataverseError]:
    """Authenticate, read the JSON body and check it; a parameter problem is returned, to be raised after the
    caller's role is known (a user without an Omnichannel role gets 403 whatever the body says)."""
    token = runtime.authenticator.authenticate(request)
    check_json_content_type(request)
    body = parse_json(await read_limited_body(request, runtime.settings.max_body_bytes))
    try:
        return token, check(parameters.bind(body))
    except DataverseError as exc:
        return token, exc


async def _write(
    runtime: Runtime,
    token: VerifiedToken,
    operation: str,
    checked: T | DataverseError,
    work: Callable[[Session, Caller, T], None],
) -> None:
    """One write transaction: authorize, refuse a bad request, or do the work (all of it or nothing)."""

    def unit_of_work() -> None:
        with runtime.database.transaction() as session:
            caller = service.authorize(session, principal=token.principal, operation=operation)
            if isinstance(checked, DataverseError):
                raise checked
            work(session, caller, checked)

    await run_in_threadpool(unit_of_work)


def _function_openapi() -> dict[str, Any]:
    responses = _responses("200", "The task, as an expando collection of one (wire-facts A9).", body=False)
    responses["200"]["content"] = {ODATA_JSON: {"schema": DELIVERY_TASKS_SCHEMA}}
    return {
        "parameters": [
            {
                "name": "arguments",
                "in": "path",
                "required": True,
                "description": f"The function's parameter: {TASK_ID}=<guid> (as documented), {TASK_ID}='<guid>', or "
                f"a parameter alias {TASK_ID}=@p1 with @p1=<guid> in the query string.",
                "schema": {"type": "string"},
                "examples": {
                    "bare": {"value": f"{TASK_ID}={EXAMPLE_TASK}"},
                    "quoted": {"value": f"{TASK_ID}='{EXAMPLE_TASK}'"},
                    "alias": {"value": f"{TASK_ID}=@p1"},
                },
            },
            {
                "name": "@p1",
                "in": "query",
                "required": False,
                "description": "The value of the parameter alias @p1: a GUID, bare or quoted.",
                "schema": {"type": "string"},
            },
        ],
        "responses": responses,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_TIMESTAMP = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"}
_GUID = {"type": "string", "format": "uuid"}
_EXPANDO = {"type": "string", "enum": ["#Microsoft.Dynamics.CRM.expando"]}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "additionalProperties": False, "properties": properties}


_CHAINING_STATUS = _object(
    {
        "@odata.type": _EXPANDO,
        "currentLoopNumber": {"type": "integer", "minimum": 1},
        "currentContactIndexAttempted": {"type": "integer", "minimum": 0},
        "currentContactIdAttempted": _nullable({"type": "string"}),
        "currentPhoneIndexAttempted": {"type": "integer", "minimum": 0},
        "currentPhoneNumberTypeIdAttempted": _nullable(
            {"type": "string", "enum": ["MobilePhoneNumber", "BusinessPhoneNumber", "HomePhoneNumber"]}
        ),
        "totalContactsInChain": {"type": "integer"},
        "totalPhonesInCurrentContact": {"type": "integer"},
        "totalPhonesInChain": {"type": "integer"},
        "totalEligiblePhonesInChain": {"type": "integer"},
        "totalEligiblePhonesInCurrentContact": {"type": "integer"},
        "areLoopsExhausted": {"type": "boolean"},
        "isChainExhausted": {"type": "boolean"},
        "seqNo": {"type": "integer"},
        "lastDeliveryResult": _nullable({"type": "string"}),
    }
)
_TASK = _object(
    {
        "@odata.type": _EXPANDO,
        "deliveryTaskId": _GUID,
        "organizationId": _GUID,
        "status": {"type": "string", "enum": ["Pending", "InProcess", "Complete", "Expired", "Cancelled", "Error"]},
        "retryCount": {"type": "integer"},
        "maxRetryCount": {"type": "integer"},
        "whenCreated": _TIMESTAMP,
        "nextScheduledTime": _nullable(_TIMESTAMP),
        "lastAttemptedTime": _nullable(_TIMESTAMP),
        "fallbackAttempted": {"type": "boolean"},
        "channelType": {"type": "string", "enum": ["Voice", "SMS"]},
        "proactiveEngagementConfigId": _GUID,
        "expirationDate": _nullable(_TIMESTAMP),
        "reattemptDelay": {"type": "integer"},
        "reattemptSettings@odata.type": {"type": "string", "enum": ["#Collection(Int32)"]},
        "reattemptSettings": {"type": "array", "items": {"type": "integer"}},
        "contactIds@odata.type": {"type": "string", "enum": ["#Collection(String)"]},
        "contactIds": {"type": "array", "items": {"type": "string"}},
        "requestId": _nullable({"type": "string"}),
        "customerReached": {"type": "boolean"},
        "callbackAttemptCount": {"type": "integer"},
        "contactChainingStatus": _CHAINING_STATUS,
        "deliveries@odata.type": {"type": "string", "enum": ["#Collection(Microsoft.Dynamics.CRM.crmbaseentity)"]},
        "deliveries": {
            "type": "array",
            "items": _object(
                {
                    "@odata.type": _EXPANDO,
                    "id": _GUID,
                    "status": {"type": "string"},
                    "result": _nullable({"type": "string"}),
                }
            ),
        },
    }
)
DELIVERY_TASKS_SCHEMA = _object(
    {
        "@odata.context": {"type": "string", "pattern": r"/\$metadata#expando$"},
        "value": {"type": "array", "minItems": 1, "maxItems": 1, "items": _TASK},
    }
)
