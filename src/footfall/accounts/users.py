"""`UserStore`: dashboard users in the metadata database.

Emails are stored lower-case and unique; passwords only as argon2id hashes
(`accounts.passwords`). `authenticate` spends the same time on unknown emails as on known
ones. Changing a password stamps `password_changed_at`; ending the user's other sessions is
the caller's decision (`SessionStore.end_all_for`), made in the same request.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from footfall.accounts import passwords
from footfall.accounts.models import User
from footfall.errors import NotFoundError
from footfall.storage.schema import users

# Deliberately loose: one "@", something on both sides, no spaces. Whether mail reaches the
# address is not Footfall's concern (it sends none); the email is a login name.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_EMAIL_LENGTH = 320


class DuplicateEmail(ValueError):
    """Another user already has this email address."""


def normalise_email(email: str) -> str:
    """The stored form of an email address; ValueError naming the field if it is not one."""
    value = email.strip().lower()
    if not value:
        raise ValueError("email: required")
    if len(value) > MAX_EMAIL_LENGTH or not _EMAIL.match(value):
        raise ValueError(f"email: {email.strip()!r} is not an email address")
    return value


def _user(row: Any) -> User:
    return User(
        id=row.id,
        email=row.email,
        is_admin=bool(row.is_admin),
        created_at=row.created_at,
        password_changed_at=row.password_changed_at,
    )


_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.is_admin,
    users.c.created_at,
    users.c.password_changed_at,
)


class UserStore:
    """Create, find, list and delete users; set and check passwords."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def count(self) -> int:
        async with self._engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(users)) or 0)

    async def create(
        self, email: str, password: str, now: float, *, is_admin: bool = False
    ) -> User:
        """A new user. ValueError for an invalid email or password, DuplicateEmail if taken."""
        user, password_hash = await self._new(email, password, now, is_admin)
        async with self._engine.begin() as conn:
            taken = await conn.scalar(sa.select(users.c.id).where(users.c.email == user.email))
            if taken is not None:
                raise DuplicateEmail(f"email: {user.email} already has an account")
            await conn.execute(users.insert().values(**_row(user, password_hash)))
        return user

    async def create_first(self, email: str, password: str, now: float) -> User | None:
        """The installation's first user, an administrator; None if a user exists already.

        One statement inserts only while `users` is empty (PostgreSQL: under a table lock), so
        two browsers racing through first-run set-up cannot both become the owner.
        """
        user, password_hash = await self._new(email, password, now, True)
        values = _row(user, password_hash)
        select = sa.select(
            *(sa.literal(value, type_=users.c[name].type) for name, value in values.items())
        ).where(~sa.exists(sa.select(users.c.id)))
        async with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(sa.text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
            result = await conn.execute(users.insert().from_select(list(values), select))
        return user if result.rowcount == 1 else None

    async def _new(self, email: str, password: str, now: float, is_admin: bool) -> tuple[User, str]:
        address = normalise_email(email)
        password_hash = await passwords.hash_password(password)
        user = User(
            id=secrets.token_hex(16),
            email=address,
            is_admin=is_admin,
            created_at=now,
            password_changed_at=None,
        )
        return user, password_hash

    async def get(self, user_id: str) -> User | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(*_COLUMNS).where(users.c.id == user_id))).first()
        return _user(row) if row is not None else None

    async def by_email(self, email: str) -> User | None:
        try:
            address = normalise_email(email)
        except ValueError:
            return None
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(*_COLUMNS).where(users.c.email == address))).first()
        return _user(row) if row is not None else None

    async def list(self) -> list[User]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(*_COLUMNS).order_by(users.c.created_at))
            return [_user(row) for row in rows]

    async def delete(self, email: str) -> User:
        """Delete a user (their sessions and memberships go with them); NotFoundError."""
        user = await self.by_email(email)
        if user is None:
            raise NotFoundError(f"no user with email {email.strip()}")
        async with self._engine.begin() as conn:
            await conn.execute(users.delete().where(users.c.id == user.id))
        return user

    async def set_password(self, user_id: str, password: str, now: float) -> None:
        """Replace the password (policy checked: ValueError); NotFoundError for no such user."""
        password_hash = await passwords.hash_password(password)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(password_hash=password_hash, password_changed_at=now)
            )
        if result.rowcount == 0:
            raise NotFoundError(f"no user with id {user_id}")

    async def authenticate(self, email: str, password: str) -> User | None:
        """The user with this email and password, or None (same cost either way)."""
        try:
            address = normalise_email(email)
        except ValueError:
            address = None
        row = None
        if address is not None:
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(
                        sa.select(*_COLUMNS, users.c.password_hash).where(users.c.email == address)
                    )
                ).first()
        if row is None:
            await passwords.burn_verification(password)
            return None
        if not await passwords.verify(row.password_hash, password):
            return None
        if passwords.needs_rehash(row.password_hash):
            await self._rehash(row.id, password)
        return _user(row)

    async def _rehash(self, user_id: str, password: str) -> None:
        # The password was right; store it again with today's parameters. A password that
        # predates today's policy stays valid: the policy applies when a password is chosen.
        new_hash = await passwords.hash_password_unchecked(password)
        async with self._engine.begin() as conn:
            await conn.execute(
                users.update().where(users.c.id == user_id).values(password_hash=new_hash)
            )


def _row(user: User, password_hash: str) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "password_hash": password_hash,
        "is_admin": user.is_admin,
        "created_at": user.created_at,
        "password_changed_at": user.password_changed_at,
    }
