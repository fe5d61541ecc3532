"""Enrichment: what an event says about its visitor's software, device and source.

- Browser, OS and their versions from `ua-parser` (Browserscope's regexes, Rust-accelerated).
- Device type from the user agent; screen size class from the reported screen width.
- Bots: `crawlerdetect` (a port of the CrawlerDetect list) plus ua-parser's Spider family.
- Referrer source: known search engines and social networks by host, else the referring host;
  `utm_source` stands in when there is no external referrer.

Parsing results are cached per user-agent string: real traffic repeats a few thousand strings.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from crawlerdetect import CrawlerDetect
from ua_parser import parse as parse_user_agent

_crawlers = CrawlerDetect()


@dataclass(frozen=True, slots=True)
class Software:
    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None
    device_type: str
    is_bot: bool


def _version(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return ".".join(kept) if kept else None


def _device_type(user_agent: str, os_family: str | None) -> str:
    ua = user_agent.lower()
    if "ipad" in ua or "tablet" in ua or ("android" in ua and "mobile" not in ua):
        return "tablet"
    if "mobi" in ua or "iphone" in ua or os_family in ("iOS", "Android"):
        return "mobile"
    return "desktop"


@functools.lru_cache(maxsize=8192)
def software(user_agent: str) -> Software:
    """What the user agent string reveals; `is_bot` for crawlers and an empty string."""
    if not user_agent.strip():
        return Software(None, None, None, None, "desktop", True)
    result = parse_user_agent(user_agent)
    agent, os, device = result.user_agent, result.os, result.device
    is_bot = bool(
        (device is not None and device.family == "Spider") or _crawlers.isCrawler(user_agent)
    )
    os_family = os.family if os and os.family != "Other" else None
    return Software(
        browser=agent.family if agent and agent.family != "Other" else None,
        browser_version=_version(agent.major, agent.minor) if agent else None,
        os=os_family,
        os_version=_version(os.major, os.minor) if os else None,
        device_type=_device_type(user_agent, os_family),
        is_bot=is_bot,
    )


def screen_size(width: int | None) -> str | None:
    """Screen class by CSS width (the breakpoints Plausible uses)."""
    if width is None:
        return None
    if width < 576:
        return "mobile"
    if width < 992:
        return "tablet"
    if width < 1440:
        return "laptop"
    return "desktop"


# Host (without `www.`) suffix -> source name. Search engines and social networks whose
# referrers users want grouped; anything else is reported by its host.
_SOURCES: dict[str, str] = {
    "google.com": "Google",
    "bing.com": "Bing",
    "duckduckgo.com": "DuckDuckGo",
    "search.yahoo.com": "Yahoo!",
    "yandex.ru": "Yandex",
    "yandex.com": "Yandex",
    "baidu.com": "Baidu",
    "ecosia.org": "Ecosia",
    "search.brave.com": "Brave",
    "startpage.com": "Startpage",
    "qwant.com": "Qwant",
    "kagi.com": "Kagi",
    "facebook.com": "Facebook",
    "l.facebook.com": "Facebook",
    "m.facebook.com": "Facebook",
    "instagram.com": "Instagram",
    "t.co": "Twitter",
    "twitter.com": "Twitter",
    "x.com": "Twitter",
    "linkedin.com": "LinkedIn",
    "lnkd.in": "LinkedIn",
    "reddit.com": "Reddit",
    "old.reddit.com": "Reddit",
    "news.ycombinator.com": "Hacker News",
    "youtube.com": "YouTube",
    "pinterest.com": "Pinterest",
    "github.com": "GitHub",
    "mastodon.social": "Mastodon",
    "bsky.app": "Bluesky",
    "threads.net": "Threads",
    "tiktok.com": "TikTok",
    "producthunt.com": "Product Hunt",
}


def _bare_host(host: str) -> str:
    host = host.lower()
    return host[4:] if host.startswith("www.") else host


def referrer_source(host: str) -> str:
    """The source name for a referring host: a known engine/network, else the bare host."""
    bare = _bare_host(host)
    candidate = bare
    while True:
        if candidate in _SOURCES:
            return _SOURCES[candidate]
        # google.co.uk, www.google.de: match the engine's name under any country suffix.
        if candidate.startswith("google."):
            return "Google"
        if "." not in candidate:
            return bare
        candidate = candidate.split(".", 1)[1]


@dataclass(frozen=True, slots=True)
class PageUrl:
    hostname: str
    pathname: str
    utm: dict[str, str]


_UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_MAX_UTM = 300


def page_url(url: str) -> PageUrl | None:
    """Host, path and UTM parameters of an http(s) URL; None if it is not one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    hostname = parts.hostname  # a computed property: read it once
    # urllib lower-cases the host but not an IPv6 zone after "%" ("http://%A/" has host "%A");
    # "%" has no place in a page's host name, so such a URL is not a page URL.
    if parts.scheme not in ("http", "https") or not hostname or "%" in hostname:
        return None
    utm: dict[str, str] = {}
    query_text = parts.query
    if query_text and ("utm_" in query_text or "ref=" in query_text or "source=" in query_text):
        query = parse_qs(query_text, keep_blank_values=False)
        for key in _UTM_KEYS:
            values = query.get(key)
            if values and values[0].strip():
                utm[key] = values[0].strip()[:_MAX_UTM]
        # ?ref= and ?source= are common stand-ins for utm_source (Plausible honours them too).
        if "utm_source" not in utm:
            for alias in ("ref", "source"):
                if query.get(alias) and query[alias][0].strip():
                    utm["utm_source"] = query[alias][0].strip()[:_MAX_UTM]
                    break
    return PageUrl(hostname=hostname, pathname=parts.path or "/", utm=utm)


@dataclass(frozen=True, slots=True)
class Referrer:
    url: str | None
    source: str | None


def referrer(referrer_url: str | None, page_host: str, utm_source: str | None) -> Referrer:
    """The external referrer (query dropped) and its source; internal navigation has none."""
    if referrer_url:
        try:
            parts = urlsplit(referrer_url)
        except ValueError:
            parts = None
        host = parts.hostname if parts is not None else None
        host = host.lower() if host else None  # urllib leaves an IPv6 zone after "%" as sent
        if (
            parts is not None
            and host
            and parts.scheme in ("http", "https")
            and _bare_host(host) != _bare_host(page_host)
        ):
            cleaned = f"{parts.scheme}://{host}{parts.path or '/'}"
            return Referrer(url=cleaned, source=referrer_source(host))
    return Referrer(url=None, source=utm_source)


def host_belongs(host: str, domain: str) -> bool:
    """True when `host` is the site's domain or a subdomain of it (`www.` is ignored)."""
    bare, site = _bare_host(host), _bare_host(domain)
    return bare == site or bare.endswith("." + site)


def host_allowed(host: str, domain: str, allowed_hostnames: Sequence[str] = ()) -> bool:
    """True when events from `host` count for a site on `domain` with these extra allowed
    hostnames: the domain and its subdomains always; an entry `shop.example.org` exactly that
    host; an entry `*.example.org` that domain and every subdomain of it."""
    if host_belongs(host, domain):
        return True
    host = host.lower()
    for entry in allowed_hostnames:
        if entry.startswith("*."):
            base = entry[2:]
            if host == base or host.endswith("." + base):
                return True
        elif host == entry:
            return True
    return False
