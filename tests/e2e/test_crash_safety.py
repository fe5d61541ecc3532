"""Crash safety with real server processes: nothing acknowledged is lost, on either tier.

Concurrent clients send varied events (tracker pageviews and custom events, bots, server-side
batches) to a real `footfall serve`, each event marked by a unique pathname. Mid-stream the
server receives SIGKILL (no chance to flush anything) or SIGTERM (graceful). After a restart on
the same data, every event whose request was answered 2xx must be in the store, exactly once,
and the realtime count must be the number of distinct visitors among the stored pageviews.

- SIGKILL: events committed but not yet acknowledged may be stored too (their sender saw the
  connection drop), never more than the requests in flight at the kill.
- SIGTERM: in-flight requests finish and the writer drains, so the store holds exactly the
  acknowledged events: nothing accepted is dropped, nothing stored went unacknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from footfall.ingestion.dedup import PENDING_TTL
from footfall.storage.events import Event
from footfall.storage.postgres_events import PostgresEventStore
from tests.conftest import CHROME_UA, FIREFOX_UA
from tests.serverproc import ServerProcess, footfall_server, stored_events

pytestmark = pytest.mark.slow

CLIENTS = 16
KILL_AFTER = 400  # acknowledged events before the signal
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@dataclass
class Tier:
    """Where a test's server keeps its data, and how to read the events back."""

    name: str
    data_dir: Path
    env: dict[str, str]
    pg_url: str | None = None

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "footfall", *args],
            env={**os.environ, **self.env, "FOOTFALL_DATA_DIR": str(self.data_dir)},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    @contextlib.contextmanager
    def server(self) -> Iterator[ServerProcess]:
        with footfall_server(self.data_dir, env=self.env) as server:
            yield server

    def events(self, site_id: str) -> list[Event]:
        """Every stored event of the site (the embedded server must be stopped)."""
        if self.pg_url is None:
            return stored_events(self.data_dir, site_id, limit=1_000_000)

        async def read(url: str) -> list[Event]:
            store = await PostgresEventStore.open(url)
            try:
                return await store.events(site_id, limit=1_000_000)
            finally:
                await store.close()

        return asyncio.run(read(self.pg_url))


# The load comes from one address and one site, far beyond what a real visitor sends.
NO_RATE_LIMITS = {
    "FOOTFALL_RATE_LIMIT_INGEST_CLIENT_PER_SECOND": "0",
    "FOOTFALL_RATE_LIMIT_INGEST_SITE_PER_SECOND": "0",
}


@pytest.fixture(params=["embedded", "cluster"])
def tier(request: pytest.FixtureRequest, tmp_path: Path) -> Tier:
    data_dir = tmp_path / "data"
    if request.param == "embedded":
        return Tier("embedded", data_dir, NO_RATE_LIMITS)
    pg_url: str = request.getfixturevalue("pg_url")
    env = {
        **NO_RATE_LIMITS,
        "FOOTFALL_DATABASE_URL": pg_url,
        "FOOTFALL_REDIS_URL": request.getfixturevalue("redis_url"),
        "FOOTFALL_REDIS_PREFIX": request.getfixturevalue("redis_prefix"),
    }
    return Tier("cluster", data_dir, env, pg_url)


@dataclass(frozen=True)
class Sent:
    """One request of the load: where it went, what it carried, the pathnames of its events."""

    endpoint: str
    body: dict[str, object]
    headers: dict[str, str]
    paths: tuple[str, ...]
    bot: bool


@dataclass
class Load:
    """What the clients sent and what the server acknowledged, by event pathname."""

    requests: list[Sent] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    bots: set[str] = field(default_factory=set)  # acknowledged as dropped
    statuses: dict[int, int] = field(default_factory=dict)
    in_flight_max: int = 0

    @property
    def sent(self) -> set[str]:
        return {path for request in self.requests for path in request.paths}


def _event_id(path: str) -> str:
    return path.strip("/").replace("/", "-")


def _request(worker: int, n: int, site_id: str, token: str) -> Sent:
    """Request `n` of client `worker`, varied by `n`; every event carries an `eventId`."""
    base = f"/w{worker}/n{n}"
    kind = n % 5
    if kind == 3:  # a server-side batch of three events, visitors named explicitly
        paths = tuple(f"{base}/b{i}" for i in range(3))
        events = [
            {
                "name": "pageview" if i != 1 else "purchase",
                "url": f"https://example.com{path}",
                "visitorId": f"server-{worker}-{n % 7}",
                "props": {"i": i},
                "eventId": _event_id(path),
            }
            for i, path in enumerate(paths)
        ]
        headers = {"Authorization": f"Bearer {token}"}
        return Sent("/api/v1/events", {"events": events}, headers, paths, bot=False)
    body: dict[str, object] = {
        "websiteId": site_id,
        "name": "signup" if kind == 1 else "pageview",
        "url": f"https://example.com{base}?utm_source=crash",
        "referrer": "https://news.example.org/" if kind == 2 else None,
        "screenWidth": 360 + 100 * (n % 12),
        "eventId": _event_id(base),
    }
    if kind == 1:
        body["props"] = {"plan": "pro", "n": n}
    bot = n % 11 == 10
    ua = BOT_UA if bot else f"{CHROME_UA if worker % 2 else FIREFOX_UA} c{worker}-{n % 3}"
    headers = {"User-Agent": ua, "Content-Type": "text/plain"}
    return Sent("/api/event", body, headers, (base,), bot)


def _client(server: ServerProcess) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    return httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits)


def _record(load: Load, request: Sent, response: httpx.Response) -> bool:
    """Note a 202 (True); anything else must be a 503 with Retry-After (False)."""
    status = response.status_code
    load.statuses[status] = load.statuses.get(status, 0) + 1
    if status != 202:
        assert status == 503, response.text
        assert "retry-after" in response.headers
        return False
    dropped = response.headers.get("x-footfall-dropped")
    if dropped == "bot":
        assert request.bot, response.text
        load.bots.update(request.paths)
    else:
        assert dropped in (None, "duplicate"), response.text
        load.acked.update(request.paths)
    return True


async def _drive(server: ServerProcess, site_id: str, token: str, sig: signal.Signals) -> Load:
    """Send events from `CLIENTS` concurrent clients until the server, signalled with `sig`
    once `KILL_AFTER` events were acknowledged, stops answering."""
    load = Load()
    signalled = False
    in_flight = 0
    async with _client(server) as client:

        async def worker(w: int) -> None:
            nonlocal in_flight, signalled
            for n in range(100_000):
                request = _request(w, n, site_id, token)
                load.requests.append(request)
                in_flight += 1
                load.in_flight_max = max(load.in_flight_max, in_flight)
                try:
                    response = await client.post(
                        request.endpoint, json=request.body, headers=request.headers
                    )
                except httpx.TransportError:
                    if signalled:
                        return  # the server is gone (or going): this request is unanswered
                    raise
                finally:
                    in_flight -= 1
                # Only a server going away may refuse an event (503 + Retry-After).
                assert _record(load, request, response) or signalled
                if len(load.acked) >= KILL_AFTER and not signalled:
                    signalled = True
                    server.process.send_signal(sig)
            raise AssertionError("the server never stopped answering")

        await asyncio.gather(*(worker(w) for w in range(CLIENTS)))
    return load


async def _resend(server: ServerProcess, load: Load) -> None:
    """Send every request again, as clients that retry do, honouring `Retry-After`, until
    each is answered 202 (an event the crash cut off may stay claimed for `PENDING_TTL`)."""
    deadline = time.monotonic() + PENDING_TTL + 30
    queue = list(load.requests)
    async with _client(server) as client:

        async def worker() -> None:
            while queue:
                request = queue.pop()
                while True:
                    response = await client.post(
                        request.endpoint, json=request.body, headers=request.headers
                    )
                    if _record(load, request, response):
                        break
                    assert time.monotonic() < deadline, "a retried event was never accepted"
                    await asyncio.sleep(float(response.headers["retry-after"]))

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))


def _realtime(server: ServerProcess, site_id: str, token: str) -> int:
    response = httpx.get(
        f"{server.url}/api/v1/realtime",
        params={"websiteId": site_id},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    count: int = response.json()["currentVisitors"]
    return count


def _live_visitors(events: list[Event]) -> int:
    return len({e.visitor_id for e in events if e.name == "pageview"})


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_acknowledged_events_survive_the_signal_and_a_restart(
    tier: Tier, sig: signal.Signals
) -> None:
    site_id = json.loads(tier.cli("sites", "add", "example.com", "--json"))["websiteId"]
    token = tier.cli("tokens", "create", site_id).splitlines()[-1]

    with tier.server() as server:
        load = asyncio.run(_drive(server, site_id, token, sig))
        code = server.process.wait(30)
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert code in (0, -signal.SIGTERM), server.log()[-3000:]
        assert "Application shutdown complete" in server.log()
    assert len(load.acked) >= KILL_AFTER
    acked_before = set(load.acked)

    with tier.server() as server:
        live = _realtime(server, site_id, token)
    events = tier.events(site_id)
    paths = [e.pathname for e in events]
    stored = set(paths)

    assert len(paths) == len(stored), "an event was stored twice"
    assert acked_before <= stored, f"{len(acked_before - stored)} acknowledged events lost"
    assert not stored & load.bots
    assert stored <= load.sent
    unacknowledged = stored - acked_before
    if sig == signal.SIGTERM:
        assert unacknowledged == set(), "events stored but their requests went unanswered"
    else:
        # Committed in the last batch, whose requests the kill cut off (a batch of the
        # server-side endpoint stores three pathnames).
        assert len(unacknowledged) <= 3 * load.in_flight_max
    assert live == _live_visitors(events)

    # Clients retry what went unanswered (and some retry what was answered, the answer lost):
    # in the end every event is stored exactly once, and counted once.
    with tier.server() as server:
        asyncio.run(_resend(server, load))
        live = _realtime(server, site_id, token)
    events = tier.events(site_id)
    paths = [e.pathname for e in events]
    assert sorted(paths) == sorted(load.sent - load.bots)
    assert {e.event_id for e in events} == {_event_id(path) for path in paths}
    assert live == _live_visitors(events)
