"""Hypothesis strategies for hostile input: what a bot, a fuzzer or a broken client sends.

Bounded in size so that a property runs in milliseconds; the size limits themselves are tested
with inputs just past them.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Characters that break naive code: NUL and other controls, separators, quotes, a BOM,
# non-BMP characters, right-to-left marks, and the parts of URLs and headers.
NASTY_CHARS = "\x00\x01\x1f\x7f\x85\u2028\u2029\ufeff\u202e\U0001f600\"'\\/%&=?#@:;,. \t\r\n"

nasty_text = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(NASTY_CHARS)), max_size=80
)
"""Any text, weighted towards troublesome characters."""

huge_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**308, 1e308, -1e308, 5e-324, -0.0]),
    st.floats(allow_nan=False, allow_infinity=False),
)

json_scalars = st.one_of(st.none(), st.booleans(), huge_numbers, nasty_text)

json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(nasty_text, children, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON value, nested a little."""


def urls() -> st.SearchStrategy[str]:
    """Strings that look like URLs, some valid, most broken in interesting ways."""
    scheme = st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", "", "http:"])
    host = st.one_of(
        st.sampled_from(
            [
                "example.com",
                "www.example.com",
                "a.b.example.com",
                "EXAMPLE.COM",
                "example.com.",
                "[::1]",
                "[::1",
                "127.0.0.1",
                "xn--80ak6aa92e.com",
                "user:pass@example.com",
                "example.com:99999",
                "example.com:-1",
                "exa mple.com",
                "",
            ]
        ),
        nasty_text,
    )
    path = st.one_of(st.just(""), nasty_text.map(lambda t: "/" + t))
    query = st.one_of(
        st.just(""),
        st.builds(
            lambda k, v: f"?{k}={v}",
            st.sampled_from(["utm_source", "utm_medium", "ref", "source", "x", "utm_source[]"]),
            nasty_text,
        ),
    )
    return st.one_of(
        st.builds(lambda s, h, p, q: f"{s}://{h}{p}{q}", scheme, host, path, query), nasty_text
    )


def deep_json(depth: int) -> str:
    """An array nested `depth` deep."""
    return "[" * depth + "]" * depth


def json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
