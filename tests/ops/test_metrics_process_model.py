"""Metrics stay right under every process model: several uvicorn workers, a prefork pool."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.support.stack import running_stack

pytestmark = pytest.mark.integration


def _sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_several_api_processes_report_every_request(tmp_path: Path) -> None:
    with running_stack(tmp_path, "sqlite", services=("api",), WORKER_PROCESSES="2") as stack:
        route = "/api/v1/sessions"
        for _ in range(12):
            httpx.post(f"{stack.api_url}{route}", timeout=5).raise_for_status()
        # Whichever process answers the scrape reports all twelve.
        for _ in range(6):
            text = httpx.get(f"{stack.api_url}/metrics", timeout=5).text
            assert _sample(text, "memoai_http_requests_total", route=route, status="201") == 12
            assert _sample(text, "memoai_active_sessions", kind="anonymous") == 12
        # Really two serving processes (uvicorn logs one line per process).
        assert len(set(re.findall(r"Started server process \[(\d+)\]", stack.log("api")))) >= 2


def test_prefork_worker_serves_the_sum_of_its_children(tmp_path: Path) -> None:
    with running_stack(
        tmp_path,
        "sqlite",
        services=("api", "worker"),
        WORKER_POOL="prefork",
        WORKER_CONCURRENCY="2",
    ) as stack:
        session = stack.new_session()
        ids = [stack.submit(session, f"Memo {i}: we ask for budget. " * 30) for i in range(4)]
        for evaluation in ids:
            assert stack.wait_final(session, evaluation, timeout=60)["status"] == "completed"
        deadline = time.monotonic() + 10
        while True:
            text = httpx.get(stack.worker_metrics_url, timeout=5).text
            done = _sample(text, "memoai_evaluations_total", status="completed")
            if done == 4 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert done == 4
        assert _sample(text, "memoai_evaluation_duration_seconds_count") == 4
        assert _sample(text, "memoai_queue_depth") == 0
