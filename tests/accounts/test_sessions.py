"""`SessionStore` on SQLite and PostgreSQL: hashed ids, sliding expiry, ending sessions."""

from __future__ import annotations

import sqlalchemy as sa

from footfall.accounts.sessions import LIFETIME, TOUCH_EVERY, SessionStore, session_id
from footfall.accounts.users import UserStore
from footfall.storage.meta import SqlMetaStore
from footfall.storage.schema import sessions

PASSWORD = "correct horse battery"


async def _user_id(meta: SqlMetaStore, email: str = "a@example.org") -> str:
    return (await UserStore(meta.engine).create(email, PASSWORD, 0.0)).id


async def test_only_the_digest_of_the_secret_is_stored(meta: SqlMetaStore) -> None:
    store = SessionStore(meta.engine)
    secret, session = await store.create(await _user_id(meta), 100.0)
    assert len(secret) >= 43  # 256 random bits, URL-safe base64
    async with meta.engine.connect() as conn:
        stored = list(await conn.scalars(sa.select(sessions.c.id)))
    assert stored == [session_id(secret)] and secret not in stored
    found = await store.lookup(secret, 101.0)
    assert found is not None and found[0].id == session.id and found[1].email == "a@example.org"
    assert await store.lookup(secret + "x", 101.0) is None
    assert await store.lookup("", 101.0) is None
    assert await store.lookup("x" * 5000, 101.0) is None


async def test_expiry_slides_with_use(meta: SqlMetaStore) -> None:
    store = SessionStore(meta.engine)
    secret, session = await store.create(await _user_id(meta), 0.0)
    assert session.expires_at == LIFETIME
    # Used shortly after: nothing is written.
    found = await store.lookup(secret, TOUCH_EVERY / 2)
    assert found is not None and found[0].expires_at == LIFETIME
    # Used later, before expiry: the expiry moves to LIFETIME after this use.
    later = LIFETIME - 1.0
    found = await store.lookup(secret, later)
    assert found is not None and found[0].expires_at == later + LIFETIME
    assert await store.lookup(secret, later + LIFETIME - 1.0) is not None
    # Unused for LIFETIME: gone, and deleted.
    assert await store.lookup(secret, later + 2 * LIFETIME + TOUCH_EVERY) is None
    async with meta.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(sessions)) == 0


async def test_end_end_all_rotate_and_purge(meta: SqlMetaStore) -> None:
    store = SessionStore(meta.engine)
    alice, bob = await _user_id(meta), await _user_id(meta, "b@example.org")
    first, s1 = await store.create(alice, 0.0)
    second, _ = await store.create(alice, 0.0)
    third, _ = await store.create(alice, 0.0)
    bobs, _ = await store.create(bob, 0.0)

    await store.end(first)
    assert await store.lookup(first, 1.0) is None
    assert await store.end_all_for(alice, keep=session_id(second)) == 1
    assert await store.lookup(second, 1.0) is not None
    assert await store.lookup(third, 1.0) is None
    assert await store.lookup(bobs, 1.0) is not None

    rotated = await store.rotate(second, 2.0)
    assert rotated is not None and rotated[0] != second
    assert await store.lookup(second, 3.0) is None
    assert await store.lookup(rotated[0], 3.0) is not None
    assert await store.rotate(second, 3.0) is None
    assert s1.user_id == alice

    assert await store.purge_expired(LIFETIME + 1.0) == 1  # bob's, never used since
    assert await store.count_for(alice) == 1
    assert await store.count_for(bob) == 0


async def test_deleting_a_user_ends_their_sessions(meta: SqlMetaStore) -> None:
    store = SessionStore(meta.engine)
    await _user_id(meta)
    secret, _ = await store.create((await UserStore(meta.engine).list())[0].id, 0.0)
    await UserStore(meta.engine).delete("a@example.org")
    assert await store.lookup(secret, 1.0) is None
