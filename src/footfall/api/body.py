"""Reading a request body under a size limit and a time limit, without buffering more than
the size limit, and without letting a client that trickles its body hold the request open."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from footfall.errors import BadRequest, PayloadTooLarge, RequestTimeout


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                raise BadRequest("Invalid Content-Length header") from None
    return None


async def read_limited(request: Request, limit: int, time_limit: float) -> bytes:
    """The body; `PayloadTooLarge` as soon as it is known to exceed `limit` bytes,
    `RequestTimeout` if it has not fully arrived within `time_limit` seconds.

    Reads the ASGI messages itself (not `Request.stream`, whose async generator and header
    parsing cost more than the rest of this on the ingestion path): the caller must not read
    the body another way afterwards.
    """
    declared = _declared_length(request.scope["headers"])
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    receive = request.receive
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(time_limit):
            while True:
                message = await receive()
                if message["type"] != "http.request":  # http.disconnect
                    # Nobody is left to answer; a 4xx keeps it out of the error log.
                    raise BadRequest("The client disconnected before sending the whole body")
                chunk: bytes = message.get("body", b"")
                if chunk:
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise RequestTimeout(
            f"The request body did not arrive within {time_limit:g} seconds"
        ) from None
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if not body:
        raise BadRequest("Request body is empty; send a JSON object")
    return body
