"""Every error a `podium` command can end with, as one line and a documented exit code.

The one place where outages of Temporal and RabbitMQ, refused credentials and misconfiguration
become what a person reads; anything unforeseen becomes one line too, its traceback going to
the log at debug level (`PODIUM_LOG_LEVEL=debug`), never to the terminal.
"""

import asyncio
import errno
import os
import socket
import ssl
from urllib.parse import urlsplit

import structlog
from aiormq.exceptions import (
    AMQPConnectionError,
    AuthenticationError,
    ConnectionNotAllowed,
    ProbableAuthenticationError,
)
from pydantic import ValidationError
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from adapters.amqp_urls import amqp_urls
from adapters.postgres import DatabaseUnavailable
from contracts.problems import describe, one_line
from podium.cli import exits
from workers.runtime.codec import EncryptionError
from workers.runtime.payloads import INVALID_INPUT
from workers.runtime.redaction import redact_urls
from workers.runtime.temporal import Unavailable
from workers.runtime.tls import TLSSettingsError

log = structlog.get_logger(__name__)


def explain(err: BaseException, amqp_url: str | None) -> tuple[str, int]:
    """The line to print and the exit code for an error that ended a command; a password in
    a URL the error quotes is masked."""
    line, code = _explain(err, amqp_url)
    return redact_urls(line), code


def _explain(err: BaseException, amqp_url: str | None) -> tuple[str, int]:
    broker = _where(amqp_url)
    if isinstance(err, (EncryptionError, TLSSettingsError)):
        return one_line(err), exits.BAD_INPUT
    if isinstance(err, ValidationError):  # the settings (PODIUM_* variables, .env)
        return describe(err, "settings"), exits.BAD_INPUT
    if isinstance(err, WorkflowFailureError):  # a run that ended without an order result
        cause = err.cause
        if isinstance(cause, ApplicationError):
            kind, message = cause.type, cause.message
        else:
            kind, message = type(cause).__name__, str(cause)
        return f"the order's run failed: {kind}: {one_line(message, 300)}", (
            exits.ORDER_NOT_COMPLETED
        )
    if isinstance(err, ApplicationError) and err.type == INVALID_INPUT:
        return one_line(err.message), exits.BAD_INPUT  # e.g. a memo another client wrote
    if isinstance(err, (Unavailable, DatabaseUnavailable)):
        return one_line(err), exits.UNAVAILABLE
    if isinstance(err, RPCError):
        return f"Temporal answered: {one_line(err.message, 300)} ({err.status.name})", (
            exits.UNAVAILABLE
        )
    if isinstance(err, (ProbableAuthenticationError, AuthenticationError)) or (
        isinstance(err, ConnectionNotAllowed) or "ACCESS_REFUSED" in str(err)
    ):
        return (
            f"RabbitMQ at {broker} refused the user or vhost in PODIUM_AMQP_URL "
            "(check the user, password and vhost; `podium dev status` shows the local ones)",
            exits.UNAVAILABLE,
        )
    if isinstance(err, (AMQPConnectionError, ConnectionError, socket.gaierror, ssl.SSLError)):
        return (
            f"cannot reach RabbitMQ at {broker} ({_reason(err)}); "
            "start the local stack with `podium dev up`",
            exits.UNAVAILABLE,
        )
    if isinstance(err, (TimeoutError, asyncio.TimeoutError)):
        return "a server did not answer in time; is the local stack up (`podium dev status`)?", (
            exits.UNAVAILABLE
        )
    if isinstance(err, OSError) and err.errno == errno.EADDRINUSE:
        return f"a port this command listens on is taken ({err.strerror})", exits.UNAVAILABLE
    log.debug("command failed", exc_info=err)
    if isinstance(err, OSError) and err.filename is not None:
        return f"cannot use {one_line(err.filename, 200)}: {err.strerror}", exits.INTERNAL
    return (
        f"unexpected error: {type(err).__name__}: {one_line(err, 300)} "
        "(PODIUM_LOG_LEVEL=debug logs the details)",
        exits.INTERNAL,
    )


def _where(amqp_url: str | None) -> str:
    """host:port of the broker (each node's, for a cluster), never a user or password."""
    if not amqp_url:
        return "PODIUM_AMQP_URL"
    try:
        nodes = []
        for url in amqp_urls(amqp_url):
            parts = urlsplit(url)
            port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
            nodes.append(f"{parts.hostname}:{port}")
    except ValueError:
        return "PODIUM_AMQP_URL"
    return nodes[0] if len(nodes) == 1 else f"any of {', '.join(nodes)}"


def _reason(err: BaseException) -> str:
    cause = err.__cause__ if isinstance(err, AMQPConnectionError) and err.__cause__ else err
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno)
    return one_line(cause, 200) or type(cause).__name__
