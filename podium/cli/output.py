"""`--json`: a read command's answer as one JSON document on stdout, for scripts.

The keys are stable and documented in the README; money stays a decimal string, times are
ISO 8601 in UTC. The text views print the same data for a person.
"""

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel


def add_json_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout instead of text"
    )


def data(model: BaseModel) -> dict[str, Any]:
    """A contract as JSON-ready data (Decimal as a string, datetimes as ISO text)."""
    return model.model_dump(mode="json")


def utc(timestamp: float) -> str:
    """A Unix time as ISO 8601 in UTC."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def emit(document: Mapping[str, Any] | list[Any]) -> None:
    # ASCII only: text from outside (dead letters' bodies and reasons) can hold terminal
    # control characters, which JSON escapes only below U+0020.
    json.dump(document, sys.stdout, ensure_ascii=True, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()
