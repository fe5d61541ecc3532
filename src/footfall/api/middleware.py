"""Request context: request id, one structured access-log line, and the last-resort 500.

A pure ASGI middleware (Starlette's `BaseHTTPMiddleware` costs a task per request on the hot
paths). Any exception escaping a handler is logged with the request id and answered with the
spec's generic `{"error": "Internal server error"}` — no stack trace reaches the client.
"""

from __future__ import annotations

import logging
import random
import re
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from footfall.api.responses import INTERNAL_ERROR
from footfall.logs import request_id_var

log = logging.getLogger("footfall.access")
error_log = logging.getLogger("footfall.errors")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# On every answer unless the handler chose its own: no MIME sniffing (a JSON body or a script
# is never run as something else), and no Referer sent from anything this server serves.
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
_ERROR_BODY = orjson.dumps({"error": INTERNAL_ERROR})


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            # A token is a valid-looking id too: never log or echo one.
            if _VALID_REQUEST_ID.match(candidate) and "vt_" not in candidate:
                return candidate
            break
    # 128 bits from the interpreter's generator: ids only need to be unique, not secret, and
    # this function (with os.urandom's system call) was 5-7 % of a realtime request's samples
    # in the server. `random` reseeds itself in a forked child: workers never share a sequence.
    return f"{random.getrandbits(128):032x}"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        reset = request_id_var.set(request_id)
        started = time.perf_counter()
        state = {"status": 0}
        raw_id = request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", raw_id)]
                present = {name for name, _ in headers}
                headers.extend(h for h in _SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception(
                "unhandled error", extra={"method": scope["method"], "path": scope["path"]}
            )
            if state["status"]:
                raise  # the response already started; the server closes the connection
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(_ERROR_BODY)).encode()),
                        (b"access-control-allow-origin", b"*"),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _ERROR_BODY})
        finally:
            if self.access_log:
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": state["status"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id_var.reset(reset)
