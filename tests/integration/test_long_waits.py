"""Issue 14 point 1 on real processes: no request can starve others.

Long waits (chat POSTs waiting for the reply, reply streams) wait on the event
loop, not in the API's thread pool (API_THREADS=4, as production runs), so a
login and a status poll still answer at once while 20 of them are in progress;
each caller holds at most max_waits_per_caller of them; `Prefer: respond-async`
answers at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.auth import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    USER_PASSWORD,
    auth_overrides,
    bearer,
    create_user,
)
from tests.support.stack import BACKENDS, Stack, claude_overrides, running_stack

pytestmark = pytest.mark.integration

CALLERS = 5  # x (2 waiting POSTs + 2 streams) = 20 long waits, each caller at the cap of 4
SLOW = 1.5  # seconds between streamed pieces: a reply takes ~13 s to write
FAST_ENOUGH = 1.0


def _env(fake: FakeAnthropic, **more: str) -> dict[str, str]:
    # The pool size production runs with (backend.yaml workers.thread_count).
    return claude_overrides(fake.url, LLM_TIMEOUT="25", API_THREADS="4", **more)


def _assistant_rows(stack: Stack) -> list[dict[str, Any]]:
    url = stack.env.get("DATABASE_URL") or f"sqlite:///{Path(stack.env['DATA_DIR']) / 'memoai.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = text("SELECT id, status FROM chat_messages WHERE role = 'assistant'")
            return [dict(r) for r in conn.execute(query).mappings()]
    finally:
        engine.dispose()


def _until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"{what} not reached after {timeout}s"
        time.sleep(0.1)
    return value


def _completed_chat(c: httpx.Client, headers: dict[str, str], memo: str) -> tuple[str, str]:
    """A completed evaluation of `memo` and the chat opened on it."""
    submitted = c.post("/evaluations/submit", json={"text_content": memo}, headers=headers)
    assert submitted.status_code == 202, submitted.text
    eid = submitted.json()["data"]["evaluation_id"]

    def final() -> bool:
        status = c.get(f"/evaluations/{eid}/status", headers=headers).json()["data"]["status"]
        assert status != "failed"
        return bool(status == "completed")

    _until(final, 60, "evaluation completed")
    opened = c.post("/chat/sessions", json={"evaluation_id": eid}, headers=headers)
    assert opened.status_code == 201, opened.text
    return eid, str(opened.json()["data"]["chat_session_id"])


class Follower:
    """One SSE stream read in a thread: `connected` once the response started."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.connected = threading.Event()
        self.status: int | None = None
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()

    def _run(self, url: str, headers: dict[str, str]) -> None:
        event = "message"
        with httpx.stream("GET", url, headers=headers, timeout=60) as stream:
            self.status = stream.status_code
            self.connected.set()
            for line in stream.iter_lines():
                if self._stop.is_set():
                    return  # leaving the block closes the connection
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    self.events.append((event, json.loads(line[6:])))

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def close(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream did not end"


def _stream_url(stack: Stack, posted: httpx.Response) -> str:
    return f"{stack.api_url}{posted.json()['data']['stream_url']}"


# ---------------------------------------------------------------- no starvation


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_login_and_a_status_poll_answer_at_once_while_twenty_long_waits_are_in_progress(
    tmp_path: Path, fake: FakeAnthropic, memos: list[dict[str, Any]], backend: str
) -> None:
    env = _env(fake, **auth_overrides(BCRYPT_ROUNDS="4"))
    with running_stack(tmp_path, backend, **env) as stack, stack.client(timeout=60) as c:
        admin = bearer(stack, ADMIN_USERNAME, ADMIN_PASSWORD)
        callers = []
        for n in range(CALLERS):
            create_user(stack, admin, f"writer{n}")
            headers = bearer(stack, f"writer{n}", USER_PASSWORD)
            opened = [_completed_chat(c, headers, memos[k]["text"]) for k in range(3)]
            callers.append((headers, [chat for _eid, chat in opened]))
        create_user(stack, admin, "latecomer")
        some_eid, polling = opened[0][0], callers[-1][0]

        fake.state.chunk_delay = SLOW
        followers: list[Follower] = []
        for headers, chats in callers:
            posted = c.post(
                f"/chat/sessions/{chats[0]}/messages?wait=false",
                json={"message_content": "What should I fix first?"},
                headers=headers,
            )
            assert posted.status_code == 202, posted.text
            followers += [Follower(_stream_url(stack, posted), headers) for _ in range(2)]
        for follower in followers:
            assert follower.connected.wait(10), "a stream did not start"
            assert follower.status == 200
        pool = ThreadPoolExecutor(max_workers=2 * CALLERS)
        waiting: list[Future[httpx.Response]] = [
            pool.submit(
                c.post,
                f"/chat/sessions/{chat}/messages",  # wait=true, the default
                json={"message_content": f"How do I sharpen my ask ({chat})?"},
                headers=headers,
            )
            for headers, chats in callers
            for chat in chats[1:]
        ]
        try:
            # Every POST has stored its question (on a starved pool most would still
            # be queued for a thread: then the timings below fail).
            deadline = time.monotonic() + 5
            while len(_assistant_rows(stack)) < 3 * CALLERS and time.monotonic() < deadline:
                time.sleep(0.1)

            timings: list[tuple[str, float]] = []
            probes = (
                (
                    "login",
                    "POST",
                    "/auth/login",
                    {"username": "latecomer", "password": USER_PASSWORD},
                ),
                ("status", "GET", f"/evaluations/{some_eid}/status", None),
            )
            with stack.client(timeout=5) as quick:
                for what, method, path, body in probes * 3:
                    started = time.monotonic()
                    try:
                        answer: httpx.Response | None = quick.request(
                            method, path, json=body, headers=polling if body is None else {}
                        )
                    except httpx.TimeoutException:  # starved: no thread came free
                        answer = None
                    timings.append((what, round(time.monotonic() - started, 3)))
                    assert answer is not None and answer.status_code == 200, timings
            assert max(t for _, t in timings) < FAST_ENOUGH, timings

            # ... and all 20 waits were still in progress meanwhile.
            assert not any(f.done() for f in waiting)
            assert not any(f.done for f in followers)
            assert len(_assistant_rows(stack)) == 3 * CALLERS
        finally:
            fake.state.chunk_delay = 0.0
        for future in waiting:
            answered = future.result(timeout=60)
            assert answered.status_code == 201, answered.text
            data = answered.json()["data"]
            assert data["status"] == "completed"
            assert "How do I sharpen my ask" in data["assistant_response"]
        for follower in followers:
            follower.join(60)
            assert follower.events[-1][0] == "done"
            assert follower.events[-1][1]["status"] == "completed"
            assert "What should I fix first?" in follower.events[-1][1]["content"]
        pool.shutdown()


# ---------------------------------------------------------------- cap and Prefer


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, fake_anthropic: FakeAnthropic
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("long-waits")
    with running_stack(root, "sqlite", **_env(fake_anthropic)) as running:
        yield running


def _chats(stack: Stack, session: str, memos: list[dict[str, Any]], count: int) -> list[str]:
    with stack.client(timeout=60) as c:
        return [
            _completed_chat(c, {"X-Session-ID": session}, memos[k]["text"])[1] for k in range(count)
        ]


def test_a_caller_at_the_wait_cap_gets_202_for_a_post_and_429_for_another_stream(
    stack: Stack, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    session, other = stack.new_session(), stack.new_session()
    headers, other_headers = {"X-Session-ID": session}, {"X-Session-ID": other}
    first, second = _chats(stack, session, memos, 2)
    (elsewhere,) = _chats(stack, other, memos, 1)
    fake.state.chunk_delay = SLOW
    followers: list[Follower] = []
    try:
        with stack.client(timeout=60) as c:
            posted = c.post(
                f"/chat/sessions/{first}/messages?wait=false",
                json={"message_content": "Is my ask clear?"},
                headers=headers,
            )
            assert posted.status_code == 202, posted.text
            url = _stream_url(stack, posted)
            followers = [Follower(url, headers) for _ in range(4)]  # the default cap
            for follower in followers:
                assert follower.connected.wait(10) and follower.status == 200

            refused = httpx.get(url, headers=headers, timeout=10)
            assert refused.status_code == 429, refused.text
            assert refused.json()["errors"][0]["code"] == "too_many_waits"
            assert refused.json()["data"] is None
            assert int(refused.headers["Retry-After"]) > 0
            assert refused.headers["X-RateLimit-Limit"] == "4"

            # A waiting POST over the cap is not refused: stored, answered 202 at once.
            started = time.monotonic()
            degraded = c.post(
                f"/chat/sessions/{second}/messages",
                json={"message_content": "And the risks?"},
                headers=headers,
            )
            assert time.monotonic() - started < FAST_ENOUGH
            assert degraded.status_code == 202, degraded.text
            data = degraded.json()["data"]
            assert data["status"] in ("pending", "streaming") and data["assistant_response"] is None
            assert data["stream_url"].endswith(f"/messages/{data['assistant_message_id']}/stream")
            assert "Preference-Applied" not in degraded.headers
            listed = c.get(f"/chat/sessions/{second}/messages", headers=headers).json()["data"]
            assert listed["messages"][0]["content"] == "And the risks?"

            # Another caller is not affected.
            theirs = c.post(
                f"/chat/sessions/{elsewhere}/messages?wait=false",
                json={"message_content": "Hello?"},
                headers=other_headers,
            )
            followers.append(Follower(_stream_url(stack, theirs), other_headers))
            assert followers[-1].connected.wait(10) and followers[-1].status == 200

            # A closed stream gives its slot back.
            followers[0].close()

            def reopened() -> bool:
                followers.append(Follower(url, headers))
                assert followers[-1].connected.wait(10)
                return followers[-1].status == 200

            _until(reopened, 15, "a slot freed by a closed stream")
    finally:
        fake.state.chunk_delay = 0.0
        for follower in followers:
            follower.close()


def test_prefer_respond_async_answers_202_at_once_and_says_so(
    stack: Stack, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    session = stack.new_session()
    headers = {"X-Session-ID": session}
    (chat,) = _chats(stack, session, memos, 1)

    def ask(question: str, **more: str) -> httpx.Response:
        with stack.client(timeout=60) as c:
            response = c.post(
                f"/chat/sessions/{chat}/messages",
                json={"message_content": question},
                headers={**headers, **more},
            )
            # One question at a time: let this reply end before the next one.
            reply_id = response.json()["data"]["assistant_message_id"]
            _until(
                lambda: any(
                    m["id"] == reply_id and m["status"] == "completed"
                    for m in c.get(f"/chat/sessions/{chat}/messages", headers=headers).json()[
                        "data"
                    ]["messages"]
                ),
                30,
                "the reply completed",
            )
        return response

    fake.state.chunk_delay = 0.5
    for prefer in ("respond-async", "return=minimal, RESPOND-ASYNC; x=1"):
        started = time.monotonic()
        posted = ask(f"Quick one ({prefer})?", Prefer=prefer)
        assert posted.status_code == 202, posted.text
        assert posted.headers["Preference-Applied"] == "respond-async"
        data = posted.json()["data"]
        assert data["assistant_response"] is None and data["stream_url"]
        assert posted.elapsed.total_seconds() < FAST_ENOUGH, time.monotonic() - started

    fake.state.chunk_delay = 0.0
    for more in ({}, {"Prefer": "return=minimal"}):
        waited = ask("Did you wait?", **more)
        assert waited.status_code == 201, waited.text
        assert "Preference-Applied" not in waited.headers
        assert "Did you wait?" in waited.json()["data"]["assistant_response"]
