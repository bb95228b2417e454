"""How an activity's failure reads in the order's records."""

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.policies import BUSINESS_ERRORS

with workflow.unsafe.imports_passed_through():
    from contracts.order import Failure

# How a step's failure reaches the workflow: a regular activity's wrapped in ActivityError, a
# local activity's refusal or last retry as the bare ApplicationError (its time-outs still come
# wrapped). Both kinds must compensate alike.
STEP_FAILED = (ActivityError, ApplicationError)


def business_failure(err: BaseException) -> Failure | None:
    """The service's refusal behind `err`, or None when the step failed for another reason."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ApplicationError) and cause.type in BUSINESS_ERRORS:
        code = str(cause.details[0]) if cause.details else str(cause.type)
        return Failure(code=code, message=cause.message)
    return None


def describe(err: BaseException) -> str:
    cause = err.__cause__ or getattr(err, "cause", None)
    return str(cause or err)
