"""Hostile stats queries run on both real event stores: whatever the filter values, property
names and time zones, the answer is a result or a 400 naming the parameter — never a store
error (found by fuzzing: a NUL character or an unpaired surrogate in a filter value made
PostgreSQL and DuckDB fail with a 500)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.errors import BadRequest
from footfall.stats import Kind, answer, parse_query
from footfall.storage.events import EventStore
from tests.backends import open_event_store
from tests.hostile.strategies import nasty_text
from tests.stats.dataset import NOW, events

pytest_plugins = ["tests.backends"]

SITE = "3f1c2b9e-6a55-4f0c-9c3e-0d9f1f2a7b10"
DIMENSIONS = ["event:page", "visit:source", "visit:country", "event:props:plan", "event:name"]

# Text as JSON may carry it: unpaired surrogates only exist through "\ud800"-style escapes.
json_text = st.one_of(
    nasty_text,
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "%", "_", "\\", "'; DROP TABLE events; --"]),
)


@pytest.fixture(params=["duckdb", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    opened = await open_event_store(request.param, request, tmp_path)
    await opened.append(events(SITE))
    yield opened
    await opened.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(list(Kind)),
    operator=st.sampled_from(["is", "is_not", "contains"]),
    dimension=st.one_of(st.sampled_from(DIMENSIONS), json_text.map(lambda t: "event:props:" + t)),
    values=st.lists(json_text, min_size=1, max_size=3),
    prop=st.one_of(st.sampled_from(DIMENSIONS), json_text.map(lambda t: "event:props:" + t)),
)
async def test_hostile_filters_answer_or_400(
    store: EventStore, kind: Kind, operator: str, dimension: str, values: list[str], prop: str
) -> None:
    params = [("filters", json.dumps([[operator, dimension, values]]))]
    if kind is Kind.BREAKDOWN:
        params.append(("property", prop))
    try:
        query = parse_query(kind, SITE, params, NOW)
        body = await answer(store, query)
    except BadRequest as error:
        assert error.message.split(":")[0].split("[")[0] in ("filters", "property"), error.message
        json.dumps(error.message).encode("utf-8")  # the message itself can be sent
        return
    assert body["results"] is not None
