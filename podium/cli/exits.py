"""Exit codes of the `podium` command, and the one line a failing command prints."""

import sys

OK = 0
ORDER_NOT_COMPLETED = 1  # the order was refused, failed or was cancelled, or a cancel was refused
BAD_INPUT = 2  # the input was refused; nothing was started
UNAVAILABLE = 3  # a server Podium needs cannot be reached or started
INTERNAL = 4  # an unexpected error; the log has the details at debug level
STILL_RUNNING = 5  # `podium place --timeout` ran out before the answer; the order carries on


def fail(message: str, code: int) -> int:
    """Print the one line a person reads (on stderr) and hand back the exit code."""
    warn(message)
    return code


def warn(message: str) -> None:
    print(f"podium: {message}", file=sys.stderr)
