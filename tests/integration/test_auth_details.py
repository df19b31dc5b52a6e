"""Authentication details in-process (the real app on a temporary SQLite database):
lockout expiry, per-IP login limits, cookies and headers by configuration, the
bootstrap admin, the development secret, `memoai create-admin`, session cleanup."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from memoai.auth import repository as auth_repo
from memoai.config import ConfigError, load_settings
from memoai.models import User
from memoai.platform.db import session_scope
from memoai.platform.errors import ValidationFailed
from tests.integration.conftest import reset_process_state
from tests.support.auth import ADMIN_PASSWORD, ADMIN_USERNAME, JWT_SECRET, MEMO, USER_PASSWORD

pytestmark = pytest.mark.integration

ClientFactory = Callable[..., AbstractContextManager[TestClient]]


@pytest.fixture
def make_client(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> ClientFactory:
    """Start the app with extra environment (each call is a fresh process state)."""

    @contextmanager
    def factory(**env: str) -> Iterator[TestClient]:
        defaults = {
            "JWT_SECRET_KEY": JWT_SECRET,
            "ADMIN_USERNAME": ADMIN_USERNAME,
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "BCRYPT_ROUNDS": "4",  # speed; the default cost is checked separately
        }
        for name, value in {**defaults, **env}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        reset_process_state()
        from memoai_api.app import create_app

        with TestClient(create_app(), base_url="http://127.0.0.1") as client:
            yield client

    return factory


def _login(client: TestClient, username: str, password: str) -> int:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    client.cookies.clear()
    return response.status_code


def _admin(client: TestClient) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    )
    client.cookies.clear()
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


def _add_user(client: TestClient, username: str) -> None:
    response = client.post(
        "/api/v1/users",
        json={"username": username, "password": USER_PASSWORD},
        headers=_admin(client),
    )
    assert response.status_code == 201, response.text


def test_a_lockout_ends_after_the_lockout_duration(make_client: ClientFactory) -> None:
    with make_client(LOCKOUT_DURATION="2", MAX_LOGIN_ATTEMPTS="3") as client:
        _add_user(client, "hana")
        assert [_login(client, "hana", "Wrong-passw0rd!") for _ in range(4)] == [401, 401, 401, 429]
        assert _login(client, "hana", USER_PASSWORD) == 429
        time.sleep(2.2)
        assert _login(client, "hana", USER_PASSWORD) == 200
        # A success resets the count: three more failures are needed to lock again.
        assert _login(client, "hana", "Wrong-passw0rd!") == 401
        assert _login(client, "hana", USER_PASSWORD) == 200


def test_failed_logins_per_ip_are_limited_across_usernames(make_client: ClientFactory) -> None:
    with make_client(LOGIN_ATTEMPTS_PER_HOUR="3", RATE_LIMIT_IP_MULTIPLIER="1") as client:
        _add_user(client, "ivan")
        # Successful logins do not use up the budget.
        assert [_login(client, "ivan", USER_PASSWORD) for _ in range(4)] == [200] * 4
        assert [_login(client, f"nobody{i}", "Wrong-passw0rd!") for i in range(3)] == [401] * 3
        response = client.post(
            "/api/v1/auth/login", json={"username": "ivan", "password": USER_PASSWORD}
        )
        assert response.status_code == 429
        assert response.json()["errors"][0]["details"]["scope"] == "login"
        assert int(response.headers["retry-after"]) > 3000
        assert response.headers["x-ratelimit-limit"] == "3"


def test_in_process_limit_gives_429_with_headers(make_client: ClientFactory) -> None:
    with make_client(RATE_LIMIT_PER_MINUTE="3") as client:
        created = client.post("/api/v1/sessions")
        headers = {"X-Session-ID": created.json()["data"]["session_id"]}
        client.cookies.clear()
        ok = [client.get("/api/v1/evaluations", headers=headers) for _ in range(3)]
        assert [r.status_code for r in ok] == [200] * 3
        assert [r.headers["x-ratelimit-remaining"] for r in ok] == ["2", "1", "0"]
        refused = client.get("/api/v1/evaluations", headers=headers)
        assert refused.status_code == 429
        assert {"retry-after", "x-ratelimit-limit", "x-ratelimit-reset"} <= set(refused.headers)
        # Probes are never limited.
        assert all(client.get("/health").status_code == 200 for _ in range(5))


def test_https_settings_add_hsts_and_secure_cookies(make_client: ClientFactory) -> None:
    with make_client(HTTPS_ONLY="true", SECURE_COOKIES="true") as client:
        response = client.post(
            "/api/v1/auth/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
        )
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")
        cookies = response.headers.get_list("set-cookie")
        assert cookies and all("Secure" in c for c in cookies)


def test_csrf_cookie_is_renewed_on_reads_and_with_a_refusal(make_client: ClientFactory) -> None:
    with make_client() as client:
        client.post("/api/v1/sessions")
        del client.cookies["memoai_csrf_token"]
        read = client.get("/api/v1/evaluations")
        assert read.status_code == 200 and "memoai_csrf_token=" in read.headers["set-cookie"]
        token = client.cookies["memoai_csrf_token"]
        submit = client.post(
            "/api/v1/evaluations/submit",
            json={"text_content": MEMO},
            headers={"X-CSRF-Token": token},
        )
        assert submit.status_code == 202
        del client.cookies["memoai_csrf_token"]
        refused = client.post("/api/v1/evaluations/submit", json={"text_content": MEMO})
        assert refused.status_code == 403 and "memoai_csrf_token=" in refused.headers["set-cookie"]


def test_bootstrap_admin_is_created_once_and_never_duplicated(make_client: ClientFactory) -> None:
    with make_client() as client:
        assert _login(client, ADMIN_USERNAME, ADMIN_PASSWORD) == 200
    with make_client(ADMIN_USERNAME="second-admin") as client:
        assert _login(client, "second-admin", ADMIN_PASSWORD) == 401  # an admin already exists
    with session_scope(write=False) as db:
        assert db.scalar(select(func.count()).select_from(User)) == 1
        admin = db.scalars(select(User)).one()
        assert admin.is_admin and admin.password_hash.startswith("$2b$04$")


def test_a_weak_bootstrap_password_stops_the_start(make_client: ClientFactory) -> None:
    with pytest.raises(ValidationFailed), make_client(ADMIN_PASSWORD="short"):
        pass


def test_default_bcrypt_cost_is_12(make_client: ClientFactory) -> None:
    with make_client(BCRYPT_ROUNDS=None, ADMIN_USERNAME=None, ADMIN_PASSWORD=None):
        from memoai.auth.users import create_admin
        from memoai.config import get_settings

        user = create_admin(get_settings(), "costly", ADMIN_PASSWORD)
    with session_scope(write=False) as db:
        stored = db.get(User, user.id)
        assert stored is not None and stored.password_hash.startswith("$2b$12$")


def test_development_without_a_secret_uses_a_private_generated_one(
    make_client: ClientFactory, app_env: Path
) -> None:
    with make_client(JWT_SECRET_KEY=None) as client:
        assert _login(client, ADMIN_USERNAME, ADMIN_PASSWORD) == 200
        admin = _admin(client)
    secret_file = app_env / "data" / "jwt_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(secret_file.read_text()) >= 48
    # Same data directory, same secret: the token survives a restart.
    with make_client(JWT_SECRET_KEY=None) as client:
        assert client.get("/api/v1/auth/verify", headers=admin).status_code == 200


def test_production_refuses_a_missing_or_placeholder_secret(app_env: Path) -> None:
    env = {"APP_ENV": "production", "CONFIG_DIR": str(app_env / "config"), "DATA_DIR": "/tmp/x"}
    for secret in (None, "changeme", "short-secret"):
        environ = dict(env) if secret is None else {**env, "JWT_SECRET_KEY": secret}
        with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
            load_settings(environ)
    assert load_settings({**env, "JWT_SECRET_KEY": JWT_SECRET}).authentication.enabled


def test_create_admin_command(app_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_USERNAME", "ADMIN_PASSWORD")}

    def run(username: str, password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "memoai_cli.main", "create-admin", "--username", username,
             "--password-stdin"],
            input=password + "\n", capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip

    created = run("ops-admin", ADMIN_PASSWORD)
    assert created.returncode == 0, created.stderr
    assert "ops-admin" in created.stdout and ADMIN_PASSWORD not in created.stdout
    again = run("OPS-admin", ADMIN_PASSWORD)
    assert again.returncode == 1 and "taken" in again.stderr
    weak = run("weak-admin", "password")
    assert weak.returncode == 1 and "password" in weak.stderr
    with session_scope(write=False) as db:
        admin = auth_repo.user_by_username(db, "ops-admin")
        assert admin is not None and admin.is_admin


def test_session_only_mode_issues_opaque_tokens_with_the_same_guarantees(
    make_client: ClientFactory, app_env: Path
) -> None:
    # auth.yaml's mode is a literal in the file: switch it the way an operator would.
    auth_file = app_env / "config" / "auth.yaml"
    auth_file.write_text(auth_file.read_text().replace('"jwt_session"', '"session_only"'))
    with make_client(AUTH_ENABLED="true") as client:
        response = client.post(
            "/api/v1/auth/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
        )
        assert response.status_code == 200, response.text
        token = response.json()["data"]["access_token"]
        assert token.count(".") == 0 and len(token) >= 40  # not a JWT
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/users", headers=headers).status_code == 200
        refreshed = client.post("/api/v1/auth/refresh", headers=headers)
        client.cookies.clear()
        new = {"Authorization": f"Bearer {refreshed.json()['data']['access_token']}"}
        assert client.get("/api/v1/users", headers=headers).status_code == 401
        assert client.get("/api/v1/users", headers=new).status_code == 200
        assert client.post("/api/v1/auth/logout", headers=new).status_code == 200
        assert client.get("/api/v1/users", headers=new).status_code == 401


def test_the_database_refuses_usernames_that_differ_only_in_case(app_env: Path) -> None:
    from alembic.script import ScriptDirectory
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from memoai.platform.db import get_engine
    from memoai.platform.migrate import alembic_config, current_revision, downgrade, upgrade

    with session_scope() as db:
        db.add(User(username="Zed", password_hash="x"))
    with pytest.raises(IntegrityError), session_scope() as db:
        db.add(User(username="zED", password_hash="x"))
    # The migration goes down and up again cleanly. Below it the ORM's users
    # (which have a role) no longer match the table, so the insert is plain SQL.
    engine = get_engine()
    downgrade(engine, "0001")
    with engine.connect() as conn:
        trans = conn.begin()
        conn.execute(
            text(
                "INSERT INTO users (id, username, password_hash, is_admin, is_active, "
                "failed_login_count, updated_at, created_at) "
                "VALUES ('z', 'zed', 'x', false, true, 0, :now, :now)"
            ),
            {"now": datetime(2026, 11, 25)},
        )
        trans.rollback()
    upgrade(engine)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(engine) == head
    with pytest.raises(IntegrityError), session_scope() as db:
        db.add(User(username="ZeD", password_hash="x"))  # the index is back


def test_chat_messages_per_hour_are_limited(make_client: ClientFactory) -> None:
    with make_client(CHAT_MESSAGES_PER_HOUR="2") as client:
        headers = {"X-Session-ID": client.post("/api/v1/sessions").json()["data"]["session_id"]}
        client.cookies.clear()
        url = "/api/v1/chat/sessions/no-such-chat/messages"
        codes = [
            client.post(url, json={"message_content": "Hi"}, headers=headers).status_code
            for _ in range(3)
        ]
        assert codes == [404, 404, 429]  # counted before the chat is looked up


def test_each_memo_of_a_batch_counts_as_a_submission(make_client: ClientFactory) -> None:
    with make_client(SUBMISSIONS_PER_HOUR="3") as client:
        headers = {"X-Session-ID": client.post("/api/v1/sessions").json()["data"]["session_id"]}
        client.cookies.clear()
        items = [{"text_content": f"{MEMO} ({i})"} for i in range(2)]
        first = client.post("/api/v1/batches", json={"items": items}, headers=headers)
        assert first.status_code == 202, first.text
        assert first.headers["x-ratelimit-remaining"] == "1", dict(first.headers)
        second = client.post("/api/v1/batches", json={"items": items}, headers=headers)
        assert second.status_code == 429
        assert second.json()["errors"][0]["details"]["scope"] == "submissions"
        one = client.post(
            "/api/v1/evaluations/submit", json={"text_content": MEMO}, headers=headers
        )
        assert one.status_code == 202
