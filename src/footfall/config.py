"""Settings: the one place every tunable lives.

`Settings` is built once (by the CLI, or by a test) and passed to `create_app`; nothing reads the
environment elsewhere. Every field has a default and help text, and `docs/settings.md` lists them
all (a test keeps the two in step).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Settings(BaseSettings):
    """Footfall's configuration, read from `FOOTFALL_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="FOOTFALL_", extra="ignore")

    data_dir: Path = Field(
        default=Path("footfall-data"),
        description="Folder of the embedded tier: metadata (SQLite) and events (DuckDB).",
    )
    database_url: str | None = Field(
        default=None,
        description="Cluster mode: PostgreSQL URL (postgresql://user:pass@host:5432/db) for "
        "metadata and events. Unset: the embedded tier (SQLite + DuckDB in the data folder).",
    )
    redis_url: str | None = Field(
        default=None,
        description="Cluster mode: Redis URL (redis://host:6379/0) for live presence and "
        "visits shared by every instance. Required with FOOTFALL_DATABASE_URL.",
    )
    redis_prefix: str = Field(
        default="footfall",
        min_length=1,
        description="Namespace of every Redis key (several installations can share a Redis).",
    )
    meta_recheck_ms: float = Field(
        default=100.0,
        ge=0,
        description="Each server checks whether sites and tokens changed in the metadata "
        "database at most this often instead of on every request, so a site or token created, "
        "revoked or deleted by the CLI or on another instance applies there within this time; "
        "through the server itself (the dashboard), at once. 0: on every request.",
    )
    host: str = Field(default="127.0.0.1", description="Address `footfall serve` listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `footfall serve` listens on.")
    public_url: str | None = Field(
        default=None,
        description="URL visitors reach this server at (for the printed snippet, and the "
        "dashboard's snippets and API examples); defaults to http://HOST:PORT (the dashboard: "
        "the address the browser used).",
    )
    trusted_proxies: Annotated[list[IPNetwork], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-For "
        "(and, for the dashboard's Secure cookies, X-Forwarded-Proto) is believed. Empty: the "
        "socket peer is the client.",
    )
    geoip_database: Path | None = Field(
        default=None,
        description="A MaxMind DB file (.mmdb: MaxMind GeoLite2/GeoIP2 City or Country, or "
        "DB-IP City/Country Lite) to locate visitors by country, region and city. Unset: "
        "country only, from the bundled table of Regional Internet Registry data.",
    )
    visit_timeout_seconds: int = Field(
        default=1800, ge=60, description="A visit ends after this long without events."
    )
    writer_max_batch: int = Field(
        default=1000, ge=1, description="Most events the writer commits in one transaction."
    )
    writer_max_delay_ms: float = Field(
        default=0.0,
        ge=0,
        description="Extra wait for more events before a commit. 0: commit as soon as the "
        "previous commit finished (batches still form under load).",
    )
    writer_queue_size: int = Field(
        default=50_000,
        ge=1,
        description="Events waiting for a commit before ingestion answers 503 (backpressure).",
    )
    event_id_window_seconds: int = Field(
        default=3600,
        ge=60,
        le=604_800,
        description="How long a stored event's client event id (eventId) is remembered: a "
        "retry with the same id within this window is acknowledged but not stored again.",
    )
    max_body_bytes: int = Field(
        default=16_384, ge=1024, description="Largest accepted body of POST /api/event."
    )
    max_batch_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest accepted body of POST /api/v1/events."
    )
    max_batch_events: int = Field(
        default=1000, ge=1, description="Most events in one POST /api/v1/events request."
    )
    access_log: bool = Field(default=True, description="Log one structured line per request.")
    log_level: str = Field(default="INFO", description="Log level of the footfall loggers.")
    demo_site_id: str | None = Field(
        default=None,
        description="Serve /demo, a test page carrying the tracker for this website id "
        "(set by `footfall serve --demo`).",
    )
    rate_limit_realtime_per_second: float = Field(
        default=50.0,
        ge=0,
        description="Realtime API requests per second per API token, sustained (0: no limit). "
        "Hundreds of browsers polling every 30 s make a few requests per second.",
    )
    rate_limit_realtime_burst: int = Field(
        default=500, ge=1, description="Realtime API requests per API token allowed at once."
    )
    rate_limit_stats_per_second: float = Field(
        default=10.0,
        ge=0,
        description="Stats API requests per second per API token, sustained (0: no limit).",
    )
    rate_limit_stats_burst: int = Field(
        default=100, ge=1, description="Stats API requests per API token allowed at once."
    )
    rate_limit_ingest_client_per_second: float = Field(
        default=20.0,
        ge=0,
        description="Tracker events per second per client address (keyed by a salted hash, "
        "never stored), sustained (0: no limit).",
    )
    rate_limit_ingest_client_burst: int = Field(
        default=200, ge=1, description="Tracker events per client address allowed at once."
    )
    rate_limit_ingest_site_per_second: float = Field(
        default=1000.0,
        ge=0,
        description="Events per second per website, both ingestion endpoints together, "
        "sustained (0: no limit).",
    )
    rate_limit_ingest_site_burst: int = Field(
        default=10_000, ge=1, description="Events per website allowed at once."
    )
    rate_limit_live_client_per_second: float = Field(
        default=20.0,
        ge=0,
        description="Public live-count requests (`/api/v1/live`, stream opens) per second per "
        "client address (keyed by a salted hash, never stored), sustained (0: no limit). A "
        "widget asks once per page view, like the tracker's pageview: the same defaults.",
    )
    rate_limit_live_client_burst: int = Field(
        default=200, ge=1, description="Public live-count requests per client address at once."
    )
    rate_limit_dashboard_stats_per_second: float = Field(
        default=10.0,
        ge=0,
        description="Dashboard stats requests (`/sites/{id}/stats/*`) per second per signed-in "
        "user, sustained (0: no limit). A dashboard view asks about 9 at once.",
    )
    rate_limit_dashboard_stats_burst: int = Field(
        default=100, ge=1, description="Dashboard stats requests per user allowed at once."
    )
    stats_max_concurrent: int = Field(
        default=4,
        ge=1,
        description="Stats queries and CSV downloads (Stats API and dashboard) in progress at "
        "once per instance; more wait up to FOOTFALL_STATS_ADMISSION_WAIT_SECONDS, then are "
        "answered 503. In cluster mode each may hold one of the instance's 10 pooled "
        "PostgreSQL connections (an aggregate with compare two), so the default leaves "
        "connections for the writer.",
    )
    stats_admission_wait_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How long a stats query or download waits for a place when "
        "FOOTFALL_STATS_MAX_CONCURRENT are in progress, before it is answered 503.",
    )
    stats_max_exports_per_client: int = Field(
        default=2,
        ge=1,
        description="CSV downloads (raw events, breakdowns) in progress at once per API token, "
        "or per dashboard user, per instance; more are answered 429.",
    )
    stats_time_limit_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A stats query (Stats API, dashboard, breakdown CSV pages) running longer "
        "is cancelled by its event store and answered 503.",
    )
    stats_export_send_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A CSV download whose client reads nothing for this long is cut off (its "
        "cursor and place released).",
    )
    request_head_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Time a client has to send a request's line and headers; then the "
        "connection is closed (slow clients must not hold connections).",
    )
    request_body_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Time a client has to send a request body; then it is answered 408.",
    )
    max_request_head_bytes: int = Field(
        default=32_768,
        ge=4096,
        description="Largest request line plus headers; larger heads are answered 431.",
    )
    max_concurrency: int = Field(
        default=2048,
        ge=1,
        description="Open connections or requests in progress beyond which new requests are "
        "answered 503 (bounds memory under a flood).",
    )
    live_max_streams: int | None = Field(
        default=None,
        ge=1,
        description="Open live-count streams (GET /api/v1/live/stream) per instance beyond "
        "which new ones are answered 503. Unset: half of FOOTFALL_MAX_CONCURRENCY, so streams "
        "never take every connection; raise both together for more viewers per instance.",
    )
    live_max_streams_per_client: int = Field(
        default=16,
        ge=1,
        description="Open live-count streams per client address (keyed by the live rate "
        "limit's salted hash, never stored) per instance; more are answered 429.",
    )
    live_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Every this many seconds each live stream gets a comment line (keeps "
        "proxies from closing quiet streams) and re-checks its publishable key.",
    )
    live_retry_ms: int = Field(
        default=3000,
        ge=100,
        description="The reconnection delay live streams announce to browsers (`retry:`).",
    )
    live_coalesce_ms: float = Field(
        default=250.0,
        ge=0,
        description="Least time between two recomputations of live counts: a burst of "
        "pageviews costs one computation per followed count per interval.",
    )
    live_refresh_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Every followed live count is recomputed at least this often, so counts "
        "fall as visitors leave the 3-minute window without new events.",
    )

    @field_validator("geoip_database", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `FOOTFALL_GEOIP_DATABASE=` (empty) means "no database", not the current folder.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def cluster(self) -> bool:
        """True in cluster mode (PostgreSQL + Redis), False on the embedded tier."""
        return self.database_url is not None

    @property
    def meta_path(self) -> Path:
        """The SQLite file holding sites, tokens and salts."""
        return self.data_dir / "meta.sqlite3"

    @property
    def events_path(self) -> Path:
        """The DuckDB file holding events."""
        return self.data_dir / "events.duckdb"

    def base_url(self) -> str:
        """The URL the server is reached at, for snippets and printed hints."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"
