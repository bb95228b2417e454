"""Money: a Decimal amount in an ISO 4217 currency. Never a float."""

from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum


class Currency(StrEnum):
    """The currencies Podium accepts, by ISO 4217 code."""

    USD = "USD"
    EUR = "EUR"
    GBP = "GBP"
    CHF = "CHF"
    CAD = "CAD"
    AUD = "AUD"
    SEK = "SEK"
    JPY = "JPY"

    @property
    def exponent(self) -> int:
        """Digits after the decimal point in this currency's minor unit."""
        return 0 if self is Currency.JPY else 2


def quantize(amount: Decimal, currency: Currency) -> Decimal:
    """Round an amount to the currency's minor unit (banker's rounding)."""
    return amount.quantize(Decimal(1).scaleb(-currency.exponent), rounding=ROUND_HALF_EVEN)


def has_minor_precision(amount: Decimal, currency: Currency) -> bool:
    """True when the amount needs no more digits than the currency's minor unit."""
    return amount == quantize(amount, currency)
