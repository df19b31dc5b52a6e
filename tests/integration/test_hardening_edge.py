"""Issue 13, attacked from outside (points 1, 2, 3 and 8).

The configuration save path runs in process on the real app and a SQLite
database; what lives in processes is tested on real ones: uvicorn's proxy
handling (a production-mode API), the failed-login limit across two API
processes sharing Redis, lockout answers and their timing, retries against the
submission quota with a real worker, and the production start-up check of
`memoai`. The nginx side of point 1 is in tests/ops/test_nginx.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from memoai.models import ConfigVersion, Evaluation, Submission
from memoai.platform.db import session_scope
from tests.fakes.anthropic_server import FakeAnthropic
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
from tests.support.production import PRODUCTION_SECRETS, production_env
from tests.support.services import free_port
from tests.support.stack import Stack, claude_overrides, running_stack

pytestmark = pytest.mark.integration

API = "/api/v1"
CLAUDE_KEY = "sk-ant-edge-" + "c0ffee12" * 5
WEBHOOK_SECRET = "edge-webhook-signing-" + "ab12" * 8
SECRET_ENV = {
    "JWT_SECRET_KEY": JWT_SECRET,
    "CLAUDE_API_KEY": CLAUDE_KEY,
    "WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET,
}
SECRET_VALUES = [JWT_SECRET, CLAUDE_KEY, WEBHOOK_SECRET, ADMIN_PASSWORD]


# ================================================================ in process: config


@contextmanager
def admin_app(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[TestClient]:
    base = {
        **SECRET_ENV,
        "LLM_PROVIDER": "offline",  # the key is configured (and registered), never used
        "AUTH_ENABLED": "true",
        "ADMIN_USERNAME": ADMIN_USERNAME,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BCRYPT_ROUNDS": "4",
    }
    for name, value in {**base, **env}.items():
        monkeypatch.setenv(name, value)
    reset_process_state()
    from memoai_api.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def config_dir(app_env: Path) -> Path:
    return app_env / "config"


@pytest.fixture
def client(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with admin_app(monkeypatch) as c:
        yield c


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    response = client.post(
        f"{API}/auth/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


def _save(client: TestClient, admin: dict[str, str], name: str, content: str, **extra: Any) -> Any:
    body = {"config_content": content, "change_reason": "edge test", **extra}
    return client.post(f"{API}/admin/config/{name}", json=body, headers=admin)


def _assert_no_secret(text: str) -> None:
    for secret in SECRET_VALUES:
        assert secret not in text


ORGANIZATION = 'organization: "A regional integrated health system'


@pytest.mark.parametrize(
    "variable",
    ["JWT_SECRET_KEY", "CLAUDE_API_KEY", "DATABASE_URL", "WEBHOOK_SIGNING_SECRET",
     "ADMIN_PASSWORD", "JWT_SECRET_KEY_FILE", "HOME"],
)  # fmt: skip
def test_an_admin_cannot_publish_an_environment_variable_through_context_yaml(
    client: TestClient, admin: dict[str, str], config_dir: Path, variable: str
) -> None:
    before = (config_dir / "context.yaml").read_text()
    line = before.splitlines().index(next(x for x in before.splitlines() if ORGANIZATION in x)) + 1
    attack = before.replace(ORGANIZATION, f'organization: "${{{variable}}} {ORGANIZATION[15:]}', 1)

    response = _save(client, admin, "context", attack)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["code"] == "config_invalid"
    assert error["field"] == "context.organization"
    assert error["details"]["line"] == line
    assert f"${{{variable}}}" in error["message"]
    assert f"context.yaml:{line}" in error["message"]
    # Nothing written, nothing recorded, nothing served.
    assert (config_dir / "context.yaml").read_text() == before
    history = client.get(f"{API}/admin/config/context/history", headers=admin).json()["data"]
    assert history["versions"] == []
    check = client.post(
        f"{API}/admin/config/context/validate", json={"config_content": attack}, headers=admin
    ).json()["data"]
    assert check["valid"] is False
    public = client.get(f"{API}/config/public")
    assert public.status_code == 200
    _assert_no_secret(public.text)


def test_rollback_and_bulk_import_refuse_the_same_references(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    before = (config_dir / "context.yaml").read_text()
    poisoned = before.replace(ORGANIZATION, 'organization: "${JWT_SECRET_KEY}', 1)
    # A version recorded before this check existed (or written into the database).
    with session_scope() as db:
        row = ConfigVersion(
            config_type="context",
            version_number=7,
            content=poisoned,
            content_sha256=hashlib.sha256(poisoned.encode()).hexdigest(),
            previous_content=before,
            action="update",
            change_reason="old",
            changed_by="someone",
        )
        db.add(row)
        db.flush()
        version_id = row.id
    rolled = client.post(
        f"{API}/admin/config/context/rollback", json={"version_id": version_id}, headers=admin
    )
    assert rolled.status_code == 400, rolled.text
    assert "${JWT_SECRET_KEY}" in rolled.json()["errors"][0]["message"]
    assert (config_dir / "context.yaml").read_text() == before

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("context.yaml", before.replace(ORGANIZATION, 'organization: "${CLAUDE_API_KEY}'))
    imported = client.post(
        f"{API}/admin/config/bulk-import",
        content=archive.getvalue(),
        headers={**admin, "Content-Type": "application/zip"},
    )
    assert imported.status_code == 200, imported.text
    result = imported.json()["data"]
    assert result["valid"] is False and result["applied"] is False
    problems = result["results"]["context"]["problems"]
    assert "${CLAUDE_API_KEY}" in problems[0]["message"]
    assert (config_dir / "context.yaml").read_text() == before
    _assert_no_secret(client.get(f"{API}/config/public").text)


def test_the_auth_form_still_saves_with_the_secret_in_its_own_field(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    response = client.put(
        f"{API}/admin/auth/config",
        json={"max_login_attempts": 7, "change_reason": "policy"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    text = (config_dir / "auth.yaml").read_text()
    assert "max_login_attempts: 7" in text
    assert "secret_key: ${JWT_SECRET_KEY}" in text


def test_no_response_shows_a_registered_secret(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Secrets an operator wrote literally into files (or a route leaked) come out redacted."""
    config_dir = app_env / "config"
    context = (config_dir / "context.yaml").read_text()
    context = context.replace(ORGANIZATION, f'organization: "{JWT_SECRET} {ORGANIZATION[15:]}', 1)
    (config_dir / "context.yaml").write_text(context)
    frontend = (config_dir / "frontend.yaml").read_text()
    frontend = frontend.replace("${PAGE_TITLE:-Memo AI Coach}", f'"Coach {CLAUDE_KEY}"')
    (config_dir / "frontend.yaml").write_text(frontend)
    with admin_app(monkeypatch) as client:
        login = client.post(
            f"{API}/auth/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
        )
        client.cookies.clear()
        admin = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
        with session_scope() as db:
            submission = Submission(
                text_content=MEMO,
                text_sha256=hashlib.sha256(MEMO.encode()).hexdigest(),
                char_count=len(MEMO),
                lineage_id=str(uuid.uuid4()),
            )
            db.add(submission)
            db.flush()
            db.add(
                Evaluation(
                    submission_id=submission.id,
                    status="failed",
                    raw_prompt=f"system prompt with {WEBHOOK_SECRET} inside",
                    raw_response=f'{{"echo": "{ADMIN_PASSWORD}"}}',
                    error_code="llm_error",
                    error_message=f"upstream said {CLAUDE_KEY}",
                )
            )

        public = client.get(f"{API}/config/public")
        assert public.status_code == 200
        assert public.json()["data"]["context"]["organization"].startswith("[redacted] ")
        assert "[redacted]" in public.json()["data"]["frontend"]["ui_settings"]["page_title"]
        shown = client.get(f"{API}/admin/config/context", headers=admin)
        assert shown.status_code == 200
        assert 'organization: "[redacted] ' in shown.json()["data"]["content"]
        debug = client.get(f"{API}/debug/info", headers=admin)
        assert debug.status_code == 200
        assert debug.json()["data"]["evaluations"][0]["raw_prompt"] == (
            "system prompt with [redacted] inside"
        )
        exported = client.get(f"{API}/admin/config/bulk-export", headers=admin)
        with zipfile.ZipFile(io.BytesIO(exported.content)) as z:
            files = "".join(z.read(n).decode() for n in z.namelist())
        for response_text in (public.text, shown.text, debug.text, files):
            _assert_no_secret(response_text)

        # What the editor showed cannot be saved back over the real value.
        back = _save(client, admin, "context", shown.json()["data"]["content"])
        assert back.status_code == 400, back.text
        assert "[redacted]" in back.json()["errors"][0]["message"]
        assert JWT_SECRET in (config_dir / "context.yaml").read_text()


BASE_URL_LINE = "base_url: ${LLM_BASE_URL:-}"


def test_sending_the_api_key_elsewhere_needs_an_explicit_confirmation(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    original = (config_dir / "llm.yaml").read_text()
    moved = original.replace(BASE_URL_LINE, 'base_url: "https://llm.attacker.example/v1"')
    refused = _save(client, admin, "llm", moved)
    assert refused.status_code == 409, refused.text
    error = refused.json()["errors"][0]
    assert error["code"] == "confirmation_required"
    assert error["field"] == "confirm_base_url_change"
    assert error["details"]["after"]["base_url"] == "https://llm.attacker.example/v1"
    assert error["details"]["before"]["base_url"] == "(provider default)"
    assert (config_dir / "llm.yaml").read_text() == original

    # Another provider on the default URL also receives the key elsewhere.
    switched = original.replace("name: ${LLM_PROVIDER:-claude}", "name: openai")
    answer = _save(client, admin, "llm", switched)
    assert answer.status_code == 409, answer.text
    assert answer.json()["errors"][0]["details"]["after"]["providers"] == ["openai"]
    # A change that keeps the destination needs no confirmation.
    cooler = original.replace("temperature: ${LLM_TEMPERATURE:-0.2}", "temperature: 0.1")
    assert _save(client, admin, "llm", cooler).status_code == 200

    confirmed = _save(client, admin, "llm", moved, confirm_base_url_change=True)
    assert confirmed.status_code == 200, confirmed.text
    assert (config_dir / "llm.yaml").read_text() == moved

    # Going back is a change of destination too: rollback and import ask as well.
    history = client.get(f"{API}/admin/config/llm/history", headers=admin).json()["data"]
    baseline = next(v for v in history["versions"] if v["action"] == "initial")
    back = {"version_id": baseline["version_id"]}
    rolled = client.post(f"{API}/admin/config/llm/rollback", json=back, headers=admin)
    assert rolled.status_code == 409, rolled.text
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("llm.yaml", original)
    upload = {**admin, "Content-Type": "application/zip"}
    imported = client.post(
        f"{API}/admin/config/bulk-import", content=archive.getvalue(), headers=upload
    )
    assert imported.status_code == 409, imported.text
    assert (config_dir / "llm.yaml").read_text() == moved
    imported = client.post(
        f"{API}/admin/config/bulk-import?confirm_base_url_change=true",
        content=archive.getvalue(),
        headers=upload,
    )
    assert imported.status_code == 200, imported.text
    assert (config_dir / "llm.yaml").read_text() == original


def test_operator_files_that_interpolate_a_secret_into_content_stop_the_start(
    config_dir: Path,
) -> None:
    context = (config_dir / "context.yaml").read_text()
    (config_dir / "context.yaml").write_text(
        context.replace(ORGANIZATION, 'organization: "${JWT_SECRET_KEY}', 1)
    )
    result = subprocess.run(
        [sys.executable, "-m", "memoai_cli.main", "config", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout
    assert "context.yaml:3 [context.organization]" in result.stderr
    assert "${JWT_SECRET_KEY} is a secret" in result.stderr


# ================================================================ real processes


def _wait_ready(url: str, stack: Stack, key: str) -> None:
    deadline = time.monotonic() + 40
    while True:
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, stack.log(key)[-3000:]
        time.sleep(0.2)


def _auth_events(stack: Stack, admin: dict[str, str], **params: str) -> list[dict[str, Any]]:
    with stack.client() as c:
        response = c.get("/admin/auth/events", params={"limit": "200", **params}, headers=admin)
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["items"])


def test_a_client_that_is_not_the_proxy_cannot_choose_its_address(tmp_path: Path) -> None:
    """Production trust: X-Forwarded-For counts only from the proxy's network."""
    env = {
        **auth_overrides(),
        **production_env(
            LLM_PROVIDER="offline",
            FORWARDED_ALLOW_IPS="172.30.80.0/24",  # the compose edge network; not us
            LOGIN_ATTEMPTS_PER_HOUR="4",
            RATE_LIMIT_IP_MULTIPLIER="5",  # 20 failed logins per address and hour
            BCRYPT_ROUNDS="4",
        ),
    }
    with running_stack(tmp_path, "sqlite", services=("api",), **env) as stack:
        admin = bearer(stack, ADMIN_USERNAME, ADMIN_PASSWORD)  # before the address is used up
        forged = [f"198.51.100.{i}" for i in range(25)]
        codes = []
        with stack.client() as c:
            for i, ip in enumerate(forged):
                response = c.post(
                    "/auth/login",
                    json={"username": f"victim{i}", "password": "Wrong-passw0rd!"},
                    headers={"X-Forwarded-For": ip, "X-Real-IP": ip},
                )
                codes.append(response.status_code)
        assert codes == [401] * 20 + [429] * 5
        assert response.json()["errors"][0]["details"]["scope"] == "login"
        failed = [e for e in _auth_events(stack, admin) if e["event_type"] == "login_failed"]
        assert len(failed) == 20
        assert {e["ip_address"] for e in failed} == {"127.0.0.1"}


def test_the_failed_login_limit_holds_across_two_api_processes_under_concurrency(
    tmp_path: Path,
) -> None:
    env = auth_overrides(
        LOGIN_ATTEMPTS_PER_HOUR="2",
        RATE_LIMIT_IP_MULTIPLIER="5",  # 10 failed logins per address
        BCRYPT_ROUNDS="10",  # a real hash takes long enough for guesses to overlap
    )
    with running_stack(tmp_path, "postgres", services=("api",), **env) as stack:
        port = free_port()
        stack.start_process("api", "--port", str(port), key="api-2")
        second = f"http://127.0.0.1:{port}"
        _wait_ready(second, stack, "api-2")
        bases = [f"{stack.api_url}/api/v1", f"{second}/api/v1"]
        attempts = 40
        barrier = threading.Barrier(attempts)
        codes: list[int] = []
        lock = threading.Lock()

        def guess(i: int) -> None:
            with httpx.Client(base_url=bases[i % 2], timeout=60) as c:
                barrier.wait()
                response = c.post(
                    "/auth/login", json={"username": f"spray{i}", "password": "Wrong-passw0rd!"}
                )
            with lock:
                codes.append(response.status_code)

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(attempts)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(codes) == [401] * 10 + [429] * 30


def _timed_login(stack: Stack, username: str, password: str) -> tuple[httpx.Response, float]:
    with stack.client() as c:
        started = time.perf_counter()
        response = c.post("/auth/login", json={"username": username, "password": password})
        return response, time.perf_counter() - started


def test_lockout_answers_do_not_reveal_whether_an_account_exists(tmp_path: Path) -> None:
    env = auth_overrides(MAX_LOGIN_ATTEMPTS="3", BCRYPT_ROUNDS="10")
    with running_stack(tmp_path, "sqlite", services=("api",), **env) as stack:
        admin = bearer(stack, ADMIN_USERNAME, ADMIN_PASSWORD)
        create_user(stack, admin, "locked-lou")
        create_user(stack, admin, "open-olga")
        for _ in range(3):
            assert _timed_login(stack, "locked-lou", "Wrong-passw0rd!")[0].status_code == 401
        cases = {
            "unknown user": ("nobody-at-all", "Wrong-passw0rd!"),
            "wrong password": ("open-olga", "Wrong-passw0rd!"),
            "locked, wrong password": ("locked-lou", "Wrong-passw0rd!"),
            "locked, right password": ("locked-lou", USER_PASSWORD),
        }
        answers: dict[str, list[tuple[httpx.Response, float]]] = {name: [] for name in cases}
        for _ in range(8):  # interleaved, so load on the machine hits every case alike
            for name, (username, password) in cases.items():
                answers[name].append(_timed_login(stack, username, password))

        def shape(response: httpx.Response) -> str:
            """Everything a client sees, but the per-response id, time and length."""
            body = response.json()
            headers = sorted(
                (k, v)
                for k, v in response.headers.items()
                if k not in ("date", "x-request-id", "content-length")
            )
            return json.dumps([response.status_code, body["data"], body["errors"], headers])

        shapes = {name: {shape(r) for r, _ in runs} for name, runs in answers.items()}
        reference = shapes["wrong password"]
        assert len(reference) == 1
        for name, seen in shapes.items():
            assert seen == reference, name
        status, _data, errors, headers = json.loads(next(iter(reference)))
        assert status == 401 and errors[0]["code"] == "invalid_credentials"
        assert "retry-after" not in dict(headers)

        # The fastest of 8 is each path's own cost (load only ever adds to it): one
        # bcrypt check in every case, so none is much faster or slower.
        fastest = {name: min(t for _, t in runs) for name, runs in answers.items()}
        for name, seconds in fastest.items():
            ratio = seconds / fastest["wrong password"]
            assert 0.5 < ratio < 2.0, (name, fastest)
        # The lockout is still real, and visible to admins.
        kinds = [e["event_type"] for e in _auth_events(stack, admin, username="locked-lou")]
        assert kinds.count("account_locked") == 1
        assert kinds.count("login_blocked") == 16


@pytest.fixture
def failing_stack(tmp_path: Path, fake: FakeAnthropic) -> Iterator[tuple[Stack, FakeAnthropic]]:
    env = claude_overrides(
        fake.url,
        LLM_RETRY_ATTEMPTS="0",
        SUBMISSIONS_PER_HOUR="2",
        RETRIES_PER_HOUR="2",
        RATE_LIMIT_IP_MULTIPLIER="1",
    )
    with running_stack(tmp_path, "sqlite", **env) as stack:
        yield stack, fake


def test_a_retry_uses_no_submission_slot_and_retries_have_their_own_limit(
    failing_stack: tuple[Stack, FakeAnthropic], memos: list[dict[str, Any]]
) -> None:
    stack, fake = failing_stack
    fake.script(*["server_error"] * 50)
    session = stack.new_session()
    headers = {"X-Session-ID": session}
    first = stack.submit(session, memos[0]["text"])
    assert stack.wait_final(session, first)["status"] == "failed"
    with stack.client() as c:
        for _ in range(2):
            retried = c.post(f"/evaluations/{first}/retry", headers=headers)
            assert retried.status_code == 202, retried.text
            assert retried.headers["x-ratelimit-limit"] == "2"  # the retry budget
            assert stack.wait_final(session, first)["status"] == "failed"
        third = c.post(f"/evaluations/{first}/retry", headers=headers)
        assert third.status_code == 429, third.text
        assert third.json()["errors"][0]["details"]["scope"] == "retries"
        # Two retries later the second submission slot is still free...
        second = c.post("/evaluations/submit", json={"text_content": MEMO}, headers=headers)
        assert second.status_code == 202, second.text
        assert second.headers["x-ratelimit-remaining"] == "0"
        # ...and the quota itself still holds.
        over = c.post("/evaluations/submit", json={"text_content": MEMO + " 2"}, headers=headers)
        assert over.status_code == 429
        assert over.json()["errors"][0]["details"]["scope"] == "submissions"


# ================================================================ production start-up


PRODUCTION_CASES = {
    "jwt missing": {"JWT_SECRET_KEY": None},
    "jwt placeholder": {"JWT_SECRET_KEY": "change-me-change-me-change-me-change-me"},
    "webhook secret missing": {"WEBHOOK_SIGNING_SECRET": None},
    "claude key missing": {"CLAUDE_API_KEY": None},
    "claude key placeholder": {"CLAUDE_API_KEY": "your-claude-api-key-here"},
    "database password default": {"DATABASE_URL": "postgresql://memoai:postgres@db/memoai"},
    "database password missing": {"DATABASE_URL": "postgresql://memoai@db:5432/memoai"},
    "admin password placeholder": {"ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "changeme"},
    "every proxy trusted": {"FORWARDED_ALLOW_IPS": "*"},
}
EXPECTED_NAME = {
    "jwt missing": "JWT_SECRET_KEY",
    "jwt placeholder": "JWT_SECRET_KEY",
    "webhook secret missing": "WEBHOOK_SIGNING_SECRET",
    "claude key missing": "CLAUDE_API_KEY",
    "claude key placeholder": "CLAUDE_API_KEY",
    "database password default": "DATABASE_URL",
    "database password missing": "DATABASE_URL",
    "admin password placeholder": "ADMIN_PASSWORD",
    "every proxy trusted": "FORWARDED_ALLOW_IPS",
}


def _production_command(
    tmp_path: Path, args: list[str], changes: dict[str, str | None], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    import os
    import shutil

    from tests.support.stack import _SCRUB, REPO

    config = tmp_path / "config"
    if not config.exists():
        shutil.copytree(REPO / "config", config)
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(production_env(CONFIG_DIR=str(config), DATA_DIR=str(tmp_path / "data")))
    env["API_PORT"] = str(free_port())
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-m", "memoai_cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_production_config_check_passes_with_every_secret_set(tmp_path: Path) -> None:
    ok = _production_command(tmp_path, ["config", "check"], {})
    assert ok.returncode == 0, ok.stderr
    assert "environment: production" in ok.stdout


@pytest.mark.parametrize("case", list(PRODUCTION_CASES))
def test_production_config_check_refuses_each_missing_or_default_secret(
    tmp_path: Path, case: str
) -> None:
    result = _production_command(tmp_path, ["config", "check"], PRODUCTION_CASES[case])
    assert result.returncode == 2, result.stdout
    assert EXPECTED_NAME[case] in result.stderr
    for secret in PRODUCTION_SECRETS.values():
        assert secret not in result.stderr + result.stdout


def test_the_api_does_not_start_in_production_without_a_secret(tmp_path: Path) -> None:
    result = _production_command(tmp_path, ["api"], {"WEBHOOK_SIGNING_SECRET": None})
    assert result.returncode == 2
    assert "WEBHOOK_SIGNING_SECRET" in result.stderr
