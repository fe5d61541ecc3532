"""POST /api/v1/events: server-side and backfilled events, all-or-nothing validation."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from footfall.auth import tokens
from footfall.ingestion.visitor import explicit_visitor_id
from tests.conftest import CHROME_UA, Running

BAD_TIMESTAMP = (
    "events[1].timestamp: must be an ISO 8601 date-time with a time zone, e.g. 2026-11-26T09:00:00Z"
)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


async def send(running: Running, body: object, token: str | None = None) -> httpx.Response:
    return await running.client.post(
        "/api/v1/events",
        json=body,
        headers={"Authorization": f"Bearer {token or running.token}"},
    )


async def test_batch_is_stored_before_the_answer(running: Running) -> None:
    now = running.clock.now()
    events = [
        {"url": "https://example.com/a", "visitorId": "user-1", "timestamp": iso(now - 3600)},
        {"url": "https://example.com/b", "visitorId": "user-1", "timestamp": iso(now - 3500)},
        {
            "name": "purchase",
            "url": "https://example.com/buy",
            "ip": "198.51.100.4",
            "userAgent": CHROME_UA,
            "props": {"amount": 49.5},
        },
    ]
    response = await send(running, {"events": events})
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "dropped": {}}
    stored = await running.services.events.events(running.site.id)
    assert [e.pathname for e in stored] == ["/a", "/b", "/buy"]
    assert stored[0].ts == pytest.approx(now - 3600)
    assert (
        stored[0].visitor_id
        == stored[1].visitor_id
        == explicit_visitor_id(running.site.id, "user-1")
    )
    assert stored[0].visit_id == stored[1].visit_id  # 100 s apart: one visit
    assert stored[2].props == {"amount": 49.5}
    assert stored[2].browser == "Chrome"


async def test_backfilled_pageviews_count_only_inside_the_window(running: Running) -> None:
    now = running.clock.now()
    events = [
        {"url": "https://example.com/", "visitorId": "recent", "timestamp": iso(now - 170)},
        {"url": "https://example.com/", "visitorId": "old", "timestamp": iso(now - 190)},
        {"url": "https://example.com/", "visitorId": "ahead", "timestamp": iso(now + 60)},
    ]
    assert (await send(running, {"events": events})).status_code == 202
    assert (await running.realtime()).json()["currentVisitors"] == 2
    running.clock.advance(15)  # "recent" is now 185 s old
    assert (await running.realtime()).json()["currentVisitors"] == 1


async def test_late_events_for_a_visitor_do_not_shorten_presence(running: Running) -> None:
    now = running.clock.now()
    events = [
        {"url": "https://example.com/", "visitorId": "v", "timestamp": iso(now - 10)},
        {"url": "https://example.com/", "visitorId": "v", "timestamp": iso(now - 170)},
    ]
    await send(running, {"events": events})
    running.clock.advance(100)
    assert (await running.realtime()).json()["currentVisitors"] == 1


async def test_bots_in_a_batch_are_dropped_and_counted(running: Running) -> None:
    events = [
        {"url": "https://example.com/", "ip": "198.51.100.1", "userAgent": "Googlebot/2.1"},
        {"url": "https://example.com/", "ip": "198.51.100.2", "userAgent": CHROME_UA},
        {"url": "https://elsewhere.example/", "visitorId": "x"},
    ]
    response = await send(running, {"events": events})
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "dropped": {"bot": 1, "hostname_mismatch": 1}}
    assert response.headers["x-footfall-dropped"] == "bot,hostname_mismatch"
    assert await running.services.events.count(running.site.id) == 1


async def test_events_go_to_the_tokens_site(running: Running) -> None:
    meta = running.services.meta
    other = await meta.create_site("other.example", None, running.clock.now())
    other_token, _ = await meta.create_token(other.id, running.clock.now())
    body = {"events": [{"url": "https://other.example/", "visitorId": "v"}]}
    assert (await send(running, body, other_token)).status_code == 202
    assert await running.services.events.count(other.id) == 1
    assert await running.services.events.count(running.site.id) == 0


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"visitorId": "v"}, "events[1].url: is required"),
        ({"url": "https://example.com/"}, "events[1]: give visitorId, or both ip and userAgent"),
        (
            {"url": "https://example.com/", "ip": "198.51.100.1"},
            "events[1]: give visitorId, or both ip and userAgent",
        ),
        (
            {"url": "https://example.com/", "visitorId": "v", "ip": "not-an-ip"},
            "events[1].ip: not an IP address",
        ),
        (
            {"url": "https://example.com/", "visitorId": "v", "timestamp": "yesterday"},
            BAD_TIMESTAMP,
        ),
        (
            {"url": "https://example.com/", "visitorId": "v", "timestamp": "2026-09-21T10:00:00"},
            BAD_TIMESTAMP,
        ),
        (
            {"url": "https://example.com/", "visitorId": "v", "timestamp": "2026-09-21T14:19:00Z"},
            "events[1].timestamp: more than 5 minutes in the future",
        ),
        (
            {"url": "mailto:x@example.com", "visitorId": "v"},
            "events[1].url: must be an absolute http(s) URL",
        ),
        (
            {"url": "https://example.com/", "visitorId": 7},
            "events[1].visitorId: Input should be a valid string",
        ),
    ],
)
async def test_one_invalid_event_rejects_the_whole_batch(
    running: Running, event: dict[str, object], message: str
) -> None:
    good = {"url": "https://example.com/", "visitorId": "v"}
    response = await send(running, {"events": [good, event]})
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert await running.services.events.count() == 0
    assert (await running.realtime()).json()["currentVisitors"] == 0


async def test_timestamp_five_minutes_ahead_is_allowed(running: Running) -> None:
    ahead = iso(running.clock.now() + 299)
    body = {"events": [{"url": "https://example.com/", "visitorId": "v", "timestamp": ahead}]}
    assert (await send(running, body)).status_code == 202


async def test_empty_and_oversized_batches(running: Running, settings) -> None:
    response = await send(running, {"events": []})
    assert response.status_code == 400
    assert response.json() == {
        "error": "events: List should have at least 1 item after validation, not 0"
    }
    many = [{"url": "https://example.com/", "visitorId": str(i)} for i in range(1001)]
    response = await send(running, {"events": many})
    assert response.status_code == 400
    assert response.json() == {"error": "events: at most 1000 events per request"}
    assert await running.services.events.count() == 0


async def test_body_too_large(running: Running) -> None:
    huge = [{"url": "https://example.com/" + "x" * 2000, "visitorId": str(i)} for i in range(600)]
    response = await send(running, {"events": huge})
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("header", "status", "message"),
    [
        (None, 401, "Missing or invalid authorization header. Expected: Bearer <token>"),
        ("Token abc", 401, "Missing or invalid authorization header. Expected: Bearer <token>"),
        ("Bearer vt_bad", 401, "Invalid token format"),
        ("Bearer " + tokens.generate_token(), 401, "Invalid API token"),
    ],
)
async def test_authentication(
    running: Running, header: str | None, status: int, message: str
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await running.client.post(
        "/api/v1/events",
        json={"events": [{"url": "https://example.com/", "visitorId": "v"}]},
        headers=headers,
    )
    assert response.status_code == status
    assert response.json() == {"error": message}
    assert response.headers["www-authenticate"] == "Bearer"


async def test_revoked_token_is_refused(running: Running) -> None:
    (info,) = await running.services.meta.list_tokens(running.site.id)
    await running.services.meta.revoke_token(info.id, running.clock.now())
    response = await send(running, {"events": [{"url": "https://example.com/", "visitorId": "v"}]})
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid API token"}


async def test_an_address_is_one_visitor_however_the_sender_writes_it(running: Running) -> None:
    """Server-side events hash the canonical address text, as tracker hits do."""
    assert (await running.pageview(ip="198.51.100.7")).status_code == 202
    events = [
        {"url": "https://example.com/a", "ip": "::ffff:198.51.100.7", "userAgent": CHROME_UA},
        {"url": "https://example.com/b", "ip": "2001:DB8::0:1", "userAgent": CHROME_UA},
        {"url": "https://example.com/c", "ip": "2001:db8::1", "userAgent": CHROME_UA},
        {"url": "https://example.com/d", "ip": "198.51.100.8", "userAgent": CHROME_UA},
    ]
    response = await send(running, {"events": events})
    assert response.json() == {"accepted": 4, "dropped": {}}
    tracker, mapped, upper, lower, other = (
        e.visitor_id for e in await running.services.events.events(running.site.id)
    )
    assert tracker == mapped
    assert upper == lower
    assert len({tracker, upper, other}) == 3
