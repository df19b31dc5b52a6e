"""The REST contract in-process: validation table, envelope, isolation, 425, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from memoai.models import Evaluation, Submission
from memoai.platform.db import session_scope
from tests.integration.conftest import new_session

pytestmark = pytest.mark.integration
SUBMIT = "/api/v1/evaluations/submit"
MEMO = "TO: Board\nSUBJECT: Approve $2M for a second MRI\n\nWe request $2M by May 1."


def counts() -> tuple[int, int]:
    with session_scope(write=False) as db:
        return (
            db.scalar(select(func.count()).select_from(Submission)) or 0,
            db.scalar(select(func.count()).select_from(Evaluation)) or 0,
        )


def assert_envelope_error(response: Any, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None
    assert body["meta"]["request_id"] == response.headers["x-request-id"]
    assert body["meta"]["timestamp"]
    (error,) = body["errors"][:1]
    assert error["code"] == code, body
    if field is not None:
        assert error.get("field") == field, body


BAD_INPUTS = [
    ("empty", {"json": {"text_content": ""}}, 422, "validation_error", "text_content"),
    (
        "whitespace",
        {"json": {"text_content": " \n\t\r\n "}},
        422,
        "validation_error",
        "text_content",
    ),
    ("too-long", {"json": {"text_content": "a" * 10_001}}, 422, "validation_error", "text_content"),
    ("nul", {"json": {"text_content": "memo\x00text"}}, 422, "validation_error", "text_content"),
    (
        "lone-surrogate",
        {
            "content": b'{"text_content": "memo \\ud800 text"}',
            "headers": {"Content-Type": "application/json"},
        },
        422,
        "validation_error",
        "text_content",
    ),
    ("number", {"json": {"text_content": 123}}, 422, "validation_error", "text_content"),
    ("null", {"json": {"text_content": None}}, 422, "validation_error", "text_content"),
    ("missing", {"json": {}}, 422, "validation_error", "text_content"),
    (
        "unknown-field",
        {"json": {"text_content": MEMO, "admin": True}},
        422,
        "validation_error",
        "admin",
    ),
    ("array-body", {"json": [MEMO]}, 422, "validation_error", None),
    (
        "text-plain",
        {"content": MEMO.encode(), "headers": {"Content-Type": "text/plain"}},
        415,
        "unsupported_media_type",
        None,
    ),
    ("form", {"data": {"text_content": MEMO}}, 415, "unsupported_media_type", None),
    (
        "malformed-json",
        {
            "content": b'{"text_content": "unterminated',
            "headers": {"Content-Type": "application/json"},
        },
        400,
        "malformed_json",
        None,
    ),
    (
        "two-megabytes",
        {
            "content": json.dumps({"text_content": "x" * (2 * 1024 * 1024)}).encode(),
            "headers": {"Content-Type": "application/json"},
        },
        413,
        "payload_too_large",
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "request_kwargs", "status", "code", "field"),
    BAD_INPUTS,
    ids=[b[0] for b in BAD_INPUTS],
)
def test_bad_input_is_a_4xx_naming_the_field_and_stores_nothing(
    client: TestClient,
    name: str,
    request_kwargs: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    headers = {**new_session(client), **request_kwargs.pop("headers", {})}
    before = counts()
    response = client.post(SUBMIT, headers=headers, **request_kwargs)
    assert_envelope_error(response, status, code, field)
    assert counts() == before


def test_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    headers = {**new_session(client), "Content-Type": "application/json"}

    def chunks() -> Any:
        yield b'{"text_content": "'
        for _ in range(300):
            yield b"x" * 10_000
        yield b'"}'

    before = counts()
    response = client.post(SUBMIT, headers=headers, content=chunks())
    assert_envelope_error(response, 413, "payload_too_large", None)
    assert counts() == before


def test_exactly_the_limit_is_accepted(client: TestClient) -> None:
    response = client.post(SUBMIT, headers=new_session(client), json={"text_content": "é" * 10_000})
    assert response.status_code == 202
    data = response.json()["data"]
    assert data["status"] == "queued" and data["evaluation_id"] and data["estimated_completion"]


@pytest.mark.parametrize(
    "headers", [{}, {"X-Session-ID": "not-a-session"}], ids=["no-session", "unknown-session"]
)
def test_submit_without_a_valid_session_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(SUBMIT, headers=headers, json={"text_content": MEMO})
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] in ("session_required", "session_invalid")


def test_text_is_stored_verbatim(client: TestClient) -> None:
    text = "  Line one\r\n<script>alert(1)</script> ' OR 1=1; -- 🚀\n\n"
    response = client.post(SUBMIT, headers=new_session(client), json={"text_content": text})
    assert response.status_code == 202
    with session_scope(write=False) as db:
        stored = db.scalars(select(Submission.text_content)).one()
    assert stored == text


def test_another_sessions_evaluation_is_404_and_unlisted(client: TestClient) -> None:
    alice, bob = new_session(client), new_session(client)
    eid = client.post(SUBMIT, headers=alice, json={"text_content": MEMO}).json()["data"][
        "evaluation_id"
    ]
    for path in (f"/api/v1/evaluations/{eid}/status", f"/api/v1/evaluations/{eid}"):
        assert_envelope_error(client.get(path, headers=bob), 404, "not_found", "evaluation_id")
    assert client.get("/api/v1/evaluations", headers=bob).json()["data"]["total"] == 0
    listed = client.get("/api/v1/evaluations", headers=alice).json()["data"]
    assert [i["id"] for i in listed["items"]] == [eid]
    revise = client.post(
        SUBMIT, headers=bob, json={"text_content": MEMO, "previous_evaluation_id": eid}
    )
    assert_envelope_error(revise, 404, "not_found", "previous_evaluation_id")


def test_result_is_425_until_the_evaluation_finishes(client: TestClient) -> None:
    headers = new_session(client)
    eid = client.post(SUBMIT, headers=headers, json={"text_content": MEMO}).json()["data"][
        "evaluation_id"
    ]
    status = client.get(f"/api/v1/evaluations/{eid}/status", headers=headers).json()["data"]
    assert status["status"] == "queued" and status["progress_percentage"] == 0
    response = client.get(f"/api/v1/evaluations/{eid}", headers=headers)
    assert_envelope_error(response, 425, "not_ready", None)
    assert response.headers["retry-after"] == "1"


def test_a_revision_becomes_the_next_version(client: TestClient) -> None:
    headers = new_session(client)
    first = client.post(SUBMIT, headers=headers, json={"text_content": MEMO}).json()["data"]
    second = client.post(
        SUBMIT,
        headers=headers,
        json={"text_content": MEMO + " Revised.", "previous_evaluation_id": first["evaluation_id"]},
    ).json()["data"]
    assert (first["version_number"], second["version_number"]) == (1, 2)
    with session_scope(write=False) as db:
        rev = db.get(Submission, second["submission_id"])
        assert rev is not None
        assert rev.previous_submission_id == first["submission_id"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/nowhere", 404),
        ("PUT", SUBMIT, 405),
        ("GET", "/api/v1/evaluations/%00%27%22", 404),
        ("GET", "/api/v1/evaluations/" + "x" * 65 + "/status", 422),
        ("GET", "/api/v1/evaluations?limit=0", 422),
        ("GET", "/api/v1/evaluations?limit=abc", 422),
        ("GET", "/api/v1/evaluations?status=bogus", 422),
    ],
)
def test_odd_requests_get_enveloped_4xx(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path, headers=new_session(client))
    assert response.status_code == status
    assert response.json()["errors"]


def test_incoming_request_id_is_echoed(client: TestClient) -> None:
    response = client.post("/api/v1/sessions", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.json()["meta"]["request_id"] == "abc-123"
    unsafe = client.post("/api/v1/sessions", headers={"X-Request-ID": "bad id with spaces"})
    assert unsafe.headers["x-request-id"] != "bad id with spaces"


def test_session_cookie_is_http_only_and_works(client: TestClient) -> None:
    response = client.post("/api/v1/sessions")
    cookie = response.headers["set-cookie"]
    assert "memoai_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    csrf = response.json()["data"]["csrf_token"]
    assert client.cookies["memoai_csrf_token"] == csrf
    # The cookie alone identifies the session; a write also needs the CSRF token.
    # The refusal re-issues the CSRF cookie (a new second gives a new value), so
    # echo the cookie as it is now, as the web app does.
    assert client.post(SUBMIT, json={"text_content": MEMO}).status_code == 403
    csrf = client.cookies["memoai_csrf_token"]
    submitted = client.post(SUBMIT, json={"text_content": MEMO}, headers={"X-CSRF-Token": csrf})
    assert submitted.status_code == 202
    validity = client.post("/api/v1/sessions/validate").json()["data"]
    assert validity["valid"] is True


def test_health_metrics_docs_and_public_config(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["database"]["ok"]
    client.get("/api/v1/evaluations/abc/status", headers=new_session(client))
    metrics = client.get("/metrics").text
    assert 'route="/api/v1/evaluations/{evaluation_id}/status"' in metrics
    assert "memoai_http_request_duration_seconds_bucket" in metrics
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/api/v1/evaluations/submit" in schema["paths"]
    public = client.get("/api/v1/config/public").json()["data"]
    assert len(public["rubric"]["criteria"]) == 6
    assert public["limits"]["max_text_length"] == 10_000
    assert public["llm"]["offline"] is True
