"""Settings for every Wangge component, read from the environment (prefix ``WANGGE_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://wangge@127.0.0.1:55432/wangge"


class AlertWebhook(BaseModel):
    """One webhook target of the alert outbox."""

    name: str = Field(min_length=1, max_length=64)
    url: str = Field(pattern=r"^https?://")
    kind: Literal["json", "wecom"] = "json"


class Settings(BaseSettings):
    """Platform settings; bad values fail loudly at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="WANGGE_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("WANGGE_DATABASE_URL", "DATABASE_URL"),
        description="URL of the PostGIS database for the platform's own role (the API, the "
        "dashboard, scheduled commands): data rights only, no DDL, not the owner.",
    )
    owner_database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("WANGGE_OWNER_DATABASE_URL", "OWNER_DATABASE_URL"),
        description="URL of the same database for the owner role, used by migrations and bulk "
        "loads that need DDL (default: DATABASE_URL, one role for everything).",
    )
    read_database_url: str | None = Field(
        None, description="URL of a streaming replica (a stock PostgreSQL hot standby of the "
        "same database, the platform's role) for the dashboard's and the read-only endpoints' "
        "reads; none: every read goes to DATABASE_URL. Writes always go to DATABASE_URL.")
    read_max_lag_s: float = Field(
        10.0, ge=0, description="A replica further behind the primary than this (seconds), or "
        "down, is left for the primary (with a warning) until it catches up.")
    read_check_s: float = Field(
        3.0, gt=0, description="How often (seconds, at most) the replica's lag is checked.")
    pool_size: int = Field(10, ge=1, le=200)
    pool_timeout_s: float = Field(5.0, gt=0)
    pool_pre_ping: bool = Field(
        False, description="Test each pooled connection before use (one extra round trip); "
        "off by default: a dead connection fails one request with 503 and is discarded."
    )
    statement_timeout_ms: int = Field(15_000, ge=100)
    heavy_pool_size: int = Field(
        4, ge=1, le=50, description="Connections (and concurrent requests) for heavy reads "
        "in the API: coverage, unvisited, patrols due, assessment; their own pool, so they "
        "never take the connections event intake needs."
    )
    heavy_statement_timeout_ms: int | None = Field(
        None, ge=100, description="Statement timeout of heavy reads in the API "
        "(default: statement_timeout_ms)."
    )
    heavy_wait_s: float = Field(
        30.0, gt=0, description="How long a heavy read waits for a free slot before 503."
    )

    outside_max_distance_m: float = Field(
        300.0, ge=0, description="A point outside every grid snaps to the nearest grid within this."
    )
    locator_poll_s: float = Field(
        2.0, gt=0, description="How often the locator checks the boundary revision."
    )

    max_batch: int = Field(500, ge=1, description="Most events in one POST.")
    group_commit: bool = Field(
        True, description="Concurrent event reports share one statement and one commit, each "
        "answered after it (gis.intake.groupcommit); off: each request is stored alone and "
        "its token read from the database (the benchmark's baseline, bench.storm).")
    max_body_bytes: int = Field(2_000_000, ge=1024, description="Largest request body accepted "
                                "(every endpoint but the file uploads).")
    max_upload_bytes: int = Field(50_000_000, ge=1024, description="Largest file upload "
                                  "accepted (POST /api/v1/boundaries and other file uploads).")
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with a 503.")

    media_url: str = Field(
        "./var/media", description="Where photos and voice notes are kept, by content hash: a "
        "local folder (a path or file:///path), or an S3-compatible object store as "
        "s3://BUCKET/PREFIX?endpoint=http://HOST:PORT (keys from the usual AWS_* variables)."
    )
    max_photo_bytes: int = Field(8_000_000, ge=1024, description="Largest photo accepted.")
    max_voice_bytes: int = Field(2_000_000, ge=1024, description="Largest voice note accepted.")
    max_attachments: int = Field(9, ge=1, le=50, description="Most attachments on one step of "
                                 "an event (the report, its result, ...).")
    thumb_px: int = Field(320, ge=64, le=1024, description="Longest side of a thumbnail.")
    secret_key: str | None = Field(
        None, description="Key for the keyed hashes the platform keeps instead of addresses "
        "(resident rate limits); default: one generated and kept beside the media folder."
    )
    resident_per_hour_per_client: int = Field(
        5, ge=1, description="Resident reports accepted per hour from one address.")
    resident_per_day_per_phone: int = Field(
        10, ge=1, description="Resident reports accepted per day with one phone number.")

    basemap_url: str | None = Field(
        None, description="Basemap tile URL template with {z}/{x}/{y} (e.g. a Tianditu or "
        "an intranet tile server); none: no online basemap.")
    basemap_attribution: str = Field("", description="Attribution shown for the basemap.")
    basemap_min_zoom: int = Field(3, ge=0, le=24, description="Lowest basemap zoom.")
    basemap_max_zoom: int = Field(19, ge=0, le=24, description="Highest basemap zoom.")
    basemap_datum: Literal["wgs84", "cgcs2000", "gcj02"] = Field(
        "wgs84", description="Datum of the basemap tiles: wgs84 / cgcs2000 (Tianditu) draw "
        "overlays as stored; gcj02 (Amap, Tencent) shifts every overlay to GCJ-02 first.")
    basemap_file: str | None = Field(
        None, description="A local .mbtiles file served at /tiles/basemap/{z}/{x}/{y} "
        "(offline districts); it takes precedence over basemap_url.")

    alert_webhooks: list[AlertWebhook] = Field(
        default_factory=list, description="Webhook targets of the alert outbox, a JSON list "
        'of {"name", "url", "kind": "json" | "wecom"} (WeCom / 政务微信 group robot); '
        "none: no delivery.")
    alert_backfill_h: float = Field(
        72.0, ge=0, description="A webhook target seen for the first time gets the earlier "
        "alerts of this many hours (older ones are counted in a warning, not sent); from "
        "then on it gets every alert, however long its sender was down.")

    calendar_file: str | None = Field(
        None, description="District calendar TOML (working hours, holidays, 调休 days); "
        "default: the shipped gis/data/calendar_cn_2026.toml.")

    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    api_workers: int = Field(
        1, ge=1, le=64, description="Processes `wangge serve` runs the API in, each on its own "
        "SO_REUSEPORT socket so the kernel spreads connections over them (about one per core "
        "for a city; each has its own connection pool).")
    public_url: str | None = Field(
        None, pattern=r"^https?://[^\s]+$", description="The API's address as browsers reach "
        "it (e.g. https://gis.example.gov.cn/wangge behind a reverse proxy); the dashboard "
        "builds the /tiles/basemap URL it gives browsers from it (default: "
        "http://api_host:api_port).")
    dashboard_port: int = Field(8501, ge=1, le=65535)
    board_refresh_s: int = Field(
        60, ge=5, le=3600, description="Seconds between two refreshes of the statistics board "
        "(统计大屏) on a wall screen; its figures are read afresh at each.")

    auth_required: bool = Field(
        True, description="API tokens required on events/grids/patrols and workflow routes; "
        "turn off only for local demos (every request then acts as the district centre)."
    )

    @field_validator("read_database_url", mode="before")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        """An empty WANGGE_READ_DATABASE_URL means no replica."""
        return v or None

    @field_validator("database_url", "owner_database_url", "read_database_url")
    @classmethod
    def _postgres_only(cls, v: str | None) -> str | None:
        """Only PostgreSQL URLs are accepted."""
        if v is None:
            return None
        if not v.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
            raise ValueError(
                f"DATABASE_URL must be a postgresql:// URL, got {v.split('://')[0]}://..."
            )
        if v.startswith("postgres://"):
            v = "postgresql://" + v[len("postgres://"):]
        return v


    @property
    def owner_url(self) -> str:
        """The owner role's URL (migrations, DDL-needing loads)."""
        return self.owner_database_url or self.database_url

    def as_owner(self) -> Settings:
        """These settings with the owner role's URL as the database URL."""
        return self.model_copy(update={"database_url": self.owner_url})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, built once on first call (never at import)."""
    return Settings()
