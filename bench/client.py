"""A small exact-count HTTP/1.1 client (asyncio streams, keep-alive) for the durability check.

wrk stops at a deadline and abandons the requests then in flight, whose events the server may
still commit; that makes "stored events == accepted answers" unverifiable for its runs. This
client sends exactly `len(requests)` requests over `connections` keep-alive connections and
awaits every answer, so after it the two numbers must be equal. Bounded: a fixed request
count and an overall timeout; loopback only.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.payloads import EVENT_ID_SLOT
from bench.wrk import RawRequest


def encode(request: RawRequest, host: str) -> bytes:
    """The request as bytes on the wire (keep-alive, Content-Length); a fresh event id in the
    body's `EVENT_ID_SLOT`, as replay.lua does."""
    body = request.body.replace(EVENT_ID_SLOT, uuid.uuid4().hex[:16]).encode()
    lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    if body or request.method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class ExactResult:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    marked: int = 0
    seconds: float = 0.0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _replay(
    host: str, port: int, wire: Sequence[bytes], connections: int, marker: bytes
) -> ExactResult:
    result = ExactResult()
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next_index < len(wire):
                payload = wire[next_index]
                next_index += 1
                writer.write(payload)
                status, body = await _read_response(reader)
                result.requests += 1
                result.statuses[status] += 1
                if marker and marker in body:
                    result.marked += 1
        finally:
            writer.close()
            await writer.wait_closed()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    result.seconds = time.monotonic() - started
    return result


def replay_exact(
    host: str,
    port: int,
    requests: Sequence[RawRequest],
    *,
    connections: int,
    marker: str = "",
    timeout: float = 120.0,
) -> ExactResult:
    """Send every request once and wait for every answer (or fail after `timeout` seconds)."""
    wire = [encode(r, f"{host}:{port}") for r in requests]
    return asyncio.run(
        asyncio.wait_for(_replay(host, port, wire, connections, marker.encode()), timeout)
    )
