"""`make bench`: the whole stack under load, against a fake Messages API.

For each back end (SQLite + embedded broker, Postgres + Redis) it starts the
real processes (api, worker, beat) and a fake Claude with a fixed latency, then
runs for `--duration` seconds: `--users` virtual users each create a session
and loop submit → poll status every second → fetch the result → fetch their
history. A status-poll-only burst follows. It prints and writes JSON:
evaluations per minute and the ratio to the ideal, server-side overhead
(completion time minus LLM time), API latency per endpoint, errors, lost
evaluations and peak RSS per process.

The ideal is what polling allows: a user notices completion at the first poll
after the model answers, so one cycle takes at least LLM latency + one poll
interval; ideal throughput = users / cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.services import free_port  # noqa: E402
from tests.support.stack import Stack, claude_overrides, load_memos, stack_env  # noqa: E402

RESULTS = REPO / "bench" / "results"


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "p50_ms": _ms(percentile(values, 50)),
        "p95_ms": _ms(percentile(values, 95)),
        "p99_ms": _ms(percentile(values, 99)),
        "max_ms": _ms(max(values) if values else None),
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


class RssSampler(threading.Thread):
    """Peak resident memory per process (and its children), sampled from /proc."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak: dict[str, float] = defaultdict(float)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            for name, pid in self.pids.items():
                total = sum(_rss_mb(p) for p in [pid, *_descendants(pid)])
                self.peak[name] = max(self.peak[name], total)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each process and its children."""
        return {
            name: round(sum(_cpu(p) for p in [pid, *_descendants(pid)]), 2)
            for name, pid in self.pids.items()
        }


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    children = [int(p) for p in out.stdout.split()]
    return children + [d for c in children for d in _descendants(c)]


class Load:
    def __init__(self, api: str, memos: list[str], poll_interval: float) -> None:
        self.api = api
        self.memos = memos
        self.poll_interval = poll_interval
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.submitted: dict[str, str] = {}  # evaluation id -> session
        self.completed: dict[str, float] = {}  # id -> time noticed
        self.failed: dict[str, str] = {}
        self.cycles: list[float] = []

    async def call(
        self, client: aiohttp.ClientSession, name: str, method: str, url: str, **kw: Any
    ) -> tuple[int, Any] | None:
        started = time.perf_counter()
        try:
            async with client.request(method, self.api + url, **kw) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.errors[f"{name}: {type(exc).__name__}"] += 1
            return None
        self.latency[name].append(time.perf_counter() - started)
        if status >= 400 and not (name == "result" and status == 425):
            self.errors[f"{name}: HTTP {status}"] += 1
        return status, body

    async def user(self, client: aiohttp.ClientSession, index: int, until: float) -> None:
        # Users arrive spread over one poll interval; a hundred people do not
        # press Submit in the same millisecond, and perfectly aligned polls would
        # measure the burst, not the service.
        await asyncio.sleep(random.Random(index).uniform(0, self.poll_interval))
        response = await self.call(client, "create_session", "POST", "/api/v1/sessions")
        if response is None or response[0] != 201:
            return
        headers = {"X-Session-ID": response[1]["data"]["session_id"]}
        n = index
        while time.monotonic() < until:
            cycle_started = time.monotonic()
            memo = self.memos[n % len(self.memos)]
            n += 1
            response = await self.call(
                client,
                "submit",
                "POST",
                "/api/v1/evaluations/submit",
                json={"text_content": memo},
                headers=headers,
            )
            if response is None or response[0] != 202:
                await asyncio.sleep(1)
                continue
            eid = response[1]["data"]["evaluation_id"]
            self.submitted[eid] = headers["X-Session-ID"]
            status = "queued"
            while status in ("queued", "processing"):
                await asyncio.sleep(self.poll_interval)
                response = await self.call(
                    client, "status", "GET", f"/api/v1/evaluations/{eid}/status", headers=headers
                )
                if response is not None and response[0] == 200:
                    status = response[1]["data"]["status"]
                if time.monotonic() > until + 120:
                    return
            if status == "completed":
                self.completed[eid] = time.monotonic()
            else:
                self.failed[eid] = status
            await self.call(client, "result", "GET", f"/api/v1/evaluations/{eid}", headers=headers)
            await self.call(
                client, "history", "GET", "/api/v1/evaluations?limit=10", headers=headers
            )
            self.cycles.append(time.monotonic() - cycle_started)

    def _session(self, connections: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def run(self, users: int, duration: float) -> float:
        async with self._session(users + 20) as client:
            started = time.monotonic()
            until = started + duration
            await asyncio.gather(*(self.user(client, i, until) for i in range(users)))
            return time.monotonic() - started

    async def poll_burst(self, pollers: int, duration: float) -> dict[str, Any]:
        """Status polls only, as fast as `pollers` clients can send them."""
        targets = list(self.submitted.items())[:pollers] or []
        latencies: list[float] = []
        errors = 0
        async with self._session(pollers + 5) as client:
            until = time.monotonic() + duration

            async def poller(eid: str, session: str) -> None:
                nonlocal errors
                url = f"{self.api}/api/v1/evaluations/{eid}/status"
                while time.monotonic() < until:
                    started = time.perf_counter()
                    try:
                        async with client.get(url, headers={"X-Session-ID": session}) as resp:
                            await resp.read()
                            if resp.status != 200:
                                errors += 1
                    except (TimeoutError, aiohttp.ClientError):
                        errors += 1
                    latencies.append(time.perf_counter() - started)

            await asyncio.gather(*(poller(e, s) for e, s in targets))
        return {
            "pollers": len(targets),
            "duration_s": duration,
            "requests_per_s": round(len(latencies) / duration, 1),
            "errors": errors,
            **summary_ms(latencies),
        }


def server_side(stack: Stack, ids: list[str]) -> dict[str, Any]:
    """Overhead = (queue wait + processing) - LLM time, from the stored evaluations."""
    from sqlalchemy import create_engine, text

    url = stack.env.get("DATABASE_URL") or f"sqlite:///{Path(stack.env['DATA_DIR']) / 'memoai.db'}"
    engine = create_engine(url)
    overheads: list[float] = []
    llm: list[float] = []
    states: dict[str, int] = defaultdict(int)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                text("SELECT id, status, queue_wait, processing_time, llm_time FROM evaluations")
            )
            .mappings()
            .all()
        )
    engine.dispose()
    wanted = set(ids)
    for row in rows:
        if row["id"] not in wanted:
            continue
        states[row["status"]] += 1
        if row["status"] == "completed":
            overheads.append(row["queue_wait"] + row["processing_time"] - row["llm_time"])
            llm.append(row["llm_time"])
    return {"states": dict(states), "overhead": summary_ms(overheads), "llm_time": summary_ms(llm)}


def _start(stack: Stack, args: argparse.Namespace) -> None:
    stack.start("api", "worker", "beat")
    for n in range(2, args.workers + 1):
        # More worker processes spread the CPU part of many concurrent calls
        # (streaming, validation) past one interpreter's GIL.
        stack.start_process(
            "worker",
            f"--hostname=worker{n}@%h",
            key=f"worker-{n}",
            env={"WORKER_METRICS_PORT": str(free_port())},
        )


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    memos = [m["text"] for m in load_memos()]
    fake_port = free_port()
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.anthropic_server",
            "--port",
            str(fake_port),
            "--latency",
            str(args.llm_latency),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    root = Path(tempfile.mkdtemp(prefix=f"memoai-bench-{backend}-"))
    overrides = claude_overrides(
        f"http://127.0.0.1:{fake_port}",
        LLM_TIMEOUT="30",
        LLM_RATE_LIMIT="1000000",
        WORKER_CONCURRENCY=str(args.worker_concurrency),
        LLM_STREAMING=args.streaming,
        RATE_LIMIT_ENABLED="false",
        LOG_LEVEL="WARNING",
        WORKER_PROCESSES=str(args.api_processes),
        DB_POOL_SIZE="40",
    )
    try:
        with stack_env(root, backend, **overrides) as env:
            stack = Stack(root, env, backend)
            stack.memoai("migrate")
            try:
                _start(stack, args)
            except BaseException:
                stack.stop()  # never leave processes behind a failed start
                raise
            sampler = RssSampler(
                {n: p.pid for n, p in stack.procs.items()} | {"fake_llm": fake.pid}
            )
            sampler.start()
            cpu_before = sampler.cpu_seconds()
            own_before = time.process_time()
            try:
                load = Load(stack.api_url, memos, args.poll_interval)
                print(
                    f"[{backend}] {args.users} users for {args.duration:.0f} s "
                    f"(LLM latency {args.llm_latency} s)…",
                    flush=True,
                )
                elapsed = asyncio.run(load.run(args.users, args.duration))
                cpu_after = sampler.cpu_seconds()
                cpu_used = {k: round(cpu_after[k] - cpu_before.get(k, 0), 1) for k in cpu_after}
                cpu_used["load_generator"] = round(time.process_time() - own_before, 1)
                burst = asyncio.run(load.poll_burst(args.users, args.burst_duration))
                # Drain: everything submitted must end completed or failed.
                deadline = time.monotonic() + 60
                ids = list(load.submitted)
                side = server_side(stack, ids)
                while side["states"].get("queued", 0) + side["states"].get("processing", 0):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(1)
                    side = server_side(stack, ids)
            finally:
                sampler.stop.set()
                stack.stop()
    finally:
        fake.terminate()
        fake.wait()

    completed_in_window = len(load.completed)
    per_minute = completed_in_window / elapsed * 60
    ideal_cycle = args.llm_latency + args.poll_interval
    ideal = args.users / ideal_cycle * 60
    lost = side["states"].get("queued", 0) + side["states"].get("processing", 0)
    return {
        "backend": backend,
        "users": args.users,
        "duration_s": round(elapsed, 1),
        "llm_latency_s": args.llm_latency,
        "poll_interval_s": args.poll_interval,
        "worker_concurrency": args.worker_concurrency,
        "worker_processes": args.workers,
        "api_processes": args.api_processes,
        "llm_streaming": args.streaming == "true",
        "evaluations_completed": completed_in_window,
        "evaluations_per_minute": round(per_minute, 1),
        "ideal_per_minute": round(ideal, 1),
        "ratio_to_ideal": round(per_minute / ideal, 3),
        "cycle_s": {
            "p50": round(percentile(load.cycles, 50) or 0, 2),
            "p95": round(percentile(load.cycles, 95) or 0, 2),
        },
        "overhead": side["overhead"],
        "llm_time": side["llm_time"],
        "api_latency": {name: summary_ms(v) for name, v in sorted(load.latency.items())},
        "status_poll_burst": burst,
        "errors": dict(load.errors),
        "error_count": sum(load.errors.values()) + len(load.failed),
        "failed_evaluations": len(load.failed),
        "lost_evaluations": lost,
        "final_states": side["states"],
        "peak_rss_mb": {k: round(v, 1) for k, v in sampler.peak.items()},
        # CPU seconds during the load phase: the machine has os.cpu_count() cores
        # for the services, the fake LLM and the load generator together.
        "cpu_seconds": cpu_used,
        "cpu_utilisation": round(sum(cpu_used.values()) / (elapsed * (os.cpu_count() or 1)), 3),
    }


def print_report(r: dict[str, Any]) -> None:
    print(
        f"\n== {r['backend']}: {r['users']} users, {r['duration_s']} s, "
        f"LLM {r['llm_latency_s']} s, worker concurrency {r['worker_concurrency']}"
    )
    print(
        f"evaluations/min      {r['evaluations_per_minute']:>8}  (ideal {r['ideal_per_minute']}, "
        f"ratio {r['ratio_to_ideal']:.1%})"
    )
    print(f"cycle p50/p95        {r['cycle_s']['p50']} s / {r['cycle_s']['p95']} s")
    o = r["overhead"]
    print(f"overhead p50/p95     {o['p50_ms']} ms / {o['p95_ms']} ms  (completion - LLM time)")
    print(
        f"errors {r['error_count']}, failed {r['failed_evaluations']}, "
        f"lost {r['lost_evaluations']}  {r['errors'] or ''}"
    )
    print("endpoint             count    p50 ms   p95 ms   p99 ms")
    for name, s in r["api_latency"].items():
        print(f"  {name:18} {s['count']:>6} {s['p50_ms']:>9} {s['p95_ms']:>8} {s['p99_ms']:>8}")
    b = r["status_poll_burst"]
    print(
        f"status burst         {b['pollers']} pollers, {b['requests_per_s']} req/s, "
        f"p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms, p99 {b['p99_ms']} ms, errors {b['errors']}"
    )
    print(f"peak RSS MB          {r['peak_rss_mb']}")
    print(f"CPU seconds          {r['cpu_seconds']} (machine busy {r['cpu_utilisation']:.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--burst-duration", type=float, default=10)
    parser.add_argument("--llm-latency", type=float, default=2.0)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--worker-concurrency", type=int, default=128)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--api-processes", type=int, default=1, help="uvicorn workers of the API")
    parser.add_argument("--streaming", choices=["true", "false"], default="true")
    args = parser.parse_args()

    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": [],
    }
    for backend in args.backends.split(","):
        result = run_backend(backend.strip(), args)
        print_report(result)
        report["results"].append(result)
    out = RESULTS / f"load-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2))
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    print(f"\nwritten {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
