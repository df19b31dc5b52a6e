"""Coaches and cohorts through the REST API: roles and visibility, assignments with
pinned rubrics and due dates, human review and release, analytics, the CSV
gradebook, and the review.released / assignment.due webhooks.

Most tests run the real app in-process on SQLite and on PostgreSQL, with the
Claude provider pointed at the fake Messages API: its scores are a known
function of the memo (3 + len(memo) % 2, then -1/0/+1 by criterion position),
so every figure below can be checked by hand. Evaluations are run by the real
pipeline (`pipeline.process`), as the worker's task does. The webhook tests run
the whole stack (api, worker, beat) and a receiver on 127.0.0.1.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from memoai.coaching import chat_pipeline
from memoai.evaluation import pipeline
from memoai.models import Evaluation, Review, ReviewChange
from memoai.platform.db import get_engine, session_scope
from memoai.platform.migrate import upgrade
from memoai.webhooks.signing import verify
from tests.fakes.anthropic_server import FakeAnthropic
from tests.integration.conftest import REPO, reset_process_state
from tests.integration.test_webhooks import Receiver
from tests.support.auth import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    USER_PASSWORD,
    auth_overrides,
    bearer,
    create_user,
)
from tests.support.services import postgres_database, unavailable
from tests.support.stack import BACKENDS, Stack, claude_overrides, running_stack

pytestmark = pytest.mark.integration
API = "/api/v1"

# The executive_summary rubric of config/rubric.yaml: ids, names and weights.
EXEC = [
    ("bottom_line", "Bottom Line Up Front", 40),
    ("evidence", "Supporting Numbers", 35),
    ("brevity", "Brevity and Clarity", 25),
]


def memo(tag: str, *, odd: bool) -> str:
    """A memo whose length is odd or even, which sets the fake's scores:
    even -> 2, 3, 4 on the three criteria; odd -> 3, 4, 5."""
    text = (
        f"TO: Executive Team\nSUBJECT: Fund the {tag} pilot\n\n"
        f"We request $240,000 to run the {tag} pilot for six months starting in April. "
        "Readmissions fell 18% in the comparable program at the county hospital last year. "
        "Decision needed by March 30 so that hiring can start on time."
    )
    if (len(text) % 2 == 1) != odd:
        text += "."
    return text


def ai_scores(odd: bool) -> list[int]:
    base = 4 if odd else 3
    return [base - 1, base, base + 1]


def weighted(scores: list[int], weights: list[int]) -> float:
    return round(sum(s * w for s, w in zip(scores, weights, strict=True)) / sum(weights), 2)


@dataclass
class Api:
    client: TestClient
    admin: dict[str, str]
    config_dir: Path
    backend: str
    admin_id: str
    made: list[str] = field(default_factory=list)

    # -- accounts and cohorts
    def user(self, prefix: str, role: str = "user") -> tuple[str, dict[str, str]]:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        created = self.client.post(
            f"{API}/users",
            json={"username": name, "password": USER_PASSWORD, "role": role},
            headers=self.admin,
        )
        assert created.status_code == 201, created.text
        assert created.json()["data"]["user"]["role"] == role
        login = self.client.post(
            f"{API}/auth/login", json={"username": name, "password": USER_PASSWORD}
        )
        assert login.status_code == 200, login.text
        self.client.cookies.clear()  # header auth only: each caller stays separate
        token = login.json()["data"]["access_token"]
        return created.json()["data"]["user"]["id"], {"Authorization": f"Bearer {token}"}

    def cohort(self, name: str = "Cohort") -> str:
        response = self.client.post(f"{API}/cohorts", json={"name": name}, headers=self.admin)
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    def join(self, cohort_id: str, user_id: str, role: str) -> None:
        response = self.client.post(
            f"{API}/cohorts/{cohort_id}/members",
            json={"user_id": user_id, "role": role},
            headers=self.admin,
        )
        assert response.status_code == 201, response.text

    def assignment(self, cohort_id: str, coach: dict[str, str], **body: Any) -> dict[str, Any]:
        payload = {
            "title": "Memo 1: fund a pilot",
            "due_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "rubric_id": "executive_summary",
            **body,
        }
        response = self.client.post(
            f"{API}/cohorts/{cohort_id}/assignments", json=payload, headers=coach
        )
        assert response.status_code == 201, response.text
        return dict(response.json()["data"])

    # -- submissions
    def submit(
        self, writer: dict[str, str], assignment_id: str | None, text: str, **extra: Any
    ) -> str:
        body: dict[str, Any] = {"text_content": text, **extra}
        if assignment_id is not None:
            body["assignment_id"] = assignment_id
        response = self.client.post(f"{API}/evaluations/submit", json=body, headers=writer)
        assert response.status_code == 202, response.text
        evaluation_id = str(response.json()["data"]["evaluation_id"])
        assert pipeline.process(evaluation_id) == "completed"
        return evaluation_id

    def get(self, path: str, headers: dict[str, str], **params: Any) -> Any:
        response = self.client.get(f"{API}{path}", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def call(self, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        return self.client.request(method, f"{API}{path}", headers=headers, **kwargs)


@pytest.fixture(scope="module", params=BACKENDS)
def api(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_anthropic: FakeAnthropic,
) -> Iterator[Api]:
    root = tmp_path_factory.mktemp(f"cohorts-{request.param}")
    shutil.copytree(REPO / "config", root / "config")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("DATABASE_URL", "REDIS_URL", "ANTHROPIC_API_KEY", "APP_ENV", "CI_DUMMY"):
            mp.delenv(name, raising=False)
        env = {
            "CONFIG_DIR": str(root / "config"),
            "DATA_DIR": str(root / "data"),
            "LOG_LEVEL": "WARNING",
            "BCRYPT_ROUNDS": "4",
            "RATE_LIMIT_PER_MINUTE": "100000",
            "SUBMISSIONS_PER_HOUR": "100000",
            "ADMIN_OPS_PER_HOUR": "100000",
            "LOGIN_ATTEMPTS_PER_HOUR": "100000",
            **auth_overrides(),
            **claude_overrides(fake_anthropic.url),
        }
        for name, value in env.items():
            mp.setenv(name, value)
        database = postgres_database() if request.param == "postgres" else nullcontext(None)
        with database as url:
            if url:
                mp.setenv("DATABASE_URL", url)
            reset_process_state()
            upgrade(get_engine())
            from memoai_api.app import create_app

            with TestClient(create_app(), base_url="http://127.0.0.1") as client:
                admin = bearer_in_process(client)
                admin_id = client.get(f"{API}/auth/verify", headers=admin).json()["data"]["user"]
                yield Api(client, admin, root / "config", request.param, admin_id["id"])
            reset_process_state()


def bearer_in_process(client: TestClient) -> dict[str, str]:
    response = client.post(
        f"{API}/auth/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


def evaluation_count() -> int:
    with session_scope(write=False) as db:
        return db.scalar(select(func.count()).select_from(Evaluation)) or 0


# ====================================================================== roles


def test_roles_are_set_by_admins_and_is_admin_follows_the_role(api: Api) -> None:
    coach_id, coach = api.user("coach", "coach")
    me = api.get("/auth/verify", coach)["user"]
    assert me == {"id": coach_id, "username": me["username"], "is_admin": False, "role": "coach"}
    promoted = api.call("PUT", f"/users/{coach_id}", api.admin, json={"role": "admin"})
    assert promoted.json()["data"]["user"]["is_admin"] is True
    # The boolean API still works and maps onto the role.
    demoted = api.call("PUT", f"/users/{coach_id}", api.admin, json={"is_admin": False})
    assert demoted.json()["data"]["user"]["role"] == "user"
    clash = api.call(
        "PUT", f"/users/{coach_id}", api.admin, json={"is_admin": True, "role": "coach"}
    )
    assert clash.status_code == 422 and clash.json()["errors"][0]["field"] == "role"
    coaches = api.get("/users", api.admin, role="coach", limit=200)["items"]
    assert coach_id not in [u["id"] for u in coaches]
    # Only coach or admin accounts may coach a cohort; writers can be anyone.
    cohort = api.cohort()
    refused = api.call(
        "POST", f"/cohorts/{cohort}/members", api.admin, json={"user_id": coach_id, "role": "coach"}
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "not_a_coach"
    api.join(cohort, coach_id, "writer")
    twice = api.call(
        "POST",
        f"/cohorts/{cohort}/members",
        api.admin,
        json={"user_id": coach_id, "role": "writer"},
    )
    assert twice.status_code == 409 and twice.json()["errors"][0]["code"] == "already_member"
    # Managing cohorts is for admins only.
    by_coach = api.call("POST", "/cohorts", coach, json={"name": "Mine"})
    assert by_coach.status_code == 403


def test_a_coach_of_cohort_a_gets_404_for_everything_in_cohort_b(api: Api) -> None:
    coach_a_id, coach_a = api.user("coach-a", "coach")
    coach_b_id, coach_b = api.user("coach-b", "coach")
    writer_b_id, writer_b = api.user("writer-b")
    cohort_a, cohort_b = api.cohort("A"), api.cohort("B")
    api.join(cohort_a, coach_a_id, "coach")
    api.join(cohort_b, coach_b_id, "coach")
    api.join(cohort_b, writer_b_id, "writer")
    assignment_b = api.assignment(cohort_b, coach_b)["id"]
    evaluation_b = api.submit(writer_b, assignment_b, memo("b", odd=True))

    not_found = [
        ("GET", f"/cohorts/{cohort_b}", None),
        ("GET", f"/cohorts/{cohort_b}/members", None),
        ("GET", f"/cohorts/{cohort_b}/assignments", None),
        (
            "POST",
            f"/cohorts/{cohort_b}/assignments",
            {"title": "x", "due_at": "2099-01-01T00:00:00Z"},
        ),
        ("GET", f"/cohorts/{cohort_b}/analytics", None),
        ("GET", f"/cohorts/{cohort_b}/gradebook.csv", None),
        ("GET", f"/assignments/{assignment_b}", None),
        ("PUT", f"/assignments/{assignment_b}", {"title": "taken over"}),
        ("DELETE", f"/assignments/{assignment_b}", None),
        ("GET", f"/assignments/{assignment_b}/submissions", None),
        ("GET", f"/assignments/{assignment_b}/analytics", None),
        ("GET", f"/assignments/{assignment_b}/gradebook.csv", None),
        ("GET", f"/reviews/{evaluation_b}", None),
        ("PUT", f"/reviews/{evaluation_b}/scores/evidence", {"score": 1, "reason": "mine now"}),
        ("DELETE", f"/reviews/{evaluation_b}/scores/evidence", None),
        (
            "POST",
            f"/reviews/{evaluation_b}/comments",
            {"start": 0, "end": 2, "segment": "TO", "comment": "x"},
        ),
        ("PATCH", f"/reviews/{evaluation_b}/comments/ai-0", {"comment": "x"}),
        ("DELETE", f"/reviews/{evaluation_b}/comments/ai-0", None),
        ("POST", f"/reviews/{evaluation_b}/release", None),
        ("GET", f"/evaluations/{evaluation_b}", None),
        ("GET", f"/evaluations/{evaluation_b}/status", None),
    ]
    for method, path, body in not_found:
        response = api.call(method, path, coach_a, **({"json": body} if body else {}))
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["errors"][0]["code"] == "not_found"
    # Lists leave cohort B out, filters included.
    assert cohort_b not in [c["id"] for c in api.get("/cohorts", coach_a)["items"]]
    assert api.get("/assignments", coach_a)["items"] == []
    assert api.get("/reviews/queue", coach_a)["total"] == 0
    assert api.get("/reviews/queue", coach_a, cohort_id=cohort_b)["total"] == 0
    # Nothing was changed by the attempts.
    review = api.get(f"/reviews/{evaluation_b}", coach_b)
    assert review["status"] == "not_started" and review["history"] == []
    assert api.get(f"/assignments/{assignment_b}", coach_b)["title"] == "Memo 1: fund a pilot"
    # And a coach whose account is demoted loses the cohort at once.
    api.call("PUT", f"/users/{coach_b_id}", api.admin, json={"role": "user"})
    assert api.call("GET", f"/reviews/{evaluation_b}", coach_b).status_code == 404
    assert api.call("GET", f"/cohorts/{cohort_b}", coach_b).status_code == 404


def test_a_writer_never_sees_another_writers_work(api: Api) -> None:
    coach_id, coach = api.user("coach", "coach")
    w1_id, w1 = api.user("writer")
    w2_id, w2 = api.user("writer")
    cohort = api.cohort()
    api.join(cohort, coach_id, "coach")
    api.join(cohort, w1_id, "writer")
    api.join(cohort, w2_id, "writer")
    assignment = api.assignment(cohort, coach)["id"]
    e1 = api.submit(w1, assignment, memo("one", odd=False))
    e2 = api.submit(w2, assignment, memo("two", odd=True))
    api.call("POST", f"/reviews/{e1}/release", coach)

    for path in (
        f"/evaluations/{e1}",
        f"/evaluations/{e1}/status",
        f"/evaluations/{e1}/comparison",
        f"/export/pdf/{e1}",
        f"/reviews/{e1}",
        f"/reviews/{e2}",  # not even their own: reviews are for coaches
        f"/assignments/{assignment}/analytics",
        f"/assignments/{assignment}/gradebook.csv",
        f"/cohorts/{cohort}/analytics",
        f"/cohorts/{cohort}/gradebook.csv",
        f"/cohorts/{cohort}/members",
    ):
        response = api.call("GET", path, w2)
        assert response.status_code == 404, (path, response.text)
    for method, path in (
        ("PUT", f"/reviews/{e1}/scores/evidence"),
        ("POST", f"/reviews/{e2}/release"),
    ):
        response = api.call(method, path, w2, json={"score": 5, "reason": "me"})
        assert response.status_code == 404, (path, response.text)
    # What writers may see is only their own.
    listed = api.get(f"/assignments/{assignment}/submissions", w2)
    assert listed["items"] == []
    assert [s["evaluation_id"] for s in listed["mine"]] == [e2]
    assert [e["id"] for e in api.get("/evaluations", w2)["items"]] == [e2]
    assert api.get("/reviews/queue", w2)["total"] == 0
    (mine,) = api.get("/assignments", w2)["items"]
    assert mine["my_role"] == "writer" and mine["counts"] is None
    assert mine["my_submission"]["evaluation_id"] == e2
    assert api.get("/cohorts", w2)["items"][0]["my_role"] == "writer"
    # Writers cannot set assignments either.
    refused = api.call(
        "POST",
        f"/cohorts/{cohort}/assignments",
        w2,
        json={"title": "x", "due_at": "2099-01-01T00:00:00Z"},
    )
    assert refused.status_code == 404


def test_api_tokens_act_as_coach_in_their_cohorts_but_never_as_admin(api: Api) -> None:
    coach_id, coach = api.user("coach", "coach")
    writer_id, writer = api.user("writer")
    cohort = api.cohort()
    api.join(cohort, coach_id, "coach")
    api.join(cohort, writer_id, "writer")
    assignment = api.assignment(cohort, coach)["id"]
    eid = api.submit(writer, assignment, memo("token", odd=True))

    def token(headers: dict[str, str], scopes: list[str]) -> dict[str, str]:
        created = api.call("POST", "/tokens", headers, json={"name": "LMS", "scopes": scopes})
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['data']['token']}"}

    read_only = token(coach, ["read"])
    assert api.get(f"/reviews/{eid}", read_only)["evaluation_id"] == eid
    refused = api.call("POST", f"/reviews/{eid}/release", read_only)
    assert (
        refused.status_code == 403 and refused.json()["errors"][0]["code"] == "insufficient_scope"
    )
    writing = token(coach, ["read", "write"])
    assert api.call("POST", f"/reviews/{eid}/release", writing).status_code == 200
    # An admin's token is a coach where its owner coaches, and never an admin.
    admin_token = token(api.admin, ["read", "write"])
    assert api.call("POST", "/cohorts", admin_token, json={"name": "x"}).status_code == 403
    assert api.call("GET", f"/cohorts/{cohort}", admin_token).status_code == 404
    assert api.call("GET", f"/cohorts/{cohort}", api.admin).status_code == 200


def test_deleting_a_cohort_keeps_the_writers_evaluations(api: Api) -> None:
    coach_id, coach = api.user("coach", "coach")
    writer_id, writer = api.user("writer")
    cohort = api.cohort()
    api.join(cohort, coach_id, "coach")
    api.join(cohort, writer_id, "writer")
    assignment = api.assignment(cohort, coach)["id"]
    eid = api.submit(writer, assignment, memo("deleted", odd=True))
    api.call("PUT", f"/reviews/{eid}/scores/brevity", coach, json={"score": 1, "reason": "Long."})
    assert api.call("DELETE", f"/cohorts/{cohort}", coach).status_code == 403
    deleted = api.call("DELETE", f"/cohorts/{cohort}", api.admin)
    assert deleted.json()["data"] == {"id": cohort, "deleted": True}
    assert api.call("GET", f"/assignments/{assignment}", api.admin).status_code == 404
    assert api.call("GET", f"/reviews/{eid}", api.admin).status_code == 404
    mine = api.get(f"/evaluations/{eid}", writer)["evaluation"]
    assert mine["assignment_id"] is None and mine["review"] is None
    assert [v["score"] for v in mine["rubric_scores"].values()] == ai_scores(True)
    with session_scope(write=False) as db:
        assert db.scalar(select(func.count()).where(Review.evaluation_id == eid)) == 0


def _events(api: Api, **filters: str) -> list[dict[str, Any]]:
    return list(api.get("/admin/auth/events", api.admin, limit=500, **filters)["items"])


def test_membership_changes_are_in_the_admin_audit_trail(api: Api) -> None:
    coach_id, coach = api.user("coach", "coach")
    helper_id, _helper = api.user("helper", "coach")  # a coach account, first a writer
    writer_id, _writer = api.user("writer")
    cohort = api.cohort("Audited")
    (created,) = [
        e for e in _events(api, event_type="cohort_created") if e["details"]["cohort_id"] == cohort
    ]
    assert created["username"] == ADMIN_USERNAME and created["details"]["actor"] == ADMIN_USERNAME
    api.join(cohort, coach_id, "coach")
    api.join(cohort, helper_id, "writer")
    api.join(cohort, writer_id, "writer")

    # Role changes in the cohort: refused for a plain account, audited once when made.
    refused = api.call(
        "PATCH", f"/cohorts/{cohort}/members/{writer_id}", api.admin, json={"role": "coach"}
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "not_a_coach"
    for body, status in (({"role": "owner"}, 422), ({"role": "coach", "x": 1}, 422)):
        bad = api.call("PATCH", f"/cohorts/{cohort}/members/{helper_id}", api.admin, json=body)
        assert bad.status_code == status, bad.text
    by_coach = api.call(
        "PATCH", f"/cohorts/{cohort}/members/{helper_id}", coach, json={"role": "coach"}
    )
    assert by_coach.status_code == 403
    missing = api.call(
        "PATCH", f"/cohorts/{cohort}/members/{uuid.uuid4()}", api.admin, json={"role": "coach"}
    )
    assert missing.status_code == 404
    promoted = api.call(
        "PATCH", f"/cohorts/{cohort}/members/{helper_id}", api.admin, json={"role": "coach"}
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["data"]["role"] == "coach"
    same = api.call(
        "PATCH", f"/cohorts/{cohort}/members/{helper_id}", api.admin, json={"role": "coach"}
    )
    assert same.status_code == 200  # no change: nothing to audit
    members = {
        m["user_id"]: m["role"] for m in api.get(f"/cohorts/{cohort}/members", coach)["items"]
    }
    assert members == {coach_id: "coach", helper_id: "coach", writer_id: "writer"}
    assert (
        api.call("DELETE", f"/cohorts/{cohort}/members/{writer_id}", api.admin).status_code == 200
    )
    gone = api.call("DELETE", f"/cohorts/{cohort}/members/{writer_id}", api.admin)
    assert gone.status_code == 404

    # Each account's trail, through the existing user_id filter.
    def trail(user_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (e["event_type"], e["details"])
            for e in reversed(_events(api, user_id=user_id))
            if e["event_type"].startswith("cohort_")
        ]

    def mine(details: dict[str, Any], **expected: Any) -> bool:
        base = {"cohort_id": cohort, "cohort": "Audited", "actor_id": api.admin_id}
        return details == {**base, "actor": ADMIN_USERNAME, **expected}

    helper = trail(helper_id)
    assert [t for t, _d in helper] == ["cohort_member_added", "cohort_member_role_changed"]
    assert mine(helper[0][1], role="writer")
    assert mine(helper[1][1], role="coach", previous_role="writer")
    writer = trail(writer_id)
    assert [t for t, _d in writer] == ["cohort_member_added", "cohort_member_removed"]
    assert mine(writer[1][1], role="writer")
    (event,) = [
        e
        for e in _events(api, event_type="cohort_member_removed", user_id=writer_id)
        if e["details"]["cohort_id"] == cohort
    ]
    assert event["username"].startswith("writer-") and event["success"] is True
    assert event["created_at"]

    # Deleting the cohort: one cohort_deleted, and each remaining member's removal.
    assert api.call("DELETE", f"/cohorts/{cohort}", api.admin).status_code == 200
    (deleted,) = [
        e for e in _events(api, event_type="cohort_deleted") if e["details"]["cohort_id"] == cohort
    ]
    assert mine(deleted["details"], coaches=2, writers=0, assignments=0)
    for user_id in (coach_id, helper_id):
        assert trail(user_id)[-1] == (
            "cohort_member_removed",
            {
                "cohort_id": cohort,
                "cohort": "Audited",
                "role": "coach",
                "reason": "cohort_deleted",
                "actor_id": api.admin_id,
                "actor": ADMIN_USERNAME,
            },
        )
    assert trail(writer_id)[-1][0] == "cohort_member_removed"  # not removed twice
    assert len(trail(writer_id)) == 2
    # The trail is for admins only.
    assert api.call("GET", "/admin/auth/events", coach).status_code == 403


# ================================================================ assignments


def _set_exec_rubric(config_dir: Path, names: list[str], weights: list[int]) -> None:
    path = config_dir / "rubric.yaml"
    data = yaml.safe_load(path.read_text())
    (rubric,) = [r for r in data["additional_rubrics"] if r["id"] == "executive_summary"]
    for criterion, name, weight in zip(rubric["criteria"], names, weights, strict=True):
        criterion["name"], criterion["weight"] = name, weight
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def test_submissions_are_scored_with_the_rubric_pinned_to_the_assignment(
    api: Api, fake: FakeAnthropic
) -> None:
    coach_id, coach = api.user("coach", "coach")
    writer_id, writer = api.user("writer")
    cohort = api.cohort()
    api.join(cohort, coach_id, "coach")
    api.join(cohort, writer_id, "writer")
    pinned = api.assignment(cohort, coach)
    assert [c["name"] for c in pinned["rubric"]["criteria"]] == [n for _i, n, _w in EXEC]
    original = (api.config_dir / "rubric.yaml").read_text()
    try:
        # The rubric file changes after the assignment was set...
        _set_exec_rubric(api.config_dir, ["Lead", "Numbers That Matter", "Short"], [50, 25, 25])
        time.sleep(0.05)  # a new mtime even on coarse clocks
        live = {r["id"]: r for r in api.get("/rubrics", writer)["items"]}
        assert live["executive_summary"]["version"] != pinned["rubric_version"]
        newer = api.assignment(cohort, coach, title="Memo 2")
        assert newer["rubric_version"] == live["executive_summary"]["version"]

        text = memo("pinned", odd=True)
        evaluation_id = api.submit(writer, pinned["id"], text)
        result = api.get(f"/evaluations/{evaluation_id}", writer)["evaluation"]
        assert result["assignment_id"] == pinned["id"]
        # ...yet the submission is scored with the snapshot pinned at creation:
        # the model was asked for the pinned criteria, the service weighted them.
        (request,) = fake.requests_for("Fund the pinned pilot")
        schema = request.body["output_config"]["format"]["schema"]
        enum = schema["properties"]["rubric_scores"]["items"]["properties"]["criterion"]["enum"]
        assert enum == [n for _i, n, _w in EXEC]
        assert "Numbers That Matter" not in json.dumps(request.body["system"])
        with session_scope(write=False) as db:
            row = db.get(Evaluation, evaluation_id)
            assert row is not None and row.rubric_scores is not None
            assert list(row.rubric_scores) == [n for _i, n, _w in EXEC]
            assert row.rubric_snapshot is not None
            assert row.rubric_snapshot["name"] == "Executive Summary Rubric"
            assert row.overall_score == weighted(ai_scores(True), [40, 35, 25])
        # A submission to the newer assignment gets the new rubric.
        other = api.submit(writer, newer["id"], memo("newer", odd=True))
        with session_scope(write=False) as db:
            row = db.get(Evaluation, other)
            assert row is not None and row.rubric_scores is not None
            assert list(row.rubric_scores) == ["Lead", "Numbers That Matter", "Short"]
            assert row.overall_score == weighted(ai_scores(True), [50, 25, 25])
    finally:
        (api.config_dir / "rubric.yaml").write_text(original)


def test_revisions_are_refused_after_the_due_date(api: Api) -> None:
    coach_id, coach = api.user("coach", "coach")
    writer_id, writer = api.user("writer")
    _outsider_id, outsider = api.user("outsider")
    cohort = api.cohort()
    api.join(cohort, coach_id, "coach")
    api.join(cohort, writer_id, "writer")
    assignment = api.assignment(cohort, coach)["id"]
    first = api.submit(writer, assignment, memo("draft", odd=False))
    # Before the due date a revision is allowed, and stays in the assignment.
    revision = api.submit(writer, None, memo("draft v2", odd=True), previous_evaluation_id=first)
    assert api.get(f"/evaluations/{revision}", writer)["evaluation"]["assignment_id"] == assignment
    versions = api.get(f"/assignments/{assignment}/submissions", writer)["mine"]
    assert [(v["evaluation_id"], v["version_number"]) for v in versions] == [
        (revision, 2),
        (first, 1),
    ]
    # Not a writer of the cohort: 404; its coach: 403.
    for headers, status in ((outsider, 404), (coach, 403)):
        response = api.call(
            "POST",
            f"/assignments/{assignment}/submissions",
            headers,
            json={"text_content": memo("nope", odd=True)},
        )
        assert response.status_code == status, response.text
    # The coach moves the due date into the past: the assignment closes.
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    closed = api.call("PUT", f"/assignments/{assignment}", coach, json={"due_at": past})
    assert closed.status_code == 200 and closed.json()["data"]["is_closed"] is True
    before = evaluation_count()
    attempts = [
        (
            "/evaluations/submit",
            {"text_content": memo("late", odd=True), "previous_evaluation_id": revision},
        ),
        (
            "/evaluations/submit",
            {"text_content": memo("late", odd=True), "assignment_id": assignment},
        ),
        (f"/assignments/{assignment}/submissions", {"text_content": memo("late", odd=True)}),
    ]
    for path, body in attempts:
        response = api.call("POST", path, writer, json=body)
        assert response.status_code == 409, response.text
        error = response.json()["errors"][0]
        assert error["code"] == "assignment_closed"
        assert error["details"]["due_at"].startswith(past[:16])
    assert evaluation_count() == before  # nothing half-written
    # A personal memo (no assignment) is still fine.
    assert api.submit(writer, None, memo("personal", odd=True))
    # Creating an assignment already due is refused; the rubric must exist.
    for body, field_name in (
        ({"title": "x", "due_at": past}, "due_at"),
        ({"title": "x", "due_at": "2099-01-01T00:00:00"}, "due_at"),  # naive
        ({"title": "x", "due_at": "2099-01-01T00:00:00Z", "rubric_id": "nope"}, "rubric_id"),
    ):
        response = api.call("POST", f"/cohorts/{cohort}/assignments", coach, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field_name


# ===================================================================== review


def _setup_review(api: Api, release: str) -> tuple[dict[str, str], dict[str, str], str, str]:
    coach_id, coach = api.user("coach", "coach")
    writer_id, writer = api.user("writer")
    cohort = api.cohort()
    api.join(cohort, coach_id, "coach")
    api.join(cohort, writer_id, "writer")
    assignment = api.assignment(cohort, coach, feedback_release=release)["id"]
    # Code points, not UTF-16 units: an emoji and an accent before the quotes.
    text = "Résumé 📈 " + memo("review", odd=False)
    evaluation_id = api.submit(writer, assignment, text)
    return coach, writer, evaluation_id, text


def test_the_coach_reviews_and_releases_and_the_writer_sees_the_final_feedback(
    api: Api,
) -> None:
    coach, writer, eid, text = _setup_review(api, "after_review")
    ai = ai_scores(odd=len(text) % 2 == 1)

    # Before release (after_review): the writer sees that it awaits the coach, nothing else.
    before = api.get(f"/evaluations/{eid}", writer)["evaluation"]
    assert before["review"]["status"] == "awaiting_review"
    assert before["overall_score"] is None and before["rubric_scores"] == {}
    assert before["segment_feedback"] == [] and before["strengths"] == []
    assert "Awaiting coach review" in before["notice"]
    assert before["text_content"] == text
    assert api.get("/evaluations", writer)["items"][0]["overall_score"] is None
    pdf = api.call("GET", f"/export/pdf/{eid}", writer)
    assert pdf.status_code == 409 and pdf.json()["errors"][0]["code"] == "awaiting_coach_review"
    chat = api.call("POST", "/chat/sessions", writer, json={"evaluation_id": eid})
    assert chat.status_code == 409
    assert all(t["evaluation_id"] != eid for t in api.get("/progress", writer)["overall_trends"])

    review = api.get(f"/reviews/{eid}", coach)
    assert review["status"] == "not_started"
    assert [(s["criterion_id"], s["ai_score"], s["final_score"]) for s in review["scores"]] == [
        (cid, score, score) for (cid, _n, _w), score in zip(EXEC, ai, strict=True)
    ]
    assert review["ai_overall_score"] == review["final_overall_score"] == weighted(ai, [40, 35, 25])
    ai_comments = [c for c in review["comments"] if c["source"] == "ai"]
    assert len(ai_comments) >= 2

    # Bad overrides are refused and change nothing.
    for criterion, body, status, field_name in (
        ("bottom_line", {"score": 9, "reason": "too high"}, 422, "score"),
        ("bottom_line", {"score": 0, "reason": "too low"}, 422, "score"),
        ("bottom_line", {"score": 4, "reason": "   "}, 422, "reason"),
        ("bottom_line", {"score": 4, "reason": "x" * 1001}, 422, "reason"),
        ("bottom_line", {"score": 4}, 422, "reason"),
        ("no_such", {"score": 4, "reason": "ok"}, 404, "criterion_id"),
    ):
        response = api.call("PUT", f"/reviews/{eid}/scores/{criterion}", coach, json=body)
        assert response.status_code == status, response.text
        assert response.json()["errors"][0]["field"] == field_name
    assert api.get(f"/reviews/{eid}", coach)["history"] == []

    # Override two scores, then revert one.
    reason = "The ask is in the first sentence."
    up = api.call(
        "PUT", f"/reviews/{eid}/scores/bottom_line", coach, json={"score": 5, "reason": reason}
    ).json()["data"]
    api.call(
        "PUT", f"/reviews/{eid}/scores/evidence", coach, json={"score": 1, "reason": "No source."}
    )
    reverted = api.call("DELETE", f"/reviews/{eid}/scores/evidence", coach).json()["data"]
    final = [5, ai[1], ai[2]]
    assert up["scores"][0]["overridden"] and up["scores"][0]["reason"] == reason
    assert [s["final_score"] for s in reverted["scores"]] == final
    assert reverted["final_overall_score"] == weighted(final, [40, 35, 25])
    assert reverted["ai_overall_score"] == weighted(ai, [40, 35, 25])

    # Edit one AI comment, delete another, add a coach comment at exact offsets.
    edited = api.call(
        "PATCH",
        f"/reviews/{eid}/comments/ai-0",
        coach,
        json={"comment": "Name the decision-maker."},
    )
    assert edited.status_code == 200, edited.text
    api.call("DELETE", f"/reviews/{eid}/comments/ai-1", coach)
    start = text.index("We request $240,000")
    end = start + len("We request $240,000")
    assert start == len("Résumé 📈 ") + text[len("Résumé 📈 ") :].index("We request")
    added = api.call(
        "POST",
        f"/reviews/{eid}/comments",
        coach,
        json={
            "start": start,
            "end": end,
            "segment": "We request $240,000",
            "comment": "Good: the ask is up front.",
        },
    )
    assert added.status_code == 201, added.text
    for body, code in (
        (
            {"start": start + 1, "end": end, "segment": "We request $240,000", "comment": "x"},
            "segment_mismatch",
        ),
        (
            {"start": 0, "end": len(text) + 1, "segment": "x", "comment": "x"},
            "offsets_out_of_range",
        ),
        ({"start": 5, "end": 5, "segment": "x", "comment": "x"}, "offsets_out_of_range"),
    ):
        response = api.call("POST", f"/reviews/{eid}/comments", coach, json=body)
        assert response.status_code == 422 and response.json()["errors"][0]["code"] == code
    again = api.call("PATCH", f"/reviews/{eid}/comments/ai-1", coach, json={"comment": "back"})
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "comment_deleted"
    review = api.get(f"/reviews/{eid}", coach)
    states = {c["id"]: c["state"] for c in review["comments"]}
    assert states["ai-0"] == "edited" and states["ai-1"] == "deleted"
    coach_comment = next(c for c in review["comments"] if c["source"] == "coach")
    assert text[coach_comment["start"] : coach_comment["end"]] == coach_comment["segment"]
    ai0 = next(c for c in review["comments"] if c["id"] == "ai-0")
    assert ai0["ai_comment"] != ai0["comment"]  # the AI's own words are kept

    # Still nothing for the writer until the release.
    assert api.get(f"/evaluations/{eid}", writer)["evaluation"]["overall_score"] is None
    released = api.call("POST", f"/reviews/{eid}/release", coach).json()["data"]
    assert released["status"] == "released" and released["release_count"] == 1

    after = api.get(f"/evaluations/{eid}", writer)["evaluation"]
    assert after["review"]["status"] == "released"
    assert (
        after["overall_score"] == after["review"]["overall_score"] == weighted(final, [40, 35, 25])
    )
    assert after["review"]["ai_overall_score"] == weighted(ai, [40, 35, 25])
    bottom = after["review"]["rubric_scores"]["Bottom Line Up Front"]
    assert bottom == {
        "score": 5,
        "ai_score": ai[0],
        "coach_override": True,
        "reason": reason,
        "justification": bottom["justification"],
        "weight": 40.0,
    }
    assert after["rubric_scores"]["Bottom Line Up Front"]["score"] == 5
    assert after["rubric_scores"]["Bottom Line Up Front"]["justification"] == reason
    assert after["review"]["rubric_scores"]["Supporting Numbers"]["coach_override"] is False
    comments = {c["comment"]: c for c in after["segment_feedback"]}
    assert "Name the decision-maker." in comments
    assert "Good: the ask is up front." in comments
    deleted = next(c for c in review["comments"] if c["id"] == "ai-1")
    shown = {(s["start"], s["end"], s["comment"]) for s in after["segment_feedback"]}
    assert (deleted["start"], deleted["end"], deleted["comment"]) not in shown
    assert len(after["segment_feedback"]) == len(ai_comments) - 1 + 1  # one deleted, one added
    assert {c["source"] for c in after["review"]["comments"]} == {"ai", "coach"}
    for segment in after["segment_feedback"]:
        assert text[segment["start"] : segment["end"]] == segment["segment"]
    assert api.get("/evaluations", writer)["items"][0]["overall_score"] == after["overall_score"]
    assert api.call("GET", f"/export/pdf/{eid}", writer).status_code == 200
    trends = api.get("/progress", writer)["overall_trends"]
    assert [t["evaluation_id"] for t in trends] == [eid]

    # The AI's values are untouched in the stored record.
    with session_scope(write=False) as db:
        row = db.get(Evaluation, eid)
        assert row is not None and row.rubric_scores is not None
        assert [v["score"] for v in row.rubric_scores.values()] == ai
        assert row.overall_score == weighted(ai, [40, 35, 25])

    # Edits after a release stay with the coach until the next release.
    api.call(
        "PUT", f"/reviews/{eid}/scores/brevity", coach, json={"score": 1, "reason": "Too long."}
    )
    assert api.get(f"/evaluations/{eid}", writer)["evaluation"]["overall_score"] == weighted(
        final, [40, 35, 25]
    )
    pending = api.get("/reviews/queue", coach, status="pending")["items"]
    assert [i["evaluation_id"] for i in pending] == [eid] and pending[0]["unreleased_changes"]
    api.call("POST", f"/reviews/{eid}/release", coach)
    second = [5, ai[1], 1]
    assert api.get(f"/evaluations/{eid}", writer)["evaluation"]["overall_score"] == weighted(
        second, [40, 35, 25]
    )
    assert api.get("/reviews/queue", coach, status="pending")["items"] == []

    # The audit trail: who changed what, when, in order.
    history = api.get(f"/reviews/{eid}", coach)["history"]
    assert [h["action"] for h in history] == [
        "score_override",
        "score_override",
        "score_revert",
        "comment_edit",
        "comment_delete",
        "comment_add",
        "release",
        "score_override",
        "release",
    ]
    first = history[0]
    assert first["details"] == {
        "criterion_id": "bottom_line",
        "criterion": "Bottom Line Up Front",
        "ai": ai[0],
        "before": ai[0],
        "after": 5,
        "reason": reason,
    }
    assert history[2]["details"]["before"] == 1 and history[2]["details"]["after"] == ai[1]
    assert history[3]["details"]["before"]["comment"] == ai0["ai_comment"]
    assert all(h["actor"]["username"].startswith("coach-") for h in history)
    times = [datetime.fromisoformat(h["at"]) for h in history]
    assert times == sorted(times)
    with session_scope(write=False) as db:
        review_row = db.scalars(select(Review).where(Review.evaluation_id == eid)).one()
        rows = db.scalars(select(ReviewChange).where(ReviewChange.review_id == review_row.id)).all()
        assert len(rows) == 9 and len({r.actor_id for r in rows}) == 1


def test_immediate_release_shows_the_ai_feedback_marked_awaiting_review(api: Api) -> None:
    coach, writer, eid, text = _setup_review(api, "immediate")
    ai = ai_scores(odd=len(text) % 2 == 1)
    shown = api.get(f"/evaluations/{eid}", writer)["evaluation"]
    assert shown["review"]["status"] == "awaiting_review"
    assert shown["review"]["feedback_release"] == "immediate"
    assert "awaiting coach review" in shown["notice"]
    assert [v["score"] for v in shown["rubric_scores"].values()] == ai
    assert shown["overall_score"] == weighted(ai, [40, 35, 25])
    assert shown["segment_feedback"]
    assert api.call("GET", f"/export/pdf/{eid}", writer).status_code == 200
    api.call("PUT", f"/reviews/{eid}/scores/brevity", coach, json={"score": 1, "reason": "Long."})
    # Not released yet: still the AI's values.
    assert api.get(f"/evaluations/{eid}", writer)["evaluation"]["overall_score"] == weighted(
        ai, [40, 35, 25]
    )
    api.call("POST", f"/reviews/{eid}/release", coach)
    final = api.get(f"/evaluations/{eid}", writer)["evaluation"]
    assert final["review"]["status"] == "released"
    assert final["overall_score"] == weighted([ai[0], ai[1], 1], [40, 35, 25])


def test_the_history_page_withholds_and_releases_scores_and_pages_newest_first(
    api: Api,
) -> None:
    coach, writer, withheld, _text = _setup_review(api, "after_review")
    personal = api.submit(writer, None, memo("personal", odd=True))
    released = api.submit(writer, None, memo("released", odd=False))
    cohort_assignment = api.get(f"/evaluations/{withheld}", writer)["evaluation"]["assignment_id"]
    second = api.submit(writer, cohort_assignment, memo("second", odd=False))
    api.call("POST", f"/reviews/{second}/release", coach)

    page = api.get("/evaluations", writer)
    assert page["total"] == 4 and page["limit"] == 20 and page["offset"] == 0
    items = {i["id"]: i for i in page["items"]}
    assert [i["id"] for i in page["items"]] == [second, released, personal, withheld]
    # after_review, not released: the score is withheld and the row says why.
    assert items[withheld]["overall_score"] is None
    assert items[withheld]["review_status"] == "awaiting_review"
    assert items[withheld]["assignment_id"] == cohort_assignment
    # Released unchanged: the coach's snapshot, which equals the AI's score here.
    assert items[second]["review_status"] == "released"
    assert items[second]["overall_score"] == weighted(ai_scores(odd=False), [40, 35, 25])
    # Personal memos carry their evaluation's score (their own rubric) and no review.
    shown = api.get(f"/evaluations/{personal}", writer)["evaluation"]
    assert items[personal]["overall_score"] == shown["overall_score"] is not None
    assert items[personal]["review_status"] is None and items[personal]["assignment_id"] is None
    assert items[personal]["title"] and items[personal]["version_number"] == 1
    assert items[personal]["language"] == "en" and items[personal]["status"] == "completed"
    assert items[withheld]["version_number"] == 1

    # Pages and filters are the same query with other bounds.
    window = api.get("/evaluations", writer, limit=2, offset=1)
    assert [i["id"] for i in window["items"]] == [released, personal]
    assert (window["total"], window["limit"], window["offset"]) == (4, 2, 1)
    assert api.get("/evaluations", writer, status="completed")["total"] == 4
    assert api.get("/evaluations", writer, status="queued") == {
        "items": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
    }


def test_a_submission_still_being_evaluated_cannot_be_reviewed(api: Api) -> None:
    coach_id, coach = api.user("coach", "coach")
    writer_id, writer = api.user("writer")
    cohort = api.cohort()
    api.join(cohort, coach_id, "coach")
    api.join(cohort, writer_id, "writer")
    assignment = api.assignment(cohort, coach)["id"]
    response = api.call(
        "POST",
        "/evaluations/submit",
        writer,
        json={"text_content": memo("queued", odd=True), "assignment_id": assignment},
    )
    eid = response.json()["data"]["evaluation_id"]
    refused = api.call("POST", f"/reviews/{eid}/release", coach)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "evaluation_not_completed"
    assert (
        api.get(f"/assignments/{assignment}/submissions", coach)["items"][0]["status"] == "queued"
    )
    assert pipeline.process(eid) == "completed"
    assert api.call("POST", f"/reviews/{eid}/release", coach).status_code == 200


# ============================================= what the writer sees, everywhere


def _pdf_text(api: Api, writer: dict[str, str], eid: str, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext", "poppler-utils is not installed")
    response = api.call("GET", f"/export/pdf/{eid}", writer)
    assert response.status_code == 200, response.text
    path = tmp_path / f"{eid}-{uuid.uuid4().hex[:6]}.pdf"
    path.write_bytes(response.content)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _score(text: str, criterion_start: str) -> int:
    """The score in the report's table row of a criterion (pdftotext -layout keeps rows)."""
    (line,) = [line for line in text.splitlines() if line.strip().startswith(criterion_start)]
    found = re.search(r"(?<![\d.])(\d)\s*/\s*5\b", line)
    assert found, line
    return int(found.group(1))


def test_the_pdf_report_shows_the_released_coach_values_labelled(api: Api, tmp_path: Path) -> None:
    coach, writer, eid, text = _setup_review(api, "after_review")
    ai = ai_scores(odd=len(text) % 2 == 1)
    reason = "Your ask opens the memo: exactly right."
    api.call(
        "PUT", f"/reviews/{eid}/scores/bottom_line", coach, json={"score": 5, "reason": reason}
    )
    start = text.index("Readmissions fell 18%")
    added = api.call(
        "POST",
        f"/reviews/{eid}/comments",
        coach,
        json={
            "start": start,
            "end": start + len("Readmissions fell 18%"),
            "segment": "Readmissions fell 18%",
            "comment": "Cite where this figure comes from.",
        },
    )
    assert added.status_code == 201, added.text
    assert api.call("POST", f"/reviews/{eid}/release", coach).status_code == 200
    final = weighted([5, ai[1], ai[2]], [40, 35, 25])
    assert api.get(f"/evaluations/{eid}", writer)["evaluation"]["overall_score"] == final

    page = _pdf_text(api, writer, eid, tmp_path)
    flat = " ".join(page.split())
    assert "Reviewed by your coach" in flat
    assert f"{final:.2f}" in flat  # the final overall, as GET /evaluations/{id} shows it
    assert f"The AI's overall score was {weighted(ai, [40, 35, 25]):.2f}" in flat
    # The overridden row: the coach's score, labelled, the AI's beside it, the reason.
    assert _score(page, "Bottom Line") == 5
    assert f"Reviewed by your coach (AI: {ai[0]})" in flat
    assert f"Your coach: {reason}" in flat
    # A criterion the coach kept shows the AI's score, unlabelled.
    assert _score(page, "Supporting") == ai[1]
    assert flat.count("(AI: ") == 1
    assert "Comment from your coach" in flat and "Cite where this figure comes from." in flat

    # Released again after a further change: a new report, not the cached one.
    api.call("PUT", f"/reviews/{eid}/scores/brevity", coach, json={"score": 1, "reason": "Cut it."})
    assert " ".join(_pdf_text(api, writer, eid, tmp_path).split()) == flat  # not released yet
    api.call("POST", f"/reviews/{eid}/release", coach)
    again = " ".join(_pdf_text(api, writer, eid, tmp_path).split())
    assert f"{weighted([5, ai[1], 1], [40, 35, 25]):.2f}" in again
    assert "Your coach: Cut it." in again


def test_progress_and_revision_deltas_use_the_released_scores(api: Api) -> None:
    coach_id, coach = api.user("coach", "coach")
    writer_id, writer = api.user("writer")
    cohort = api.cohort()
    api.join(cohort, coach_id, "coach")
    api.join(cohort, writer_id, "writer")
    assignment = api.assignment(cohort, coach)["id"]
    first = api.submit(writer, assignment, memo("progress", odd=False))  # AI 2, 3, 4
    question = "Who signs off on the budget?"
    start = memo("progress", odd=False).index("We request")
    api.call(
        "POST",
        f"/reviews/{first}/comments",
        coach,
        json={
            "start": start,
            "end": start + len("We request"),
            "segment": "We request",
            "comment": "Say who decides.",
            "questions": [question],
        },
    )
    api.call(
        "PUT", f"/reviews/{first}/scores/bottom_line", coach, json={"score": 4, "reason": "Clear."}
    )
    api.call("POST", f"/reviews/{first}/release", coach)
    second = api.submit(
        writer, None, memo("progress v2", odd=True), previous_evaluation_id=first
    )  # AI 3, 4, 5
    # Not released yet: the comparison is refused, progress leaves it out.
    assert api.call("GET", f"/evaluations/{second}/comparison", writer).status_code == 409
    trends = api.get("/progress", writer)["overall_trends"]
    assert [(t["evaluation_id"], t["overall_score"]) for t in trends] == [
        (first, weighted([4, 3, 4], [40, 35, 25]))
    ]
    api.call(
        "PUT", f"/reviews/{second}/scores/evidence", coach, json={"score": 2, "reason": "Vague."}
    )
    api.call("POST", f"/reviews/{second}/release", coach)
    v1, v2 = [4, 3, 4], [3, 2, 5]  # final; the AI's were 2,3,4 then 3,4,5 (all up by one)

    comparison = api.get(f"/evaluations/{second}/comparison", writer)
    assert comparison["overall"] == {
        "previous": weighted(v1, [40, 35, 25]),
        "current": weighted(v2, [40, 35, 25]),
        "delta": round(weighted(v2, [40, 35, 25]) - weighted(v1, [40, 35, 25]), 2),
    }
    assert {
        n: (d["previous"], d["current"], d["direction"]) for n, d in comparison["criteria"].items()
    } == {
        "Bottom Line Up Front": (4, 3, "down"),
        "Supporting Numbers": (3, 2, "down"),
        "Brevity and Clarity": (4, 5, "up"),
    }
    # The questions are the ones the writer was shown: the coach's included.
    assert question in [q["question"] for q in comparison["questions"]]

    progress = api.get("/progress", writer)
    assert [(t["evaluation_id"], t["overall_score"]) for t in progress["overall_trends"]] == [
        (first, weighted(v1, [40, 35, 25])),
        (second, weighted(v2, [40, 35, 25])),
    ]
    improvements = progress["rubric_improvements"]
    assert [p["score"] for p in improvements["Bottom Line Up Front"]["points"]] == [4, 3]
    assert improvements["Bottom Line Up Front"]["change"] == -1
    assert improvements["Supporting Numbers"]["change"] == -1
    assert improvements["Brevity and Clarity"]["change"] == 1
    assert progress["overall_change"] == comparison["overall"]["delta"]

    # A re-release of the first version reaches progress at once (not a cached answer).
    api.call(
        "PUT", f"/reviews/{first}/scores/evidence", coach, json={"score": 5, "reason": "Good."}
    )
    api.call("POST", f"/reviews/{first}/release", coach)
    again = api.get("/progress", writer)["overall_trends"]
    assert again[0]["overall_score"] == weighted([4, 5, 4], [40, 35, 25])
    deltas = api.get(f"/evaluations/{second}/comparison", writer)["criteria"]
    assert deltas["Supporting Numbers"]["previous"] == 5


def _chat_system(api: Api, writer: dict[str, str], eid: str, fake: FakeAnthropic) -> list[str]:
    """Ask the chat coach about `eid`; the system blocks the Messages API received."""
    opened = api.call("POST", "/chat/sessions", writer, json={"evaluation_id": eid})
    assert opened.status_code == 201, opened.text
    chat_id = opened.json()["data"]["chat_session_id"]
    ask = f"What did my coach change? {uuid.uuid4().hex[:6]}"
    posted = api.call(
        "POST",
        f"/chat/sessions/{chat_id}/messages",
        writer,
        params={"wait": "false"},
        json={"message_content": ask},
    )
    assert posted.status_code == 202, posted.text
    # The worker's task, run here as the evaluation tests run the pipeline.
    reply = posted.json()["data"]["assistant_message_id"]
    assert chat_pipeline.process_reply(reply) == "completed"
    (request,) = fake.requests_for(ask)
    return [str(b["text"]) for b in request.body["system"]]


def _chat_setup(api: Api) -> tuple[dict[str, str], dict[str, str], str]:
    coach_id, coach = api.user("coach", "coach")
    writer_id, writer = api.user("writer")
    cohort = api.cohort()
    api.join(cohort, coach_id, "coach")
    api.join(cohort, writer_id, "writer")
    assignment = api.assignment(cohort, coach)["id"]
    return coach, writer, api.submit(writer, assignment, memo("chat", odd=False))


def test_the_chat_coach_knows_the_released_coach_scores(api: Api, fake: FakeAnthropic) -> None:
    coach, writer, eid = _chat_setup(api)
    ai = ai_scores(odd=False)
    reason = "The ask and the amount are in the first line."
    api.call(
        "PUT", f"/reviews/{eid}/scores/bottom_line", coach, json={"score": 5, "reason": reason}
    )
    api.call("PATCH", f"/reviews/{eid}/comments/ai-0", coach, json={"comment": "Name the owner."})
    text = memo("chat", odd=False)
    start = text.index("Decision needed")
    added = api.call(
        "POST",
        f"/reviews/{eid}/comments",
        coach,
        json={
            "start": start,
            "end": start + len("Decision needed"),
            "segment": "Decision needed",
            "comment": "Say who decides.",
            "questions": ["Who approves it?"],
        },
    )
    assert added.status_code == 201, added.text
    api.call("POST", f"/reviews/{eid}/release", coach)
    _rubric, context = _chat_system(api, writer, eid, fake)
    # The coach's final values, marked as theirs, as GET /evaluations/{id} shows them.
    seen = api.get(f"/evaluations/{eid}", writer)["evaluation"]
    assert seen["overall_score"] == weighted([5, ai[1], ai[2]], [40, 35, 25])
    assert f"overall {seen['overall_score']}." in context
    assert (
        f"- Bottom Line Up Front: 5 (set by the writer's coach; the AI gave {ai[0]}) "
        f"- coach's reason: {reason}"
    ) in context
    assert f"- Supporting Numbers: {ai[1]} - " in context
    assert "released it to the writer" in context
    assert "Name the owner." in context
    assert (
        "The writer's coach's comment on \"Decision needed\": Say who decides. "
        "Questions: Who approves it?"
    ) in context
    assert f"overall {weighted(ai, [40, 35, 25])}." not in context


def test_the_chat_coach_discusses_the_rubric_pinned_to_the_assignment(
    api: Api, fake: FakeAnthropic
) -> None:
    coach, writer, eid = _chat_setup(api)
    api.call("POST", f"/reviews/{eid}/release", coach)
    original = (api.config_dir / "rubric.yaml").read_text()
    try:
        # The live rubric changes after the assignment pinned it.
        _set_exec_rubric(api.config_dir, ["Lead", "Numbers That Matter", "Short"], [50, 25, 25])
        time.sleep(0.05)  # a new mtime even on coarse clocks
        rubric, _context = _chat_system(api, writer, eid, fake)
    finally:
        (api.config_dir / "rubric.yaml").write_text(original)
    # The pinned rubric: not the default one, nor the edited live one.
    assert "Executive Summary Rubric" in rubric
    for _cid, name, weight in EXEC:
        assert f"- {name} ({weight:g}" in rubric
    assert "Numbers That Matter" not in rubric
    assert "Healthcare Investment Memo Rubric" not in rubric


# ================================================================== analytics


@dataclass
class Course:
    coach: dict[str, str]
    cohort: str
    first: str
    second: str
    writers: list[tuple[str, str]]  # (id, username)
    evaluations: dict[str, str]


@pytest.fixture(scope="module")
def course(api: Api) -> Course:
    """Four writers, two assignments, hand-checkable scores (see the tests).

    First assignment (executive summary rubric, weights 40/35/25):
      w1 even memo: AI 2,3,4; coach sets bottom_line 4, releases -> final 4,3,4 = 3.65
      w2 odd memo:  AI 3,4,5; coach sets evidence 2, releases    -> final 3,2,5 = 3.15
      w3 even memo: AI 2,3,4; no review                          -> final 2,3,4 = 2.85
      w4 does not submit.
    Second assignment (default rubric, six criteria), due a day later:
      w1 odd memo: AI 3,4,5,3,4,5 (weights 20,20,20,15,15,10) -> 3.95
    """
    coach_id, coach = api.user("coach", "coach")
    cohort = api.cohort("Hand-checked")
    api.join(cohort, coach_id, "coach")
    writers = []
    # Usernames that spreadsheets would run as formulas (CSV injection).
    for prefix in ("a-w1", "b-w2", "@c-w3", "-d-w4"):
        user_id, headers = api.user(prefix)
        api.join(cohort, user_id, "writer")
        name = api.get("/auth/verify", headers)["user"]["username"]
        writers.append((user_id, name, headers))
    first = api.assignment(cohort, coach, title='=HYPERLINK("http://evil")')["id"]
    second = api.assignment(
        cohort,
        coach,
        title="+Second memo",
        rubric_id="default",
        due_at=(datetime.now(UTC) + timedelta(days=2)).isoformat(),
    )["id"]
    e = {
        "w1": api.submit(writers[0][2], first, memo("w1", odd=False)),
        "w2": api.submit(writers[1][2], first, memo("w2", odd=True)),
        "w3": api.submit(writers[2][2], first, memo("w3", odd=False)),
        "w1b": api.submit(writers[0][2], second, memo("w1 second", odd=True)),
    }
    api.call(
        "PUT",
        f"/reviews/{e['w1']}/scores/bottom_line",
        coach,
        json={"score": 4, "reason": "Clear ask."},
    )
    api.call(
        "PUT",
        f"/reviews/{e['w2']}/scores/evidence",
        coach,
        json={"score": 2, "reason": "Unsourced."},
    )
    for key in ("w1", "w2"):
        assert api.call("POST", f"/reviews/{e[key]}/release", coach).status_code == 200
    return Course(coach, cohort, first, second, [(w[0], w[1]) for w in writers], e)


def _histogram(stats: dict[str, Any]) -> dict[int, int]:
    return {b["score"]: b["count"] for b in stats["histogram"]}


def test_assignment_analytics_on_a_hand_checked_cohort(api: Api, course: Course) -> None:
    data = api.get(f"/assignments/{course.first}/analytics", course.coach)
    assert (data["writers"], data["submitted"], data["reviewed"]) == (4, 3, 2)
    assert [w["username"] for w in data["not_submitted"]] == [course.writers[3][1]]
    by_id = {c["criterion_id"]: c for c in data["criteria"]}
    # Final scores: bottom_line 4,3,2; evidence 3,2,3; brevity 4,5,4.
    assert _histogram(by_id["bottom_line"]) == {1: 0, 2: 1, 3: 1, 4: 1, 5: 0}
    assert _histogram(by_id["evidence"]) == {1: 0, 2: 1, 3: 2, 4: 0, 5: 0}
    assert _histogram(by_id["brevity"]) == {1: 0, 2: 0, 3: 0, 4: 2, 5: 1}
    assert [(c["criterion_id"], c["n"], c["mean"], c["ai_mean"]) for c in data["criteria"]] == [
        ("bottom_line", 3, 3.0, 2.33),
        ("evidence", 3, 2.67, 3.33),
        ("brevity", 3, 4.33, 4.33),
    ]
    assert [(w["criterion_id"], w["mean"]) for w in data["weakest_criteria"]] == [
        ("evidence", 2.67),
        ("bottom_line", 3.0),
        ("brevity", 4.33),
    ]
    # Overall: final 3.65, 3.15, 2.85 -> 3.22; AI 2.85, 3.85, 2.85 -> 3.18.
    assert data["overall"] == {"n": 3, "mean": 3.22, "ai_mean": 3.18}
    # Agreement over the two released reviews: |4-2| on bottom_line, |2-4| on evidence.
    agreement = data["agreement"]
    assert (agreement["reviewed"], agreement["criterion_scores"], agreement["overridden"]) == (
        2,
        6,
        2,
    )
    assert agreement["override_share"] == 0.333
    assert agreement["mean_absolute_difference"] == 0.67
    assert [
        (c["criterion_id"], c["n"], c["mean_absolute_difference"], c["overridden"])
        for c in agreement["criteria"]
    ] == [("bottom_line", 2, 1.0, 1), ("evidence", 2, 1.0, 1), ("brevity", 2, 0.0, 0)]
    counts = api.get(f"/assignments/{course.first}", course.coach)["counts"]
    assert counts == {
        "writers": 4,
        "submitted": 3,
        "not_submitted": 1,
        "reviewed": 2,
        "awaiting_review": 1,
    }


def test_cohort_analytics_and_progress_over_assignments(api: Api, course: Course) -> None:
    data = api.get(f"/cohorts/{course.cohort}/analytics", course.coach)
    assert data["writers"] == 4
    rows = {r["assignment_id"]: r for r in data["assignments"]}
    assert [r["assignment_id"] for r in data["assignments"]] == [course.first, course.second]
    assert (rows[course.first]["submitted"], rows[course.first]["mean"]) == (3, 3.22)
    assert (rows[course.second]["submitted"], rows[course.second]["mean"]) == (1, 3.95)
    assert len(rows[course.second]["not_submitted"]) == 3
    assert [(p["assignment_id"], p["n"], p["mean"]) for p in data["progress"]["cohort"]] == [
        (course.first, 3, 3.22),
        (course.second, 1, 3.95),
    ]
    w1 = next(w for w in data["progress"]["writers"] if w["writer"]["id"] == course.writers[0][0])
    assert [s["overall"] for s in w1["scores"]] == [3.65, 3.95]
    w4 = next(w for w in data["progress"]["writers"] if w["writer"]["id"] == course.writers[3][0])
    assert [s["overall"] for s in w4["scores"]] == [None, None]
    # Criteria are merged by id across rubrics: bottom_line 4,3,2 (+3 from the second).
    by_id = {c["criterion_id"]: c for c in data["criteria"]}
    assert (by_id["bottom_line"]["n"], by_id["bottom_line"]["mean"]) == (4, 3.0)
    assert by_id["financials"]["n"] == 1 and by_id["brevity"]["n"] == 3
    assert data["agreement"]["overridden"] == 2 and data["agreement"]["reviewed"] == 2


def test_the_gradebook_csv_is_complete_and_safe_in_spreadsheets(api: Api, course: Course) -> None:
    response = api.call("GET", f"/cohorts/{course.cohort}/gradebook.csv", course.coach)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 8  # 4 writers x 2 assignments
    header = response.text.splitlines()[0].split(",")
    assert header[:11] == [
        "writer",
        "writer_id",
        "assignment",
        "assignment_id",
        "due_at",
        "submitted_at",
        "version",
        "status",
        "ai_overall",
        "final_overall",
        "review_status",
    ]
    assert "Bottom Line Up Front" in header and "Financial Case" in header
    by_key = {(r["writer_id"], r["assignment_id"]): r for r in rows}
    w1 = by_key[(course.writers[0][0], course.first)]
    assert (w1["ai_overall"], w1["final_overall"], w1["review_status"]) == (
        "2.85",
        "3.65",
        "released",
    )
    assert (w1["Bottom Line Up Front"], w1["Supporting Numbers"], w1["Brevity and Clarity"]) == (
        "4",
        "3",
        "4",
    )
    assert w1["Financial Case"] == "" and w1["version"] == "1" and w1["status"] == "completed"
    w3 = by_key[(course.writers[2][0], course.first)]
    assert (w3["final_overall"], w3["review_status"]) == ("2.85", "not_started")
    w4 = by_key[(course.writers[3][0], course.first)]
    assert (w4["review_status"], w4["submitted_at"], w4["final_overall"]) == (
        "not_submitted",
        "",
        "",
    )
    second = by_key[(course.writers[0][0], course.second)]
    assert second["final_overall"] == "3.95" and second["Financial Case"] == "5"
    # Cells a spreadsheet would run as a formula start with a quote.
    assert {r["assignment"] for r in rows} == {'\'=HYPERLINK("http://evil")', "'+Second memo"}
    assert {r["writer"] for r in rows if r["writer_id"] == course.writers[2][0]} == {
        f"'{course.writers[2][1]}"
    }
    assert {r["writer"] for r in rows if r["writer_id"] == course.writers[3][0]} == {
        f"'{course.writers[3][1]}"
    }
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value
    one = api.call("GET", f"/assignments/{course.first}/gradebook.csv", course.coach)
    assert len(list(csv.DictReader(io.StringIO(one.text)))) == 4


def test_the_review_queue_is_oldest_first_and_filters(api: Api, course: Course) -> None:
    queue = api.get("/reviews/queue", course.coach, cohort_id=course.cohort, limit=200)
    assert [i["evaluation_id"] for i in queue["items"]] == [
        course.evaluations[k] for k in ("w1", "w2", "w3", "w1b")
    ]
    pending = api.get("/reviews/queue", course.coach, cohort_id=course.cohort, status="pending")
    assert [i["evaluation_id"] for i in pending["items"]] == [
        course.evaluations["w3"],
        course.evaluations["w1b"],
    ]
    one = api.get("/reviews/queue", course.coach, assignment_id=course.second)
    assert [i["evaluation_id"] for i in one["items"]] == [course.evaluations["w1b"]]
    assert one["items"][0]["ai_overall_score"] == 3.95
    paged = api.get("/reviews/queue", course.coach, cohort_id=course.cohort, limit=1, offset=1)
    assert paged["total"] == 4 and paged["items"][0]["evaluation_id"] == course.evaluations["w2"]


# =================================================================== webhooks


@pytest.fixture(scope="module", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp(f"cohort-hooks-{request.param}")
    env = {
        **auth_overrides(),
        "BCRYPT_ROUNDS": "4",
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_BACKOFF": "[1, 1, 1]",
        "WEBHOOK_RETRY_INTERVAL": "1",
        "ASSIGNMENT_DUE_CHECK_INTERVAL": "1",
    }
    with running_stack(root, request.param, services=("api", "worker", "beat"), **env) as s:
        yield s


def _wait_event(
    receiver: Receiver, event: str, count: int, timeout: float = 40
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        hits = [
            r
            for r in receiver.received
            if {k.lower(): v for k, v in r["headers"].items()}["x-memoai-event"] == event
        ]
        if len(hits) >= count:
            return hits
        assert time.monotonic() < deadline, f"{len(hits)} of {count} {event} deliveries"
        time.sleep(0.2)


def test_review_released_and_assignment_due_webhooks_are_delivered(stack: Stack) -> None:
    admin = bearer(stack, ADMIN_USERNAME, ADMIN_PASSWORD)
    tag = uuid.uuid4().hex[:6]
    coach_user = create_user(stack, admin, f"coach-{tag}")
    writer_user = create_user(stack, admin, f"writer-{tag}")
    absent_user = create_user(stack, admin, f"absent-{tag}")
    with stack.client() as c:
        assert (
            c.put(f"/users/{coach_user['id']}", json={"role": "coach"}, headers=admin).status_code
            == 200
        )
        coach = bearer(stack, coach_user["username"], USER_PASSWORD)
        writer = bearer(stack, writer_user["username"], USER_PASSWORD)
        cohort = c.post("/cohorts", json={"name": "Hooks"}, headers=admin).json()["data"]["id"]
        for user, role in ((coach_user, "coach"), (writer_user, "writer"), (absent_user, "writer")):
            added = c.post(
                f"/cohorts/{cohort}/members",
                json={"user_id": user["id"], "role": role},
                headers=admin,
            )
            assert added.status_code == 201, added.text
        coach_hook, writer_hook = Receiver(), Receiver()
        coach_endpoint = c.post(
            "/webhooks",
            json={"url": coach_hook.url, "events": ["review.released", "assignment.due"]},
            headers=coach,
        ).json()["data"]
        writer_endpoint = c.post(
            "/webhooks",
            json={"url": writer_hook.url, "events": ["review.released", "evaluation.completed"]},
            headers=writer,
        ).json()["data"]
        due = datetime.now(UTC) + timedelta(seconds=6)
        assignment = c.post(
            f"/cohorts/{cohort}/assignments",
            json={
                "title": "Hooked memo",
                "due_at": due.isoformat(),
                "rubric_id": "executive_summary",
            },
            headers=coach,
        ).json()["data"]["id"]
        eid = c.post(
            "/evaluations/submit",
            json={"text_content": memo("hooks", odd=True), "assignment_id": assignment},
            headers=writer,
        ).json()["data"]["evaluation_id"]
    from tests.support.auth import wait_final

    with stack.client() as c:
        assert wait_final(c, eid, writer)["status"] == "completed"
    # evaluation.completed reached the writer with the AI's feedback withheld. Its
    # payload is read when it is delivered, so this waits for it before the coach
    # releases (after the release the writer may see the scores, and the payload says so).
    (completed,) = _wait_event(writer_hook, "evaluation.completed", 1)
    evaluation = json.loads(completed["body"])["data"]["evaluation"]
    assert evaluation["id"] == eid and evaluation["assignment_id"] == assignment
    assert evaluation["overall_score"] is None and evaluation["rubric_scores"] == {}
    assert evaluation["review"]["status"] == "awaiting_review"

    with stack.client() as c:
        changed = c.put(
            f"/reviews/{eid}/scores/evidence",
            json={"score": 1, "reason": "No source."},
            headers=coach,
        )
        assert changed.status_code == 200, changed.text
        final = changed.json()["data"]["final_overall_score"]
        assert c.post(f"/reviews/{eid}/release", headers=coach).status_code == 200

    # review.released: to the writer's endpoint and the releasing coach's, signed by each.
    for receiver, endpoint in ((writer_hook, writer_endpoint), (coach_hook, coach_endpoint)):
        (hit,) = _wait_event(receiver, "review.released", 1)
        h = {k.lower(): v for k, v in hit["headers"].items()}
        assert verify(
            endpoint["secret"], h["x-memoai-timestamp"], h["x-memoai-signature"], hit["body"]
        )
        data = json.loads(hit["body"])["data"]
        assert (data["evaluation_id"], data["assignment_id"], data["cohort_id"]) == (
            eid,
            assignment,
            cohort,
        )
        assert data["overall_score"] == final
        assert data["rubric_scores"]["Supporting Numbers"]["score"] == 1
        assert data["rubric_scores"]["Supporting Numbers"]["coach_override"] is True
    assert len(writer_hook.received) == 2

    # assignment.due: once, to the coach, when beat sees the due date pass.
    (hit,) = _wait_event(coach_hook, "assignment.due", 1, timeout=60)
    payload = json.loads(hit["body"])
    assert payload["event"] == "assignment.due"
    data = payload["data"]
    assert data["assignment"]["id"] == assignment and data["assignment"]["cohort_id"] == cohort
    assert data["counts"] == {"writers": 2, "submitted": 1, "not_submitted": 1}
    assert [w["username"] for w in data["not_submitted"]] == [absent_user["username"]]
    assert datetime.now(UTC) >= due
    time.sleep(3)  # beat runs every second: still exactly one announcement
    assert len(_wait_event(coach_hook, "assignment.due", 1)) == 1
    assert not any(
        {k.lower(): v for k, v in r["headers"].items()}["x-memoai-event"] == "assignment.due"
        for r in writer_hook.received
    )
    with stack.client() as c:
        coach_log = c.get("/webhooks/deliveries", headers=coach).json()["data"]
        writer_log = c.get("/webhooks/deliveries", headers=writer).json()["data"]
        announced = c.get(f"/assignments/{assignment}", headers=coach).json()["data"]
    assert sorted(d["event"] for d in coach_log) == ["assignment.due", "review.released"]
    assert {d["status"] for d in coach_log} == {"delivered"}
    assert (
        next(d for d in coach_log if d["event"] == "assignment.due")["subject"]
        == f"assignment:{assignment}"
    )
    # The writer's log shows their own delivery, never the coach's endpoint.
    assert [d["url"] for d in writer_log if d["event"] == "review.released"] == [writer_hook.url]
    assert announced["due_notified_at"] is not None
