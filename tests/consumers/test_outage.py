"""An outage of a consumer's dependency is not a mass dead-lettering: the breaker opens, the
events wait in the queue, and once the mail server is back every email goes out exactly once.
A recipient the server refuses for good is dead-lettered at once and does not open the breaker."""

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from prometheus_client import REGISTRY

from activities.publisher import EventPublisher
from consumers import notifications
from consumers.runtime import state_file
from consumers.runtime.dlq import list_dead_letters
from infra.mailserver import StoreToFolder, file_name
from infra.stack import LocalStack
from infra.stack.ports import free_port
from podium.cli.consumers import show_status
from tests.support.consumers import completed, consumer_count, dead_letters
from tests.support.waits import until
from workers.bootstrap import running_consumers, runtime_options
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


class CountingMailServer(StoreToFolder):
    """The stack's debugging server, counting deliveries and refusing `ghost@` for good."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.received: Counter[str] = Counter()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("ghost@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received[file_name(envelope.original_content or b"")] += 1
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def mail_port() -> int:
    return free_port()  # nothing listens there until a test starts a server


def _breaker() -> float | None:
    return REGISTRY.get_sample_value(
        "podium_consumer_breaker_state", {"consumer": notifications.NAME}
    )


def _outage_settings(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={
            "smtp_port": port,
            "smtp_timeout_seconds": 2,
            "consumer_breaker_threshold": 3,
            "consumer_breaker_pause_seconds": 0.3,
            "consumer_breaker_max_pause_seconds": 1.0,
        }
    )


async def test_a_mail_server_outage_pauses_the_consumer_and_loses_nothing(
    settings: Settings,
    publisher: EventPublisher,
    mail_port: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = _outage_settings(settings, mail_port)
    events = [completed() for _ in range(12)]
    handler = CountingMailServer(tmp_path / "mail")
    controller = Controller(handler, hostname="127.0.0.1", port=mail_port, enable_SMTPUTF8=True)
    async with running_consumers(settings, names=[notifications.NAME]):
        for event in events[:6]:
            await publisher.publish(event)
        await until(lambda: _breaker() == 2, within=10, what="breaker open")
        for event in events[6:]:
            await publisher.publish(event)
        await asyncio.sleep(4)  # several probes fail meanwhile
        assert await list_dead_letters(runtime_options(settings), notifications.NAME) == []
        queue = runtime_options(settings).topology.queue(notifications.NAME)
        assert await consumer_count(settings, queue) == 0  # paused: the events wait there
        assert await show_status(settings, [notifications.NAME]) == 0
        during = capsys.readouterr().out

        controller.start()
        try:
            await until(lambda: len(handler.received) == len(events), within=20, what="every email")
            await until(lambda: _breaker() == 0, what="breaker closed")
            await asyncio.sleep(1)  # a duplicate would arrive meanwhile
            assert await show_status(settings, [notifications.NAME]) == 0
            after = capsys.readouterr().out
        finally:
            controller.stop()

    assert handler.received == Counter(
        {file_name(f"Message-ID: <{e.event_id}@events.podium>".encode()): 1 for e in events}
    )
    assert await list_dead_letters(runtime_options(settings), notifications.NAME) == []
    assert " open since " in during, during
    assert " closed since " in after, after
    line = next(x for x in after.splitlines() if x.startswith(notifications.NAME))
    assert line.split()[1:4] == ["0", "0", "0"]  # queued, retrying, dead
    assert state_file.read_all(settings.data_dir) == []  # removed on stop


async def test_a_recipient_refused_for_good_is_dead_lettered_at_once_and_the_breaker_stays_closed(
    settings: Settings, publisher: EventPublisher, mail_port: int, tmp_path: Path
) -> None:
    settings = _outage_settings(settings, mail_port)
    handler = CountingMailServer(tmp_path / "mail")
    controller = Controller(handler, hostname="127.0.0.1", port=mail_port, enable_SMTPUTF8=True)
    controller.start()
    ghosts = [completed(email=f"ghost@example{i}.com") for i in range(4)]
    good = completed()
    try:
        async with running_consumers(settings, names=[notifications.NAME]):
            for event in [*ghosts, good]:
                await publisher.publish(event)
            dead = await dead_letters(settings, notifications.NAME, len(ghosts))
            await until(lambda: len(handler.received) == 1, what="the good email")
            assert _breaker() == 0
    finally:
        controller.stop()
    assert sorted(d.message_id or "" for d in dead) == sorted(e.event_id for e in ghosts)
    assert all(d.attempts == 0 for d in dead)
    assert all("SMTPRecipientsRefused" in d.reason and "550" in d.reason for d in dead)


async def test_a_lone_event_during_an_outage_is_kept_not_dead_lettered(
    settings: Settings, publisher: EventPublisher, mail_port: int, tmp_path: Path
) -> None:
    # A quiet queue: one event, far fewer failures than the threshold, but it finds the mail
    # server down on every rung of its ladder. That opens the breaker instead of dead-lettering.
    settings = _outage_settings(settings, mail_port).model_copy(
        update={"consumer_breaker_threshold": 50}
    )
    handler = CountingMailServer(tmp_path / "mail")
    controller = Controller(handler, hostname="127.0.0.1", port=mail_port, enable_SMTPUTF8=True)
    event = completed()
    async with running_consumers(settings, names=[notifications.NAME]):
        await publisher.publish(event)
        await until(lambda: _breaker() == 2, within=10, what="breaker open")
        await asyncio.sleep(1.5)
        assert await list_dead_letters(runtime_options(settings), notifications.NAME) == []
        controller.start()
        try:
            await until(lambda: len(handler.received) == 1, within=10, what="the email")
        finally:
            controller.stop()
    assert await list_dead_letters(runtime_options(settings), notifications.NAME) == []


@pytest.mark.restartable
async def test_a_paused_consumer_survives_a_broker_restart_and_resumes(
    settings: Settings, publisher: EventPublisher, mail_port: int, tmp_path: Path, stack: LocalStack
) -> None:
    settings = _outage_settings(settings, mail_port)
    handler = CountingMailServer(tmp_path / "mail")
    controller = Controller(handler, hostname="127.0.0.1", port=mail_port, enable_SMTPUTF8=True)
    events = [completed() for _ in range(5)]
    async with running_consumers(settings, names=[notifications.NAME]):
        for event in events:
            await publisher.publish(event)
        await publisher.close()
        await until(lambda: _breaker() == 2, within=10, what="breaker open")
        await asyncio.to_thread(stack.rabbitmq.stop)
        await asyncio.sleep(1)  # probes fail: the channel is gone
        await asyncio.to_thread(stack.rabbitmq.start)
        controller.start()
        try:
            await until(lambda: len(handler.received) == 5, within=40, what="every email")
        finally:
            controller.stop()
    assert set(handler.received.values()) == {1}
    assert await list_dead_letters(runtime_options(settings), notifications.NAME) == []
