"""`UserStore` on SQLite and PostgreSQL: emails, argon2id hashes, first-user race, deletion."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from footfall.accounts import passwords
from footfall.accounts.users import DuplicateEmail, UserStore
from footfall.errors import NotFoundError
from footfall.storage.meta import SqlMetaStore
from footfall.storage.schema import users

PASSWORD = "correct horse battery"


async def test_create_stores_lower_case_email_and_an_argon2id_hash(meta: SqlMetaStore) -> None:
    store = UserStore(meta.engine)
    user = await store.create(" Alice@Example.ORG ", PASSWORD, 10.0)
    assert user.email == "alice@example.org" and not user.is_admin
    async with meta.engine.connect() as conn:
        stored = await conn.scalar(sa.select(users.c.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert await store.by_email("ALICE@example.org") == user
    assert await store.get(user.id) == user
    assert await store.count() == 1


async def test_duplicate_and_invalid_input_name_the_field(meta: SqlMetaStore) -> None:
    store = UserStore(meta.engine)
    await store.create("a@example.org", PASSWORD, 1.0)
    with pytest.raises(DuplicateEmail, match=r"^email: a@example\.org already has an account"):
        await store.create("A@example.org", PASSWORD, 2.0)
    with pytest.raises(ValueError, match=r"^email: 'not-an-email' is not an email address"):
        await store.create("not-an-email", PASSWORD, 2.0)
    with pytest.raises(ValueError, match=r"^password: must be at least 10 characters"):
        await store.create("b@example.org", "short", 2.0)
    with pytest.raises(ValueError, match=r"^password: must not be only spaces"):
        await store.create("b@example.org", " " * 12, 2.0)
    assert await store.count() == 1


async def test_authenticate(meta: SqlMetaStore) -> None:
    store = UserStore(meta.engine)
    user = await store.create("a@example.org", PASSWORD, 1.0)
    assert await store.authenticate("A@example.org", PASSWORD) == user
    assert await store.authenticate("a@example.org", PASSWORD + "x") is None
    assert await store.authenticate("nobody@example.org", PASSWORD) is None
    assert await store.authenticate("not an email", PASSWORD) is None
    assert await store.authenticate("a@example.org", "x" * (passwords.MAX_LENGTH + 1)) is None


async def test_set_password_replaces_the_hash_and_stamps_the_change(meta: SqlMetaStore) -> None:
    store = UserStore(meta.engine)
    user = await store.create("a@example.org", PASSWORD, 1.0)
    await store.set_password(user.id, "another good one", 5.0)
    assert await store.authenticate("a@example.org", PASSWORD) is None
    changed = await store.authenticate("a@example.org", "another good one")
    assert changed is not None and changed.password_changed_at == 5.0
    with pytest.raises(NotFoundError):
        await store.set_password("missing", "another good one", 6.0)


async def test_first_user_is_created_once_even_when_racing(meta: SqlMetaStore) -> None:
    store = UserStore(meta.engine)
    results = await asyncio.gather(
        *(store.create_first(f"owner{i}@example.org", PASSWORD, 1.0) for i in range(3))
    )
    created = [user for user in results if user is not None]
    assert len(created) == 1 and created[0].is_admin
    assert await store.count() == 1
    assert await store.create_first("late@example.org", PASSWORD, 2.0) is None


async def test_list_and_delete(meta: SqlMetaStore) -> None:
    store = UserStore(meta.engine)
    a = await store.create("a@example.org", PASSWORD, 1.0, is_admin=True)
    b = await store.create("b@example.org", PASSWORD, 2.0)
    assert await store.list() == [a, b]
    assert await store.delete("B@example.org") == b
    assert await store.list() == [a]
    with pytest.raises(NotFoundError, match=r"no user with email b@example.org"):
        await store.delete("b@example.org")
