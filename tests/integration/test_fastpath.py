"""memoai_api.fastpath answers the status poll and the result read as the routes would.

Two apps on one database, one with the fast path and one without, get the same
requests in the same order (each has its own in-memory rate limiter, so the
counts match) and must give the same status, body (but for meta's timestamp and
request id, and an estimate made of the time) and headers (but for the date and the request id).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from memoai.platform import metrics
from memoai.platform.db import get_engine
from memoai.platform.migrate import upgrade
from memoai_api import fastpath
from tests.integration.conftest import reset_process_state
from tests.support.auth import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    MEMO,
    USER_PASSWORD,
    auth_overrides,
)
from tests.support.services import postgres_database
from tests.support.stack import BACKENDS

pytestmark = pytest.mark.integration

Pair = tuple[TestClient, TestClient]
VARYING = {"date", "x-request-id", "set-cookie"}
# Seconds until a rate-limit window resets: the two requests of a pair are
# made one after the other, so on a slow machine they may straddle a second.
RESET_HEADERS = ("retry-after", "x-ratelimit-reset")
RETRY_IN = re.compile(r"retry in (\d+) s")


def _align_resets(one: dict[str, Any], two: dict[str, Any]) -> None:
    """Equal the retry-in seconds of two error bodies that differ by at most one."""
    for a, b in zip(one.get("errors") or [], two.get("errors") or [], strict=False):
        x, y = RETRY_IN.search(a.get("message", "")), RETRY_IN.search(b.get("message", ""))
        if x and y:
            assert abs(int(x[1]) - int(y[1])) <= 1, (a, b)
            b["message"] = RETRY_IN.sub(f"retry in {x[1]} s", b["message"])


@pytest.fixture(params=BACKENDS)
def pair_factory(
    request: pytest.FixtureRequest, app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Pair]]:
    """On Postgres the reads run through the async driver, one pool per test
    client's event loop (two loops here, at the same time)."""
    with ExitStack() as stack:
        if request.param == "postgres":
            monkeypatch.setenv("DATABASE_URL", stack.enter_context(postgres_database()))

        def make(**env: str) -> Pair:
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            reset_process_state()
            upgrade(get_engine())
            from memoai_api.app import create_app

            fast = stack.enter_context(TestClient(create_app(), base_url="http://127.0.0.1"))
            routed = stack.enter_context(
                TestClient(create_app(fast_paths=False), base_url="http://127.0.0.1")
            )
            return fast, routed

        yield make


def _same(fast: httpx.Response, routed: httpx.Response) -> dict[str, Any]:
    assert fast.status_code == routed.status_code, (fast.text, routed.text)
    one, two = fast.json(), routed.json()
    assert set(one["meta"]) == set(two["meta"]) == {"timestamp", "request_id"}
    assert one["meta"]["request_id"] == fast.headers["x-request-id"]
    del one["meta"], two["meta"]
    for body in (one, two):  # now + the expected duration: differs by the time between
        data = body["data"]
        if isinstance(data, dict) and data.get("status") in ("queued", "processing"):
            assert data.pop("estimated_completion")
    _align_resets(one, two)
    assert one == two
    varying = set(VARYING)
    if fast.headers.get("content-encoding") == "gzip":
        # The meta (timestamp, request id) compresses to a varying length.
        varying.add("content-length")
    _same_headers(fast, routed, varying)
    assert ("set-cookie" in fast.headers) == ("set-cookie" in routed.headers)
    return one  # type: ignore[no-any-return]


def _same_headers(fast: httpx.Response, routed: httpx.Response, varying: set[str]) -> None:
    varying = set(varying)
    for name in RESET_HEADERS:
        x, y = fast.headers.get(name), routed.headers.get(name)
        if x is not None and y is not None and x != y:
            assert x.isdigit() and y.isdigit() and abs(int(x) - int(y)) <= 1, (name, x, y)
            varying.add(name)
    headers = {k: v for k, v in fast.headers.items() if k not in varying}
    assert headers == {k: v for k, v in routed.headers.items() if k not in varying}


def _both(pair: Pair, path: str, **headers: str) -> dict[str, Any]:
    fast, routed = pair
    return _same(fast.get(path, headers=headers), routed.get(path, headers=headers))


def _record_shortcuts(
    monkeypatch: pytest.MonkeyPatch, entry: Callable[[Any, Any], Any] = lambda _s, key: key
) -> list[Any]:
    """What the fast path answered: entry(shortcut, key) per shortcut taken."""
    taken: list[Any] = []
    shortcut = fastpath._credential_and_read

    def counted(found: Any, request: Any, settings: Any, key: Any) -> Any:
        taken.append(entry(found, key))
        return shortcut(found, request, settings, key)

    monkeypatch.setattr(fastpath, "_credential_and_read", counted)
    return taken


def test_anonymous_status_errors_and_odd_ids_answer_as_the_route(
    pair_factory: Callable[..., Pair], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _record_shortcuts(monkeypatch)
    pair = pair_factory(RATE_LIMIT_PER_MINUTE="12")
    fast, routed = pair
    # The same requests on both, from the same session, so the per-IP and the
    # per-caller limits count alike (the sessions live in the one database).
    created = [
        [c.post("/api/v1/sessions").json()["data"]["session_id"] for c in pair] for _ in "ab"
    ]
    session, other = created[0][0], created[1][0]
    own = {"X-Session-ID": session}
    evaluations = []
    for client in pair:
        client.cookies.clear()
        submitted = client.post(
            "/api/v1/evaluations/submit", json={"text_content": MEMO}, headers=own
        )
        assert submitted.status_code == 202
        evaluations.append(submitted.json()["data"]["evaluation_id"])
    evaluation = evaluations[0]
    status = f"/api/v1/evaluations/{evaluation}/status"

    body = _both(pair, status, **own)
    assert body["data"]["evaluation_id"] == evaluation
    assert body["data"]["status"] in ("queued", "processing", "completed")
    # Another session's evaluation, an unknown one, no credential, a bad one.
    assert _both(pair, status, **{"X-Session-ID": other})["errors"][0]["code"] == "not_found"
    assert _both(pair, "/api/v1/evaluations/nope/status", **own)["errors"][0]["code"] == (
        "not_found"
    )
    assert _both(pair, status)["errors"][0]["code"] == "session_required"
    assert _both(pair, status, **{"X-Session-ID": "forged"})["errors"][0]["code"] == (
        "session_invalid"
    )
    # Longer than the route's max_length: the fast path leaves it to the route (422).
    too_long = "/api/v1/evaluations/" + "e" * 65 + "/status"
    assert _both(pair, too_long, **own)["errors"][0]["code"] == "validation_error"
    # The per-IP limit (12 x ip_multiplier) or the caller's (12) ends in the same 429.
    codes = [fast.get(status, headers=own).status_code for _ in range(15)]
    routed_codes = [routed.get(status, headers=own).status_code for _ in range(15)]
    assert codes == routed_codes
    assert 429 in codes
    assert _both(pair, status, **own)["errors"][0]["code"] == "rate_limited"
    # The fast app answered through the fast path (but for the over-long id).
    assert taken[:3] == [evaluation, evaluation, "nope"]
    assert "e" * 65 not in taken


def test_a_logged_in_cookie_caller_gets_the_csrf_cookie_and_the_route_label(
    pair_factory: Callable[..., Pair],
) -> None:
    pair = pair_factory(**auth_overrides(BCRYPT_ROUNDS="4"))
    statuses: list[str] = []
    for client in pair:
        login = client.post(
            "/api/v1/auth/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200
        csrf = client.cookies.get("memoai_csrf_token") or ""
        submitted = client.post(
            "/api/v1/evaluations/submit",
            json={"text_content": MEMO},
            headers={"X-CSRF-Token": csrf},
        )
        assert submitted.status_code == 202, submitted.text
        statuses.append(f"/api/v1/evaluations/{submitted.json()['data']['evaluation_id']}/status")
        # Without its CSRF cookie a reading page gets a fresh one (safe method).
        client.cookies.delete("memoai_csrf_token")

    template = "/api/v1/evaluations/{evaluation_id}/status"
    label = metrics.HTTP_REQUESTS.labels("api", "GET", template, "200")
    before = label._value.get()
    fast, routed = pair
    one, two = fast.get(statuses[0]), routed.get(statuses[1])
    assert one.status_code == two.status_code == 200
    assert "memoai_csrf_token=" in one.headers["set-cookie"]
    assert "memoai_csrf_token=" in two.headers["set-cookie"]
    assert one.json()["data"].keys() == two.json()["data"].keys()
    # Both requests are counted under the route's template.
    assert label._value.get() - before == 2
    # A bearer token that is not valid is refused alike.
    bad = {"Authorization": "Bearer not-a-token"}
    assert _both(pair, statuses[0], **bad)["errors"][0]["code"] == "token_invalid"
    # A cookie caller's submit without its CSRF token: the same 403 from both.
    refused = _same(
        fast.post("/api/v1/evaluations/submit", json={"text_content": MEMO}),
        routed.post("/api/v1/evaluations/submit", json={"text_content": MEMO}),
    )
    assert refused["errors"][0]["code"].startswith("csrf")


@contextmanager
def _statements() -> Iterator[list[str]]:
    """The SQL statements run meanwhile, on any engine (the async one's
    included); not SQLite's BEGIN, which opens the transaction and is no query."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        if args[2] != "BEGIN":
            seen.append(args[2])

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _counted(pair: Pair, path: str, headers: dict[str, str]) -> tuple[int, int, dict[str, Any]]:
    """(statements the fast app ran, the routed app's, the answer both gave)."""
    fast, routed = pair
    with _statements() as one:
        answer = fast.get(path, headers=headers)
    with _statements() as two:
        routed_answer = routed.get(path, headers=headers)
    return len(one), len(two), _same(answer, routed_answer)


def _on_both(pair: Pair, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The same set-up request to both apps (their rate limiters count alike);
    the fast one's answer. Both answer from the one database, so the second
    app's copy only keeps the counts equal (a second login, user or memo)."""
    fast, routed = pair
    answer = fast.request(method, path, **kwargs)
    routed.request(method, path, **kwargs)
    return answer


@pytest.mark.parametrize("mode", ["jwt_session", "session_only"])
def test_a_login_s_status_poll_reads_the_caller_and_the_evaluation_in_one_statement(
    pair_factory: Callable[..., Pair], app_env: Path, mode: str
) -> None:
    auth_file = app_env / "config" / "auth.yaml"
    auth_file.write_text(auth_file.read_text().replace('"jwt_session"', f'"{mode}"'))
    pair = pair_factory(**auth_overrides(BCRYPT_ROUNDS="4"))

    def log_in(username: str, password: str) -> dict[str, str]:
        body = {"username": username, "password": password}
        response = _on_both(pair, "POST", "/api/v1/auth/login", json=body)
        assert response.status_code == 200, response.text
        for client in pair:
            client.cookies.clear()  # the bearer token only
        return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}

    admin = log_in(ADMIN_USERNAME, ADMIN_PASSWORD)
    fast, routed = pair
    created = fast.post(
        "/api/v1/users", json={"username": "writer", "password": USER_PASSWORD}, headers=admin
    )
    assert created.status_code == 201, created.text
    routed.get("/api/v1/users", headers=admin)  # counted alike
    writer = log_in("writer", USER_PASSWORD)
    memo = {"text_content": MEMO}
    submitted = _on_both(pair, "POST", "/api/v1/evaluations/submit", json=memo, headers=writer)
    assert submitted.status_code == 202, submitted.text
    status = f"/api/v1/evaluations/{submitted.json()['data']['evaluation_id']}/status"
    assert _on_both(pair, "GET", status, headers=writer).status_code == 200  # estimate cached

    # The writer's own: one statement on the fast path, two through the route.
    fast_count, routed_count, body = _counted(pair, status, writer)
    assert body["data"]["status"] in ("queued", "processing", "completed")
    assert (fast_count, routed_count) == (1, 2)
    # Another login's (the admin's is not theirs either): the same 404, one statement.
    fast_count, _, body = _counted(pair, status, admin)
    assert body["errors"][0]["code"] == "not_found" and fast_count == 1
    # An unknown id: the same 404.
    unknown = _counted(pair, "/api/v1/evaluations/nope/status", writer)[2]
    assert unknown["errors"][0]["code"] == "not_found"
    # A personal API token: read in two steps, the same answer.
    token = _on_both(pair, "POST", "/api/v1/tokens", json={"name": "ci"}, headers=writer)
    assert token.status_code == 201, token.text
    by_token = {"Authorization": f"Bearer {token.json()['data']['token']}"}
    answered = _counted(pair, status, by_token)[2]["data"]
    assert answered["status"] in ("queued", "processing", "completed")
    # Logged out: the token is refused alike, before any evaluation is read.
    assert fast.post("/api/v1/auth/logout", headers=writer).status_code == 200
    routed.get(status, headers=admin)  # counted alike
    assert _counted(pair, status, writer)[2]["errors"][0]["code"] == "token_invalid"


def test_an_anonymous_status_poll_reads_the_session_and_the_evaluation_in_one_statement(
    pair_factory: Callable[..., Pair],
) -> None:
    pair = pair_factory()
    made = _on_both(pair, "POST", "/api/v1/sessions")
    session = made.json()["data"]["session_id"]
    cookies = dict(pair[0].cookies)
    own = {"X-Session-ID": session}
    for client in pair:
        client.cookies.clear()
    memo = {"text_content": MEMO}
    submitted = _on_both(pair, "POST", "/api/v1/evaluations/submit", json=memo, headers=own)
    assert submitted.status_code == 202, submitted.text
    evaluation = submitted.json()["data"]["evaluation_id"]
    status = f"/api/v1/evaluations/{evaluation}/status"
    assert _on_both(pair, "GET", status, headers=own).status_code == 200  # estimate cached

    assert _counted(pair, status, own)[:2] == (1, 2)
    # By the session cookie: the same, one statement.
    for client in pair:
        client.cookies.update(cookies)
    fast_count, routed_count, body = _counted(pair, status, {})
    assert body["data"]["evaluation_id"] == evaluation
    assert (fast_count, routed_count) == (1, 2)
    for client in pair:
        client.cookies.clear()
    # Another session's evaluation: 404, one statement; an unknown session: 401.
    other = _on_both(pair, "POST", "/api/v1/sessions").json()["data"]["session_id"]
    for client in pair:
        client.cookies.clear()
    fast_count, _, body = _counted(pair, status, {"X-Session-ID": other})
    assert body["errors"][0]["code"] == "not_found" and fast_count == 1
    fast_count, _, body = _counted(pair, status, {"X-Session-ID": "forged"})
    assert body["errors"][0]["code"] == "session_invalid" and fast_count == 1


def test_the_history_page_reads_its_rows_and_its_total_in_one_statement(
    pair_factory: Callable[..., Pair],
) -> None:
    pair = pair_factory()
    session = _on_both(pair, "POST", "/api/v1/sessions").json()["data"]["session_id"]
    own = {"X-Session-ID": session}
    for client in pair:
        client.cookies.clear()
    for _ in range(3):  # on both apps: six evaluations
        memo = {"text_content": MEMO}
        answer = _on_both(pair, "POST", "/api/v1/evaluations/submit", json=memo, headers=own)
        assert answer.status_code == 202, answer.text
    history = "/api/v1/evaluations"

    # The credential, then the page with its total: two statements, both ways.
    fast_count, routed_count, body = _counted(pair, f"{history}?limit=4", own)
    assert (len(body["data"]["items"]), body["data"]["total"]) == (4, 6)
    assert (fast_count, routed_count) == (2, 2)
    fast_count, _, body = _counted(pair, f"{history}?limit=4&offset=4", own)
    assert (len(body["data"]["items"]), body["data"]["total"], fast_count) == (2, 6, 2)
    # A page past the end has no row to carry the total: one count more.
    fast_count, _, body = _counted(pair, f"{history}?offset=10", own)
    assert (body["data"]["items"], body["data"]["total"], fast_count) == ([], 6, 3)
    # Filtered by a status none has, and a session with nothing yet: total 0.
    fast_count, _, body = _counted(pair, f"{history}?status=failed", own)
    assert (body["data"]["items"], body["data"]["total"], fast_count) == ([], 0, 2)
    other = _on_both(pair, "POST", "/api/v1/sessions").json()["data"]["session_id"]
    for client in pair:
        client.cookies.clear()
    fast_count, _, body = _counted(pair, history, {"X-Session-ID": other})
    assert (body["data"]["items"], body["data"]["total"], fast_count) == ([], 0, 2)


def test_the_result_read_answers_as_the_route_before_and_after_it_completes(
    pair_factory: Callable[..., Pair], monkeypatch: pytest.MonkeyPatch
) -> None:
    from memoai.evaluation import pipeline

    taken = _record_shortcuts(monkeypatch, lambda found, key: (found.read.__name__, key))
    pair = pair_factory()

    def on_both(method: str, path: str, **kw: Any) -> Any:
        """Every request on both apps, so their rate-limit counts stay equal;
        the data of the first app's answer."""
        answers = [c.request(method, path, **kw).json()["data"] for c in pair]
        return answers[0]

    session = on_both("POST", "/api/v1/sessions")["session_id"]
    other = on_both("POST", "/api/v1/sessions")["session_id"]
    own = {"X-Session-ID": session}
    for client in pair:
        client.cookies.clear()  # the header is the credential, or none at all
    submitted = on_both(
        "POST", "/api/v1/evaluations/submit", json={"text_content": MEMO}, headers=own
    )
    evaluation = submitted["evaluation_id"]
    result = f"/api/v1/evaluations/{evaluation}"

    # Not finished: the same 425 from both.
    waiting = _both(pair, result, **own)
    assert waiting["errors"][0]["code"] == "not_ready"
    assert pipeline.process(evaluation) == "completed"
    done = _both(pair, result, **own)["data"]["evaluation"]
    assert done["id"] == evaluation and done["status"] == "completed"
    assert done["text_content"] == MEMO and done["rubric_scores"] and done["segment_feedback"]
    # Not the caller's, unknown, no or a forged credential, an id too long.
    assert _both(pair, result, **{"X-Session-ID": other})["errors"][0]["code"] == "not_found"
    assert _both(pair, "/api/v1/evaluations/nope", **own)["errors"][0]["code"] == "not_found"
    assert _both(pair, result)["errors"][0]["code"] == "session_required"
    assert _both(pair, result, **{"X-Session-ID": "forged"})["errors"][0]["code"] == (
        "session_invalid"
    )
    too_long = "/api/v1/evaluations/" + "e" * 65
    assert _both(pair, too_long, **own)["errors"][0]["code"] == "validation_error"
    # The history page is shortcut too; the comparison is not; the status still is.
    assert _both(pair, "/api/v1/evaluations", **own)["data"]["total"] == 2
    _both(pair, f"{result}/comparison", **own)
    _both(pair, f"{result}/status", **own)
    readers = [name for name, _ in taken]
    assert readers.count("_result") == 6 and readers.count("read_status") == 1
    assert readers.count("_history") == 1
    assert ("_result", "e" * 65) not in taken and ("_result", "nope") in taken


def test_the_history_page_answers_as_the_route_and_leaves_odd_queries_to_it(
    pair_factory: Callable[..., Pair], monkeypatch: pytest.MonkeyPatch
) -> None:
    from memoai.evaluation import pipeline

    taken = _record_shortcuts(monkeypatch)
    pair = pair_factory()
    answers = [c.post("/api/v1/sessions").json()["data"]["session_id"] for c in pair]
    own = {"X-Session-ID": answers[0]}
    for client in pair:
        client.cookies.clear()
    ids = []  # each memo on both apps (their rate-limit counts stay equal): six rows
    for n in range(3):
        body = {"text_content": f"{MEMO}\n\nVersion {n}."}
        for client in pair:
            answer = client.post("/api/v1/evaluations/submit", json=body, headers=own)
            ids.append(answer.json()["data"]["evaluation_id"])
    assert pipeline.process(ids[0]) == "completed"
    shortcut_queries = {
        "": (20, 0, None),
        "?limit=2": (2, 0, None),
        "?limit=2&offset=1": (2, 1, None),
        "?status=completed": (20, 0, "completed"),
        "?status=queued&limit=100&offset=0": (100, 0, "queued"),
        "?limit=5&unknown=x": (5, 0, None),
        "?offset=1000000": (20, 1_000_000, None),
    }
    routed_queries = [
        "?limit=0",
        "?limit=101",
        "?limit=abc",
        "?limit=",
        "?limit=010",
        "?limit=%2B5",
        "?limit=2&limit=3",
        "?offset=-1",
        "?offset=1000001",
        "?status=done",
        "?status=",
    ]
    for query, page in shortcut_queries.items():
        taken.clear()
        data = _both(pair, f"/api/v1/evaluations{query}", **own)["data"]
        assert taken == [page], query
        assert data["total"] == {None: 6, "completed": 1, "queued": 5}[page[2]], query
    newest = _both(pair, "/api/v1/evaluations?limit=2&offset=1", **own)["data"]["items"]
    assert [i["id"] for i in newest] == [ids[4], ids[3]]
    for query in routed_queries:
        taken.clear()
        _both(pair, f"/api/v1/evaluations{query}", **own)
        assert taken == [], query
    # The credential's errors are the route's.
    assert _both(pair, "/api/v1/evaluations")["errors"][0]["code"] == "session_required"
    forged = _both(pair, "/api/v1/evaluations", **{"X-Session-ID": "forged"})
    assert forged["errors"][0]["code"] == "session_invalid"


def test_a_literal_get_route_under_the_pattern_stops_the_app_at_start(
    pair_factory: Callable[..., Pair], monkeypatch: pytest.MonkeyPatch
) -> None:
    from memoai_api.routes import evaluations

    @evaluations.router.get("/summary")
    def summary() -> dict[str, str]:  # pragma: no cover - never served
        return {}

    try:
        with pytest.raises(RuntimeError, match="would answer /api/v1/evaluations/summary"):
            pair_factory()
    finally:
        evaluations.router.routes.pop()


def _same_submit(fast: httpx.Response, routed: httpx.Response) -> dict[str, Any]:
    """As _same, but two accepted submits are two evaluations: their ids and
    estimates differ, nothing else."""
    if fast.status_code != 202:
        return _same(fast, routed)
    assert routed.status_code == 202, routed.text
    one, two = fast.json()["data"], routed.json()["data"]
    for data in (one, two):
        assert data.pop("evaluation_id") and data.pop("submission_id")
        assert data.pop("estimated_completion")
    assert one == two
    _same_headers(fast, routed, VARYING | {"content-length"})  # the ids are random
    return one  # type: ignore[no-any-return]


def test_the_submit_answers_as_the_route_and_leaves_odd_bodies_to_it(
    pair_factory: Callable[..., Pair], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []
    shortcut = fastpath.limit_submissions

    async def counted(request: Any, *args: Any) -> None:
        taken.append(request.headers.get("x-probe", ""))
        await shortcut(request, *args)

    monkeypatch.setattr(fastpath, "limit_submissions", counted)
    pair = pair_factory(SUBMISSIONS_PER_HOUR="16")
    fast, routed = pair
    # A session from each app (their per-IP counts stay equal); the first one submits.
    sessions = [c.post("/api/v1/sessions").json()["data"]["session_id"] for c in pair]
    session = sessions[0]
    for client in pair:
        client.cookies.clear()
    submit = "/api/v1/evaluations/submit"

    def both(probe: str, **kw: Any) -> dict[str, Any]:
        headers = {"X-Session-ID": session, "X-Probe": probe, **kw.pop("headers", {})}
        return _same_submit(
            fast.post(submit, headers=headers, **kw), routed.post(submit, headers=headers, **kw)
        )

    accepted = both("plain", json={"text_content": MEMO})
    assert accepted == {"status": "queued", "version_number": 1}

    # Idempotent replays: a key per app (the keys live in the one database).
    def keyed(key: str) -> list[httpx.Response]:
        return [
            c.post(
                submit,
                json={"text_content": MEMO},
                headers={"X-Session-ID": session, "Idempotency-Key": key + str(i)},
            )
            for i, c in enumerate(pair)
        ]

    for key in ("k1", "k2"):
        answers, again = keyed(key), keyed(key)
        for first, second in zip(answers, again, strict=True):
            assert first.status_code == second.status_code == 202
            assert "idempotent-replayed" not in first.headers
            assert second.headers["idempotent-replayed"] == "true"
            assert first.json()["data"]["evaluation_id"] == second.json()["data"]["evaluation_id"]
        _same_submit(again[0], again[1])
    # Refused by the service after the model accepted it: blank text, a
    # revision of an unknown evaluation; no credential, a forged one.
    blank = both("blank", json={"text_content": "   "})
    assert blank["errors"][0]["code"] == "validation_error"
    unknown = both("unknown", json={"text_content": MEMO, "previous_evaluation_id": "nope"})
    assert unknown["errors"][0]["code"] == "not_found"
    assert both("none", headers={"X-Session-ID": ""}, json={"text_content": MEMO})["errors"][0][
        "code"
    ] in ("session_required", "session_invalid")
    forged = both("forged", headers={"X-Session-ID": "forged"}, json={"text_content": MEMO})
    assert forged["errors"][0]["code"] == "session_invalid"
    # Left to the route, before anything is counted: not JSON, broken JSON,
    # not an object, a field the model refuses, no body.
    odd = {
        "text": {"content": b"memo", "headers": {"Content-Type": "text/plain"}},
        "broken": {
            "content": b'{"text_content": ',
            "headers": {"Content-Type": "application/json"},
        },
        "list": {"json": [MEMO]},
        "extra": {"json": {"text_content": MEMO, "surprise": 1}},
        "number": {"json": {"text_content": 5}},
        "empty": {"content": b"", "headers": {"Content-Type": "application/json"}},
    }
    for probe, kw in odd.items():
        code = both(probe, **kw)["errors"][0]["code"]
        assert code in ("unsupported_media_type", "malformed_json", "validation_error"), probe
    # The submission limit (16 an hour; the route counts a body it then
    # refuses too) ends in the same 429 with the same headers.
    codes = [
        (both("limit", json={"text_content": MEMO}) or {}).get("status", "refused")
        for _ in range(10)
    ]
    assert codes[-1] == "refused" and "queued" in codes
    # The fast app counted the accepted bodies itself (the refused credentials
    # stop before the submission limit); the odd bodies reached the route.
    assert set(taken) == {"plain", "", "blank", "unknown", "limit"}
