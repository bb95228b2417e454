"""A reviewer's decision on an order held for manual review, as the `approve` and `reject`
updates take it: bounded, one line each, since it is shown in the UI and logged."""

from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

from contracts.order import Contract

MAX_REASON = 500


def _one_printable_line(text: str) -> str:
    # str.isprintable refuses every control, line or paragraph separator and format character
    # (bidirectional overrides too): nothing in a reason can break a log line or the UI's story.
    if not text.isprintable():
        raise ValueError("must be one line of printable characters")
    return text


Reviewer = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")]
# The length bound applies before the printable check runs.
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON),
    AfterValidator(_one_printable_line),
]


class ReviewDecision(Contract):
    reviewer: Reviewer
    reason: Reason


class Reviewed(Contract):
    """The update's answer: the decision is recorded; the order carries on from it."""

    order_id: str
    decision: Literal["approved", "rejected"]
    reviewer: str
