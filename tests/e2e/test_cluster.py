"""Cluster mode with real processes: two instances share one PostgreSQL and one Redis.

- pageviews sent to instance A are counted by instance B at once;
- a token created (CLI) works on both; a token revoked stops working on both at once;
- Redis killed and restarted empty: 503 while down, `/healthz` names it, and the count comes
  back correct (rebuilt from PostgreSQL) without restarting Footfall;
- PostgreSQL unreachable (a cut TCP proxy): 503 naming the backend, then recovery.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import CHROME_UA
from tests.serverproc import ServerProcess, footfall_server, free_port
from tests.tcpproxy import TcpProxy

pytestmark = pytest.mark.slow

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def cluster_env(database_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    return {
        "FOOTFALL_DATABASE_URL": database_url,
        "FOOTFALL_REDIS_URL": redis_url,
        "FOOTFALL_REDIS_PREFIX": prefix,
    }


def cli(env: dict[str, str], tmp_path: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "footfall", *args],
        env={**os.environ, **env, "FOOTFALL_DATA_DIR": str(tmp_path / "unused")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def pageview(server: ServerProcess, site_id: str, n: int) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/event",
        json={"websiteId": site_id, "url": "https://example.com/pricing"},
        headers={"User-Agent": f"{CHROME_UA} visitor-{n}"},
        timeout=10,
    )


def realtime(server: ServerProcess, site_id: str, token: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/v1/realtime",
        params={"websiteId": site_id},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def wait_for(predicate, timeout: float = 20.0) -> None:
    """Poll a condition about a process we do not control the timing of (recovery)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


@contextlib.contextmanager
def two_instances(
    tmp_path: Path, env: dict[str, str]
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with (
        footfall_server(tmp_path / "a", env=env) as a,
        footfall_server(tmp_path / "b", env=env) as b,
    ):
        yield a, b


def test_two_instances_give_one_answer(
    tmp_path: Path, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    env = cluster_env(pg_url, redis_url, redis_prefix)
    site_id = json.loads(cli(env, tmp_path, "sites", "add", "example.com", "--json"))["websiteId"]
    token = cli(env, tmp_path, "tokens", "create", site_id).splitlines()[-1]
    with two_instances(tmp_path, env) as (a, b):
        assert httpx.get(f"{a.url}/healthz").json()["mode"] == "cluster"
        for n in range(5):
            assert pageview(a, site_id, n).status_code == 202
        assert pageview(b, site_id, 99).status_code == 202
        assert realtime(b, site_id, token).json()["currentVisitors"] == 6
        assert realtime(a, site_id, token).json()["currentVisitors"] == 6

        second = cli(env, tmp_path, "tokens", "create", site_id).splitlines()[-1]
        assert realtime(b, site_id, second).status_code == 200
        assert realtime(a, site_id, second).status_code == 200
        cli(env, tmp_path, "tokens", "revoke", second)
        for server in (a, b):
            response = realtime(server, site_id, second)
            assert response.status_code == 401
            assert response.json() == {"error": "Invalid API token"}
        assert realtime(a, site_id, token).status_code == 200


def test_redis_restart_is_survived_and_presence_rebuilt(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    port = free_port()
    redis_cmd = [
        REDIS_SERVER,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    redis_proc = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
    try:
        redis_url = f"redis://127.0.0.1:{port}/0"
        wait_for(lambda: _redis_up(port))
        env = cluster_env(pg_url, redis_url, redis_prefix)
        site_id = json.loads(cli(env, tmp_path, "sites", "add", "example.com", "--json"))[
            "websiteId"
        ]
        token = cli(env, tmp_path, "tokens", "create", site_id).splitlines()[-1]
        with two_instances(tmp_path, env) as (a, b):
            for n in range(4):
                assert pageview(a, site_id, n).status_code == 202
            assert realtime(b, site_id, token).json()["currentVisitors"] == 4

            redis_proc.kill()
            redis_proc.wait()
            down = realtime(b, site_id, token)
            assert down.status_code == 503
            assert down.json() == {"error": "The presence backend is unavailable; retry shortly"}
            assert "retry-after" in down.headers
            health = httpx.get(f"{a.url}/healthz", timeout=10)
            assert health.status_code == 503
            assert health.json()["backends"]["presence"] == "down"
            assert health.json()["backends"]["metadata"] == "ok"

            # Redis comes back empty (no persistence): presence is rebuilt from PostgreSQL.
            redis_proc = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
            wait_for(lambda: _redis_up(port))
            wait_for(lambda: realtime(b, site_id, token).status_code == 200)
            assert realtime(b, site_id, token).json()["currentVisitors"] == 4
            assert realtime(a, site_id, token).json()["currentVisitors"] == 4
            assert pageview(b, site_id, 50).status_code == 202
            assert realtime(a, site_id, token).json()["currentVisitors"] == 5
            assert httpx.get(f"{a.url}/healthz").status_code == 200
    finally:
        redis_proc.kill()
        redis_proc.wait()


def test_postgresql_outage_is_survived(
    tmp_path: Path, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    proxy = TcpProxy(urlsplit(pg_url).port or 5432)
    proxied = proxy.url(pg_url)
    env = cluster_env(proxied, redis_url, redis_prefix)
    try:
        site_id = json.loads(cli(env, tmp_path, "sites", "add", "example.com", "--json"))[
            "websiteId"
        ]
        token = cli(env, tmp_path, "tokens", "create", site_id).splitlines()[-1]
        with footfall_server(tmp_path / "a", env=env) as a:
            assert pageview(a, site_id, 1).status_code == 202
            proxy.cut()
            # Ingestion needs PostgreSQL (the event is not acknowledged until committed).
            refused = pageview(a, site_id, 2)
            assert refused.status_code == 503
            assert "unavailable" in refused.json()["error"]
            health = httpx.get(f"{a.url}/healthz", timeout=15).json()
            assert health["backends"]["metadata"] == "down"
            assert health["backends"]["events"] == "down"
            assert health["backends"]["presence"] == "ok"
            proxy.restore()
            wait_for(lambda: pageview(a, site_id, 3).status_code == 202)
            assert realtime(a, site_id, token).json()["currentVisitors"] == 2
            assert httpx.get(f"{a.url}/healthz", timeout=15).status_code == 200
    finally:
        proxy.close()


def _redis_up(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_workers_run_in_cluster_mode(
    tmp_path: Path, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    env = cluster_env(pg_url, redis_url, redis_prefix)
    site_id = json.loads(cli(env, tmp_path, "sites", "add", "example.com", "--json"))["websiteId"]
    token = cli(env, tmp_path, "tokens", "create", site_id).splitlines()[-1]
    with footfall_server(tmp_path / "a", env=env, args=("--workers", "2")) as server:
        for n in range(6):  # connections spread over both workers
            with httpx.Client() as client:
                response = client.post(
                    f"{server.url}/api/event",
                    json={"websiteId": site_id, "url": "https://example.com/"},
                    headers={"User-Agent": f"{CHROME_UA} w{n}"},
                )
                assert response.status_code == 202
        assert realtime(server, site_id, token).json()["currentVisitors"] == 6
    assert server.log().count("Started server process") == 2


def test_workers_are_refused_on_the_embedded_tier(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "footfall", "serve", "--workers", "2"],
        env={**os.environ, "FOOTFALL_DATA_DIR": str(tmp_path / "d")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--workers needs cluster mode" in result.stderr
