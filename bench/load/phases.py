"""API CPU per request, per endpoint class, in dedicated phases.

During the main phase every endpoint runs at once, so its CPU cannot be split
honestly between them. Here each class runs alone: N requests of one kind at a
fixed concurrency after a short warm-up, and the API's CPU (all its processes)
over the phase, less what the API burns idle over the same time, is divided by
N.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import uvloop

from bench.load.procs import cpu_by_class
from bench.load.stats import summary_ms

Request = tuple[str, str, dict[str, Any]]  # method, path, aiohttp keywords


def _api_cpu(roots: dict[str, int]) -> float:
    return cpu_by_class({k: v for k, v in roots.items() if k.split("-")[0] == "api"})["api"]


async def _phase(
    api: str, requests: list[Request], concurrency: int, expect: int
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    todo = iter(requests)
    connector = aiohttp.TCPConnector(limit=concurrency + 2)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as client:

        async def one_client() -> None:
            nonlocal errors
            for method, path, kw in todo:  # a shared iterator: each request runs once
                started = time.perf_counter()
                try:
                    async with client.request(method, api + path, **kw) as response:
                        await response.read()
                        errors += response.status != expect
                except (TimeoutError, aiohttp.ClientError):
                    errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.monotonic()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        return time.monotonic() - started, latencies, errors


def idle_api_cpu_per_s(roots: dict[str, int], seconds: float = 3.0) -> float:
    """What the API spends with no request (timers, metrics): subtracted from each phase."""
    before = _api_cpu(roots)
    time.sleep(seconds)
    return max(0.0, _api_cpu(roots) - before) / seconds


def run_phase(
    name: str,
    api: str,
    roots: dict[str, int],
    requests: list[Request],
    concurrency: int,
    expect: int,
    idle_per_s: float,
) -> dict[str, Any]:
    # Unmeasured warm-up: every API process imports and compiles lazily on the
    # first requests of a kind, which is not the steady cost per request.
    warm = requests[: max(20, len(requests) // 10)]
    uvloop.run(_phase(api, warm, concurrency, expect))
    before = _api_cpu(roots)
    elapsed, latencies, errors = uvloop.run(_phase(api, requests, concurrency, expect))
    used = _api_cpu(roots) - before
    net = max(0.0, used - idle_per_s * elapsed)
    s = summary_ms(latencies)
    return {
        "requests": len(requests),
        "concurrency": concurrency,
        "elapsed_s": round(elapsed, 2),
        "requests_per_s": round(len(requests) / elapsed, 1) if elapsed else None,
        "errors": errors,
        "api_cpu_s": round(used, 3),
        "api_idle_cpu_s": round(idle_per_s * elapsed, 3),
        "api_cpu_ms_per_request": round(net / len(requests) * 1000, 3) if requests else None,
        "p50_ms": s["p50_ms"],
        "p99_ms": s["p99_ms"],
    }


def class_phases(
    api: str,
    roots: dict[str, int],
    completed: list[tuple[str, str]],
    new_session: Callable[[], str],
    memos: list[str],
    requests: int,
    submits: int,
    concurrency: int,
) -> dict[str, Any]:
    """Status, result, history, then submit (last: its evaluations keep the worker busy)."""
    if not completed:
        return {}
    idle = idle_api_cpu_per_s(roots)
    pairs = list(itertools.islice(itertools.cycle(completed), requests))

    def get(path: str, session: str) -> Request:
        return "GET", path, {"headers": {"X-Session-ID": session}}

    status = [get(f"/api/v1/evaluations/{e}/status", s) for e, s in pairs]
    result = [get(f"/api/v1/evaluations/{e}", s) for e, s in pairs]
    # The page a user loads after each result (bench.load.users): their last ten.
    history = [get("/api/v1/evaluations?limit=10", s) for _, s in pairs]
    # Sessions made before the phase so their creation is not counted; a
    # handful suffice (the submit path does not depend on the session's history).
    sessions = [new_session() for _ in range(min(submits, 20))]
    submit = [
        (
            "POST",
            "/api/v1/evaluations/submit",
            {
                "json": {"text_content": memos[i % len(memos)]},
                "headers": {"X-Session-ID": sessions[i % len(sessions)]},
            },
        )
        for i in range(submits)
    ]
    out: dict[str, Any] = {"idle_api_cpu_per_s": round(idle, 4)}
    for name, reqs, expect in (
        ("status", status, 200),
        ("result", result, 200),
        ("history", history, 200),
    ):
        out[name] = run_phase(name, api, roots, reqs, concurrency, expect, idle)
    out["submit"] = run_phase("submit", api, roots, submit, concurrency, 202, idle)
    return out
