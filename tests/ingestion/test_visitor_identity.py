"""Cookieless identity: daily salts, rotation at UTC midnight, continuity, trusted proxies."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import sqlalchemy as sa

from footfall.config import Settings
from footfall.ingestion.addresses import parse_address
from footfall.ingestion.client_ip import client_ip, resolve_client
from footfall.storage.schema import salts
from tests.conftest import CHROME_UA, FakeClock, Running, start_app


def midnight_after(ts: float) -> float:
    day = datetime.fromtimestamp(ts, UTC).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + 86_400


async def salt_days(running: Running) -> list[str]:
    async with running.services.meta.engine.connect() as conn:
        return sorted(await conn.scalars(sa.select(salts.c.day)))


async def visitor_ids(running: Running) -> list[int]:
    return [e.visitor_id for e in await running.services.events.events(running.site.id)]


async def test_same_ip_and_agent_is_one_visitor_within_a_day(running: Running) -> None:
    await running.pageview(ip="198.51.100.1")
    running.clock.advance(3600)
    await running.pageview(ip="198.51.100.1")
    a, b = await visitor_ids(running)
    assert a == b


async def test_salt_rotates_at_utc_midnight_and_old_salts_are_deleted(running: Running) -> None:
    clock = running.clock
    await running.pageview(ip="198.51.100.1")
    first_day = await salt_days(running)
    assert len(first_day) == 1
    # Next day, a long time after the first visit ended: a new salt, a new visitor id.
    clock.value = midnight_after(clock.now()) + 7200
    await running.pageview(ip="198.51.100.1")
    assert len(await salt_days(running)) == 2  # today's and yesterday's
    a, b = await visitor_ids(running)
    assert a != b
    # Two days on: the first salt is gone for good.
    clock.value = midnight_after(clock.now()) + 10
    await running.pageview(ip="198.51.100.1")
    days = await salt_days(running)
    assert len(days) == 2
    assert first_day[0] not in days


async def test_visitor_is_not_split_at_midnight(running: Running) -> None:
    clock = running.clock
    clock.value = midnight_after(clock.now()) - 60  # 23:59 UTC
    await running.pageview(ip="198.51.100.1")
    clock.advance(90)  # 00:00:30 the next day, new salt
    await running.pageview(ip="198.51.100.1")
    (a, b) = await visitor_ids(running)
    assert a == b
    events = await running.services.events.events(running.site.id)
    assert events[0].visit_id == events[1].visit_id
    assert (await running.realtime()).json()["currentVisitors"] == 1


async def test_salt_is_shared_through_the_metadata_database(settings: Settings) -> None:
    """Two app instances on one data folder (one after the other) derive the same visitor id."""
    clock = FakeClock()
    async with start_app(settings, clock) as (app, client):
        meta = app.state.services.meta
        site = await meta.create_site("example.com", None, clock.now())
        body = {"websiteId": site.id, "url": "https://example.com/"}
        headers = {"User-Agent": CHROME_UA, "X-Forwarded-For": "198.51.100.1"}
        await client.post("/api/event", json=body, headers=headers)
    clock.advance(7200)  # a new visit, same day
    async with start_app(settings, clock) as (app, client):
        await client.post("/api/event", json=body, headers=headers)
        a, b = await app.state.services.events.events(site.id)
        assert a.visitor_id == b.visitor_id
        assert a.visit_id != b.visit_id


# -- client IP ------------------------------------------------------------------------------

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]


def test_socket_peer_when_no_proxy_is_trusted() -> None:
    assert client_ip("203.0.113.5", "198.51.100.1", []) == "203.0.113.5"


def test_forwarded_for_ignored_from_an_untrusted_peer() -> None:
    assert client_ip("203.0.113.5", "198.51.100.1", PROXIES) == "203.0.113.5"


def test_forwarded_for_believed_from_a_trusted_proxy() -> None:
    assert client_ip("10.1.2.3", "198.51.100.1", PROXIES) == "198.51.100.1"


def test_rightmost_untrusted_hop_wins() -> None:
    # The client can prepend anything; only what trusted proxies appended is believed.
    forwarded = "1.1.1.1, 198.51.100.1, 10.0.0.9"
    assert client_ip("10.1.2.3", forwarded, PROXIES) == "198.51.100.1"


def test_garbage_forwarded_for_falls_back_to_the_peer() -> None:
    assert client_ip("10.1.2.3", "not-an-ip", PROXIES) == "10.1.2.3"
    assert client_ip("10.1.2.3", "", PROXIES) == "10.1.2.3"


def test_ipv6() -> None:
    assert client_ip("::1", "2001:db8::1", [ipaddress.ip_network("::1/128")]) == "2001:db8::1"


async def test_untrusted_peer_cannot_choose_its_identity(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "d", access_log=False, trusted_proxies=[])
    clock = FakeClock()
    async with start_app(settings, clock) as (app, client):
        meta = app.state.services.meta
        site = await meta.create_site("example.com", None, clock.now())
        token, _ = await meta.create_token(site.id, clock.now())
        for forged in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            await client.post(
                "/api/event",
                json={"websiteId": site.id, "url": "https://example.com/"},
                headers={"User-Agent": CHROME_UA, "X-Forwarded-For": forged},
            )
        response = await client.get(
            "/api/v1/realtime",
            params={"websiteId": site.id},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.json()["currentVisitors"] == 1


def test_trusted_proxies_setting_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("FOOTFALL_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    settings = Settings()
    assert settings.trusted_proxies == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.1/32"),
    ]


def test_ipv4_mapped_addresses_are_given_as_ipv4() -> None:
    # What a dual-stack socket reports for an IPv4 client: the same visitor as over IPv4.
    assert client_ip("::ffff:203.0.113.5", None, []) == "203.0.113.5"
    assert client_ip("::FFFF:cb00:7105", None, []) == "203.0.113.5"
    assert client_ip("10.1.2.3", "::ffff:198.51.100.1", PROXIES) == "198.51.100.1"
    assert client_ip("::1", "::ffff:c633:6401", [ipaddress.ip_network("::1/128")]) == (
        "198.51.100.1"
    )


def test_an_ipv4_mapped_proxy_is_trusted_as_its_ipv4_address() -> None:
    assert client_ip("::ffff:10.1.2.3", "198.51.100.1", PROXIES) == "198.51.100.1"
    forwarded = "198.51.100.1, ::ffff:10.0.0.9"  # a hop written by a dual-stack proxy
    assert client_ip("10.1.2.3", forwarded, PROXIES) == "198.51.100.1"
    mapped = [ipaddress.ip_network("::ffff:10.0.0.0/104")]  # the proxy configured in IPv6 form
    assert client_ip("::ffff:10.1.2.3", "198.51.100.1", mapped) == "198.51.100.1"
    assert client_ip("10.1.2.3", "198.51.100.1", [ipaddress.ip_network("10.9.0.0/16")]) == (
        "10.1.2.3"
    )


def test_addresses_are_canonical_and_other_peers_kept_as_given() -> None:
    assert client_ip("2001:DB8:0:0:0:0:0:1", None, []) == "2001:db8::1"
    assert resolve_client("2001:DB8::1", None, []).address == parse_address("2001:db8::1")
    # Starlette's TestClient and unix sockets: the text is the identity, nothing to locate.
    assert resolve_client("testclient", "198.51.100.1", PROXIES) == ("testclient", None)
    assert resolve_client(None, "198.51.100.1", PROXIES) == ("", None)
    assert resolve_client("", None, []) == ("", None)


async def test_one_visitor_whether_it_came_over_ipv4_or_a_dual_stack_socket(
    running: Running,
) -> None:
    assert (await running.pageview(ip="198.51.100.1")).status_code == 202
    assert (await running.pageview(ip="::ffff:198.51.100.1")).status_code == 202
    assert (await running.pageview(ip="::ffff:198.51.100.2")).status_code == 202
    first, second, third = await visitor_ids(running)
    assert first == second != third
