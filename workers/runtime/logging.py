"""structlog, configured once per process: JSON when not on a terminal, readable on one.

Both structlog's lines and the standard library's (the Temporal SDK, aio-pika) end in one
`ProcessorFormatter`, so the context, trace ids and redaction below apply to every line.

Long-running processes (`podium worker`, `podium consumers`, the demo) log off the event loop:
the emitting thread only takes what it alone knows (the context variables, the current span,
the time) and hands the record to a writer thread, which redacts, renders and writes it. The
hand-off is bounded: a writer that falls behind by `MAX_QUEUED` lines slows the emitters down
instead of growing without end, and every queued line is written before the process exits.
"""

import atexit
import logging
import logging.handlers
import queue
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import structlog
from opentelemetry import trace
from pydantic import BaseModel
from structlog.types import EventDict, Processor

from contracts.order import order_id_from_workflow_id
from contracts.scrub import MAX_FIELD, REDACTED, bound, clean
from workers.runtime.private_files import private_dir
from workers.runtime.redaction import redact_urls

PERSONAL_KEYS = frozenset(
    {
        "email",
        "recipient",
        "shipping_address",
        "address",
        "payment_token",
        "token",
        "name",
        "line1",
        "line2",
        "postal_code",
        "city",
    }
)
MAX_ITEMS = 50  # of a logged list or mapping; the rest is summarised
MAX_EXCEPTION = 8_000  # a formatted traceback keeps more than other fields
MAX_QUEUED = 10_000  # lines handed to the writer thread and not written yet
# What the emitting thread of a standard-library line knew (its context, span and time).
_EMITTED = "podium_emitted"
_TEMPORAL_EXTRAS = ("temporal_activity", "temporal_workflow")


class CurrentStderr(logging.StreamHandler):
    """A stream handler writing to whatever `sys.stderr` is at each line, not the one it was
    made with: once that one is swapped and closed (a redirect, a test's capture), later lines
    from any thread would each print a "Logging error" traceback instead."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class _HandOff(logging.handlers.QueueHandler):
    """Hands each record to the writer thread as it is, with what only this thread knows."""

    def __init__(self, lines: "queue.Queue[logging.LogRecord]") -> None:
        super().__init__(lines)
        self.lines = lines

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not isinstance(record.msg, dict):  # a standard-library line, not structlog's
            record.msg, record.args = record.getMessage(), None
            emitted: EventDict = {}
            structlog.contextvars.merge_contextvars(None, "", emitted)
            add_trace_context(None, "", emitted)
            setattr(record, _EMITTED, emitted)
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        self.lines.put(record)  # blocks while the writer is MAX_QUEUED lines behind


class _Writer:
    """The writer thread of the off-loop hand-off, and the one place that stops it."""

    listener: logging.handlers.QueueListener | None = None
    lock = threading.Lock()

    @classmethod
    def start(cls, handler: logging.Handler) -> logging.Handler:
        lines: queue.Queue[logging.LogRecord] = queue.Queue(MAX_QUEUED)
        with cls.lock:
            cls.listener = logging.handlers.QueueListener(lines, handler)
            cls.listener.start()
        return _HandOff(lines)

    @classmethod
    def stop(cls) -> None:
        """Write every line handed off so far, then stop the thread."""
        with cls.lock:
            listener, cls.listener = cls.listener, None
        if listener is not None:
            listener.stop()


def flush_logging() -> None:
    """Write every line logged so far and stop the writer thread, when there is one (lines
    logged after this are written by the emitting thread, to the same place)."""
    listener = _Writer.listener
    if listener is not None:
        root = logging.getLogger()
        writing = listener.handlers[0]
        root.handlers[:] = [writing if isinstance(h, _HandOff) else h for h in root.handlers]
    _Writer.stop()


atexit.register(flush_logging)


def configure_logging(
    level: str = "INFO", fmt: str = "auto", file: Path | None = None, *, off_loop: bool = False
) -> None:
    """Route structlog and the standard library's logging to stderr, or to `file` (as JSON);
    `off_loop`: through a writer thread (see above)."""
    flush_logging()  # a writer thread of an earlier configuration finishes its lines
    json_output = file is not None or fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    structlog.configure(
        processors=[*shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler: logging.Handler
    if file is None:
        handler = CurrentStderr()
    else:
        private_dir(file.parent)
        file.touch(mode=0o600)
        handler = logging.FileHandler(file)
    handler.setFormatter(formatter(json_output))
    root = logging.getLogger()
    root.handlers[:] = [_Writer.start(handler) if off_loop else handler]
    root.setLevel(level.upper())
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    # It logs a failed connect as an error and then raises it: the caller reports it once.
    logging.getLogger("aiormq.connection").setLevel(logging.CRITICAL)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)


def shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_trace_context,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def final_processors() -> list[Processor]:
    """What runs on every event dict, structlog's or stdlib's, just before rendering."""
    return [
        structlog.processors.StackInfoRenderer(),
        # Exceptions become text here, on a terminal too, so redaction sees their messages.
        structlog.processors.format_exc_info,
        redact_personal_data,
    ]


def formatter(json_output: bool) -> structlog.stdlib.ProcessorFormatter:
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer()
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            add_emitted_context,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            add_temporal_ids,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *final_processors(),
            renderer,
        ],
    )


def add_emitted_context(logger: object, name: str, event_dict: EventDict) -> EventDict:
    """A standard-library line's context variables, span and time: as its emitting thread
    took them when the line was handed off, else (formatted in that thread) as they are now."""
    record = event_dict.get("_record")
    emitted = getattr(record, _EMITTED, None)
    if emitted is not None:
        delattr(record, _EMITTED)  # taken here, not left for ExtraAdder to print
    if emitted is None:
        structlog.contextvars.merge_contextvars(logger, name, event_dict)
        add_trace_context(logger, name, event_dict)
    else:
        for key, value in emitted.items():
            event_dict.setdefault(key, value)
    if isinstance(record, logging.LogRecord):
        at = datetime.fromtimestamp(record.created, tz=UTC)
        event_dict["timestamp"] = at.isoformat().replace("+00:00", "Z")
    return event_dict


def add_trace_context(logger: object, name: str, event_dict: EventDict) -> EventDict:
    """trace_id and span_id of the current OpenTelemetry span, when there is a recording one."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


def add_temporal_ids(logger: object, name: str, event_dict: EventDict) -> EventDict:
    """Lift workflow_id, run_id and order_id out of the Temporal SDK's `extra` dicts.

    The SDK's own lines (an activity completing as failed, a workflow task failing) are logged
    outside our context binding, but always carry the workflow's identity in these dicts.
    """
    for key in _TEMPORAL_EXTRAS:
        details = event_dict.get(key)
        if isinstance(details, Mapping) and "workflow_id" in details:
            workflow_id = str(details["workflow_id"])
            event_dict.setdefault("workflow_id", workflow_id)
            event_dict.setdefault("run_id", details.get("run_id") or details.get("workflow_run_id"))
            if (order_id := order_id_from_workflow_id(workflow_id)) is not None:
                event_dict.setdefault("order_id", order_id)
    return event_dict


def redact_personal_data(logger: object, name: str, event_dict: EventDict) -> EventDict:
    """Bound every field, then mask personal data: values of personal keys, and email
    addresses, payment tokens and passwords in URLs inside any text (the message and exception
    text included).
    Both steps are linear in the size of the (already bounded) text."""
    return {
        key: _redact(key, value, MAX_EXCEPTION if key == "exception" else MAX_FIELD)
        for key, value in event_dict.items()
    }


def _redact(key: str, value: Any, limit: int = MAX_FIELD) -> Any:
    if key in PERSONAL_KEYS and value is not None:
        return REDACTED
    if isinstance(value, str):
        return _text(value, limit)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, Mapping):
        items = list(value.items())
        kept = {bound(str(k), 200): _redact(bound(str(k), 200), v) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            kept["..."] = f"{len(items) - MAX_ITEMS} more"
        return kept
    if isinstance(value, list | tuple | set | frozenset):
        values = list(value)
        kept_list = [_redact("", v) for v in values[:MAX_ITEMS]]
        if len(values) > MAX_ITEMS:
            kept_list.append(f"... {len(values) - MAX_ITEMS} more")
        return kept_list
    # Anything else is rendered through str() or repr() anyway: scrub that text.
    return _text(str(value), limit)


def _text(text: str, limit: int) -> str:
    """Bounded and scrubbed, passwords in URLs masked (over the part that can still be shown:
    a masked password is never cut in half)."""
    cut = limit + 1024  # past the longest `user:password@` the URL pattern matches
    return clean(redact_urls(text[:cut]) + text[cut:], limit)
