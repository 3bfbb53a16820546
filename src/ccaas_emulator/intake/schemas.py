"""Wire schemas of the actions' parameters: PascalCase names exactly as the reference documents give them.

Pydantic checks each parameter's JSON type (strictly: a number is not a string) and documents the body
in the OpenAPI description; what a value must mean (GUIDs, windows, contacts) is checked in rules.py,
because Windows, Contacts and InputAttributes may also arrive as JSON-encoded strings (wire-facts A11).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccaas_emulator.intake.rules import reject_nul
from ccaas_emulator.wire.errors import (
    NOT_AN_OBJECT,
    REQUIRED_PARAMETER_MISSING,
    UNKNOWN_PARAMETER,
    WRONG_PARAMETER_TYPE,
)

WINDOW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A time window, in UTC (yyyy-MM-ddTHH:mm:ss.fffZ). Keys in either case.",
    "properties": {"Start": {"type": "string"}, "End": {"type": "string"}},
    "required": ["Start", "End"],
}
WINDOWS_DOC = "JSON array of windows, or that array as a JSON-encoded string"
ATTRIBUTES_DOC = "JSON object of string values, or that object as a JSON-encoded string"


class ActionParameters(BaseModel):
    """Base of an action's parameter set: strict types, unknown parameters refused."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    action: ClassVar[str]
    response_fields: ClassVar[tuple[str, ...]]
    """The properties of the action's <Action>Response complex type, all GUIDs written as strings."""

    @classmethod
    def bind(cls, body: Any) -> ActionParameters:
        """Bind a parsed JSON body to the parameters, raising the Dataverse error for the first problem."""
        if not isinstance(body, dict):
            raise NOT_AN_OBJECT()
        # OData instance annotations ("Windows@odata.type", "@odata.context") are not parameters.
        values = {key: value for key, value in body.items() if "@" not in key}
        for key, value in values.items():
            reject_nul(value, parameter=key)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise cls._translate(exc) from None

    @classmethod
    def _translate(cls, exc: ValidationError) -> Exception:
        errors = exc.errors(include_url=False)
        # OData reads the parameters that are present (unknown name, wrong type) before it notices
        # the ones that are absent, so those errors are reported first.
        present = [error for error in errors if error["type"] != "missing"]
        error = present[0] if present else errors[0]
        name = str(error["loc"][0])
        if error["type"] == "extra_forbidden":
            return UNKNOWN_PARAMETER(name=name, action=cls.action)
        field = cls.model_fields.get(name)
        value = error.get("input")
        if error["type"] == "missing" or (value is None and field is not None and field.is_required()):
            return REQUIRED_PARAMETER_MISSING(name=name)
        expected = (field.description if field is not None else None) or "a string"
        return WRONG_PARAMETER_TYPE(
            name=name, action=cls.action, problem=f"expected {expected}, got {json_type_name(value)}"
        )


def json_type_name(value: Any) -> str:
    """The JSON type of a parsed value, as a person would name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _string(description: str = "a string", *, optional: bool = False) -> Any:
    return Field(default=None, description=description) if optional else Field(description=description)


class CreateProactiveVoiceDeliveryParameters(ActionParameters):
    """CCaaS_CreateProactiveVoiceDelivery (000_...): one voice call to one number."""

    action: ClassVar[str] = "CCaaS_CreateProactiveVoiceDelivery"
    response_fields: ClassVar[tuple[str, ...]] = ("DeliveryId",)

    ApiVersion: str = _string('a string ("1.0")')
    ProactiveEngagementConfigId: str = _string("a string holding a GUID")
    DestinationPhoneNumber: str = _string()
    ContactId: str = _string("a string holding a GUID")
    Windows: list[Any] | str | None = Field(
        default=None, description=WINDOWS_DOC, json_schema_extra={"items": WINDOW_SCHEMA}
    )
    InputAttributes: dict[str, Any] | str | None = Field(default=None, description=ATTRIBUTES_DOC)


class CreateProactiveDeliveryParameters(ActionParameters):
    """CCaaS_CreateProactiveDelivery (001_...): up to five chained contacts, voice or SMS."""

    action: ClassVar[str] = "CCaaS_CreateProactiveDelivery"
    response_fields: ClassVar[tuple[str, ...]] = ("DeliveryId", "DeliveryTaskId")  # 001_...: Response

    ApiVersion: str = _string('a string ("1.0")')
    ProactiveEngagementConfigId: str = _string("a string holding a GUID")
    RequestId: str | None = _string(optional=True)
    Priority: str | None = _string(optional=True)
    Contacts: list[Any] | str = Field(
        description="JSON array of 1 to 5 contacts, or that array as a JSON-encoded string"
    )
    Windows: list[Any] | str | None = Field(
        default=None, description=WINDOWS_DOC, json_schema_extra={"items": WINDOW_SCHEMA}
    )
    Message: str | None = _string("a string (SMS configurations only)", optional=True)


ACTIONS: tuple[type[ActionParameters], ...] = (
    CreateProactiveVoiceDeliveryParameters,
    CreateProactiveDeliveryParameters,
)
"""Every action the emulator serves: its routes, the OpenAPI document and $metadata are made from these."""
