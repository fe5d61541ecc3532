"""`GET /api/v1/live` with publishable keys, and the Realtime API's optional `path`.

Key scope: a publishable key opens the live count of its own site — for the paths it names,
from the origins it names, until revoked — and nothing else: every other API endpoint refuses
it. Counting goes through real tracker hits, so per-page answers come from ingestion's paths.
"""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from starlette.routing import Route

from footfall.auth import publishable
from footfall.storage.meta import SqlMetaStore
from footfall.storage.publishable_keys import PublishableKey, PublishableKeyStore
from tests.conftest import Running

ORIGIN = "https://shop.example.com"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


async def make_key(
    running: Running, *, origins: tuple[str, ...] = (ORIGIN,), paths: tuple[str, ...] = ()
) -> PublishableKey:
    return await running.services.keys.create(
        running.site.id, running.clock.now(), origins=origins, paths=paths
    )


async def live(
    running: Running, key: str | None, path: str | None = None, origin: str | None = ORIGIN
) -> httpx.Response:
    params = {k: v for k, v in (("key", key), ("path", path)) if v is not None}
    headers = {"Origin": origin} if origin is not None else {}
    return await running.client.get("/api/v1/live", params=params, headers=headers)


def assert_error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": message}
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == "*"  # errors carry no count


async def visit(running: Running, n: int, path: str) -> None:
    response = await running.pageview(ip=f"198.51.100.{n}", path=path)
    assert response.status_code == 202 and response.json() == {"status": "accepted"}


# -- success --------------------------------------------------------------------------------


async def test_count_shape_and_cors(running: Running) -> None:
    key = await make_key(running, origins=(ORIGIN, "http://localhost:3000"))
    await visit(running, 1, "/pricing")
    response = await live(running, key.key)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "currentVisitors": 1,
        "belowMinimum": False,
        "minimum": 0,
        "path": None,
        "timestamp": body["timestamp"],
    }
    assert TIMESTAMP.match(body["timestamp"])
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["vary"] == "Origin"
    other = await live(running, key.key, origin="http://LOCALHOST:3000")
    assert other.headers["access-control-allow-origin"] == "http://localhost:3000"


async def test_a_key_for_any_origin_answers_with_a_star(running: Running) -> None:
    key = await make_key(running, origins=("*",))
    for origin in (ORIGIN, None, "null"):
        response = await live(running, key.key, origin=origin)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"


async def test_counts_per_page_and_pattern(running: Running) -> None:
    key = await make_key(running)
    pages = ["/pricing", "/pricing", "/pricing/team", "/pricing/team/annual", "/blog", "/"]
    for n, path in enumerate(pages, start=1):
        await visit(running, n, path)
    await visit(running, 2, "/signup")  # visitor 2 moved on: counted on /signup only
    expected = {None: 6, "/pricing": 1, "/pricing/*": 2, "/pricing*": 3, "/signup": 1, "/*": 6}
    for path, count in expected.items():
        response = await live(running, key.key, path)
        assert response.status_code == 200
        assert response.json()["currentVisitors"] == count, path
        assert response.json()["path"] == path


async def test_page_counts_follow_the_window(running: Running) -> None:
    key = await make_key(running)
    await visit(running, 1, "/pricing")
    running.clock.advance(179.9)
    assert (await live(running, key.key, "/pricing")).json()["currentVisitors"] == 1
    running.clock.advance(0.1)
    assert (await live(running, key.key, "/pricing")).json()["currentVisitors"] == 0


async def test_counts_below_the_minimum_are_withheld(running: Running) -> None:
    await running.services.meta.update_site(running.site.id, live_min_count=3)
    key = await make_key(running)
    for n in (1, 2):
        await visit(running, n, "/pricing")
    body = (await live(running, key.key, "/pricing")).json()
    assert body["currentVisitors"] is None
    assert (body["belowMinimum"], body["minimum"]) == (True, 3)
    await visit(running, 3, "/pricing")
    body = (await live(running, key.key, "/pricing")).json()
    assert (body["currentVisitors"], body["belowMinimum"]) == (3, False)
    # Secret tokens see the exact number: the threshold guards public pages only.
    answer = await running.client.get(
        "/api/v1/realtime",
        params={"websiteId": running.site.id, "path": "/nowhere"},
        headers={"Authorization": f"Bearer {running.token}"},
    )
    assert answer.json()["currentVisitors"] == 0


async def test_last_use_is_recorded(running: Running) -> None:
    key = await make_key(running)
    assert (await live(running, key.key)).status_code == 200
    (listed,) = await running.services.keys.list_keys(running.site.id)
    assert listed.last_used_at == running.clock.now()


async def test_preflight(running: Running) -> None:
    response = await running.client.options(
        "/api/v1/live",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "GET" in response.headers["access-control-allow-methods"]


# -- checks, in order -----------------------------------------------------------------------


async def test_key_missing_or_empty(running: Running) -> None:
    for key in (None, ""):
        assert_error(
            await live(running, key),
            401,
            "key is required: a publishable key (pk_…) of the website",
        )


async def test_a_secret_token_is_refused_and_not_echoed(running: Running) -> None:
    response = await live(running, running.token)
    assert_error(
        response,
        401,
        "This is a secret API token: never put it in a web page. "
        "Use a publishable key (pk_…, footfall keys create)",
    )
    assert running.token not in response.text


async def test_malformed_and_unknown_keys(running: Running) -> None:
    key = await make_key(running)
    broken = key.key[:-1] + ("A" if key.key[-1] != "A" else "B")
    for bad in (broken, "pk_short", key.key + "x", publishable.generate_key()):
        assert_error(await live(running, bad), 401, "Invalid publishable key")


async def test_invalid_path_names_the_parameter(running: Running) -> None:
    key = await make_key(running)
    assert_error(
        await live(running, key.key, "pricing"),
        400,
        'path: must start with "/" (e.g. /pricing or /pricing/*)',
    )
    response = await live(running, key.key, "/a/*/b")
    assert_error(response, 400, 'path: may contain "*" only at the end (e.g. /pricing/*)')
    # The key is checked first: a malformed key with a bad path is a 401.
    assert_error(await live(running, "pk_nope", "pricing"), 401, "Invalid publishable key")


async def test_disallowed_origin(running: Running) -> None:
    key = await make_key(running)
    for origin in ("https://evil.example", "http://shop.example.com", "null", None):
        response = await live(running, key.key, origin=origin)
        assert_error(response, 403, "Origin not allowed for this key")  # readable: no count


async def test_disallowed_path(running: Running) -> None:
    key = await make_key(running, paths=("/pricing", "/plans/*"))
    for path in ("/pricing", "/plans/team", "/plans/*", "/plans/team/*"):
        assert (await live(running, key.key, path)).status_code == 200, path
    for path in (None, "/about", "/pricing/*", "/plans", "/*", "/pricing*"):
        assert_error(await live(running, key.key, path), 403, "Path not allowed for this key")


async def test_a_key_revoked_elsewhere_is_refused_within_the_recheck_interval(
    running: Running,
) -> None:
    key = await make_key(running)
    assert (await live(running, key.key)).status_code == 200
    # Revoked elsewhere (the CLI is another process with its own store).
    cli = await SqlMetaStore.open(
        database_url=None, sqlite_path=running.services.settings.meta_path
    )
    try:
        await PublishableKeyStore(cli).revoke(key.key, running.clock.now())
    finally:
        await cli.close()
    interval = running.services.settings.meta_recheck_ms / 1000
    deadline = time.monotonic() + interval + 2.0
    while (response := await live(running, key.key)).status_code == 200:
        assert time.monotonic() < deadline, "revocation not applied within the interval"
        await asyncio.sleep(interval / 10)  # poll as a page would, not as a flood
    assert_error(response, 401, "Invalid publishable key")


async def test_a_key_revoked_through_the_server_is_refused_at_once(running: Running) -> None:
    key = await make_key(running)
    assert (await live(running, key.key)).status_code == 200
    await running.services.keys.revoke(key.key, running.clock.now())
    assert_error(await live(running, key.key), 401, "Invalid publishable key")


async def test_a_deleted_sites_keys_are_refused(running: Running) -> None:
    key = await make_key(running)
    await running.services.meta.delete_site(running.site.id, running.clock.now())
    assert_error(await live(running, key.key), 401, "Invalid publishable key")


async def test_another_sites_key_reads_its_own_site_only(running: Running) -> None:
    meta, keys = running.services.meta, running.services.keys
    other = await meta.create_site("other.example", None, running.clock.now())
    other_key = await keys.create(other.id, running.clock.now(), origins=[ORIGIN])
    await visit(running, 1, "/")
    assert (await live(running, other_key.key)).json()["currentVisitors"] == 0


# -- a publishable key opens nothing else ---------------------------------------------------


def api_routes(running: Running) -> list[tuple[str, str]]:
    """Every (method, path) of the API but the live count's and the public ingestion's."""
    found = []
    for route in running.app.routes:
        assert isinstance(route, Route)
        if not route.path.startswith("/api/") or route.path.startswith("/api/v1/live"):
            continue
        if route.path == "/api/event":  # public: anyone may send events, key or not
            continue
        found += [(m, route.path) for m in route.methods or () if m not in ("HEAD", "OPTIONS")]
    return found


async def test_a_publishable_key_is_refused_everywhere_else(running: Running) -> None:
    key = await make_key(running, origins=("*",))
    routes = api_routes(running)
    assert ("GET", "/api/v1/realtime") in routes and ("POST", "/api/v1/events") in routes
    assert ("GET", "/api/v1/stats/aggregate") in routes
    params = {"websiteId": running.site.id, "key": key.key, "property": "event:page"}
    for method, path in routes:
        for headers in ({"Authorization": f"Bearer {key.key}"}, {}):
            response = await running.client.request(
                method, path, params=params, headers={"Origin": ORIGIN, **headers}, json={}
            )
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.json()["error"] in (
                "Invalid token format",
                "Missing or invalid authorization header. Expected: Bearer <token>",
            )


# -- the Realtime API's optional path -------------------------------------------------------


async def realtime(
    running: Running, params: dict[str, str], token: str | None = None
) -> httpx.Response:
    return await running.client.get(
        "/api/v1/realtime",
        params={"websiteId": running.site.id, **params},
        headers={"Authorization": f"Bearer {token or running.token}"},
    )


async def test_realtime_with_path(running: Running) -> None:
    for n, path in enumerate(["/pricing", "/pricing/team", "/"], start=1):
        await visit(running, n, path)
    plain = await realtime(running, {})
    assert list(plain.json()) == ["currentVisitors", "websiteId", "timestamp"]  # the contract
    assert plain.json()["currentVisitors"] == 3
    for path, count in {"/pricing": 1, "/pricing/*": 1, "/pricing*": 2, "/*": 3}.items():
        body = (await realtime(running, {"path": path})).json()
        assert body["currentVisitors"] == count, path
        assert list(body) == ["currentVisitors", "websiteId", "path", "timestamp"]
        assert body["path"] == path


async def test_realtime_invalid_path_after_the_contract_checks(running: Running) -> None:
    response = await realtime(running, {"path": "pricing"})
    assert response.status_code == 400
    assert response.json() == {"error": 'path: must start with "/" (e.g. /pricing or /pricing/*)'}
    # The contract's checks come first: a bad token with a bad path is still a 401.
    bad = await realtime(running, {"path": "pricing"}, token="vt_nope")
    assert (bad.status_code, bad.json()) == (401, {"error": "Invalid token format"})


@pytest.mark.parametrize("value", ["", "   "])
async def test_realtime_empty_path_is_refused(running: Running, value: str) -> None:
    response = await realtime(running, {"path": value})
    assert response.status_code == 400
    assert response.json()["error"].startswith("path: ")
