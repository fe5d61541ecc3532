"""`read_limited`: size and time limits on request bodies, read from the ASGI messages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pytest
from starlette.requests import Request

from footfall.api.body import read_limited
from footfall.errors import BadRequest, PayloadTooLarge, RequestTimeout


def request(
    messages: Iterable[dict[str, Any]], headers: list[tuple[bytes, bytes]] | None = None
) -> Request:
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await asyncio.Event().wait()  # a client that sends nothing more
        raise AssertionError

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers or []}
    return Request(scope, receive)


def body(data: bytes, more: bool = False) -> dict[str, Any]:
    return {"type": "http.request", "body": data, "more_body": more}


async def test_chunks_are_joined() -> None:
    got = await read_limited(request([body(b'{"a"', True), body(b":1}")]), 100, 5)
    assert got == b'{"a":1}'


async def test_one_chunk_is_returned_as_is() -> None:
    assert await read_limited(request([body(b"{}")]), 100, 5) == b"{}"


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    never_read = request([], [(b"content-length", b"101")])
    with pytest.raises(PayloadTooLarge, match="larger than 100 bytes"):
        await read_limited(never_read, 100, 5)


async def test_an_undeclared_body_over_the_limit_is_refused_as_it_grows() -> None:
    # The third chunk is never asked for: the limit is passed at the second.
    chunks = [body(b"x" * 60, True), body(b"x" * 60, True), body(b"x", False)]
    req = request(chunks)
    with pytest.raises(PayloadTooLarge):
        await read_limited(req, 100, 5)


async def test_an_invalid_content_length_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="Invalid Content-Length"):
        await read_limited(request([body(b"{}")], [(b"content-length", b"ten")]), 100, 5)


async def test_a_client_that_leaves_mid_body_gets_a_4xx() -> None:
    req = request([body(b"{", True), {"type": "http.disconnect"}])
    with pytest.raises(BadRequest, match="disconnected before sending the whole body"):
        await read_limited(req, 100, 5)


async def test_an_empty_body_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="empty"):
        await read_limited(request([body(b"")]), 100, 5)


async def test_a_body_that_stops_arriving_times_out() -> None:
    with pytest.raises(RequestTimeout, match=r"within 0\.05 seconds"):
        await read_limited(request([body(b"{", True)]), 100, 0.05)
