"""An order's answer and status as `--json` documents, and times as a person reads them.

The documents' keys (README, "JSON output"): an answer or result is the contract's own fields
plus `ui_url`; a status is the order's status fields plus `run_status`, `current` and `ui_url`.
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from podium.cli.output import data

if TYPE_CHECKING:
    from contracts.order import Confirmation, OrderResult
    from podium.cli.progress import Look


def dated(at: datetime) -> str:
    """A time in the local zone and in UTC, each with its date: `2026-03-01 15:30:00.123 CET =
    2026-03-01 14:30:00.123 UTC`."""
    local = at.astimezone()
    return f"{_stamp(local)} {local.tzname()} = {_stamp(at.astimezone(UTC))} UTC"


def _stamp(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond // 1000:03d}"


def answer_json(answer: "Confirmation | OrderResult", ui_url: str) -> dict[str, Any]:
    return {**data(answer), "ui_url": ui_url}


def status_json(
    order_id: str, look: "Look", ui_url: str, known: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What `podium status --json` prints, always with the same keys. Without a worker to
    answer the status query, the order's fields are what the server `known`s of a finished run
    (null while it runs) and `steps` is empty."""
    from contracts.order import OrderStatus

    fields: dict[str, Any] = dict.fromkeys(OrderStatus.model_fields)
    fields.update(order_id=order_id, steps=[])
    if look.status is not None:
        fields.update(data(look.status))
    fields.update((k, v) for k, v in (known or {}).items() if k in OrderStatus.model_fields)
    return {
        **fields,
        "run_status": look.run_status,
        "current": look.current.as_json(),
        "ui_url": ui_url,
    }
