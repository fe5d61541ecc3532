"""Reading a request body under a size limit, without buffering more than the limit."""

from __future__ import annotations

from starlette.requests import Request

from footfall.errors import BadRequest, PayloadTooLarge


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, or `PayloadTooLarge` as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        except ValueError:
            raise BadRequest("Invalid Content-Length header") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise BadRequest("Request body is empty; send a JSON object")
    return body
