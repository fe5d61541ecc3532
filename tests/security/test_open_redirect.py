"""No open redirect after signing in: `next` only ever leads to a path of this server.

`forms.safe_next` picks where the sign-in form sends the browser. A browser resolves the
`Location` it gets against the page's URL after the WHATWG URL parser's clean-ups (leading and
trailing controls and spaces stripped, tabs and newlines removed anywhere, a backslash read as
a slash in http(s) URLs), so the properties resolve every answer that way — and after
Starlette's own quoting of the `Location` header — and require this server's origin.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.responses import RedirectResponse

from footfall.config import Settings
from footfall.dashboard.forms import safe_next
from tests.conftest import FakeClock
from tests.dashboard.conftest import OWNER, PASSWORD, Dash, _dash
from tests.hostile.strategies import nasty_text

BASE = "https://footfall.example/login"
DEFAULT = "/sites"

# What hostile `next` values are made of: slashes of every kind, schemes, encodings of both.
_PIECES = [
    "/",
    "//",
    "\\",
    "/\\",
    "\\/",
    "%2F",
    "%2f",
    "%5C",
    "%5c",
    "%09",
    "%0a",
    "%00",
    "%252F",
    "javascript:",
    "JaVaScRiPt:",
    "data:",
    "https:",
    "http:",
    ":",
    "evil.example",
    "@evil.example",
    "evil.example:443",
    "..",
    ".",
    "?",
    "#",
    "\t",
    "\n",
    "\r",
    " ",
    "\x00",
    "\x0b",
    "\x1f",
    "\x7f",
    "\u3002",  # ideographic full stop: a dot to IDNA
    "\uff0f",  # fullwidth solidus
    "\u2215",  # division slash
    "\u2044",  # fraction slash
    "\ufe68",  # small reverse solidus
]
hostile_next = st.one_of(
    nasty_text,
    st.lists(st.sampled_from(_PIECES), min_size=1, max_size=8).map("".join),
    st.lists(st.one_of(st.sampled_from(_PIECES), nasty_text), min_size=1, max_size=5).map("".join),
    st.builds(
        lambda s, rest: f"{s}://evil.example{rest}", st.sampled_from(["http", "https"]), nasty_text
    ),
)

_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))


def _as_a_browser_reads_it(location: str) -> tuple[str, str]:
    """(scheme, host) of the URL a browser goes to when a page at `BASE` answers `location`."""
    cleaned = location.strip(_C0_OR_SPACE)
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    resolved = urlsplit(urljoin(BASE, cleaned))
    return resolved.scheme, resolved.netloc


def _sent_location(target: str) -> str:
    """The `Location` header the dashboard's redirect sends for `target`."""
    return RedirectResponse(target, status_code=303).headers["location"]


@settings(max_examples=500, deadline=None)
@given(target=st.one_of(st.none(), hostile_next))
@example(target="//evil.example")
@example(target="/\\evil.example")
@example(target="\\\\evil.example")
@example(target="/\t/evil.example")
@example(target="/\n/evil.example")
@example(target=" //evil.example")
@example(target="\x00//evil.example")
@example(target="https://evil.example/")
@example(target="javascript:alert(1)")
@example(target="/%2F%2Fevil.example")
@example(target="/%5Cevil.example")
@example(target="/..//evil.example")
@example(target="/\uff0f/evil.example")
def test_safe_next_never_leaves_the_site(target: str | None) -> None:
    chosen = safe_next(target)
    assert chosen == DEFAULT or chosen == target  # never rewritten into something else
    assert chosen.startswith("/") and not chosen.startswith("//")
    assert "\\" not in chosen and not any(ord(ch) < 32 for ch in chosen)
    for location in (chosen, _sent_location(chosen)):
        assert _as_a_browser_reads_it(location) == ("https", "footfall.example"), location


@given(target=st.text(alphabet=st.characters(codec="utf-8"), max_size=40).map(lambda t: "/" + t))
@example(target="/sites/0b6a5c8e-1111-4222-8333-944455556666/stats?period=7d#top")
@settings(max_examples=200, deadline=None)
def test_a_local_path_is_kept(target: str) -> None:
    """Every path of this server that cannot be read as another host survives unchanged."""
    local = not target.startswith("//") and "\\" not in target
    local = local and not any(ord(ch) < 32 for ch in target)
    assert safe_next(target) == (target if local else DEFAULT)


def test_safe_next_examples() -> None:
    assert safe_next(None) == DEFAULT
    assert safe_next("") == DEFAULT
    assert safe_next("/sites/x/stats?period=30d") == "/sites/x/stats?period=30d"
    assert safe_next("/account", default="/elsewhere") == "/account"
    for hostile in (
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "https://evil.example",
        "HTTPS://evil.example",
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "evil.example",
        "/\t/evil.example",
        "/\r\n/evil.example",
        "\x00/evil.example",
    ):
        assert safe_next(hostile) == DEFAULT, hostile
        assert safe_next(hostile, default="/account") == "/account", hostile


# -- over HTTP ---------------------------------------------------------------------------------


@pytest.fixture
async def dash(settings: Settings, clock: FakeClock) -> AsyncIterator[Dash]:
    """A running app with its dashboard (see tests/dashboard/conftest.py)."""
    async for value in _dash(settings, clock, "http://testserver"):
        yield value


OFF_SITE = [
    "//evil.example",
    "//evil.example/sites",
    "/\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\t/evil.example",
]


def _on_site(response_location: str) -> bool:
    return _as_a_browser_reads_it(response_location) == ("https", "footfall.example")


async def test_sign_in_with_an_off_site_next_lands_on_the_site(dash: Dash) -> None:
    await dash.owner()  # set-up done: the sign-in form is served
    for target in OFF_SITE:
        browser = await dash.browser()
        form = await browser.get("/login", params={"next": target})
        assert form.status_code == 200
        assert 'name="next" value="/sites"' in form.text, target
        response = await browser.post(
            "/login", {"email": OWNER, "password": PASSWORD, "next": target}
        )
        assert response.status_code == 303, (target, response.text[:500])
        assert response.headers["location"] == DEFAULT, target
        # Signed in already: GET /login?next=… redirects at once, on-site too.
        again = await browser.get("/login", params={"next": target})
        assert again.status_code == 303 and again.headers["location"] == DEFAULT, target


async def test_sign_in_with_an_encoded_next_stays_on_the_site(dash: Dash) -> None:
    """`next` arrives decoded once; the form carries the checked value, and a browser posts it
    back. Encoded slashes left after decoding are a path of this site, not a host."""
    await dash.owner()
    for raw, location in (
        ("%2F%2Fevil.example", DEFAULT),  # decodes to //evil.example
        ("%5C%5Cevil.example", DEFAULT),  # decodes to \\evil.example
        ("%252F%252Fevil.example", DEFAULT),  # decodes to %2F%2F…: not a path
        ("/%252F%252Fevil.example", "/%2F%2Fevil.example"),  # a path of this site
    ):
        browser = await dash.browser()
        form = await browser.get("/login?next=" + raw)
        found = re.search(r'name="next" value="([^"]*)"', form.text)
        assert found, "no next field on the sign-in form"
        response = await browser.post(
            "/login", {"email": OWNER, "password": PASSWORD, "next": found.group(1)}
        )
        assert response.status_code == 303, raw
        assert response.headers["location"] == location, raw
        assert _on_site(response.headers["location"])
