"""A simulated payment gateway with a real ledger: charges captured once, refunded once."""

import uuid
from decimal import Decimal

from adapters.sql import Transaction
from adapters.storage import Location, database
from contracts.money import Currency, has_minor_precision
from contracts.order import Contract
from contracts.steps import PAYMENT_IDS, Charge, payment_id_for
from services.errors import ChargeVoided, InvalidAmount, PaymentGatewayUnavailable
from services.gateway import NO_FAULTS, FaultInjector, PaymentFaults, transient_failures
from services.idempotency import SCHEMA as IDEMPOTENCY
from services.idempotency import Idempotency, recorded

CAPTURED = "CAPTURED"
REFUNDED = "REFUNDED"
VOIDED = "VOIDED"

# Charge.currency is required, but a charge voided before it was made has no currency yet;
# its amount is zero, so this placeholder never counts in any total.
VOID_CURRENCY = Currency.USD

MIGRATIONS = (
    f"""{IDEMPOTENCY};
    CREATE TABLE IF NOT EXISTS charges (
        charge_key TEXT PRIMARY KEY,
        payment_id TEXT NOT NULL,
        order_id TEXT,
        amount {{money}} NOT NULL,
        currency TEXT,
        status TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS refunds (
        refund_id TEXT PRIMARY KEY,
        charge_key TEXT NOT NULL UNIQUE,
        amount {{money}} NOT NULL,
        currency TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS attempts (key TEXT PRIMARY KEY, count INTEGER NOT NULL)""",
)


class LedgerEntry(Contract):
    """A charge as the ledger holds it; a VOIDED tombstone has no order and no currency."""

    charge_key: str
    payment_id: str
    order_id: str | None
    status: str
    amount: Decimal
    currency: Currency | None


class PaymentService:
    def __init__(self, location: Location, faults: PaymentFaults = NO_FAULTS) -> None:
        """Opens (and migrates) the database at once: on an event loop, construct it in a
        thread."""
        self._db = database(location, MIGRATIONS).open()
        self._gateway = FaultInjector(faults)

    def close(self) -> None:
        self._db.close()

    def charge(
        self, key: str, order_id: str, amount: Decimal, currency: Currency, payment_token: str
    ) -> Charge:
        """Capture `amount` once per key. Test tokens decline, fail transiently or succeed."""
        self._gateway.call()
        currency = Currency(currency)
        if not amount.is_finite() or amount <= 0 or not has_minor_precision(amount, currency):
            raise InvalidAmount(f"cannot charge {amount} {currency}")
        failures = transient_failures(payment_token)
        if failures and self._fails_transiently(key, failures):
            raise PaymentGatewayUnavailable("payment gateway unavailable (test token)")

        def effect(conn: Transaction) -> Charge:
            conn.lock(_charge(key))
            if conn.execute("SELECT 1 FROM charges WHERE charge_key = ?", (key,)).fetchone():
                raise ChargeVoided(key)  # only a refund's tombstone can precede the first charge
            captured = Charge(
                payment_id=payment_id_for(key), status=CAPTURED, amount=amount, currency=currency
            )
            conn.execute(
                "INSERT INTO charges (charge_key, payment_id, order_id, amount, currency, status)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, captured.payment_id, order_id, str(amount), currency.value, CAPTURED),
            )
            return captured

        # The token is a secret: it stays out of the store, even hashed into the fingerprint.
        params = {"order_id": order_id, "amount": str(amount), "currency": currency.value}
        charge = self._db.apply_once(key, effect, Idempotency("charge_payment", params, Charge))
        self._gateway.respond()
        return charge

    def refund(self, key: str, charge_key: str) -> Charge:
        """Refund the charge made under `charge_key` in full, once; void it if not made yet."""
        self._gateway.call()

        def effect(conn: Transaction) -> Charge:
            conn.lock(_charge(charge_key))
            row = conn.execute(
                "SELECT payment_id, amount, currency, status FROM charges WHERE charge_key = ?",
                (charge_key,),
            ).fetchone()
            if row is None:
                # The charge is still in flight (or never ran): void it so it cannot land later.
                conn.execute(
                    "INSERT INTO charges (charge_key, payment_id, amount, status)"
                    " VALUES (?, ?, '0', ?)",
                    (charge_key, payment_id_for(charge_key), VOIDED),
                )
                return Charge(
                    payment_id=payment_id_for(charge_key),
                    status=VOIDED,
                    amount=Decimal(0),
                    currency=VOID_CURRENCY,
                )
            payment_id, amount, currency, status = row
            if status == CAPTURED:
                conn.execute(
                    "INSERT INTO refunds (refund_id, charge_key, amount, currency)"
                    " VALUES (?, ?, ?, ?)",
                    (str(uuid.uuid5(PAYMENT_IDS, key)), charge_key, amount, currency),
                )
                conn.execute(
                    "UPDATE charges SET status = ? WHERE charge_key = ?", (REFUNDED, charge_key)
                )
                status = REFUNDED
            return Charge(
                payment_id=payment_id,
                status=status,
                amount=Decimal(amount),
                currency=Currency(currency) if currency else VOID_CURRENCY,
            )

        ledger = Idempotency("refund_payment", {"charge_key": charge_key}, Charge)
        return self._db.apply_once(key, effect, ledger)

    def captured_total(self, currency: Currency) -> Decimal:
        """Everything ever captured in `currency`, refunded since or not."""
        return self._sum(
            "SELECT amount FROM charges WHERE currency = ? AND status IN (?, ?)",
            (currency.value, CAPTURED, REFUNDED),
        )

    def refunded_total(self, currency: Currency) -> Decimal:
        return self._sum("SELECT amount FROM refunds WHERE currency = ?", (currency.value,))

    def charges(self) -> list[LedgerEntry]:
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT charge_key, payment_id, order_id, status, amount, currency FROM charges"
                " ORDER BY charge_key"
            ).fetchall()
        return [
            LedgerEntry(
                charge_key=k, payment_id=p, order_id=o, status=s, amount=Decimal(a), currency=c
            )
            for k, p, o, s, a, c in rows
        ]

    def charge_made(self, charge_key: str) -> LedgerEntry | None:
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT charge_key, payment_id, order_id, status, amount, currency FROM charges"
                " WHERE charge_key = ?",
                (charge_key,),
            ).fetchone()
        if row is None:
            return None
        k, p, o, s, a, c = row
        return LedgerEntry(
            charge_key=k, payment_id=p, order_id=o, status=s, amount=Decimal(a), currency=c
        )

    def _sum(self, query: str, params: tuple[str, ...]) -> Decimal:
        # Summed as Decimal here: SQLite keeps amounts as TEXT, and its SUM goes through float.
        with self._db.reading() as conn:
            rows = conn.execute(query, params).fetchall()
        return sum((Decimal(row[0]) for row in rows), Decimal(0))

    def _fails_transiently(self, key: str, failures: int) -> bool:
        """Count the attempt in the database, so the count holds across processes and restarts."""
        with self._db.transaction() as conn:
            if recorded(conn, key):
                return False
            conn.execute(
                "INSERT INTO attempts (key, count) VALUES (?, 1)"
                " ON CONFLICT (key) DO UPDATE SET count = attempts.count + 1",
                (key,),
            )
            row = conn.execute("SELECT count FROM attempts WHERE key = ?", (key,)).fetchone()
        return int(row[0]) <= failures


def _charge(charge_key: str) -> str:
    """The lock a charge and its refunds take (under their own keys)."""
    return f"charge:{charge_key}"
