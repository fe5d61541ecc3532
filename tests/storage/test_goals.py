"""`GoalStore` on SQLite (embedded) and PostgreSQL (cluster): create, list, delete, the
checks on patterns, event names and goal names, deleted sites, and goals in export/import.
Path pattern semantics in SQL are tested on both event stores in tests/stats/test_goals.py.
The `meta` fixture (both metadata backends) comes from tests/backends.py.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import orjson
import pytest

from footfall import transfer
from footfall.errors import NotFoundError
from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.goals import Goal, GoalStore, check_pattern, regex
from footfall.storage.meta import SqlMetaStore


async def test_create_list_delete(meta: SqlMetaStore) -> None:
    site = await meta.create_site("example.com", None, 1.0)
    other = await meta.create_site("other.example", None, 1.0)
    goals = GoalStore(meta.engine)
    page = await goals.create(site.id, "pageview", "/signup/**", 2.0)
    event = await goals.create(site.id, "event", "signup", 3.0, name="  Signed up ")
    await goals.create(other.id, "event", "signup", 4.0)
    assert page == Goal(page.id, site.id, "pageview", "/signup/**", "Visit /signup/**", 2.0)
    assert event == Goal(event.id, site.id, "event", "signup", "Signed up", 3.0)
    assert re.fullmatch(r"[0-9a-f]{16}", page.id)
    assert await goals.for_site(site.id) == [page, event]
    assert await goals.delete(page.id) == page
    assert await goals.for_site(site.id) == [event]
    with pytest.raises(NotFoundError, match=f"no goal with id {page.id}"):
        await goals.delete(page.id)
    assert [g.name for g in await goals.for_site(other.id)] == ["signup"]


async def test_duplicates_are_refused(meta: SqlMetaStore) -> None:
    site = await meta.create_site("example.com", None, 1.0)
    goals = GoalStore(meta.engine)
    first = await goals.create(site.id, "pageview", "/pricing", 2.0, name="Pricing")
    with pytest.raises(ValueError) as caught:
        await goals.create(site.id, "pageview", "/pricing", 3.0, name="Pricing again")
    assert str(caught.value) == (
        f"goal {first.id} (Pricing) already counts the page pattern '/pricing'"
    )
    with pytest.raises(ValueError) as caught:
        await goals.create(site.id, "event", "pricing_viewed", 3.0, name="Pricing")
    assert str(caught.value) == f"goal {first.id} is already named 'Pricing'; choose another name"
    # The same match as another kind is another goal.
    await goals.create(site.id, "event", "/pricing", 4.0)
    assert len(await goals.for_site(site.id)) == 2


async def test_unknown_and_deleted_sites(meta: SqlMetaStore) -> None:
    goals = GoalStore(meta.engine)
    with pytest.raises(NotFoundError, match="no site with id nope"):
        await goals.create("nope", "event", "signup", 1.0)
    site = await meta.create_site("example.com", None, 1.0)
    await goals.create(site.id, "event", "signup", 2.0)
    await meta.delete_site(site.id, 3.0)
    with pytest.raises(NotFoundError):
        await goals.create(site.id, "event", "download", 4.0)
    await meta.forget_sites([site.id])  # the purge: goals go with the site
    assert await goals.for_site(site.id) == []


@pytest.mark.parametrize(
    ("kind", "match", "name", "message"),
    [
        ("pageview", "signup", None, "page pattern 'signup' must start with /"),
        ("pageview", "/sign up", None, "page pattern: no spaces or control characters"),
        ("pageview", "/a\x00", None, "page pattern: no spaces or control characters"),
        (
            "pageview",
            "/search?q=*",
            None,
            "page pattern: paths are matched without query string or fragment; remove ? and #",
        ),
        (
            "pageview",
            "/a#b",
            None,
            "page pattern: paths are matched without query string or fragment; remove ? and #",
        ),
        (
            "pageview",
            "/***",
            None,
            "page pattern: use * (within a segment) or ** (across segments)",
        ),
        ("pageview", "/" + "a" * 500, None, "page pattern: at most 500 characters"),
        (
            "event",
            "",
            None,
            "event name: 1 to 120 characters, no spaces or control characters",
        ),
        (
            "event",
            "sign up",
            None,
            "event name: 1 to 120 characters, no spaces or control characters",
        ),
        ("event", "x" * 121, None, None),
        (
            "event",
            "pageview",
            None,
            "event name: pageviews are goals by page: use --page with a pattern",
        ),
        ("event", "signup", "   ", "goal name: 1 to 200 characters, no control characters"),
        ("event", "signup", "a\tb", "goal name: 1 to 200 characters, no control characters"),
        ("event", "signup", "x" * 201, None),
        ("click", "signup", None, "kind: expected one of pageview, event"),
    ],
)
async def test_invalid_goals(
    meta: SqlMetaStore, kind: str, match: str, name: str | None, message: str | None
) -> None:
    site = await meta.create_site("example.com", None, 1.0)
    with pytest.raises(ValueError) as caught:
        await GoalStore(meta.engine).create(site.id, kind, match, 2.0, name)  # type: ignore[arg-type]
    if message is not None:
        assert str(caught.value) == message
    assert await GoalStore(meta.engine).for_site(site.id) == []


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("/signup", "(?s)^/signup$"),
        ("/blog/**", "(?s)^/blog/.*$"),
        ("/product/*/buy", "(?s)^/product/[^/]*/buy$"),
        ("/a.b(c)+[d]{2}|e^$\\*", "(?s)^/a\\.b\\(c\\)\\+\\[d\\]\\{2\\}\\|e\\^\\$\\\\[^/]*$"),
        ("/caf\u00e9-50%_~*", "(?s)^/caf\u00e9\\-50\\%\\_\\~[^/]*$"),
    ],
)
def test_regex(pattern: str, expected: str) -> None:
    assert regex(check_pattern(pattern)) == expected


async def test_goals_move_with_export_and_import(tmp_path: Path) -> None:
    source = await SqlMetaStore.open(database_url=None, sqlite_path=tmp_path / "a.sqlite3")
    target = await SqlMetaStore.open(database_url=None, sqlite_path=tmp_path / "b.sqlite3")
    events_a = DuckDBEventStore(tmp_path / "a.duckdb")
    events_b = DuckDBEventStore(tmp_path / "b.duckdb")
    try:
        site = await source.create_site("example.com", None, 1.0)
        bare = await source.create_site("bare.example", None, 1.0)
        created = [
            await GoalStore(source.engine).create(site.id, "pageview", "/signup/**", 2.0),
            await GoalStore(source.engine).create(site.id, "event", "signup", 3.0, "Signup"),
        ]
        out = io.BytesIO()
        await transfer.export_all(source, events_a, out, 5.0)
        await transfer.import_all(target, events_b, io.BytesIO(out.getvalue()))
        assert await GoalStore(target.engine).for_site(site.id) == created
        assert await GoalStore(target.engine).for_site(bare.id) == []
        # An export written before goals existed has none: it imports as before.
        old = b"".join(
            orjson.dumps({k: v for k, v in orjson.loads(line).items() if k != "goals"}) + b"\n"
            for line in out.getvalue().splitlines()
        )
        assert b"goals" not in old
        third = await SqlMetaStore.open(database_url=None, sqlite_path=tmp_path / "c.sqlite3")
        try:
            await transfer.import_all(third, events_b, io.BytesIO(old))
            assert await third.get_site(site.id) is not None
            assert await GoalStore(third.engine).for_site(site.id) == []
        finally:
            await third.close()
    finally:
        for store in (source, target):
            await store.close()
        for events in (events_a, events_b):
            await events.close()
