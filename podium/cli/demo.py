"""`podium demo`: a handful of sample orders through the saga, on the running local stack,
with the worker and the consumers in this process (from workers/bootstrap.py). Each order is
placed as `podium place` does, answered at its pivot; the demo then waits for its outcome."""

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contracts.order import MAX_UNIT_PRICE, Confirmation, OrderRequest, OrderResult, OrderState
from podium.cli.order_input import SAMPLE_ADDRESS
from podium.cli.orders import describe_confirmation, ui_link
from podium.cli.parsing import Commands
from workers.runtime.settings import Settings

if TYPE_CHECKING:
    from temporalio.client import Client

    from consumers.analytics import AnalyticsReport
    from consumers.notifications import OutboxEmail


def register(commands: Commands) -> None:
    cmd = commands.add_parser("demo", help="start the stack, run a worker, place sample orders")
    # The demo's worker and consumers log to a file: the terminal shows the orders' story.
    cmd.set_defaults(
        command=_demo,
        traced="podium-demo",
        log_file=Path(".podium/logs/demo.log"),
        log_off_loop=True,
    )


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(run_demo(settings))


@dataclass(frozen=True)
class Scenario:
    label: str
    request: OrderRequest
    cancel: bool = False
    review: bool = False  # above the review threshold: approved as `podium review approve` does


def scenarios(tag: str, review_above: Decimal) -> list[Scenario]:
    def order(
        n: int, items: list[dict[str, Any]], token: str = "tok_visa", **kw: Any
    ) -> OrderRequest:
        return OrderRequest.model_validate(
            {
                "order_id": f"demo-{tag}-{n}",
                "customer_id": kw.get("customer", "cust-ada"),
                "email": kw.get("email", "ada@example.com"),
                "shipping_address": SAMPLE_ADDRESS,
                "items": items,
                "currency": kw.get("currency", "EUR"),
                "payment_token": token,
            }
        )

    mug = {"sku": "MUG-BLUE", "quantity": 2, "unit_price": "12.50"}
    return [
        Scenario(
            "happy path", order(1, [mug, {"sku": "SOCKS-3PK", "quantity": 1, "unit_price": "9.99"}])
        ),
        Scenario(
            "another customer",
            order(
                2,
                [{"sku": "HOODIE-L", "quantity": 1, "unit_price": "59.00"}],
                customer="cust-grace",
                email="grace@example.com",
            ),
        ),
        Scenario("gateway hiccups, retried", order(3, [mug], token="tok_transient_2")),
        Scenario("declined card", order(4, [mug], token="tok_declined")),
        Scenario(
            "out of stock", order(5, [{"sku": "VINYL-LTD", "quantity": 2, "unit_price": "35.00"}])
        ),
        Scenario("cancelled by customer", order(6, [mug], token="tok_transient_1000"), cancel=True),
        Scenario("large, approved in review", order(7, [_above(review_above)]), review=True),
    ]


def _above(review_above: Decimal) -> dict[str, Any]:
    """A hoodie priced a little above the review threshold (PODIUM_REVIEW_ABOVE)."""
    price = min(review_above + 250, MAX_UNIT_PRICE)
    return {
        "sku": "LAMP-DESK",
        "quantity": int(review_above // price) + 1,
        "unit_price": f"{price:.2f}",
    }


@dataclass(frozen=True)
class Placed:
    answer: Confirmation  # given at the pivot
    answered_in: float
    result: OrderResult  # once the outcome's event is published
    finished_in: float


async def run_scenario(client: "Client", settings: Settings, scenario: Scenario) -> Placed:
    from podium.client import cancel_order, place_order, wait_for_outcome, wait_for_state

    started = time.perf_counter()
    placing = asyncio.ensure_future(place_order(client, scenario.request, settings.task_queue))
    if scenario.cancel:
        await wait_for_state(client, scenario.request.order_id, OrderState.RESERVED)
        await cancel_order(client, scenario.request.order_id)
    answer = await placing
    answered_in = time.perf_counter() - started
    if scenario.review:
        from podium.cli.review import decide

        print(describe_confirmation(answer))
        await decide(
            settings,
            "approve",
            scenario.request.order_id,
            reviewer="demo-reviewer",
            reason="a large order from a known customer",
        )
    result = await wait_for_outcome(client, scenario.request.order_id)
    return Placed(answer, answered_in, result, time.perf_counter() - started)


def outcome_table(rows: list[tuple[Scenario, Placed]]) -> str:
    header = (
        f"{'order':<22} {'scenario':<26} {'answer':<13} {'ms':>5}  {'outcome':<10} "
        f"{'ms':>5} {'total':>10}  reason"
    )
    lines = [header, "-" * len(header)]
    for scenario, placed in rows:
        answer, result = placed.answer, placed.result
        said = "confirmed" if answer.confirmed else "not confirmed"
        if answer.state == OrderState.AWAITING_REVIEW:
            said = "in review"
        reason = answer.failure.code if answer.failure else ""
        total = f"{result.total} {result.currency}"
        lines.append(
            f"{result.order_id:<22} {scenario.label:<26} {said:<13} "
            f"{placed.answered_in * 1000:>5.0f}  {result.state:<10} "
            f"{placed.finished_in * 1000:>5.0f} {total:>10}  {reason}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class ConsumerEffects:
    """What the consumers have done so far, read from their own databases."""

    emails: list["OutboxEmail"]
    loyalty_orders: int
    loyalty_points: int
    analytics: "AnalyticsReport"

    def describe(self) -> str:
        sent = [e for e in self.emails if e.sent_at]
        lines = [f"notifications: {len(sent)} sent, {len(self.emails) - len(sent)} pending"]
        lines += [f"  -> {e.recipient}: {e.subject}" for e in self.emails]
        lines.append(
            f"loyalty: {self.loyalty_points} points credited over {self.loyalty_orders} orders"
        )
        outcomes = ", ".join(f"{k} {v}" for k, v in self.analytics.outcomes.items()) or "none"
        lines.append(f"analytics: orders by outcome: {outcomes}")
        lines += [
            f"  {r.hour} {r.sku}: {r.units} units, {r.revenue} {r.currency}"
            for r in self.analytics.sku_hours
        ]
        return "\n".join(lines)


async def consumer_effects(settings: Settings) -> ConsumerEffects:
    from consumers import analytics, loyalty, notifications
    from workers.bootstrap import consumer_stores

    stores = await consumer_stores(settings)
    orders, points = await asyncio.to_thread(loyalty.credits_total, stores[loyalty.NAME])
    return ConsumerEffects(
        emails=await asyncio.to_thread(notifications.outbox, stores[notifications.NAME]),
        loyalty_orders=orders,
        loyalty_points=points,
        analytics=await asyncio.to_thread(analytics.report, stores[analytics.NAME]),
    )


async def settled_effects(settings: Settings, orders: int) -> ConsumerEffects:
    """Wait (briefly) until the notifications consumer has mailed every order's outcome."""
    async with asyncio.timeout(30):
        while True:
            effects = await consumer_effects(settings)
            if sum(1 for e in effects.emails if e.sent_at) >= orders:
                return effects
            await asyncio.sleep(0.2)


async def run_demo(settings: Settings) -> int:
    from workers.bootstrap import declare_consumer_topology, running_consumers, running_worker
    from workers.runtime.temporal import connect_temporal

    client = await connect_temporal(settings)
    await declare_consumer_topology(settings)
    tag = uuid.uuid4().hex[:6]
    plan = scenarios(tag, settings.review_above)
    print(f"placing {len(plan)} sample orders (worker and consumers run in this process)\n")
    async with running_worker(client, settings), running_consumers(settings):
        outcomes = await asyncio.gather(*(run_scenario(client, settings, s) for s in plan))
        effects = await settled_effects(settings, len(plan))
    print(outcome_table(list(zip(plan, outcomes, strict=True))))
    print("\nanswer: what `podium place` tells the customer, at the pivot; outcome: once published")
    print("\nside effects (each consumer's own database; totals cover every order so far):")
    ours = {placed.result.event_id for placed in outcomes}
    print(replace(effects, emails=[e for e in effects.emails if e.event_id in ours]).describe())
    print(f"\nemails as files: {settings.mail_dir}/")
    print("\nin the Temporal UI:")
    for scenario in plan:
        print(f"  {ui_link(settings, scenario.request.order_id)}")
    print(f"\nlogs: .podium/logs/demo.log    traces: podium trace {plan[0].request.order_id}")
    print(f"try:  podium status {plan[3].request.order_id}    podium loyalty cust-ada")
    return 0
