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


MAX_ATTEMPT = 100  # far beyond any retry ladder; a larger value is clamped to it
MAX_ROUTING_KEY = 255  # an AMQP short string


def attempt_of(message: AbstractIncomingMessage, limit: int = MAX_ATTEMPT) -> int:
    """How many retries the message has had, clamped to 0..`limit`; anything else counts as 0."""
    return _count(message.headers.get(ATTEMPT), limit)


def replayed_of(message: AbstractIncomingMessage) -> int:
    """How often the message was replayed from the dead letters, clamped like the attempt."""
    return _count(message.headers.get(REPLAYED), MAX_ATTEMPT)


def original_routing_key(message: AbstractIncomingMessage) -> str:
    value = _routing_key(message.headers.get(ROUTING_KEY))
    if value:
        return value
    # Dead-lettered by the broker itself (delivery limit): the first hop kept the original.
    deaths = message.headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[-1], dict):
        keys = deaths[-1].get("routing-keys")
        if isinstance(keys, list) and keys:
            value = _routing_key(keys[0])
            if value:
                return value
    return _routing_key(message.routing_key) or ""


def _count(value: object, limit: int) -> int:
    # Headers come from whoever published: only a plain integer (or its short decimal text) counts.
    if isinstance(value, bytes):
        value = value[:20].decode("ascii", errors="replace")
    if isinstance(value, str) and len(value) <= 20 and value.strip().isdecimal():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return min(max(value, 0), limit)


def _routing_key(value: object) -> str:
    """A routing key we can publish with again, or "" when `value` is not one."""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ROUTING_KEY:
        return ""
    if len(value.encode()) > MAX_ROUTING_KEY:
        return ""
    return value if value.isprintable() else ""


def copy_message(
    message: AbstractIncomingMessage,
    headers: dict[str, Any | None],
    *,
    faithful: bool = False,
) -> aio_pika.Message:
    """A persistent copy with the same id and properties; `headers` are set, None removes.

    The broker's own headers (`x-death`, ...) are dropped, as a hop of ours is no broker
    dead-lettering, unless `faithful`: then they, and every other property, are kept (a message
    moved as it is, e.g. while a queue is rebuilt).
    """
    if faithful:
        kept = dict(message.headers)
    else:
        kept = {k: v for k, v in message.headers.items() if not k.startswith(_BROKER_HEADERS)}
    for key, value in headers.items():
        if value is None:
            kept.pop(key, None)
        else:
            kept[key] = value[:MAX_TEXT] if isinstance(value, str) else value
    extra: dict[str, Any] = {}
    if faithful:
        extra = {
            "priority": message.priority,
            "reply_to": message.reply_to,
            "expiration": message.expiration,
            "user_id": message.user_id,
        }
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
        **extra,
    )


def now() -> str:
    return datetime.now(UTC).isoformat()
