"""Retried events through the real endpoints, on both tiers: stored once, counted once.

Copies of one event (same `eventId`) arrive one after the other and all at once, at one
instance and (cluster mode) at two instances sharing PostgreSQL and Redis. Every copy is
answered 202 (`accepted` once, then `duplicate`) or 503 with `Retry-After` while the first copy
is still being committed; clients that retry those get 202 too. In the end the event is stored
once and the visitor counted once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from footfall.config import Settings
from footfall.services import Services
from tests.backends import app_settings, tier_settings_for
from tests.conftest import CHROME_UA, FakeClock, start_app

COPIES = 24


@pytest.fixture(params=["embedded", "cluster"])
def tier_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return tier_settings_for(request, tmp_path)


@contextlib.asynccontextmanager
async def instances(
    settings: Settings, count: int
) -> AsyncIterator[list[tuple[Services, httpx.AsyncClient]]]:
    """`count` running apps on the settings' stores (cluster: instances of one cluster)."""
    clock = FakeClock()
    async with contextlib.AsyncExitStack() as stack:
        running = []
        for _ in range(count):
            app, client = await stack.enter_async_context(start_app(settings, clock))
            running.append((app.state.services, client))
        yield running


async def send(
    client: httpx.AsyncClient, site_id: str, event_id: str, *, token: str = ""
) -> httpx.Response:
    """One copy of the event, by the tracker's endpoint (with a `token`: as a one-event batch
    of the server-side endpoint)."""
    headers = {"User-Agent": CHROME_UA, "X-Forwarded-For": "198.51.100.7"}
    url = "https://example.com/pricing"
    if token:
        return await client.post(
            "/api/v1/events",
            json={"events": [{"url": url, "visitorId": "v-1", "eventId": event_id}]},
            headers={**headers, "Authorization": f"Bearer {token}"},
        )
    return await client.post(
        "/api/event", json={"websiteId": site_id, "url": url, "eventId": event_id}, headers=headers
    )


async def until_acknowledged(client: httpx.AsyncClient, site_id: str, event_id: str) -> str:
    """Send a copy, and retry it as a client does while answered 503; the final outcome."""
    while True:
        response = await send(client, site_id, event_id)
        if response.status_code == 202:
            return str(response.json().get("reason", "accepted"))
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert "eventId" in response.json()["error"]
        await asyncio.sleep(float(response.headers["retry-after"]))


async def realtime(client: httpx.AsyncClient, site_id: str, token: str) -> int:
    response = await client.get(
        "/api/v1/realtime",
        params={"websiteId": site_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    count: int = response.json()["currentVisitors"]
    return count


async def new_site(services: Services) -> tuple[str, str]:
    """A site and an API token of it."""
    site = await services.meta.create_site("example.com", None, services.clock.now())
    token, _ = await services.meta.create_token(site.id, services.clock.now())
    return site.id, token


async def test_a_retried_event_is_stored_and_counted_once(tier_settings: Settings) -> None:
    async with instances(tier_settings, 1) as [(services, client)]:
        site_id, token = await new_site(services)
        first = await send(client, site_id, "retry-me-1")
        assert first.json() == {"status": "accepted"}
        again = await send(client, site_id, "retry-me-1")
        assert again.json() == {"status": "dropped", "reason": "duplicate"}
        batch = await send(client, site_id, "retry-me-1", token=token)
        assert batch.json() == {"accepted": 0, "dropped": {"duplicate": 1}}
        assert await services.events.count(site_id) == 1
        assert await realtime(client, site_id, token) == 1
        # Another site may use the same id: ids are per site.
        other, _ = await new_site(services)
        assert (await send(client, other, "retry-me-1")).json() == {"status": "accepted"}


async def test_concurrent_copies_are_stored_once(tier_settings: Settings) -> None:
    async with instances(tier_settings, 1) as [(services, client)]:
        site_id, token = await new_site(services)
        outcomes = await asyncio.gather(
            *(until_acknowledged(client, site_id, "burst-1") for _ in range(COPIES))
        )
        assert sorted(outcomes) == ["accepted"] + ["duplicate"] * (COPIES - 1)
        (event,) = await services.events.events(site_id)
        assert event.event_id == "burst-1"
        assert await realtime(client, site_id, token) == 1
        assert services.drops.snapshot()["duplicate"] == COPIES - 1


async def test_copies_sent_to_two_cluster_instances_at_once_are_stored_once(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    settings = app_settings(tmp_path, pg_url=pg_url, redis_prefix=redis_prefix)
    async with instances(settings, 2) as [(a, client_a), (_b, client_b)]:
        site_id, token = await new_site(a)
        outcomes = await asyncio.gather(
            *(
                until_acknowledged(client_a if n % 2 else client_b, site_id, "two-instances")
                for n in range(COPIES)
            )
        )
        assert sorted(outcomes) == ["accepted"] + ["duplicate"] * (COPIES - 1)
        assert await a.events.count(site_id) == 1
        assert await realtime(client_a, site_id, token) == 1
        assert await realtime(client_b, site_id, token) == 1
