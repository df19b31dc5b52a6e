"""Signed webhook deliveries to a receiver started by the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from memoai.webhooks.signing import verify
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration


class Receiver:
    """Answers `fail_first` requests with 500, then 200; records everything."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.received.append(
                    {"headers": dict(self.headers), "body": body, "at": time.time()}
                )
                status = 500 if len(outer.received) <= outer.fail_first else 200
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} deliveries"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root: Path = tmp_path_factory.mktemp("webhooks")
    env = {
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_BACKOFF": "[1, 1, 1]",
        "WEBHOOK_RETRY_INTERVAL": "1",
    }
    with running_stack(root, "sqlite", services=("api", "worker", "beat"), **env) as s:
        yield s


def test_callback_is_signed_with_the_owners_secret(
    stack: Stack, memos: list[dict[str, Any]]
) -> None:
    receiver = Receiver()
    session = stack.new_session()
    headers = {"X-Session-ID": session}
    with stack.client() as c:
        secret = c.get("/webhooks/secret", headers=headers).json()["data"]["secret"]
        eid = c.post(
            "/evaluations/submit",
            headers=headers,
            json={"text_content": memos[0]["text"], "callback_url": receiver.url},
        ).json()["data"]["evaluation_id"]
    receiver.wait_for(1)
    (hit,) = receiver.received
    h = {k.lower(): v for k, v in hit["headers"].items()}
    assert h["x-memoai-event"] == "evaluation.completed"
    assert verify(secret, h["x-memoai-timestamp"], h["x-memoai-signature"], hit["body"])
    payload = json.loads(hit["body"])
    assert payload["data"]["evaluation"]["id"] == eid
    assert payload["data"]["evaluation"]["status"] == "completed"
    with stack.client() as c:
        log = c.get(f"/webhooks/deliveries?evaluation_id={eid}", headers=headers).json()["data"]
        stranger = c.get(
            f"/webhooks/deliveries?evaluation_id={eid}",
            headers={"X-Session-ID": stack.new_session()},
        ).json()["data"]
    assert [d["status"] for d in log] == ["delivered"]
    assert log[0]["attempts"] == 1 and log[0]["last_status_code"] == 200
    assert stranger == []


def test_a_failing_receiver_gets_it_on_the_third_attempt(
    stack: Stack, memos: list[dict[str, Any]]
) -> None:
    receiver = Receiver(fail_first=2)
    session = stack.new_session()
    headers = {"X-Session-ID": session}
    with stack.client() as c:
        created = c.post("/webhooks", headers=headers, json={"url": receiver.url})
        assert created.status_code == 201
        endpoint_secret = created.json()["data"]["secret"]
        listed = c.get("/webhooks", headers=headers).json()["data"]
        assert "secret" not in listed[0]
        eid = c.post(
            "/evaluations/submit", headers=headers, json={"text_content": memos[1]["text"]}
        ).json()["data"]["evaluation_id"]
    receiver.wait_for(3, timeout=40)
    # The same delivery each time, with a fresh signature per attempt.
    assert len({json.loads(r["body"])["id"] for r in receiver.received}) == 1
    last = receiver.received[2]
    h = {k.lower(): v for k, v in last["headers"].items()}
    assert verify(endpoint_secret, h["x-memoai-timestamp"], h["x-memoai-signature"], last["body"])
    assert json.loads(last["body"])["attempt"] == 3
    deadline = time.monotonic() + 10
    while True:
        with stack.client() as c:
            log = c.get(f"/webhooks/deliveries?evaluation_id={eid}", headers=headers).json()["data"]
        if log and log[0]["status"] == "delivered":
            break
        assert time.monotonic() < deadline, log
        time.sleep(0.2)
    assert log[0]["attempts"] == 3
    assert log[0]["last_error"] is None


def test_loopback_is_refused_without_the_allow_list(
    tmp_path: Path, memos: list[dict[str, Any]]
) -> None:
    with running_stack(tmp_path, "sqlite", services=("api",)) as stack:
        session = stack.new_session()
        headers = {"X-Session-ID": session}
        with stack.client() as c:
            submit = c.post(
                "/evaluations/submit",
                headers=headers,
                json={"text_content": memos[0]["text"], "callback_url": "http://127.0.0.1:9/hook"},
            )
            endpoint = c.post("/webhooks", headers=headers, json={"url": "http://localhost/hook"})
            listed = c.get("/evaluations", headers=headers).json()["data"]
    assert submit.status_code == 422
    assert submit.json()["errors"][0]["field"] == "callback_url"
    assert "allowed_hosts" in submit.json()["errors"][0]["message"]
    assert endpoint.status_code == 422
    assert listed["total"] == 0
