"""Parley configuration: the only module that reads the environment."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "parley-dev-secret-change-me-in-production"
WEBHOOK_SECRET_PREFIX = "whsec_"


class WebhookEndpoint(BaseModel):
    """One integrator's endpoint: a name (its workflow is `webhooks-<name>`), where to POST, and
    the Standard Webhooks secret (`whsec_` + base64 of 24 to 64 random bytes) it verifies with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2000)
    secret: SecretStr

    @field_validator("secret")
    @classmethod
    def _standard_secret(cls, secret: SecretStr) -> SecretStr:
        value = secret.get_secret_value()
        if not value.startswith(WEBHOOK_SECRET_PREFIX):
            raise ValueError(f"a webhook secret starts with {WEBHOOK_SECRET_PREFIX!r}")
        try:
            encoded = value.removeprefix(WEBHOOK_SECRET_PREFIX)
            # Unpadded base64 too, as the `standardwebhooks` package reads it.
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error:
            raise ValueError("a webhook secret is base64 after its prefix") from None
        if not 24 <= len(key) <= 64:
            raise ValueError("a webhook secret holds 24 to 64 bytes")
        return secret


class Settings(BaseSettings):
    """Every knob Parley has, from `PARLEY_*`, `DATABASE_URL` and `TEMPORAL_ADDRESS`."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "PARLEY_DATABASE_URL")
    )
    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "PARLEY_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = "default"
    task_queue: str = "parley"
    # Worker Versioning: workers of one build form a version of this deployment. The build id
    # defaults to the package version plus the git commit (`worker_versioning.default_build_id`).
    deployment_name: str = Field(default="parley", pattern=r"^[A-Za-z0-9_-]+$")
    build_id: str | None = Field(default=None, min_length=1, max_length=255)

    slot_minutes: int = Field(default=10, ge=1, le=60)
    booking_horizon_days: int = Field(default=30, ge=1, le=365)
    join_opens_minutes: int = Field(default=5, ge=0, le=60)
    no_show_grace_seconds: int = Field(default=120, ge=1, le=3600)
    rearrange_after_quiet_seconds: int = Field(default=30, ge=0, le=86400)
    # How far the API's clock may run from Temporal's, and how long a receipt (a join or a
    # cancel) may take to commit: the no-show deadline is enforced this much after it passes.
    receipt_skew_seconds: float = Field(default=2.0, ge=0, le=60)
    # Availability windows: a request may be paired at any slot start of a window this long.
    max_window_hours: int = Field(default=6, ge=0, le=24)
    # Inside this many minutes of a pair's slot, levels two steps apart may pair (0: never).
    widen_levels_minutes: int = Field(default=30, ge=0, le=1440)
    # A let-down partner's rematch after a no-show covers the slots this far after the next one.
    rebook_window_minutes: int = Field(default=30, ge=0, le=1440)
    # Users with 2+ no-shows among their last 5 sessions are paired after everyone else.
    rank_by_reliability: bool = True
    # A `session.reminder` this long before a session starts (at once if booked closer), and
    # another when joining opens.
    remind_before_minutes: int = Field(default=60, ge=0, le=10080)
    # Where sessions meet: "jitsi" (a room under `meeting_base_url`), "none", or a factory
    # `package.module:callable` taking the base URL and returning a `MeetingRooms`.
    meeting_provider: str = Field(default="jitsi", min_length=1, max_length=200)
    meeting_base_url: str = Field(default="https://meet.jit.si", pattern=r"^https?://[^\s]+$")

    # A state-changing call answers within this, even when no worker can act (503 or 202).
    workflow_call_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    max_live_requests: int = Field(default=20, ge=1, le=10_000)
    # Creates and reschedules per user and minute, across every API process.
    rate_limit_per_minute: int = Field(default=30, ge=1, le=100_000)
    # An event stream sends a comment this often, so that proxies and clients see it alive.
    sse_keepalive_seconds: float = Field(default=15.0, gt=0, le=3600)

    # Unset outside development: the API refuses to start rather than trust a published secret.
    jwt_secret: str | None = Field(default=None, min_length=16)
    jwt_algorithm: str = "HS256"
    dev_mode: bool = False

    # Observability: `text` or `json` log lines; the worker's Prometheus endpoint (Temporal SDK
    # and business metrics); a bearer token guarding the API's /metrics (open when unset);
    # traces go to an OTLP/HTTP collector only when its endpoint is set.
    log_format: Literal["text", "json"] = "text"
    metrics_enabled: bool = True
    worker_metrics_address: str = "127.0.0.1:9464"
    metrics_token: str | None = Field(default=None, min_length=16)
    # The Postgres gauges on the API's /metrics are read at most this often.
    metrics_gauges_fresh_seconds: float = Field(default=5.0, ge=0, le=300)
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "PARLEY_OTLP_ENDPOINT"),
    )

    # Webhooks (README "Webhooks"): endpoints as a JSON list of {"name", "url", "secret"}; each
    # event is tried this many times, with exponential backoff between tries, then dead-lettered.
    webhooks: list[WebhookEndpoint] = Field(default_factory=list)
    webhook_max_attempts: int = Field(default=10, ge=1, le=100)
    webhook_backoff_seconds: float = Field(default=1.0, gt=0, le=3600)
    webhook_max_backoff_seconds: float = Field(default=60.0, gt=0, le=86400)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Workers wake the deliveries when events commit (LISTEN); besides, a caught-up endpoint
    # looks for new events after this, doubling up to the idle maximum, in case a wake-up was
    # lost.
    webhook_poll_seconds: float = Field(default=300.0, gt=0, le=3600)
    webhook_idle_poll_seconds: float = Field(default=300.0, gt=0, le=3600)

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    data_dir: str = ".parley"

    @property
    def libpq_url(self) -> str:
        """The database URL as libpq (psycopg) reads it."""
        return self.database_url or "postgresql://postgres@127.0.0.1:5432/parley"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL in the form SQLAlchemy's psycopg 3 driver expects."""
        url = self.libpq_url
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    def signing_secret(self) -> str:
        """The JWT secret; the published development one only with PARLEY_DEV_MODE=true."""
        if self.jwt_secret:
            return self.jwt_secret
        if self.dev_mode:
            return DEV_JWT_SECRET
        raise RuntimeError("set PARLEY_JWT_SECRET (or PARLEY_DEV_MODE=true on a laptop)")

    def secrets(self) -> list[str]:
        """Every secret this process knows, for the log filter to blank out."""
        found = [self.jwt_secret, self.metrics_token, DEV_JWT_SECRET]
        if self.database_url and "@" in self.database_url:
            credentials = self.database_url.split("://", 1)[-1].split("@", 1)[0]
            found.append(credentials.partition(":")[2] or None)
        for endpoint in self.webhooks:
            secret = endpoint.secret.get_secret_value()
            found += [secret, secret.removeprefix(WEBHOOK_SECRET_PREFIX)]
        return [secret for secret in found if secret]

    @field_validator("webhooks")
    @classmethod
    def _unique_names(cls, endpoints: list[WebhookEndpoint]) -> list[WebhookEndpoint]:
        names = [endpoint.name for endpoint in endpoints]
        if len(names) != len(set(names)):
            raise ValueError("webhook endpoint names must be unique")
        return endpoints

    @property
    def temporal_target(self) -> str:
        """host:port of the Temporal frontend."""
        return self.temporal_address or "127.0.0.1:7233"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
