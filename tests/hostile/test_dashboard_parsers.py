"""Property tests of the parsers of the dashboard's and the live stream's untrusted input: the
publishable key format and origins, the session cookie, the CSRF token, the Origin/Referer
check, the scheme and host a request names, and the live stream's `Last-Event-ID`.

Whatever the text or bytes, each answers a value or its documented refusal (`CsrfRejected`,
`ValueError` for an origin typed into a form, None for an unknown session) — nothing else.
Headers are arbitrary bytes as an ASGI server hands them over (decoded as Latin-1 by
Starlette), so a cookie or a header can carry any of the 256 byte values.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from footfall.accounts.sessions import SessionStore
from footfall.auth import publishable
from footfall.auth.tokens import ALPHABET
from footfall.config import Settings
from footfall.dashboard import cookies, csrf, origin
from footfall.storage.meta import SqlMetaStore
from tests.api.test_live_stream import ORIGIN, LiveServer, live_server, live_settings
from tests.conftest import FakeClock
from tests.hostile.strategies import nasty_text, urls
from tests.sse import SseStream

FUZZ = settings(max_examples=300, deadline=None)
NOW = 1_790_000_000.0
REFUSALS = {
    "The request came from another site.",
    "The form expired. Reload the page and try again.",
}

header_bytes = st.one_of(
    st.binary(max_size=120),
    nasty_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    urls().map(lambda t: t.encode("utf-8", "surrogatepass")),
)
"""Any header value: raw bytes, UTF-8 text, URL-like text."""

# -- publishable keys and origins --------------------------------------------------------------


@FUZZ
@given(
    candidate=st.one_of(
        nasty_text,
        st.text(alphabet=ALPHABET + "_pk", max_size=40),
        st.text(alphabet=ALPHABET, min_size=30, max_size=30).map(lambda t: "pk_" + t),
    )
)
@example(candidate="pk_" + "0" * 30)
@example(candidate="pk_" + "\U0001f600" * 30)
@example(candidate="")
def test_publishable_key_format(candidate: str) -> None:
    well_formed = publishable.is_well_formed(candidate)
    assert isinstance(well_formed, bool)
    if well_formed:
        assert len(candidate) == publishable.KEY_LENGTH and candidate.startswith("pk_")
        assert set(candidate[3:]) <= set(ALPHABET)


@FUZZ
@given(position=st.integers(3, publishable.KEY_LENGTH - 1), replacement=st.sampled_from(ALPHABET))
def test_a_mistyped_publishable_key_is_refused_by_its_checksum(
    position: int, replacement: str
) -> None:
    key = publishable.generate_key()
    assert publishable.is_well_formed(key)
    mistyped = key[:position] + replacement + key[position + 1 :]
    assert publishable.is_well_formed(mistyped) == (mistyped == key)


@FUZZ
@given(text=st.one_of(urls(), nasty_text, st.just("*")))
@example(text="http://[::1")
@example(text="https://example.com:99999")
@example(text="HTTPS://Shop.Example.com:443/")
def test_origins_normalise_or_refuse_with_a_value_error(text: str) -> None:
    try:
        normal = publishable.normalise_origin(text)
    except ValueError as error:
        assert str(error).startswith(("not an origin", "an origin has no"))
        return
    assert normal == "*" or normal.startswith(("http://", "https://"))
    assert normal == normal.lower() or normal == "*"
    assert publishable.normalise_origin(normal) == normal  # one normal form


# -- the dashboard's request checks ------------------------------------------------------------

SETTINGS = Settings(
    data_dir=Path("unused"),
    trusted_proxies=["127.0.0.1/32"],
    public_url="https://stats.example.org",
)


def request_with(headers: dict[bytes, bytes], peer: str = "127.0.0.1") -> Request:
    """A dashboard POST as an ASGI server hands it over, with these raw headers."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/sites/new",
        "raw_path": b"/sites/new",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": (peer, 50000),
        "headers": list(headers.items()),
    }
    return Request(scope)


request_headers = st.fixed_dictionaries(
    {},
    optional={
        b"host": st.one_of(st.just(b"testserver"), header_bytes),
        b"origin": st.one_of(
            st.sampled_from([b"http://testserver", b"https://stats.example.org", b"null"]),
            header_bytes,
        ),
        b"referer": st.one_of(st.just(b"http://testserver/sites"), header_bytes),
        b"x-forwarded-proto": st.one_of(st.sampled_from([b"https", b"http, https"]), header_bytes),
        b"x-forwarded-for": header_bytes,
        b"cookie": header_bytes.map(lambda v: b"footfall_session=" + v),
    },
)


@FUZZ
@given(headers=request_headers, peer=st.sampled_from(["127.0.0.1", "203.0.113.9"]))
@example(headers={b"referer": b"http://[x/"}, peer="127.0.0.1")  # found by this test: a 500
@example(headers={b"origin": b"http://[x/"}, peer="127.0.0.1")
@example(headers={b"referer": b"http://testserver:99999/"}, peer="127.0.0.1")
def test_origin_check_answers_or_refuses(headers: dict[bytes, bytes], peer: str) -> None:
    request = request_with(headers, peer)
    scheme = origin.scheme(request, SETTINGS)
    assert scheme in ("http", "https")
    assert origin.origin(request, SETTINGS).startswith(scheme + "://")
    assert isinstance(origin.client_address(request, SETTINGS), str)
    try:
        csrf.check_origin(request, SETTINGS)
    except csrf.CsrfRejected as error:
        assert error.reason in REFUSALS
        return
    sent = headers.get(b"origin")
    if sent is not None:  # accepted: it named this server, as the browser reached it
        allowed = {origin.origin(request, SETTINGS).lower(), "https://stats.example.org"}
        assert sent.decode("latin-1").lower() in allowed


@FUZZ
@given(
    cookie=header_bytes,
    submitted=st.one_of(st.none(), nasty_text, st.sampled_from(["\ud800", "0" * 64])),
    matching=st.booleans(),
)
@example(cookie=b"\xff\xfe", submitted="\udcff", matching=False)
def test_csrf_check_answers_or_refuses(
    cookie: bytes, submitted: str | None, matching: bool
) -> None:
    request = request_with({b"cookie": cookies.SESSION.encode() + b"=" + cookie})
    secret = request.cookies.get(cookies.SESSION)
    if matching and secret:
        submitted = csrf.token_for(secret)
    try:
        csrf.check(request, SETTINGS, secret, submitted)
    except csrf.CsrfRejected as error:
        assert error.reason in REFUSALS
        assert not (matching and secret)  # the right token is never refused (no Origin sent)
        return
    assert secret and submitted == csrf.token_for(secret)


@pytest.fixture
async def session_store(tmp_path: Path) -> AsyncIterator[SessionStore]:
    meta = await SqlMetaStore.open(database_url=None, sqlite_path=tmp_path / "meta.db")
    yield SessionStore(meta.engine)
    await meta.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cookie=header_bytes)
@example(cookie=b"\x00")
@example(cookie=b"x" * 5000)
async def test_any_session_cookie_is_no_session(session_store: SessionStore, cookie: bytes) -> None:
    request = request_with({b"cookie": cookies.SESSION.encode() + b"=" + cookie})
    secret = request.cookies.get(cookies.SESSION)
    assert await session_store.lookup(secret or "", NOW) is None


# -- Last-Event-ID of the live stream ----------------------------------------------------------

# What an HTTP/1.1 client can put in a header value: visible ASCII, Latin-1 "obs-text", and
# inner spaces and tabs.
_FIELD_BYTES = [9, *range(0x20, 0x7F), *range(0x80, 0x100)]
last_event_ids = st.one_of(
    st.lists(st.sampled_from(_FIELD_BYTES), max_size=200).map(bytes).map(bytes.strip),
    st.sampled_from(
        [b"", b"0", b"-1", b"1e309", b"99999999999999999999999999", b"NaN", b"\xff" * 64]
    ),
)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(live_settings(tmp_path), FakeClock()) as server:
        yield server


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(last_event_id=last_event_ids)
async def test_any_last_event_id_gets_the_current_count(
    live: LiveServer, last_event_id: bytes
) -> None:
    """A reconnecting `EventSource` sends back the last id it saw; whatever arrives there, the
    stream opens with the current count (the id is not needed: the count is recomputed)."""
    request = live.client.build_request(
        "GET",
        f"{live.url}/api/v1/live/stream",
        params={"key": live.key.key},
        headers=[(b"Origin", ORIGIN.encode()), (b"Last-Event-ID", last_event_id)],
    )
    response = await live.client.send(request, stream=True)
    try:
        assert response.status_code == 200, (await response.aread())[:300]
        first = await SseStream(response).next_event(timeout=5.0)
        assert first.json()["currentVisitors"] == 0
        assert first.id is not None and first.id.isdigit()
    finally:
        await response.aclose()
