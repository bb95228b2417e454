"""What the consumers did, in Prometheus' text format, labelled by consumer."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

PROCESSED = Counter("podium_consumer_processed", "Events whose effect was committed.", ["consumer"])
RETRIED = Counter(
    "podium_consumer_retried", "Failed handlings sent to a retry queue for later.", ["consumer"]
)
DEAD_LETTERED = Counter(
    "podium_consumer_dead_lettered", "Events moved to the dead-letter queue.", ["consumer"]
)
DUPLICATES = Counter(
    "podium_consumer_duplicates",
    "Deliveries of an event already processed, acked without a second effect.",
    ["consumer"],
)
PARKED = Counter(
    "podium_consumer_parked",
    "Messages put back in their queue unharmed because the consumer's breaker was open.",
    ["consumer"],
)
BREAKER_STATE = Gauge(
    "podium_consumer_breaker_state",
    "The consumer's circuit breaker: 0 closed, 1 half-open (probing), 2 open (paused).",
    ["consumer"],
)
BREAKER_OPENED = Counter(
    "podium_consumer_breaker_opened",
    "Times the consumer's breaker opened on an outage of a dependency.",
    ["consumer"],
)
BATCHES = Counter(
    "podium_consumer_batches",
    "Store transactions that committed a batch of deliveries (one or more).",
    ["consumer"],
)
BATCH_SIZE = Histogram(
    "podium_consumer_batch_size",
    "Deliveries per committed batch.",
    ["consumer"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
BATCH_FALLBACKS = Counter(
    "podium_consumer_batch_fallbacks",
    "Batches rolled back as a whole (an effect raised, the commit failed, the time limit"
    " passed) whose deliveries were then handled one by one.",
    ["consumer"],
)
HANDLING_SECONDS = Histogram(
    "podium_consumer_handling_seconds",
    "Time from taking a message to its outcome (effect, retry or dead letter) being durable.",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


@cache
def child(metric: Any, consumer: str) -> Any:
    """`metric.labels(consumer)`, looked up once (it is on every message's path)."""
    return metric.labels(consumer)


@contextmanager
def timed(consumer: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        child(HANDLING_SECONDS, consumer).observe(time.perf_counter() - start)


@contextmanager
def metrics_endpoint(
    host: str, port: int, registry: CollectorRegistry = REGISTRY
) -> Iterator[None]:
    """Serve /metrics on host:port (in a daemon thread) for the length of the block."""
    server, thread = start_http_server(port, host, registry)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
