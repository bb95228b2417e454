"""The worked example in docs/adding-a-consumer.md runs as written."""

import re
import types
from decimal import Decimal
from pathlib import Path

import pytest

from activities.publisher import EventPublisher
from tests.support.consumers import completed, count, store_of
from tests.support.waits import until
from workers.bootstrap import running_consumers
from workers.runtime.settings import Settings

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "adding-a-consumer.md"

pytestmark = pytest.mark.integration


def _example_module() -> types.ModuleType:
    code = re.search(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    assert code is not None
    module = types.ModuleType("fraud_review")
    exec(compile(code.group(1), str(GUIDE), "exec"), module.__dict__)
    return module


async def test_the_guides_example_consumer_flags_only_large_orders(
    settings: Settings, publisher: EventPublisher
) -> None:
    example = _example_module()
    consumer = example.CONSUMER
    store = store_of(settings, consumer)
    big = completed(items=[{"sku": "TV-65", "quantity": 2, "unit_price": "899.00"}])
    small = completed()
    async with running_consumers(settings, consumers=[consumer]):
        await publisher.publish(big)
        await publisher.publish(small)
        await until(lambda: store.processed_count() == 2, what="both events")

    rows = store.read(lambda c: c.execute("SELECT order_id, total FROM reviews").fetchall())
    assert [tuple(r) for r in rows] == [(big.order.order_id, str(Decimal("1798.00")))]
    assert count(store, "SELECT count(*) FROM reviews") == 1
