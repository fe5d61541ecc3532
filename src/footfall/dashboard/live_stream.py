"""`LiveHeaderStream`: the live header's server-sent events, several sites on one stream.

The dashboard's header lists the signed-in user's sites with their current visitors. Its
script opens one `EventSource` on `GET /live/stream`, which follows every listed site through
the app's `LiveHub` (`realtime.live`) — the same topics, the same one computation per change
and site shared by every listener (public widgets included), the same Redis channel between
the instances of a cluster. Nothing is counted here: the stream only writes what the hub
computed.

What the stream writes: `retry:`, then at once one event per site (`data:` holding
`{"websiteId", "currentVisitors", "timestamp"}`, the Realtime API's fields), then an event for
each site whose count changed, and a comment line at the hub's heartbeat when nothing did.

At each heartbeat the session is looked up again: the stream ends when it is gone (signed out,
expired, password changed elsewhere), and also when the user's list of sites changed (a site
shared, unshared or deleted), so the browser reconnects and follows the new list. A browser's
tab following more than `MAX_SITES` sites gets the first ones live; the header polls the rest.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.types import Send

from footfall.accounts.models import Role
from footfall.api.sse import KEEP_ALIVE, EventStreamResponse, write_chunk
from footfall.clock import iso_millis
from footfall.dashboard.auth import SignedIn
from footfall.dashboard.state import Dashboard
from footfall.errors import ApiError
from footfall.realtime.live import CLOSED, HEARTBEAT, Subscription, Topic
from footfall.storage.models import Site

MAX_SITES = 100
"""Sites one header stream follows live (each is one subscription of the hub)."""

_Signal = tuple[Subscription | None, int]


def count_event(topic: Topic) -> bytes:
    """One site's count as an event of the header stream."""
    assert topic.count is not None
    data = orjson.dumps(
        {
            "websiteId": topic.site_id,
            "currentVisitors": topic.count,
            "timestamp": iso_millis(topic.changed_at),
        }
    )
    return b"data: " + data + b"\n\n"


def site_ids(listed: list[tuple[Site, Role]]) -> tuple[str, ...]:
    """The sites a header stream follows: the first `MAX_SITES` of the user's list."""
    return tuple(site.id for site, _ in listed[:MAX_SITES])


async def subscribe_all(board: Dashboard, ids: tuple[str, ...]) -> list[Subscription]:
    """Follow every site of `ids` (all or none: `ApiError` from the hub, e.g. too many
    streams or a presence outage, leaves no subscription behind)."""
    hub = board.services.live
    found = await asyncio.gather(
        *(hub.subscribe(site_id, None) for site_id in ids), return_exceptions=True
    )
    subs = [item for item in found if isinstance(item, Subscription)]
    failed = [item for item in found if isinstance(item, BaseException)]
    if failed:
        for sub in subs:
            hub.unsubscribe(sub)
        raise failed[0]
    return subs


class LiveHeaderStream(EventStreamResponse):
    """One browser tab's header stream; ends when the client leaves, the session ends, the
    user's sites change, or the server stops (`LiveHub.close_streams`)."""

    def __init__(self, board: Dashboard, signed_in: SignedIn, subs: list[Subscription]) -> None:
        super().__init__()
        self.board = board
        self.signed_in = signed_in
        self.subs = subs
        self.signals: asyncio.Queue[_Signal] = asyncio.Queue()
        self.pumps: list[asyncio.Future[None]] = []

    async def events(self, send: Send) -> None:
        services = self.board.services
        hub = services.live
        signals = self.signals
        self.pumps = [asyncio.ensure_future(_pump(sub, signals)) for sub in self.subs]
        loop = asyncio.get_running_loop()
        beat_at = float("-inf")  # when the last heartbeat was acted on
        retry = f"retry: {services.settings.live_retry_ms}\n".encode()
        sent = {sub: sub.topic.version for sub in self.subs}
        await write_chunk(send, retry + b"".join(count_event(sub.topic) for sub in self.subs))
        while True:
            sub, what = await signals.get()
            if what == CLOSED:
                return
            if what == HEARTBEAT:
                # Every subscription gets the hub's heartbeat: act on the first of a beat.
                if loop.time() - beat_at < hub.heartbeat / 2:
                    continue
                beat_at = loop.time()
                if not await self._still_allowed():
                    return
                changed = [s for s in self.subs if s.topic.version != sent[s]]
            else:
                assert sub is not None
                changed = [sub] if sub.topic.version != sent[sub] else []
            for each in changed:
                sent[each] = each.topic.version
            if changed:
                await write_chunk(send, b"".join(count_event(s.topic) for s in changed))
            elif what == HEARTBEAT:
                await write_chunk(send, KEEP_ALIVE)

    def client_left(self) -> None:
        self.signals.put_nowait((None, CLOSED))

    def release(self) -> None:
        for pump in self.pumps:
            pump.cancel()
        hub = self.board.services.live
        for sub in self.subs:
            hub.unsubscribe(sub)

    async def _still_allowed(self) -> bool:
        """Whether the session still lives and the user's sites are still the ones followed.
        A metadata outage keeps the stream going on what was last known."""
        board = self.board
        try:
            found = await board.sessions.lookup(self.signed_in.secret, board.now())
            if found is None:
                return False
            listed = await board.members.sites_for(found[1])
        except ApiError:
            return True
        return site_ids(listed) == tuple(sub.topic.site_id for sub in self.subs)


async def _pump(sub: Subscription, signals: asyncio.Queue[_Signal]) -> None:
    """Forward one subscription's signals to the stream's queue (one waiter per topic)."""
    while True:
        what = await sub.wait()
        signals.put_nowait((sub, what))
        if what == CLOSED:
            return
