"""Reading an order from a JSON file or from command-line flags, with one-line errors."""

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contracts.order import OrderRequest
from contracts.problems import describe

MAX_ORDER_BYTES = 64 * 1024

SAMPLE_ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


class BadOrder(ValueError):
    """The input is not a valid order; the message says why, in one line."""


def order_from_json(text: str) -> OrderRequest:
    if len(text.encode()) > MAX_ORDER_BYTES:
        raise BadOrder(f"order is larger than {MAX_ORDER_BYTES // 1024} KiB")
    try:
        data = json.loads(text, parse_float=str)  # keep prices exact: never via float
    except json.JSONDecodeError as err:
        raise BadOrder(
            f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}"
        ) from None
    except RecursionError:
        raise BadOrder("not valid JSON: nested too deeply") from None
    return order_from_dict(data)


def order_from_file(path: str) -> OrderRequest:
    file = Path(path)
    try:
        if file.stat().st_size > MAX_ORDER_BYTES:
            raise BadOrder(f"{path} is larger than {MAX_ORDER_BYTES // 1024} KiB")
        return order_from_json(file.read_text())
    except OSError as err:
        raise BadOrder(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise BadOrder(f"{path} is not UTF-8 text") from None


def order_from_dict(data: Any) -> OrderRequest:
    if not isinstance(data, dict):
        raise BadOrder("an order must be a JSON object")
    try:
        return OrderRequest.model_validate(data)
    except ValidationError as err:
        raise BadOrder(describe(err, "order")) from None


def parse_item(text: str) -> dict[str, str]:
    """`SKU:QUANTITY:UNIT_PRICE`, e.g. `MUG-BLUE:2:12.50`."""
    parts = text.split(":")
    if len(parts) != 3:
        raise BadOrder(f"item {text!r} must look like SKU:QUANTITY:UNIT_PRICE")
    sku, quantity, price = parts
    return {"sku": sku, "quantity": quantity, "unit_price": price}
