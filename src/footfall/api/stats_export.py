"""`GET /api/v1/stats/export/events`: the raw events of a date range, streamed as CSV.

Authentication and errors are the Stats API's (`api.stats`). The file is produced batch by
batch from the event store's cursor (`EventStore.export_range`) while it is sent, so memory
stays bounded by one batch whatever the range. The first batch is read before answering, so
an unreachable store still answers 503; a failure later can only cut the download short (the
connection is closed without the final chunk, which HTTP clients report as an error).

Each download holds a cursor, on PostgreSQL a pooled connection, until it is sent. So each
also holds a place of the instance's stats admission (`Services.stats_admission`: fewer places
than pooled connections, the writer keeps its own), counts against its token's cap on
downloads in progress, and is cut off when a piece cannot be sent within
`stats_export_send_timeout_seconds` (a client that stopped reading): `ExportResponse`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from footfall.api.responses import NO_STORE, error_response
from footfall.api.throttle import EXPOSE_HEADERS, authorize, enforce
from footfall.errors import ApiError
from footfall.ratelimit.concurrency import Ticket
from footfall.services import Services
from footfall.stats import csv_export
from footfall.storage.events import Event

log = logging.getLogger(__name__)

BATCH = 1_000
"""Events per batch read from the store: one batch (and its CSV) is what sits in memory."""

_HEADERS = {
    "Cache-Control": NO_STORE,
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": EXPOSE_HEADERS,
}


async def export_events(request: Request) -> Response:
    """GET /api/v1/stats/export/events — Bearer vt_ token of the website.

    200 `text/csv` download, streamed: every event of the site in the range (`period`,
    `date`, `timezone`), oldest first, one column per events-table column. 400 invalid
    parameter (named); 401/404 as the Realtime API; 503 a backend is unreachable.
    """
    services: Services = request.app.state.services
    ticket: Ticket | None = None
    try:
        auth, token_id = await authorize(services, request, request.query_params.get("websiteId"))
        now = services.clock.now()
        enforce(await services.limits.stats(token_id, now))
        range_ = csv_export.parse_export(
            request.query_params.multi_items(), now, auth.site.timezone
        )
        ticket = await services.stats_admission.admit(export_owner="token:" + token_id)
        await services.meta.note_token_used(token_id, now)
        batches = services.events.export_range(auth.site.id, range_.start, range_.end, BATCH)
        first = await anext(batches, None)
    except ApiError as error:
        if ticket is not None:
            ticket.release()
        return error_response(error, _HEADERS)
    except BaseException:  # anything unexpected (a 500, a cancellation): the place is given back
        if ticket is not None:
            ticket.release()
        raise
    name = csv_export.filename("events", range_)
    return ExportResponse(
        _csv(first, batches),
        batches,
        ticket,
        services.settings.stats_export_send_timeout_seconds,
        headers={
            **_HEADERS,
            "Access-Control-Expose-Headers": f"{EXPOSE_HEADERS}, Content-Disposition",
            "Content-Disposition": csv_export.attachment(name),
        },
        media_type=csv_export.MEDIA_TYPE,
    )


class _Stalled(Exception):
    """A piece of the download could not be sent within the send timeout."""


class ExportResponse(StreamingResponse):
    """A CSV download streamed from a store cursor: stops between pieces when the client goes
    away or stops reading, always closes its generators (at once and in the request's task),
    and gives back its admission `ticket` however it ends.

    Starlette's `StreamingResponse` cancels the body's task when the client disconnects, at
    whatever await it is in: in the middle of a fetch, which would leave a PostgreSQL
    transaction to be reset by the pool. Here a listener only flags the disconnect; the body
    is then abandoned at the next chunk and closed (`aclose`) at its `yield`, where the
    store's cleanup (end the transaction, release the connection or cursor) runs whole.

    A client that stops reading without going away would otherwise hold the cursor forever:
    the server's send waits while the socket's buffers are full. Each send gets
    `send_timeout` seconds; past that the download ends without its final chunk (the client
    sees a truncated transfer, never a short file that looks whole)."""

    def __init__(
        self,
        content: AsyncGenerator[bytes, None],
        source: AsyncGenerator[Any, None],
        ticket: Ticket,
        send_timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(content, **kwargs)
        self._generators = (content, source)
        self._ticket = ticket
        self._send_timeout = send_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()

        async def listen() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        async def send_in_time(message: Message) -> None:
            try:
                await asyncio.wait_for(send(message), self._send_timeout)
            except TimeoutError:
                raise _Stalled from None

        listener = asyncio.create_task(listen())
        try:
            start = {"type": "http.response.start", "status": self.status_code}
            await send_in_time({**start, "headers": self.raw_headers})
            async for chunk in self.body_iterator:
                if gone.is_set():
                    return
                await send_in_time({"type": "http.response.body", "body": chunk, "more_body": True})
            await send_in_time({"type": "http.response.body", "body": b"", "more_body": False})
        except _Stalled:
            log.warning(
                "download cut off: the client read nothing for the send timeout",
                extra={"path": scope.get("path"), "send_timeout": self._send_timeout},
            )
        except OSError:
            raise ClientDisconnect() from None  # ASGI 2.4 servers report it so
        finally:
            listener.cancel()
            try:
                await asyncio.shield(_close(self._generators))
            finally:
                self._ticket.release()


async def _close(generators: tuple[AsyncGenerator[Any, None], ...]) -> None:
    # The body first (its own cleanup closes the source); then the source, in case the
    # body never started (a client gone before the first chunk).
    for generator in generators:
        await generator.aclose()


async def _csv(
    first: list[Event] | None, batches: AsyncGenerator[list[Event], None]
) -> AsyncGenerator[bytes, None]:
    try:
        yield csv_export.events_header()
        if first:
            chunk = csv_export.events_csv(first)
            del first  # memory: one batch at a time, so no batch outlives its chunk
            yield chunk
        async for batch in batches:
            chunk = csv_export.events_csv(batch)
            del batch
            yield chunk
    finally:
        # Also when the client goes away mid-download: release the cursor at once.
        await batches.aclose()
