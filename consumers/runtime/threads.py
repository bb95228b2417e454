"""Runs a handler in a daemon thread of its own (and gives the store thread of
consumers/runtime/batching.py the same way to hand a result back to the event loop).

Not the event loop's default executor: it has a handful of threads (cores + 4) shared by every
consumer in the process, so a few handlers stuck on poison messages would starve the others,
and `asyncio.run` waits for its threads at exit, so one stuck handler would hold up SIGTERM.
A thread per message costs well under a millisecond; a stuck one is abandoned at exit (its
SQLite transaction never commits) and the message has already gone down the retry ladder.
"""

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_daemon_thread(fn: Callable[[], T]) -> T:
    # The caller's context: its log context and trace span reach the handler.
    run, future = awaitable_job(fn, contextvars.copy_context())
    threading.Thread(target=run, name="consumer-handler", daemon=True).start()
    return await future


def awaitable_job(
    fn: Callable[[], T], context: contextvars.Context
) -> tuple[Callable[[], None], "asyncio.Future[T]"]:
    """`fn` wrapped to run in any thread (in `context`), and the future of the running loop
    that it settles with `fn`'s result or error."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # the caller stopped waiting (time limit)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            outcome: tuple[T | None, BaseException | None] = (context.run(fn), None)
        except BaseException as err:  # handed to the awaiting coroutine, whatever it is
            outcome = (None, err)
        # A closed loop (RuntimeError): the process is exiting and nobody waits any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    return run, future
