"""`stats.prop_keys`: the property keys of a site's custom events in a range, on both event
stores, most used first, pageviews and other sites and times left out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from footfall.stats.periods import DateRange
from footfall.stats.prop_keys import prop_keys
from footfall.storage.events import Event, EventStore
from tests.backends import open_event_store
from tests.stats.dataset import at

pytest_plugins = ["tests.backends"]

SITE = "site-a"
RANGE = DateRange(at("2026-03-01T00:00:00"), at("2026-03-02T00:00:00"), "UTC")


@pytest.fixture(params=["duckdb", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    opened = await open_event_store(request.param, request, tmp_path)
    yield opened
    await opened.close()


def _event(when: str, name: str, props: dict[str, Any], site: str = SITE) -> Event:
    return Event(
        ts=at(when),
        site_id=site,
        visitor_id=1,
        name=name,
        hostname="shop.example",
        pathname="/",
        props=props,
    )


async def test_keys_of_the_ranges_custom_events_most_used_first(store: EventStore) -> None:
    odd = "it's a/b.c ~$ ключ"  # quotes, JSON-pointer and path characters, non-ASCII
    await store.append(
        [
            _event("2026-03-01T10:00:00", "signup", {"plan": "pro", "seats": 3}),
            _event("2026-03-01T11:00:00", "signup", {"plan": "free"}),
            _event("2026-03-01T12:00:00", "download", {"format": "pdf", "plan": "pro"}),
            _event("2026-03-01T12:30:00", "download", {odd: True}),
            _event("2026-03-01T13:00:00", "download", {"Format": "zip"}),
            _event("2026-03-01T14:00:00", "signup", {}),
            # Left out: a pageview's properties, another site, outside the range.
            _event("2026-03-01T15:00:00", "pageview", {"author": "ann"}),
            _event("2026-03-01T15:00:00", "signup", {"coupon": "x"}, site="site-b"),
            _event("2026-03-02T00:00:00", "signup", {"late": 1}),
            _event("2026-02-28T23:59:59", "signup", {"early": 1}),
        ]
    )
    # plan 3 events; then one each, in byte order ("F" < "f" < "i" < "s").
    expected = ["plan", "Format", "format", odd, "seats"]
    assert await prop_keys(store, SITE, RANGE) == expected
    assert await prop_keys(store, SITE, RANGE, limit=2) == ["plan", "Format"]
    assert await prop_keys(store, "site-c", RANGE) == []
    assert await prop_keys(store, SITE, DateRange(RANGE.end, RANGE.end + 86_400, "UTC")) == ["late"]
