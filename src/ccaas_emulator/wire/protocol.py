"""uvicorn's HTTP/1.1 protocol (httptools), with the requests its parser refuses answered in the envelope.

A request line beyond what the parser takes (somewhere past 64 KB) or bytes that are not HTTP never
reach the app; uvicorn would answer them with a plain-text 400. Dataverse clients parse every error
body as {"error": {...}}, so these answers are rendered like every other error: 414 when the URL was
too long (wire-facts E9: 32 KB), 400 otherwise.
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ccaas_emulator.wire.errors import DataverseError
from ccaas_emulator.wire.limits import MAX_URL_BYTES
from ccaas_emulator.wire.responses import ODATA_JSON

_STATUS_LINES = {400: b"HTTP/1.1 400 Bad Request\r\n", 414: b"HTTP/1.1 414 URI Too Long\r\n"}


class DataverseHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose parser-level refusals carry the Dataverse error envelope."""

    def send_400_response(self, msg: str) -> None:
        url_length = len(getattr(self, "url", b""))
        if url_length > MAX_URL_BYTES:
            error = DataverseError(
                414, "0x80060888", f"The request URL is longer than the limit of {MAX_URL_BYTES} characters."
            )
        else:
            error = DataverseError(400, "0x80060888", "The request is not valid HTTP/1.1.")
        body = orjson.dumps({"error": {"code": error.code, "message": error.message}})
        content = [_STATUS_LINES[error.status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: " + ODATA_JSON.encode() + b"\r\n",
                b"odata-version: 4.0\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
