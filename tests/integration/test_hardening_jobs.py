"""Issue 13, points 4-7, on real processes: stuck chat replies, endless evaluation
retries, webhook receivers that try to exhaust the worker. (Point 6, tokens after
a password change, is in test_api_tokens.py.)

Each test performs the fault or the abuse (SIGKILL of the worker mid-reply or
mid-evaluation, a stopped broker, a receiver that never stops talking) and
asserts it is repaired or refused.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.auth import ADMIN_PASSWORD, ADMIN_USERNAME, auth_overrides, bearer
from tests.support.services import free_port, unavailable
from tests.support.stack import BACKENDS, Stack, claude_overrides, running_stack, stack_env

pytestmark = pytest.mark.integration

LEASE = 4
SWEEP = 2
FAST = {"LEASE_SECONDS": str(LEASE), "SWEEP_INTERVAL": str(SWEEP), "SWEEP_UNPUBLISHED_AFTER": "1"}


def _rows(stack: Stack, sql: str, **params: Any) -> list[dict[str, Any]]:
    url = stack.env.get("DATABASE_URL") or f"sqlite:///{Path(stack.env['DATA_DIR']) / 'memoai.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]
    finally:
        engine.dispose()


def _kill_worker(stack: Stack) -> None:
    worker = stack.procs.pop("worker")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def _wait(predicate: Any, timeout: float, what: str, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached after {timeout}s"
        time.sleep(step)


def _completed(stack: Stack, session: str, memo: str) -> str:
    eid = stack.submit(session, memo)
    assert stack.wait_final(session, eid, timeout=60)["status"] == "completed"
    return eid


def _chat(stack: Stack, session: str, eid: str) -> str:
    with stack.client() as c:
        opened = c.post(
            "/chat/sessions", json={"evaluation_id": eid}, headers={"X-Session-ID": session}
        )
    assert opened.status_code == 201, opened.text
    return str(opened.json()["data"]["chat_session_id"])


def _messages(stack: Stack, session: str, chat_id: str) -> list[dict[str, Any]]:
    with stack.client() as c:
        response = c.get(f"/chat/sessions/{chat_id}/messages", headers={"X-Session-ID": session})
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["messages"])


def _reply(stack: Stack, session: str, chat_id: str, reply_id: str) -> dict[str, Any]:
    return next(m for m in _messages(stack, session, chat_id) if m["id"] == reply_id)


def _ask(stack: Stack, session: str, chat_id: str, question: str, wait: bool) -> httpx.Response:
    with stack.client(timeout=60) as c:
        return c.post(
            f"/chat/sessions/{chat_id}/messages?wait={'true' if wait else 'false'}",
            json={"message_content": question},
            headers={"X-Session-ID": session},
        )


# ---------------------------------------------------------------- 4. stuck chat replies


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reply_whose_worker_is_killed_fails_in_time_and_can_be_retried(
    tmp_path: Path, fake: FakeAnthropic, memos: list[dict[str, Any]], backend: str
) -> None:
    env = claude_overrides(fake.url, LLM_TIMEOUT="20", **FAST)
    with running_stack(tmp_path, backend, services=("api", "worker", "beat"), **env) as stack:
        session = stack.new_session()
        headers = {"X-Session-ID": session}
        chat_id = _chat(stack, session, _completed(stack, session, memos[0]["text"]))
        fake.state.chunk_delay = 1.0  # a slow model: the reply takes ~10 s to write
        posted = _ask(stack, session, chat_id, "How can I make my ask clearer?", wait=False)
        assert posted.status_code == 202, posted.text
        reply_id = posted.json()["data"]["assistant_message_id"]
        _wait(
            lambda: _reply(stack, session, chat_id, reply_id)["status"] == "streaming",
            30,
            "streaming",
        )
        _wait(lambda: fake.requests_for("How can I make my ask clearer?"), 10, "the chat call")
        time.sleep(1.5)  # inside the stream, a few pieces written

        _kill_worker(stack)
        killed = time.monotonic()
        # Nothing repairs it while the lease may still be alive: the conversation waits.
        blocked = _ask(stack, session, chat_id, "Are you there?", wait=False)
        assert blocked.status_code == 409, blocked.text
        fake.state.chunk_delay = 0.0
        stack.start("worker")
        failed = _wait(
            lambda: (m := _reply(stack, session, chat_id, reply_id))["status"] == "failed" and m,
            LEASE + 4 * SWEEP + 30,
            "the reply failed",
        )
        took = time.monotonic() - killed
        # Not before its lease could have run out: the last renewal came at most one renewal
        # period (lease/3, rounded up to the 1 s heartbeat: 2 s) before the kill.
        assert took >= LEASE - 2 - 0.5, took
        assert failed["error_code"] == "reply_interrupted"
        assert "Retry" in failed["error"]

        # The live stream ends too, with the failure, instead of hanging.
        with httpx.stream(
            "GET", f"{stack.api_url}/api/v1/chat/sessions/{chat_id}/messages/{reply_id}/stream",
            headers=headers, timeout=30,
        ) as stream:  # fmt: skip
            lines = [line for line in stream.iter_lines() if line.startswith("data: ")]
        done = json.loads(lines[-1][6:])
        assert done["status"] == "failed"

        with stack.client(timeout=60) as c:
            stale = c.post(
                f"/chat/sessions/{chat_id}/messages/{failed['id']}x/retry", headers=headers
            )
            assert stale.status_code == 404
            retried = c.post(f"/chat/sessions/{chat_id}/messages/{reply_id}/retry", headers=headers)
            assert retried.status_code == 200, retried.text
            data = retried.json()["data"]
            assert data["assistant_message_id"] == reply_id and data["status"] == "completed"
            assert "How can I make my ask clearer?" in data["assistant_response"]
            again = c.post(f"/chat/sessions/{chat_id}/messages/{reply_id}/retry", headers=headers)
            assert again.status_code == 409  # only a failed reply is retried
        asked = _ask(stack, session, chat_id, "And the risks?", wait=True)
        assert asked.status_code == 201, asked.text
        assert asked.json()["data"]["status"] == "completed"
        history = _messages(stack, session, chat_id)
        assert [m["status"] for m in history] == ["completed"] * 4
        assert [m["role"] for m in history] == ["user", "assistant"] * 2


@contextmanager
def own_redis(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A redis-server of our own that the test can stop and start again."""
    if shutil.which("redis-server") is None:
        unavailable("redis-server", "not installed")
    port = free_port()
    workdir = tmp_path / "redis"
    workdir.mkdir()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(
            subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(workdir)],
                stdout=subprocess.DEVNULL,
            )
        )  # fmt: skip
        _wait(
            lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True)
            .stdout.strip() == b"PONG",
            10,
            "redis up",
            step=0.1,
        )  # fmt: skip

    def stop() -> None:
        proc = procs.pop()
        proc.terminate()
        proc.wait()

    start()
    try:
        yield f"redis://127.0.0.1:{port}/0", (start, stop)
    finally:
        while procs:
            stop()


def test_a_reply_posted_while_the_broker_is_down_is_republished_and_completes(
    tmp_path: Path, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    with own_redis(tmp_path) as (redis, (start_redis, stop_redis)):
        overrides = {**claude_overrides(fake.url), **FAST, "REDIS_URL": redis}
        with stack_env(tmp_path, "postgres", **overrides) as env:
            stack = Stack(tmp_path, env, "postgres")
            stack.memoai("migrate")
            try:
                stack.start("api", "worker", "beat")
                session = stack.new_session()
                chat_id = _chat(stack, session, _completed(stack, session, memos[1]["text"]))

                stop_redis()
                started = time.monotonic()
                posted = _ask(stack, session, chat_id, "What should I fix first?", wait=False)
                assert time.monotonic() - started < 10  # posting does not wait on the broker
                assert posted.status_code == 202, posted.text
                reply_id = posted.json()["data"]["assistant_message_id"]
                [row] = _rows(
                    stack,
                    "SELECT status, enqueued_at FROM chat_messages WHERE id = :id",
                    id=reply_id,
                )
                assert row == {"status": "pending", "enqueued_at": None}  # known unpublished
                time.sleep(2 * SWEEP)
                assert _reply(stack, session, chat_id, reply_id)["status"] == "pending"

                start_redis()
                done = _wait(
                    lambda: (
                        (m := _reply(stack, session, chat_id, reply_id))["status"]
                        in ("completed", "failed")
                        and m
                    ),
                    60,
                    "the reply written after the broker came back",
                )
                assert done["status"] == "completed", done
                assert "What should I fix first?" in done["content"]
                asked = _ask(stack, session, chat_id, "Thanks. And the ask?", wait=True)
                assert asked.status_code == 201, asked.text
                assert asked.json()["data"]["status"] == "completed"
            finally:
                stack.stop()


# ---------------------------------------------------------------- 5. endless retries


def test_an_evaluation_that_kills_its_worker_fails_after_max_attempts(
    tmp_path: Path, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    # The model "hangs" far longer than the test: each attempt ends only when we
    # kill the worker. max_attempts is left at its default (3).
    fake.state.latency = 45
    env = {
        **claude_overrides(fake.url, LLM_TIMEOUT="50", EVALUATION_TIMEOUT="60"),
        **FAST,
        **auth_overrides(AUTH_ENABLED="false"),
    }
    with running_stack(tmp_path, "sqlite", services=("api", "worker", "beat"), **env) as stack:
        session = stack.new_session()
        tag = f"Case {time.monotonic_ns()}."
        eid = stack.submit(session, f"{memos[2]['text']}\n\n{tag}")
        for attempt in (1, 2, 3):
            _wait(lambda n=attempt: len(fake.requests_for(tag)) == n, 60, f"model call {attempt}")
            [row] = _rows(stack, "SELECT status, attempts FROM evaluations WHERE id = :id", id=eid)
            assert row == {"status": "processing", "attempts": attempt}
            _kill_worker(stack)
            stack.start("worker")

        final = stack.wait_final(session, eid, timeout=LEASE + 4 * SWEEP + 30)
        assert final["status"] == "failed"
        assert final["error_code"] == "too_many_attempts"
        assert "3 times" in final["error"]
        assert (final["attempts"], final["max_attempts"]) == (3, 3)
        # Well past another lease and sweeps: no fourth model call was ever made.
        time.sleep(LEASE + 2 * SWEEP)
        assert len(fake.requests_for(tag)) == 3

        admin = bearer(stack, ADMIN_USERNAME, ADMIN_PASSWORD)
        with stack.client() as c:
            debug = c.get(f"/debug/info?evaluation_id={eid}", headers=admin).json()["data"]
        assert debug["max_attempts"] == 3
        assert debug["evaluations"][0]["attempts"] == 3
        assert debug["evaluations"][0]["error_code"] == "too_many_attempts"

        # A deliberate retry by the owner gets a fresh budget and can succeed.
        fake.state.latency = 0
        with stack.client() as c:
            retried = c.post(f"/evaluations/{eid}/retry", headers={"X-Session-ID": session})
        assert retried.status_code == 202, retried.text
        assert retried.json()["data"]["attempts"] == 0
        again = stack.wait_final(session, eid, timeout=60)
        assert again["status"] == "completed", again
        assert again["attempts"] == 1


# ---------------------------------------------------------------- 7. webhook abuse


class Misbehaving:
    """Raw HTTP on 127.0.0.1 that answers each path in its own bad way; bounded loops."""

    MODES = ("endless-200", "endless-500", "drip-body", "drip-headers")

    def __init__(self) -> None:
        self.sent: dict[str, int] = {}
        self.durations: dict[str, float] = {}
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                head = b""
                while b"\r\n\r\n" not in head:
                    piece = sock.recv(65536)
                    if not piece:
                        return
                    head += piece
                path = head.split(b" ", 2)[1].decode()
                mode = path.strip("/")
                started = time.monotonic()
                sent = 0
                try:
                    if mode.startswith("endless"):
                        status = b"200 OK" if mode == "endless-200" else b"500 Oops"
                        sock.sendall(
                            b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\n\r\n"
                        )
                        chunk = b"x" * 65536
                        # Up to 1 GiB or 60 s: far more than a worker should ever take in.
                        while sent < 1 << 30 and time.monotonic() - started < 60:
                            sock.sendall(chunk)
                            sent += len(chunk)
                    elif mode == "drip-body":
                        sock.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 100000\r\n\r\n")
                        while sent < 600 and time.monotonic() - started < 60:
                            sock.sendall(b"y")
                            sent += 1
                            time.sleep(0.1)
                    else:  # drip-headers: the status line and headers never end
                        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 600:
                            sock.sendall(bytes([byte]))
                            sent += 1
                            time.sleep(0.1)
                except OSError:
                    pass  # the client hung up: what we want
                finally:
                    outer.sent[mode] = sent
                    outer.durations[mode] = time.monotonic() - started

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{mode}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Receiver:
    """A well-behaved receiver that records when each delivery arrived."""

    def __init__(self) -> None:
        self.times: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                outer.times.append(time.monotonic())
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("hardening-hooks")
    env = {
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_TIMEOUT": "2",
        "WEBHOOK_BACKOFF": "[600]",  # one attempt each within the test
        "WEBHOOK_RETRY_INTERVAL": "1",
        "WEBHOOK_MAX_PER_MINUTE": "2",
    }
    with running_stack(root, "sqlite", services=("api", "worker", "beat"), **env) as s:
        yield s


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _deliveries(stack: Stack, session: str, eid: str) -> list[dict[str, Any]]:
    with stack.client() as c:
        response = c.get(
            f"/webhooks/deliveries?evaluation_id={eid}", headers={"X-Session-ID": session}
        )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_receivers_that_never_stop_talking_cannot_exhaust_the_worker(
    hooks: Stack, memos: list[dict[str, Any]]
) -> None:
    bad = Misbehaving()
    try:
        session = hooks.new_session()
        headers = {"X-Session-ID": session}
        endpoint_ids = {}
        with hooks.client() as c:
            for mode in Misbehaving.MODES:
                created = c.post("/webhooks", json={"url": bad.url(mode)}, headers=headers)
                assert created.status_code == 201, created.text
                endpoint_ids[created.json()["data"]["id"]] = mode
        worker_pid = hooks.procs["worker"].pid
        rss_before = _rss_kib(worker_pid)
        eid = hooks.submit(session, memos[3]["text"])
        assert hooks.wait_final(session, eid)["status"] == "completed"
        attempted = _wait(
            lambda: (
                (d := _deliveries(hooks, session, eid))
                and len(d) == 4
                and all(x["attempts"] == 1 for x in d)
                and d
            ),
            30,
            "one attempt per endpoint",
        )
        by_mode = {endpoint_ids[d["endpoint_id"]]: d for d in attempted}

        ok = by_mode["endless-200"]
        assert (ok["status"], ok["last_status_code"]) == ("delivered", 200)
        endless = by_mode["endless-500"]
        assert (endless["status"], endless["last_status_code"]) == ("pending", 500)
        assert "[answer cut at 4096 bytes]" in endless["last_error"]
        assert endless["last_error"].startswith("HTTP 500: xxxx")
        drip = by_mode["drip-body"]
        assert drip["status"] == "pending" and drip["last_status_code"] == 500
        assert "did not arrive in 2 s" in drip["last_error"]
        headers_drip = by_mode["drip-headers"]
        assert headers_drip["status"] == "pending" and headers_drip["last_status_code"] is None
        assert "Timeout" in headers_drip["last_error"]

        _wait(lambda: len(bad.sent) == 4, 20, "every connection closed")
        # The worker hung up early: a few socket buffers, not the gigabyte on offer.
        assert bad.sent["endless-200"] < 64 << 20, bad.sent
        assert bad.sent["endless-500"] < 64 << 20, bad.sent
        # Drips were cut at the 2 s limit for the whole exchange (plus slack for a
        # loaded machine), though every byte arrived well within a read timeout.
        assert bad.durations["drip-body"] < 6, bad.durations
        assert bad.durations["drip-headers"] < 6, bad.durations
        assert bad.sent["drip-headers"] < 100, bad.sent

        # Healthy afterwards: memory bounded, metrics up, the next memo evaluated.
        assert _rss_kib(worker_pid) - rss_before < 64 * 1024
        assert hooks.procs["worker"].poll() is None
        assert "memoai_worker_up 1.0" in httpx.get(hooks.worker_metrics_url, timeout=5).text
        with hooks.client() as c:
            for endpoint_id in endpoint_ids:
                c.delete(f"/webhooks/{endpoint_id}", headers=headers)
        after = hooks.submit(session, memos[4]["text"])
        assert hooks.wait_final(session, after)["status"] == "completed"
    finally:
        bad.close()


def test_an_owner_gets_at_most_the_configured_number_of_endpoints(hooks: Stack) -> None:
    receiver = Receiver()
    alice, bob = hooks.new_session(), hooks.new_session()
    with hooks.client() as c:
        created = []
        for _ in range(10):  # the default max_endpoints_per_owner
            response = c.post(
                "/webhooks", json={"url": receiver.url}, headers={"X-Session-ID": alice}
            )
            assert response.status_code == 201, response.text
            created.append(response.json()["data"]["id"])
        refused = c.post("/webhooks", json={"url": receiver.url}, headers={"X-Session-ID": alice})
        assert refused.status_code == 409, refused.text
        error = refused.json()["errors"][0]
        assert error["code"] == "too_many_endpoints"
        assert "10 webhook endpoints" in error["message"]
        listed = c.get("/webhooks", headers={"X-Session-ID": alice}).json()["data"]
        assert len(listed) == 10  # nothing half-written
        # Another owner is not affected, and a freed slot can be used again.
        other = c.post("/webhooks", json={"url": receiver.url}, headers={"X-Session-ID": bob})
        assert other.status_code == 201
        assert (
            c.delete(f"/webhooks/{created[0]}", headers={"X-Session-ID": alice}).status_code == 204
        )
        reused = c.post("/webhooks", json={"url": receiver.url}, headers={"X-Session-ID": alice})
        assert reused.status_code == 201


def test_deliveries_over_the_per_minute_cap_are_deferred_not_dropped(
    hooks: Stack, memos: list[dict[str, Any]]
) -> None:
    receiver = Receiver()
    session = hooks.new_session()
    headers = {"X-Session-ID": session}
    with hooks.client() as c:
        assert c.post("/webhooks", json={"url": receiver.url}, headers=headers).status_code == 201
    ids = [
        hooks.submit(session, f"{memos[i]['text']}\n\nRef {i}-{time.monotonic_ns()}.")
        for i in range(4)
    ]
    for eid in ids:
        assert hooks.wait_final(session, eid)["status"] == "completed"

    _wait(lambda: len(receiver.times) >= 2, 20, "the first two deliveries")
    time.sleep(5)
    assert len(receiver.times) == 2  # WEBHOOK_MAX_PER_MINUTE=2: the others wait
    waiting = [
        d for eid in ids for d in _deliveries(hooks, session, eid) if d["status"] == "pending"
    ]
    assert len(waiting) == 2
    assert all(d["attempts"] == 0 and d["next_attempt_at"] for d in waiting)
    sent = [
        d for eid in ids for d in _deliveries(hooks, session, eid) if d["status"] == "delivered"
    ]
    first = min(datetime.fromisoformat(d["delivered_at"]) for d in sent)
    for d in waiting:  # due again once the first attempt has left the minute
        assert (datetime.fromisoformat(d["next_attempt_at"]) - first).total_seconds() >= 59

    _wait(lambda: len(receiver.times) == 4, 90, "the deferred deliveries", step=1)
    times = sorted(receiver.times)
    assert times[2] - times[0] >= 59, times  # not before the first one left the minute
    for eid in ids:
        [delivery] = _deliveries(hooks, session, eid)
        assert delivery["status"] == "delivered" and delivery["attempts"] == 1
