"""Fault injection on the real stack: the session's Temporal dev server and RabbitMQ node, with
per-test isolation (own exchange, consumer queues, databases, mail server)."""

from pathlib import Path

import pytest

from tests.support.databases import BACKENDS, on_postgres
from tests.support.servers import Mail, quick_consumers
from workers.runtime.settings import Settings

# Lines the tests want shown after the run whatever the capture mode (the soak's counts).
SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARY:
        terminalreporter.section("fault injection")
        for line in SUMMARY:
            terminalreporter.write_line(line)


@pytest.fixture(params=BACKENDS)
def fault_settings(
    settings: Settings, mail: Mail, tmp_path: Path, request: pytest.FixtureRequest
) -> Settings:
    """The test's settings (own exchange and consumer queues, so no other test's events reach
    its consumers) with quick consumer retries and reconnects and its own mail server. Every
    fault test runs twice: the services and consumer stores on SQLite files, then in fresh
    schemas of the session's PostgreSQL (a test meant for one backend parametrises
    `fault_settings` indirectly with it)."""
    quick = quick_consumers(settings, mail).model_copy(
        update={
            "metrics_port": 0,
            "consumer_metrics_port": 0,
            "trace_file": tmp_path / "spans.jsonl",
        }
    )
    if request.param == "postgresql":
        return on_postgres(quick, request.getfixturevalue("postgres_url"))
    return quick
