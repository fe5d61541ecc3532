"""A real `footfall serve` process: acknowledged events survive SIGTERM, the count a restart."""

from __future__ import annotations

import concurrent.futures
import json
import signal
from pathlib import Path

import httpx
import pytest

from tests.conftest import CHROME_UA
from tests.serverproc import footfall_cli, footfall_server, stored_events

pytestmark = pytest.mark.slow


def make_site(data_dir: Path) -> tuple[str, str]:
    site = footfall_cli("sites", "add", "example.com", "--json", data_dir=data_dir)
    website_id = json.loads(site.stdout)["websiteId"]
    token = footfall_cli("tokens", "create", website_id, data_dir=data_dir).stdout.splitlines()[-1]
    return website_id, token


def send_pageview(url: str, site_id: str, visitor: int) -> int:
    response = httpx.post(
        f"{url}/api/event",
        content=f'{{"websiteId":"{site_id}","url":"https://example.com/p{visitor}"}}',
        headers={"User-Agent": f"{CHROME_UA} v{visitor}", "Content-Type": "text/plain"},
        timeout=10,
    )
    return response.status_code


def test_sigterm_drains_and_restart_keeps_the_count(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    site_id, token = make_site(data_dir)
    auth = {"Authorization": f"Bearer {token}"}
    with footfall_server(data_dir) as server:
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda i: send_pageview(server.url, site_id, i), range(200)))
        assert statuses == [202] * 200
        count = httpx.get(
            f"{server.url}/api/v1/realtime", params={"websiteId": site_id}, headers=auth
        )
        assert count.json()["currentVisitors"] == 200
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
        log = server.log()
        assert '"stopped"' in log and "Application shutdown complete" in log

    assert len(stored_events(data_dir, site_id)) == 200

    with footfall_server(data_dir) as server:
        response = httpx.get(
            f"{server.url}/api/v1/realtime", params={"websiteId": site_id}, headers=auth
        )
        assert response.status_code == 200
        assert response.json()["currentVisitors"] == 200


def test_healthz_and_request_ids(tmp_path: Path) -> None:
    with footfall_server(tmp_path / "data") as server:
        response = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "probe-123"})
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["backends"] == {
            "metadata": "ok",
            "events": "ok",
            "presence": "ok",
            "writer": "ok",
        }
        assert response.headers["x-request-id"] == "probe-123"
        generated = httpx.get(f"{server.url}/healthz").headers["x-request-id"]
        assert len(generated) == 32
    log = server.log()
    assert '"request_id":"probe-123"' in log
    assert '"path":"/healthz"' in log


def test_second_server_on_the_same_data_dir_is_refused_clearly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with footfall_server(data_dir), pytest.raises(RuntimeError) as failure:  # noqa: SIM117
        with footfall_server(data_dir):
            pass
    assert "in use by another process" in str(failure.value)


def test_forwarded_for_is_ignored_without_trusted_proxies(tmp_path: Path) -> None:
    """Regression: uvicorn's own proxy handling believed X-Forwarded-For from 127.0.0.1."""
    data_dir = tmp_path / "data"
    site_id, token = make_site(data_dir)
    with footfall_server(data_dir) as server:
        for forged in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            response = httpx.post(
                f"{server.url}/api/event",
                json={"websiteId": site_id, "url": "https://example.com/"},
                headers={"User-Agent": CHROME_UA, "X-Forwarded-For": forged},
            )
            assert response.status_code == 202
        count = httpx.get(
            f"{server.url}/api/v1/realtime",
            params={"websiteId": site_id},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert count.json()["currentVisitors"] == 1
    with footfall_server(data_dir, env={"FOOTFALL_TRUSTED_PROXIES": "127.0.0.1/32"}) as server:
        response = httpx.post(
            f"{server.url}/api/event",
            json={"websiteId": site_id, "url": "https://example.com/"},
            headers={"User-Agent": CHROME_UA, "X-Forwarded-For": "198.51.100.9"},
        )
        assert response.status_code == 202
        count = httpx.get(
            f"{server.url}/api/v1/realtime",
            params={"websiteId": site_id},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert count.json()["currentVisitors"] == 2  # the proxy's client is a new visitor
