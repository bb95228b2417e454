"""How a handler tells the runtime what to do with a message it could not handle.

Any other exception is treated like `RetryLater`: unexpected failures are assumed transient.
"""


class RetryLater(Exception):
    """Transient failure: retry after the next delay, dead-letter when retries run out."""


class DeadLetter(Exception):
    """Permanent failure: move the message to the consumer's dead-letter queue now."""
