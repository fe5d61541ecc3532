"""POST /api/event: one test per drop reason and per validation error; durable acknowledgement."""

from __future__ import annotations

import json

import pytest

from footfall.ingestion.drops import DropReason
from tests.conftest import CHROME_UA, Running


async def post(running: Running, body: object, **headers: str) -> object:
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    return await running.client.post(
        "/api/event",
        content=content,
        headers={"User-Agent": CHROME_UA, "Content-Type": "text/plain", **headers},
    )


def hit(running: Running, **fields: object) -> dict[str, object]:
    return {"websiteId": running.site.id, "url": "https://example.com/pricing", **fields}


# -- acceptance and durability --------------------------------------------------------------


async def test_accepted_event_is_in_the_store_when_the_response_arrives(running: Running) -> None:
    response = await post(
        running,
        hit(
            running,
            url="https://www.example.com/pricing?utm_source=news&utm_medium=email&utm_campaign=fall",
            referrer="https://www.google.co.uk/search?q=analytics",
            screenWidth=390,
            props={"plan": "pro", "seats": 3, "trial": True},
        ),
        **{
            "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) "
            "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        },
    )
    assert response.status_code == 202
    assert response.json() == {"status": "accepted"}
    assert response.headers["access-control-allow-origin"] == "*"
    (event,) = await running.services.events.events(running.site.id)
    assert event.name == "pageview"
    assert event.hostname == "www.example.com"
    assert event.pathname == "/pricing"
    assert event.referrer == "https://www.google.co.uk/search"
    assert event.referrer_source == "Google"
    assert (event.utm_source, event.utm_medium, event.utm_campaign) == ("news", "email", "fall")
    assert event.browser == "Mobile Safari"
    assert event.os == "iOS"
    assert event.device_type == "mobile"
    assert event.screen_size == "mobile"
    assert event.props == {"plan": "pro", "seats": 3, "trial": True}
    assert event.ts == running.clock.now()
    assert event.visit_id > 0


async def test_raw_ip_and_user_agent_are_not_stored(running: Running, settings) -> None:
    await post(running, hit(running), **{"X-Forwarded-For": "198.51.100.77"})
    await running.app.state.services.writer.close()  # flush nothing pending, release DuckDB
    await running.services.events.close()
    data = (settings.data_dir / "events.duckdb").read_bytes()
    wal = settings.data_dir / "events.duckdb.wal"
    if wal.exists():
        data += wal.read_bytes()
    assert b"198.51.100.77" not in data
    assert CHROME_UA.encode() not in data


async def test_custom_event_with_json_content_type(running: Running) -> None:
    response = await running.client.post(
        "/api/event",
        json=hit(running, name="signup"),
        headers={"User-Agent": CHROME_UA},
    )
    assert response.status_code == 202
    (event,) = await running.services.events.events(running.site.id)
    assert event.name == "signup"


async def test_internal_referrer_is_not_a_source(running: Running) -> None:
    await post(running, hit(running, referrer="https://example.com/"))
    (event,) = await running.services.events.events(running.site.id)
    assert event.referrer is None and event.referrer_source is None


async def test_utm_source_stands_in_without_referrer(running: Running) -> None:
    await post(running, hit(running, url="https://example.com/?ref=producthunt"))
    (event,) = await running.services.events.events(running.site.id)
    assert event.utm_source == "producthunt"
    assert event.referrer_source == "producthunt"


async def test_cors_preflight(running: Running) -> None:
    response = await running.client.options(
        "/api/event",
        headers={"Origin": "https://example.com", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"


# -- drop reasons ---------------------------------------------------------------------------


async def assert_dropped(running: Running, response, reason: DropReason) -> None:
    assert response.status_code == 202
    assert response.json() == {"status": "dropped", "reason": reason.value}
    assert response.headers["x-footfall-dropped"] == reason.value
    assert await running.services.events.count() == 0
    assert running.services.drops.snapshot()[reason.value] == 1


async def test_drop_bot(running: Running) -> None:
    response = await post(running, hit(running), **{"User-Agent": "Googlebot/2.1"})
    await assert_dropped(running, response, DropReason.BOT)


async def test_drop_empty_user_agent(running: Running) -> None:
    response = await post(running, hit(running), **{"User-Agent": ""})
    await assert_dropped(running, response, DropReason.BOT)


async def test_drop_hostname_mismatch(running: Running) -> None:
    response = await post(running, hit(running, url="https://evil.example/pricing"))
    await assert_dropped(running, response, DropReason.HOSTNAME_MISMATCH)


async def test_lookalike_domain_is_a_mismatch(running: Running) -> None:
    response = await post(running, hit(running, url="https://notexample.com/"))
    await assert_dropped(running, response, DropReason.HOSTNAME_MISMATCH)


async def test_subdomain_belongs_to_the_site(running: Running) -> None:
    response = await post(running, hit(running, url="https://blog.example.com/post"))
    assert response.json() == {"status": "accepted"}


async def test_drop_referrer_spam(running: Running) -> None:
    response = await post(running, hit(running, referrer="https://www.semalt.com/x?y=1"))
    await assert_dropped(running, response, DropReason.REFERRER_SPAM)


async def test_drop_prefetch(running: Running) -> None:
    response = await post(running, hit(running), **{"Sec-Purpose": "prefetch;prerender"})
    await assert_dropped(running, response, DropReason.PREFETCH)


@pytest.mark.parametrize("signal", [{"Sec-GPC": "1"}, {"DNT": "1"}, {"Sec-GPC": " 1 "}])
async def test_drop_privacy_signal_when_the_site_honours_it(
    running: Running, signal: dict[str, str]
) -> None:
    await running.services.meta.update_site(running.site.id, honor_gpc=True)
    response = await post(running, hit(running), **signal)
    await assert_dropped(running, response, DropReason.PRIVACY_SIGNAL)
    # No signal (or a signal saying "0"): counted as usual.
    assert (await post(running, hit(running))).json() == {"status": "accepted"}
    accepted = await post(running, hit(running), **{"Sec-GPC": "0", "DNT": "0"})
    assert accepted.json() == {"status": "accepted"}


async def test_privacy_signals_are_ignored_unless_the_site_honours_them(running: Running) -> None:
    response = await post(running, hit(running), **{"Sec-GPC": "1", "DNT": "1"})
    assert response.json() == {"status": "accepted"}
    assert await running.services.events.count() == 1


async def test_drop_duplicate_event_id(running: Running) -> None:
    first = await post(running, hit(running, eventId="k7Qw2-_x9ZbT0pLm"))
    assert first.json() == {"status": "accepted"}
    response = await post(running, hit(running, eventId="k7Qw2-_x9ZbT0pLm"))
    assert response.status_code == 202
    assert response.json() == {"status": "dropped", "reason": "duplicate"}
    assert response.headers["x-footfall-dropped"] == "duplicate"
    assert await running.services.events.count() == 1
    assert running.services.drops.snapshot()["duplicate"] == 1
    (event,) = await running.services.events.events(running.site.id)
    assert event.event_id == "k7Qw2-_x9ZbT0pLm"


async def test_every_drop_reason_is_covered_here() -> None:
    tested = {
        "bot",
        "hostname_mismatch",
        "referrer_spam",
        "prefetch",
        "privacy_signal",
        "duplicate",
    }
    assert {reason.value for reason in DropReason} == tested


async def test_drop_counts_are_reported_in_healthz(running: Running) -> None:
    await post(running, hit(running), **{"User-Agent": "Googlebot/2.1"})
    await post(running, hit(running), **{"User-Agent": "Googlebot/2.1"})
    body = (await running.client.get("/healthz")).json()
    assert body["dropped"]["bot"] == 2
    assert body["dropped"]["prefetch"] == 0


# -- validation errors ----------------------------------------------------------------------

LONG = "x" * 3000


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "Malformed JSON body"),
        (b"[1, 2]", 400, "Body must be a JSON object"),
        (b"", 400, "Request body is empty; send a JSON object"),
        ({"url": "https://example.com/"}, 400, "websiteId: is required"),
        (
            {"websiteId": 42, "url": "https://example.com/"},
            400,
            "websiteId: Input should be a valid string",
        ),
        ({"websiteId": "SITE"}, 400, "url: is required"),
        (
            {"websiteId": "SITE", "url": "ftp://example.com/"},
            400,
            "url: must be an absolute http(s) URL",
        ),
        ({"websiteId": "SITE", "url": "/relative"}, 400, "url: must be an absolute http(s) URL"),
        (
            {"websiteId": "SITE", "url": "https://example.com/" + LONG},
            400,
            "url: String should have at most 2048 characters",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "name": "n" * 121},
            400,
            "name: String should have at most 120 characters",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "name": ""},
            400,
            "name: String should have at least 1 character",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "screenWidth": "1920"},
            400,
            "screenWidth: Input should be a valid integer",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "screenWidth": -1},
            400,
            "screenWidth: Input should be greater than or equal to 0",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "props": [1]},
            400,
            "props: must be a JSON object",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "eventId": "a b"},
            400,
            "eventId: must be 1 to 64 characters among A-Z, a-z, 0-9, '-' and '_'",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "eventId": "x" * 65},
            400,
            "eventId: must be 1 to 64 characters among A-Z, a-z, 0-9, '-' and '_'",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "eventId": 7},
            400,
            "eventId: Input should be a valid string",
        ),
        (
            {
                "websiteId": "SITE",
                "url": "https://example.com/",
                "props": {f"k{i}": i for i in range(31)},
            },
            400,
            "props: at most 30 properties",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "props": {"k": LONG}},
            400,
            "props: k: string values must be at most 2000 characters",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "props": {"k" * 301: 1}},
            400,
            "props: property names must be 1 to 300 characters",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "props": {"k": {"nested": 1}}},
            400,
            "props: k: values must be strings, numbers or booleans",
        ),
        (
            {"websiteId": "SITE", "url": "https://example.com/", "props": {"k": None}},
            400,
            "props: k: values must be strings, numbers or booleans",
        ),
        ({"websiteId": "no-such-site", "url": "https://example.com/"}, 404, "Website not found"),
    ],
)
async def test_validation_errors(running: Running, body: object, status: int, message: str) -> None:
    if isinstance(body, dict) and body.get("websiteId") == "SITE":
        body = {**body, "websiteId": running.site.id}
    response = await post(running, body)
    assert response.status_code == status
    assert response.json()["error"] == message
    assert response.headers["access-control-allow-origin"] == "*"
    assert await running.services.events.count() == 0


async def test_body_too_large(running: Running) -> None:
    body = json.dumps(hit(running, props={"k": "v" * 1000})).encode() + b" " * 20_000
    response = await post(running, body)
    assert response.status_code == 413
    assert response.json() == {"error": "Request body is larger than 16384 bytes"}


async def test_body_too_large_without_content_length(running: Running) -> None:
    async def chunks():
        for _ in range(20):
            yield b" " * 1000

    response = await running.client.post(
        "/api/event", content=chunks(), headers={"User-Agent": CHROME_UA}
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]


async def test_wrong_method(running: Running) -> None:
    response = await running.client.get("/api/event")
    assert response.status_code == 405
    assert response.json() == {"error": "Method not allowed"}


async def test_unknown_path(running: Running) -> None:
    response = await running.client.get("/api/nothing")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}
