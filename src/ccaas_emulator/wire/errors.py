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
METHOD_NOT_ALLOWED = ErrorKind(405, "0x80060888", "The requested resource does not support http method '{method}'.")
UNSUPPORTED_MEDIA_TYPE = ErrorKind(
    415,
    "0x80060888",
    "The request has a Content-Type of '{content_type}'; this operation accepts only 'application/json'.",
)
REQUEST_TOO_LARGE = ErrorKind(413, "0x80060888", "The request body is larger than the limit of {limit} bytes.")
MALFORMED_JSON = ErrorKind(
    400,
    "0x80048d19",
    "Error identified in Payload provided by the user for Entity :'', For more information on this error "
    "please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : "
    "Microsoft.OData.ODataException: Invalid JSON. {detail}",
)
NOT_AN_OBJECT = ErrorKind(400, "0x80048d19", "The request body must be a JSON object of the action's parameters.")
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

# --- the Web API's query options and entity sets (wire-facts E7, E9) ---------------------------
QUERY_OPTION_NOT_SUPPORTED = ErrorKind(400, "0x80060888", "The query parameter {option} is not supported")
# Captured from live orgs for $skip (research notes); $search and $format have no capture.
SKIP_NOT_SUPPORTED = ErrorKind(400, "0x80060888", "Skip Clause is not supported in CRM")
QUERY_OPTION_REPEATED = ErrorKind(
    400, "0x80060888", "Query option '{option}' was specified more than once, but it must be specified at most once."
)
QUERY_SYNTAX = ErrorKind(400, "0x80060888", "Syntax error at position {position} in '{text}'.")
INVALID_TOP = ErrorKind(
    400,
    "0x80060888",
    "Invalid value '{value}' for $top query option found. The $top query option requires a non-negative integer value.",
)
INVALID_COUNT = ErrorKind(400, "0x80060888", "'{value}' is not a valid count option.")
PROPERTY_NOT_FOUND = ErrorKind(
    400, "0x80060888", "Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{entity}'."
)
INCOMPATIBLE_OPERANDS = ErrorKind(
    400,
    "0x80060888",
    "A binary operator with incompatible types was detected. Found operand types '{left}' and '{right}' for "
    "operator kind '{operator}'.",
)
UNKNOWN_FUNCTION = ErrorKind(
    400,
    "0x80060888",
    "An unknown function with name '{name}' was found. This may also be a function import or a key lookup "
    "on a navigation property, which is not allowed.",
)
FILTER_NOT_SUPPORTED = ErrorKind(400, "0x80060888", "{what} is not supported in $filter.")
FILTER_TOO_COMPLEX = ErrorKind(400, "0x80060888", "The $filter expression is too complex: it exceeds {limit}.")
INVALID_SKIPTOKEN = ErrorKind(
    400, "0x80060888", "The $skiptoken is not valid for this query; use the @odata.nextLink of a response as is."
)
INVALID_KEY = ErrorKind(400, "0x80060888", "Unrecognized 'Edm.Guid' literal '{key}' in the key of '{entity_set}'.")
URI_TOO_LONG = ErrorKind(414, "0x80060888", "The request URL is {length} characters long; the limit is {limit}.")
PRECONDITION_FAILED = ErrorKind(
    412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided."
)
NULL_NOT_ALLOWED = ErrorKind(400, "0x80040200", "Attribute '{name}' cannot be set to NULL")
RECORD_EXISTS = ErrorKind(412, "0x80040237", "A record with matching key values already exists.")
UNDECLARED_PROPERTY = ErrorKind(
    400,
    "0x80048d19",
    "Error identified in Payload provided by the user for Entity :'{entity_set}', For more information on "
    "this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ---->  "
    "InnerException : Microsoft.Crm.CrmException: Invalid property '{name}' was found in entity "
    "'Microsoft.Dynamics.CRM.{entity}'. ---> Microsoft.OData.ODataException: Does not support untyped value "
    "in non-open type.",
)
PAYLOAD_VALUE = ErrorKind(
    400,
    "0x80048d19",
    "Error identified in Payload provided by the user for Entity :'{entity_set}', For more information on "
    "this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> "
    "InnerException : Microsoft.OData.ODataException: Cannot convert the literal '{value}' to the expected "
    "type '{edm}'.",
)
OPTION_OUT_OF_RANGE = ErrorKind(
    400,
    "0x8004431a",
    "A validation error occurred. The value {value} of '{attribute}' on record of type '{entity}' is outside "
    "the valid range. Accepted Values: {accepted}",
)
VALUE_OUT_OF_RANGE = ErrorKind(
    400,
    "0x80044330",
    "A validation error occurred. The value {value} of '{attribute}' on record of type '{entity}' is outside "
    "the valid range. Minimum: {minimum}, Maximum: {maximum}.",
)
INVALID_STATUS = ErrorKind(
    400,
    "0x8004431a",
    "{status} is not a valid status code for state code {state} on {entity} with Id {id}.",
)
INVALID_BIND = ErrorKind(
    400,
    "0x80048d19",
    "Error identified in Payload provided by the user for Entity :'{entity_set}', For more information on "
    "this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> "
    "InnerException : Microsoft.OData.ODataException: {detail}",
)
# Real answers also name the privilege count, access mode and business unit (research notes, 2026).
TABLE_PRIVILEGE_DENIED = ErrorKind(
    403,
    "0x80040220",
    "Principal user (Id={user_id}, type=8, roleCount={role_count}, accessMode='0 Read-Write', "
    "AADObjectId='{object_id}'), is missing {privilege} privilege (Id={privilege_id}) on OTC={otc} for entity "
    "'{entity}' (LocalizedName='{display_name}'). context.Caller={user_id}. Consider adding missed privilege "
    "to one of the principal (user/team) roles.",
)
METADATA_MEDIA_TYPE = ErrorKind(
    415,
    "0x80060888",
    "A supported MIME type could not be found that matches the acceptable MIME types for the request. The "
    "supported type(s) 'application/xml' do not match any of the acceptable MIME types '{accept}'.",
)
EXPAND_NOT_SUPPORTED = ErrorKind(400, "0x80060888", "{what}")
BATCH_INVALID = ErrorKind(400, "0x80060888", "The batch request is not valid: {detail}.")

# --- query parameters without a `$` (issue 15): refused, never ignored; words ours, code as for other options ---
SQL_NOT_SUPPORTED = ErrorKind(
    400,
    "0x80060888",
    "The query parameter 'sql' (Dataverse's SQL endpoint, TDS read-only queries) is not supported by the emulator; "
    "query with $filter or fetchXml instead.",
)
STORED_QUERY_NOT_SUPPORTED = ErrorKind(
    400,
    "0x80060888",
    "The query parameter '{name}' runs a saved view from the {table} table, which the emulator does not have; "
    "query with $filter or fetchXml instead.",
)
CUSTOM_PARAMETER_NOT_SUPPORTED = ErrorKind(
    400,
    "0x80060888",
    "The query parameter '{name}' is not supported. Query options start with '$', parameter aliases with '@'; "
    "{allowed}",
)

# --- table definitions (EntityDefinitions): the platform's QueryBuilder codes and words ----------------------
ENTITY_NOT_IN_METADATA = ErrorKind(
    404,
    "0x80041102",
    "The entity with a name = '{name}' with namemapping = 'Logical' was not found in the MetadataCache.",
)
ATTRIBUTE_NOT_IN_METADATA = ErrorKind(
    404,
    "0x80041103",
    "'{entity}' entity doesn't contain attribute with Name = '{name}' and NameMapping = 'Logical'.",
)
METADATA_KEY_INVALID = ErrorKind(
    400, "0x80060888", "The key '{key}' of {segment} must be a MetadataId (a GUID) or LogicalName='<name>'."
)

# --- FetchXML (fetchXml=): QueryBuilder's codes where known (0x80041102/0x80041103); InvalidArgument otherwise --
FETCH_INVALID = ErrorKind(400, "0x80040203", "The FetchXML is not valid: {detail}")
FETCH_NO_ATTRIBUTE = ErrorKind(
    400,
    "0x80041103",
    "'{entity}' entity doesn't contain attribute with Name = '{name}' and NameMapping = 'Logical'.",
)
FETCH_NO_ENTITY = ErrorKind(
    400,
    "0x80041102",
    "The entity with a name = '{name}' with namemapping = 'Logical' was not found in the MetadataCache.",
)
FETCH_NOT_SUPPORTED = ErrorKind(400, "0x80040203", "{what} is not supported by the emulator's FetchXML.")
FETCH_WITH_QUERY_OPTIONS = ErrorKind(
    400,
    "0x80060888",
    "The fetchXml query parameter cannot be combined with the query option {option}: put the whole query in the "
    "FetchXML.",
)

# --- CreateMultiple / UpdateMultiple / UpsertMultiple (bound actions on the writable entity sets) ---------------
TARGETS_MISSING = ErrorKind(
    400, "0x80040200", "Required parameter 'Targets' is missing: {action} takes {{\"Targets\": [ ... ]}}."
)
TARGETS_TOO_MANY = ErrorKind(
    400, "0x80040203", "{action} accepts at most {limit} targets in one request; this one has {count}."
)
TARGET_WRONG_TYPE = ErrorKind(
    400,
    "0x80040203",
    "This entity cannot be added to the specified collection. The collection can have entities with PlatformName "
    "= {expected} while this entity has Platform Name: {found}",
)
TARGET_WITHOUT_ID = ErrorKind(400, "0x80040203", "Entity Id must be specified for {operation}")

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
# Impersonation (wire-facts E2, E5): 0x8004A110 is CannotActOnBehalfOfAnotherUser in Dataverse's error list, with its
# documented message; a systemuserid that names no user is ObjectDoesNotExist, as any missing record.
CANNOT_ACT_ON_BEHALF = ErrorKind(403, "0x8004A110", "User does not have the privilege to act on behalf another user.")
IMPERSONATED_USER_NOT_FOUND = ErrorKind(404, "0x80040217", "systemuser With Id = {user_id} Does Not Exist")
INVALID_IMPERSONATION_HEADER = ErrorKind(400, "0x80040203", "The {header} header must be a GUID.")
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
# AccessDenied (wire-facts F: 0x80048405, 403); the message is ours. Issue 12: DNS rebinding and cross-site forms.
CONTROL_HOST_REFUSED = ErrorKind(
    403,
    "0x80048405",
    "Access is denied. The emulator control API answers only to localhost, 127.0.0.0/8, [::1] and the host of "
    "CCAAS_HOST or CCAAS_ORG_URL ({allowed}); this request was sent to Host '{host}'.",
)
CONTROL_CROSS_SITE_REFUSED = ErrorKind(
    403,
    "0x80048405",
    "Access is denied. The emulator control API refuses requests from web pages of another origin ({detail}).",
)

# --- service protection limits (wire-facts E7, E13: codes and messages as documented, numbers as configured) ------
REQUEST_LIMIT_EXCEEDED = ErrorKind(
    429, "0x80072322", "Number of requests exceeded the limit of {limit} over time window of {window} seconds."
)
EXECUTION_TIME_EXCEEDED = ErrorKind(
    429,
    "0x80072321",
    "Combined execution time of incoming requests exceeded limit of {limit:,} milliseconds over time window of "
    "{window} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.",
)
CONCURRENCY_LIMIT_EXCEEDED = ErrorKind(
    429, "0x80072326", "Number of concurrent requests exceeded the limit of {limit}."
)
# Injected by POST /emulator/v1/faults. 500 is Dataverse's generic UnExpected error (0x80040216, as INTERNAL_ERROR);
# the 503's code and words are ours (no captured Dataverse 503 body).
INJECTED_SERVER_ERROR = ErrorKind(500, "0x80040216", "An unexpected error occurred.")
INJECTED_UNAVAILABLE = ErrorKind(
    503, "0x80040216", "The service is temporarily unavailable. Try again after a short wait."
)
# --- "Run from file" uploads (/emulator/v1/engagements/{id}/files; 002_... File upload) ------------
# The admin center's own answers are not documented; these follow the platform's: 415 and 413 as for a body the
# Web API cannot take, 400 0x80040203 (InvalidArgument) for a file it cannot read or whose columns are missing.
UPLOAD_UNSUPPORTED_MEDIA_TYPE = ErrorKind(
    415,
    "0x80060888",
    "The request has a Content-Type of '{content_type}'; a file upload accepts only 'text/csv' (UTF-8), or "
    "'multipart/form-data' with the CSV file in its 'file' field.",
)
UPLOAD_TOO_LARGE = ErrorKind(
    413,
    "0x80060888",
    "The file is larger than the limit of {limit} bytes (CCAAS_UPLOAD_MAX_BYTES). Nothing was stored.",
)
UPLOAD_STALLED = ErrorKind(
    408,
    "0x80060888",
    "The upload sent nothing for {seconds:g} seconds (CCAAS_UPLOAD_IDLE_SECONDS). Nothing was stored.",
)
NOT_A_CSV_FILE = ErrorKind(400, "0x80040203", "The file is not a CSV file: {detail} Nothing was stored.")
MISSING_COLUMNS = ErrorKind(400, "0x80040203", "The file is missing required columns: {columns}. Nothing was stored.")

# --- the emulator itself ---------------------------------------------------------------------
INTERNAL_ERROR = ErrorKind(
    500,
    "0x80040216",
    "An unexpected error occurred. The emulator has logged it with request id {request_id}.",
)
SERVICE_UNAVAILABLE = ErrorKind(503, "0x80040216", "{message}")

# --- duplicate names in a JSON body (Microsoft.OData.Core's reader messages; the 0x80048d19 wrapping is ours) ----
DUPLICATE_PARAMETER = ErrorKind(
    400,
    "0x80048d19",
    "Error identified in Payload provided by the user for Entity :'', For more information on this error "
    "please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : "
    "Microsoft.OData.ODataException: Multiple parameters with the name '{name}' were found in the request payload.",
)
DUPLICATE_PROPERTY = ErrorKind(
    400,
    "0x80048d19",
    "Error identified in Payload provided by the user for Entity :'', For more information on this error "
    "please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : "
    "Microsoft.OData.ODataException: Multiple properties with the name '{name}' were detected in an entry or a "
    "complex value. In OData, duplicate property names are not allowed.",
)

# --- the database in trouble (issue 12): 503 + Retry-After, not 500 --------------------------------
# Dataverse's codes for the same troubles (Microsoft Learn, "Troubleshoot Dataverse bulk operation errors"):
# 0x80044150 (-2147204784) "Generic SQL error." and 0x80044151 (-2147204783) "SQL timeout expired.". The 503
# status, the Retry-After header and the words after the first sentence are ours.
DATABASE_UNAVAILABLE = ErrorKind(
    503,
    "0x80044150",
    "Generic SQL error. The database cannot serve requests now ({detail}); retry after {retry_after} seconds.",
)
DATABASE_BUSY = ErrorKind(
    503,
    "0x80044151",
    "SQL timeout expired. The database is busy ({detail}); retry after {retry_after} seconds.",
)

# --- the request head, refused by the HTTP protocol before any app sees it (issue 12; limits and words ours) ----
HEADERS_TOO_LARGE = ErrorKind(
    431,
    "0x80060888",
    "The request's header fields are too large: {detail}; the limits are {limit_bytes} bytes and {limit_count} fields.",
)
HEAD_TIMEOUT = ErrorKind(
    408, "0x80060888", "The request's headers did not arrive within {seconds:g} seconds; the connection is closed."
)
