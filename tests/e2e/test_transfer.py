"""`footfall export` from the embedded tier, `footfall import` into cluster mode: same data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import CHROME_UA
from tests.serverproc import footfall_server

pytestmark = pytest.mark.slow


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "footfall", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def test_embedded_installation_moves_to_cluster_mode(
    tmp_path: Path, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    embedded = {"FOOTFALL_DATA_DIR": str(tmp_path / "data")}
    site_id = json.loads(run(embedded, "sites", "add", "example.com", "--json").stdout)["websiteId"]
    token = run(embedded, "tokens", "create", site_id).stdout.splitlines()[-1]
    with footfall_server(tmp_path / "data") as server:
        for n in range(3):
            response = httpx.post(
                f"{server.url}/api/event",
                json={"websiteId": site_id, "url": f"https://example.com/p{n}", "props": {"n": n}},
                headers={"User-Agent": f"{CHROME_UA} v{n}"},
            )
            assert response.status_code == 202
    dump = tmp_path / "dump.jsonl"
    out = run(embedded, "export", str(dump)).stdout
    assert out.strip() == "Exported 1 sites, 1 tokens, 3 events."
    assert token not in dump.read_text()  # only the digest travels

    cluster = {
        "FOOTFALL_DATABASE_URL": pg_url,
        "FOOTFALL_REDIS_URL": redis_url,
        "FOOTFALL_REDIS_PREFIX": redis_prefix,
        "FOOTFALL_DATA_DIR": str(tmp_path / "unused"),
    }
    assert (
        run(cluster, "import", str(dump)).stdout.strip() == "Imported 1 sites, 1 tokens, 3 events."
    )
    again = run(cluster, "import", str(dump), check=False)
    assert again.returncode == 1
    assert "already exists" in again.stderr

    with footfall_server(tmp_path / "unused", env=cluster) as server:
        response = httpx.get(
            f"{server.url}/api/v1/realtime",
            params={"websiteId": site_id},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200  # the old token works on the new installation
        assert response.json()["currentVisitors"] == 3  # rebuilt from the imported events
    back = tmp_path / "back.jsonl"
    run(cluster, "export", str(back))
    original = [json.loads(line) for line in dump.read_text().splitlines()[1:]]
    moved = [json.loads(line) for line in back.read_text().splitlines()[1:]]
    for record in original + moved:
        record.pop("tokens", None)  # last-used times move on
    assert moved == original


def test_import_rejects_a_foreign_file(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.jsonl"
    bogus.write_text('{"hello": 1}\n')
    result = run({"FOOTFALL_DATA_DIR": str(tmp_path / "d")}, "import", str(bogus), check=False)
    assert result.returncode == 1
    assert (
        "not a footfall export record" in result.stderr or "not a footfall-export" in result.stderr
    )
