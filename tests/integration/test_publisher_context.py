"""The publisher's connection is opened lazily, inside some order's publish activity; its later
reconnects must not log under that order's ids and trace."""

import json
import logging
import uuid
from collections.abc import Iterator

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from activities.publisher import EventPublisher
from contracts.order import workflow_id_for
from infra.stack import StackInfo
from tests.support.consumers import completed
from tests.support.management import Management
from tests.support.waits import eventually
from workers.runtime.logging import formatter
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration

LEAKS = ("order_id", "workflow_id", "run_id", "trace_id", "span_id")


class Lines(logging.Handler):
    """Every line of the broker client's loggers, rendered as the production formatter does."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter(json_output=True))
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def client_lines() -> Iterator[Lines]:
    handler = Lines()
    loggers = [logging.getLogger(name) for name in ("aio_pika", "aiormq")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


async def test_reconnect_lines_carry_no_order_context_of_the_publish_that_connected(
    settings: Settings, stack_info: StackInfo, client_lines: Lines
) -> None:
    management = Management(stack_info)
    name = f"podium-publisher-{uuid.uuid4().hex[:8]}"
    publisher = EventPublisher(settings.amqp_url, settings.exchange, 5, connection_name=name)
    tracer = TracerProvider().get_tracer(__name__)  # a recording span, whatever is global
    try:
        with (
            structlog.contextvars.bound_contextvars(
                order_id="ord-leak", workflow_id=workflow_id_for("ord-leak"), run_id="run-leak"
            ),
            tracer.start_as_current_span("publish_event"),
        ):
            await publisher.publish(completed())  # opens the connection here, lazily
        [before] = await eventually(
            lambda: management.connections_named(name),
            lambda found: len(found) == 1,
            within=15,
            interval=0.5,
            what="the publisher's connection",
        )
        client_lines.lines.clear()

        await management.close_connection(before["name"])  # as an operator would
        await eventually(
            lambda: management.connections_named(name),
            lambda found: len(found) == 1 and found[0]["name"] != before["name"],
            within=30,
            interval=0.5,
            what="the publisher reconnected",
        )
        await publisher.publish(completed())  # and it works on the new connection
    finally:
        await publisher.close()

    reconnecting = [line for line in client_lines.lines if "Reconnecting" in str(line["event"])]
    assert reconnecting, [line["event"] for line in client_lines.lines]
    leaked = [line for line in client_lines.lines if any(key in line for key in LEAKS)]
    assert leaked == []
