"""uvicorn's httptools protocol with limits on the request head: its size and its time.

uvicorn bounds neither (measured: a 125 MiB header line was read into memory and answered;
a connection that sends nothing, or one header byte every few seconds, is kept forever). A
public analytics endpoint meets such clients, so every request head here must

- arrive within `head_timeout` seconds of the connection opening, or of the first byte of the
  next request on a kept-alive connection; after that the connection is closed (with a 408
  when part of a request had arrived);
- stay within `max_head_bytes` (request line and headers); beyond that the answer is 431 and
  the connection is closed — at most one socket read (≤ 256 KiB) past the limit is buffered.

A refusal is a *lingering close* (as nginx does it): the answer is sent, the sending side shut
down, and whatever the client still sends is discarded for up to `LINGER_SECONDS` before the
socket is closed. Closing at once with unread bytes in the socket would make the kernel reset
the connection, and the client would lose the answer.

Bodies are the application's to bound: `api.body.read_limited` limits their size and time.
Idle kept-alive connections are closed by uvicorn's own `timeout_keep_alive`.

The limits are module settings, set from `Settings` by `configure` — in every worker process
too, since `app.app_from_environment` calls it there — because uvicorn builds protocol
instances itself, from a class it may have to pickle to start workers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from footfall.config import Settings

_limits = {"head_timeout": 10.0, "max_head_bytes": 32_768}

LINGER_SECONDS = 2.0
"""How long a refused connection's further input is read and discarded before closing."""


def configure(settings: Settings) -> None:
    """Take the head limits from the settings (for the protocols built from now on)."""
    _limits["head_timeout"] = settings.request_head_timeout_seconds
    _limits["max_head_bytes"] = settings.max_request_head_bytes


def _response(status: bytes, message: bytes) -> bytes:
    body = b'{"error":"' + message + b'"}'
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\nconnection: close\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


_TIMEOUT = _response(b"408 Request Timeout", b"The request headers took too long to arrive")
_TOO_LARGE = _response(
    b"431 Request Header Fields Too Large", b"The request line and headers are too large"
)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol`, closing connections whose request head is too slow or too large."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timeout = _limits["head_timeout"]
        self._max_head_bytes = int(_limits["max_head_bytes"])
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._reading_head = False
        self._request_begun = False  # a byte of the current request has arrived
        self._discarding = False  # refused: input is read and dropped until the close

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        if self._reading_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if (
            self._reading_head
            and self._head_bytes > self._max_head_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(_TOO_LARGE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._reading_head:  # the next request on a kept-alive connection
            self._start_head()
        self._request_begun = True

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._stop_head_timer()
        super().on_headers_complete()

    def _start_head(self) -> None:
        self._reading_head = True
        self._request_begun = False
        self._head_bytes = 0
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self._head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._reading_head and not self.transport.is_closing():
            if self._request_begun:
                self._refuse(_TIMEOUT)
            else:
                self.transport.close()  # nothing was asked: just hang up

    def _refuse(self, response: bytes) -> None:
        """Answer (unless an earlier request's response is still being sent), then close
        lingering: shut down sending, drop further input, close after `LINGER_SECONDS`."""
        self._reading_head = False
        self._stop_head_timer()
        transport = self.transport
        if self.cycle is not None and not self.cycle.response_complete:
            transport.close()
            return
        transport.write(response)
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self._discarding = True
        self.loop.call_later(LINGER_SECONDS, transport.close)
