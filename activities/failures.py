"""How a service's business refusal becomes a Temporal failure the workflow can act on."""

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from services.errors import BusinessError


@contextmanager
def business_errors_as_failures() -> Iterator[None]:
    """Turn a BusinessError into a non-retryable ApplicationError typed by its class name.

    Anything else (a locked database, a gateway time-out) propagates unchanged and is
    retried by the activity's retry policy. A refusal is benign: the worker logs it at DEBUG,
    without the WARNING and traceback of a failed activity, and counts no failure metric.
    """
    try:
        yield
    except BusinessError as err:
        raise ApplicationError(
            str(err),
            err.code,
            type=type(err).__name__,
            non_retryable=True,
            category=ApplicationErrorCategory.BENIGN,
        ) from err
