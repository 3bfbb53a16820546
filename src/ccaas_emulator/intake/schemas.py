"""Wire schemas of the actions' parameters: PascalCase names exactly as the reference documents give them.

Pydantic checks each parameter's JSON type (strictly: a number is not a string) and documents the body
in the OpenAPI description; what a value must mean (GUIDs, windows, contacts) is checked in rules.py,
because Windows, Contacts and InputAttributes may also arrive as JSON-encoded strings (wire-facts A11).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccaas_emulator.intake import rules
from ccaas_emulator.intake.rules import reject_nul
from ccaas_emulator.wire.errors import (
    NOT_AN_OBJECT,
    REQUIRED_PARAMETER_MISSING,
    UNKNOWN_PARAMETER,
    WRONG_PARAMETER_TYPE,
)

WINDOWS_DOC = "JSON array of windows, or that array as a JSON-encoded string"
ATTRIBUTES_DOC = "JSON object of string values, or that object as a JSON-encoded string"

# --- the OpenAPI description of the bodies ----------------------------------------------------------------
# Pydantic binds the JSON types (above all: a string is not a number); what the values may be is checked in
# rules.py. The OpenAPI document states both, from the same limits, so that a client generator or a fuzzer
# (tests/test_fuzz.py) sees every shape the actions accept: Windows, Contacts and InputAttributes as JSON or
# as JSON-encoded strings, the contacts' keys, the column lengths. What JSON Schema cannot say (Start before
# End, the configuration must exist, keys are read in any case) is in the descriptions.

NO_NUL = "No string may contain U+0000."
DEMO_VOICE_CONFIG = "cbbac510-3e66-ef11-a671-6045bd03d9d8"  # seeded by the demo data (docs/operations.md)
DEMO_CONTACT = "761e062f-c734-ef11-8e4f-00224808a166"


def _text(description: str, *, max_length: int | None = None, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"] if nullable else "string", "description": description}
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema | extra


def _guid(description: str, example: str) -> dict[str, Any]:
    return {
        "type": "string",
        "format": "uuid",
        "description": f"{description} A GUID (32 hex digits, with or without dashes and braces).",
        "examples": [example],
    }


def _encoded(schema: dict[str, Any], what: str) -> dict[str, Any]:
    """The JSON-encoded string form of `schema` (wire-facts A11); a blank string counts as absent."""
    return {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": schema,
        "description": f"{what}, JSON-encoded in a string (as the reference samples send it).",
    }


def _timestamp(name: str, example: str) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": rules._TIMESTAMP.pattern,  # the very expression parse_timestamp applies
        "description": f"{name}: UTC, yyyy-MM-ddTHH:mm:ss.fffZ (an offset is converted, none means UTC), "
        "between 1753-01-01 and 9999-12-31.",
        "examples": [example],
    }


def _window(start: str, end: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"A time window in which the delivery may be dialled; {start} must be before {end}. "
        "Keys are read in any case.",
        "properties": {
            start: _timestamp(start, "2024-09-10T13:00:00.000Z"),
            end: _timestamp(end, "2024-09-10T15:59:59.999Z"),
        },
        "required": [start, end],
        "additionalProperties": False,
    }


def windows_schema(start: str = "Start", end: str = "End") -> dict[str, Any]:
    array = {"type": "array", "maxItems": rules.MAX_WINDOWS, "items": _window(start, end)}
    return {
        "anyOf": [array, _encoded(array, "The windows"), {"type": "null"}],
        "description": "Windows in which the delivery may be dialled; absent, null, [] or a blank string means "
        "a 24-hour window starting now.",
    }


def attributes_schema() -> dict[str, Any]:
    attributes = {
        "type": "object",
        "maxProperties": rules.MAX_ATTRIBUTES,
        "propertyNames": {"minLength": 1, "maxLength": rules.KEYWORD_LIMIT, "pattern": r"\S"},
        "additionalProperties": {"type": "string", "maxLength": rules.ATTRIBUTE_VALUE_LIMIT},
    }
    return {
        "anyOf": [attributes, _encoded(attributes, "The attributes"), {"type": "null"}],
        "description": "Input attributes (Copilot agent variables): names of 1 to "
        f"{rules.KEYWORD_LIMIT} characters, string values of up to {rules.ATTRIBUTE_VALUE_LIMIT}.",
    }


def _contact_schema() -> dict[str, Any]:
    phone = "A number to dial (blank counts as absent)."
    properties: dict[str, Any] = {
        "uniqueIdentifier": _text(
            "The contact's id: a contactid GUID, or an external system's id mapped to a stable contactid.",
            max_length=100,
            minLength=1,
            pattern=r"\S",
        ),
        "firstName": _text("First name.", max_length=50, minLength=1, pattern=r"\S"),
        "lastName": _text("Last name.", max_length=50, minLength=1, pattern=r"\S"),
        "mobilePhoneNumber": _text(
            phone + " The only one an SMS contact may have.",
            max_length=50,
            nullable=True,
            pattern=rules.PHONE_OR_BLANK_PATTERN,
        ),
        "businessPhoneNumber": _text(phone, max_length=50, nullable=True, pattern=rules.PHONE_OR_BLANK_PATTERN),
        "homePhoneNumber": _text(phone, max_length=50, nullable=True, pattern=rules.PHONE_OR_BLANK_PATTERN),
        **{
            key: _text(f"Contact column {column}.", max_length=limit, nullable=True)
            for key, (column, limit) in rules._CONTACT_TEXT.items()  # the columns _parse_contact checks
        },
        "timezone": _text(
            "The contact's time zone, e.g. (GMT-03:00) Brasilia.", max_length=rules.TIMEZONE_LIMIT, nullable=True
        ),
        "inputAttributes": attributes_schema(),
        "windows": windows_schema("start", "end"),
    }
    return {
        "type": "object",
        "description": "One contact of the chain, dialled in order. Keys are read in any case. At least one "
        "phone number is required; an SMS configuration takes mobilePhoneNumber only.",
        "properties": properties,
        "required": ["uniqueIdentifier", "firstName", "lastName"],
        "anyOf": [
            {"required": [key], "properties": {key: {"type": "string", "pattern": rules.PHONE_PATTERN}}}
            for key in ("mobilePhoneNumber", "businessPhoneNumber", "homePhoneNumber")
        ],
        "additionalProperties": False,
    }


def contacts_schema() -> dict[str, Any]:
    array = {"type": "array", "minItems": 1, "maxItems": rules.MAX_CONTACTS, "items": _contact_schema()}
    return {
        "anyOf": [array, _encoded(array, "The contacts")],
        "description": f"1 to {rules.MAX_CONTACTS} contacts; the first is dialled first.",
    }


def _body_schema(parameters: type[ActionParameters], properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "title": parameters.__name__,
        "description": f"{(parameters.__doc__ or '').strip()} {NO_NUL} Unknown parameters are refused; OData "
        "instance annotations (names with '@') are ignored.",
        "type": "object",
        "properties": properties,
        "required": required,
        "patternProperties": {"@": {}},
        "additionalProperties": False,
    }


class ActionParameters(BaseModel):
    """Base of an action's parameter set: strict types, unknown parameters refused."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    action: ClassVar[str]
    summary: ClassVar[str]
    """One line for the OpenAPI document."""
    response_fields: ClassVar[tuple[str, ...]]
    """The properties of the action's <Action>Response complex type, GUIDs written as strings ..."""
    text_response_fields: ClassVar[frozenset[str]] = frozenset()
    """... but for these, which are free text (the bulk actions' RequestId)."""

    @classmethod
    def openapi_schema(cls) -> dict[str, Any]:
        """The body as the OpenAPI document describes it: every shape the action accepts, with its limits."""
        raise NotImplementedError

    @classmethod
    def bind(cls, body: Any) -> Self:
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
    summary: ClassVar[str] = "Create one proactive voice delivery"
    response_fields: ClassVar[tuple[str, ...]] = ("DeliveryId",)

    ApiVersion: str = _string('a string ("1.0")')
    ProactiveEngagementConfigId: str = _string("a string holding a GUID")
    DestinationPhoneNumber: str = _string()
    ContactId: str = _string("a string holding a GUID")
    Windows: list[Any] | str | None = Field(default=None, description=WINDOWS_DOC)
    InputAttributes: dict[str, Any] | str | None = Field(default=None, description=ATTRIBUTES_DOC)

    @classmethod
    def openapi_schema(cls) -> dict[str, Any]:
        return _body_schema(
            cls,
            {
                "ApiVersion": {"type": "string", "enum": [rules.SUPPORTED_API_VERSION]},
                "ProactiveEngagementConfigId": _guid(
                    "An active Voice proactive engagement configuration.", DEMO_VOICE_CONFIG
                ),
                "DestinationPhoneNumber": _text(
                    "The number to call (surrounding blanks are trimmed).",
                    max_length=rules.TO_ADDRESS_LIMIT,
                    minLength=1,
                    pattern=rules.PHONE_PATTERN,
                    examples=["+15005550001"],
                ),
                "ContactId": _guid("An existing contact.", DEMO_CONTACT),
                "Windows": windows_schema(),
                "InputAttributes": attributes_schema(),
            },
            ["ApiVersion", "ProactiveEngagementConfigId", "DestinationPhoneNumber", "ContactId"],
        )


class CreateProactiveDeliveryParameters(ActionParameters):
    """CCaaS_CreateProactiveDelivery (001_...): up to five chained contacts, voice or SMS."""

    action: ClassVar[str] = "CCaaS_CreateProactiveDelivery"
    summary: ClassVar[str] = "Create a proactive delivery task (voice or SMS, up to 5 chained contacts)"
    response_fields: ClassVar[tuple[str, ...]] = ("DeliveryId", "DeliveryTaskId")  # 001_...: Response

    ApiVersion: str = _string('a string ("1.0")')
    ProactiveEngagementConfigId: str = _string("a string holding a GUID")
    RequestId: str | None = _string(optional=True)
    Priority: str | None = _string(optional=True)
    Contacts: list[Any] | str = Field(
        description="JSON array of 1 to 5 contacts, or that array as a JSON-encoded string"
    )
    Windows: list[Any] | str | None = Field(default=None, description=WINDOWS_DOC)
    Message: str | None = _string("a string (SMS configurations only)", optional=True)

    @classmethod
    def openapi_schema(cls) -> dict[str, Any]:
        return _body_schema(
            cls,
            {
                "ApiVersion": {"type": "string", "enum": [rules.SUPPORTED_API_VERSION]},
                "ProactiveEngagementConfigId": _guid(
                    "An active Voice or SMS proactive engagement configuration.", DEMO_VOICE_CONFIG
                ),
                "RequestId": _text(
                    "The caller's tracking id (msdyn_tracking_id).", max_length=rules.TRACKING_ID_LIMIT, nullable=True
                ),
                "Priority": _text(
                    "The request's priority, as the caller names it.", max_length=rules.PRIORITY_LIMIT, nullable=True
                ),
                "Contacts": contacts_schema(),
                "Windows": windows_schema(),
                "Message": _text(
                    "The text to send; SMS configurations only.", max_length=rules.MESSAGE_LIMIT, nullable=True
                ),
            },
            ["ApiVersion", "ProactiveEngagementConfigId", "Contacts"],
        )


DEMO_SAMPLE_CONFIG = "36ebcd69-574d-f111-bec5-70a8a5b0f6fd"  # the Simple and Bulk samples' configuration (seeded)
DEMO_SMS_CONFIG = "b2c3d4e5-f6a7-8901-bcde-f12345678901"


def _phone(description: str) -> dict[str, Any]:
    return _text(description, max_length=50, nullable=True, pattern=rules.PHONE_OR_BLANK_PATTERN)


class CreateSimpleProactiveDeliveryParameters(ActionParameters):
    """CCaaS_CreateSimpleProactiveDelivery (wire-facts A4): one contact as flat parameters, for Power Automate."""

    action: ClassVar[str] = "CCaaS_CreateSimpleProactiveDelivery"
    summary: ClassVar[str] = "Create a proactive delivery task for one contact given as flat parameters"
    response_fields: ClassVar[tuple[str, ...]] = ("DeliveryId", "DeliveryTaskId")

    ApiVersion: str = _string('a string ("1.0")')
    ProactiveEngagementConfigId: str = _string("a string holding a GUID")
    UniqueIdentifier: str = _string()
    FirstName: str = _string()
    LastName: str = _string()
    # Required by the document, but checked by the contact rule (a contact with no phone at all gets the answer
    # it gets from every action), not by the binding.
    MobilePhoneNumber: str | None = _string(optional=True)
    Email: str | None = _string(optional=True)
    BusinessPhoneNumber: str | None = _string(optional=True)
    HomePhoneNumber: str | None = _string(optional=True)
    Country: str | None = _string(optional=True)
    City: str | None = _string(optional=True)
    AddressLine: str | None = _string(optional=True)
    PostalCode: str | None = _string(optional=True)
    State: str | None = _string(optional=True)
    TimeZone: str | None = _string(optional=True)
    Priority: str | None = _string(optional=True)
    InputAttributes: dict[str, Any] | str | None = Field(default=None, description=ATTRIBUTES_DOC)
    Windows: list[Any] | str | None = Field(default=None, description=WINDOWS_DOC)

    def contact_fields(self) -> dict[str, Any]:
        """The flat contact parameters as a contact object (keys are read in any case by the contact rule)."""
        return {
            name: value
            for name, value in self.model_dump(
                exclude={"ApiVersion", "ProactiveEngagementConfigId", "Priority", "InputAttributes", "Windows"}
            ).items()
        }

    @classmethod
    def openapi_schema(cls) -> dict[str, Any]:
        columns = {
            "Email": ("emailaddress1", 100),
            "Country": ("address1_country", 80),
            "City": ("address1_city", 80),
            "AddressLine": ("address1_line1", 250),
            "PostalCode": ("address1_postalcode", 20),
            "State": ("address1_stateorprovince", 50),
        }
        return _body_schema(
            cls,
            {
                "ApiVersion": {"type": "string", "enum": [rules.SUPPORTED_API_VERSION]},
                "ProactiveEngagementConfigId": _guid(
                    "An active Voice or SMS proactive engagement configuration.", DEMO_SAMPLE_CONFIG
                ),
                "UniqueIdentifier": _text(
                    "The contact's id: a contactid GUID, or an external system's id mapped to a stable contactid; "
                    "the contact is created or updated by it.",
                    max_length=100,
                    minLength=1,
                    pattern=r"\S",
                ),
                "FirstName": _text("First name.", max_length=50, minLength=1, pattern=r"\S"),
                "LastName": _text("Last name.", max_length=50, minLength=1, pattern=r"\S"),
                "MobilePhoneNumber": _text(
                    "The mobile number (the only phone an SMS configuration takes).",
                    max_length=50,
                    pattern=rules.PHONE_PATTERN,
                    examples=["+18666316096"],
                ),
                "BusinessPhoneNumber": _phone("The business number (voice only)."),
                "HomePhoneNumber": _phone("The home number (voice only)."),
                **{
                    name: _text(f"Contact column {column}.", max_length=limit, nullable=True)
                    for name, (column, limit) in columns.items()
                },
                "TimeZone": _text(
                    "The contact's time zone: a Windows id (Central European Standard Time), a Dynamics display "
                    "name or an IANA name.",
                    max_length=rules.TIMEZONE_LIMIT,
                    nullable=True,
                ),
                "Priority": _text(
                    "The request's priority, as the caller names it.", max_length=rules.PRIORITY_LIMIT, nullable=True
                ),
                "InputAttributes": attributes_schema(),
                "Windows": windows_schema(),
            },
            ["ApiVersion", "ProactiveEngagementConfigId", "UniqueIdentifier", "FirstName", "LastName",
             "MobilePhoneNumber"],
        )  # fmt: skip


class CreateProactiveSMSDeliveryParameters(ActionParameters):
    """CCaaS_CreateProactiveSMSDelivery (wire-facts A6): one text to one number; first generation, no reattempts."""

    action: ClassVar[str] = "CCaaS_CreateProactiveSMSDelivery"
    summary: ClassVar[str] = "Create one proactive SMS delivery"
    response_fields: ClassVar[tuple[str, ...]] = ("DeliveryId",)

    ApiVersion: str = _string('a string ("1.0")')
    ProactiveEngagementConfigId: str = _string("a string holding a GUID")
    DestinationPhoneNumber: str = _string()
    Message: str = _string()
    InputAttributes: dict[str, Any] | str | None = Field(default=None, description=ATTRIBUTES_DOC)

    @classmethod
    def openapi_schema(cls) -> dict[str, Any]:
        return _body_schema(
            cls,
            {
                "ApiVersion": {"type": "string", "enum": [rules.SUPPORTED_API_VERSION]},
                "ProactiveEngagementConfigId": _guid(
                    "An active SMS proactive engagement configuration.", DEMO_SMS_CONFIG
                ),
                "DestinationPhoneNumber": _text(
                    "The number to text (surrounding blanks are trimmed); also the contact's unique identifier.",
                    max_length=50,
                    minLength=1,
                    pattern=rules.PHONE_PATTERN,
                    examples=["+15550200"],
                ),
                "Message": _text("The text to send.", max_length=rules.MESSAGE_LIMIT, minLength=1, pattern=r"\S"),
                "InputAttributes": attributes_schema(),
            },
            ["ApiVersion", "ProactiveEngagementConfigId", "DestinationPhoneNumber", "Message"],
        )


def _bulk_item_schema() -> dict[str, Any]:
    contact = _contact_schema()
    properties = dict(contact["properties"])
    properties["zipCode"] = _text("The contact's postal code (the contact object's postalcode).", max_length=20,
                                  nullable=True)  # fmt: skip
    properties["timeZone"] = properties.pop("timezone")
    properties.pop("postalcode")
    properties["mobilePhoneNumber"] = _text(
        "The mobile number (the only phone an SMS configuration takes).", max_length=50, pattern=rules.PHONE_PATTERN
    )
    schema = contact | {
        "description": "One delivery: one contact (no account calling). Keys are read in any case.",
        "properties": properties,
        "required": ["uniqueIdentifier", "firstName", "lastName", "mobilePhoneNumber"],
    }
    schema.pop("anyOf")
    return schema


def _bulk_body_schema(cls: type[ActionParameters]) -> dict[str, Any]:
    """The body of either bulk action (V2 has no ProactiveEngagements)."""
    array = {"type": "array", "minItems": 1, "maxItems": rules.MAX_BULK_DELIVERIES, "items": _bulk_item_schema()}
    properties: dict[str, Any] = {
        "ApiVersion": {"type": "string", "enum": [rules.SUPPORTED_API_VERSION]},
        "ProactiveEngagementConfigId": _guid(
            "An active Voice or SMS proactive engagement configuration.", DEMO_SAMPLE_CONFIG
        ),
        "ProactiveDeliveries": {
            "anyOf": [array, _encoded(array, "The deliveries")],
            "description": f"1 to {rules.MAX_BULK_DELIVERIES} contacts. One bad item refuses the whole call "
            "and nothing is stored (docs/wire.md).",
        },
        "RequestId": _text(
            "The caller's tracking id (every delivery's msdyn_tracking_id); a new GUID when absent. Answered back.",
            max_length=rules.TRACKING_ID_LIMIT,
            nullable=True,
        ),
    }
    if "ProactiveEngagements" in cls.model_fields:
        properties["ProactiveEngagements"] = {
            "type": ["string", "null"],
            "maxLength": 0,
            "description": 'Sent as "" by the documented sample; its content is not documented, so any other '
            "value is refused.",
        }
    return _body_schema(cls, properties, ["ApiVersion", "ProactiveEngagementConfigId", "ProactiveDeliveries"])


class CreateProactiveDeliveryBulkV2Parameters(ActionParameters):
    """CCaaS_CreateProactiveDeliveryBulkV2 (wire-facts A5): the bulk action without ProactiveEngagements."""

    action: ClassVar[str] = "CCaaS_CreateProactiveDeliveryBulkV2"
    summary: ClassVar[str] = "Create a proactive delivery task for each of up to 15,000 contacts (V2)"
    response_fields: ClassVar[tuple[str, ...]] = ("RequestId",)
    text_response_fields: ClassVar[frozenset[str]] = frozenset({"RequestId"})

    ApiVersion: str = _string('a string ("1.0")')
    ProactiveEngagementConfigId: str = _string("a string holding a GUID")
    ProactiveDeliveries: list[Any] | str = Field(
        description="JSON array of contacts, or that array as a JSON-encoded string"
    )
    RequestId: str | None = _string(optional=True)

    @classmethod
    def openapi_schema(cls) -> dict[str, Any]:
        return _bulk_body_schema(cls)


class CreateProactiveBulkDeliveryParameters(CreateProactiveDeliveryBulkV2Parameters):
    """CCaaS_CreateProactiveBulkDelivery (wire-facts A5): up to 15,000 contacts a call, each its own delivery task;
    BulkV2's parameters and ProactiveEngagements."""

    action: ClassVar[str] = "CCaaS_CreateProactiveBulkDelivery"
    summary: ClassVar[str] = "Create a proactive delivery task for each of up to 15,000 contacts"

    ProactiveEngagements: str | None = _string("an empty string", optional=True)


BULK_ACTIONS: tuple[type[ActionParameters], ...] = (
    CreateProactiveBulkDeliveryParameters,
    CreateProactiveDeliveryBulkV2Parameters,
)
"""The actions whose bodies may be up to CCAAS_BULK_MAX_BODY_BYTES (15,000 contacts), not CCAAS_MAX_BODY_BYTES."""

ACTIONS: tuple[type[ActionParameters], ...] = (
    CreateProactiveVoiceDeliveryParameters,
    CreateProactiveDeliveryParameters,
    CreateSimpleProactiveDeliveryParameters,
    CreateProactiveSMSDeliveryParameters,
    *BULK_ACTIONS,
)
"""Every action the emulator serves: its routes, the OpenAPI document and $metadata are made from these."""
