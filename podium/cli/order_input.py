"""Reading an order from a JSON file or from command-line flags, with one-line errors."""

import json
from typing import Any

from pydantic import ValidationError

from contracts.order import OrderRequest
from contracts.problems import describe
from podium.cli.bounded_read import ReadRefused, read_bounded

MAX_ORDER_BYTES = 64 * 1024
# A FIFO, pipe or device named by --file gets this long to deliver the order.
READ_TIMEOUT_SECONDS = 10.0

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
    if len(text.encode(errors="surrogatepass")) > MAX_ORDER_BYTES:
        raise BadOrder(f"order is larger than {MAX_ORDER_BYTES // 1024} KiB")
    try:
        data = json.loads(text, parse_float=str)  # keep prices exact: never via float
    except json.JSONDecodeError as err:
        raise BadOrder(
            f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}"
        ) from None
    except RecursionError:
        raise BadOrder("not valid JSON: nested too deeply") from None
    except ValueError:  # an integer of thousands of digits, refused by int() itself
        raise BadOrder("not valid JSON: a number is too long") from None
    return order_from_dict(data)


def order_from_bytes(data: bytes, source: str) -> OrderRequest:
    if len(data) > MAX_ORDER_BYTES:
        raise BadOrder(f"{source} is larger than {MAX_ORDER_BYTES // 1024} KiB")
    if not data.strip():
        raise BadOrder(f"{source} is empty")
    try:
        text = data.decode("utf-8-sig")  # strict: no guessing at other encodings
    except UnicodeDecodeError:
        raise BadOrder(f"{source} is not UTF-8 text") from None
    return order_from_json(text)


def order_from_file(path: str) -> OrderRequest:
    """A regular file, or a pipe, FIFO or device, read up to just past the size limit."""
    return order_from_bytes(_read(path), path)


def order_from_stdin() -> OrderRequest:
    return order_from_bytes(_read(None), "standard input")


def _read(path: str | None) -> bytes:
    try:
        return read_bounded(path, MAX_ORDER_BYTES, READ_TIMEOUT_SECONDS)
    except ReadRefused as err:
        raise BadOrder(str(err)) from None


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
