"""Every error a client can cause, as data: HTTP status, Dataverse code and message template.

Codes and messages follow wire-facts E5-E7 and F; where Dataverse documents nothing for the CCaaS
actions (wire-facts A10), the closest platform error is used and the choice is noted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class DataverseError(Exception):
    """An error rendered as {"error": {"code", "message"}} with its HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class ErrorKind:
    """A catalogue entry; calling it with the template's fields makes the exception to raise."""

    status: int
    code: str
    template: str

    def __call__(self, **fields: Any) -> DataverseError:
        return DataverseError(self.status, self.code, self.template.format(**fields))


# --- request shape (OData layer) -------------------------------------------------------------
RESOURCE_NOT_FOUND = ErrorKind(404, "0x8006088a", "Resource not found for the segment '{segment}'.")
METHOD_NOT_ALLOWED = ErrorKind(
    405, "0x80060888", "The requested resource does not support http method '{method}'."
)
UNSUPPORTED_MEDIA_TYPE = ErrorKind(
    415,
    "0x80060888",
    "The request has a Content-Type of '{content_type}'; this operation accepts only 'application/json'.",
)
REQUEST_TOO_LARGE = ErrorKind(
    413, "0x80060888", "The request body is larger than the limit of {limit} bytes."
)
MALFORMED_JSON = ErrorKind(
    400,
    "0x80048d19",
    "Error identified in Payload provided by the user for Entity :'', For more information on this error "
    "please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : "
    "Microsoft.OData.ODataException: Invalid JSON. {detail}",
)
NOT_AN_OBJECT = ErrorKind(
    400, "0x80048d19", "The request body must be a JSON object of the action's parameters."
)
UNKNOWN_PARAMETER = ErrorKind(
    400,
    "0x80048d19",
    "The parameter '{name}' in the request payload is not a valid parameter for the operation '{action}'.",
)
WRONG_PARAMETER_TYPE = ErrorKind(
    400,
    "0x80048d19",
    "Invalid value for the parameter '{name}' of the operation '{action}': {problem}.",
)

# --- business rules of the actions -----------------------------------------------------------
REQUIRED_PARAMETER_MISSING = ErrorKind(400, "0x80040200", "Required parameter '{name}' is missing.")
INVALID_ARGUMENT = ErrorKind(400, "0x80040203", "{message}")
STRING_TOO_LONG = ErrorKind(
    400,
    "0x80044331",
    "A validation error occurred.  The length of the '{attribute}' attribute of the '{entity}' entity "
    "exceeded the maximum allowed length of '{limit}'.",
)
OBJECT_DOES_NOT_EXIST = ErrorKind(404, "0x80040217", "Entity '{entity}' With Id = {id} Does Not Exist")

# --- authentication and authorization (wire-facts E5, E7, F) ---------------------------------
# Dataverse's own code -> status map (CrmODataExceptionHandler, decompiled, public) sends 0x8004A100-A103,
# 0x8004A105 and a few others as 401; 0x8004A103 is InvalidAuthTicket, 0x8004A105 TamperedAuthTicket.
TOKEN_MISSING = ErrorKind(401, "0x8004A103", "The user is not authenticated: {detail}")
TOKEN_INVALID = ErrorKind(401, "0x8004A103", "The user is not authenticated: {detail}")
TOKEN_EXPIRED = ErrorKind(401, "0x8005F101", "The requested resource requires authentication. {detail}")
TOKEN_TAMPERED = ErrorKind(401, "0x8004A105", "The authentication ticket has been tampered with. {detail}")
# Seen verbatim in real Dataverse answers to a valid token of someone with no user row in the org.
USER_NOT_FOUND = ErrorKind(403, "0x80072560", "The user is not a member of the organization.")
USER_DISABLED = ErrorKind(403, "0x8004dc01", "The user with SystemUserId={user_id} is disabled.")
PRIVILEGE_DENIED = ErrorKind(
    403,
    "0x80040220",
    "Principal user (Id={user_id}, type=8, roleCount={role_count}) is missing the Omnichannel agent or "
    "Omnichannel supervisor role required to call {action}.",
)

# --- the emulator's control API -------------------------------------------------------------
CONTROL_UNAUTHORIZED = ErrorKind(
    401, "0x8004A103", "The emulator control API needs the bearer token set in CCAAS_CONTROL_TOKEN."
)

# --- the emulator itself ---------------------------------------------------------------------
INTERNAL_ERROR = ErrorKind(
    500,
    "0x80040216",
    "An unexpected error occurred. The emulator has logged it with request id {request_id}.",
)
SERVICE_UNAVAILABLE = ErrorKind(503, "0x80040216", "{message}")
