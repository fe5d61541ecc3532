"""`PathPattern`: which pages a per-page live count covers.

Two forms, both compared with the page's path exactly as the tracker sent it (the browser's
`location.pathname`, percent-encoded, without query string or fragment):

- `/pricing` — exactly that path (`/pricing/` and `/pricing/team` are other pages);
- `/pricing/*` — every path that starts with what precedes the `*` (`/pricing/`,
  `/pricing/team`, `/pricing/team/annual`; not `/pricing` itself). `/*` is every page.

A `*` is allowed only at the very end. Patterns are parsed once, where they enter (query
parameters, CLI options, stored key settings), and passed around as values.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PATTERN_LENGTH = 2048
"""As long as the longest URL ingestion accepts: a longer pattern could never match."""


class InvalidPathPattern(ValueError):
    """A pattern that is not `/…` or `/…*`; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A parsed pattern: `base` is the path (exact) or the prefix (when `prefix` is true)."""

    base: str
    prefix: bool = False

    @classmethod
    def parse(cls, text: str) -> PathPattern:
        """Parse `/page` or `/section/*`; InvalidPathPattern says why a text is refused."""
        if not text.startswith("/"):
            raise InvalidPathPattern('must start with "/" (e.g. /pricing or /pricing/*)')
        if len(text) > MAX_PATTERN_LENGTH:
            raise InvalidPathPattern(f"must be at most {MAX_PATTERN_LENGTH} characters")
        if any(ch in text for ch in "?#") or any(ch.isspace() or ord(ch) < 32 for ch in text):
            raise InvalidPathPattern("must be a path only: no spaces, query string or fragment")
        prefix = text.endswith("*")
        base = text[:-1] if prefix else text
        if "*" in base:
            raise InvalidPathPattern('may contain "*" only at the end (e.g. /pricing/*)')
        return cls(base, prefix)

    def __str__(self) -> str:
        return self.base + "*" if self.prefix else self.base

    def matches(self, path: str) -> bool:
        """True when a page at `path` is covered."""
        return path.startswith(self.base) if self.prefix else path == self.base

    def covers(self, other: PathPattern) -> bool:
        """True when every page `other` matches is also matched by this pattern."""
        if not self.prefix:
            return not other.prefix and other.base == self.base
        return other.base.startswith(self.base)

    @property
    def everything(self) -> bool:
        """True for `/*`: every page of the site (its count is the site-wide count)."""
        return self.prefix and self.base == "/"
