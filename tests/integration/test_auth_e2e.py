"""Accounts and authentication end to end over HTTP, against real `memoai api` and
`memoai worker` processes: both modes, and the attacks that must fail."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest

from tests.support.auth import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    JWT_SECRET,
    MEMO,
    USER_PASSWORD,
    Browser,
    auth_overrides,
    bearer,
    create_user,
    login,
    wait_final,
)
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------------ auth on


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """AUTH_ENABLED=true on Postgres + Redis (rate limits shared through Redis)."""
    root = tmp_path_factory.mktemp("auth-on")
    with running_stack(root, "postgres", **auth_overrides()) as stack:
        yield stack


@pytest.fixture(scope="module")
def admin(secure: Stack) -> dict[str, str]:
    return bearer(secure, ADMIN_USERNAME, ADMIN_PASSWORD)


@pytest.fixture
def alice(secure: Stack, admin: dict[str, str]) -> dict[str, Any]:
    user = create_user(secure, admin, _name("alice"))
    return {**user, "headers": bearer(secure, user["username"], USER_PASSWORD)}


@pytest.fixture
def bob(secure: Stack, admin: dict[str, str]) -> dict[str, Any]:
    user = create_user(secure, admin, _name("bob"))
    return {**user, "headers": bearer(secure, user["username"], USER_PASSWORD)}


def test_anonymous_request_is_401_when_auth_is_on(secure: Stack) -> None:
    with secure.client() as c:
        bare = c.post("/evaluations/submit", json={"text_content": MEMO})
        assert bare.status_code == 401
        assert bare.json()["errors"][0]["code"] == "login_required"
        session = c.post("/sessions").json()["data"]["session_id"]
        c.cookies.clear()
        for method, path in (("POST", "/evaluations/submit"), ("GET", "/evaluations")):
            response = c.request(
                method, path, json={"text_content": MEMO}, headers={"X-Session-ID": session}
            )
            assert response.status_code == 401, response.text
            assert response.json()["errors"][0]["code"] == "login_required"


def test_logged_in_flow_with_cookie_and_csrf(secure: Stack, admin: dict[str, str]) -> None:
    user = create_user(secure, admin, _name("carla"))
    with Browser(secure) as browser:
        response = browser.login(user["username"], USER_PASSWORD)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["user"] == {
            "id": user["id"],
            "username": user["username"],
            "is_admin": False,
            "role": "user",
        }
        claims = jwt.decode(data["access_token"], JWT_SECRET, ["HS256"], audience="memoai-api")
        assert claims["sub"] == user["id"] and claims["sid"] and claims["jti"]
        cookies = response.headers.get_list("set-cookie")
        access = next(c for c in cookies if c.startswith("memoai_access="))
        csrf = next(c for c in cookies if c.startswith("memoai_csrf_token="))
        assert "HttpOnly" in access and "SameSite=strict" in access and "Secure" not in access
        assert "HttpOnly" not in csrf and "SameSite=strict" in csrf
        assert browser.csrf == data["csrf_token"]

        verify = browser.get("/auth/verify").json()["data"]
        assert verify["user"]["id"] == user["id"] and verify["auth_method"] == "cookie"
        submitted = browser.post("/evaluations/submit", json={"text_content": MEMO})
        assert submitted.status_code == 202, submitted.text
        eid = submitted.json()["data"]["evaluation_id"]
        assert wait_final(browser, eid)["status"] == "completed"
        result = browser.get(f"/evaluations/{eid}").json()["data"]["evaluation"]
        assert result["text_content"] == MEMO
        assert [i["id"] for i in browser.get("/evaluations").json()["data"]["items"]] == [eid]

        assert browser.post("/auth/logout").status_code == 200
        assert browser.get("/auth/verify").status_code == 401


def test_bearer_flow_needs_no_csrf(secure: Stack, alice: dict[str, Any]) -> None:
    headers = alice["headers"]
    with secure.client() as c:
        submitted = c.post("/evaluations/submit", json={"text_content": MEMO}, headers=headers)
        assert submitted.status_code == 202, submitted.text
        assert "set-cookie" not in submitted.headers
        eid = submitted.json()["data"]["evaluation_id"]
        assert wait_final(c, eid, headers)["status"] == "completed"
        assert c.get(f"/evaluations/{eid}", headers=headers).status_code == 200
        verify = c.get("/auth/verify", headers=headers).json()["data"]
        assert verify["auth_method"] == "bearer" and verify["user"]["id"] == alice["id"]


def test_non_admin_gets_403_on_admin_endpoints(secure: Stack, alice: dict[str, Any]) -> None:
    headers = alice["headers"]
    with secure.client() as c:
        for method, path, body in (
            ("GET", "/users", None),
            ("POST", "/users", {"username": _name("x"), "password": USER_PASSWORD}),
            ("GET", f"/users/{alice['id']}", None),
            ("PUT", f"/users/{alice['id']}", {"is_admin": True}),
            ("GET", "/admin/auth/events", None),
        ):
            response = c.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["errors"][0]["code"] == "admin_required"
        assert c.get("/auth/verify", headers=headers).json()["data"]["user"]["is_admin"] is False


def test_reading_or_deleting_another_users_evaluation_is_404(
    secure: Stack, alice: dict[str, Any], bob: dict[str, Any]
) -> None:
    with secure.client() as c:
        eid = c.post(
            "/evaluations/submit", json={"text_content": MEMO}, headers=alice["headers"]
        ).json()["data"]["evaluation_id"]
        for method, path in (
            ("GET", f"/evaluations/{eid}"),
            ("GET", f"/evaluations/{eid}/status"),
            ("DELETE", f"/evaluations/{eid}"),
        ):
            response = c.request(method, path, headers=bob["headers"])
            assert response.status_code == 404, (method, path, response.text)
        assert eid not in str(c.get("/evaluations", headers=bob["headers"]).json())
        # Still there for its owner, who alone can delete it.
        assert c.get(f"/evaluations/{eid}/status", headers=alice["headers"]).status_code == 200
        assert c.delete(f"/evaluations/{eid}", headers=alice["headers"]).status_code == 200
        assert c.get(f"/evaluations/{eid}/status", headers=alice["headers"]).status_code == 404


def test_cookie_post_without_csrf_is_403_and_stores_nothing(
    secure: Stack, admin: dict[str, str]
) -> None:
    user = create_user(secure, admin, _name("dora"))
    with Browser(secure) as browser:
        assert browser.login(user["username"], USER_PASSWORD).status_code == 200
        for headers in ({}, {"X-CSRF-Token": "1700000000.forged"}):
            response = browser.post(
                "/evaluations/submit", json={"text_content": MEMO}, headers=headers, csrf=False
            )
            assert response.status_code == 403, response.text
            assert response.json()["errors"][0]["code"] == "csrf_failed"
        # A token minted for another session does not verify either.
        with Browser(secure) as other:
            other.login(user["username"], USER_PASSWORD)
            foreign = other.csrf
        assert foreign
        response = browser.post(
            "/evaluations/submit",
            json={"text_content": MEMO},
            headers={"X-CSRF-Token": foreign},
            csrf=False,
        )
        assert response.status_code == 403
        assert browser.get("/evaluations").json()["data"]["total"] == 0
        assert browser.post("/evaluations/submit", json={"text_content": MEMO}).status_code == 202


def test_token_reuse_after_logout_is_401(secure: Stack, alice: dict[str, Any]) -> None:
    login_response = login(secure, alice["username"], USER_PASSWORD)
    token = login_response.json()["data"]["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with secure.client() as c:
        assert c.get("/evaluations", headers=headers).status_code == 200
        assert c.post("/auth/logout", headers=headers).status_code == 200
        for method, path in (("GET", "/evaluations"), ("GET", "/auth/verify")):
            response = c.request(method, path, headers=headers)
            assert response.status_code == 401
            assert response.json()["errors"][0]["code"] == "token_invalid"
    # The same token as a cookie (a stolen cookie) is dead too.
    with httpx.Client(base_url=f"{secure.api_url}/api/v1", cookies={"memoai_access": token}) as c:
        assert c.get("/evaluations").status_code == 401
    # Other sessions of the same user are unaffected.
    assert secure.client().get("/evaluations", headers=alice["headers"]).status_code == 200


def test_refresh_rotates_the_token_and_the_old_one_dies(
    secure: Stack, alice: dict[str, Any]
) -> None:
    with secure.client() as c:
        old = alice["headers"]
        response = c.post("/auth/refresh", headers=old)
        assert response.status_code == 200, response.text
        new = {"Authorization": f"Bearer {response.json()['data']['access_token']}"}
        assert c.get("/evaluations", headers=old).status_code == 401
        assert c.post("/auth/refresh", headers=old).status_code == 401
        assert c.get("/evaluations", headers=new).status_code == 200


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_forged_expired_and_alg_none_tokens_are_401(
    secure: Stack, alice: dict[str, Any], admin: dict[str, str]
) -> None:
    live = alice["headers"]["Authorization"].removeprefix("Bearer ")
    claims = _claims(live)
    admin_claims = _claims(admin["Authorization"].removeprefix("Bearer "))
    past = datetime.now(UTC) - timedelta(hours=1)
    signature = live.split(".")[2]
    escalated = {**claims, "sub": admin_claims["sub"], "sid": admin_claims["sid"]}
    forged = {
        "wrong-key": jwt.encode(claims, "not-the-secret-" + "x" * 32, algorithm="HS256"),
        "expired": jwt.encode(
            {**claims, "iat": int(past.timestamp()) - 60, "exp": int(past.timestamp())},
            JWT_SECRET,
            algorithm="HS256",
        ),
        "alg-none": jwt.encode(claims, None, algorithm="none"),
        "alg-none-unsigned-live-signature": (
            jwt.encode(claims, None, algorithm="none").rsplit(".", 1)[0] + "." + signature
        ),
        "other-hmac-alg": jwt.encode(claims, JWT_SECRET, algorithm="HS512"),
        "tampered-payload": jwt.encode(escalated, "x" * 40, algorithm="HS256").split(".")[0]
        + "."
        + jwt.encode(escalated, "x" * 40, algorithm="HS256").split(".")[1]
        + "."
        + signature,
        "wrong-audience": jwt.encode({**claims, "aud": "other"}, JWT_SECRET, algorithm="HS256"),
        "no-jti": jwt.encode(
            {k: v for k, v in claims.items() if k != "jti"}, JWT_SECRET, algorithm="HS256"
        ),
        "garbage": "not.a.jwt",
    }
    with secure.client() as c:
        assert c.get("/evaluations", headers=alice["headers"]).status_code == 200
        for name, token in forged.items():
            response = c.get("/evaluations", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (name, response.text)
            assert c.get("/users", headers={"Authorization": f"Bearer {token}"}).status_code == 401
            with secure.client(cookies={"memoai_access": token}) as browser:
                assert browser.get("/evaluations").status_code == 401, name


def _events(secure: Stack, admin: dict[str, str], username: str) -> list[dict[str, Any]]:
    with secure.client() as c:
        response = c.get("/admin/auth/events", params={"username": username}, headers=admin)
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["items"])


def test_six_wrong_passwords_then_the_right_one_is_locked(
    secure: Stack, admin: dict[str, str]
) -> None:
    user = create_user(secure, admin, _name("erin"))
    agent = {"User-Agent": "brute-force-test/1.0"}
    codes = []
    for attempt in range(6):
        response = login(secure, user["username"], f"Wrong-passw0rd-{attempt}", **agent)
        codes.append((response.status_code, response.json()["errors"][0]["code"]))
    assert codes[:5] == [(401, "invalid_credentials")] * 5
    assert codes[5] == (429, "account_locked")
    right = login(secure, user["username"], USER_PASSWORD, **agent)
    assert right.status_code == 429, right.text
    assert right.json()["errors"][0]["code"] == "account_locked"
    assert 800 < int(right.headers["retry-after"]) <= 901
    assert right.headers["x-ratelimit-remaining"] == "0"

    events = _events(secure, admin, user["username"])
    kinds = [e["event_type"] for e in events]
    assert kinds.count("login_failed") == 5
    assert kinds.count("account_locked") == 1
    assert kinds.count("login_blocked") == 2
    locked = next(e for e in events if e["event_type"] == "account_locked")
    assert locked["ip_address"] == "127.0.0.1"
    assert locked["user_agent"] == "brute-force-test/1.0"
    assert locked["created_at"]
    metrics = httpx.get(f"{secure.api_url}/metrics").text
    assert (
        "memoai_account_lockouts_total 1.0" in metrics or "memoai_account_lockouts_total" in metrics
    )
    # An admin can lift the lock; then the right password works.
    with secure.client() as c:
        unlocked = c.put(f"/users/{user['id']}", json={"unlock": True}, headers=admin)
        assert (
            unlocked.status_code == 200 and unlocked.json()["data"]["user"]["locked_until"] is None
        )
    assert login(secure, user["username"], USER_PASSWORD).status_code == 200


ATTACK_STRINGS = [
    "' OR '1'='1' --",
    "'; DROP TABLE users; --",
    '" OR ""="',
    "1; SELECT pg_sleep(5)--",
    "admin'--",
    "<script>alert(document.cookie)</script>",
    '"><img src=x onerror=alert(1)>',
    "</textarea><svg onload=alert(1)>",
    "javascript:alert(1)",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "%00%27%22 \\u0000 \\' \\\"",
    "nul \x00 byte",
]


def _id_routes(attack: str) -> list[tuple[str, str]]:
    x = quote(attack, safe="")
    return [
        ("GET", f"/evaluations/{x}"),
        ("GET", f"/evaluations/{x}/status"),
        ("DELETE", f"/evaluations/{x}"),
        ("POST", f"/evaluations/{x}/retry"),
        ("GET", f"/evaluations/{x}/comparison"),
        ("GET", f"/export/pdf/{x}"),
        ("GET", f"/chat/sessions/{x}/messages"),
        ("GET", f"/chat/sessions/{x}/messages/{x}/stream"),
        ("GET", f"/users/{x}"),
        ("GET", f"/evaluations?status={x}"),
    ]


def _stored_verbatim(c: httpx.Client, headers: dict[str, str], attack: str) -> None:
    """Memo text and a chat message: stored and returned exactly, as JSON (never HTML)."""
    text = f"{MEMO}\n\n{attack}\n"
    submitted = c.post("/evaluations/submit", json={"text_content": text}, headers=headers)
    assert submitted.status_code == 202, (attack, submitted.text)
    eid = submitted.json()["data"]["evaluation_id"]
    wait_final(c, eid, headers)
    result = c.get(f"/evaluations/{eid}", headers=headers)
    assert result.json()["data"]["evaluation"]["text_content"] == text
    assert result.headers["content-type"] == "application/json"
    assert result.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in result.headers["content-security-policy"]
    chat = c.post("/chat/sessions", json={"evaluation_id": eid}, headers=headers)
    assert chat.status_code in (200, 201), chat.text
    chat_id = chat.json()["data"]["chat_session_id"]
    posted = c.post(
        f"/chat/sessions/{chat_id}/messages", json={"message_content": attack}, headers=headers
    )
    assert posted.status_code in (201, 202), posted.text
    history = c.get(f"/chat/sessions/{chat_id}/messages", headers=headers).json()
    assert attack in [m["content"] for m in history["data"]["messages"]]


def _refused_with_nul(c: httpx.Client, headers: dict[str, str], attack: str) -> None:
    """The contract refuses NUL in memos and chat messages: a 4xx, nothing stored."""
    before = c.get("/evaluations", headers=headers).json()["data"]["total"]
    refused = c.post(
        "/evaluations/submit", json={"text_content": f"{MEMO}{attack}"}, headers=headers
    )
    assert refused.status_code == 422, refused.text
    assert c.get("/evaluations", headers=headers).json()["data"]["total"] == before


def test_injection_and_xss_strings_are_stored_verbatim_and_escaped(
    secure: Stack, admin: dict[str, str], alice: dict[str, Any]
) -> None:
    """Every text field: memo text, chat message, ids in paths and bodies, query
    parameters, username, password, User-Agent. Stored verbatim where stored,
    a clean 4xx where refused, never a 5xx, always returned as JSON."""
    headers = alice["headers"]
    with secure.client() as c:
        for attack in ATTACK_STRINGS:
            has_nul = "\x00" in attack
            if has_nul:
                _refused_with_nul(c, headers, attack)
            else:
                _stored_verbatim(c, headers, attack)
            # ids in paths and queries, ids in bodies: a clean 4xx
            for method, path in _id_routes(attack):
                response = c.request(method, path, headers=admin)
                assert 400 <= response.status_code < 500, (attack, method, path, response.text)
            events = c.get("/admin/auth/events", params={"username": attack}, headers=admin)
            assert events.status_code in (200, 422), events.text
            for path, body in (
                ("/evaluations/submit", {"text_content": MEMO, "previous_evaluation_id": attack}),
                ("/chat/sessions", {"evaluation_id": attack}),
            ):
                response = c.post(path, json=body, headers=headers)
                assert response.status_code in (404, 422), (attack, path, response.text)
            # login fields: just a failed login, whatever the User-Agent says
            agent = attack.replace("\x00", "")  # HTTP cannot carry NUL in a header
            bad = login(secure, attack, attack, **{"User-Agent": agent})
            assert bad.status_code in (401, 422), bad.text
            # account fields: the username policy refuses markup; a password may be
            # anything the database can hold (the policy refuses NUL)
            named = c.post(
                "/users", json={"username": attack, "password": USER_PASSWORD}, headers=admin
            )
            assert named.status_code == 422, named.text
            password = f"{attack} Aa1-long-enough"
            if has_nul:
                weak = c.post(
                    "/users", json={"username": _name("nul"), "password": password}, headers=admin
                )
                assert weak.status_code == 422, weak.text
                continue
            user = create_user(secure, admin, _name("inj"), password)
            assert login(secure, user["username"], password).status_code == 200
            assert login(secure, user["username"], attack).status_code == 401
        # The audit trail kept the hostile user agent verbatim.
        events = _events(secure, admin, ATTACK_STRINGS[0])
        assert ATTACK_STRINGS[0] in {e["user_agent"] for e in events}
        assert c.get("/users", params={"limit": 200}, headers=admin).json()["data"]["total"] > 1


def test_admin_manages_accounts_and_deactivation_logs_out(
    secure: Stack, admin: dict[str, str]
) -> None:
    user = create_user(secure, admin, _name("fred"))
    user_headers = bearer(secure, user["username"], USER_PASSWORD)
    with secure.client() as c:
        duplicate = c.post(
            "/users",
            json={"username": user["username"].upper(), "password": USER_PASSWORD},
            headers=admin,
        )
        assert duplicate.status_code == 409
        weak = c.post("/users", json={"username": _name("w"), "password": "short"}, headers=admin)
        assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "password"
        listed = c.get("/users", params={"limit": 200}, headers=admin).json()["data"]
        assert user["id"] in [u["id"] for u in listed["items"]]
        assert all("password_hash" not in u for u in listed["items"])

        promoted = c.put(f"/users/{user['id']}", json={"is_admin": True}, headers=admin)
        assert promoted.json()["data"]["user"]["is_admin"] is True
        assert c.get("/users", headers=user_headers).status_code == 200  # immediately
        c.put(f"/users/{user['id']}", json={"is_admin": False}, headers=admin)
        assert c.get("/users", headers=user_headers).status_code == 403

        off = c.put(f"/users/{user['id']}", json={"is_active": False}, headers=admin)
        assert off.status_code == 200 and off.json()["data"]["user"]["is_active"] is False
        assert c.get("/evaluations", headers=user_headers).status_code == 401
        assert login(secure, user["username"], USER_PASSWORD).status_code == 401
        c.put(f"/users/{user['id']}", json={"is_active": True}, headers=admin)
        assert login(secure, user["username"], USER_PASSWORD).status_code == 200

        me = c.get("/auth/verify", headers=admin).json()["data"]["user"]
        last = c.put(f"/users/{me['id']}", json={"is_admin": False}, headers=admin)
        assert last.status_code in (200, 409)  # 409 while it is the only active admin
        kinds = {e["event_type"] for e in _events(secure, admin, user["username"])}
        assert {"user_created", "user_updated", "user_deactivated", "login_success"} <= kinds


def test_own_password_change_logs_out_other_sessions(secure: Stack, admin: dict[str, str]) -> None:
    user = create_user(secure, admin, _name("gina"))
    first = bearer(secure, user["username"], USER_PASSWORD)
    second = bearer(secure, user["username"], USER_PASSWORD)
    new_password = "Brand-new-passw0rd"
    with secure.client() as c:
        wrong = c.put(
            "/users/me/password",
            json={"current_password": "nope-Wrong-1", "new_password": new_password},
            headers=first,
        )
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == (
            "current_password"
        )
        changed = c.put(
            "/users/me/password",
            json={"current_password": USER_PASSWORD, "new_password": new_password},
            headers=first,
        )
        assert changed.status_code == 200, changed.text
        assert c.get("/evaluations", headers=first).status_code == 200
        assert c.get("/evaluations", headers=second).status_code == 401
    assert login(secure, user["username"], USER_PASSWORD).status_code == 401
    assert login(secure, user["username"], new_password).status_code == 200


def test_api_responses_carry_security_headers(secure: Stack) -> None:
    response = httpx.get(f"{secure.api_url}/api/v1/config/public")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # HTTPS_ONLY is off here
    assert int(response.headers["x-ratelimit-limit"]) > 0


# ------------------------------------------------------------------ auth off


@pytest.fixture(scope="module")
def open_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """AUTH_ENABLED=false (the default) on SQLite, with an admin for the admin pages."""
    root = tmp_path_factory.mktemp("auth-off")
    overrides = auth_overrides(AUTH_ENABLED="false")
    with running_stack(root, "sqlite", **overrides) as stack:
        yield stack


def test_anonymous_flow_by_header_and_by_cookie(open_stack: Stack) -> None:
    session = open_stack.new_session()
    eid = open_stack.submit(session, MEMO)
    assert open_stack.wait_final(session, eid)["status"] == "completed"
    assert open_stack.result(session, eid)["text_content"] == MEMO

    with Browser(open_stack) as browser:
        created = browser.post("/sessions")
        assert created.status_code == 201
        assert browser.csrf == created.json()["data"]["csrf_token"]
        refused = browser.post("/evaluations/submit", json={"text_content": MEMO}, csrf=False)
        assert refused.status_code == 403
        submitted = browser.post("/evaluations/submit", json={"text_content": MEMO})
        assert submitted.status_code == 202, submitted.text
        cookie_eid = submitted.json()["data"]["evaluation_id"]
        assert wait_final(browser, cookie_eid)["status"] == "completed"
        assert browser.get("/auth/verify").json()["data"]["auth_method"] == "session"
        # The two anonymous sessions do not see each other's memos.
        assert browser.get(f"/evaluations/{eid}").status_code == 404


def test_admin_endpoints_need_an_admin_login_with_auth_off(open_stack: Stack) -> None:
    session = open_stack.new_session()
    with open_stack.client() as c:
        assert c.get("/users").status_code == 401
        anonymous = c.get("/users", headers={"X-Session-ID": session})
        assert anonymous.status_code == 403
        assert anonymous.json()["errors"][0]["code"] == "admin_required"
        admin = bearer(open_stack, ADMIN_USERNAME, ADMIN_PASSWORD)
        assert c.get("/users", headers=admin).status_code == 200
        assert c.get("/admin/auth/events", headers=admin).status_code == 200


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def test_switching_modes_keeps_existing_data(open_stack: Stack) -> None:
    session = open_stack.new_session()
    eid = open_stack.submit(session, MEMO)
    open_stack.wait_final(session, eid)
    db = open_stack.data_dir / "memoai.db"
    before = _count(db, "evaluations"), _count(db, "users")

    open_stack.stop_process("api")
    open_stack.env["AUTH_ENABLED"] = "true"
    open_stack.start("api")
    with open_stack.client() as c:
        refused = c.get(f"/evaluations/{eid}", headers={"X-Session-ID": session})
        assert refused.status_code == 401
        assert login(open_stack, ADMIN_USERNAME, ADMIN_PASSWORD).status_code == 200
    assert (_count(db, "evaluations"), _count(db, "users")) == before

    open_stack.stop_process("api")
    open_stack.env["AUTH_ENABLED"] = "false"
    open_stack.start("api")
    # The same anonymous session reads its memo again.
    assert open_stack.result(session, eid)["id"] == eid
