"""`EventStreamResponse`: the frame every server-sent events stream of Footfall shares.

The public live counter (`api.live`) and the dashboard's live header (`dashboard.live_stream`)
both follow topics of the app's `LiveHub` and write what it computed. What they share lives
here: the headers, the start and the end of the response, watching for the client leaving, and
releasing the subscriptions however the stream ends. A subclass writes the events.
"""

from __future__ import annotations

from asyncio import ensure_future

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from footfall.api.responses import NO_STORE

KEEP_ALIVE = b": keep-alive\n\n"
"""A comment line: written at a heartbeat when nothing changed, so proxies keep the stream."""


class EventStreamResponse(Response):
    """A `text/event-stream` response; subclasses implement `events`, `client_left` and
    `release`.

    Order of a stream: the response starts, `events` runs until it returns (the client left,
    access ended or the server stops), then `release` runs (also when sending failed) and the
    response ends.
    """

    def __init__(self, extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.background = None
        self.status_code = 200
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", NO_STORE.encode()),
            (b"x-accel-buffering", b"no"),  # nginx: pass each event on at once
            *(extra_headers or []),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = ensure_future(_until_disconnect(receive))
        gone.add_done_callback(lambda _: self.client_left())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self.events(send)
        finally:
            gone.cancel()
            self.release()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def events(self, send: Send) -> None:
        """Write the stream's events with `write_chunk`; return to end the stream."""
        raise NotImplementedError

    def client_left(self) -> None:
        """Called (from the event loop, not awaited) when the client disconnects: wake
        `events` so it returns."""
        raise NotImplementedError

    def release(self) -> None:
        """Give back what the stream held (its subscriptions); runs however the stream ends."""
        raise NotImplementedError


async def write_chunk(send: Send, body: bytes) -> None:
    """Send `body` as one piece of the stream (more follows)."""
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
