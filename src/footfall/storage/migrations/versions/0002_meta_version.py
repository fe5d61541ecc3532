"""A change counter for metadata caches, bumped by triggers on PostgreSQL.

Every server instance caches sites and token digests; on PostgreSQL each check reads this one
row, which statement-level triggers bump whenever sites change or a token is created, revoked
or deleted (not when `last_used_at` moves). SQLite needs no trigger: its `data_version` pragma
does the same job, so there the table stays at 0.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BUMP = """
CREATE OR REPLACE FUNCTION footfall_bump_meta_version() RETURNS trigger AS $$
BEGIN
    UPDATE meta_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "meta_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO meta_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_BUMP)
    op.execute(
        "CREATE TRIGGER sites_bump_meta_version AFTER INSERT OR UPDATE OR DELETE ON sites "
        "FOR EACH STATEMENT EXECUTE FUNCTION footfall_bump_meta_version()"
    )
    op.execute(
        "CREATE TRIGGER api_tokens_bump_meta_version "
        "AFTER INSERT OR DELETE OR UPDATE OF revoked_at, token_hash, site_id ON api_tokens "
        "FOR EACH STATEMENT EXECUTE FUNCTION footfall_bump_meta_version()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS api_tokens_bump_meta_version ON api_tokens")
        op.execute("DROP TRIGGER IF EXISTS sites_bump_meta_version ON sites")
        op.execute("DROP FUNCTION IF EXISTS footfall_bump_meta_version()")
    op.drop_table("meta_version")
