"""Apply the metadata migrations (Alembic) to a database, programmatically.

Alembic (with Mako and its dialect modules) costs about 11 MiB of a server's memory once
imported, and a server only needs it when the schema is behind. So the revision is read with
plain SQL first and compared with the newest revision shipped (the highest-numbered file in
`migrations/versions/`, whose revision id is its number); Alembic is imported only to upgrade.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

# Migration files are named `<revision>_<slug>.py` with a zero-padded, increasing revision.
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "footfall.storage:migrations")
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of Footfall."""
    versions = resources.files("footfall.storage") / "migrations" / "versions"
    numbers = [
        match.group(1)
        for entry in versions.iterdir()
        if (match := _REVISION_FILE.match(entry.name)) is not None
    ]
    return max(numbers)


def _upgrade(connection: Connection) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _revision(connection: Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    value = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return str(value) if value is not None else None


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the metadata schema to the newest revision (idempotent; cheap when current)."""
    async with engine.begin() as connection:
        if await connection.run_sync(_revision) == head_revision():
            return
        await connection.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    async with engine.connect() as connection:
        return await connection.run_sync(_revision)
