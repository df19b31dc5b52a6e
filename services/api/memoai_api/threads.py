"""The API's own thread pool for blocking work on the hot paths (database calls).

anyio's `to_thread.run_sync`, which FastAPI uses for every plain `def` route
and dependency, costs about three times the CPU of `loop.run_in_executor` per
call (capacity limiter, cancel scope, run-vars; measured for issue 14), and a
status poll made several such hops. The hot routes and the credential lookup
use this pool instead; it is sized like anyio's (API_THREADS / thread_count).
Short reads skip even that hop (`read`): under concurrency each hop costs GIL
hand-offs worth more CPU than the read (0.45 ms a status poll on SQLite, about
0.4 ms on Postgres, where the read awaits psycopg's async connection instead).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from memoai.platform.db import (
    WouldBlock,
    reads_async,
    reads_inline,
    run_read_async,
    run_read_inline,
)

P = ParamSpec("P")
R = TypeVar("R")

_executor: ThreadPoolExecutor | None = None


def configure(threads: int) -> None:
    """Size the pool (at start-up, before the first request)."""
    global _executor
    old, _executor = _executor, ThreadPoolExecutor(threads, thread_name_prefix="api")
    if old is not None:
        old.shutdown(wait=False)


def shutdown() -> None:
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None


async def in_thread(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run `fn` in the pool with the caller's context (request id, log bindings)."""
    global _executor
    if _executor is None:  # an app started without its lifespan (some tests)
        configure(4)
    context = contextvars.copy_context()
    call = functools.partial(context.run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor, call)


async def read(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """A short database read on the event loop: SQLite's file directly (see
    db.reads_inline), Postgres through the async driver (db.reads_async); one
    that must wait for a lock or write moves to the pool and runs again from
    the start."""
    try:
        if reads_inline():
            return run_read_inline(fn, *args, **kwargs)
        if reads_async():
            return await run_read_async(fn, *args, **kwargs)
    except WouldBlock:
        pass
    return await in_thread(fn, *args, **kwargs)
