"""The soak's orders: a seeded mix of the kinds of order a shop sees."""

import random
from dataclasses import dataclass

from contracts.order import OrderRequest
from services.products import PRODUCTS
from tests.support.factories import an_order

# Weights out of 100. A `review` order is above REVIEW_ABOVE and nobody reviews it: its short
# window runs out and it is refused. A `cancel` order is cancelled by its customer shortly after
# it is placed (before or after its pivot, whichever comes first).
KINDS = {"normal": 70, "declined": 8, "transient": 8, "cancel": 8, "review": 6}
REVIEW_ABOVE = "200"
TOKENS = {"declined": "tok_declined", "transient": "tok_transient_2"}
EVERYDAY = ("MUG-BLUE", "TSHIRT-M", "SOCKS-3PK", "NOTEBOOK-A5")


@dataclass(frozen=True)
class SoakOrder:
    kind: str
    request: OrderRequest

    @property
    def quantities(self) -> dict[str, int]:
        return {i.sku: i.quantity for i in self.request.items}


def soak_orders(count: int, rng: random.Random, run: str) -> list[SoakOrder]:
    """`run` keeps the ids of one soak apart from any other's on the same server."""
    # Every kind at least once, even in a short run; the rest drawn by weight.
    kinds = list(KINDS)[:count] + rng.choices(
        list(KINDS), weights=list(KINDS.values()), k=max(0, count - len(KINDS))
    )
    rng.shuffle(kinds)
    orders = []
    for i, kind in enumerate(kinds):
        if kind == "review":  # 17 x 12.50 = 212.50, above REVIEW_ABOVE
            items = [line("MUG-BLUE", 17)]
        else:
            items = [line(sku, 1) for sku in rng.sample(EVERYDAY, rng.randint(1, 2))]
        request = an_order(
            order_id=f"soak-{run}-{i}-{kind}",
            customer_id=f"cust-{i % 11}",
            items=items,
            payment_token=TOKENS.get(kind, "tok_visa"),
        )
        orders.append(SoakOrder(kind, request))
    return orders


def line(sku: str, quantity: int) -> dict[str, object]:
    return {"sku": sku, "quantity": quantity, "unit_price": str(PRODUCTS[sku].price)}
