"""Orders: created PENDING, then CONFIRMED (the pivot) or CANCELLED."""

import json
from decimal import Decimal

from adapters.sql import Transaction
from adapters.storage import Location, database
from contracts.events import OrderSnapshot
from contracts.money import Currency
from contracts.order import Contract, OrderRequest
from contracts.steps import OrderRecord
from services.errors import OrderConflict
from services.idempotency import SCHEMA as IDEMPOTENCY
from services.idempotency import Idempotency, note, recorded

PENDING = "PENDING"
CONFIRMED = "CONFIRMED"
CANCELLED = "CANCELLED"

# A row with status CANCELLED and no request is a tombstone: the cancel arrived before the
# create, and keeps a late create from bringing the order back.
MIGRATIONS = (
    f"""{IDEMPOTENCY};
    CREATE TABLE IF NOT EXISTS orders (
        order_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        customer_id TEXT,
        currency TEXT,
        total {{money}},
        request TEXT)""",
)


class OrderRow(Contract):
    """An order as stored; the details are None on a tombstone no create has filled in."""

    order_id: str
    status: str
    customer_id: str | None
    currency: Currency | None
    total: Decimal | None


class OrderService:
    def __init__(self, location: Location) -> None:
        """Opens (and migrates) the database at once: on an event loop, construct it in a
        thread."""
        self._db = database(location, MIGRATIONS).open()

    def close(self) -> None:
        self._db.close()

    def create(self, key: str, request: OrderRequest) -> OrderRecord:
        # The payment token is a secret: it is neither stored nor part of the fingerprint.
        details = request.model_dump(mode="json", exclude={"payment_token"})
        order_id = request.order_id
        stored = request.model_dump_json(exclude={"payment_token"})
        values = (request.customer_id, request.currency.value, str(request.total), stored)

        def effect(conn: Transaction) -> OrderRecord:
            conn.lock(_order(order_id))
            row = conn.execute(
                "SELECT status, request FROM orders WHERE order_id = ?", (order_id,)
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO orders (order_id, status, customer_id, currency, total, request)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (order_id, PENDING, *values),
                )
                return OrderRecord(order_id=order_id, status=PENDING)
            if row[0] == CANCELLED and row[1] is None:
                conn.execute(
                    "UPDATE orders SET customer_id = ?, currency = ?, total = ?, request = ?"
                    " WHERE order_id = ?",
                    (*values, order_id),
                )
                return OrderRecord(order_id=order_id, status=CANCELLED)
            raise OrderConflict(f"order {order_id} already exists ({row[0]})")

        return self._db.apply_once(key, effect, Idempotency("create_order", details, OrderRecord))

    def confirm(self, key: str, order_id: str) -> OrderRecord:
        def effect(conn: Transaction) -> OrderRecord:
            conn.lock(_order(order_id))
            status = _status(conn, order_id)
            if status == PENDING:
                _set_status(conn, order_id, CONFIRMED)
            elif status != CONFIRMED:
                raise OrderConflict(f"cannot confirm order {order_id}: it is {status or 'missing'}")
            return OrderRecord(order_id=order_id, status=CONFIRMED)

        ledger = Idempotency("confirm_order", {"order_id": order_id}, OrderRecord)
        return self._db.apply_once(key, effect, ledger)

    def cancel(self, key: str, order_id: str) -> OrderRecord:
        """Cancel a pending order; cancelling one not created yet leaves a tombstone."""

        def effect(conn: Transaction) -> OrderRecord:
            conn.lock(_order(order_id))
            status = _status(conn, order_id)
            if status is None:
                conn.execute(
                    "INSERT INTO orders (order_id, status) VALUES (?, ?)", (order_id, CANCELLED)
                )
            elif status == PENDING:
                _set_status(conn, order_id, CANCELLED)
            elif status == CONFIRMED:
                raise OrderConflict(f"order {order_id} is confirmed; past the pivot, it stays")
            return OrderRecord(order_id=order_id, status=CANCELLED)

        ledger = Idempotency("cancel_order", {"order_id": order_id}, OrderRecord)
        return self._db.apply_once(key, effect, ledger)

    def cancel_unless_confirmed(self, key: str, order_id: str) -> OrderRecord:
        """Settle a cancel against the pivot, atomically: an order already CONFIRMED stays so
        (a lost workflow task confirmed it: the order goes forward), any other is cancelled
        (a tombstone when missing), so a confirm arriving later is refused."""

        def effect(conn: Transaction) -> OrderRecord:
            conn.lock(_order(order_id))
            status = _status(conn, order_id)
            if status == CONFIRMED:
                return OrderRecord(order_id=order_id, status=CONFIRMED)
            if status is None:
                conn.execute(
                    "INSERT INTO orders (order_id, status) VALUES (?, ?)", (order_id, CANCELLED)
                )
            elif status == PENDING:
                _set_status(conn, order_id, CANCELLED)
            return OrderRecord(order_id=order_id, status=CANCELLED)

        ledger = Idempotency("cancel_unless_confirmed", {"order_id": order_id}, OrderRecord)
        return self._db.apply_once(key, effect, ledger)

    def get(self, order_id: str) -> OrderRecord | None:
        with self._db.reading() as conn:
            status = _status(conn, order_id)
        return None if status is None else OrderRecord(order_id=order_id, status=status)

    def with_status(self, status: str, limit: int) -> list[str]:
        """Ids of up to `limit` orders in `status`, oldest id first."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT order_id FROM orders WHERE status = ? ORDER BY order_id LIMIT ?",
                (status, limit),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def snapshot(self, order_id: str) -> OrderSnapshot | None:
        """The order as consumers see it in events (None for a tombstone or no order)."""
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT request, total FROM orders WHERE order_id = ?", (order_id,)
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return OrderSnapshot.model_validate({**json.loads(row[0]), "total": row[1]})

    def noted(self, key: str) -> bool:
        return self._db.read(lambda tx: recorded(tx, key))

    def note_once(self, key: str) -> bool:
        """Remember `key`; True only the first time (marks work done outside a workflow)."""
        return self._db.write(lambda tx: note(tx, key))

    def all(self) -> list[OrderRow]:
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT order_id, status, customer_id, currency, total FROM orders"
                " ORDER BY order_id"
            ).fetchall()
        return [
            OrderRow(order_id=o, status=s, customer_id=c, currency=cur, total=t)
            for o, s, c, cur, t in rows
        ]


def _order(order_id: str) -> str:
    """The lock every change of one order takes (under any idempotency key)."""
    return f"order:{order_id}"


def _status(conn: Transaction, order_id: str) -> str | None:
    row = conn.execute("SELECT status FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    return None if row is None else str(row[0])


def _set_status(conn: Transaction, order_id: str, status: str) -> None:
    conn.execute("UPDATE orders SET status = ? WHERE order_id = ?", (status, order_id))
