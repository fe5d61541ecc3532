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
    # Settings (revision 0003). JSON lists are stored as text so SQLite and PostgreSQL agree.
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("allowed_hostnames", sa.Text, nullable=False, server_default="[]"),
    sa.Column("honor_gpc", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("retention_days", sa.Integer, nullable=True),  # NULL: keep events forever
    sa.Column("live_min_count", sa.Integer, nullable=False, server_default="0"),
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

goals = sa.Table(
    "goals",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "site_id", sa.String(64), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String(16), nullable=False),  # "pageview" | "event"
    sa.Column("match", sa.String(500), nullable=False),  # path pattern | event name
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("site_id", "kind", "match", name="uq_goals_site_kind_match"),
    sa.Index("ix_goals_site_id", "site_id"),
)

publishable_keys = sa.Table(
    "publishable_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "site_id", sa.String(64), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("key", sa.String(64), nullable=False, unique=True),  # public: pk_…
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("allowed_origins", sa.Text, nullable=False, server_default="[]"),  # JSON list
    sa.Column("allowed_paths", sa.Text, nullable=False, server_default="[]"),  # JSON list
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_used_at", sa.Float, nullable=True),
    sa.Column("revoked_at", sa.Float, nullable=True),
    sa.Index("ix_publishable_keys_site_id", "site_id"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),  # stored lower-case
    sa.Column("password_hash", sa.String(255), nullable=False),  # argon2id
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("password_changed_at", sa.Float, nullable=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # SHA-256 of the cookie's secret
    sa.Column(
        "user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_seen_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index("ix_sessions_user_id", "user_id"),
)

site_members = sa.Table(
    "site_members",
    metadata,
    sa.Column(
        "site_id", sa.String(64), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("role", sa.String(16), nullable=False),  # "owner" | "admin" | "viewer"
    sa.Column("created_at", sa.Float, nullable=False),
    sa.PrimaryKeyConstraint("site_id", "user_id"),
    sa.Index("ix_site_members_user_id", "user_id"),
)
