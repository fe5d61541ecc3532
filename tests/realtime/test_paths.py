"""`PathPattern`: parsing (with a reason for every refusal), matching and coverage."""

from __future__ import annotations

import pytest

from footfall.realtime.paths import InvalidPathPattern, PathPattern


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", 'must start with "/"'),
        ("pricing", 'must start with "/"'),
        ("https://example.com/pricing", 'must start with "/"'),
        ("/pricing?plan=pro", "no spaces, query string or fragment"),
        ("/pricing#top", "no spaces, query string or fragment"),
        ("/pri cing", "no spaces, query string or fragment"),
        ("/pricing\x00", "no spaces, query string or fragment"),
        ("/*/pricing", 'may contain "*" only at the end'),
        ("/pricing/**", 'may contain "*" only at the end'),
        ("/" + "a" * 2048, "at most 2048 characters"),
    ],
)
def test_invalid_patterns_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidPathPattern, match=reason.replace("*", r"\*")):
        PathPattern.parse(text)


def test_exact_and_prefix_matching() -> None:
    exact, prefix = PathPattern.parse("/pricing"), PathPattern.parse("/pricing/*")
    assert (str(exact), str(prefix)) == ("/pricing", "/pricing/*")
    assert exact.matches("/pricing")
    assert not exact.matches("/pricing/") and not exact.matches("/pricing/team")
    assert prefix.matches("/pricing/") and prefix.matches("/pricing/team/annual")
    assert not prefix.matches("/pricing") and not prefix.matches("/pricing-old")
    assert PathPattern.parse("/*").everything and not prefix.everything
    assert PathPattern.parse("/%C3%A9t%C3%A9").matches("/%C3%A9t%C3%A9")  # as the browser sends


def test_covers() -> None:
    def covers(outer: str, inner: str) -> bool:
        return PathPattern.parse(outer).covers(PathPattern.parse(inner))

    assert covers("/pricing", "/pricing")
    assert not covers("/pricing", "/pricing/*")
    assert not covers("/pricing", "/pricing/team")
    assert covers("/pricing/*", "/pricing/team")
    assert covers("/pricing/*", "/pricing/team/*")
    assert covers("/pricing/*", "/pricing/*")
    assert not covers("/pricing/*", "/pricing")
    assert not covers("/pricing/team/*", "/pricing/*")
    assert covers("/*", "/anything/*")
