"""`--json`: a read command's answer as one JSON document on stdout, for scripts.

The keys are stable and documented in the README; money stays a decimal string, times are
ISO 8601 in UTC. The text views print the same data for a person.
"""

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel


def add_json_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout instead of text"
    )


def data(model: BaseModel) -> dict[str, Any]:
    """A contract as JSON-ready data (Decimal as a string, datetimes as ISO text)."""
    return model.model_dump(mode="json")


def emit(document: Mapping[str, Any] | list[Any]) -> None:
    json.dump(document, sys.stdout, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()
