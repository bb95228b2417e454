"""One settings object, read once at each entry point and passed down.

Values come from `PODIUM_*` environment variables, then `.env`, then the file the local stack
writes (`.podium/stack.env`, holding the generated broker password).
"""

from datetime import timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.amqp_urls import amqp_urls
from services.risk import DEFAULT_REVIEW_ABOVE, DEFAULT_REVIEW_WINDOW

STACK_ENV_FILE = Path(".podium/stack.env")
DEFAULT_TASK_QUEUE = "podium-orders"  # the workers' and the clients' default
# `podium bench` runs its thousands of workflows here, apart from the real orders.
BENCH_NAMESPACE = "podium-bench"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PODIUM_", env_file=(STACK_ENV_FILE, ".env"), extra="ignore"
    )

    # Temporal
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    bench_namespace: str = BENCH_NAMESPACE
    temporal_ui_url: str = "http://localhost:8233"
    task_queue: str = DEFAULT_TASK_QUEUE

    # RabbitMQ: the local stack writes the real URL with its generated password. A cluster's
    # nodes as several URLs separated by commas: connections fail over along them in turn.
    amqp_url: str = Field(default="amqp://podium@localhost:5679/podium", repr=False)
    exchange: str = "orders"
    publish_timeout_seconds: float = Field(default=10.0, gt=0)

    # Service databases: SQLite files under data_dir (one per service), unless a PostgreSQL
    # URL is set (`podium dev up --postgres` writes one to stack.env): then each service keeps
    # a schema of its own in that database. A service's own URL, if set, wins for it.
    data_dir: Path = Path(".podium/data")
    database_url: SecretStr | None = None
    orders_database_url: SecretStr | None = None
    inventory_database_url: SecretStr | None = None
    payments_database_url: SecretStr | None = None
    # Before each schema's name: several Podiums (or test runs) in one PostgreSQL database.
    database_schema_prefix: str = Field(default="", max_length=30, pattern=r"^[a-z0-9_]*$")

    # Worker sizing: this is a 2-core machine; activities are short I/O on SQLite and AMQP.
    max_concurrent_workflow_tasks: int = Field(default=50, ge=1)
    max_concurrent_activities: int = Field(default=32, ge=1)
    activity_threads: int = Field(default=32, ge=1)
    # How workflow code runs: workers/runtime/sandbox.py (tests and replay always use `strict`).
    workflow_sandbox: Literal["strict", "passthrough", "off"] = "strict"

    # Fault injection for demos and tests: the simulated payment gateway.
    payment_failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    payment_latency_ms: int = Field(default=0, ge=0)

    # Manual review: an order above this total (in its currency's units) waits before the
    # charge for a person to approve or reject it (`podium review`), rejected after the window.
    review_above: Decimal = Field(default=DEFAULT_REVIEW_ABOVE, ge=0, allow_inf_nan=False)
    # Seconds ("3600") or ISO 8601 ("PT2H"), up to a year.
    review_timeout: timedelta = Field(
        default=DEFAULT_REVIEW_WINDOW, gt=timedelta(0), le=timedelta(days=366)
    )

    # Logging
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    # Consumers: side effects on RabbitMQ (see consumers/ and docs/adding-a-consumer.md)
    consumer_queue_prefix: str = "podium"
    consumer_retry_delays_ms: list[int] = Field(default=[1_000, 5_000, 30_000], min_length=1)
    consumer_delivery_limit: int = Field(default=20, ge=1)
    consumer_prefetch: int = Field(default=16, ge=1)
    consumer_concurrency: int = Field(default=8, ge=1)
    consumer_shutdown_timeout_seconds: float = Field(default=30.0, gt=0)
    consumer_reconnect_interval_seconds: float = Field(default=2.0, gt=0)
    # Hostile input: bodies above this are dead-lettered unread; a handler gets this long.
    consumer_max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    consumer_handler_timeout_seconds: float = Field(default=30.0, gt=0)
    # Outages: this many consecutive "unavailable" failures pause a consumer; it probes after
    # the pause, doubling it (up to the max) while the dependency stays down.
    consumer_breaker_threshold: int = Field(default=5, ge=1)
    consumer_breaker_pause_seconds: float = Field(default=5.0, gt=0)
    consumer_breaker_max_pause_seconds: float = Field(default=60.0, gt=0)
    smtp_host: str = "localhost"
    smtp_port: int = 8025
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = "Podium <orders@podium.example>"
    mail_dir: Path = Path(".podium/mail")

    # Tracing: spans go to an OTLP collector (e.g. Jaeger) when an endpoint is set, otherwise
    # to a file that `podium trace ORDER_ID` reads (see docs/observability.md).
    otlp_endpoint: str | None = None
    # OTLP JSON lines (the collector's file format); at this size the file is rotated to
    # spans.jsonl.1, .2, ..., keeping this many old ones.
    trace_file: Path = Path(".podium/traces/spans.jsonl")
    trace_file_max_bytes: int = Field(default=20 * 1024 * 1024, ge=64 * 1024)
    trace_file_backups: int = Field(default=3, ge=0, le=20)

    # Observability: Prometheus endpoints (0 disables one). Loopback by default; bind
    # 0.0.0.0 where a scraper runs on another host (e.g. in a pod).
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    consumer_metrics_port: int = Field(default=9465, ge=0, le=65535)

    # Security (see docs/security.md). Secrets are SecretStr: never shown in a repr or error.
    # Payload encryption, off unless keys are set: "id1:base64key,id2:base64key"; every listed
    # key decrypts, `encryption_key_id` (default: the first) encrypts, so keys can be rotated.
    encryption_keys: SecretStr | None = None
    encryption_key_id: str | None = None
    codec_server_host: str = "127.0.0.1"
    codec_server_port: int = Field(default=8089, ge=1, le=65535)
    codec_server_token: SecretStr | None = None
    codec_server_origins: list[str] = ["http://localhost:8233", "http://127.0.0.1:8233"]
    # Names the codec server answers to besides loopback and its origins' hosts.
    codec_server_hosts: list[str] = []
    # RabbitMQ TLS (use an amqps:// URL): CA to verify the broker; cert + key for mutual TLS.
    amqp_ca_file: Path | None = None
    amqp_cert_file: Path | None = None
    amqp_key_file: Path | None = None
    # Temporal TLS: any file or an API key turns TLS on; `temporal_tls` forces it with system CAs.
    temporal_tls: bool = False
    temporal_tls_ca_file: Path | None = None
    temporal_tls_cert_file: Path | None = None
    temporal_tls_key_file: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: SecretStr | None = None

    @field_validator("amqp_url")
    @classmethod
    def _amqp_urls(cls, url: str) -> str:
        amqp_urls(url)  # its errors never quote a URL: it may hold a password
        return url

    @field_validator("review_timeout", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
            return float(value)
        return value

    @field_validator(
        "database_url", "orders_database_url", "inventory_database_url", "payments_database_url"
    )
    @classmethod
    def _postgres_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is None:
            return None
        # The message never quotes the value: it may hold a password.
        parts = urlsplit(url.get_secret_value())
        if parts.scheme not in ("postgresql", "postgres") or not (parts.hostname or parts.path):
            raise ValueError("must be a postgresql:// URL")
        return url

    @cached_property
    def orders_db(self) -> Path:
        return self.data_dir / "orders.db"

    @cached_property
    def inventory_db(self) -> Path:
        return self.data_dir / "inventory.db"

    @cached_property
    def payments_db(self) -> Path:
        return self.data_dir / "payments.db"

    # Faults: the gateway answers this late after recording a charge, so a worker can be
    # killed between the charge and the activity's completion (tests/faults).
    payment_response_latency_ms: int = Field(default=0, ge=0)
