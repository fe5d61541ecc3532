"""Site settings, goals, publishable keys, dashboard users, sessions and site members.

- `sites` gains its settings: time zone (stats and dashboard), allowed hostnames (JSON list;
  empty means the site's domain and its subdomains), whether to honour Global Privacy
  Control / Do Not Track, data retention in days (NULL keeps everything), and the minimum
  live count a public widget shows.
- `goals`: pageview goals on a path pattern, custom-event goals on an event name.
- `publishable_keys`: public `pk_` keys that may only read a site's live count, from allowed
  origins (JSON list) and for allowed paths (JSON list; empty means any path).
- `users`, `sessions` (only the SHA-256 of the session secret is stored) and `site_members`
  (a site shared with a user as owner, admin or viewer).

PostgreSQL triggers bump `meta_version` when publishable keys change, as they do for sites
and API tokens, so every instance drops its cached key lookups at the next request.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _site_columns() -> list[sa.Column[object]]:
    """The new columns of `sites` (fresh objects each call: a Column belongs to one table)."""
    return [
        sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("allowed_hostnames", sa.Text, nullable=False, server_default="[]"),
        sa.Column("honor_gpc", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("retention_days", sa.Integer, nullable=True),
        sa.Column("live_min_count", sa.Integer, nullable=False, server_default="0"),
    ]


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy of the table: on SQLite that would drop and recreate
    # `sites`, and the foreign keys' ON DELETE CASCADE would take the tokens with it).
    for column in _site_columns():
        op.add_column("sites", column)
    op.create_table(
        "goals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id", sa.String(64), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),  # "pageview" | "event"
        sa.Column("match", sa.String(500), nullable=False),  # path pattern | event name
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("site_id", "kind", "match", name="uq_goals_site_kind_match"),
    )
    op.create_index("ix_goals_site_id", "goals", ["site_id"])
    op.create_table(
        "publishable_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id", sa.String(64), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("allowed_origins", sa.Text, nullable=False, server_default="[]"),
        sa.Column("allowed_paths", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_used_at", sa.Float, nullable=True),
        sa.Column("revoked_at", sa.Float, nullable=True),
    )
    op.create_index("ix_publishable_keys_site_id", "publishable_keys", ["site_id"])
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),  # stored lower-case
        sa.Column("password_hash", sa.String(255), nullable=False),  # argon2id
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("password_changed_at", sa.Float, nullable=True),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),  # SHA-256 of the cookie's secret
        sa.Column(
            "user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_seen_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "site_members",
        sa.Column(
            "site_id", sa.String(64), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("role", sa.String(16), nullable=False),  # "owner" | "admin" | "viewer"
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("site_id", "user_id"),
    )
    op.create_index("ix_site_members_user_id", "site_members", ["user_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER publishable_keys_bump_meta_version "
            "AFTER INSERT OR DELETE OR UPDATE OF key, site_id, allowed_origins, allowed_paths, "
            "revoked_at ON publishable_keys "
            "FOR EACH STATEMENT EXECUTE FUNCTION footfall_bump_meta_version()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS publishable_keys_bump_meta_version ON publishable_keys")
    op.drop_index("ix_site_members_user_id", table_name="site_members")
    op.drop_table("site_members")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("users")
    op.drop_index("ix_publishable_keys_site_id", table_name="publishable_keys")
    op.drop_table("publishable_keys")
    op.drop_index("ix_goals_site_id", table_name="goals")
    op.drop_table("goals")
    for column in reversed(_site_columns()):
        op.drop_column("sites", column.name)
