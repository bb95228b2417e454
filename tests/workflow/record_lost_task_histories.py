"""Record the histories of cancels that meet a charged order after a lost workflow task:
`python -m tests.workflow.record_lost_task_histories v10`.

A customer's cancel and a Temporal cancel, each once with the pivot passed in the lost task
(the order completes) and once without (it is undone). Run it only when this command sequence
changes deliberately (behind a new patch), to add histories beside the old ones.
"""

import asyncio
import sys

from podium.client import outcome
from tests.support.factories import an_order
from tests.support.recording import HISTORIES, recording_shop
from tests.support.split_workers import charged_then_cancelled_while_away

SCENARIOS = {
    "cancel_after_lost_confirm": ("update", True),
    "temporal_cancel_after_lost_confirm": ("temporal", True),
    "cancel_after_charge": ("update", False),
    "temporal_cancel_after_charge": ("temporal", False),
}


async def record(version: str) -> None:
    async with recording_shop() as (_, shop):
        for name, (cancel, lost_confirm) in SCENARIOS.items():
            order = an_order(order_id=f"replay-{name.replace('_', '-')}")
            handle = await charged_then_cancelled_while_away(shop, order, cancel, lost_confirm)
            async with shop.worker():
                print(name, (await outcome(handle)).state)
            target = HISTORIES / f"{version}-{name}.json"
            target.write_text((await handle.fetch_history()).to_json())
            print(f"wrote {target}")


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v10"))
