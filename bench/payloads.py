"""Realistic, varied, deterministic request payloads for the bench.

Tracker hits (`POST /api/event`) vary what real traffic varies: a few hundred real browser
user agents (Chrome, Firefox, Safari, Edge, Samsung Internet, Opera on desktop and mobile), a
pool of visitors (an address in `X-Forwarded-For` and a user agent each; the bench server
trusts 127.0.0.1 as its proxy), pages of the site and its subdomains with and without UTM
tags, external and internal referrers, screen widths, and a share of custom events with
properties. Everything derives from a seeded `random.Random`, so runs are comparable.
"""

from __future__ import annotations

import ipaddress
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime

from bench.wrk import RawRequest

DOMAIN = "example.com"
EVENT_ID_SLOT = "_bench_event_id_"
"""Stands for the event id in a tracker body: the load generators put a fresh one there on
every send (bench/lua/replay.lua, `client.encode`), as the tracker does for every event."""
SEED = 20251126

_WINDOWS = ("Windows NT 10.0; Win64; x64", "Windows NT 10.0; WOW64", "Windows NT 6.1; Win64; x64")
_MACS = ("Macintosh; Intel Mac OS X 10_15_7", "Macintosh; Intel Mac OS X 14_6_1")
_LINUX = ("X11; Linux x86_64", "X11; Ubuntu; Linux x86_64")
_ANDROID = (
    "Linux; Android 14; Pixel 8",
    "Linux; Android 14; SM-S918B",
    "Linux; Android 13; SM-A536B",
    "Linux; Android 12; Redmi Note 11",
    "Linux; Android 10; K",
)
_IOS = ("17_6_1", "18_1", "16_7_10", "18_0_1")


def _chrome() -> Iterator[str]:
    for major in range(112, 132):
        version = f"{major}.0.0.0"
        for platform in (*_WINDOWS, *_MACS, *_LINUX):
            yield (
                f"Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{version} Safari/537.36"
            )
        for device in _ANDROID:
            yield (
                f"Mozilla/5.0 ({device}) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{version} Mobile Safari/537.36"
            )


def _firefox() -> Iterator[str]:
    for major in range(115, 134):
        for platform in ("Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10.15"):
            yield f"Mozilla/5.0 ({platform}; rv:{major}.0) Gecko/20100101 Firefox/{major}.0"
        yield f"Mozilla/5.0 (X11; Linux x86_64; rv:{major}.0) Gecko/20100101 Firefox/{major}.0"
        yield f"Mozilla/5.0 (Android 14; Mobile; rv:{major}.0) Gecko/{major}.0 Firefox/{major}.0"


def _safari() -> Iterator[str]:
    for version in ("16.6", "17.4.1", "17.6", "18.0", "18.1"):
        yield (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{version} Safari/605.1.15"
        )
        for ios in _IOS:
            for device in ("iPhone; CPU iPhone OS", "iPad; CPU OS"):
                yield (
                    f"Mozilla/5.0 ({device} {ios} like Mac OS X) AppleWebKit/605.1.15 "
                    f"(KHTML, like Gecko) Version/{version} Mobile/15E148 Safari/604.1"
                )


def _others() -> Iterator[str]:
    for major in range(118, 132):
        yield (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Safari/537.36 Edg/{major}.0.0.0"
        )
        yield (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Safari/537.36 OPR/{major - 14}.0.0.0"
        )
    for version in ("23.0", "24.0", "25.0", "26.0"):
        yield (
            "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like "
            f"Gecko) SamsungBrowser/{version} Chrome/121.0.0.0 Mobile Safari/537.36"
        )


def browser_user_agents(count: int = 300, seed: int = SEED) -> list[str]:
    """`count` distinct real-world browser user agents (none of them a bot)."""
    pool = sorted(set(_chrome()) | set(_firefox()) | set(_safari()) | set(_others()))
    rng = random.Random(seed)
    rng.shuffle(pool)
    return pool[:count]


_SECTIONS = {
    "": ["/", "/pricing", "/features", "/about", "/contact", "/signup", "/login", "/changelog"],
    "blog.": [f"/posts/{slug}" for slug in ("launch", "privacy-first", "cookies", "realtime")]
    + [f"/posts/2025/{n:02d}/notes" for n in range(1, 13)],
    "docs.": [f"/guide/{topic}" for topic in ("install", "tracker", "api", "realtime", "faq")]
    + [f"/reference/{topic}" for topic in ("events", "stats", "tokens", "cli")],
    "www.": ["/", "/pricing", "/customers", "/customers/acme", "/jobs"],
    "shop.": [f"/products/{n}" for n in range(100, 130)] + ["/cart", "/checkout"],
}
_UTM = [
    "",
    "",
    "",
    "?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
    "?utm_source=twitter&utm_medium=social",
    "?ref=producthunt",
    "?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=analytics",
]
_REFERRERS = [
    None,
    None,
    None,
    "https://www.google.com/",
    "https://www.google.de/",
    "https://www.bing.com/search?q=web+analytics",
    "https://duckduckgo.com/",
    "https://t.co/abc123",
    "https://news.ycombinator.com/item?id=4242",
    "https://www.reddit.com/r/selfhosted/comments/x",
    "https://github.com/footfall/footfall",
    "https://l.facebook.com/l.php",
    "https://www.linkedin.com/feed/",
    "https://someblog.net/2025/11/tools",
    f"https://{DOMAIN}/",
    f"https://{DOMAIN}/pricing",
    f"https://blog.{DOMAIN}/posts/launch",
]
_SCREENS = [None, 360, 390, 414, 768, 820, 1024, 1280, 1366, 1440, 1536, 1920, 2560]
_EVENTS = [
    ("signup", {"plan": "pro"}),
    ("signup", {"plan": "free", "trial": True}),
    ("download", {"file": "footfall.tar.gz", "size": 1024}),
    ("outbound", {"url": "https://github.com/footfall/footfall"}),
]


def pages() -> list[str]:
    """Every page URL of the bench site (on the domain and its subdomains)."""
    return [f"https://{sub}{DOMAIN}{path}" for sub, paths in _SECTIONS.items() for path in paths]


def visitor_addresses(count: int, rng: random.Random) -> list[str]:
    """Distinct public-looking client addresses (about 1 in 8 IPv6); only ever a header."""
    seen: set[str] = set()
    while len(seen) < count:
        if rng.random() < 0.125:
            address = str(ipaddress.IPv6Address((0x2A01 << 112) | rng.getrandbits(64)))
        else:
            address = str(ipaddress.IPv4Address(rng.randrange(0x0B000000, 0xDF000000)))
        seen.add(address)
    return sorted(seen)


def tracker_requests(
    website_id: str,
    *,
    count: int = 20_000,
    visitors: int = 5_000,
    user_agents: int = 300,
    path: str = "/api/event",
    seed: int = SEED,
) -> list[RawRequest]:
    """`count` tracker hits from `visitors` visitors, as the tracker sends them (text/plain)."""
    rng = random.Random(seed)
    agents = browser_user_agents(user_agents, seed)
    addresses = visitor_addresses(visitors, rng)
    people = [(address, rng.choice(agents)) for address in addresses]
    urls = pages()
    requests = []
    for _ in range(count):
        address, agent = rng.choice(people)
        body: dict[str, object] = {
            "websiteId": website_id,
            "url": rng.choice(urls) + rng.choice(_UTM),
            "referrer": rng.choice(_REFERRERS),
            "screenWidth": rng.choice(_SCREENS),
            "eventId": EVENT_ID_SLOT,
        }
        if rng.random() < 0.05:
            name, props = rng.choice(_EVENTS)
            body["name"] = name
            body["props"] = props
        headers = {
            "Content-Type": "text/plain;charset=UTF-8",
            "User-Agent": agent,
            "X-Forwarded-For": address,
            "Origin": f"https://{DOMAIN}",
            "Accept-Language": "en-US,en;q=0.9",
        }
        text = json.dumps({k: v for k, v in body.items() if v is not None}, separators=(",", ":"))
        requests.append(RawRequest("POST", path, headers, text))
    return requests


def server_batch(
    visitor_ids: range, *, prefix: str = "v", timestamp: datetime | None = None
) -> bytes:
    """A `POST /api/v1/events` body: one pageview per visitor id (`{prefix}{n}`)."""
    urls = pages()
    stamp = (timestamp or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    events = [
        {"visitorId": f"{prefix}{n}", "url": urls[n % len(urls)], "timestamp": stamp}
        for n in visitor_ids
    ]
    return json.dumps({"events": events}, separators=(",", ":")).encode()
