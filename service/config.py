"""Settings from the environment.

Secrets that are not given are generated once and kept under the data directory,
so a second `make run` finds the same platform token and the same signing key.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def parse_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`127.0.0.0/8, ::1/128` -> networks; ValueError names the bad entry."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"GROUPBUY_WEBHOOK_ALLOWED_NETWORKS: {part!r} is not a CIDR network") from None
    return tuple(networks)



class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GROUPBUY_", extra="ignore")

    env: str = "dev"
    data_dir: Path = Path(".data")
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL"))
    # The role the service connects as; it owns no table and cannot bypass RLS.
    app_database_url: str | None = None
    app_db_role: str = "groupbuy_app"
    app_db_password: str | None = None
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL"))
    # The database is a Citus coordinator (deploy/citus.sql): the tenant is set so the workers see it.
    citus: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "GROUPBUY_PORT"))
    platform_token: str | None = None
    jwt_secret: str | None = None
    token_ttl_seconds: int = 7 * 24 * 3600
    # OWASP's Argon2id baseline is m=19 MiB, t=2; we default above it.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    graphiql: bool | None = None
    introspection: bool | None = None
    max_query_depth: int = 12
    max_query_tokens: int = 4000
    max_aliases: int = 30
    max_query_cost: int = 500  # validation's work, in fields: service.schema.extensions.query_cost
    max_page_size: int = 100
    max_body_bytes: int = 256 * 1024
    max_batch_operations: int = 10
    login_attempts_per_login: int = 5
    login_attempts_per_address: int = 30
    login_window_seconds: int = 300
    db_pool_size: int = 10
    # orderPlace requests of one tenant's batch that meet in a worker are placed up to this many
    # per statement (1: each alone), on at most order_group_lanes connections at a time (a lane
    # beyond the first only for a full group); a grouped order after the first waits at most
    # order_group_lock_wait_ms for a lock, then is placed alone (service/orders/grouping.py).
    order_group_max: int = Field(default=8, ge=1, le=64)
    order_group_lanes: int = Field(default=2, ge=1)
    order_group_lock_wait_ms: int = Field(default=100, ge=1)
    log_level: str = "INFO"
    # Observability (service/observability): JSON log lines (default: on unless GROUPBUY_ENV is dev),
    # the bearer token /metrics requires when set, and tracing: off, console or otlp.
    log_json: bool | None = None
    metrics_token: str | None = None
    tracing: str = "off"
    # Fault injection for reliability tests: the close sleeps half-way (0 = never).
    close_pause_seconds: float = 0.0
    # A requested close that has not finished after this long is requested again.
    close_retry_seconds: int = 60
    # Delivered or failed deliveries and relayed events are kept this long; in-app notifications longer.
    retention_days: int = 30
    notification_retention_days: int = 180
    # A CLOSED batch becomes COMPLETED this many days after its pickup date at the latest.
    pickup_window_days: int = 3
    # Notifications: the key every webhook subscription's secret is derived from, SMTP for e-mail
    # (off when no host), and the webhook retry schedule in seconds after each failed attempt.
    webhook_key: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "groupbuy@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    delivery_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    delivery_timeout_seconds: float = 10.0
    # A due delivery whose message has not run this long after it was enqueued is enqueued again
    # (the broker lost it); a SENDING one claimed this long ago is retried (its worker died).
    delivery_requeue_seconds: float = 60.0
    delivery_stuck_seconds: float = 120.0
    # Webhooks go to public addresses only, in every environment, except into these networks
    # (comma-separated CIDRs, e.g. 127.0.0.0/8 for a receiver on this host; service/notify/netpolicy.py).
    webhook_allowed_networks: str = ""

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _webhook_networks_parse(cls, value: str) -> str:
        parse_networks(value)  # a bad entry stops the process at start, naming it
        return value

    # Customer registrations per client address and tenant in a window (each costs an Argon2 hash).
    register_attempts_per_address: int = 20
    register_window_seconds: int = 3600
    # Argon2 runs on this many threads (each hash holds argon2_memory_kib), off the event loop.
    argon2_threads: int = Field(default=2, ge=1)
    # Peers whose X-Forwarded-For is believed (comma-separated addresses or CIDR networks): the
    # rate limits key on the client address they report. Set it to the load balancer's network.
    trusted_proxies: str = "127.0.0.1"
    # 催取货: a pickup point's leader reminds its waiting customers at most once per this interval.
    pickup_reminder_interval_minutes: int = Field(default=60, ge=1)

    @field_validator("platform_token")
    @classmethod
    def _platform_token_shape(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("gbp_") or len(value) < 4 + 16):
            raise ValueError(
                "GROUPBUY_PLATFORM_TOKEN must start with 'gbp_' followed by at least 16 characters"
                " (e.g. gbp_ and the output of `openssl rand -hex 16`); unset, one is generated"
            )
        return value

    # HTTP hardening (service/serving.py): request headers must arrive within header_timeout_seconds;
    # connections still waiting for them are capped per client address (new ones over it are
    # closed) and in all (the oldest is closed); requests in flight per process are capped (503).
    header_timeout_seconds: float = 10.0
    max_pending_connections_per_address: int = Field(default=128, ge=1)
    max_pending_connections: int = Field(default=2000, ge=1)
    max_requests_in_flight: int = Field(default=1000, ge=1)
    # /metrics and /status (readiness with details) on an internal listener of their own; the
    # public listener serves them only with the bearer token metrics_token.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # passwordResetIssue: how long a one-time reset code works (it works once).
    password_reset_ttl_seconds: int = Field(default=1800, ge=1)
    # After a webhook secret rotation the old secret signs as well for this long, unless the
    # rotation says otherwise (0: it stops at once).
    webhook_secret_overlap_seconds: int = Field(default=86400, ge=0, le=30 * 86400)
    # shareVisit: visits recorded per share code, client address and tenant in a window (a bot
    # reloading a link inflates neither the sharer's visits nor its attribution).
    share_visits_per_address: int = Field(default=20, ge=1)
    share_visit_window_seconds: int = Field(default=3600, ge=1)

    @property
    def is_dev(self) -> bool:
        return self.env != "production"

    @property
    def graphiql_enabled(self) -> bool:
        return self.is_dev if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return self.is_dev if self.introspection is None else self.introspection

    def secret(self, name: str, given: str | None, prefix: str = "") -> str:
        """A configured secret, or one generated once and kept in the data directory."""
        if given:
            return given
        path = self.data_dir / name
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = prefix + secrets.token_urlsafe(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process generated it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        return value

    @property
    def platform_token_value(self) -> str:
        return self.secret("platform-token", self.platform_token, prefix="gbp_")

    @property
    def jwt_secret_value(self) -> str:
        return self.secret("jwt-secret", self.jwt_secret)

    @property
    def webhook_key_value(self) -> str:
        return self.secret("webhook-key", self.webhook_key)

    @property
    def app_db_password_value(self) -> str:
        return self.secret("db-app-password", self.app_db_password)


class SettingsError(ValueError):
    """A setting from the environment that cannot work; says which and why, never its value."""


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in e.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
