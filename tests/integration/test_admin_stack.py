"""Administration against real api and worker processes (Claude through the real SDK
to the fake Messages API), on both back ends: a rubric saved through the API is
used by the next evaluation without a restart; debug mode stores the raw exchange
(scrubbed) only while on; status, self-test and session revocation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

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

# The debug toggle is cached per process for this long (memoai.platform.appsettings).
TOGGLE_CACHE = 2.2


@pytest.fixture(scope="module", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_anthropic: FakeAnthropic,
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp(f"admin-{request.param}")
    overrides = {
        **claude_overrides(fake_anthropic.url),
        **auth_overrides(BCRYPT_ROUNDS="4"),
    }
    with running_stack(root, request.param, **overrides) as s:
        yield s


@pytest.fixture(scope="module")
def admin(stack: Stack) -> dict[str, str]:
    return bearer(stack, ADMIN_USERNAME, ADMIN_PASSWORD)


def _memo(tag: str) -> str:
    return (
        "TO: Executive Team\nSUBJECT: Approve $1.2M for remote monitoring\n\n"
        "We request $1.2M to monitor 600 heart-failure patients at home, cutting "
        "readmissions by 20% within 12 months, saving $2.1M a year (finance review, "
        f"March). Decision needed by June 1. Reference {tag}."
    )


def _evaluate(stack: Stack, headers: dict[str, str], text: str) -> dict[str, Any]:
    with stack.client() as c:
        response = c.post("/evaluations/submit", json={"text_content": text}, headers=headers)
        assert response.status_code == 202, response.text
        eid = response.json()["data"]["evaluation_id"]
        deadline = time.monotonic() + 30
        while True:
            status = c.get(f"/evaluations/{eid}/status", headers=headers).json()["data"]
            if status["status"] in ("completed", "failed"):
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
        assert status["status"] == "completed", status
        return dict(c.get(f"/evaluations/{eid}", headers=headers).json()["data"]["evaluation"])


def _debug_row(stack: Stack, admin: dict[str, str], eid: str) -> dict[str, Any]:
    with stack.client() as c:
        response = c.get("/debug/info", params={"evaluation_id": eid}, headers=admin)
    assert response.status_code == 200, response.text
    (row,) = response.json()["data"]["evaluations"]
    return dict(row)


def _toggle(stack: Stack, admin: dict[str, str], on: bool) -> None:
    with stack.client() as c:
        response = c.post("/admin/debug/toggle", json={"debug_enabled": on}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"debug_enabled": on}
    time.sleep(TOGGLE_CACHE)


def test_rubric_change_applies_to_the_next_evaluation_without_restart(
    stack: Stack, admin: dict[str, str], fake: FakeAnthropic
) -> None:
    worker_pid = stack.procs["worker"].pid
    api_pid = stack.procs["api"].pid
    before = _evaluate(stack, admin, _memo(uuid.uuid4().hex))
    assert "Bottom Line and Structure" in before["rubric_scores"]

    with stack.client() as c:
        current = c.get("/admin/config/rubric", headers=admin).json()["data"]["content"]
        assert current.count("weight: 20") >= 2
        changed = current.replace('"Bottom Line and Structure"', '"Decision Up Front"', 1)
        # 20/20 → 35/5: the sum stays 100, the weighting changes a lot.
        changed = changed.replace("weight: 20", "weight: 35", 1).replace(
            "weight: 20", "weight: 5", 1
        )
        saved = c.post(
            "/admin/config/rubric",
            json={"config_content": changed, "change_reason": "acceptance: rename and reweight"},
            headers=admin,
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["data"]["restart_required"] is False

    after = _evaluate(stack, admin, _memo(uuid.uuid4().hex))
    names = list(after["rubric_scores"])
    assert "Decision Up Front" in names and "Bottom Line and Structure" not in names
    weights = {n: s["weight"] for n, s in after["rubric_scores"].items()}
    assert weights["Decision Up Front"] == 35
    assert weights["Evidence and Data"] == 5
    expected = sum(after["rubric_scores"][n]["score"] * w for n, w in weights.items()) / 100
    assert after["overall_score"] == pytest.approx(round(expected, 2))
    # The model was asked with the new rubric.
    assert "Decision Up Front" in fake.requests[-1].body["system"][0]["text"]

    # The earlier evaluation keeps its own configuration version.
    with stack.client() as c:
        again = c.get(f"/evaluations/{before['id']}", headers=admin).json()["data"]["evaluation"]
    assert again["config_version"] == before["config_version"]
    assert after["config_version"] != before["config_version"]
    assert "Bottom Line and Structure" in again["rubric_scores"]
    assert _debug_row(stack, admin, after["id"])["config_version"] == after["config_version"]
    # No process was restarted.
    assert stack.procs["worker"].pid == worker_pid and stack.procs["worker"].poll() is None
    assert stack.procs["api"].pid == api_pid and stack.procs["api"].poll() is None

    # Put the shipped rubric back for the other tests (a rollback to the baseline).
    with stack.client() as c:
        versions = c.get("/admin/config/rubric/history", headers=admin).json()["data"]["versions"]
        baseline = versions[-1]
        assert baseline["version_number"] == 1
        back = c.post(
            "/admin/config/rubric/rollback",
            json={"version_id": baseline["version_id"]},
            headers=admin,
        )
        assert back.status_code == 200, back.text
    assert "Bottom Line and Structure" in _evaluate(stack, admin, _memo("x"))["rubric_scores"]


def test_debug_on_stores_the_scrubbed_raw_exchange_and_off_stores_nothing(
    stack: Stack, admin: dict[str, str], fake: FakeAnthropic
) -> None:
    key = stack.env["CLAUDE_API_KEY"]
    assert key.startswith("sk-ant-test-")
    _toggle(stack, admin, True)
    try:
        tag = uuid.uuid4().hex
        result = _evaluate(stack, admin, _memo(tag))
        row = _debug_row(stack, admin, result["id"])
        prompt = row["raw_prompt"]
        assert prompt and tag in prompt  # the memo
        assert "Healthcare Investment Memo Rubric" in prompt  # the rubric
        assert "Evidence and Data" in prompt
        assert row["raw_response"]
        assert key not in prompt and key not in row["raw_response"]
        assert key[-12:] not in prompt

        # A memo that quotes the configured key: the stored prompt has it redacted.
        leaky = _evaluate(stack, admin, _memo(tag + "-leak") + f" Our API key is {key}.")
        leaked = _debug_row(stack, admin, leaky["id"])
        assert tag + "-leak" in leaked["raw_prompt"]
        assert key not in leaked["raw_prompt"] and key not in (leaked["raw_response"] or "")
        assert "[redacted]" in leaked["raw_prompt"]
        # The key really was sent to the provider: the stored prompt just never holds it.
        (request,) = fake.requests_for(f"Reference {tag}.")
        credential = request.headers.get("x-api-key") or request.headers.get("authorization", "")
        assert credential.removeprefix("Bearer ") == key
        timings = row["timings"]
        for name in ("queue_wait", "llm", "parse", "save", "total"):
            assert isinstance(timings[name], float), (name, timings)
        assert timings["total"] >= timings["llm"] > 0
        assert row["tokens"]["input"] > 0 and row["tokens"]["output"] > 0
        assert row["cost"] > 0
        with stack.client() as c:
            info = c.get("/debug/info", params={"limit": 5}, headers=admin).json()["data"]
        assert info["debug_enabled"] is True and info["limit"] == 5
        ids = [e["id"] for e in info["evaluations"]]
        assert ids[:2] == [leaky["id"], result["id"]]  # newest first
    finally:
        _toggle(stack, admin, False)

    quiet = _evaluate(stack, admin, _memo(uuid.uuid4().hex))
    row = _debug_row(stack, admin, quiet["id"])
    assert row["raw_prompt"] is None and row["raw_response"] is None
    assert row["timings"]["llm"] is not None and row["timings"]["parse"] is not None


def test_status_lists_the_live_worker(stack: Stack, admin: dict[str, str]) -> None:
    with stack.client() as c:
        response = c.get("/admin/status", headers=admin)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["database"]["ok"] is True
    assert data["database"]["backend"] == ("sqlite" if stack.backend == "sqlite" else "postgresql")
    assert data["broker"]["ok"] is True
    assert isinstance(data["broker"]["queue_depth"], int)
    alive = [w for w in data["workers"] if w["alive"]]
    assert len(alive) == 1
    assert data["llm"] == {
        "provider": "claude",
        "model": "claude-sonnet-5-5",
        "reachable": True,
        "detail": data["llm"]["detail"],
    }
    assert data["version"] and data["uptime_seconds"] > 0
    assert data["debug_enabled"] is False


def test_self_test_round_trips_through_the_worker(
    stack: Stack, admin: dict[str, str], fake: FakeAnthropic
) -> None:
    with stack.client(timeout=30) as c:
        response = c.post("/admin/debug/self-test", headers=admin)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    checks = {c["name"]: c for c in data["checks"]}
    assert set(checks) == {"api", "database", "broker", "llm", "log"}
    assert all(c["ok"] for c in checks.values()), checks
    assert data["ok"] is True
    assert checks["broker"]["detail"].startswith("answered by ")
    assert "claude" in checks["llm"]["detail"]
    assert any(r.body.get("max_tokens") == 8 for r in fake.requests)  # a real provider call
    events = [r.get("event") for r in stack.log_records("api")]
    assert "admin.self_test" in events


def test_revoked_session_gets_401_on_its_next_request(stack: Stack, admin: dict[str, str]) -> None:
    name = f"user-{uuid.uuid4().hex[:8]}"
    create_user(stack, admin, name)
    with stack.client(headers={"User-Agent": "revoke-test/1.0"}) as c:
        login = c.post("/auth/login", json={"username": name, "password": USER_PASSWORD})
        assert login.status_code == 200
        user = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
        c.cookies.clear()
        assert c.get("/auth/verify", headers=user).status_code == 200
        listed = c.get("/admin/sessions", params={"kind": "user"}, headers=admin)
        assert listed.status_code == 200, listed.text
        items = listed.json()["data"]["items"]
        (mine,) = [i for i in items if i["username"] == name]
        assert mine["user_agent"] == "revoke-test/1.0"
        assert mine["ip_address"] == "127.0.0.1"
        assert mine["current"] is False
        assert any(i["current"] and i["username"] == ADMIN_USERNAME for i in items)
        assert c.get("/admin/sessions", headers=user).status_code == 403

        revoked = c.delete(f"/admin/sessions/{mine['id']}", headers=admin)
        assert revoked.status_code == 200 and revoked.json()["data"] == {"revoked": True}
        assert c.get("/auth/verify", headers=user).status_code == 401
        active = c.get("/admin/sessions", params={"kind": "user"}, headers=admin).json()["data"]
        assert mine["id"] not in [i["id"] for i in active["items"]]
        assert c.delete("/admin/sessions/no-such-session", headers=admin).status_code == 404
        events = c.get(
            "/admin/auth/events", params={"event_type": "session_revoked"}, headers=admin
        ).json()["data"]["items"]
        assert events and events[0]["session_id"] == mine["id"]


def test_self_test_reports_a_missing_worker_without_failing(
    stack: Stack, admin: dict[str, str]
) -> None:
    stack.stop_process("worker")
    try:
        with stack.client(timeout=30) as c:
            status = c.get("/admin/status", headers=admin).json()["data"]
            assert not [w for w in status["workers"] if w["alive"]]
            response = c.post("/admin/debug/self-test", headers=admin)
        assert response.status_code == 200, response.text
        checks = {c["name"]: c for c in response.json()["data"]["checks"]}
        assert checks["broker"]["ok"] is False
        assert "no live worker" in checks["broker"]["detail"]
        assert checks["database"]["ok"] is True
    finally:
        stack.start("worker")


def test_anonymous_admin_requests_are_refused(stack: Stack) -> None:
    with httpx.Client(base_url=f"{stack.api_url}/api/v1", timeout=10) as c:
        for method, path in [
            ("GET", "/admin/status"),
            ("GET", "/debug/info"),
            ("POST", "/admin/debug/self-test"),
            ("GET", "/admin/sessions"),
            ("GET", "/admin/auth/config"),
        ]:
            assert c.request(method, path).status_code == 401, path
