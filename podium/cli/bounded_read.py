"""Reading a file the user named, whatever it turns out to be, without hanging or filling memory.

`--file` may name a regular file, a pipe (`<(...)`), a FIFO with no writer yet, a device such
as /dev/zero, or a directory. At most `limit` + 1 bytes are read (enough to tell that it is
too large), and anything that is not a regular file gets `timeout` seconds to deliver.
"""

import os
import select
import stat
import time

from contracts.problems import one_line


class ReadRefused(ValueError):
    """The file could not be read; the message says why, in one line."""


def read_bounded(path: str | None, limit: int, timeout: float) -> bytes:
    """The first `limit` + 1 bytes of `path` (standard input when None)."""
    source = "standard input" if path is None else one_line(path, 200)
    try:
        if path is None:
            fd = os.dup(0)
        else:
            # Non-blocking: opening a FIFO that has no writer would otherwise wait forever.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise ReadRefused(f"{source} is a directory")
            # A person typing at a terminal takes the time they need (Ctrl-C stops).
            patient = path is None and os.isatty(fd)
            waits = not stat.S_ISREG(mode) and not patient
            return _read(fd, source, limit, timeout, waits)
        finally:
            os.close(fd)
    except OSError as err:
        raise ReadRefused(f"cannot read {source}: {err.strerror or err}") from None


def _read(fd: int, source: str, limit: int, timeout: float, waits: bool) -> bytes:
    deadline = time.monotonic() + timeout if waits else None
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                raise ReadRefused(f"nothing complete arrived from {source} within {timeout:g} s")
        try:
            chunk = os.read(fd, limit + 1 - size)
        except BlockingIOError:
            if deadline is None:  # stdin was non-blocking: wait for it like any other source
                deadline = time.monotonic() + timeout
            continue
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
