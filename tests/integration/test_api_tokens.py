"""Personal API tokens: the real app in-process on SQLite for the rules, and one
real api + worker stack for a token that submits and polls to completion."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from memoai.models import ApiToken, AuthEvent, utcnow
from memoai.platform.db import session_scope
from memoai.platform.logging import scrub_text
from memoai.tokens.service import hash_token
from tests.integration.conftest import reset_process_state
from tests.support.auth import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    JWT_SECRET,
    MEMO,
    USER_PASSWORD,
    auth_overrides,
    bearer,
    create_user,
)
from tests.support.stack import BACKENDS, Stack, running_stack

pytestmark = pytest.mark.integration

API = "/api/v1"
ClientFactory = Callable[..., AbstractContextManager[TestClient]]


@pytest.fixture
def make_client(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> ClientFactory:
    @contextmanager
    def factory(**env: str) -> Iterator[TestClient]:
        defaults = {
            "AUTH_ENABLED": "true",
            "JWT_SECRET_KEY": JWT_SECRET,
            "ADMIN_USERNAME": ADMIN_USERNAME,
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "BCRYPT_ROUNDS": "4",
        }
        for name, value in {**defaults, **env}.items():
            monkeypatch.setenv(name, value)
        reset_process_state()
        from memoai_api.app import create_app

        with TestClient(create_app(), base_url="http://127.0.0.1") as client:
            yield client

    return factory


@pytest.fixture
def client(make_client: ClientFactory) -> Iterator[TestClient]:
    with make_client() as c:
        yield c


def _bearer(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post(f"{API}/auth/login", json={"username": username, "password": password})
    client.cookies.clear()
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


def _user(client: TestClient, username: str) -> dict[str, str]:
    admin = _bearer(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    response = client.post(
        f"{API}/users", json={"username": username, "password": USER_PASSWORD}, headers=admin
    )
    assert response.status_code == 201, response.text
    return _bearer(client, username, USER_PASSWORD)


def _token(client: TestClient, login: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(f"{API}/tokens", json={"name": "ci", **body}, headers=login)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _as(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['token']}"}


def test_create_shows_the_secret_once_and_stores_only_its_hash(client: TestClient) -> None:
    login = _user(client, "ada")
    created = _token(client, login, scopes=["write"], expires_in_days=30)
    secret = created["token"]
    assert secret.startswith("mac_") and len(secret) >= 40
    assert created["prefix"] == secret[:12]
    assert created["scopes"] == ["read", "write"]  # write implies read
    listed = client.get(f"{API}/tokens", headers=login)
    assert listed.status_code == 200
    assert secret not in listed.text
    [item] = listed.json()["data"]["items"]
    assert item["id"] == created["id"] and item["prefix"] == created["prefix"]
    assert item["status"] == "active" and item["last_used_at"] is None
    assert "token" not in item
    with session_scope(write=False) as db:
        row = db.scalars(select(ApiToken)).one()
        assert row.token_hash == hash_token(secret) and secret not in str(row.__dict__)
        events = db.scalars(select(AuthEvent.event_type)).all()
    assert "api_token_created" in events
    assert secret not in scrub_text(f"Authorization: Bearer {secret} token {secret}")


def test_read_token_reads_the_owners_evaluations_but_cannot_submit(client: TestClient) -> None:
    login = _user(client, "ada")
    submitted = client.post(f"{API}/evaluations/submit", json={"text_content": MEMO}, headers=login)
    assert submitted.status_code == 202, submitted.text
    evaluation_id = submitted.json()["data"]["evaluation_id"]
    read = _as(_token(client, login, scopes=["read"]))
    status = client.get(f"{API}/evaluations/{evaluation_id}/status", headers=read)
    assert status.status_code == 200, status.text
    refused = client.post(f"{API}/evaluations/submit", json={"text_content": MEMO}, headers=read)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "insufficient_scope"
    verify = client.get(f"{API}/auth/verify", headers=read).json()["data"]
    assert verify["auth_method"] == "api_token" and verify["user"]["username"] == "ada"
    # The webhook signing secret would let a reader forge deliveries: write scope only.
    secret = client.get(f"{API}/webhooks/secret", headers=read)
    assert secret.status_code == 403
    assert secret.json()["errors"][0]["code"] == "insufficient_scope"
    write = _as(_token(client, login, scopes=["write"]))
    assert client.get(f"{API}/webhooks/secret", headers=write).status_code == 200


def test_write_token_submits_and_polls_as_its_owner(client: TestClient) -> None:
    login = _user(client, "ada")
    write = _as(_token(client, login, scopes=["write"]))
    submitted = client.post(f"{API}/evaluations/submit", json={"text_content": MEMO}, headers=write)
    assert submitted.status_code == 202, submitted.text
    evaluation_id = submitted.json()["data"]["evaluation_id"]
    batch = client.post(
        f"{API}/batches", json={"items": [{"text_content": MEMO}] * 2}, headers=write
    )
    assert batch.status_code == 202, batch.text
    listed = client.get(f"{API}/batches", headers=login).json()["data"]
    assert [b["id"] for b in listed] == [batch.json()["data"]["batch_id"]]
    for caller in (write, login):  # the owner sees the token's work in the app too
        polled = client.get(f"{API}/evaluations/{evaluation_id}/status", headers=caller)
        assert polled.status_code == 200, polled.text
    stranger = _user(client, "bob")
    assert (
        client.get(f"{API}/evaluations/{evaluation_id}/status", headers=stranger).status_code == 404
    )


def test_revoked_expired_and_unknown_tokens_get_401(client: TestClient) -> None:
    login = _user(client, "ada")
    revoked, expired = _token(client, login), _token(client, login)
    assert client.get(f"{API}/batches", headers=_as(revoked)).status_code == 200
    gone = client.delete(f"{API}/tokens/{revoked['id']}", headers=login)
    assert gone.status_code == 200 and gone.json()["data"]["status"] == "revoked"
    with session_scope() as db:
        db.execute(
            update(ApiToken)
            .where(ApiToken.id == expired["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    unknown = {"token": "mac_" + "x" * 43}
    for token in (revoked, expired, unknown):
        response = client.get(f"{API}/batches", headers=_as(token))
        assert response.status_code == 401, response.text
        assert response.json()["errors"][0]["code"] == "api_token_invalid"
    statuses = {
        i["id"]: i["status"]
        for i in client.get(f"{API}/tokens", headers=login).json()["data"]["items"]
    }
    assert statuses == {revoked["id"]: "revoked", expired["id"]: "expired"}


def test_tokens_stop_working_when_the_owner_is_deactivated(client: TestClient) -> None:
    login = _user(client, "ada")
    token = _as(_token(client, login))
    assert client.get(f"{API}/batches", headers=token).status_code == 200
    admin = _bearer(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    users = client.get(f"{API}/users", headers=admin).json()["data"]["items"]
    ada = next(u for u in users if u["username"] == "ada")
    off = client.put(f"{API}/users/{ada['id']}", json={"is_active": False}, headers=admin)
    assert off.status_code == 200, off.text
    assert client.get(f"{API}/batches", headers=token).status_code == 401
    # Revoked, not only suspended: reactivating the account does not bring them back.
    on = client.put(f"{API}/users/{ada['id']}", json={"is_active": True}, headers=admin)
    assert on.status_code == 200, on.text
    assert client.get(f"{API}/batches", headers=token).status_code == 401


def _user_id(client: TestClient, admin: dict[str, str], username: str) -> str:
    users = client.get(f"{API}/users", headers=admin).json()["data"]["items"]
    return str(next(u["id"] for u in users if u["username"] == username))


def test_an_admin_password_reset_revokes_every_token_and_session(client: TestClient) -> None:
    login = _user(client, "ada")
    read, write = _as(_token(client, login)), _as(_token(client, login, scopes=["write"]))
    assert client.get(f"{API}/batches", headers=write).status_code == 200
    admin = _bearer(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    ada = _user_id(client, admin, "ada")
    reset = client.put(
        f"{API}/users/{ada}", json={"password": "Reset-by-admin-2026"}, headers=admin
    )
    assert reset.status_code == 200, reset.text
    for stolen in (read, write, login):
        response = client.get(f"{API}/batches", headers=stolen)
        assert response.status_code == 401, response.text
    # The new password works and the new login can see the tokens are revoked.
    fresh = _bearer(client, "ada", "Reset-by-admin-2026")
    items = client.get(f"{API}/tokens", headers=fresh).json()["data"]["items"]
    assert {i["status"] for i in items} == {"revoked"} and len(items) == 2
    with session_scope(write=False) as db:
        event = db.scalars(
            select(AuthEvent)
            .where(AuthEvent.event_type == "password_reset", AuthEvent.user_id == ada)
            .order_by(AuthEvent.id.desc())
        ).first()
    assert event is not None and event.details is not None
    assert event.details["tokens_revoked"] == 2 and event.details["sessions_revoked"] >= 1
    assert event.details["actor"] == ADMIN_USERNAME


def test_own_password_change_signs_out_other_sessions_and_tokens_by_default(
    client: TestClient,
) -> None:
    current, other = _user(client, "ada"), _bearer(client, "ada", USER_PASSWORD)
    token = _as(_token(client, current, scopes=["write"]))
    changed = client.put(
        f"{API}/users/me/password",
        json={"current_password": USER_PASSWORD, "new_password": "Brand-new-passw0rd"},
        headers=current,
    )
    assert changed.status_code == 200, changed.text
    data = changed.json()["data"]
    assert data["signed_out_everywhere"] is True
    assert data["sessions_revoked"] == 1 and data["tokens_revoked"] == 1
    assert client.get(f"{API}/batches", headers=other).status_code == 401
    assert client.get(f"{API}/batches", headers=token).status_code == 401
    # The session that changed the password goes on.
    assert client.get(f"{API}/batches", headers=current).status_code == 200
    with session_scope(write=False) as db:
        event = db.scalars(
            select(AuthEvent)
            .where(AuthEvent.event_type == "password_changed")
            .order_by(AuthEvent.id.desc())
        ).first()
    assert event is not None and event.details is not None
    assert event.details["sign_out_everywhere"] is True and event.details["tokens_revoked"] == 1


def test_own_password_change_can_keep_other_sessions_and_tokens(client: TestClient) -> None:
    current, other = _user(client, "ada"), _bearer(client, "ada", USER_PASSWORD)
    token = _as(_token(client, current))
    kept = client.put(
        f"{API}/users/me/password",
        json={
            "current_password": USER_PASSWORD,
            "new_password": "Brand-new-passw0rd",
            "sign_out_everywhere": False,
        },
        headers=current,
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["data"]["tokens_revoked"] == 0
    for caller in (current, other, token):
        assert client.get(f"{API}/batches", headers=caller).status_code == 200
    bad = client.put(
        f"{API}/users/me/password",
        json={
            "current_password": "Brand-new-passw0rd",
            "new_password": "Another-passw0rd-1",
            "sign_out_everywhere": "yes",
        },
        headers=current,
    )
    assert bad.status_code == 422


def test_last_used_at_is_recorded_at_most_once_a_minute(client: TestClient) -> None:
    login = _user(client, "ada")
    created = _token(client, login)
    client.get(f"{API}/batches", headers=_as(created))
    first = client.get(f"{API}/tokens", headers=login).json()["data"]["items"][0]["last_used_at"]
    assert first is not None
    client.get(f"{API}/batches", headers=_as(created))
    again = client.get(f"{API}/tokens", headers=login).json()["data"]["items"][0]["last_used_at"]
    assert again == first  # within the minute: no second write
    with session_scope() as db:
        db.execute(
            update(ApiToken)
            .where(ApiToken.id == created["id"])
            .values(last_used_at=utcnow() - timedelta(minutes=5))
        )
    client.get(f"{API}/batches", headers=_as(created))
    later = client.get(f"{API}/tokens", headers=login).json()["data"]["items"][0]["last_used_at"]
    assert later > first


def test_another_users_token_is_404_on_revoke(client: TestClient) -> None:
    ada, bob = _user(client, "ada"), _user(client, "bob")
    token = _token(client, ada)
    assert client.delete(f"{API}/tokens/{token['id']}", headers=bob).status_code == 404
    assert client.get(f"{API}/batches", headers=_as(token)).status_code == 200
    assert client.get(f"{API}/tokens", headers=bob).json()["data"]["items"] == []


def test_a_token_cannot_manage_tokens_reach_admin_or_log_out(client: TestClient) -> None:
    admin = _bearer(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    token = _as(_token(client, admin, scopes=["write"]))
    for method, url, body in (
        ("POST", f"{API}/tokens", {"name": "child"}),
        ("GET", f"{API}/tokens", None),
        ("GET", f"{API}/users", None),
        ("GET", f"{API}/admin/auth/events", None),
        ("POST", f"{API}/auth/logout", None),
        ("POST", f"{API}/auth/refresh", None),
    ):
        response = client.request(method, url, json=body, headers=token)
        assert response.status_code == 403, (url, response.text)
    assert client.get(f"{API}/batches", headers=token).status_code == 200  # still alive


def test_anonymous_sessions_cannot_create_tokens(make_client: ClientFactory) -> None:
    with make_client(AUTH_ENABLED="false") as client:
        session = {"X-Session-ID": client.post(f"{API}/sessions").json()["data"]["session_id"]}
        client.cookies.clear()
        response = client.post(f"{API}/tokens", json={"name": "x"}, headers=session)
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "login_required"
        assert "logged-in" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["admin"]},
        {"name": "x", "expires_in_days": 0},
        {"name": "x", "expires_in_days": 366},
        {"name": "x", "expires_in_days": None},
        {"name": "x", "expires_in_days": "30"},
        {"name": "x" * 101},
        {"name": "x", "extra": 1},
    ],
)
def test_bad_token_requests_get_422(client: TestClient, body: dict[str, Any]) -> None:
    login = _user(client, "ada")
    response = client.post(f"{API}/tokens", json=body, headers=login)
    assert response.status_code == 422, response.text
    with session_scope(write=False) as db:
        assert db.scalars(select(ApiToken)).all() == []


def test_token_secrets_never_reach_the_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    login = _user(client, "ada")
    with caplog.at_level(logging.DEBUG):
        created = _token(client, login)
        client.get(f"{API}/batches", headers=_as(created))
        client.get(f"{API}/batches", headers={"Authorization": f"Bearer {created['token']}x"})
    assert created["token"] not in caplog.text


def test_an_opaque_login_token_that_starts_like_an_api_token_still_logs_in(
    make_client: ClientFactory, app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth_file = app_env / "config" / "auth.yaml"
    auth_file.write_text(auth_file.read_text().replace('"jwt_session"', '"session_only"'))
    from memoai.auth import tokens as auth_tokens

    # session_only logins are random strings: force the 1-in-64^4 case.
    # (`secrets` is shared, so every value stays unique.)
    counter = itertools.count()
    monkeypatch.setattr(auth_tokens.secrets, "token_urlsafe", lambda n: f"mac_{next(counter):040d}")
    with make_client() as client:
        login = _bearer(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        assert login["Authorization"].startswith("Bearer mac_0000")
        assert client.get(f"{API}/users", headers=login).status_code == 200
        assert client.post(f"{API}/auth/logout", headers=login).status_code == 200
        refused = client.get(f"{API}/users", headers=login)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["code"] == "api_token_invalid"


@pytest.fixture(scope="module", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp(f"api-tokens-{request.param}")
    with running_stack(root, request.param, **auth_overrides(BCRYPT_ROUNDS="4")) as s:
        yield s


def test_write_token_submits_and_polls_to_completion_on_a_real_stack(stack: Stack) -> None:
    admin = bearer(stack, ADMIN_USERNAME, ADMIN_PASSWORD)
    create_user(stack, admin, "carol")
    login = bearer(stack, "carol", USER_PASSWORD)
    with stack.client() as c:
        token = c.post("/tokens", json={"name": "lms", "scopes": ["write"]}, headers=login)
        assert token.status_code == 201, token.text
        headers = {"Authorization": f"Bearer {token.json()['data']['token']}"}
        submitted = c.post("/evaluations/submit", json={"text_content": MEMO}, headers=headers)
        assert submitted.status_code == 202, submitted.text
        evaluation_id = submitted.json()["data"]["evaluation_id"]
        deadline = time.monotonic() + 60
        while True:
            status = c.get(f"/evaluations/{evaluation_id}/status", headers=headers)
            assert status.status_code == 200, status.text
            if status.json()["data"]["status"] in ("completed", "failed"):
                break
            assert time.monotonic() < deadline, status.text
            time.sleep(0.3)
        assert status.json()["data"]["status"] == "completed"
        result = c.get(f"/evaluations/{evaluation_id}", headers=headers)
        assert (
            result.status_code == 200
            and result.json()["data"]["evaluation"]["overall_score"] is not None
        )
