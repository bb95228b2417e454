"""How each error that can end a command reads: one line, the documented exit code, no secret."""

import errno

import pytest
from aiormq.exceptions import AMQPConnectionError, ProbableAuthenticationError
from pydantic import ValidationError
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from adapters.postgres import DatabaseUnavailable
from podium.cli import exits
from podium.cli.failures import explain
from workers.runtime.codec import EncryptionError
from workers.runtime.payloads import invalid_input
from workers.runtime.settings import Settings
from workers.runtime.temporal import Unavailable

URL = "amqp://podium:s3cret-pass@broker.example:5679/podium"


def settings_error() -> ValidationError:
    try:
        Settings(_env_file=None, metrics_port="many")  # type: ignore[call-arg, arg-type]
    except ValidationError as err:
        return err
    raise AssertionError("accepted")


@pytest.mark.parametrize(
    ("err", "code", "says"),
    [
        (AMQPConnectionError(111, "Connect call failed"), 3, "cannot reach RabbitMQ at broker"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), 3, "Connection refused"),
        (ProbableAuthenticationError("ACCESS_REFUSED"), 3, "refused the user"),
        (TimeoutError(), 3, "did not answer in time"),
        (Unavailable("cannot reach Temporal at x"), 3, "cannot reach Temporal"),
        (
            DatabaseUnavailable("cannot reach PostgreSQL at db.example:5432 (refused)"),
            3,
            "cannot reach PostgreSQL at db.example",
        ),
        (EncryptionError("payload encrypted with unknown key id 'k9'"), 2, "unknown key id"),
        (settings_error(), 2, "invalid settings: metrics_port"),
        (invalid_input("invalid input: items: too many"), 2, "invalid input: items"),
        (
            WorkflowFailureError(cause=ApplicationError("bad", type="InvalidInput")),
            1,
            "the order's run failed: InvalidInput: bad",
        ),
        (OSError(errno.EADDRINUSE, "Address already in use"), 3, "port"),
        (PermissionError(errno.EACCES, "Permission denied", "/data/x.db"), 4, "/data/x.db"),
        (RuntimeError("boom\nsecond line"), 4, "unexpected error: RuntimeError: boom"),
        (ValueError(f"bad port in {URL}"), 4, "amqp://podium:******@broker.example"),
        (OSError(f"lost {URL.replace('5679', 'x')}"), 4, "amqp://podium:******@"),
    ],
)
def test_every_error_is_one_line_with_its_exit_code(
    err: BaseException, code: int, says: str
) -> None:
    line, exit_code = explain(err, URL)
    assert exit_code == code
    assert says in line
    assert "\n" not in line and "s3cret-pass" not in line and len(line) < 700


def test_codes_are_the_documented_ones() -> None:
    assert (exits.OK, exits.ORDER_NOT_COMPLETED, exits.BAD_INPUT) == (0, 1, 2)
    assert (exits.UNAVAILABLE, exits.INTERNAL) == (3, 4)
