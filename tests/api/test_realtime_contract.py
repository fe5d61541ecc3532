"""The Realtime API contract (docs/api/realtime.md): errors in order, success shape, counting."""

from __future__ import annotations

import re

import httpx

from footfall.auth import tokens
from tests.conftest import CHROME_UA, FIREFOX_UA, Running

MISSING = "Missing or invalid authorization header. Expected: Bearer <token>"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def assert_error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status
    assert response.json() == {"error": message}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    else:
        assert "www-authenticate" not in response.headers


async def get(running: Running, params: dict[str, str] | None, auth: str | None) -> httpx.Response:
    headers = {"Authorization": auth} if auth is not None else {}
    return await running.client.get("/api/v1/realtime", params=params, headers=headers)


# -- 1. missing or invalid authorization header ---------------------------------------------


async def test_no_authorization_header(running: Running) -> None:
    assert_error(await get(running, {"websiteId": running.site.id}, None), 401, MISSING)


async def test_other_scheme(running: Running) -> None:
    response = await get(running, {"websiteId": running.site.id}, f"Basic {running.token}")
    assert_error(response, 401, MISSING)


async def test_bearer_without_token(running: Running) -> None:
    for header in ("Bearer", "Bearer ", "Bearer    "):
        assert_error(await get(running, {"websiteId": running.site.id}, header), 401, MISSING)


async def test_missing_header_beats_missing_website_id(running: Running) -> None:
    assert_error(await get(running, None, None), 401, MISSING)


async def test_scheme_is_case_insensitive(running: Running) -> None:
    for scheme in ("bearer", "BEARER", "BeArEr"):
        response = await get(running, {"websiteId": running.site.id}, f"{scheme} {running.token}")
        assert response.status_code == 200


# -- 2. invalid token format ----------------------------------------------------------------


async def test_malformed_tokens(running: Running) -> None:
    good = running.token
    broken_checksum = good[:-1] + ("A" if good[-1] != "A" else "B")
    for token in (
        "vt_",
        "abc",
        "vt_short",
        good[:-1],
        good + "x",
        "xx" + good[2:],
        broken_checksum,
        good[:10] + "-" + good[11:],
    ):
        response = await get(running, {"websiteId": running.site.id}, f"Bearer {token}")
        assert_error(response, 401, "Invalid token format")


async def test_bad_token_without_website_id_is_invalid_format(running: Running) -> None:
    assert_error(await get(running, None, "Bearer vt_nope"), 401, "Invalid token format")


# -- 3. websiteId required ------------------------------------------------------------------


async def test_website_id_absent_or_empty(running: Running) -> None:
    assert_error(await get(running, None, f"Bearer {running.token}"), 400, "websiteId is required")
    response = await get(running, {"websiteId": ""}, f"Bearer {running.token}")
    assert_error(response, 400, "websiteId is required")


# -- 4. website not found -------------------------------------------------------------------


async def test_unknown_website(running: Running) -> None:
    response = await get(running, {"websiteId": "no-such-site"}, f"Bearer {running.token}")
    assert_error(response, 404, "Website not found")


async def test_well_formed_unknown_token_on_unknown_site_is_not_found(running: Running) -> None:
    response = await get(
        running, {"websiteId": "no-such-site"}, f"Bearer {tokens.generate_token()}"
    )
    assert_error(response, 404, "Website not found")


# -- 5. no API token configured -------------------------------------------------------------


async def test_site_without_tokens(running: Running) -> None:
    other = await running.services.meta.create_site("other.example", None, running.clock.now())
    response = await get(running, {"websiteId": other.id}, f"Bearer {running.token}")
    assert_error(response, 401, "No API token configured for this website")


async def test_site_whose_tokens_are_all_revoked(running: Running) -> None:
    meta = running.services.meta
    other = await meta.create_site("other.example", None, running.clock.now())
    token, info = await meta.create_token(other.id, running.clock.now())
    await meta.revoke_token(info.id, running.clock.now())
    response = await get(running, {"websiteId": other.id}, f"Bearer {token}")
    assert_error(response, 401, "No API token configured for this website")


# -- 6. invalid API token -------------------------------------------------------------------


async def test_unknown_well_formed_token(running: Running) -> None:
    response = await get(
        running, {"websiteId": running.site.id}, f"Bearer {tokens.generate_token()}"
    )
    assert_error(response, 401, "Invalid API token")


async def test_token_of_another_website(running: Running) -> None:
    meta = running.services.meta
    other = await meta.create_site("other.example", None, running.clock.now())
    other_token, _ = await meta.create_token(other.id, running.clock.now())
    response = await get(running, {"websiteId": running.site.id}, f"Bearer {other_token}")
    assert_error(response, 401, "Invalid API token")
    response = await get(running, {"websiteId": other.id}, f"Bearer {running.token}")
    assert_error(response, 401, "Invalid API token")


async def test_revoked_token_while_site_has_another(running: Running) -> None:
    meta = running.services.meta
    second, info = await meta.create_token(running.site.id, running.clock.now())
    assert (await running.realtime(token=second)).status_code == 200
    await meta.revoke_token(info.id, running.clock.now())
    assert_error(await running.realtime(token=second), 401, "Invalid API token")
    assert (await running.realtime()).status_code == 200


# -- 7. internal server error ---------------------------------------------------------------


async def test_unexpected_failure_is_generic_500(running: Running, monkeypatch) -> None:
    async def broken(site_id: str) -> int:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(running.services.presence, "count", broken)
    response = await running.realtime()
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error"}
    assert "secret" not in response.text


# -- success --------------------------------------------------------------------------------


async def test_success_shape(running: Running) -> None:
    response = await running.realtime()
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"currentVisitors", "websiteId", "timestamp"}
    assert body["currentVisitors"] == 0
    assert body["websiteId"] == running.site.id
    assert TIMESTAMP.match(body["timestamp"])
    assert body["timestamp"] == "2026-09-21T14:13:20.000Z"


async def test_timestamp_has_milliseconds(running: Running) -> None:
    running.clock.advance(0.0456)
    assert (await running.realtime()).json()["timestamp"] == "2026-09-21T14:13:20.045Z"


async def test_cors_preflight(running: Running) -> None:
    response = await running.client.options(
        "/api/v1/realtime",
        headers={
            "Origin": "https://pricing.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert "GET" in response.headers["access-control-allow-methods"]
    get_response = await running.realtime()
    assert get_response.headers["access-control-allow-origin"] == "*"


# -- counting -------------------------------------------------------------------------------


async def count(running: Running) -> int:
    response = await running.realtime()
    assert response.status_code == 200
    value: int = response.json()["currentVisitors"]
    return value


async def test_counts_unique_visitors(running: Running) -> None:
    for _ in range(3):
        assert (await running.pageview(ip="198.51.100.1")).status_code == 202
    await running.pageview(ip="198.51.100.2")
    await running.pageview(ip="198.51.100.1", ua=FIREFOX_UA)  # another browser, another visitor
    assert await count(running) == 3


async def test_only_pageviews_count(running: Running) -> None:
    response = await running.pageview(ip="198.51.100.9", name="signup")
    assert response.status_code == 202
    assert response.json() == {"status": "accepted"}
    assert await count(running) == 0
    await running.pageview(ip="198.51.100.9")
    assert await count(running) == 1


async def test_three_minute_boundary(running: Running) -> None:
    await running.pageview(ip="198.51.100.1")
    running.clock.advance(20)
    await running.pageview(ip="198.51.100.2")
    running.clock.advance(150)  # first is 170 s old, second 150 s
    assert await count(running) == 2
    running.clock.advance(20)  # first is 190 s old, second 170 s
    assert await count(running) == 1
    running.clock.advance(20)  # second 190 s
    assert await count(running) == 0


async def test_a_new_pageview_extends_the_window(running: Running) -> None:
    await running.pageview(ip="198.51.100.1")
    running.clock.advance(170)
    await running.pageview(ip="198.51.100.1", path="/pricing")
    running.clock.advance(170)
    assert await count(running) == 1


async def test_bots_are_not_counted(running: Running) -> None:
    bot_agents = [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.0.0 Safari/537.36",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "",
    ]
    for i, ua in enumerate(bot_agents):
        response = await running.pageview(ip=f"198.51.100.{i + 1}", ua=ua)
        assert response.status_code == 202
        assert response.headers["x-footfall-dropped"] == "bot", ua
    assert await count(running) == 0
    await running.pageview(ip="198.51.100.99", ua=CHROME_UA)
    assert await count(running) == 1


async def test_counts_are_per_website(running: Running) -> None:
    meta = running.services.meta
    other = await meta.create_site("other.example", None, running.clock.now())
    other_token, _ = await meta.create_token(other.id, running.clock.now())
    await running.pageview(ip="198.51.100.1")
    response = await running.client.post(
        "/api/event",
        json={"websiteId": other.id, "url": "https://other.example/"},
        headers={"User-Agent": CHROME_UA, "X-Forwarded-For": "198.51.100.2"},
    )
    assert response.status_code == 202
    assert await count(running) == 1
    other_count = await running.realtime(token=other_token, site_id=other.id)
    assert other_count.json()["currentVisitors"] == 1


async def test_token_last_used_is_recorded(running: Running) -> None:
    await running.realtime()
    (info,) = await running.services.meta.list_tokens(running.site.id)
    assert info.last_used_at == running.clock.now()
