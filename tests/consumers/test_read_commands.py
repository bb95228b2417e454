"""The consumers' read commands on the real broker: depths and breakers per consumer (checked
against RabbitMQ's management API), and `--json` of status, dead letters and read models."""

import json
import os
import urllib.parse

import pytest

from activities.publisher import EventPublisher
from consumers import loyalty
from contracts.events import OrderCompletedV1
from infra.stack import StackInfo
from podium.cli import exits
from podium.cli.consumers import show_analytics, show_loyalty, show_status
from podium.cli.dead_letters import show_dead_letters
from tests.support.consumers import completed, dead_letters, publish_raw, store_of
from tests.support.management import Management
from tests.support.waits import eventually, until
from workers.bootstrap import declare_consumer_topology, running_consumers
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


async def _status(settings: Settings, capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    capsys.readouterr()
    assert await show_status(settings, [], as_json=True) == exits.OK
    document = json.loads(capsys.readouterr().out)
    return {c["name"]: c for c in document["consumers"]}


async def test_status_counts_each_queue_and_dead_letters_as_the_broker_does(
    settings: Settings,
    publisher: EventPublisher,
    stack_info: StackInfo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await declare_consumer_topology(settings)
    async with running_consumers(settings, names=["loyalty"]):
        await publish_raw(settings, b"{not json", OrderCompletedV1.ROUTING_KEY, "poison-1")
        await dead_letters(settings, "loyalty", 1)
        running = await _status(settings, capsys)
    assert [p["breaker"] for p in running["loyalty"]["processes"]] == ["closed"]
    assert running["loyalty"]["processes"][0]["pid"] == os.getpid()
    assert running["loyalty"]["processes"][0]["alive"] is True
    assert running["loyalty"]["processes"][0]["since"].endswith("Z")
    assert running["analytics"]["processes"] == []

    for _ in range(2):  # no consumer runs now: the events wait in every queue
        await publisher.publish(completed())

    async def settled() -> dict[str, dict]:
        return await _status(settings, capsys)

    statuses = await eventually(
        settled, lambda s: s["loyalty"]["queued"] == 2, 10.0, what="two events queued"
    )
    assert statuses["loyalty"]["dead"] == 1 and statuses["loyalty"]["retrying"] == 0
    assert statuses["notifications"]["queued"] == 3  # the poison too: nobody consumed it
    assert statuses["analytics"]["dead"] == 0

    # The management API, RabbitMQ's own view, agrees.
    vhost = urllib.parse.urlsplit(settings.amqp_url).path[1:] or "/"
    management = Management(stack_info, vhost)
    prefix = settings.consumer_queue_prefix
    assert await management.messages(f"{prefix}.loyalty", 2) == 2
    assert await management.messages(f"{prefix}.loyalty.dlq", 1) == 1
    assert await management.messages(f"{prefix}.notifications", 3) == 3


async def test_json_of_dead_letters_and_read_models_parses_with_stable_keys(
    settings: Settings, publisher: EventPublisher, capsys: pytest.CaptureFixture[str]
) -> None:
    event = completed(customer_id="cust-json")
    async with running_consumers(settings, names=["loyalty", "analytics"]):
        await publisher.publish(event)
        await publish_raw(settings, b"\x1b[31m{bad", OrderCompletedV1.ROUTING_KEY, "poison-2")
        await dead_letters(settings, "loyalty", 1)
        await until(
            lambda: loyalty.points(store_of(settings, loyalty.CONSUMER), "cust-json") > 0,
            what="points credited",
        )
    capsys.readouterr()
    assert await show_dead_letters(settings, "loyalty", as_json=True) == exits.OK
    assert await show_loyalty(settings, "cust-json", as_json=True) == exits.OK
    assert await show_analytics(settings, as_json=True) == exits.OK
    out = capsys.readouterr().out
    assert "\x1b" not in out  # outside text is escaped, never raw terminal control
    letters, points, analytics = (json.loads(line) for line in out.splitlines())

    assert letters["consumer"] == "loyalty" and letters["count"] == 1
    (letter,) = letters["messages"]
    assert set(letter) == {
        "message_id",
        "routing_key",
        "attempts",
        "dead_lettered_at",
        "reason",
        "body_preview",
    }
    assert letter["message_id"] == "poison-2" and letter["body_preview"] == "\x1b[31m{bad"
    assert points == {"customer_id": "cust-json", "points": points["points"]}
    assert points["points"] > 0
    assert analytics["outcomes"] == {"completed": 1}
    row = analytics["sku_hours"][0]
    assert set(row) == {"hour", "sku", "currency", "units", "revenue"}
    assert isinstance(row["revenue"], str)  # money stays a decimal string
