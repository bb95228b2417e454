"""A reviewer's decision on an order held for manual review, as the `approve` and `reject`
updates take it: bounded, one line each, since it is shown in the UI and logged."""

from typing import Annotated, Literal

from pydantic import StringConstraints

from contracts.order import Contract

# Printable text on one line: no control characters (newlines, escapes) reach a log or the UI.
_ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
MAX_REASON = 500

Reviewer = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")]
Reason = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_REASON, pattern=_ONE_LINE
    ),
]


class ReviewDecision(Contract):
    reviewer: Reviewer
    reason: Reason


class Reviewed(Contract):
    """The update's answer: the decision is recorded; the order carries on from it."""

    order_id: str
    decision: Literal["approved", "rejected"]
    reviewer: str
