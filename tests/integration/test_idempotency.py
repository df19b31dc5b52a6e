"""Idempotent submits over real processes: a retry after a dropped connection
creates one evaluation and one LLM call; a different body is a 409."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def _expire_key(stack: Stack, key: str) -> None:
    url = stack.env.get("DATABASE_URL") or f"sqlite:///{Path(stack.env['DATA_DIR']) / 'memoai.db'}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE idempotency_keys SET expires_at = created_at WHERE key = :key"),
                {"key": key},
            )
    finally:
        engine.dispose()


def _send_and_drop(stack: Stack, session: str, key: str, body: dict[str, Any]) -> None:
    """Send a complete request, then hang up without reading the answer."""
    payload = json.dumps(body).encode()
    port = int(stack.env["API_PORT"])
    request = (
        f"POST /api/v1/evaluations/submit HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        f"X-Session-ID: {session}\r\nIdempotency-Key: {key}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)


def test_retry_after_a_dropped_connection_is_one_evaluation_and_one_llm_call(
    stack: Stack, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    session = stack.new_session()
    tag = f"Ref {time.monotonic_ns()}."
    body = {"text_content": memos[0]["text"] + tag}
    key = f"submit-{time.monotonic_ns()}"
    _send_and_drop(stack, session, key, body)
    time.sleep(1.0)  # the server finished the first attempt; the client never saw it

    with stack.client() as c:
        retry = c.post(
            "/evaluations/submit",
            json=body,
            headers={"X-Session-ID": session, "Idempotency-Key": key},
        )
        assert retry.status_code == 202, retry.text
        assert retry.headers.get("idempotent-replayed") == "true"
        eid = retry.json()["data"]["evaluation_id"]
        again = c.post(
            "/evaluations/submit",
            json=body,
            headers={"X-Session-ID": session, "Idempotency-Key": key},
        )
        assert again.json()["data"]["evaluation_id"] == eid
        listed = c.get("/evaluations", headers={"X-Session-ID": session}).json()["data"]
    assert listed["total"] == 1
    assert stack.wait_final(session, eid)["status"] == "completed"
    time.sleep(0.5)
    assert len(fake.requests_for(tag)) == 1

    with stack.client() as c:
        other = c.post(
            "/evaluations/submit",
            json={"text_content": "A different memo body."},
            headers={"X-Session-ID": session, "Idempotency-Key": key},
        )
    assert other.status_code == 409
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"


def test_keys_belong_to_their_caller_and_expire(stack: Stack, memos: list[dict[str, Any]]) -> None:
    alice, bob = stack.new_session(), stack.new_session()
    key = f"shared-{time.monotonic_ns()}"
    body = {"text_content": memos[1]["text"]}
    with stack.client() as c:
        a = c.post(
            "/evaluations/submit",
            json=body,
            headers={"X-Session-ID": alice, "Idempotency-Key": key},
        )
        b = c.post(
            "/evaluations/submit", json=body, headers={"X-Session-ID": bob, "Idempotency-Key": key}
        )
        assert a.status_code == b.status_code == 202
        assert a.json()["data"]["evaluation_id"] != b.json()["data"]["evaluation_id"]
        assert "idempotent-replayed" not in b.headers

        # 24 hours later the key is free again.
        _expire_key(stack, key)
        fresh = c.post(
            "/evaluations/submit",
            json=body,
            headers={"X-Session-ID": alice, "Idempotency-Key": key},
        )
        assert fresh.status_code == 202
        assert fresh.json()["data"]["evaluation_id"] != a.json()["data"]["evaluation_id"]

        bad = c.post(
            "/evaluations/submit",
            json=body,
            headers={"X-Session-ID": alice, "Idempotency-Key": "has space"},
        )
        assert bad.status_code == 422
