"""What the runtime needs to know, passed in by the entry point (consumers never read settings)."""

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from aio_pika.abc import AbstractRobustConnection

from adapters.rabbitmq import connect
from adapters.storage import Location, PostgresSchema
from consumers.runtime.breaker import BreakerOptions
from contracts.events import EXCHANGE


@dataclass(frozen=True)
class TopologyOptions:
    exchange: str = EXCHANGE
    queue_prefix: str = "podium"
    retry_delays_ms: tuple[int, ...] = (1_000, 5_000, 30_000)
    delivery_limit: int = 20

    @property
    def direct_exchange(self) -> str:
        """Carries retries back to main queues, dead letters and replays, by queue name."""
        return f"{self.queue_prefix}.direct"

    def queue(self, consumer: str) -> str:
        return f"{self.queue_prefix}.{consumer}"

    def retry_queue(self, consumer: str, attempt: int) -> str:
        return f"{self.queue_prefix}.{consumer}.retry.{attempt}"

    def dead_letter_queue(self, consumer: str) -> str:
        return f"{self.queue_prefix}.{consumer}.dlq"


@dataclass(frozen=True)
class RuntimeOptions:
    amqp_url: str
    data_dir: Path
    topology: TopologyOptions = field(default_factory=TopologyOptions)
    prefetch: int = 16
    concurrency: int = 8
    publish_timeout: float = 10.0
    shutdown_timeout: float = 30.0
    reconnect_interval: float = 2.0
    ssl_context: ssl.SSLContext | None = None  # for amqps:// URLs with our own CA or certs
    # A legal event is a few kB (at most 100 line items); anything above is refused unread.
    max_body_bytes: int = 1_000_000
    handler_timeout: float = 30.0
    # A delivery waits at most `batch_linger` for others to share its store transaction. A
    # handler runs inside that transaction, holding the file's write lock, for at most
    # `batch_time_limit`: past it the batch is rolled back, that delivery goes down the retry
    # ladder and the others are handled again alone (`handler_timeout` bounds each of those,
    # and every delivery's handling after the commit).
    batch_linger: float = 0.002
    batch_time_limit: float = 2.0
    breaker: BreakerOptions = field(default_factory=BreakerOptions)
    # The consumers' stores: SQLite files under data_dir, or schemas in this PostgreSQL
    # database, each named after its consumer (after the prefix).
    database_url: str | None = field(default=None, repr=False)
    database_schema_prefix: str = ""

    def store_location(self, consumer: str) -> Location:
        if self.database_url is None:
            return self.data_dir / f"consumer-{consumer}.db"
        name = "".join(c if c.isascii() and c.isalnum() else "_" for c in consumer.lower())
        return PostgresSchema(self.database_url, f"{self.database_schema_prefix}consumer_{name}")

    async def connect(self, name: str) -> AbstractRobustConnection:
        """A connection to the broker, named `name` in its management UI."""
        return await connect(
            self.amqp_url,
            name=name,
            connect_timeout=self.publish_timeout,
            ssl_context=self.ssl_context,
            reconnect_interval=self.reconnect_interval,
        )
