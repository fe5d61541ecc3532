"""Publishable key format and origin normal form."""

from __future__ import annotations

import re

import pytest

from footfall.auth import publishable, tokens


def test_keys_are_well_formed_unique_and_not_tokens() -> None:
    made = {publishable.generate_key() for _ in range(200)}
    assert len(made) == 200
    for key in made:
        assert re.fullmatch(r"pk_[0-9A-Za-z]{30}", key)
        assert publishable.is_well_formed(key)
        assert not tokens.is_well_formed(key)


def test_malformed_keys_are_recognised_without_a_lookup() -> None:
    key = publishable.generate_key()
    flipped = key[:10] + ("a" if key[10] != "a" else "b") + key[11:]
    for bad in (key[:-1], key + "0", "vt_" + key[3:], flipped, key.replace(key[5], "-"), ""):
        assert not publishable.is_well_formed(bad)
    assert not publishable.is_well_formed(tokens.generate_token())


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("https://Shop.Example.com", "https://shop.example.com"),
        ("https://shop.example.com:443/", "https://shop.example.com"),
        ("http://localhost:80", "http://localhost"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("HTTPS://example.com:8443", "https://example.com:8443"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        (" * ", "*"),
    ],
)
def test_origin_normal_form(text: str, normal: str) -> None:
    assert publishable.normalise_origin(text) == normal


def test_request_origin_header() -> None:
    assert publishable.request_origin("https://Shop.example.com") == "https://shop.example.com"
    for header in (None, "", "null", "*", "file://", "not an origin", "https://x.com/path"):
        assert publishable.request_origin(header) is None
