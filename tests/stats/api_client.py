"""Calling the Stats API in tests: a request with the site's token, and the error contract.

Shared by the JSON (tests/stats/test_api.py) and CSV (tests/stats/test_goals_csv_api.py)
endpoint tests.
"""

from __future__ import annotations

import httpx

from tests.conftest import Running


async def get(
    running: Running,
    endpoint: str,
    params: dict[str, str] | None = None,
    token: str | None = "default",
    site: bool = True,
) -> httpx.Response:
    """GET /api/v1/stats/<endpoint> for the running app's site (`site=False`: no websiteId)
    with its token (`token=None`: no Authorization header; else that token). `breakdown`
    gets `property=event:page` unless `params` name one."""
    query: dict[str, str] = {"websiteId": running.site.id} if site else {}
    query.update(params or {})
    if endpoint == "breakdown":
        query.setdefault("property", "event:page")
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {running.token if token == 'default' else token}"
    return await running.client.get(f"/api/v1/stats/{endpoint}", params=query, headers=headers)


def assert_error(response: httpx.Response, status: int, message: str) -> None:
    """An error answer of the Stats API: JSON `{"error": message}`, not cached, readable from
    any origin, with a request id; a 401 asks for a Bearer token."""
    assert response.status_code == status, response.text
    assert response.json() == {"error": message}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "x-request-id" in response.headers
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


async def assert_cors_preflight(running: Running, endpoint: str) -> None:
    """A browser's preflight for a GET with an Authorization header is allowed from anywhere."""
    response = await running.client.options(
        f"/api/v1/stats/{endpoint}",
        headers={
            "Origin": "https://dashboard.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in response.headers["access-control-allow-headers"]
    assert "GET" in response.headers["access-control-allow-methods"]
