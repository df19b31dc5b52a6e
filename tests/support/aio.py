"""Run a coroutine to completion from a plain test.

A session-wide Playwright sync browser (the e2e tests) keeps an event loop running
on the xdist worker's main thread, so a later `asyncio.run` there fails; a fresh
thread always has no loop of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(1, thread_name_prefix="test-asyncio") as pool:
        return pool.submit(asyncio.run, coro).result()


def run_uvloop(coro: Coroutine[Any, Any, T]) -> T:
    """run, on uvloop (the API's loop)."""
    import uvloop

    with ThreadPoolExecutor(1, thread_name_prefix="test-uvloop") as pool:
        return pool.submit(uvloop.run, coro).result()
