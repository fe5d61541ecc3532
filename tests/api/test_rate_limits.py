"""Rate limits over HTTP: per token on the Realtime and Stats APIs, per client and per site on
ingestion; 429 with `Retry-After` and the `RateLimit-*` headers; generous defaults.

The limiter backends have their own contract suite (tests/ratelimit); here the embedded
tier's in-memory limiter runs inside the app, on the test's clock.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from footfall.config import Settings
from footfall.ratelimit.memory import MemoryRateLimiter
from tests.conftest import CHROME_UA, FakeClock, Running, start_app

LIMITS = {
    "rate_limit_realtime_per_second": 1.0,
    "rate_limit_realtime_burst": 3,
    "rate_limit_stats_per_second": 1.0,
    "rate_limit_stats_burst": 2,
    "rate_limit_ingest_client_per_second": 1.0,
    "rate_limit_ingest_client_burst": 2,
    "rate_limit_ingest_site_per_second": 1.0,
    "rate_limit_ingest_site_burst": 5,
    "rate_limit_live_client_per_second": 1.0,
    "rate_limit_live_client_burst": 2,
}


@pytest.fixture
async def limited(settings: Settings, clock: FakeClock) -> AsyncIterator[Running]:
    async with start_app(settings.model_copy(update=LIMITS), clock) as (app, client):
        services = app.state.services
        site = await services.meta.create_site("example.com", "Example", clock.now())
        token, _ = await services.meta.create_token(site.id, clock.now())
        yield Running(app, client, clock, site, token)


def assert_limited(response: httpx.Response, retry_after: str, browser: bool = True) -> None:
    assert response.status_code == 429, response.text
    assert response.json() == {"error": f"Too many requests; retry in {retry_after} seconds"}
    assert response.headers["retry-after"] == retry_after
    assert response.headers["ratelimit-remaining"] == "0"
    if not browser:
        return
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = response.headers["access-control-expose-headers"]
    assert "Retry-After" in exposed and "RateLimit-Remaining" in exposed


async def test_realtime_limit_per_token(limited: Running) -> None:
    answers = [await limited.realtime() for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["ratelimit-limit"] == "3"
    assert answers[0].headers["ratelimit-policy"] == "3;w=3"
    assert answers[2].headers["ratelimit-reset"] == "3"
    assert_limited(answers[3], "1")
    assert answers[3].headers["cache-control"] == "no-store"

    # Another token of the same site has its own bucket.
    other, _ = await limited.services.meta.create_token(limited.site.id, limited.clock.now())
    assert (await limited.realtime(token=other)).status_code == 200
    # One second later, one more request for the first token.
    limited.clock.advance(1.0)
    assert (await limited.realtime()).status_code == 200
    assert (await limited.realtime()).status_code == 429


async def test_failed_authentication_takes_nothing_from_the_bucket(limited: Running) -> None:
    """The Realtime contract's answers come first; only authorised requests are counted."""
    wrong, _ = await limited.services.meta.create_token(limited.site.id, limited.clock.now())
    await limited.services.meta.revoke_token(wrong, limited.clock.now())
    for _ in range(10):
        assert (await limited.realtime(token=wrong)).status_code == 401
    for _ in range(2):  # (made-up website ids have a limit of their own, below)
        assert (await limited.realtime(site_id=str(uuid.uuid4()))).status_code == 404
    assert [(await limited.realtime()).status_code for _ in range(3)] == [200] * 3


async def test_made_up_website_ids_are_charged_to_the_client(limited: Running) -> None:
    """Each unknown id costs a lookup: past the client's ingestion bucket (burst 2 here), a
    client naming made-up websites gets 429s on the Realtime and Stats APIs too."""
    answers = [await limited.realtime(site_id=str(uuid.uuid4())) for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 429]
    assert_limited(answers[2], "1")
    stats = await limited.client.get(
        "/api/v1/stats/aggregate",
        params={"websiteId": str(uuid.uuid4())},
        headers={"Authorization": f"Bearer {limited.token}"},
    )
    assert stats.status_code == 429
    assert (await limited.realtime()).status_code == 200  # the real site is not affected


async def test_stats_limit_per_token(limited: Running) -> None:
    async def aggregate() -> httpx.Response:
        return await limited.client.get(
            "/api/v1/stats/aggregate",
            params={"websiteId": limited.site.id},
            headers={"Authorization": f"Bearer {limited.token}"},
        )

    assert [(await aggregate()).status_code for _ in range(2)] == [200, 200]
    assert_limited(await aggregate(), "1")
    # The realtime bucket is a different one.
    assert (await limited.realtime()).status_code == 200


async def test_tracker_limit_per_client(limited: Running) -> None:
    answers = [await limited.pageview(ip="198.51.100.1", path=f"/{i}") for i in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert_limited(answers[2], "1")
    assert (await limited.pageview(ip="198.51.100.2")).status_code == 202
    stored = await limited.services.events.events(limited.site.id)
    assert sorted(e.pathname for e in stored) == ["/", "/0", "/1"]


async def test_tracker_limit_per_site(limited: Running) -> None:
    answers = [await limited.pageview(ip=f"198.51.100.{i}") for i in range(7)]
    assert [a.status_code for a in answers] == [202] * 5 + [429, 429]
    assert len(await limited.services.events.events(limited.site.id)) == 5


async def test_client_key_is_not_the_ip(limited: Running) -> None:
    """The limiter keeps a salted hash of the client address, never the address."""
    await limited.pageview(ip="198.51.100.77")
    limiter = limited.services.limits.limiter
    assert isinstance(limiter, MemoryRateLimiter)
    keys = list(limiter._tats)
    assert any(key.startswith("ic:") for key in keys)
    assert not any("198.51.100.77" in key for key in keys)


async def test_server_batches_count_their_events(limited: Running) -> None:
    async def send(n: int) -> httpx.Response:
        events = [{"url": "https://example.com/", "visitorId": f"v{i}"} for i in range(n)]
        return await limited.client.post(
            "/api/v1/events",
            json={"events": events},
            headers={"Authorization": f"Bearer {limited.token}"},
        )

    assert (await send(4)).status_code == 202
    refused = await send(2)  # 6 > burst 5: 1 s until one more fits
    assert_limited(refused, "1", browser=False)
    assert len(await limited.services.events.events(limited.site.id)) == 4
    # A batch larger than the whole bucket waits for a full bucket instead of never passing.
    limited.clock.advance(5.0)
    assert (await send(50)).status_code == 202


async def test_defaults_let_hundreds_of_polling_browsers_through(
    settings: Settings, clock: FakeClock
) -> None:
    """600 browsers polling one site's count every 30 s (20 requests/s), for two rounds."""
    async with start_app(settings, clock) as (app, client):
        services = app.state.services
        site = await services.meta.create_site("example.com", "Example", clock.now())
        token, _ = await services.meta.create_token(site.id, clock.now())
        statuses = set()
        for _ in range(2 * 600):
            response = await client.get(
                "/api/v1/realtime",
                params={"websiteId": site.id},
                headers={"Authorization": f"Bearer {token}", "User-Agent": CHROME_UA},
            )
            statuses.add(response.status_code)
            clock.advance(30 / 600)
        assert statuses == {200}
        assert int(response.headers["ratelimit-remaining"]) > 400


async def test_a_zero_rate_turns_a_limit_off(settings: Settings, clock: FakeClock) -> None:
    off = settings.model_copy(update={**LIMITS, "rate_limit_realtime_per_second": 0.0})
    async with start_app(off, clock) as (app, client):
        services = app.state.services
        site = await services.meta.create_site("example.com", "Example", clock.now())
        token, _ = await services.meta.create_token(site.id, clock.now())
        for _ in range(10):
            response = await client.get(
                "/api/v1/realtime",
                params={"websiteId": site.id},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200
            assert "ratelimit-limit" not in response.headers


async def test_public_live_count_limit_per_client(limited: Running) -> None:
    """Per client, not per publishable key: the key is shared by every visitor's widget, so
    one abuser is refused while other visitors' widgets keep their count."""
    origin = "https://example.com"
    key = await limited.services.keys.create(limited.site.id, limited.clock.now(), origins=[origin])

    async def live(ip: str, stream: bool = False) -> httpx.Response:
        return await limited.client.get(
            "/api/v1/live/stream" if stream else "/api/v1/live",
            params={"key": key.key},
            headers={"Origin": origin, "X-Forwarded-For": ip},
        )

    answers = [await live("198.51.100.1") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["ratelimit-remaining"] == "1"
    assert_limited(answers[2], "1")
    refused_stream = await live("198.51.100.1", stream=True)  # stream opens share the bucket
    assert_limited(refused_stream, "1")
    assert (await live("198.51.100.2")).status_code == 200  # another visitor is unaffected
    limited.clock.advance(1.0)
    assert (await live("198.51.100.1")).status_code == 200
