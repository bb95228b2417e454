"""Headers the runtime sets when it moves a message to a retry queue or the dead-letter queue.

The attempt count travels in our own header rather than being read from `x-death`: `x-death`
counts per queue and reason, is rewritten by every dead-lettering hop, and does not appear at
all on a copy the runtime republishes itself. A header we set is explicit and survives replay.
"""

from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

ATTEMPT = "x-podium-attempt"
ROUTING_KEY = "x-podium-routing-key"
CONSUMER = "x-podium-consumer"
REASON = "x-podium-reason"
LAST_ERROR = "x-podium-last-error"
DEAD_LETTERED_AT = "x-podium-dead-lettered-at"
REPLAYED = "x-podium-replayed"

_BROKER_HEADERS = ("x-death", "x-first-death-", "x-last-death-", "x-delivery-count")
MAX_TEXT = 1000


def attempt_of(message: AbstractIncomingMessage) -> int:
    try:
        return int(message.headers.get(ATTEMPT, 0))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def original_routing_key(message: AbstractIncomingMessage) -> str:
    value = message.headers.get(ROUTING_KEY)
    if value:
        return str(value)
    # Dead-lettered by the broker itself (delivery limit): the first hop kept the original.
    deaths = message.headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[-1], dict):
        keys = deaths[-1].get("routing-keys")
        if isinstance(keys, list) and keys:
            return str(keys[0])
    return str(message.routing_key or "")


def copy_message(
    message: AbstractIncomingMessage, headers: dict[str, Any | None]
) -> aio_pika.Message:
    """A persistent copy with the same id and properties; `headers` are set, None removes."""
    kept = {k: v for k, v in message.headers.items() if not k.startswith(_BROKER_HEADERS)}
    for key, value in headers.items():
        if value is None:
            kept.pop(key, None)
        else:
            kept[key] = value[:MAX_TEXT] if isinstance(value, str) else value
    return aio_pika.Message(
        body=message.body,
        headers=kept,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        type=message.type,
        timestamp=message.timestamp,
        app_id=message.app_id,
    )


def now() -> str:
    return datetime.now(UTC).isoformat()
