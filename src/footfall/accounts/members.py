"""`Memberships`: who may see and manage which site.

A user sees the sites they are a member of (`site_members`: owner, admin or viewer). An
installation administrator (`users.is_admin`) sees every site, with owner rights, which is how
sites created from the command line (they have no members) appear in the dashboard.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from footfall.accounts.models import Member, Role, User
from footfall.storage.meta import site_from_row
from footfall.storage.models import Site
from footfall.storage.schema import site_members, sites, users


def _member(row: Any) -> Member:
    return Member(
        site_id=row.site_id,
        user_id=row.user_id,
        email=row.email,
        role=Role(row.role),
        created_at=row.created_at,
    )


class Memberships:
    """Membership queries and changes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def sites_for(self, user: User) -> list[tuple[Site, Role]]:
        """The live sites the user may see with their role, oldest first."""
        joined = sites.outerjoin(
            site_members,
            sa.and_(site_members.c.site_id == sites.c.id, site_members.c.user_id == user.id),
        )
        query = (
            sa.select(sites, site_members.c.role)
            .select_from(joined)
            .where(sites.c.deleted_at.is_(None))
            .order_by(sites.c.created_at, sites.c.id)
        )
        if not user.is_admin:
            query = query.where(site_members.c.role.isnot(None))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            (site_from_row(row), Role.OWNER if user.is_admin else Role(row.role)) for row in rows
        ]

    async def role_of(self, user: User, site_id: str) -> Role | None:
        """The user's role on a live site, or None if they may not see it (or it is gone)."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(sites.c.id, site_members.c.role)
                    .select_from(
                        sites.outerjoin(
                            site_members,
                            sa.and_(
                                site_members.c.site_id == sites.c.id,
                                site_members.c.user_id == user.id,
                            ),
                        )
                    )
                    .where(sites.c.id == site_id, sites.c.deleted_at.is_(None))
                )
            ).first()
        if row is None:
            return None
        if user.is_admin:
            return Role.OWNER
        return Role(row.role) if row.role is not None else None

    async def members(self, site_id: str) -> list[Member]:
        """The site's members, owners first, then by when they joined."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(site_members, users.c.email)
                    .join(users, users.c.id == site_members.c.user_id)
                    .where(site_members.c.site_id == site_id)
                    .order_by(site_members.c.created_at, users.c.email)
                )
            ).all()
        found = [_member(row) for row in rows]
        return sorted(found, key=lambda m: -m.role.rank)

    async def set_role(self, site_id: str, user_id: str, role: Role, now: float) -> None:
        """Make the user a member with `role` (adding or changing the membership)."""
        async with self._engine.begin() as conn:
            updated = await conn.execute(
                site_members.update()
                .where(site_members.c.site_id == site_id, site_members.c.user_id == user_id)
                .values(role=role.value)
            )
            if updated.rowcount == 0:
                await conn.execute(
                    site_members.insert().values(
                        site_id=site_id, user_id=user_id, role=role.value, created_at=now
                    )
                )

    async def remove(self, site_id: str, user_id: str) -> bool:
        """Remove a membership; False if there was none."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                site_members.delete().where(
                    site_members.c.site_id == site_id, site_members.c.user_id == user_id
                )
            )
        return bool(result.rowcount)
