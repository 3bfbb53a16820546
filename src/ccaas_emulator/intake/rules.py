"""What the actions' values must mean: one rule set, shared by every intake action.

Each function takes the wire value (already of the right JSON type, see schemas.py) and returns a plain
Python value, or raises the catalogued Dataverse error naming the parameter and the problem.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ccaas_emulator import timezones
from ccaas_emulator.domain import Channel, PhoneType, Window
from ccaas_emulator.wire.errors import INVALID_ARGUMENT, REQUIRED_PARAMETER_MISSING, STRING_TOO_LONG, DataverseError

SUPPORTED_API_VERSION = "1.0"
MAX_CONTACTS = 5  # 001_...: "one or more contacts (up to 5)"
MAX_BULK_DELIVERIES = 15_000  # wire-facts A1: the bulk actions take "approximately 15,000 records" a call
MAX_WINDOWS = 50
MAX_ATTRIBUTES = 100
DEFAULT_WINDOW = timedelta(hours=24)  # 000_..., 001_...: "defaults to a 24-hour window starting immediately"

# Column limits the values end up in (wire-facts B1, B2; contact columns of Dataverse).
KEYWORD_LIMIT = 850
ATTRIBUTE_VALUE_LIMIT = 4000
TO_ADDRESS_LIMIT = 300
TRACKING_ID_LIMIT = 400
PRIORITY_LIMIT = 100
MESSAGE_LIMIT = 4000
TIMEZONE_LIMIT = 300

# Dataverse date-times run from 1753-01-01 to 9999-12-31 (SQL Server's datetime range).
EARLIEST = datetime(1753, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?([Zz]|[+-]\d{2}:?\d{2})?$")
# A number to dial: at least one digit and no letters (555-CALL-NOW, "call me" and "n/a" are refused); separators,
# a leading +, and any other punctuation pass. This is our rule (docs/choices.md).
PHONE_PATTERN = r"^[^A-Za-z]*[0-9][^A-Za-z]*$"
PHONE_OR_BLANK_PATTERN = r"^([^A-Za-z]*[0-9][^A-Za-z]*|\s*)$"  # a contact's blank phone is absent
_PHONE = re.compile(PHONE_PATTERN)


CONTACT_NAMESPACE = uuid.UUID("0b7f3a52-6d0e-4c8a-9a51-ccaa5e000001")
"""uuid5 namespace of the contactids the emulator gives external systems' ids (docs/choices.md)."""


@dataclass(frozen=True)
class Phone:
    """One number to dial, with the contact phone type it came in as (None: a bare destination number)."""

    type: PhoneType | None
    number: str


@dataclass(frozen=True)
class ContactDetails:
    """What a contact object says of the person: the contact table's columns (None: not given, kept as stored).

    The actions require both names; a file row may leave them out (002_...: only UniqueIdentifier and a phone
    column are required)."""

    first_name: str | None
    last_name: str | None
    email: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = None
    address_line: str | None = None
    city: str | None = None
    timezone: str | None = None
    """As the caller wrote it: the tables show what was sent."""
    iana: str | None = None
    """The IANA zone the time zone resolves to (timezones.py)."""


@dataclass(frozen=True)
class ContactRequest:
    """A contact object of CCaaS_CreateProactiveDelivery, validated."""

    unique_identifier: str
    details: ContactDetails
    phones: list[Phone]
    attributes: dict[str, str] = field(default_factory=dict)
    windows: list[Window] = field(default_factory=list)


def contact_id_for(unique_identifier: str) -> tuple[uuid.UUID, str | None]:
    """(contactid, external id): the identifier is the contactid when it is a GUID (the engagement's
    default unique identifier); otherwise it is an external system's id, mapped to a stable contactid."""
    try:
        return uuid.UUID(unique_identifier), None
    except ValueError:
        return uuid.uuid5(CONTACT_NAMESPACE, unique_identifier), unique_identifier


def priority_number(priority: str | None) -> float | None:
    """The request's Priority for custom call order: a number, or a date (as its timestamp); else None,
    which orders the delivery first in, first out after the valid ones (002_...: custom priority)."""
    if priority is None or not priority.strip():
        return None
    try:
        number = float(priority)
    except ValueError:
        try:
            return parse_timestamp(priority, parameter="Priority").timestamp()
        except DataverseError:
            return None
    return number if math.isfinite(number) else None


def require_api_version(value: str) -> None:
    if value != SUPPORTED_API_VERSION:
        raise INVALID_ARGUMENT(
            message=f"Unsupported ApiVersion '{value}'. The supported version is '{SUPPORTED_API_VERSION}'."
        )


def parse_guid(value: str, *, parameter: str) -> uuid.UUID:
    """A GUID in any of .NET's forms; the error quotes .NET's own Guid.Parse message."""
    text = value.strip()
    try:
        if len(text) in (32, 36, 38) and not text.lower().startswith("urn"):
            return uuid.UUID(text)
    except ValueError:
        pass
    raise INVALID_ARGUMENT(
        message=f"Invalid {parameter} '{value}': Guid should contain 32 digits with 4 dashes "
        "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."
    )


def decode_json_string(value: Any, *, parameter: str) -> Any:
    """Windows, Contacts and InputAttributes may be sent as JSON-encoded strings (wire-facts A11)."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise INVALID_ARGUMENT(
            message=f"The {parameter} parameter is a string but not valid JSON: {exc.msg} at position {exc.pos}."
        ) from None
    # JSON text can only carry U+0000 escaped (a raw one is refused above, or by bind): a bulk call's 15,000 items
    # need not be walked when the text has no such escape.
    if "\\u0000" in value:
        reject_nul(decoded, parameter=parameter)
    return decoded


def parse_timestamp(value: Any, *, parameter: str) -> datetime:
    """ISO 8601 with or without Z and milliseconds; no offset means UTC (the documents require UTC)."""
    if not isinstance(value, str) or not _TIMESTAMP.match(value.strip()):
        raise INVALID_ARGUMENT(
            message=f"{parameter} must be a UTC timestamp in the yyyy-MM-ddTHH:mm:ss.fffZ format; got {value!r}."
        )
    text = value.strip().replace("z", "Z").replace("t", "T")
    try:
        parsed = datetime.fromisoformat(text)
        moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise INVALID_ARGUMENT(message=f"{parameter} is not a valid date and time: {value!r}.") from None
    if not EARLIEST <= moment <= LATEST:
        raise INVALID_ARGUMENT(message=f"{parameter} is outside the range of 1753-01-01 to 9999-12-31: {value!r}.")
    return moment


def reject_nul(value: Any, *, parameter: str) -> None:
    """No string may hold U+0000: PostgreSQL cannot store it, so neither back end accepts it."""
    if isinstance(value, str):
        if "\x00" in value:
            raise INVALID_ARGUMENT(message=f"{parameter} contains a NUL character (U+0000), which is not allowed.")
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key, parameter=parameter)
            reject_nul(item, parameter=parameter)
    elif isinstance(value, list):
        for item in value:
            reject_nul(item, parameter=parameter)


def parse_windows(value: Any, *, parameter: str) -> list[Window]:
    """A list of {Start, End} (keys in any case), each Start before its End; empty when absent."""
    value = decode_json_string(value, parameter=parameter)
    if value is None:
        return []
    if not isinstance(value, list):
        raise INVALID_ARGUMENT(message=f"{parameter} must be a JSON array of windows.")
    if len(value) > MAX_WINDOWS:
        raise INVALID_ARGUMENT(message=f"{parameter} has {len(value)} windows; at most {MAX_WINDOWS} are allowed.")
    windows = []
    for index, item in enumerate(value):
        where = f"{parameter}[{index}]"
        if not isinstance(item, dict):
            raise INVALID_ARGUMENT(message=f"{where} must be an object with Start and End.")
        keys = {str(key).lower(): item_value for key, item_value in item.items()}
        for key in ("start", "end"):
            if keys.get(key) is None:
                raise INVALID_ARGUMENT(message=f"{where} has no {key.capitalize()}.")
        start = parse_timestamp(keys["start"], parameter=f"{where}.Start")
        end = parse_timestamp(keys["end"], parameter=f"{where}.End")
        if start >= end:
            raise INVALID_ARGUMENT(message=f"{where}: Start ({keys['start']}) must be before End ({keys['end']}).")
        windows.append(Window(start, end))
    return sorted(windows, key=lambda window: (window.start, window.end))


def default_windows(now: datetime) -> list[Window]:
    """No windows given: from now until 24 hours later."""
    return [Window(now, now + DEFAULT_WINDOW)]


def parse_input_attributes(value: Any, *, parameter: str) -> dict[str, str]:
    """A flat object of string values (Copilot agent variables)."""
    value = decode_json_string(value, parameter=parameter)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise INVALID_ARGUMENT(message=f"{parameter} must be a JSON object of key-value strings.")
    if len(value) > MAX_ATTRIBUTES:
        raise INVALID_ARGUMENT(
            message=f"{parameter} has {len(value)} attributes; at most {MAX_ATTRIBUTES} are allowed."
        )
    attributes: dict[str, str] = {}
    for key, item in value.items():
        if not key.strip():
            raise INVALID_ARGUMENT(message=f"{parameter} has an attribute with an empty name.")
        if not isinstance(item, str):
            raise INVALID_ARGUMENT(
                message=f"{parameter}: the value of '{key}' must be a string; "
                f"got {type(item).__name__ if item is not None else 'null'}."
            )
        check_length(key, attribute="msdyn_keyword", entity="msdyn_proactive_delivery_attribute", limit=KEYWORD_LIMIT)
        check_length(
            item,
            attribute="msdyn_value",
            entity="msdyn_proactive_delivery_attribute",
            limit=ATTRIBUTE_VALUE_LIMIT,
        )
        attributes[key] = item
    return attributes


def resolve_timezone(value: str | None, *, parameter: str) -> str | None:
    """The IANA name of a contact's time zone (001_...: "a value from the Dynamics 365-approved list"), or
    a 400 naming the parameter, the value and up to five close matches."""
    if value is None:
        return None
    try:
        return timezones.iana_name(value)
    except timezones.UnknownTimeZone as unknown:
        suggestions = ", ".join(f"'{name}'" for name in unknown.close_matches)
        if unknown.ambiguous:
            raise INVALID_ARGUMENT(
                message=f"{parameter} '{value}' is ambiguous: it begins more than one Dynamics 365 time zone, "
                f"such as {suggestions}. Give the whole display name."
            ) from None
        hint = f"Close matches: {suggestions}." if suggestions else "No time zone name is close to it."
        raise INVALID_ARGUMENT(
            message=f"{parameter} '{value}' is not a time zone of the Dynamics 365 list (a display name such as "
            f"'(GMT-08:00) Pacific Time (US & Canada)', a Windows id such as 'Pacific Standard Time', or an "
            f"IANA name). {hint}"
        ) from None


def check_length(value: str | None, *, attribute: str, entity: str, limit: int) -> None:
    """Dataverse refuses a string longer than its column (0x80044331)."""
    if value is not None and len(value) > limit:
        raise STRING_TOO_LONG(attribute=attribute, entity=entity, limit=limit)


def require_phone_number(value: str, *, parameter: str) -> str:
    """A number to dial: not blank, and written as a phone number. Whether it can be reached is the dial's
    business (InvalidAddress)."""
    number = value.strip()
    if not number:
        raise INVALID_ARGUMENT(message=f"{parameter} must not be empty.")
    check_phone_number(number, parameter=parameter)
    check_length(number, attribute="msdyn_to_address", entity="msdyn_proactive_delivery", limit=TO_ADDRESS_LIMIT)
    return number


def check_phone_number(number: str, *, parameter: str) -> None:
    """Every number any action takes (a destination, a contact's phones) is checked by this one rule."""
    if not _PHONE.match(number):
        raise INVALID_ARGUMENT(
            message=f"{parameter} '{number}' is not a phone number: it needs digits, and letters are not allowed."
        )


# Contact object key -> (contact column, its length limit); wire-facts A3 and the Dataverse contact table.
_CONTACT_TEXT = {
    "email": ("emailaddress1", 100),
    "postalcode": ("address1_postalcode", 20),
    "state": ("address1_stateorprovince", 50),
    "country": ("address1_country", 80),
    "addressline": ("address1_line1", 250),
    "city": ("address1_city", 80),
}
PHONE_NAMES = ("mobilePhoneNumber", "businessPhoneNumber", "homePhoneNumber")
_PHONE_KEYS = {
    "mobilephonenumber": (PhoneType.MOBILE, "mobilephone"),
    "businessphonenumber": (PhoneType.BUSINESS, "telephone1"),
    "homephonenumber": (PhoneType.HOME, "telephone2"),
}


def parse_contacts(value: Any) -> list[ContactRequest]:
    """1 to 5 contacts, each with a unique identifier, names and at least one phone (001_...).

    Which phones the channel allows is checked once the configuration is known: check_channel_phones."""
    value = decode_json_string(value, parameter="Contacts")
    if value is None:
        raise REQUIRED_PARAMETER_MISSING(name="Contacts")
    if not isinstance(value, list):
        raise INVALID_ARGUMENT(message="Contacts must be a JSON array of contact objects.")
    if not value:
        raise INVALID_ARGUMENT(message="Contacts must contain at least one contact.")
    if len(value) > MAX_CONTACTS:
        raise INVALID_ARGUMENT(
            message=f"Contacts has {len(value)} contacts; at most {MAX_CONTACTS} are allowed on one request."
        )
    return [parse_contact(item, where=f"Contacts[{index}]") for index, item in enumerate(value)]


def parse_bulk_deliveries(value: Any, *, parameter: str) -> list[ContactRequest]:
    """A bulk action's items (wire-facts A5): 1 to MAX_BULK_DELIVERIES contacts, each with a mobile number."""
    value = decode_json_string(value, parameter=parameter)
    if value is None:
        raise REQUIRED_PARAMETER_MISSING(name=parameter)
    if not isinstance(value, list):
        raise INVALID_ARGUMENT(message=f"{parameter} must be a JSON array of delivery objects.")
    if not value:
        raise INVALID_ARGUMENT(message=f"{parameter} must contain at least one delivery.")
    if len(value) > MAX_BULK_DELIVERIES:
        raise INVALID_ARGUMENT(
            message=f"{parameter} has {len(value)} deliveries; at most {MAX_BULK_DELIVERIES} are allowed on one "
            "request."
        )
    return [parse_contact(item, where=f"{parameter}[{index}]", require_mobile=True) for index, item in enumerate(value)]


def check_channel_phones(contacts: list[tuple[str, list[Phone]]], *, channel: Channel) -> None:
    """An SMS contact has a mobile number and nothing else (001_...); a voice contact may have any phone.

    `contacts`: where each contact is (as parse_contact names it in errors) and its phones."""
    if channel is not Channel.SMS:
        return
    for where, phones in contacts:
        if phones[0].type is not PhoneType.MOBILE:
            raise INVALID_ARGUMENT(message=f"{where or 'The contact'}: an SMS contact needs a mobilePhoneNumber.")
        if len(phones) > 1:
            raise INVALID_ARGUMENT(
                message=f"{where or 'The contact'}: only mobilePhoneNumber is allowed for SMS; "
                "remove businessPhoneNumber and homePhoneNumber."
            )


def parse_contact(
    item: Any,
    *,
    where: str,
    require_mobile: bool = False,
    label: Callable[[str], str] | None = None,
    names_required: bool = True,
) -> ContactRequest:
    """One contact, wherever it comes from (a Contacts item, the Simple action's flat parameters, a bulk item, a
    file row's columns keyed the same way): identifier, names, at least one phone, its columns, time zone,
    attributes and windows. Raises the first problem as the catalogued error.

    `where` names it in errors ("Contacts[0]"; "" for the flat parameters of CCaaS_CreateSimpleProactiveDelivery,
    which are then named as parameters) and `label` a key of it (default `_at(where, key)`; a file names its
    columns instead); `require_mobile`: the Simple and Bulk actions require mobilePhoneNumber (wire-facts A4, A5),
    once the contact has a phone at all; `names_required=False`: a file row may leave the names out (002_...: only
    UniqueIdentifier and a phone column are required). A bulk item's `zipCode` is `postalcode` (A5)."""
    name_of = label or (lambda name: _at(where, name))
    if not isinstance(item, dict):
        raise INVALID_ARGUMENT(message=f"{where} must be a contact object.")
    # The service reads the contact with a case-insensitive deserializer: the samples mix "start"/"Start".
    keys = {str(key).lower(): item_value for key, item_value in item.items()}
    if "zipcode" in keys:
        zip_code = keys.pop("zipcode")
        if zip_code is not None and keys.get("postalcode") is not None:
            raise INVALID_ARGUMENT(message=f"{_at(where, 'zipCode')} and postalCode are the same column: give one.")
        keys["postalcode"] = zip_code if zip_code is not None else keys.get("postalcode")

    def text(key: str, name: str) -> str | None:
        raw = keys.get(key)
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise INVALID_ARGUMENT(message=f"{name_of(name)} must be a string.")
        return raw.strip() or None

    unique_identifier = text("uniqueidentifier", "uniqueIdentifier")
    first_name = text("firstname", "firstName")
    last_name = text("lastname", "lastName")
    required = [("uniqueIdentifier", unique_identifier)]
    if names_required:
        required += [("firstName", first_name), ("lastName", last_name)]
    for name, present in required:
        if present is None:
            raise INVALID_ARGUMENT(message=f"{name_of(name)} is required.")
    assert unique_identifier is not None
    check_length(unique_identifier, attribute="msdyn_contact_id", entity="msdyn_proactive_delivery", limit=100)
    check_length(first_name, attribute="firstname", entity="contact", limit=50)
    check_length(last_name, attribute="lastname", entity="contact", limit=50)

    phones = []
    for key, (phone_type, column) in _PHONE_KEYS.items():
        number = text(key, phone_type.value[0].lower() + phone_type.value[1:])
        if number is not None:
            check_phone_number(number, parameter=name_of(phone_type.value[0].lower() + phone_type.value[1:]))
            check_length(number, attribute=column, entity="contact", limit=50)
            phones.append(Phone(phone_type, number))
    if not phones:
        mobile, business, home = (label(name) if label else name for name in PHONE_NAMES)
        raise INVALID_ARGUMENT(
            message=f"{where or 'The contact'} needs at least one of {mobile}, {business} or {home}."
        )
    if require_mobile and phones[0].type is not PhoneType.MOBILE:
        raise INVALID_ARGUMENT(message=f"{name_of('mobilePhoneNumber')} is required.")

    extras = {}
    for key, (column, limit) in _CONTACT_TEXT.items():
        extras[key] = text(key, key)
        check_length(extras[key], attribute=column, entity="contact", limit=limit)
    timezone = text("timezone", "timezone")
    check_length(timezone, attribute="timezone", entity="msdyn_proactive_delivery", limit=TIMEZONE_LIMIT)
    iana = resolve_timezone(timezone, parameter=name_of("timezone"))

    return ContactRequest(
        unique_identifier=unique_identifier,
        details=ContactDetails(
            first_name=first_name,
            last_name=last_name,
            email=extras["email"],
            postal_code=extras["postalcode"],
            state=extras["state"],
            country=extras["country"],
            address_line=extras["addressline"],
            city=extras["city"],
            timezone=timezone,
            iana=iana,
        ),
        phones=phones,
        attributes=parse_input_attributes(keys.get("inputattributes"), parameter=name_of("inputAttributes")),
        windows=parse_windows(keys.get("windows"), parameter=name_of("windows")),
    )


def _at(where: str, key: str) -> str:
    """Where a contact's key is, in errors: "Contacts[0].timezone", or the flat parameter ("TimeZone")."""
    return f"{where}.{key}" if where else _FLAT_NAMES.get(key, key[:1].upper() + key[1:])


_FLAT_NAMES = {"timezone": "TimeZone", "postalcode": "PostalCode", "addressline": "AddressLine"}
"""CCaaS_CreateSimpleProactiveDelivery's parameter for a contact key that is not that key capitalized (A4)."""
