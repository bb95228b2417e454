"""Finding free TCP ports on 127.0.0.1 and probing open ones."""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Iterator

from infra.stack.errors import StackError


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A port free now (another process may take it before the caller binds it)."""
    with free_ports(1) as (port,):
        return port


@contextlib.contextmanager
def free_ports(count: int) -> Iterator[list[int]]:
    """`count` distinct free ports, held open until the block ends so none is handed out twice."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        yield [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port_in(low: int, high: int) -> int:
    for _ in range(200):
        port = random.randrange(low, high)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise StackError(f"no free port in {low}-{high}")


def free_run(count: int, low: int, high: int, avoid: int | None = None) -> int:
    """The first of `count` consecutive ports in low..high all free now; `avoid` starts a run
    the result must not overlap."""
    for _ in range(200):
        start = random.randrange(low, high - count)
        if avoid is not None and abs(start - avoid) < count:
            continue
        socks = [socket.socket() for _ in range(count)]
        try:
            for offset, sock in enumerate(socks):
                sock.bind(("127.0.0.1", start + offset))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        return start
    raise StackError(f"no {count} consecutive free ports in {low}-{high}")
