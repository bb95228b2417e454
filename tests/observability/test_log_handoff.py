"""Long-running processes log off the event loop: the emitting thread hands each line to a
writer thread with its context, span and time taken at once; the writer redacts, renders and
writes; nothing is lost when the process ends, and a lagging writer slows emitters down instead
of queueing without bound."""

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from workers.runtime import logging as podium_logging
from workers.runtime.logging import configure_logging, flush_logging


@pytest.fixture
def handed_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The process's logging configured off the loop, as `podium worker` does, into a file."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # restored afterwards
    monkeypatch.setattr(root, "level", root.level)
    kept = structlog.get_config()
    file = tmp_path / "podium.log"
    configure_logging("INFO", "json", file=file, off_loop=True)
    yield file
    flush_logging()
    structlog.configure(**kept)


def lines(file: Path) -> list[dict[str, Any]]:
    flush_logging()
    return [json.loads(line) for line in file.read_text().splitlines()]


def test_the_emitting_thread_writes_nothing_itself(handed_off: Path) -> None:
    writer = podium_logging._Writer.listener
    assert writer is not None
    written_by: list[str] = []
    real = writer.handlers[0]
    original = real.emit
    real.emit = lambda record: (
        written_by.append(threading.current_thread().name),
        original(record),
    )  # type: ignore[method-assign]
    structlog.get_logger("podium.test").info("handled", order_id="ord-1")
    logging.getLogger("temporalio.test").warning("from the SDK")
    assert [line["event"] for line in lines(handed_off)] == ["handled", "from the SDK"]
    assert written_by and threading.current_thread().name not in written_by


def test_a_standard_library_line_keeps_the_context_span_and_time_of_its_thread(
    handed_off: Path,
) -> None:
    tracer = TracerProvider().get_tracer("test")
    structlog.contextvars.bind_contextvars(order_id="ord-42")
    try:
        with tracer.start_as_current_span("charge") as span:
            logging.getLogger("temporalio.test").info("activity %s done", "charge_payment")
            expected_trace = format(span.get_span_context().trace_id, "032x")
    finally:
        structlog.contextvars.clear_contextvars()
    # Written later, by another thread, which has neither that context nor that span.
    [line] = lines(handed_off)
    assert line["event"] == "activity charge_payment done"
    assert line["order_id"] == "ord-42" and line["trace_id"] == expected_trace
    assert line["level"] == "info" and line["logger"] == "temporalio.test"
    assert line["timestamp"].endswith("Z") and "podium_emitted" not in line
    assert trace.get_current_span().get_span_context().is_valid is False


def test_personal_data_is_still_masked_and_exceptions_rendered(handed_off: Path) -> None:
    log = logging.getLogger("aio_pika.test")
    try:
        raise ValueError("token tok_visa_4242 for ada@example.com")
    except ValueError:
        log.error("failed", exc_info=True)
    structlog.get_logger("podium.test").info("sent", email="ada@example.com")
    text = json.dumps(lines(handed_off))
    assert "ada@example.com" not in text and "ValueError" in text


def test_lines_from_many_threads_all_arrive_each_threads_in_order(handed_off: Path) -> None:
    def emit(name: str) -> None:
        log = structlog.get_logger("podium.test")
        for number in range(500):
            log.info("line", thread=name, number=number)

    threads = [threading.Thread(target=emit, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = lines(handed_off)
    assert len(got) == 2000
    for i in range(4):
        assert [g["number"] for g in got if g["thread"] == f"t{i}"] == list(range(500))


def test_a_writer_that_lags_blocks_emitters_at_the_bound_and_loses_nothing(
    handed_off: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = podium_logging._Writer.listener
    assert writer is not None
    gate = threading.Event()
    real = writer.handlers[0]
    original = real.emit

    def slow(record: logging.LogRecord) -> None:
        gate.wait(10)
        original(record)

    real.emit = slow  # type: ignore[method-assign]
    bound = podium_logging.MAX_QUEUED
    sent = threading.Event()

    def emit() -> None:
        log = structlog.get_logger("podium.test")
        for number in range(bound + 10):
            log.info("line", number=number)
        sent.set()

    emitter = threading.Thread(target=emit)
    emitter.start()
    assert not sent.wait(1.0)  # held at the bound: the queue does not grow past it
    gate.set()
    emitter.join(30)
    assert sent.is_set()
    assert [g["number"] for g in lines(handed_off)] == list(range(bound + 10))


def test_every_line_is_written_before_the_process_exits() -> None:
    program = (
        "import logging, structlog\n"
        "from workers.runtime.logging import configure_logging\n"
        "configure_logging('INFO', 'json', off_loop=True)\n"
        "log = structlog.get_logger('podium.test')\n"
        "for n in range(3000): log.info('line', number=n)\n"
        "logging.getLogger('temporalio').warning('last')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    written = [json.loads(line) for line in done.stderr.splitlines()]
    assert [w.get("number") for w in written[:-1]] == list(range(3000))
    assert written[-1]["event"] == "last"
