"""How a handler tells the runtime what to do with a message it could not handle, and how the
runtime classifies any other exception (`classify`).

- permanent: dead-lettered at once with the reason (retrying cannot help);
- unavailable: a dependency is down or too slow; retried, and counted by the circuit breaker,
  which stops consuming during an outage instead of burning events through their retries;
- transient: anything else unexpected (a bug, most likely), and a handler over the runtime's
  time limit (a poison message may cause it as well as a slow dependency, whose own timeouts
  count as unavailable); retried, dead-lettered when the retries run out, and not taken as a
  sign of an outage.
"""

import smtplib
import sqlite3
from enum import StrEnum

import psycopg
from pydantic import ValidationError


class RetryLater(Exception):
    """A dependency is busy or down: retry after the next delay (counts toward the breaker)."""


class DeadLetter(Exception):
    """Permanent failure: move the message to the consumer's dead-letter queue now."""


class HandlerTimedOut(Exception):
    """Raised by the runtime for a handler over its time limit (deliberately not a TimeoutError,
    which says a dependency timed out)."""


class Kind(StrEnum):
    PERMANENT = "permanent"
    UNAVAILABLE = "unavailable"
    TRANSIENT = "transient"


def classify(err: BaseException) -> Kind:
    if isinstance(err, DeadLetter | ValidationError | smtplib.SMTPNotSupportedError):
        return Kind.PERMANENT
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in err.recipients.values()]
        return Kind.PERMANENT if codes and all(_is_5xx(c) for c in codes) else Kind.UNAVAILABLE
    if isinstance(err, smtplib.SMTPSenderRefused | smtplib.SMTPConnectError):
        return Kind.UNAVAILABLE  # our side or the server's: every message would fail alike
    if isinstance(err, smtplib.SMTPResponseException):
        return Kind.PERMANENT if _is_5xx(err.smtp_code) else Kind.UNAVAILABLE
    if isinstance(
        err,
        RetryLater
        | OSError
        | smtplib.SMTPException
        | sqlite3.OperationalError
        | psycopg.OperationalError,
    ):
        # OSError covers refused connections and timeouts; psycopg's, a database server down
        # or a pool out of connections (and a deadlock, which a retry resolves).
        return Kind.UNAVAILABLE
    return Kind.TRANSIENT


def _is_5xx(code: object) -> bool:
    return isinstance(code, int) and 500 <= code < 600
