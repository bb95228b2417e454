"""`podium dlq` handles dead letters without risk: listing is not a delivery that could reach a
delivery limit, replay moves one message at a time, a wrong id changes nothing, discard exists.

Dead letters are put in place and counted from outside, through the management HTTP API."""

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import aio_pika
import pytest

from consumers.runtime import headers as h
from contracts.broker import NO_DELIVERY_LIMIT
from infra.stack.ports import free_port
from podium.cli import dead_letters, exits, main
from tests.support.management import Management
from workers.bootstrap import declare_consumer_topology
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration

RABBITMQ_4_DEFAULT_DELIVERY_LIMIT = 20


@pytest.fixture
async def own(settings: Settings) -> Settings:
    uid = uuid.uuid4().hex[:8]
    own = settings.model_copy(update={"exchange": f"ev-{uid}", "consumer_queue_prefix": f"d{uid}"})
    await declare_consumer_topology(own)
    return own


def dlq(settings: Settings) -> str:
    return f"{settings.consumer_queue_prefix}.loyalty.dlq"


async def dead_letter(management: Management, settings: Settings, message_id: str) -> None:
    """A dead letter as the runtime writes one, published by an outside client."""
    properties = {
        "message_id": message_id,
        "delivery_mode": 2,
        "headers": {
            h.CONSUMER: "loyalty",
            h.REASON: "body is not JSON",
            h.ROUTING_KEY: "order.completed.v1",
            h.ATTEMPT: 0,
        },
    }
    direct = f"{settings.consumer_queue_prefix}.direct"
    assert await management.publish(direct, dlq(settings), "{oops", properties)


async def test_listing_many_times_loses_nothing_and_wrong_ids_change_nothing(
    own: Settings, management: Management, capsys: pytest.CaptureFixture[str]
) -> None:
    declared = await management.queue(dlq(own))
    assert declared is not None
    assert declared["arguments"]["x-queue-type"] == "quorum"
    # Explicit: RabbitMQ 4.x would otherwise drop a message taken 20 times.
    assert declared["arguments"]["x-delivery-limit"] == NO_DELIVERY_LIMIT
    for n in range(3):
        await dead_letter(management, own, f"dead-{n}")

    for _ in range(RABBITMQ_4_DEFAULT_DELIVERY_LIMIT + 5):
        assert await dead_letters.show_dead_letters(own, "loyalty") == exits.OK
    out = capsys.readouterr().out
    assert out.count("3 dead letter(s) for loyalty") == RABBITMQ_4_DEFAULT_DELIVERY_LIMIT + 5
    assert "reason: body is not JSON" in out
    await management.messages(dlq(own), 3)

    assert await dead_letters.replay_dead_letters(own, "loyalty", ["dead-1", "nope"]) == 2
    assert await dead_letters.discard_dead_letters(own, "loyalty", ["nope"]) == 2
    assert await dead_letters.show_dead_letters(own, "no-such-consumer") == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"podium: no message with id nope in {dlq(own)}",
        f"podium: no message with id nope in {dlq(own)}",
        "podium: unknown consumer(s) no-such-consumer; known: notifications, analytics, loyalty,"
        " or unrouted",
    ]
    await management.messages(dlq(own), 3)
    await management.messages(f"{own.consumer_queue_prefix}.loyalty", 0)

    # The last one: the two before it are skipped, held, and given back.
    assert await dead_letters.replay_dead_letters(own, "loyalty", ["dead-2"]) == exits.OK
    await management.messages(f"{own.consumer_queue_prefix}.loyalty", 1)
    await management.messages(dlq(own), 2)
    assert await dead_letters.discard_dead_letters(own, "loyalty", ["dead-1"]) == exits.OK
    assert "1 message(s) discarded from loyalty\n  dead-1" in capsys.readouterr().out
    await management.messages(dlq(own), 1)
    assert await dead_letters.discard_dead_letters(own, "loyalty", None) == exits.OK
    assert "1 message(s) discarded from loyalty\n  dead-0" in capsys.readouterr().out
    await management.messages(dlq(own), 0)


async def test_replay_moves_one_message_at_a_time_and_resets_attempts(own: Settings) -> None:
    total = 150
    main_queue = f"{own.consumer_queue_prefix}.loyalty"
    connection = await aio_pika.connect(own.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for n in range(total):
            message = aio_pika.Message(
                b"{}",
                message_id=f"m-{n}",
                headers={h.ATTEMPT: 2, h.REASON: "retries exhausted", h.ROUTING_KEY: "order.x"},
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await channel.default_exchange.publish(message, routing_key=dlq(own))

        # Sampled while the replay runs: a message is either still ready in the DLQ or already
        # in the main queue, except the one in flight. Taking all first would empty the DLQ.
        samples: list[int] = []

        async def watch() -> None:
            observer = await connection.channel()
            while True:
                waiting = await observer.declare_queue(dlq(own), passive=True)
                moved = await observer.declare_queue(main_queue, passive=True)
                counts = (waiting.declaration_result, moved.declaration_result)
                samples.append(sum(int(c.message_count or 0) for c in counts))
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch())
        try:
            assert await dead_letters.replay_dead_letters(own, "loyalty", None) == exits.OK
        finally:
            watcher.cancel()
        assert len(samples) > 10
        assert min(samples) >= total - 1, sorted(samples)[:5]

        queue = await channel.declare_queue(main_queue, passive=True)
        assert queue.declaration_result.message_count == total
        first = await queue.get(no_ack=False)
        await first.nack(requeue=True)
    assert first.headers[h.ATTEMPT] == 0 and h.REASON not in first.headers
    assert first.headers[h.REPLAYED] == 1 and first.headers[h.ROUTING_KEY] == "order.x"


def test_without_a_broker_the_commands_say_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = free_port()
    monkeypatch.chdir(tmp_path)  # no .env or stack.env of the developer's
    monkeypatch.setenv("PODIUM_AMQP_URL", f"amqp://podium:x@127.0.0.1:{port}/podium")
    assert main(["dlq", "list", "unrouted"]) == exits.UNAVAILABLE
    assert main(["dlq", "discard", "loyalty", "--all"]) == exits.UNAVAILABLE
    [first, second] = capsys.readouterr().err.splitlines()
    assert (
        first.startswith(f"podium: cannot reach RabbitMQ at 127.0.0.1:{port}") and first == second
    )


def test_discard_needs_ids_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["dlq", "discard", "loyalty"])
    assert exited.value.code == exits.BAD_INPUT
    assert "one of the arguments --id --all is required" in capsys.readouterr().err


def test_the_podium_command_exits_2_with_one_line_for_a_wrong_name_or_id(
    own: Settings, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env |= {
        "PODIUM_AMQP_URL": own.amqp_url,
        "PODIUM_EXCHANGE": own.exchange,
        "PODIUM_CONSUMER_QUEUE_PREFIX": own.consumer_queue_prefix,
        "PODIUM_DATA_DIR": str(tmp_path),
    }
    podium = str(Path(sys.executable).parent / "podium")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [podium, "dlq", *args], env=env, cwd=tmp_path, capture_output=True, text=True
        )

    listed = run("list", "unrouted")
    assert (listed.returncode, listed.stdout) == (0, "0 unrouted event(s)\n"), listed.stderr
    for args in (("replay", "loyalty", "--id", "nope"), ("discard", "nobody", "--all")):
        done = run(*args)
        assert done.returncode == exits.BAD_INPUT, done
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("podium: "), done.stderr
