"""The notifications consumer sends its emails over one SMTP session, counted at the server."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from activities.publisher import EventPublisher
from consumers.mailer import MailOptions
from consumers.mailer import Session as MailSession
from infra.mailserver import StoreToFolder, stored_emails
from infra.stack.ports import free_port
from tests.support.consumers import completed, count, dead_letters, store_of
from tests.support.waits import until
from workers.bootstrap import registered, running_consumers
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration

REFUSED = "gone@example.com"


class CountingServer(StoreToFolder):
    """The stack's debugging mail server, counting sessions (EHLO) and their ends (QUIT), and
    refusing one address as a real server refuses an unknown mailbox."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.sessions = 0
        self.quits = 0

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname  # what the server does itself without this hook
        return responses

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.quits += 1
        return "221 Bye"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def _serving(handler: CountingServer, **smtp: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True, **smtp)
    controller.start()
    return controller, port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[CountingServer, int]]:
    handler = CountingServer(tmp_path / "counted-mail")
    controller, port = _serving(handler)
    try:
        yield handler, port
    finally:
        controller.stop()


async def test_many_emails_share_one_session_and_a_refused_address_dead_letters_alone(
    settings: Settings, publisher: EventPublisher, server: tuple[CountingServer, int]
) -> None:
    handler, port = server
    settings = settings.model_copy(update={"smtp_port": port})
    consumer = registered(settings, ["notifications"])[0]
    store = store_of(settings, consumer)
    events = [completed() for _ in range(12)]
    refused = completed(email=REFUSED)
    async with running_consumers(settings, names=["notifications"]):
        for event in [*events[:6], refused, *events[6:]]:
            await publisher.publish(event)
        dead = await dead_letters(settings, "notifications", 1, within=10)
        await until(
            lambda: count(store, "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL") == 12,
            what="12 emails sent",
        )
        assert handler.quits == 0  # still open while the consumer runs
    assert [d.message_id for d in dead] == [refused.event_id]
    assert "550" in dead[0].reason
    assert len(stored_emails(handler.folder)) == 12
    assert handler.sessions == 1
    assert handler.quits == 1  # closed on shutdown


async def test_a_session_reconnects_when_the_server_dropped_it_and_closes_when_idle(
    tmp_path: Path,
) -> None:
    handler = CountingServer(tmp_path / "mail")
    controller, port = _serving(handler, timeout=0.3)  # the server drops idle sessions fast
    try:
        session = MailSession(MailOptions(port=port, idle_seconds=60))
        await session.send("ada@example.com", b"Subject: one\r\n\r\nfirst\r\n")
        await asyncio.sleep(0.8)  # dropped by the server meanwhile
        await session.send("ada@example.com", b"Subject: two\r\n\r\nsecond\r\n")
        assert handler.sessions == 2
        session.close()

        idle = MailSession(MailOptions(port=port, idle_seconds=0.1))
        await idle.send("ada@example.com", b"Subject: three\r\n\r\nthird\r\n")
        await until(lambda: handler.quits == 2, what="the idle session's QUIT")
        idle.close()
    finally:
        controller.stop()
    assert handler.sessions == 3
