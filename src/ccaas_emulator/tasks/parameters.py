"""Wire parameters of the task APIs, and the pure checks that turn them into typed commands.

The two actions bind their bodies exactly as the intake actions do (intake.schemas.ActionParameters: strict JSON
types, unknown parameters refused, annotations ignored); the function's one parameter comes from the URL, as a
bare GUID, a quoted string or a parameter alias (`(DeliveryTaskId=@p1)?@p1=...`, as DynamicsWebApi sends it).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from ccaas_emulator.intake import rules
from ccaas_emulator.intake.schemas import DEMO_VOICE_CONFIG, ActionParameters
from ccaas_emulator.wire.errors import INVALID_ARGUMENT, REQUIRED_PARAMETER_MISSING, UNKNOWN_PARAMETER

GET_DELIVERY_TASKS = "CCaaS_GetDeliveryTasks"
TASK_ID = "DeliveryTaskId"
EXAMPLE_TASK = "5d0c1f3e-8a4b-4c2d-9e6f-0a1b2c3d4e5f"
EXAMPLE_DELIVERY = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


class Operation(StrEnum):
    """CCaaS_CreateOperation's Operation (wire-facts A7)."""

    SUSPEND = "Suspend"
    RESUME = "Resume"
    CANCEL = "Cancel"


ALLOWED_OPERATIONS = ", ".join(Operation)


def _guid(description: str, example: str, *, nullable: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": ["string", "null"] if nullable else "string",
        "description": f"{description} A GUID (32 hex digits, with or without dashes and braces).",
        "examples": [example],
    }
    return schema


def _body(parameters: type[ActionParameters], properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "title": parameters.__name__,
        "description": f"{(parameters.__doc__ or '').strip()} No string may contain U+0000. Unknown parameters are "
        "refused; OData instance annotations (names with '@') are ignored.",
        "type": "object",
        "properties": properties,
        "required": required,
        "patternProperties": {"@": {}},
        "additionalProperties": False,
    }


class CancelDeliveryTaskParameters(ActionParameters):
    """CCaaS_CancelDeliveryTask (wire-facts A8): end every pending and future attempt of a delivery task."""

    action: ClassVar[str] = "CCaaS_CancelDeliveryTask"
    summary: ClassVar[str] = "Cancel a delivery task: its queued dial and every later attempt"
    response_fields: ClassVar[tuple[str, ...]] = ()
    required: ClassVar[frozenset[str]] = frozenset({"ApiVersion", TASK_ID})

    ApiVersion: str = Field(description='a string ("1.0")')
    DeliveryTaskId: str = Field(description="a string holding a GUID")

    @classmethod
    def openapi_schema(cls) -> dict[str, Any]:
        return _body(
            cls,
            {
                "ApiVersion": {"type": "string", "enum": [rules.SUPPORTED_API_VERSION]},
                TASK_ID: _guid("The task CCaaS_CreateProactiveDelivery answered with.", EXAMPLE_TASK),
            },
            ["ApiVersion", TASK_ID],
        )


class CreateOperationParameters(ActionParameters):
    """CCaaS_CreateOperation (wire-facts A7): suspend or resume an engagement, cancel queued deliveries."""

    action: ClassVar[str] = "CCaaS_CreateOperation"
    summary: ClassVar[str] = "Suspend or resume an engagement, or cancel queued deliveries"
    response_fields: ClassVar[tuple[str, ...]] = ()
    required: ClassVar[frozenset[str]] = frozenset({"ApiVersion", "Operation"})
    """Required on the wire; Operation is bound as optional so that its absence names the allowed values."""

    ApiVersion: str = Field(description='a string ("1.0")')
    Operation: str | None = Field(default=None, description=f"a string: {ALLOWED_OPERATIONS}")
    ProactiveEngagementConfigId: str | None = Field(default=None, description="a string holding a GUID")
    DeliveryId: str | None = Field(default=None, description="a string holding a GUID")

    @classmethod
    def openapi_schema(cls) -> dict[str, Any]:
        return _body(
            cls,
            {
                "ApiVersion": {"type": "string", "enum": [rules.SUPPORTED_API_VERSION]},
                "Operation": {
                    "type": "string",
                    "enum": list(Operation),
                    "description": "Suspend and Resume need ProactiveEngagementConfigId; Cancel needs DeliveryId "
                    "(one queued delivery) or ProactiveEngagementConfigId (every queued delivery of it).",
                },
                "ProactiveEngagementConfigId": _guid(
                    "The engagement to suspend, resume or cancel the queued deliveries of.",
                    DEMO_VOICE_CONFIG,
                    nullable=True,
                ),
                "DeliveryId": _guid("A queued (Pending) delivery to cancel.", EXAMPLE_DELIVERY, nullable=True),
            },
            ["ApiVersion", "Operation"],
        )


@dataclass(frozen=True)
class OperationCommand:
    """A checked CCaaS_CreateOperation request."""

    operation: Operation
    config_id: uuid.UUID | None
    delivery_id: uuid.UUID | None


def check_cancel_task(parameters: CancelDeliveryTaskParameters) -> uuid.UUID:
    """The task to cancel; raises the first problem."""
    rules.require_api_version(parameters.ApiVersion)
    return rules.parse_guid(parameters.DeliveryTaskId, parameter=TASK_ID)


def check_operation(parameters: CreateOperationParameters) -> OperationCommand:
    """The operation and the ids it needs; raises the first problem (what needs the database comes later)."""
    rules.require_api_version(parameters.ApiVersion)
    if parameters.Operation is None:
        raise INVALID_ARGUMENT(message=f"Required parameter 'Operation' is missing; use one of {ALLOWED_OPERATIONS}.")
    try:
        operation = Operation(parameters.Operation)
    except ValueError:
        raise INVALID_ARGUMENT(
            message=f"Unsupported Operation '{parameters.Operation[:100]}'. Use one of {ALLOWED_OPERATIONS}."
        ) from None
    config_id = _optional_guid(parameters.ProactiveEngagementConfigId, "ProactiveEngagementConfigId")
    delivery_id = _optional_guid(parameters.DeliveryId, "DeliveryId")
    if operation is not Operation.CANCEL:
        if config_id is None:
            raise INVALID_ARGUMENT(message=f"Operation '{operation}' needs ProactiveEngagementConfigId.")
        if delivery_id is not None:
            raise INVALID_ARGUMENT(
                message=f"Operation '{operation}' applies to an engagement; DeliveryId is used only with Cancel."
            )
    elif config_id is None and delivery_id is None:
        raise INVALID_ARGUMENT(
            message="Operation 'Cancel' needs DeliveryId (one queued delivery) or ProactiveEngagementConfigId "
            "(every queued delivery of the engagement)."
        )
    return OperationCommand(operation, config_id, delivery_id)


def _optional_guid(value: str | None, parameter: str) -> uuid.UUID | None:
    """An optional id: absent, null or blank means not given."""
    if value is None or not value.strip():
        return None
    return rules.parse_guid(value, parameter=parameter)


def function_task_id(arguments: str | None, query: Mapping[str, str]) -> uuid.UUID:
    """DeliveryTaskId from `CCaaS_GetDeliveryTasks(<arguments>)`: a bare GUID (the documented form), a quoted
    string, or a parameter alias whose value is in the query string; raises the first problem."""
    value: str | None = None
    for part in filter(None, (piece.strip() for piece in (arguments or "").split(","))):
        name, equals, given = part.partition("=")
        if not equals:
            raise INVALID_ARGUMENT(
                message=f"{GET_DELIVERY_TASKS} takes its parameter by name: "
                f"{GET_DELIVERY_TASKS}({TASK_ID}=<guid>); got '{part[:100]}'."
            )
        if name.strip() != TASK_ID:
            raise UNKNOWN_PARAMETER(name=name.strip()[:100], action=GET_DELIVERY_TASKS)
        if value is not None:
            raise INVALID_ARGUMENT(message=f"The parameter '{TASK_ID}' is given more than once.")
        value = given.strip()
    if value is not None and value.startswith("@"):
        value = query.get(value, "").strip()  # an alias without a value is null (OData 4.01, 11.2.5.8)
    if not value or value == "null":
        raise REQUIRED_PARAMETER_MISSING(name=TASK_ID)
    if len(value) >= 2 and value[0] == value[-1] == "'":
        value = value[1:-1].replace("''", "'")
    rules.reject_nul(value, parameter=TASK_ID)
    return rules.parse_guid(value, parameter=TASK_ID)
