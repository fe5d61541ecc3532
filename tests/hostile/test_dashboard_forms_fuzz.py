"""Fuzzing the dashboard's public forms — `POST /login` and `POST /setup`, which the OpenAPI
document (and so Schemathesis) does not describe — against a real app on both tiers.

Whatever the fields (known, unknown, repeated, missing), their values (NUL and other controls,
unpaired surrogates, invalid UTF-8, oversized text), the encoding (URL-encoded, multipart,
broken multipart, other content types, raw bytes) and the headers (Origin, Referer, cookies,
X-Forwarded-*), the answer is never a 5xx and nothing is logged as an error (no traceback).
Most examples carry the form's valid CSRF token, so the fields reach the handlers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from footfall.accounts.users import UserStore
from footfall.services import Services
from tests.backends import tier_settings_for
from tests.conftest import FakeClock, start_app
from tests.hostile.strategies import nasty_text, urls

OWNER = "owner@example.org"
PASSWORD = "correct horse battery"
FIELDS = ["email", "password", "password_confirm", "next", "csrf_token"]
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

values = st.one_of(
    nasty_text,
    urls(),
    st.sampled_from(["\ud800", "a\udfffb", "\x00", OWNER, PASSWORD, "//evil.example", ""]),
    st.builds(
        lambda c, n: c * n,
        st.sampled_from(["a", "\x00", "é", "%", "\U0001f600"]),
        st.sampled_from([1_000, 70_000, 300_000]),
    ),
)
"""A field's value: hostile text, or oversized text (up to ~1.2 MB once encoded)."""

fields = st.lists(st.tuples(st.one_of(st.sampled_from(FIELDS), nasty_text), values), max_size=8)
raw_pieces = st.lists(
    st.one_of(
        st.sampled_from([b"%", b"%zz", b"%ff", b"%00", b"&", b"=", b"+", b"&&=", b"\xff", b"\r\n"]),
        st.binary(max_size=20),
    ),
    max_size=20,
).map(b"".join)


def _text(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")  # unpaired surrogates become invalid UTF-8


def urlencoded(pairs: list[tuple[str, str]]) -> bytes:
    return b"&".join(
        quote_from_bytes(_text(name)).encode() + b"=" + quote_from_bytes(_text(value)).encode()
        for name, value in pairs
    )


def multipart(pairs: list[tuple[str, str]], boundary: bytes, files: bool) -> bytes:
    parts = []
    for n, (name, value) in enumerate(pairs):
        disposition = b'form-data; name="' + _text(name).replace(b'"', b"%22") + b'"'
        if files and n % 2:
            disposition += b'; filename="x.txt"'
        parts.append(
            b"--"
            + boundary
            + b"\r\nContent-Disposition: "
            + disposition
            + b"\r\n\r\n"
            + _text(value)
            + b"\r\n"
        )
    return b"".join(parts) + b"--" + boundary + b"--\r\n"


@st.composite
def bodies(draw: st.DrawFn, token: str) -> tuple[bytes, str | None]:
    """(body, Content-Type) in one of many encodings, most with the valid CSRF token."""
    pairs = draw(fields)
    if draw(st.integers(0, 9)) < 8:
        pairs = [*pairs, ("csrf_token", token)]
    kind = draw(st.sampled_from(["urlencoded", "multipart", "broken-multipart", "raw", "other"]))
    if kind == "urlencoded":
        charset = draw(st.sampled_from(["", "; charset=utf-8", "; charset=latin-1", "; charset=x"]))
        return urlencoded(pairs), "application/x-www-form-urlencoded" + charset
    if kind == "multipart":
        boundary = draw(st.sampled_from([b"b0undary", b"x" * 70, b"-=_"]))
        body = multipart(pairs, boundary, files=draw(st.booleans()))
        return body, "multipart/form-data; boundary=" + boundary.decode()
    if kind == "broken-multipart":
        boundary = draw(st.sampled_from(["", "; boundary=", "; boundary=abc", '; boundary="']))
        body = draw(st.one_of(raw_pieces, st.just(multipart(pairs, b"other", files=False))))
        return body, "multipart/form-data" + boundary
    if kind == "raw":
        return urlencoded(pairs) + draw(raw_pieces), "application/x-www-form-urlencoded"
    content_type = draw(
        st.sampled_from([None, "application/json", "text/plain", "text/html; charset=\x7f"])
    )
    return draw(st.one_of(raw_pieces, st.just(urlencoded(pairs)))), content_type


header_text = st.one_of(nasty_text, urls()).map(lambda t: t.encode("utf-8", "surrogatepass"))
# What an HTTP/1.1 server passes on: no CR, LF or NUL in a header value.
header_values = header_text.map(lambda v: re.sub(rb"[\r\n\x00]", b"", v).strip())
extra_headers = st.fixed_dictionaries(
    {},
    optional={
        b"origin": st.one_of(st.just(b"http://testserver"), header_values),
        b"referer": st.one_of(st.just(b"http://testserver/login"), header_values),
        b"x-forwarded-for": st.one_of(
            st.ip_addresses().map(lambda a: str(a).encode()), header_values
        ),
        b"x-forwarded-proto": header_values,
        b"accept-language": header_values,
    },
)


@dataclass
class Target:
    app: object
    client: httpx.AsyncClient
    services: Services
    token: str


@pytest.fixture(params=["embedded", "cluster"])
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Target]:
    settings_ = tier_settings_for(request, tmp_path)
    async with start_app(settings_, FakeClock()) as (app, client):
        services: Services = app.state.services
        page = await client.get("/setup")  # a fresh installation: sets the pre-session cookie
        found = _CSRF.search(page.text)
        assert page.status_code == 200 and found
        yield Target(app, client, services, found.group(1))


async def post(
    target: Target, path: str, body: tuple[bytes, str | None], headers: dict[bytes, bytes]
) -> httpx.Response:
    content, content_type = body
    sent = dict(headers)
    if content_type is not None:
        sent[b"content-type"] = content_type.encode("latin-1")
    return await target.client.post(path, content=content, headers=list(sent.items()))


def assert_no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


@FUZZ
@given(data=st.data(), headers=extra_headers)
@example(data=None, headers={b"referer": b"http://[x/"})  # found: a 500 before the fix
async def test_setup_form_never_fails(
    target: Target,
    logs: pytest.LogCaptureFixture,
    data: st.DataObject | None,
    headers: dict[bytes, bytes],
) -> None:
    logs.clear()
    body = (
        data.draw(bodies(target.token))
        if data is not None
        else (urlencoded([("csrf_token", target.token)]), "application/x-www-form-urlencoded")
    )
    response = await post(target, "/setup", body, headers)
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text
    assert_no_errors_logged(logs)


async def test_setup_still_works_after_the_fuzzing(target: Target) -> None:
    """The fuzzed set-up form stays usable: a valid submission creates the owner."""
    fields = [
        ("email", OWNER),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("csrf_token", target.token),
        ("next", "//evil.example"),
        ("\x00", "\x00"),
    ]
    response = await post(
        target, "/setup", (urlencoded(fields), "application/x-www-form-urlencoded"), {}
    )
    assert response.status_code == 303
    assert await UserStore(target.services.meta.engine).count() == 1


@FUZZ
@given(data=st.data(), headers=extra_headers)
@example(data=None, headers={b"origin": b"http://[x/"})
async def test_login_form_never_fails(
    target: Target,
    logs: pytest.LogCaptureFixture,
    data: st.DataObject | None,
    headers: dict[bytes, bytes],
) -> None:
    users = UserStore(target.services.meta.engine)
    if await users.count() == 0:
        await users.create(OWNER, PASSWORD, 0.0, is_admin=True)
    logs.clear()
    body = (
        data.draw(bodies(target.token))
        if data is not None
        else (
            urlencoded([("email", "\x00"), ("csrf_token", target.token)]),
            "application/x-www-form-urlencoded",
        )
    )
    response = await post(target, "/login", body, headers)
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text
    if response.status_code == 303:  # signed in: only ever to a path of this server
        assert response.headers["location"].startswith("/")
        assert not response.headers["location"].startswith("//")
    assert_no_errors_logged(logs)
