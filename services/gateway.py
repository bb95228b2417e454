"""The simulated card gateway: deterministic test tokens and injected faults."""

import random
import re
import threading
import time
from dataclasses import dataclass

from contracts.order import PAYMENT_TOKEN_PATTERN
from services.errors import PaymentDeclined, PaymentGatewayUnavailable

_TOKEN = re.compile(PAYMENT_TOKEN_PATTERN)
_TRANSIENT = re.compile(r"^tok_transient_(\d+)$")


@dataclass(frozen=True)
class PaymentFaults:
    """Gateway trouble injected for demos, benchmarks and fault tests: latency, then random
    unavailability; `response_latency_ms` delays the answer after the gateway acted, which
    opens the window "charge recorded, activity not completed yet"."""

    failure_rate: float = 0.0
    latency_ms: int = 0
    seed: int | None = None
    response_latency_ms: int = 0

    def __post_init__(self) -> None:
        bad_latency = self.latency_ms < 0 or self.response_latency_ms < 0
        if not 0.0 <= self.failure_rate <= 1.0 or bad_latency:
            raise ValueError(f"bad payment faults: {self}")


NO_FAULTS = PaymentFaults()


class FaultInjector:
    def __init__(self, faults: PaymentFaults) -> None:
        self._faults = faults
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()

    def call(self) -> None:
        """Wait out the latency, then maybe fail as an unavailable gateway would."""
        if self._faults.latency_ms:
            time.sleep(self._faults.latency_ms / 1000)
        if self._faults.failure_rate:
            with self._lock:
                roll = self._random.random()
            if roll < self._faults.failure_rate:
                raise PaymentGatewayUnavailable("payment gateway unavailable (injected fault)")

    def respond(self) -> None:
        """Wait out the response latency: the gateway has acted, its answer is still on the way."""
        if self._faults.response_latency_ms:
            time.sleep(self._faults.response_latency_ms / 1000)


def transient_failures(payment_token: str) -> int:
    """Decline the declining test tokens; else how many first attempts the token fails."""
    if payment_token == "tok_declined" or not _TOKEN.fullmatch(payment_token):
        raise PaymentDeclined("card_declined")
    if payment_token == "tok_insufficient_funds":
        raise PaymentDeclined("insufficient_funds")
    transient = _TRANSIENT.fullmatch(payment_token)
    return int(transient[1]) if transient else 0
