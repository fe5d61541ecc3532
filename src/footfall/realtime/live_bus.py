"""`RedisLiveBus`: instances of a cluster tell each other which sites' live counts moved.

One Redis pub/sub channel, `{prefix}:live`. A message is the sender's instance id and the ids
of the sites whose pageviews it just committed, one per line. Each instance subscribes once
and marks the topics of those sites dirty (`LiveHub.changed`); the count itself is always
read from shared presence, so messages carry no numbers and a lost message costs at most the
hub's periodic refresh.

Publishing never waits on Redis in the ingestion path: `publish` adds the sites to a pending
set and wakes a publisher task, which sends what accumulated in one message (at most one
message in flight per instance; bursts merge). If Redis is unreachable, pending sites are
dropped (logged once per outage) and the subscriber reconnects with backoff, then marks every
topic dirty, since it may have missed messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from footfall.realtime.redis import UNAVAILABLE_ERRORS, redis_client

if TYPE_CHECKING:
    from footfall.realtime.live import LiveHub

log = logging.getLogger(__name__)

LISTEN_TIMEOUT = 10.0
"""Seconds a subscriber waits for a message before checking its connection (PING when idle)."""

CLOSE_TIMEOUT = 5.0
"""Seconds `close` waits for the publisher and subscriber tasks to end."""

MAX_BACKOFF = 5.0
"""Longest wait between two attempts to resubscribe while Redis is unreachable."""


class RedisLiveBus:
    """Pub/sub of changed site ids between instances (cluster mode)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.channel = f"{prefix}:live"
        self.instance = secrets.token_hex(8)
        self._client: aioredis.Redis = redis_client(url)
        self._pending: set[str] = set()
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self._closing = False
        self.published = 0
        self.received = 0

    def publish(self, site_ids: set[str]) -> None:
        self._pending |= site_ids
        self._ready.set()

    async def start(self, hub: LiveHub) -> None:
        """Start publishing and listening; returns once subscribed (or after 2 s trying)."""
        self._tasks = [
            asyncio.create_task(self._publisher(), name="footfall-live-publish"),
            asyncio.create_task(self._subscriber(hub), name="footfall-live-subscribe"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 2.0)

    async def close(self) -> None:
        """Stop both tasks. redis-py may swallow a cancellation that lands inside a command,
        so the publisher also stops on the `_closing` flag and the wait is bounded."""
        self._closing = True
        self._ready.set()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=CLOSE_TIMEOUT)
            if pending:
                log.warning("live bus: tasks still running at close", extra={"tasks": len(pending)})
        self._tasks = []
        await self._client.aclose()

    async def _publisher(self) -> None:
        down = False
        while not self._closing:
            await self._ready.wait()
            if self._closing:
                return
            self._ready.clear()
            sites, self._pending = self._pending, set()
            message = "\n".join([self.instance, *sites])
            try:
                await self._client.publish(self.channel, message)
                self.published += 1
                down = False
            except UNAVAILABLE_ERRORS:
                if not down:  # once per outage, not once per commit
                    log.warning("live bus: cannot publish to Redis; other instances catch up")
                down = True

    async def _subscriber(self, hub: LiveHub) -> None:
        backoff = 0.1
        while not self._closing:
            pubsub: Any = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if backoff > 0.1:  # resubscribed after an outage: messages may be lost
                    hub.changed_all()
                backoff = 0.1
                self._subscribed.set()
                while True:
                    message = await pubsub.get_message(timeout=LISTEN_TIMEOUT)
                    if message is not None:
                        self._deliver(hub, message["data"])
            except UNAVAILABLE_ERRORS:
                log.warning("live bus: Redis unreachable; resubscribing", exc_info=False)
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
            finally:
                with contextlib.suppress(*UNAVAILABLE_ERRORS):
                    await pubsub.aclose()

    def _deliver(self, hub: LiveHub, data: bytes) -> None:
        sender, *sites = data.decode("utf-8", "replace").split("\n")
        if sender != self.instance:
            self.received += 1
            hub.changed(sites)
