"""Fault injection on the real stack: the integration session's Temporal dev server and
RabbitMQ node, plus per-test isolation (own exchange, consumer queues, databases, mail server)."""

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra import mailserver
from tests.integration.conftest import (  # noqa: F401
    amqp_channel,
    event_tap,
    settings,
    stack,
    stack_info,
    temporal,
)
from workers.runtime.settings import Settings

# Lines the tests want shown after the run whatever the capture mode (the soak's counts).
SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARY:
        terminalreporter.section("fault injection")
        for line in SUMMARY:
            terminalreporter.write_line(line)


@dataclass(frozen=True)
class Mail:
    port: int
    folder: Path


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[Mail]:
    """A debugging SMTP server in this process, storing into the test's own folder."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = tmp_path / "mail"
    controller = mailserver.start(folder, port)
    try:
        yield Mail(port, folder)
    finally:
        controller.stop()


@pytest.fixture
def fault_settings(settings: Settings, mail: Mail, tmp_path: Path) -> Settings:  # noqa: F811
    """The test's settings with its own exchange and consumer queues, so no other test's
    events reach this test's consumers, and quick consumer retries and reconnects."""
    uid = uuid.uuid4().hex[:8]
    return Settings(
        **{
            **settings.model_dump(),
            "exchange": f"orders-{uid}",
            "consumer_queue_prefix": f"f{uid}",
            "consumer_retry_delays_ms": [200, 400],
            "consumer_reconnect_interval_seconds": 0.5,
            "consumer_shutdown_timeout_seconds": 10,
            "smtp_port": mail.port,
            "mail_dir": mail.folder,
            "metrics_port": 0,
            "consumer_metrics_port": 0,
            "trace_file": tmp_path / "spans.jsonl",
        },
        _env_file=None,
    )
