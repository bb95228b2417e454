"""The soak's invariants, counted from the services' and stores' own data (and Temporal's
visibility for runs still open), printed one per line."""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from temporalio.client import Client

from consumers.runtime.dlq import list_dead_letters
from contracts.order import OrderResult, OrderState
from services.payment import CAPTURED
from tests.faults.soak.chaos import Chaos
from tests.faults.soak.mix import SoakOrder
from tests.support.invariants import (
    ConsumerStores,
    assert_consumer_invariants,
    reserved_units,
    tally_effects,
)
from workers.bootstrap import open_services, registered, runtime_options
from workers.runtime.settings import Settings


@dataclass
class Verdict:
    counts: dict[str, int] = field(default_factory=dict)  # invariant -> violations
    lines: list[str] = field(default_factory=list)
    kills: Counter[str] = field(default_factory=Counter)  # target kind -> SIGKILLs

    @property
    def holds(self) -> bool:
        return not any(self.counts.values())

    def check(self, name: str, violations: int, detail: object = "") -> None:
        self.counts[name] = violations
        shown = f" {detail}" if violations and detail else ""
        self.say(f"  {name}: {violations}{'' if not violations else ' VIOLATED'}{shown}")

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)


async def judge(
    orders: list[SoakOrder],
    results: dict[str, OrderResult],
    cancels: dict[str, bool],
    settings: Settings,
    stores: ConsumerStores,
    client: Client,
    chaos: Chaos,
) -> Verdict:
    verdict = Verdict(kills=Counter(chaos.kills))
    final = [r for r in results.values() if r.state.is_final]
    ids = {o.request.order_id for o in orders}
    orders_db, inventory, payments = open_services(settings)

    states = Counter(r.state.value for r in final)
    reasons = Counter(r.failure.code for r in final if r.failure is not None)
    verdict.say(f"orders: {len(orders)} placed ({dict(Counter(o.kind for o in orders))})")
    verdict.say(f"outcomes: {dict(states)}; failures: {dict(reasons)}")
    ended = Counter(
        ("accepted" if accepted else "refused", results[order_id].state.value)
        for order_id, accepted in cancels.items()
        if order_id in results
    )
    # Accepted yet COMPLETED: a lost workflow task had confirmed the order (settle-cancel-at-pivot).
    verdict.say(f"customer cancels (answer, outcome): {dict(sorted(ended.items()))}")
    verdict.say(f"kills: {dict(Counter(chaos.kills))}")
    verdict.say("invariants:")

    stored = {row.order_id: row.status for row in orders_db.all() if row.order_id in ids}
    missing = sorted(ids - {r.order_id for r in final})
    verdict.check("lost orders (no final outcome)", len(missing), missing[:5])
    verdict.check("stuck runs (still running)", await _running(client, settings))
    wrong_row = [(r.order_id, stored.get(r.order_id)) for r in final if not _row_agrees(r, stored)]
    verdict.check("order rows disagreeing with the outcome", len(wrong_row), wrong_row[:5])

    completed = {r.order_id for r in final if r.state == OrderState.COMPLETED}
    captured = Counter(c.order_id for c in payments.charges() if c.status == CAPTURED)
    doubles = sorted(o for o, n in captured.items() if n > 1)
    verdict.check("double charges", len(doubles), doubles[:5])
    unpaid = sorted(completed - set(captured))
    verdict.check("completed orders without a charge", len(unpaid), unpaid[:5])
    stray = sorted(set(captured) - completed)
    verdict.check("charges kept by orders not completed", len(stray), stray[:5])
    imbalance = 0
    for currency in {r.currency for r in final}:
        net = payments.captured_total(currency) - payments.refunded_total(currency)
        due = sum((r.total for r in final if r.order_id in completed), Decimal(0))
        imbalance += int(net != due)
    verdict.check("currencies whose ledger does not balance", imbalance)

    levels = inventory.levels()
    unbalanced = [lvl.sku for lvl in levels if lvl.available + lvl.reserved != lvl.initial]
    negative = [lvl.sku for lvl in levels if lvl.available < 0]
    quantities = {o.request.order_id: o.quantities for o in orders}
    held = reserved_units(final, quantities)
    misheld = [lvl.sku for lvl in levels if lvl.reserved != held[lvl.sku]]
    verdict.check("SKUs whose stock is not conserved", len(set(unbalanced + negative + misheld)))

    tally = tally_effects(final, stores)
    verdict.check("double effects", tally.doubles, {k: v[:3] for k, v in tally.doubled.items()})
    verdict.check("lost effects", tally.lost, {k: v[:3] for k, v in tally.missing.items()})
    dead = [
        letter
        for consumer in registered(settings)
        for letter in await list_dead_letters(runtime_options(settings), consumer.name)
    ]
    verdict.check("dead letters", len(dead))
    try:
        assert_consumer_invariants(final, stores, quantities)
        wrong_models = 0
    except AssertionError as err:
        wrong_models, detail = 1, str(err)[:300]
    verdict.check(
        "read models (emails, analytics, points) wrong", wrong_models, locals().get("detail")
    )
    verdict.say("invariants hold" if verdict.holds else "INVARIANTS VIOLATED")
    return verdict


def _row_agrees(result: OrderResult, stored: dict[str, str]) -> bool:
    """A completed order's row is CONFIRMED, an undone one's CANCELLED; an order cancelled
    before its create step ran has no row (nothing was created, so nothing was undone)."""
    if result.state == OrderState.COMPLETED:
        return stored.get(result.order_id) == "CONFIRMED"
    if result.order_id not in stored:
        return "cancel_order" not in result.compensated
    return stored[result.order_id] == "CANCELLED"


async def _running(client: Client, settings: Settings) -> int:
    query = f"ExecutionStatus = 'Running' AND TaskQueue = '{settings.task_queue}'"
    return (await client.count_workflows(query)).count
