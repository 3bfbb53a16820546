"""OData JSON responses: compact JSON (orjson), the Dataverse content type and the error envelope."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from ccaas_emulator.wire.errors import DataverseError

ODATA_JSON = "application/json; odata.metadata=minimal"


class ODataJSONResponse(Response):
    """A JSON body rendered the way Dataverse renders it: compact, UTF-8, odata.metadata=minimal."""

    media_type = ODATA_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: DataverseError) -> ODataJSONResponse:
    """The envelope {"error": {"code", "message"}} every client-caused failure uses (wire-facts E6)."""
    headers = error.headers
    if error.status >= 500:
        # uvicorn closes the connection after a response that raised on its way out (Starlette's last-resort
        # handler re-raises); saying so lets a keep-alive client open a new one instead of writing into it.
        headers = {**headers, "Connection": "close"}
    return ODataJSONResponse(
        {"error": {"code": error.code, "message": error.message}},
        status_code=error.status,
        headers=headers,
    )


def no_content() -> Response:
    """204: an operation that returns nothing (wire-facts E8)."""
    return Response(status_code=204)
