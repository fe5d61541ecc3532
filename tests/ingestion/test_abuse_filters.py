"""Abuse filters on ingestion: allowed hostnames, the referrer-spam blocklist, and the cheap
rejection of unknown or deleted websites (no query once known unknown; garbage ids never
queried; made-up ids charged to the client's rate limit)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from footfall.config import Settings
from footfall.ingestion import referrer_spam
from footfall.ingestion.enrich import host_allowed
from tests.conftest import CHROME_UA, FakeClock, Running, start_app


@pytest.mark.parametrize(
    ("host", "allowed", "expected"),
    [
        ("example.com", (), True),
        ("www.example.com", (), True),
        ("shop.example.com", (), True),
        ("EXAMPLE.com", (), True),
        ("example.org", (), False),
        ("notexample.com", (), False),
        ("example.com.evil.net", (), False),
        ("shop.example.org", ("shop.example.org",), True),
        ("www.shop.example.org", ("shop.example.org",), False),
        ("other.example.org", ("shop.example.org",), False),
        ("example.net", ("*.example.net",), True),
        ("a.b.example.net", ("*.example.net",), True),
        ("badexample.net", ("*.example.net",), False),
        ("example.com", ("shop.example.org",), True),  # the list adds to the domain
    ],
)
def test_host_allowed(host: str, allowed: tuple[str, ...], expected: bool) -> None:
    assert host_allowed(host, "example.com", allowed) is expected


def test_referrer_spam_list() -> None:
    assert len(referrer_spam.spammers()) > 2000
    for spam in ("semalt.com", "www.semalt.com", "a.b.darodar.com", "QIWI.xyz", "semalt.com."):
        assert referrer_spam.is_spam_host(spam), spam
    for fine in ("google.com", "notsemalt.com", "semalt.com.example.org", "com", ""):
        assert not referrer_spam.is_spam_host(fine), fine
    assert referrer_spam.is_spam_referrer("https://buttons-for-website.com/?utm=x")
    assert not referrer_spam.is_spam_referrer("https://news.ycombinator.com/item?id=1")
    assert not referrer_spam.is_spam_referrer("http://[::1")  # unparseable: not spam


async def send(running: Running, url: str, referrer: str | None = None, **extra: Any) -> Any:
    body = {"websiteId": running.site.id, "url": url, "referrer": referrer, **extra}
    return await running.client.post(
        "/api/event", json=body, headers={"User-Agent": CHROME_UA, "X-Forwarded-For": "1.2.3.4"}
    )


async def test_referrer_spam_is_dropped(running: Running) -> None:
    response = await send(running, "https://example.com/", "https://www.semalt.com/crawler")
    assert response.status_code == 202
    assert response.json() == {"status": "dropped", "reason": "referrer_spam"}
    assert response.headers["x-footfall-dropped"] == "referrer_spam"
    assert (await send(running, "https://example.com/", "https://duckduckgo.com/")).json() == {
        "status": "accepted"
    }
    stored = await running.services.events.events(running.site.id)
    assert [e.referrer_source for e in stored] == ["DuckDuckGo"]
    health = (await running.client.get("/healthz")).json()
    assert health["dropped"]["referrer_spam"] == 1


async def test_allowed_hostnames_apply_at_once(running: Running) -> None:
    assert (await send(running, "https://shop.example.org/")).json()["status"] == "dropped"
    await running.services.meta.update_site(
        running.site.id, allowed_hostnames=["shop.example.org", "*.example.net"]
    )
    answers = {
        url: (await send(running, url)).json()
        for url in (
            "https://shop.example.org/",
            "https://example.net/",
            "https://blog.example.net/",
            "https://example.com/",
            "https://other.example.org/",
        )
    }
    assert {url: a["status"] for url, a in answers.items()} == {
        "https://shop.example.org/": "accepted",
        "https://example.net/": "accepted",
        "https://blog.example.net/": "accepted",
        "https://example.com/": "accepted",
        "https://other.example.org/": "dropped",
    }
    assert answers["https://other.example.org/"]["reason"] == "hostname_mismatch"
    stored = await running.services.events.events(running.site.id)
    assert sorted(e.hostname for e in stored) == [
        "blog.example.net",
        "example.com",
        "example.net",
        "shop.example.org",
    ]


@pytest.fixture
def queries(running: Running) -> Iterator[list[str]]:
    """The SQL statements the metadata store runs while the test goes on."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = running.services.meta.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


async def track(running: Running, site_id: str, ip: str = "1.2.3.4") -> httpx.Response:
    return await running.client.post(
        "/api/event",
        json={"websiteId": site_id, "url": "https://example.com/"},
        headers={"User-Agent": CHROME_UA, "X-Forwarded-For": ip},
    )


async def test_unknown_and_deleted_sites_are_rejected_without_queries(
    running: Running, queries: list[str]
) -> None:
    def site_lookups() -> int:
        return sum("FROM sites" in q for q in queries)

    # Warm up: the day's first event writes its salt, which (as any metadata commit) drops
    # the cache once.
    assert (await track(running, running.site.id)).status_code == 202
    queries.clear()
    unknown = str(uuid.uuid4())
    assert (await track(running, unknown)).status_code == 404
    assert site_lookups() == 1  # looked up once...
    for _ in range(20):
        assert (await track(running, unknown)).status_code == 404
    assert site_lookups() == 1  # ... then answered from the negative cache

    for garbage in ("x", "not-a-uuid", "3F1C2B9E-6A55-4F0C-9C3E-0D9F1F2A7B10", "1" * 64):
        assert (await track(running, garbage)).json() == {"error": "Website not found"}
    assert site_lookups() == 1  # never a query for what cannot be a website id

    await running.services.meta.delete_site(running.site.id, running.clock.now())
    queries.clear()
    for _ in range(20):
        response = await track(running, running.site.id)
        assert response.json() == {"error": "Website not found"}
    assert site_lookups() == 1


async def test_made_up_site_ids_are_charged_to_the_client(
    settings: Settings, clock: FakeClock
) -> None:
    limited = settings.model_copy(
        update={"rate_limit_ingest_client_per_second": 1.0, "rate_limit_ingest_client_burst": 3}
    )
    async with start_app(limited, clock) as (_app, client):

        async def made_up(ip: str) -> int:
            response = await client.post(
                "/api/event",
                json={"websiteId": str(uuid.uuid4()), "url": "https://example.com/"},
                headers={"User-Agent": CHROME_UA, "X-Forwarded-For": ip},
            )
            return response.status_code

        assert [await made_up("5.6.7.8") for _ in range(5)] == [404, 404, 404, 429, 429]
        assert await made_up("5.6.7.9") == 404  # another client is not affected
