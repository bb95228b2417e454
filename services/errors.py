"""What the services refuse (business errors) and what is worth retrying (transient errors)."""

from typing import Literal


class BusinessError(Exception):
    """A business rule said no: retrying the same request cannot change the answer."""

    code: str = "business_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OutOfStock(BusinessError):
    code = "out_of_stock"

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(f"{sku}: {requested} requested, only {available} available")
        self.sku = sku
        self.requested = requested
        self.available = available


class UnknownSku(BusinessError):
    code = "unknown_sku"

    def __init__(self, sku: str) -> None:
        super().__init__(f"{sku} is not in the catalogue")
        self.sku = sku


class PaymentDeclined(BusinessError):
    def __init__(
        self, code: Literal["card_declined", "insufficient_funds"], message: str | None = None
    ) -> None:
        super().__init__(message or f"payment declined: {code.replace('_', ' ')}")
        self.code = code


class InvalidAmount(BusinessError):
    code = "invalid_amount"


class ChargeVoided(BusinessError):
    code = "charge_voided"

    def __init__(self, charge_key: str) -> None:
        super().__init__(f"charge {charge_key} was refunded before it was made; nothing captured")
        self.charge_key = charge_key


class FraudSuspected(BusinessError):
    code = "fraud_suspected"


class OrderConflict(BusinessError):
    code = "order_conflict"


class IdempotencyConflict(BusinessError):
    code = "idempotency_conflict"

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key} was already used with different parameters")
        self.key = key


class TransientError(Exception):
    """Worth retrying: the same request may succeed later."""


class PaymentGatewayUnavailable(TransientError):
    def __init__(self, message: str = "payment gateway unavailable") -> None:
        super().__init__(message)
