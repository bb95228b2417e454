"""Emails the customer the outcome of an order, exactly once as far as SMTP allows.

One email per order and outcome. SMTP is not transactional, so the handler only renders the
email into an outbox row, in the transaction that marks the event processed. After the commit
the runtime sends the row and marks it sent (so an email is never sent for an effect that then
rolls back, as one in a failing batch does); all emails go over one SMTP session. A crash
between sending and marking resends it on redelivery: the receiving side can recognise the
resend by its Message-ID, derived from the event id (our debugging mail server stores by
Message-ID, so a resend overwrites rather than doubles).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from adapters.sql import Transaction
from consumers.emails import render
from consumers.mailer import MailOptions, Session
from consumers.runtime.definition import Consumer
from consumers.runtime.outcomes import DeadLetter
from consumers.runtime.store import Store
from contracts.events import OrderCompletedV1, OrderFailedV1

NAME = "notifications"

SCHEMA = """
CREATE TABLE IF NOT EXISTS emailed_orders (
    order_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (order_id, outcome)
);
CREATE TABLE IF NOT EXISTS outbox (
    event_id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    raw {bytes} NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
"""


@dataclass(frozen=True)
class OutboxEmail:
    event_id: str
    message_id: str
    recipient: str
    subject: str
    sent_at: str | None


def consumer(options: MailOptions) -> Consumer:
    def handle(event: OrderCompletedV1 | OrderFailedV1, tx: Transaction) -> None:
        # One email per order and outcome, whatever event id claims it (another version of the
        # event, or a forged one): the customer is not told twice.
        first = tx.execute(
            "INSERT INTO emailed_orders VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (event.order.order_id, event.type, event.event_id),
        ).rowcount
        if not first:
            return
        try:
            email = render(event, options.sender)
        except ValueError as err:  # no mail system could deliver to this address: say so now
            raise DeadLetter(f"undeliverable recipient address: {err}") from None
        tx.execute(
            "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (event.event_id, email.message_id, email.recipient, email.subject, email.raw, _now()),
        )

    session = Session(options)

    async def send_outbox(event: Any, store: Store) -> None:
        await send_pending(store, session, event.event_id)

    return Consumer(
        NAME, (OrderCompletedV1, OrderFailedV1), handle, SCHEMA, send_outbox, session.close
    )


async def send_pending(store: Store, session: Session, event_id: str | None = None) -> int:
    """Send unsent outbox emails (of one event, or all); an SMTP error propagates (retry)."""
    query = "SELECT event_id, recipient, raw FROM outbox WHERE sent_at IS NULL"
    params: tuple[str, ...] = ()
    if event_id is not None:
        query, params = f"{query} AND event_id = ?", (event_id,)
    rows = await store.aread(lambda c: c.execute(f"{query} ORDER BY created_at", params).fetchall())
    for row in rows:
        await session.send(row["recipient"], row["raw"])
        await store.awrite(partial(_mark_sent, row["event_id"]))
    return len(rows)


def _mark_sent(event_id: str, tx: Transaction) -> None:
    tx.execute("UPDATE outbox SET sent_at = ? WHERE event_id = ?", (_now(), event_id))


def outbox(store: Store) -> list[OutboxEmail]:
    rows = store.read(
        lambda c: c.execute(
            "SELECT event_id, message_id, recipient, subject, sent_at FROM outbox"
            " ORDER BY created_at"
        ).fetchall()
    )
    return [OutboxEmail(**dict(r)) for r in rows]


def _now() -> str:
    return datetime.now(UTC).isoformat()
