"""Property tests of every other parser of untrusted input: URLs and referrers, user agents,
hostnames, the referrer-spam list, stats query parameters, periods, tokens, the Authorization
header and X-Forwarded-For. Each answers a value or its documented 4xx error — nothing else."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import string

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from footfall.auth import api_auth, tokens
from footfall.errors import BadRequest, Unauthorized
from footfall.ingestion import enrich, referrer_spam
from footfall.ingestion.client_ip import client_ip
from footfall.stats import Kind, parse_query
from footfall.stats.periods import PERIODS, date_range, parse_timezone
from footfall.stats.query import PARAMETERS
from tests.hostile.strategies import json_values, nasty_text, urls

FUZZ = settings(max_examples=200, deadline=None)
NOW = 1_790_000_000.0


# -- URLs, referrers, hosts ------------------------------------------------------------------


@FUZZ
@given(url=urls())
@example(url="http://%A/")  # found by this test: urllib keeps an IPv6 zone's case
def test_page_urls(url: str) -> None:
    page = enrich.page_url(url)
    if page is None:
        return
    assert page.hostname and page.hostname == page.hostname.lower()
    assert page.pathname.startswith("/") or page.pathname == "/"
    assert set(page.utm) <= {"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}
    assert all(0 < len(value) <= 300 for value in page.utm.values())


@FUZZ
@given(
    referrer=st.one_of(st.none(), urls()),
    page_host=nasty_text,
    utm=st.one_of(st.none(), nasty_text),
)
def test_referrers(referrer: str | None, page_host: str, utm: str | None) -> None:
    found = enrich.referrer(referrer, page_host, utm)
    if found.url is not None:
        assert found.url.startswith(("http://", "https://"))
        assert "?" not in found.url  # the query is dropped: it may carry personal data
        assert found.source


@FUZZ
@given(host=nasty_text, domain=nasty_text, allowed=st.lists(nasty_text, max_size=3))
def test_hosts(host: str, domain: str, allowed: list[str]) -> None:
    assert isinstance(enrich.referrer_source(host), str)
    assert isinstance(enrich.host_allowed(host, domain, allowed), bool)
    assert isinstance(referrer_spam.is_spam_host(host), bool)
    assert isinstance(referrer_spam.is_spam_referrer(host), bool)


@FUZZ
@given(
    label=st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20)
)
def test_subdomains_of_spammers_are_spam(label: str) -> None:
    spammer = sorted(referrer_spam.spammers())[len(label) % 50]
    assert referrer_spam.is_spam_host(f"{label}.{spammer}")
    assert referrer_spam.is_spam_referrer(f"https://{label}.{spammer.upper()}/x?y=z")


# -- user agents -----------------------------------------------------------------------------


@FUZZ
@given(
    user_agent=st.one_of(
        nasty_text,
        st.text(max_size=2000),
        st.builds(
            lambda a, b: f"Mozilla/5.0 ({a}) AppleWebKit/537.36 (KHTML, like Gecko) {b}",
            nasty_text,
            nasty_text,
        ),
    )
)
def test_user_agents(user_agent: str) -> None:
    software = enrich.software(user_agent)
    assert software.device_type in ("desktop", "mobile", "tablet")
    assert software == enrich.software(user_agent)  # deterministic (and cached)
    if not user_agent.strip():
        assert software.is_bot


# -- stats query parameters ------------------------------------------------------------------

param_names = st.one_of(
    st.sampled_from(sorted({p for ps in PARAMETERS.values() for p in ps})), nasty_text
)
param_values = st.one_of(
    nasty_text,
    st.sampled_from([*PERIODS, "2026-02-30", "9999-12-31", "0000-01-01", "2026-01-01,2025-01-01"]),
    st.sampled_from(["visitors,pageviews", "bounce_rate", "event:page", "visit:source", "0", "-1"]),
    st.sampled_from(
        ["1" * 30, "Europe/Berlin", "localtime", "../../etc/passwd", "America/New_York"]
    ),
    json_values.map(json.dumps),
    st.sampled_from(
        ['[["is","event:page",["/"]]]', '[["contains","visit:source",[""]]]', "[" * 500]
    ),
)


@FUZZ
@given(
    kind=st.sampled_from(list(Kind)),
    params=st.lists(st.tuples(param_names, param_values), max_size=6),
    now=st.floats(min_value=0, max_value=32_000_000_000),
)
def test_stats_queries(kind: Kind, params: list[tuple[str, str]], now: float) -> None:
    try:
        query = parse_query(kind, "site", params, now)
    except BadRequest as error:
        assert error.status == 400
        assert 0 < len(error.message) < 2000
        return
    assert query.range.start < query.range.end
    assert query.metrics


@FUZZ
@given(
    period=st.one_of(st.sampled_from(PERIODS), nasty_text),
    date=st.one_of(st.none(), nasty_text, st.dates().map(str)),
    timezone=st.one_of(st.none(), st.timezone_keys(), nasty_text),
)
def test_periods(period: str, date: str | None, timezone: str | None) -> None:
    try:
        zone = parse_timezone(timezone)
        found = date_range(period, date, zone, NOW)
    except BadRequest as error:
        assert error.message.split(":")[0] in ("period", "date", "timezone")
        return
    assert found.start < found.end


# -- tokens and the Authorization header -----------------------------------------------------


@FUZZ
@given(candidate=st.one_of(nasty_text, st.text(alphabet=tokens.ALPHABET + "_v", max_size=45)))
def test_token_format(candidate: str) -> None:
    if tokens.is_well_formed(candidate):
        assert candidate.startswith("vt_") and len(candidate) == tokens.TOKEN_LENGTH
        assert len(tokens.hash_token(candidate)) == 64


@FUZZ
@given(body=st.text(alphabet=tokens.ALPHABET, min_size=30, max_size=30), flip=st.integers(0, 35))
def test_a_mistyped_token_is_refused_by_its_checksum(body: str, flip: int) -> None:
    token = tokens.PREFIX + body + tokens._checksum(body)
    assert tokens.is_well_formed(token)
    position = len(tokens.PREFIX) + flip
    replacement = "0" if token[position] != "0" else "1"
    mistyped = token[:position] + replacement + token[position + 1 :]
    assert not tokens.is_well_formed(mistyped)


@FUZZ
@given(header=st.one_of(st.none(), nasty_text, st.builds(lambda t: f"Bearer {t}", nasty_text)))
def test_authorization_headers(header: str | None) -> None:
    try:
        token = api_auth.bearer_token(header)
    except Unauthorized as error:
        assert error.message in (api_auth.MISSING_HEADER, api_auth.INVALID_FORMAT)
        return
    assert tokens.is_well_formed(token)


# -- X-Forwarded-For -------------------------------------------------------------------------

addresses = st.ip_addresses().map(str)
hops = st.one_of(addresses, nasty_text, st.just(""), st.just("unknown"), st.just("::ffff:1.2.3.4"))


@FUZZ
@given(
    peer=st.one_of(st.none(), addresses, nasty_text),
    chain=st.one_of(st.none(), st.lists(hops, max_size=5).map(", ".join), nasty_text),
    proxies=st.lists(
        st.builds(
            lambda address, prefix: ipaddress.ip_network(
                f"{address}/{min(prefix, address.max_prefixlen)}", strict=False
            ),
            st.ip_addresses(),
            st.integers(0, 128),
        ),
        max_size=3,
    ),
)
def test_forwarded_for(
    peer: str | None,
    chain: str | None,
    proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> None:
    found = client_ip(peer, chain, proxies)
    assert isinstance(found, str)
    trusted_peer = False
    peer_text = peer or ""
    if peer is not None:
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(peer.strip())
            ipv4 = getattr(address, "ipv4_mapped", None)
            trusted_peer = any(address in n or (ipv4 is not None and ipv4 in n) for n in proxies)
            peer_text = str(ipv4 or address)
    if not trusted_peer:
        # Only a trusted proxy may name another client: otherwise the peer is the client.
        assert found == peer_text
    if found:
        # An address comes out in canonical text, IPv4-mapped ones as IPv4; or the peer as is.
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(found)
            assert found == str(address) and getattr(address, "ipv4_mapped", None) is None
            return
        assert found == peer


@FUZZ
@given(client=addresses, spoofed=st.lists(addresses, max_size=3))
def test_a_client_cannot_choose_its_address_behind_a_proxy(client: str, spoofed: list[str]) -> None:
    """A client may prepend anything; the trusted proxy appends what it saw."""
    proxy = ipaddress.ip_network("10.0.0.1/32")
    address = ipaddress.ip_address(client)
    ipv4 = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is the proxy too
    assume(address not in proxy and (ipv4 is None or ipv4 not in proxy))
    chain = ", ".join([*spoofed, client])
    assert client_ip("10.0.0.1", chain, [proxy]) == str(ipv4 or address)
