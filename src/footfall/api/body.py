"""Reading a request body under a size limit and a time limit, without buffering more than
the size limit, and without letting a client that trickles its body hold the request open."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request

from footfall.errors import BadRequest, PayloadTooLarge, RequestTimeout


async def read_limited(request: Request, limit: int, time_limit: float) -> bytes:
    """The body; `PayloadTooLarge` as soon as it is known to exceed `limit` bytes,
    `RequestTimeout` if it has not fully arrived within `time_limit` seconds."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        except ValueError:
            raise BadRequest("Invalid Content-Length header") from None
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(time_limit):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(
            f"The request body did not arrive within {time_limit:g} seconds"
        ) from None
    except ClientDisconnect:
        # Nobody is left to answer; a 4xx keeps it out of the error log.
        raise BadRequest("The client disconnected before sending the whole body") from None
    body = b"".join(chunks)
    if not body:
        raise BadRequest("Request body is empty; send a JSON object")
    return body
