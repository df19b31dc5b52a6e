"""API CPU per request, per endpoint class (issue 14): `python -m scripts.api_cpu`.

Starts `memoai api` + `memoai worker` (SQLite and the embedded broker, or
`--backend postgres` with Redis; offline LLM)
with tests/support/stack.py, then sends bounded batches of status polls,
result reads, submits and history pages from a fixed number of concurrent clients, and
divides the API process's CPU time (/proc/<pid>/stat utime + stime) by the
requests sent. CPU per request does not depend much on what else runs on the
machine, unlike latency. `--profile DIR` records each phase with py-spy
(`py-spy record -f raw`, folded stacks) for `--top`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.stack import load_memos, running_stack  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def hammer(api: str, requests: list[tuple[str, str, dict[str, Any]]], clients: int) -> float:
    """Send the requests from `clients` concurrent connections; return the p99 in ms."""
    latencies: list[float] = []
    queue = collections.deque(requests)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as http:

        async def client() -> None:
            while queue:
                method, url, kw = queue.popleft()
                started = time.perf_counter()
                async with http.request(method, api + url, **kw) as response:
                    await response.read()
                    if response.status >= 400:
                        raise RuntimeError(f"{method} {url}: {response.status}")
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(clients)))
    latencies.sort()
    return latencies[int(len(latencies) * 0.99) - 1] * 1000


def top_frames(raw: Path, n: int) -> list[tuple[str, float, float]]:
    """(frame, own %, total %) from py-spy's folded stacks."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        k = int(count)
        samples += k
        frames = stack.split(";")
        own[frames[-1]] += k
        for frame in set(frames):
            total[frame] += k
    by_own = [(f, 100 * c / samples, 100 * total[f] / samples) for f, c in own.most_common(n)]
    by_total = [
        (f, 100 * own[f] / samples, 100 * c / samples)
        for f, c in total.most_common(200)
        if "memoai" in f or "fastapi" in f or "sqlalchemy/orm" in f or "pydantic" in f
    ][:n]
    return [*by_own, ("-- by total --", 0, 0), *by_total]


def phase(
    name: str, pid: int, api: str, requests: list[Any], clients: int, profile: Path | None
) -> None:
    spy = None
    if profile:
        out = profile / f"{name}.txt"
        spy = subprocess.Popen(  # noqa: S603 - our own arguments
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "-p",
                str(pid),
                "-f",
                "raw",
                "-o",
                str(out),
                "-r",
                "200",
                "--gil",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)
    before = cpu_seconds(pid)
    started = time.monotonic()
    p99 = asyncio.run(hammer(api, requests, clients))
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(pid) - before
    print(
        f"{name:8s} {len(requests):6d} req  {len(requests) / elapsed:7.1f} req/s  "
        f"p99 {p99:6.1f} ms  API CPU {1000 * cpu / len(requests):5.2f} ms/req",
        flush=True,
    )
    if spy:
        spy.send_signal(2)
        spy.wait()
        for frame, own_pct, total_pct in top_frames(profile / f"{name}.txt", 12):
            print(f"    own {own_pct:5.1f}%  total {total_pct:5.1f}%  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--polls", type=int, default=4000)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--like-bench",
        action="store_true",
        help="bench.load's configuration: rate limits off, log level WARNING",
    )
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    memos = [m["text"] for m in load_memos()]
    overrides = {"RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING"} if args.like_bench else {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(Path(tmp), args.backend, **overrides) as stack,
    ):
        pid = stack.procs["api"].pid
        sessions = [stack.new_session() for _ in range(args.users)]
        owned = [(s, stack.submit(s, memos[i % len(memos)])) for i, s in enumerate(sessions)]
        for s, eid in owned:
            stack.wait_final(s, eid)
        api = stack.api_url + "/api/v1"
        status = [
            ("GET", f"/evaluations/{eid}/status", {"headers": {"X-Session-ID": s}})
            for i in range(args.polls)
            for s, eid in [owned[i % len(owned)]]
        ]
        result = [
            ("GET", f"/evaluations/{eid}", {"headers": {"X-Session-ID": s}})
            for i in range(args.polls // 4)
            for s, eid in [owned[i % len(owned)]]
        ]
        submit = [
            (
                "POST",
                "/evaluations/submit",
                {"headers": {"X-Session-ID": s}, "json": {"text_content": memos[i % len(memos)]}},
            )
            for i in range(args.polls // 8)
            for s in [sessions[i % len(sessions)]]
        ]
        phase("warmup", pid, api, status[:500], args.clients, None)
        phase("status", pid, api, status, args.clients, args.profile)
        phase("result", pid, api, result, args.clients, args.profile)
        phase("submit", pid, api, submit, args.clients, args.profile)
        # After the submits, so each session has a page of ten to list.
        history = [
            ("GET", "/evaluations?limit=10", {"headers": {"X-Session-ID": s}})
            for i in range(args.polls // 4)
            for s in [sessions[i % len(sessions)]]
        ]
        time.sleep(5)  # the submits' evaluations finish first
        phase("history", pid, api, history, args.clients, args.profile)


if __name__ == "__main__":
    main()
