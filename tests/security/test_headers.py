"""Security headers: every answer says `nosniff` and sends no Referer; the server's own HTML
pages (`/docs`, `/demo`) carry a Content-Security-Policy that allows their inline blocks by
hash only, and the dashboard keeps its own policy (no header doubled)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from footfall.config import Settings
from tests.conftest import CHROME_UA, FakeClock, Running, start_app


async def answers(running: Running) -> dict[str, httpx.Response]:
    client = running.client
    auth = {"Authorization": f"Bearer {running.token}"}
    return {
        "realtime 200": await running.realtime(),
        "realtime 401": await client.get("/api/v1/realtime", params={"websiteId": "x"}),
        "stats 400": await client.get(
            "/api/v1/stats/aggregate", params={"websiteId": running.site.id, "x": "1"}, headers=auth
        ),
        "event 202": await running.pageview(),
        "event 400": await client.post(
            "/api/event", content=b"{", headers={"User-Agent": CHROME_UA}
        ),
        "preflight": await client.options("/api/event"),
        "healthz": await client.get("/healthz"),
        "openapi": await client.get("/openapi.json"),
        "script": await client.get("/script.js"),
        "docs": await client.get("/docs"),
        "404": await client.get("/nothing-here"),
    }


async def test_every_answer_says_nosniff_and_no_referrer(running: Running) -> None:
    for name, response in (await answers(running)).items():
        headers = response.headers
        assert headers.get_list("x-content-type-options") == ["nosniff"], name
        assert headers.get_list("referrer-policy") == ["no-referrer"], name


def inline_hashes(page: str) -> set[str]:
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(r"<(?:script|style)>(.*?)</(?:script|style)>", page, re.DOTALL)
    }


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


async def test_docs_page_policy(running: Running) -> None:
    page = await running.client.get("/docs")
    policy = directives(page.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'none'"]  # the reference runs no code at all
    assert set(policy["style-src"]) == inline_hashes(page.text) != set()
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]


@pytest.fixture
async def demo(settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    demo_settings = settings.model_copy(
        update={"demo_site_id": "3f1c2b9e-6a55-4f0c-9c3e-0d9f1f2a7b10"}
    )
    async with start_app(demo_settings, clock) as (_app, client):
        yield client


async def test_demo_page_policy(demo: httpx.AsyncClient) -> None:
    page = await demo.get("/demo")
    policy = directives(page.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"][0] == "'self'"  # the tracker, from this server
    assert set(policy["script-src"][1:]) | set(policy["style-src"]) == inline_hashes(page.text)
    assert policy["connect-src"] == ["'self'"]  # the tracker sends its events here only
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert page.headers.get_list("x-content-type-options") == ["nosniff"]


async def test_the_dashboard_keeps_its_own_headers(running: Running) -> None:
    page = await running.client.get("/login")
    assert page.headers.get_list("referrer-policy") == ["same-origin"]
    assert page.headers.get_list("x-content-type-options") == ["nosniff"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
