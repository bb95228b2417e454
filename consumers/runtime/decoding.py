"""Turns a message body into an event the consumer understands, or says why it cannot."""

import json
from typing import Any

from pydantic import ValidationError

from consumers.runtime.definition import KNOWN_EVENTS, Consumer, event_class
from consumers.runtime.outcomes import DeadLetter


def check_identity(message_id: str | None, event_id: str) -> None:
    """The id the broker carries and the id in the body must be one: duplicates are recognised
    by it, so a message whose two ids disagree could pass for another event (or dodge being
    recognised as a repeat). Refused as forged."""
    if message_id != event_id:
        raise DeadLetter(
            f"forged: message_id {_short(message_id)} does not match event_id {_short(event_id)}"
        )


def _short(value: str | None) -> str:
    return "(none)" if value is None else repr(value[:100])


def decode(body: bytes, consumer: Consumer) -> Any:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DeadLetter(f"body is not JSON: {err}") from err
    except RecursionError:
        raise DeadLetter("body is not JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise DeadLetter("body is not a JSON object")
    event_type, version = data.get("type"), data.get("version")
    cls = consumer.understands(event_type, version)
    if cls is None:
        known = event_class(KNOWN_EVENTS, event_type, version) is not None
        what = "not understood by this consumer" if known else "unknown"
        raise DeadLetter(f"event {event_type!r} version {version!r} is {what}")
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        raise DeadLetter(f"schema mismatch for {event_type} v{version}: {err}") from err
