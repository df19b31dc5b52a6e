"""Rate limits over HTTP: 429 with the headers, and one budget shared by two API
processes through Redis (as behind a load balancer)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import cycle

import httpx
import pytest
import redis

from tests.support.auth import MEMO
from tests.support.services import free_port
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration

PER_MINUTE = 10
SUBMISSIONS = 3
IP_MULTIPLIER = 2


@pytest.fixture(scope="module")
def two_apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, list[str]]]:
    root = tmp_path_factory.mktemp("ratelimit")
    limits = {
        "RATE_LIMIT_PER_MINUTE": str(PER_MINUTE),
        "SUBMISSIONS_PER_HOUR": str(SUBMISSIONS),
        "RATE_LIMIT_IP_MULTIPLIER": str(IP_MULTIPLIER),
    }
    with running_stack(root, "postgres", services=("api",), **limits) as stack:
        second_port = free_port()
        stack.start_process("api", "--port", str(second_port), key="api-2")
        second = f"http://127.0.0.1:{second_port}"
        deadline = time.monotonic() + 40
        while True:
            try:
                if httpx.get(f"{second}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, stack.log("api-2")[-3000:]
            time.sleep(0.2)
        yield stack, [f"{stack.api_url}/api/v1", f"{second}/api/v1"]


def _new_session(base: str, ip: str) -> str:
    response = httpx.post(f"{base}/sessions", headers={"X-Forwarded-For": ip})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["session_id"])


def _assert_429(response: httpx.Response, limit: int, scope: str) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["errors"][0]
    assert error["code"] == "rate_limited" and error["details"]["scope"] == scope
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-ratelimit-limit"] == str(limit)
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-reset"]) >= 1


def test_a_burst_over_the_limit_gets_429_across_two_processes(
    two_apis: tuple[Stack, list[str]],
) -> None:
    _stack, bases = two_apis
    ip = "198.51.100.10"  # via X-Forwarded-For, which uvicorn trusts from 127.0.0.1
    session = _new_session(bases[0], ip)
    headers = {"X-Session-ID": session, "X-Forwarded-For": ip}
    served: list[str] = []
    for base in cycle(bases):
        response = httpx.get(f"{base}/evaluations", headers=headers)
        if response.status_code != 200:
            break
        served.append(base)
        assert int(response.headers["x-ratelimit-remaining"]) >= 0
        assert len(served) <= PER_MINUTE, "the limit did not hold across processes"
    # Each process alone allowed only part of the budget: the count is shared.
    assert len(served) == PER_MINUTE
    assert set(served) == set(bases)
    _assert_429(response, PER_MINUTE, "requests")
    for base in bases:  # refused by both, not just the one that counted last
        _assert_429(httpx.get(f"{base}/evaluations", headers=headers), PER_MINUTE, "requests")


def test_fresh_sessions_do_not_escape_the_per_ip_limit(
    two_apis: tuple[Stack, list[str]],
) -> None:
    _stack, bases = two_apis
    ip = "198.51.100.20"
    statuses = []
    for base, _ in zip(cycle(bases), range(PER_MINUTE * IP_MULTIPLIER + 1), strict=False):
        response = httpx.post(f"{base}/sessions", headers={"X-Forwarded-For": ip})
        statuses.append(response.status_code)
    assert statuses[:-1] == [201] * (PER_MINUTE * IP_MULTIPLIER)
    _assert_429(response, PER_MINUTE * IP_MULTIPLIER, "requests")
    # Another address is unaffected.
    assert (
        httpx.post(f"{bases[1]}/sessions", headers={"X-Forwarded-For": "198.51.100.21"}).status_code
        == 201
    )


def test_submissions_per_hour_hold_across_processes(
    two_apis: tuple[Stack, list[str]],
) -> None:
    stack, bases = two_apis
    ip = "198.51.100.30"
    headers = {"X-Session-ID": _new_session(bases[0], ip), "X-Forwarded-For": ip}
    codes = [
        httpx.post(f"{base}/evaluations/submit", json={"text_content": MEMO}, headers=headers)
        for base, _ in zip(cycle(bases), range(SUBMISSIONS + 1), strict=False)
    ]
    assert [c.status_code for c in codes[:SUBMISSIONS]] == [202] * SUBMISSIONS
    _assert_429(codes[-1], SUBMISSIONS, "submissions")
    assert 3000 < int(codes[-1].headers["retry-after"]) <= 3600

    # The counters live in Redis under this stack's REDIS_KEY_PREFIX.
    prefix = stack.env["REDIS_KEY_PREFIX"]
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        assert list(client.scan_iter(match=f"{prefix}:ratelimit:*", count=500))
    finally:
        client.close()
    # The refusing process (the second one here) counted it.
    metrics = httpx.get(bases[1].removesuffix("/api/v1") + "/metrics").text
    assert 'memoai_rate_limited_total{scope="submissions"} 1.0' in metrics
