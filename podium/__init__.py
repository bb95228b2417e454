"""Podium for your own scripts: `import podium`, then place and follow orders.

    client = await podium.connect()
    answer = await podium.place_order(client, podium.OrderRequest.model_validate(data))
    print(answer.confirmed)

The names below are loaded on first use, so the `podium` command starts without the Temporal
SDK until a command needs it.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contracts.order import (
        CancelResult,
        Confirmation,
        OrderRequest,
        OrderResult,
        OrderState,
        OrderStatus,
    )
    from podium.client import (
        OrderIdTaken,
        cancel_order,
        connect,
        order_handle,
        order_status,
        outcome,
        place_order,
        wait_for_outcome,
    )
    from podium.review import (
        ReviewRefused,
        approve_order,
        orders_awaiting_review,
        reject_order,
    )
    from workers.runtime.settings import Settings

_HOMES = {
    "connect": "podium.client",
    "place_order": "podium.client",
    "order_status": "podium.client",
    "cancel_order": "podium.client",
    "wait_for_outcome": "podium.client",
    "outcome": "podium.client",
    "order_handle": "podium.client",
    "OrderIdTaken": "podium.client",
    "OrderRequest": "contracts.order",
    "OrderResult": "contracts.order",
    "OrderState": "contracts.order",
    "OrderStatus": "contracts.order",
    "CancelResult": "contracts.order",
    "Confirmation": "contracts.order",
    "approve_order": "podium.review",
    "reject_order": "podium.review",
    "orders_awaiting_review": "podium.review",
    "ReviewRefused": "podium.review",
    "Settings": "workers.runtime.settings",
}
__all__ = [
    "CancelResult",
    "Confirmation",
    "OrderIdTaken",
    "OrderRequest",
    "OrderResult",
    "OrderState",
    "OrderStatus",
    "ReviewRefused",
    "Settings",
    "approve_order",
    "cancel_order",
    "connect",
    "order_handle",
    "order_status",
    "orders_awaiting_review",
    "outcome",
    "place_order",
    "reject_order",
    "wait_for_outcome",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'podium' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
