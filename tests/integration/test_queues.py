"""Queues on real workers: with one worker per queue, a chat reply is written
while the evaluations queue is blocked by slow work; the broker's depth is
reported per queue; Flower lists every queue. On both brokers."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.services import free_port
from tests.support.stack import BACKENDS, Stack, claude_overrides, running_stack

pytestmark = pytest.mark.integration

# Dedicated workers, as docs/operations.md suggests for production.
WORKERS = {
    "worker-bulk": "evaluations,batches,webhooks,maintenance",
    "worker-chat": "chat",
}


class Split:
    def __init__(self, stack: Stack, ports: dict[str, int]) -> None:
        self.stack = stack
        self.ports = ports

    def metrics(self, worker: str) -> str:
        return httpx.get(f"http://127.0.0.1:{self.ports[worker]}/metrics", timeout=5).text


def _wait_up(port: int, key: str, stack: Stack, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.procs[key].poll() is not None:
            raise RuntimeError(f"{key} exited:\n{stack.log(key)[-3000:]}")
        try:
            if "memoai_worker_up 1.0" in httpx.get(f"http://127.0.0.1:{port}/metrics").text:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{key} not up:\n{stack.log(key)[-3000:]}")


@pytest.fixture(scope="module", params=BACKENDS)
def split(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_anthropic: FakeAnthropic,
) -> Iterator[Split]:
    root = tmp_path_factory.mktemp(f"queues-{request.param}")
    overrides = claude_overrides(fake_anthropic.url, WORKER_CONCURRENCY="1")
    with running_stack(root, request.param, services=("api",), **overrides) as stack:
        ports = {}
        for key, queues in WORKERS.items():
            ports[key] = free_port()
            stack.start_process(
                "worker", "-Q", queues, key=key, env={"WORKER_METRICS_PORT": str(ports[key])}
            )
        for key, port in ports.items():
            _wait_up(port, key, stack)
        yield Split(stack, ports)


def _submit(stack: Stack, session: str, text: str) -> str:
    return stack.submit(session, text + f"\nRef {time.monotonic_ns()}.")


def _depth(metrics: str, queue: str) -> float:
    found = re.search(rf'^memoai_broker_queue_depth\{{queue="{queue}"\}} (\S+)$', metrics, re.M)
    assert found, f"no depth for {queue}"
    return float(found.group(1))


def test_a_chat_reply_is_written_while_evaluations_wait_behind_slow_work(
    split: Split, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    stack = split.stack
    session = stack.new_session()
    headers = {"X-Session-ID": session}
    first = _submit(stack, session, memos[0]["text"])
    assert stack.wait_final(session, first)["status"] == "completed"
    with stack.client() as c:
        chat_id = c.post("/chat/sessions", json={"evaluation_id": first}, headers=headers).json()[
            "data"
        ]["chat_session_id"]

    # Block the evaluations queue: one slot, each evaluation takes 1.5 s.
    fake.state.evaluation_latency = 1.5
    waiting = [_submit(stack, session, memos[n]["text"]) for n in range(1, 5)]
    deadline = time.monotonic() + 10
    while _depth(split.metrics("worker-bulk"), "evaluations") < 2:
        assert time.monotonic() < deadline, "the evaluations never queued up"
        time.sleep(0.1)
    metrics = split.metrics("worker-chat")  # every process reports the same broker state
    assert _depth(metrics, "evaluations") >= 2
    assert _depth(metrics, "chat") == 0
    for queue in ("batches", "webhooks", "maintenance"):
        assert _depth(metrics, queue) >= 0

    started = time.monotonic()
    with stack.client(timeout=30) as c:
        posted = c.post(
            f"/chat/sessions/{chat_id}/messages",
            json={"message_content": "What should I fix first?"},
            headers=headers,
        )
    replied_in = time.monotonic() - started
    assert posted.status_code == 201, posted.text
    assert posted.json()["data"]["status"] == "completed"
    states = [_status(stack, session, e) for e in waiting]
    # The reply did not wait for the queue ahead of it: most evaluations are still pending.
    assert sum(s in ("queued", "processing") for s in states) >= 2, (states, replied_in)
    for evaluation in waiting:
        assert stack.wait_final(session, evaluation, timeout=60)["status"] == "completed"


def _status(stack: Stack, session: str, evaluation_id: str) -> str:
    with stack.client() as c:
        response = c.get(f"/evaluations/{evaluation_id}/status", headers={"X-Session-ID": session})
    return str(response.json()["data"]["status"])


# Flower's broker view reads Redis (or AMQP), not the embedded broker: the Redis stack only.
@pytest.mark.parametrize("split", ["postgres"], indirect=True)
def test_flower_lists_every_queue(split: Split) -> None:
    stack = split.stack
    port = free_port()
    stack.start_process(
        "flower",
        f"--port={port}",
        "--address=127.0.0.1",
        key="flower",
        env={"FLOWER_UNAUTHENTICATED_API": "true"},
    )
    deadline = time.monotonic() + 40
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/api/queues/length", timeout=5)
            if response.status_code == 200:
                body = response.json()
                if len(body.get("active_queues", [])) >= 5:
                    break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    names = {q["name"] for q in body.get("active_queues", [])}
    assert {"evaluations", "chat", "batches", "webhooks", "maintenance"} <= names, (
        body,
        stack.log("flower")[-2000:],
    )
