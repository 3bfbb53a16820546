"""uvicorn's HTTP/1.1 protocol (httptools), with limits on the request head and every refusal in the envelope.

A request line beyond what the parser takes (somewhere past 64 KB) or bytes that are not HTTP never
reach the app; uvicorn would answer them with a plain-text 400. Dataverse clients parse every error
body as {"error": {...}}, so these answers are rendered like every other error: 414 when the URL was
too long (wire-facts E9: 32 KB), 400 otherwise.

uvicorn bounds neither the header block nor the time a client may take to send it (issue 12: a 20 MiB
header block was answered 200; a connection that sent half a request stayed open for good). Here the header
fields are capped (limits.MAX_HEADER_BYTES, MAX_HEADER_COUNT: 431, then the connection is closed) and the
head must arrive within CCAAS_HEADER_TIMEOUT_SECONDS of the connection opening or of the request's first byte
(408 when part of it came, a silent close when nothing did).

An answer sent before the request's body was read (a 413 on Content-Length, a 401) is followed, on a
connection the server closes, by reading and dropping the rest of that body, up to twice CCAAS_MAX_BODY_BYTES:
closing with unread bytes makes the kernel reset the connection, and a client that writes its whole body before
reading then sees the reset instead of the answer (issue 12). On a kept-alive connection uvicorn's parser drops
the rest anyway; it is bounded here the same way.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ccaas_emulator.settings import get_settings
from ccaas_emulator.wire.errors import HEAD_TIMEOUT, HEADERS_TOO_LARGE, DataverseError
from ccaas_emulator.wire.limits import MAX_HEADER_BYTES, MAX_HEADER_COUNT, MAX_URL_BYTES
from ccaas_emulator.wire.responses import ODATA_JSON

# Raw bytes of an unfinished head beyond the fields' own: the request line's method and version, the CRLFs and the
# blanks around values that the parser strips (so a head just under the limit is never refused for its spacing).
_HEAD_SLACK_BYTES = 4096


class _LingeringTransport:
    """The connection's transport, whose close() first lets the protocol drain an unread request body."""

    def __init__(self, transport: asyncio.Transport, protocol: DataverseHttpToolsProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self._protocol.draining or self._transport.is_closing()

    def close(self) -> None:
        self._protocol.close_when_drained()


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; the refusal to send is in `_refusal`."""


class DataverseHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose parser-level refusals carry the Dataverse error envelope."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = get_settings().header_timeout_seconds
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: DataverseError | None = None
        self._in_message = False  # from a request's first byte to the end of its body
        self._reading_head = False  # from a request's first byte to the end of its headers
        self._messages_begun = 0
        self._head_bytes = 0  # raw bytes read while this request's head was unfinished
        self._field_bytes = 0  # the header fields parsed so far, as `name: value\r\n`
        self._field_count = 0
        settings = get_settings()
        self.drain_limit = 2 * settings.max_body_bytes
        self.draining = False
        self._dropped = 0  # body bytes read after the answer went out
        self._real_transport: asyncio.Transport | None = None
        self._lost = False

    # --- the head timer ----------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._real_transport = transport
        super().connection_made(_LingeringTransport(transport, self))  # type: ignore[arg-type]
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self.draining, self._lost = False, True
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.draining:
            self._close_now()  # the client stopped sending the body it was draining
            return
        if self.transport.is_closing() or self._refusal is not None:
            return
        if self._reading_head:
            self._refuse(HEAD_TIMEOUT(seconds=self.head_timeout))
        else:
            self.transport.close()  # nothing was sent: there is no one to answer

    # --- counting the head -----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.draining:
            self._drain(data)
            return
        if self._refusal is not None:
            return  # refused and closing: what else arrives is not parsed
        if self._answered_before_body_end():
            self._dropped += len(data)
            if self._dropped > self.drain_limit:
                self._close_now()  # kept alive, but the rest of this body is more than is worth reading
                return
        was_idle, begun = not self._in_message, self._messages_begun
        super().data_received(data)
        if self._refusal is not None or self.transport.is_closing() or not self._reading_head:
            return
        fresh = self._messages_begun - begun
        if fresh == 0 or (fresh == 1 and was_idle):
            self._head_bytes += len(data)  # every byte of this read belongs to the unfinished head
        # else the end of a previous request's body shared this read: this head is counted from the next read on
        if self._head_bytes > MAX_HEADER_BYTES + len(self.url) + _HEAD_SLACK_BYTES:
            self._refuse(self._too_large(f"more than {self._head_bytes} bytes without the end of the headers"))

    def on_message_begin(self) -> None:
        if self.draining:
            raise _Refused  # the drained body has ended and another request follows: it is not served
        super().on_message_begin()
        self._in_message = self._reading_head = True
        self._messages_begun += 1
        self._head_bytes = self._field_bytes = self._field_count = self._dropped = 0
        self._arm_head_timer()

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._field_count += 1
        self._field_bytes += len(name) + len(value) + 4
        if self._field_count > MAX_HEADER_COUNT:
            self._refusal = self._too_large(f"more than {MAX_HEADER_COUNT} fields")
            raise _Refused
        if self._field_bytes > MAX_HEADER_BYTES:
            self._refusal = self._too_large(f"more than {self._field_bytes} bytes of fields")
            raise _Refused

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_message = False
        super().on_message_complete()

    @staticmethod
    def _too_large(detail: str) -> DataverseError:
        return HEADERS_TOO_LARGE(detail=detail, limit_bytes=MAX_HEADER_BYTES, limit_count=MAX_HEADER_COUNT)

    # --- draining an unread body before closing ---------------------------------------------------------------

    def _answered_before_body_end(self) -> bool:
        cycle = self.cycle
        return self._in_message and not self._reading_head and cycle is not None and cycle.response_complete

    def close_when_drained(self) -> None:
        """What uvicorn's transport.close() does here: close, unless the answered request's body is still coming."""
        if self.draining:
            return
        unread = self._answered_before_body_end() and self._dropped <= self.drain_limit
        if unread and not self._lost and self._refusal is None:
            self.draining = True
            self.flow.resume_reading()  # uvicorn may have paused reading while the app had not read the body
            self._cancel_head_timer()
            self._arm_head_timer()  # the rest of the body must keep coming: same deadline as a head
            return
        self._close_now()

    def _drain(self, data: bytes) -> None:
        self._dropped += len(data)
        if self._dropped > self.drain_limit:
            self._close_now()
            return
        try:
            self.parser.feed_data(data)  # only to see where the body ends; uvicorn drops what it parses now
        except httptools.HttpParserError:
            self._close_now()
            return
        if not self._in_message:
            self._close_now()

    def _close_now(self) -> None:
        self.draining = False
        self._cancel_head_timer()
        if self._real_transport is not None:
            self._real_transport.close()

    # --- refusals ---------------------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to whatever its parser refused, including the refusals raised from our callbacks."""
        if self._refusal is not None:
            error = self._refusal
            self._refusal = None
        elif len(getattr(self, "url", b"")) > MAX_URL_BYTES:
            error = DataverseError(
                414, "0x80060888", f"The request URL is longer than the limit of {MAX_URL_BYTES} characters."
            )
        else:
            error = DataverseError(400, "0x80060888", "The request is not valid HTTP/1.1.")
        self._refuse(error)

    def _refuse(self, error: DataverseError) -> None:
        """Send `error` in the envelope with Connection: close, and close: nothing more is read."""
        self._refusal = error
        self._cancel_head_timer()
        body = orjson.dumps({"error": {"code": error.code, "message": error.message}})
        content = [f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n".encode("ascii")]
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
        self._close_now()
