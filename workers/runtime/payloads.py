"""The payload converter of every Podium client and worker: pydantic, refusing bad input for good.

The SDK decodes a workflow's input before any of our code runs. With the plain pydantic
converter a value that does not validate raises there, which fails the *workflow task*: the
server retries it forever, the run never ends and no worker seems to answer. Raised as a
non-retryable `ApplicationError` instead, the SDK fails the run itself at once (and refuses an
update, fails a query, fails an activity attempt) with a one-line reason.
"""

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from contracts.problems import describe, one_line

INVALID_INPUT = "InvalidInput"
# Put in place of a workflow's arguments when their count is wrong (workers/runtime/arguments.py).
WRONG_ARGUMENTS = b"podium/wrong-arguments"


def invalid_input(reason: str) -> ApplicationError:
    return ApplicationError(reason, type=INVALID_INPUT, non_retryable=True)


class ValidatingPayloadConverter(PydanticPayloadConverter):
    """Pydantic JSON, with anything undecodable or invalid refused as `InvalidInput`."""

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        for payload in payloads:
            if payload.metadata.get("encoding") == WRONG_ARGUMENTS:
                raise invalid_input(payload.data.decode(errors="replace"))
        try:
            values = super().from_payloads(payloads, type_hints)
        except ValidationError as err:
            # `from None`: the pydantic error quotes the input (customer data) at length.
            raise invalid_input(describe(err)) from None
        except (KeyError, RuntimeError, ValueError, UnicodeDecodeError) as err:
            raise invalid_input(f"invalid input: {one_line(err, 200)}") from None
        for index, (value, hint) in enumerate(zip(values, type_hints or [], strict=False)):
            # Other encodings (binary/null, binary/plain) decode without looking at the type.
            if _is_model(hint) and not isinstance(value, hint):
                raise invalid_input(
                    f"invalid input: argument {index} must be a {hint.__name__} JSON object, "
                    f"not {type(value).__name__}"
                )
        return values


def _is_model(hint: object) -> bool:
    return isinstance(hint, type) and issubclass(hint, BaseModel)


# Without payload encryption; workers/runtime/codec.py adds it when keys are configured.
PLAIN_CONVERTER = DataConverter(payload_converter_class=ValidatingPayloadConverter)
