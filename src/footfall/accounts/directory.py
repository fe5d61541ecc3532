"""`UserDirectory`: what the dashboard's Users page (installation administrators) needs beyond
`UserStore`: users with their site counts and last activity, the sites a deletion would leave
without an owner, and a deletion that never removes the installation's last administrator.

Deleting a user behaves as `footfall users delete` does: their sessions end and their site
memberships go (both cascade from `users`), and the sites stay. A site whose only owner is
deleted keeps its data and is managed by installation administrators, who have owner rights
on every site (as on sites added from the command line, which have no members).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from footfall.accounts.models import Role, User
from footfall.errors import NotFoundError
from footfall.storage.meta import site_from_row
from footfall.storage.models import Site
from footfall.storage.schema import sessions, site_members, sites, users


class LastAdmin(Exception):
    """The user is the installation's only administrator: deleting them is refused."""


@dataclass(frozen=True, slots=True)
class UserSummary:
    """A user as the Users page lists them."""

    user: User
    sites: int
    """Live sites the user is a member of (any role)."""
    last_seen_at: float | None
    """The latest use of one of their live sessions (to within `sessions.TOUCH_EVERY`); None
    while they have none (never signed in, signed out, or their sessions expired)."""


class UserDirectory:
    """Listing and deleting users for installation administrators."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def summaries(self, now: float) -> list[UserSummary]:
        """Every user, oldest first, with their number of live sites and last activity."""
        memberships = (
            sa.select(site_members.c.user_id, sa.func.count().label("sites"))
            .join(sites, sites.c.id == site_members.c.site_id)
            .where(sites.c.deleted_at.is_(None))
            .group_by(site_members.c.user_id)
            .subquery()
        )
        activity = (
            sa.select(sessions.c.user_id, sa.func.max(sessions.c.last_seen_at).label("seen"))
            .where(sessions.c.expires_at > now)
            .group_by(sessions.c.user_id)
            .subquery()
        )
        query = (
            sa.select(
                users.c.id,
                users.c.email,
                users.c.is_admin,
                users.c.created_at,
                users.c.password_changed_at,
                memberships.c.sites,
                activity.c.seen,
            )
            .select_from(users)
            .outerjoin(memberships, memberships.c.user_id == users.c.id)
            .outerjoin(activity, activity.c.user_id == users.c.id)
            .order_by(users.c.created_at, users.c.email)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            UserSummary(
                user=User(
                    id=row.id,
                    email=row.email,
                    is_admin=bool(row.is_admin),
                    created_at=row.created_at,
                    password_changed_at=row.password_changed_at,
                ),
                sites=int(row.sites or 0),
                last_seen_at=row.seen,
            )
            for row in rows
        ]

    async def live_site_count(self) -> int:
        """How many live sites the installation has (what an administrator sees)."""
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                sa.select(sa.func.count()).select_from(sites).where(sites.c.deleted_at.is_(None))
            )
        return int(value or 0)

    async def sole_owned_sites(self, user_id: str) -> list[Site]:
        """Live sites the user owns with no other owner: deleting the user leaves them to the
        installation administrators. Oldest first."""
        others = site_members.alias("other_owner")
        query = (
            sa.select(sites)
            .join(site_members, site_members.c.site_id == sites.c.id)
            .where(
                site_members.c.user_id == user_id,
                site_members.c.role == Role.OWNER.value,
                sites.c.deleted_at.is_(None),
                ~sa.exists(
                    sa.select(others.c.user_id).where(
                        others.c.site_id == sites.c.id,
                        others.c.role == Role.OWNER.value,
                        others.c.user_id != user_id,
                    )
                ),
            )
            .order_by(sites.c.created_at, sites.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [site_from_row(row) for row in rows]

    async def delete(self, user_id: str) -> None:
        """Delete the user (sessions and memberships cascade; sites stay).

        NotFoundError if there is no such user; LastAdmin if they are the only administrator.
        The check and the deletion are one statement (PostgreSQL: under a table lock, as in
        `UserStore.create_first`), so two administrators deleting each other at the same time
        cannot leave the installation without one.
        """
        other = users.alias("other_admin")
        admins = (
            sa.select(sa.func.count()).select_from(other).where(other.c.is_admin).scalar_subquery()
        )
        statement = users.delete().where(
            users.c.id == user_id, sa.or_(~users.c.is_admin, admins > 1)
        )
        async with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(sa.text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
            result = await conn.execute(statement)
            if result.rowcount == 1:
                return
            exists = await conn.scalar(sa.select(users.c.id).where(users.c.id == user_id))
        if exists is None:
            raise NotFoundError(f"no user with id {user_id}")
        raise LastAdmin("the last administrator of the installation cannot be deleted")
