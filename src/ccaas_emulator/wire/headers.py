"""Headers every Dataverse response carries: OData-Version, REQ_ID and the service request id."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccaas_emulator.ids import new_uuid

REQUEST_ID_SCOPE_KEY = "ccaas.request_id"
_NO_CACHE = (b"cache-control", b"no-cache")


class DataverseHeadersMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware) stamping the wire-facts E4 headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(new_uuid())
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        stamp = request_id.encode()
        # dataverse_headers(request_id), encoded: the same names, values and order.
        extra = [(b"odata-version", b"4.0"), (b"req_id", stamp), (b"x-ms-service-request-id", stamp), _NO_CACHE]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                if message["status"] >= 500 and b"connection" not in present:
                    # After a server error the connection's state is not to be trusted: uvicorn closes it, and
                    # says so only when this header is there (issue 12: unannounced closes lost the next request).
                    headers.append((b"connection", b"close"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def dataverse_headers(request_id: str) -> dict[str, str]:
    """The headers of every answer; also for the last-resort 500, which Starlette renders outside this middleware."""
    return {
        "odata-version": "4.0",
        "req_id": request_id,
        "x-ms-service-request-id": request_id,
        "cache-control": "no-cache",
    }


def request_id_of(scope: Scope) -> str:
    """The id stamped on this request's REQ_ID header (for logs and 500 bodies)."""
    return str(scope.get(REQUEST_ID_SCOPE_KEY, ""))
