"""Tokens stay secret: a real `footfall serve` with its access log on (and debug logging) is
sent good, wrong, malformed and revoked tokens in every place a client might put them; no
log line, response body or response header ever contains a token, and the metadata database
holds only their SHA-256 digests. Comparison against the stored digests is constant-time and
never stops at the first match."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import httpx
import pytest

from footfall.auth import api_auth, tokens
from footfall.errors import Unauthorized
from footfall.storage.meta import SqlMetaStore
from tests.conftest import CHROME_UA
from tests.serverproc import footfall_cli, footfall_server


@pytest.mark.slow
def test_tokens_never_reach_logs_bodies_or_the_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    site_id = footfall_cli("sites", "add", "example.com", data_dir=data_dir).stdout.split()[-1]
    good = footfall_cli("tokens", "create", site_id, data_dir=data_dir).stdout.split()[-1]
    revoked = footfall_cli("tokens", "create", site_id, data_dir=data_dir).stdout.split()[-1]
    footfall_cli("tokens", "revoke", revoked, data_dir=data_dir)
    wrong = tokens.generate_token()  # well formed, of no site
    mistyped = good[:-1] + ("A" if good[-1] != "A" else "B")  # bad checksum
    secrets = {"good": good, "revoked": revoked, "wrong": wrong, "mistyped": mistyped}

    env = {"FOOTFALL_ACCESS_LOG": "true", "FOOTFALL_LOG_LEVEL": "DEBUG"}
    seen: list[str] = []
    with footfall_server(data_dir, env=env) as server:
        base = server.url
        with httpx.Client(base_url=base, timeout=10) as client:
            for secret in secrets.values():
                bearer = {"Authorization": f"Bearer {secret}"}
                exchanges = [
                    client.get("/api/v1/realtime", params={"websiteId": site_id}, headers=bearer),
                    client.get("/api/v1/realtime", params={"websiteId": "nope"}, headers=bearer),
                    client.get("/api/v1/realtime", params={"websiteId": site_id, "token": secret}),
                    client.get(
                        "/api/v1/stats/aggregate",
                        params={"websiteId": site_id, "metrics": secret},
                        headers=bearer,
                    ),
                    client.post(
                        "/api/v1/events",
                        json={"events": [{"url": "https://example.com/", "visitorId": "v"}]},
                        headers=bearer,
                    ),
                    client.post("/api/v1/events", content=b"{", headers=bearer),
                    client.post(
                        "/api/event",
                        json={"websiteId": site_id, "url": f"https://example.com/?t={secret}"},
                        headers={"User-Agent": CHROME_UA, "Referer": f"https://x.test/{secret}"},
                    ),
                    client.get(f"/nothing/{secret}", headers=bearer),
                    client.get("/api/v1/realtime", headers={"Authorization": f"Basic {secret}"}),
                    client.get("/api/v1/live", params={"key": secret, "websiteId": site_id}),
                ]
                for response in exchanges:
                    assert response.status_code < 500, response.text
                    seen.append(response.text)
                    seen.extend(f"{k}: {v}" for k, v in response.headers.items())
        log = server.log()
    assert '"path":"/api/v1/realtime"' in log.replace(" ", "")  # the access log was on

    for name, secret in secrets.items():
        assert secret not in log, name
        assert not any(secret in text for text in seen), name
    # The token's random part alone is not leaked either (e.g. a log of a split header).
    assert good[3:33] not in log

    # At rest: digests only, in the database and its write-ahead log.
    for path in data_dir.iterdir():
        if path.name.startswith("meta.sqlite3"):
            raw = path.read_bytes()
            assert good.encode() not in raw and good[3:33].encode() not in raw, path.name
    with sqlite3.connect(data_dir / "meta.sqlite3") as db:
        digests = {row[0] for row in db.execute("SELECT token_hash FROM api_tokens")}
    assert digests == {tokens.hash_token(good), tokens.hash_token(revoked)}


def test_cli_listings_show_only_the_display_prefix(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    site_id = footfall_cli("sites", "add", "example.com", data_dir=data_dir).stdout.split()[-1]
    token = footfall_cli("tokens", "create", site_id, data_dir=data_dir).stdout.split()[-1]
    listing = footfall_cli("tokens", "list", site_id, "--json", data_dir=data_dir).stdout
    assert token not in listing
    assert tokens.display_prefix(token) in listing


async def test_every_stored_digest_is_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The presented token's digest is compared with every active digest of the site through
    `hmac.compare_digest`, also after a match: the time taken does not tell which one."""
    meta = await SqlMetaStore.open(database_url=None, sqlite_path=tmp_path / "meta.sqlite3")
    try:
        site = await meta.create_site("example.com", None, 1.0)
        site_tokens = [(await meta.create_token(site.id, 1.0))[0] for _ in range(5)]
        compared: list[str] = []
        original = tokens.digests_equal

        def counting(stored: str, presented: str) -> bool:
            compared.append(presented)
            return original(stored, presented)

        monkeypatch.setattr(tokens, "digests_equal", counting)
        for presented in (site_tokens[0], site_tokens[4], tokens.generate_token()):
            compared.clear()
            with contextlib.suppress(Unauthorized):
                await api_auth.authorize_site(meta, f"Bearer {presented}", site.id)
            assert len(compared) == len(site_tokens)  # all of them, whichever matched
            assert set(compared) == {tokens.hash_token(presented)}
    finally:
        await meta.close()
