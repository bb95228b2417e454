"""The saga on the real Temporal dev server and RabbitMQ node, with the services' data in the
real PostgreSQL cluster: PODIUM_DATABASE_URL is all it takes."""

import asyncio
import uuid
from contextlib import closing

import psycopg
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from contracts.order import OrderState
from podium.client import place_order
from tests.support.factories import an_order
from tests.support.invariants import assert_invariants
from workers.bootstrap import open_services, running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


async def test_orders_complete_and_decline_with_every_service_on_postgresql(
    settings: Settings, temporal: Client, postgres_url: str
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    on_postgres = settings.model_copy(
        update={"database_url": SecretStr(postgres_url), "database_schema_prefix": prefix}
    )
    orders = [an_order(), an_order(), an_order(payment_token="tok_declined")]
    async with running_worker(temporal, on_postgres):
        results = await asyncio.gather(
            *(place_order(temporal, o, on_postgres.task_queue, wait="outcome") for o in orders)
        )
    assert [r.state for r in results] == [
        OrderState.COMPLETED,
        OrderState.COMPLETED,
        OrderState.FAILED,
    ]
    services = await asyncio.to_thread(open_services, on_postgres)
    with closing(services):
        assert_invariants(results, *services)
    assert not (settings.data_dir / "orders.db").exists()  # nothing went to SQLite
    with psycopg.connect(postgres_url) as conn:
        schemas = conn.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s"
            " ORDER BY schema_name",
            (f"{prefix}%",),
        ).fetchall()
    names = [f"{prefix}{name}" for name in ("inventory", "orders", "payments")]
    assert [s for (s,) in schemas] == names
