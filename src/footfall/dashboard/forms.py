"""Small helpers for the dashboard's forms: field errors, numbers, safe redirect targets."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable


def field_error(error: ValueError, fields: Iterable[str], default: str) -> tuple[str, str]:
    """(field, message) from a domain ValueError written as "field: message"."""
    text = str(error)
    name, sep, message = text.partition(": ")
    if sep and name in set(fields):
        return name, message[:1].upper() + message[1:]
    return default, text


def optional_int(value: str | None, field: str) -> int | None:
    """An integer typed into a form, None when left empty; ValueError naming the field."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{field}: must be a whole number, not {text!r}") from None


def required_int(value: str | None, field: str) -> int:
    number = optional_int(value, field)
    if number is None:
        raise ValueError(f"{field}: required")
    return number


def safe_next(target: str | None, default: str = "/sites") -> str:
    """A local path to go to after signing in; anything else (other hosts, `//evil`,
    backslashes browsers treat as slashes) falls back to `default`."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    return target


@functools.cache
def timezones() -> list[str]:
    """Every IANA time zone name, sorted (the site form's choices)."""
    names = set(zoneinfo.available_timezones()) | {"UTC"}
    # Legacy aliases ("US/Pacific", "Etc/GMT+5", …) stay valid but are not offered.
    offered = (n for n in names if "/" in n and not n.startswith(("Etc/", "SystemV/", "US/")))
    return [*sorted(offered), "UTC"]
