"""Place a few orders from a client script, using only Podium's public API.

    make up && .venv/bin/podium worker &     # the stack and a worker
    .venv/bin/python examples/place_orders.py [order.json]

The order in `order.json` is placed three times under new order ids: as it is, with a card
that is declined, and with a gateway that fails once before it takes the charge; each line is
printed as soon as its order is confirmed or refused. Settings
(Temporal's address, the task queue) come from the `PODIUM_*` variables, as for `podium`.
"""

import asyncio
import sys
import uuid
from pathlib import Path

import podium

TOKENS = {"as written": None, "declined card": "tok_declined", "gateway hiccup": "tok_transient_1"}


async def place_all(template: podium.OrderRequest) -> None:
    settings = podium.Settings()
    client = await podium.connect(settings)
    run = uuid.uuid4().hex[:6]
    orders = {
        label: podium.OrderRequest.model_validate(
            template.model_dump()
            | {"order_id": f"{template.order_id}-{run}-{n}"}
            | ({"payment_token": token} if token else {})
        )
        for n, (label, token) in enumerate(TOKENS.items())
    }
    # Each answer comes once the order is confirmed or refused; the events follow.
    answers = await asyncio.gather(
        *(podium.place_order(client, order, settings.task_queue) for order in orders.values())
    )
    for label, answer in zip(orders, answers, strict=True):
        said = "confirmed" if answer.confirmed else "not confirmed"
        reason = f" ({answer.failure.code})" if answer.failure else ""
        print(f"{answer.order_id}: {label}: {said} {answer.total} {answer.currency}{reason}")


def main() -> None:
    order_file = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("order.json")
    asyncio.run(place_all(podium.OrderRequest.model_validate_json(order_file.read_text())))


if __name__ == "__main__":
    main()
