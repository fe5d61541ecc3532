"""The metadata schema (SQLAlchemy Core). Alembic migrations in `migrations/` create it.

Times are Unix seconds (float) so the schema is the same on SQLite and PostgreSQL and no
time-zone conversion can creep in.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

sites = sa.Table(
    "sites",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # website id: uuid4, 122 random bits
    sa.Column("domain", sa.String(253), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    # Set by `sites delete`; the server purges the site's events, then the row.
    sa.Column("deleted_at", sa.Float, nullable=True),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "site_id", sa.String(64), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_used_at", sa.Float, nullable=True),
    sa.Column("revoked_at", sa.Float, nullable=True),
    sa.Index("ix_api_tokens_site_id", "site_id"),
)

salts = sa.Table(
    "salts",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),  # UTC day, YYYY-MM-DD
    sa.Column("salt", sa.LargeBinary(32), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

meta_version = sa.Table(
    "meta_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    # Bumped by PostgreSQL triggers on every change to sites or token validity.
    sa.Column("version", sa.BigInteger, nullable=False),
)
