"""The chaos soak, short: a few dozen orders of every kind (normal, declined, transient gateway
faults, customer cancels, review timeouts) on PostgreSQL and a three-node RabbitMQ cluster, with
one SIGKILL each of a worker, a consumer process, a broker node, PostgreSQL and the Temporal dev
server. `make soak` runs the same driver with 1,000 orders and more kills."""

import os

import pytest

from tests.faults.conftest import SUMMARY
from tests.faults.soak.chaos import TARGETS
from tests.faults.soak.run import SoakPlan, soak

pytestmark = pytest.mark.integration

ORDERS = int(os.environ.get("PODIUM_CHAOS_SOAK_ORDERS", "40"))
SEED = int(os.environ.get("PODIUM_CHAOS_SOAK_SEED", "12"))


async def test_chaos_soak_kills_every_part_once_and_loses_or_doubles_nothing() -> None:
    plan = SoakPlan(orders=ORDERS, rate=2.0, kills=len(TARGETS), seed=SEED, settle_seconds=90)
    verdict = await soak(plan)
    SUMMARY.append(f"chaos soak: {ORDERS} orders, seed {SEED}: " + "; ".join(verdict.lines[:3]))
    assert verdict.holds, "\n".join(verdict.lines)
    assert set(verdict.kills) == set(TARGETS)
