"""Reading a server-sent events stream in tests, as `EventSource` parses it.

`SseStream` wraps a streaming httpx response: `next_event()` returns the next dispatched event
(`id`, `data`, `retry` fields; comments are kept apart), with a deadline on every read.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class SseEvent:
    id: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        assert self.data is not None
        return json.loads(self.data)


class StreamEnded(Exception):
    """The server ended the response."""


class SseStream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.comments: list[str] = []  # every comment seen (heartbeats)

    async def _line(self, timeout: float) -> str:
        try:
            async with asyncio.timeout(timeout):
                return await anext(self._lines)
        except StopAsyncIteration:
            raise StreamEnded from None

    async def next_block(self, timeout: float = 5.0) -> SseEvent:
        """The next block up to a blank line (an event, or only comments / retry)."""
        event = SseEvent()
        while True:
            line = await self._line(timeout)
            if line == "":
                if event.data is not None or event.retry is not None or event.comments:
                    return event
                continue
            if line.startswith(":"):
                event.comments.append(line[1:].strip())
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                event.data = value if event.data is None else event.data + "\n" + value
            elif name == "id":
                event.id = value
            elif name == "retry":
                event.retry = int(value)

    async def next_event(self, timeout: float = 5.0) -> SseEvent:
        """The next event carrying data (heartbeat comments are skipped, and recorded)."""
        while True:
            block = await self.next_block(timeout)
            if block.data is not None:
                return block

    async def ended(self, timeout: float = 5.0) -> bool:
        """True once the server ends the stream (events still arriving are skipped)."""
        try:
            while True:
                await self.next_block(timeout)
        except StreamEnded:
            return True
