"""`SessionStore`: signed-in browsers, stored by the SHA-256 of their cookie's secret.

- The cookie carries 256 random bits; the database holds only their digest, so a leaked
  database (or backup) cannot be replayed as cookies.
- Sliding expiry: a session lives `LIFETIME` past its last use. The expiry is pushed forward
  at most once per `TOUCH_EVERY`, so browsing does not turn every page into a write.
- A new session is created at every login (the old one, if any, is ended: no fixation), and
  the user's other sessions end when the password changes.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from footfall.accounts.models import Session, User
from footfall.storage.schema import sessions, users

LIFETIME = 14 * 24 * 3600.0
"""Seconds a session survives without use."""

TOUCH_EVERY = 300.0
"""Seconds between writes of `last_seen_at` / `expires_at` for one session."""

_SECRET_BYTES = 32
_MAX_SECRET_LENGTH = 100  # longer cookie values are not ours: no need to hash them


def session_id(secret: str) -> str:
    """The stored id of the session whose cookie carries `secret`."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _session(row: Any) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )


class SessionStore:
    """Create, look up, slide and end sessions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, user_id: str, now: float) -> tuple[str, Session]:
        """A new session for the user: returns the cookie secret (not stored) and the session."""
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        session = Session(
            id=session_id(secret),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + LIFETIME,
        )
        async with self._engine.begin() as conn:
            await conn.execute(
                sessions.insert().values(
                    id=session.id,
                    user_id=user_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=session.expires_at,
                )
            )
        return secret, session

    async def lookup(self, secret: str, now: float) -> tuple[Session, User] | None:
        """The live session of a cookie secret and its user, sliding its expiry; else None."""
        if not secret or len(secret) > _MAX_SECRET_LENGTH:
            return None
        sid = session_id(secret)
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        sessions,
                        users.c.email,
                        users.c.is_admin,
                        users.c.created_at.label("user_created_at"),
                        users.c.password_changed_at,
                    )
                    .join(users, users.c.id == sessions.c.user_id)
                    .where(sessions.c.id == sid)
                )
            ).first()
        if row is None:
            return None
        if row.expires_at <= now:
            await self.end(secret)
            return None
        session = _session(row)
        if now - session.last_seen_at >= TOUCH_EVERY:
            session = Session(
                id=sid,
                user_id=session.user_id,
                created_at=session.created_at,
                last_seen_at=now,
                expires_at=now + LIFETIME,
            )
            async with self._engine.begin() as conn:
                await conn.execute(
                    sessions.update()
                    .where(sessions.c.id == sid)
                    .values(last_seen_at=now, expires_at=session.expires_at)
                )
        user = User(
            id=row.user_id,
            email=row.email,
            is_admin=bool(row.is_admin),
            created_at=row.user_created_at,
            password_changed_at=row.password_changed_at,
        )
        return session, user

    async def end(self, secret: str) -> None:
        """End the session of a cookie secret (logout); nothing happens for an unknown one."""
        if not secret or len(secret) > _MAX_SECRET_LENGTH:
            return
        async with self._engine.begin() as conn:
            await conn.execute(sessions.delete().where(sessions.c.id == session_id(secret)))

    async def end_all_for(self, user_id: str, *, keep: str | None = None) -> int:
        """End every session of the user except the one with id `keep`; returns how many."""
        condition = sessions.c.user_id == user_id
        if keep is not None:
            condition = sa.and_(condition, sessions.c.id != keep)
        async with self._engine.begin() as conn:
            result = await conn.execute(sessions.delete().where(condition))
        return int(result.rowcount or 0)

    async def rotate(self, secret: str, now: float) -> tuple[str, Session] | None:
        """Replace a live session by a new one for the same user (after a privilege change)."""
        found = await self.lookup(secret, now)
        if found is None:
            return None
        await self.end(secret)
        return await self.create(found[1].id, now)

    async def purge_expired(self, now: float) -> int:
        """Delete sessions past their expiry; returns how many."""
        async with self._engine.begin() as conn:
            result = await conn.execute(sessions.delete().where(sessions.c.expires_at <= now))
        return int(result.rowcount or 0)

    async def count_for(self, user_id: str) -> int:
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(sessions)
                .where(sessions.c.user_id == user_id)
            )
        return int(value or 0)
