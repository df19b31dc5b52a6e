"""Virtual users: create a session, then submit → poll → result → history → think."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from typing import Any

import aiohttp

from bench.load.stats import summary_ms


class Load:
    def __init__(
        self,
        api: str,
        memos: list[str],
        poll_interval: float,
        think_time: float = 0.0,
        ramp: float | None = None,
    ) -> None:
        self.api = api
        self.memos = memos
        self.poll_interval = poll_interval
        self.think_time = think_time
        self.ramp = poll_interval if ramp is None else ramp
        # (finished at, seconds) per endpoint, so a warm-up can be cut off.
        self.latency: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.submitted: dict[str, str] = {}  # evaluation id -> session
        self.completed: dict[str, float] = {}  # id -> time noticed
        self.failed: dict[str, str] = {}
        self.cycles: list[float] = []

    async def call(
        self,
        client: aiohttp.ClientSession,
        name: str,
        method: str,
        url: str,
        parse: bool = True,
        **kw: Any,
    ) -> tuple[int, Any] | None:
        started = time.perf_counter()
        try:
            async with client.request(method, self.api + url, **kw) as response:
                # The result and the history page are read whole but not parsed:
                # nothing here looks inside, and parsing them cost this process
                # CPU the service shares.
                body = await (response.json(content_type=None) if parse else response.read())
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.errors[f"{name}: {type(exc).__name__}"] += 1
            return None
        self.latency[name].append((time.monotonic(), time.perf_counter() - started))
        if status >= 400 and not (name == "result" and status == 425):
            self.errors[f"{name}: HTTP {status}"] += 1
        return status, body

    async def user(self, client: aiohttp.ClientSession, index: int, until: float) -> None:
        # Users arrive spread over `ramp` seconds: a thousand people do not press
        # Submit in the same millisecond, and aligned polls would measure the
        # burst, not the service.
        rnd = random.Random(index)
        await asyncio.sleep(rnd.uniform(0, self.ramp))
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
            await self.call(
                client, "result", "GET", f"/api/v1/evaluations/{eid}", False, headers=headers
            )
            await self.call(
                client, "history", "GET", "/api/v1/evaluations?limit=10", False, headers=headers
            )
            if self.think_time > 0:
                # Reading the feedback takes a while, never exactly the same
                # while: a spread keeps users from falling into lock-step.
                # Past the end nobody starts another cycle: stop reading there.
                think = rnd.uniform(0.5, 1.5) * self.think_time
                await asyncio.sleep(max(0.0, min(think, until - time.monotonic())))
            self.cycles.append(time.monotonic() - cycle_started)

    def session(self, connections: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, limit_per_host=0),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def run(self, users: int, duration: float) -> tuple[float, float]:
        """Run the users for `duration` seconds; returns (started, elapsed), monotonic."""
        # One connection per user and some spare: a shared pool smaller than the
        # user count would queue requests in the client and blame the server.
        async with self.session(users + 20) as client:
            started = time.monotonic()
            until = started + duration
            await asyncio.gather(*(self.user(client, i, until) for i in range(users)))
            return started, time.monotonic() - started

    def latency_since(self, since: float) -> dict[str, dict[str, Any]]:
        kept = {
            name: [dt for at, dt in samples if at >= since]
            for name, samples in sorted(self.latency.items())
        }
        return {name: summary_ms(values) for name, values in kept.items() if values}

    async def poll_burst(self, pollers: int, duration: float) -> dict[str, Any]:
        """Status polls only, as fast as `pollers` clients can send them."""
        targets = list(self.submitted.items())[:pollers] or []
        latencies: list[float] = []
        errors = 0
        async with self.session(pollers + 5) as client:
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
