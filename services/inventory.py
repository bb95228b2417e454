"""Stock per SKU, reserved all-or-nothing and released at most once."""

import re
import uuid
from collections.abc import Mapping
from functools import partial

from pydantic import TypeAdapter

from adapters.sql import Transaction
from adapters.storage import Location, database
from contracts.order import SKU_PATTERN, Contract
from contracts.steps import Reservation, StockLine
from services.errors import OutOfStock, UnknownSku
from services.idempotency import SCHEMA as IDEMPOTENCY
from services.idempotency import Idempotency

RESERVED = "RESERVED"
RELEASED = "RELEASED"
VOIDED = "VOIDED"

DEFAULT_CATALOGUE: dict[str, int] = {
    "MUG-BLUE": 500,
    "TSHIRT-M": 200,
    "SOCKS-3PK": 300,
    "NOTEBOOK-A5": 400,
    "HOODIE-L": 50,
    "LAMP-DESK": 20,
    "POSTER-A2": 5,
    "VINYL-LTD": 1,
}

_SKU = re.compile(SKU_PATTERN)
_NAMESPACE = uuid.UUID("0b9e6f4c-2d3a-5e1f-8c7b-6a5d4e3f2a1b")
_LINES = TypeAdapter(list[StockLine])

# The CHECKs are a last line of defence: the guarded UPDATE below already refuses to oversell.
MIGRATIONS = (
    f"""{IDEMPOTENCY};
    CREATE TABLE IF NOT EXISTS stock (
        sku TEXT PRIMARY KEY,
        available INTEGER NOT NULL CHECK (available >= 0),
        reserved INTEGER NOT NULL CHECK (reserved >= 0),
        initial INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS reservations (
        key TEXT PRIMARY KEY,
        reservation_id TEXT NOT NULL,
        order_id TEXT,
        status TEXT NOT NULL,
        lines TEXT NOT NULL)""",
)


class StockLevel(Contract):
    sku: str
    available: int
    reserved: int
    initial: int


def reservation_id_for(key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, key))


class InventoryService:
    def __init__(self, location: Location, catalogue: Mapping[str, int] | None = None) -> None:
        """Opens the database at once (on an event loop, construct it in a thread); `catalogue`
        stocks the SKUs not stocked yet, existing stock is never reset."""
        stock = dict(catalogue or {})
        for sku, quantity in stock.items():
            if not _SKU.fullmatch(sku) or quantity < 0:
                raise ValueError(f"bad catalogue entry {sku!r}: {quantity}")
        self._db = database(location, MIGRATIONS, seed=partial(_stock, stock)).open()

    def close(self) -> None:
        self._db.close()

    def reserve(self, key: str, order_id: str, lines: list[StockLine]) -> Reservation:
        """Reserve every line or none; a reservation released before it was made stays VOIDED."""

        def effect(conn: Transaction) -> Reservation:
            conn.lock(_reservation(key))
            tombstone = conn.execute(
                "SELECT reservation_id FROM reservations WHERE key = ? AND status = ?",
                (key, VOIDED),
            ).fetchone()
            if tombstone is not None:
                return Reservation(reservation_id=tombstone[0], status=VOIDED, lines=[])
            # In SKU order: two reservations taking the same rows take their locks in the same
            # order, so neither waits for the other forever (PostgreSQL).
            for line in sorted(lines, key=lambda line: line.sku):
                taken = conn.execute(
                    "UPDATE stock SET available = available - ?, reserved = reserved + ?"
                    " WHERE sku = ? AND available >= ?",
                    (line.quantity, line.quantity, line.sku, line.quantity),
                ).rowcount
                if taken == 0:
                    raise _refusal(conn, line)
            reservation = Reservation(
                reservation_id=reservation_id_for(key), status=RESERVED, lines=lines
            )
            conn.execute(
                "INSERT INTO reservations (key, reservation_id, order_id, status, lines)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    key,
                    reservation.reservation_id,
                    order_id,
                    RESERVED,
                    _LINES.dump_json(lines).decode(),
                ),
            )
            return reservation

        params = {"order_id": order_id, "lines": [line.model_dump() for line in lines]}
        return self._db.apply_once(key, effect, Idempotency("reserve_stock", params, Reservation))

    def release(self, key: str, reservation_key: str) -> Reservation:
        """Give back the stock reserved under `reservation_key`, once."""

        def effect(conn: Transaction) -> Reservation:
            conn.lock(_reservation(reservation_key))
            row = conn.execute(
                "SELECT reservation_id, status, lines FROM reservations WHERE key = ?",
                (reservation_key,),
            ).fetchone()
            if row is None:
                # The reserve is still in flight (or never ran): void it so it cannot land later.
                voided = Reservation(
                    reservation_id=reservation_id_for(reservation_key), status=VOIDED, lines=[]
                )
                conn.execute(
                    "INSERT INTO reservations (key, reservation_id, status, lines)"
                    " VALUES (?, ?, ?, '[]')",
                    (reservation_key, voided.reservation_id, VOIDED),
                )
                return voided
            reservation_id, status, raw_lines = row
            lines = _LINES.validate_json(raw_lines)
            if status == RESERVED:
                conn.executemany(
                    "UPDATE stock SET available = available + ?, reserved = reserved - ?"
                    " WHERE sku = ?",
                    [(line.quantity, line.quantity, line.sku) for line in lines],
                )
                conn.execute(
                    "UPDATE reservations SET status = ? WHERE key = ?", (RELEASED, reservation_key)
                )
                status = RELEASED
            return Reservation(reservation_id=reservation_id, status=status, lines=lines)

        params = {"reservation_key": reservation_key}
        return self._db.apply_once(key, effect, Idempotency("release_stock", params, Reservation))

    def reservation(self, key: str) -> Reservation | None:
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT reservation_id, status, lines FROM reservations WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        return Reservation(reservation_id=row[0], status=row[1], lines=_LINES.validate_json(row[2]))

    def stock(self, sku: str) -> StockLevel:
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT sku, available, reserved, initial FROM stock WHERE sku = ?", (sku,)
            ).fetchone()
        if row is None:
            raise UnknownSku(sku)
        return _level(row)

    def levels(self) -> list[StockLevel]:
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT sku, available, reserved, initial FROM stock ORDER BY sku"
            ).fetchall()
        return [_level(row) for row in rows]


def _stock(catalogue: Mapping[str, int], tx: Transaction) -> None:
    tx.executemany(
        "INSERT INTO stock (sku, available, reserved, initial) VALUES (?, ?, 0, ?)"
        " ON CONFLICT (sku) DO NOTHING",
        [(sku, quantity, quantity) for sku, quantity in catalogue.items()],
    )


def _reservation(key: str) -> str:
    """The lock a reservation's reserve and its releases take (under their own keys)."""
    return f"reservation:{key}"


def _refusal(conn: Transaction, line: StockLine) -> UnknownSku | OutOfStock:
    row = conn.execute("SELECT available FROM stock WHERE sku = ?", (line.sku,)).fetchone()
    if row is None:
        return UnknownSku(line.sku)
    return OutOfStock(line.sku, line.quantity, int(row[0]))


def _level(row: tuple[str, int, int, int]) -> StockLevel:
    sku, available, reserved, initial = row
    return StockLevel(sku=sku, available=available, reserved=reserved, initial=initial)
