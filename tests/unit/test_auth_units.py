"""Password hashing, policies, token and CSRF verification, the rate limiter and
log scrubbing, without a database or a server."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from memoai.auth import passwords, policy, tokens
from memoai.config import Settings, load_settings
from memoai.config.schemas import PasswordPolicy, UsernamePolicy
from memoai.platform.errors import RateLimited, ValidationFailed
from memoai.platform.logging import scrub, scrub_text
from memoai.platform.ratelimit import RateLimiter, Scope
from memoai.platform.storable import make_storable, storable

REPO = Path(__file__).resolve().parents[2]
SECRET = "unit-test-secret-" + "s" * 32


def settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(
        {
            "CONFIG_DIR": str(REPO / "config"),
            "DATA_DIR": str(tmp_path),
            "JWT_SECRET_KEY": SECRET,
            **env,
        }
    )


def test_passwords_hash_with_the_given_cost_and_verify() -> None:
    hashed = passwords.hash_password("correct horse 9", 4)
    assert hashed.startswith("$2b$04$") and passwords.hash_rounds(hashed) == 4
    assert passwords.verify_password("correct horse 9", hashed)
    assert not passwords.verify_password("correct horse 8", hashed)
    assert not passwords.verify_password("anything", "not-a-bcrypt-hash")


def test_long_passwords_are_not_truncated_at_72_bytes() -> None:
    base = "x" * 100
    hashed = passwords.hash_password(base + "1", 4)
    assert passwords.verify_password(base + "1", hashed)
    assert not passwords.verify_password(base + "2", hashed)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1", "at least 12 characters"),
        ("no digits at all here", "a digit"),
        ("123456789012345", "a letter"),
        ("x" * 300 + "1", "at most 256 characters"),
        ("nul\x00character1x", "no NUL character"),
        ("Alice-12345678", "something other than the username"),
    ],
)
def test_password_policy_names_what_is_missing(password: str, problem: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        policy.check_password(password, PasswordPolicy(), username="alice-12345678")
    assert problem in exc.value.message and exc.value.field == "password"


@pytest.mark.parametrize("username", ["ab", "a" * 65, "<script>", "a b", "' OR 1=1 --", "é-user"])
def test_username_policy_refuses(username: str) -> None:
    with pytest.raises(ValidationFailed):
        policy.check_username(username, UsernamePolicy())


def test_access_tokens_verify_and_every_forgery_fails(tmp_path: Path) -> None:
    cfg = settings(tmp_path)
    issued = tokens.issue_access_token(cfg, user_id="u1", session_id="s1")
    claims = tokens.decode_access_token(cfg, issued.token)
    assert claims is not None and (claims.user_id, claims.session_id) == ("u1", "s1")
    assert claims.jti == issued.jti
    payload = jwt.decode(issued.token, options={"verify_signature": False})
    forgeries = [
        jwt.encode(payload, "other-secret-" + "o" * 32, algorithm="HS256"),
        jwt.encode(payload, None, algorithm="none"),
        jwt.encode(payload, SECRET, algorithm="HS384"),
        jwt.encode({**payload, "exp": payload["iat"] - 100}, SECRET, algorithm="HS256"),
        jwt.encode({**payload, "iss": "someone"}, SECRET, algorithm="HS256"),
        jwt.encode({**payload, "sub": 5}, SECRET, algorithm="HS256"),
        issued.token[:-2] + ("AA" if not issued.token.endswith("AA") else "BB"),
        "x" * 5000,
        "",
    ]
    assert [tokens.decode_access_token(cfg, f) for f in forgeries] == [None] * len(forgeries)


def test_csrf_tokens_are_bound_to_the_session_and_expire(tmp_path: Path) -> None:
    cfg = settings(tmp_path, CSRF_TOKEN_EXPIRY="60")
    token = tokens.issue_csrf_token(cfg, "session-a")
    age = tokens.csrf_age(cfg, "session-a", token)
    assert age is not None and age < 5
    assert tokens.csrf_age(cfg, "session-b", token) is None
    issued = int(token.split(".")[0]) - 120
    stale = f"{issued}.{tokens._csrf_mac(cfg, 'session-a', issued)}"
    assert tokens.csrf_age(cfg, "session-a", stale) is None
    assert tokens.csrf_age(cfg, "session-a", "garbage") is None


def test_moving_window_limits_the_caller_and_the_address(tmp_path: Path) -> None:
    limiter = RateLimiter(
        settings(tmp_path, SUBMISSIONS_PER_HOUR="2", RATE_LIMIT_IP_MULTIPLIER="2")
    )
    assert limiter.backend == "memory"
    first = limiter.enforce(Scope.SUBMISSIONS, caller="session:a", ip="10.0.0.1")
    assert (first.limit, first.remaining) == (2, 1)
    limiter.enforce(Scope.SUBMISSIONS, caller="session:a", ip="10.0.0.1")
    with pytest.raises(RateLimited) as exc:
        limiter.enforce(Scope.SUBMISSIONS, caller="session:a", ip="10.0.0.1")
    assert exc.value.headers["X-RateLimit-Remaining"] == "0"
    assert int(exc.value.headers["Retry-After"]) > 3500
    # A fresh session from the same address: its own budget, but the address has
    # 4 (2 x 2) and has used 3, so one more and then no more.
    limiter.enforce(Scope.SUBMISSIONS, caller="session:b", ip="10.0.0.1")
    with pytest.raises(RateLimited):
        limiter.enforce(Scope.SUBMISSIONS, caller="session:c", ip="10.0.0.1")


def test_rate_limiting_can_be_switched_off(tmp_path: Path) -> None:
    limiter = RateLimiter(settings(tmp_path, RATE_LIMIT_ENABLED="false", SUBMISSIONS_PER_HOUR="1"))
    for _ in range(5):
        assert limiter.enforce(Scope.SUBMISSIONS, caller="s", ip="i").allowed


def test_logs_never_carry_tokens_passwords_or_csrf_values(tmp_path: Path) -> None:
    token = tokens.issue_access_token(settings(tmp_path), user_id="u", session_id="s").token
    line = f"GET /x?token=abc123secret Authorization: Bearer {token} csrf=1700.abcdef"
    cleaned = scrub_text(line)
    assert token not in cleaned and "abc123secret" not in cleaned and "abcdef" not in cleaned
    event = scrub({"password": "hunter2", "x_csrf_token": "1.abc", "failed_login_count": 3})
    assert event == {
        "password": "[redacted]",
        "x_csrf_token": "[redacted]",
        "failed_login_count": 3,
    }


def test_storable_rejects_what_a_database_cannot_hold() -> None:
    assert storable("plain ' \" <b>") and not storable("a\x00b") and not storable("\ud800")
    assert make_storable("a\x00b\ud800") == "a\\x00b\\ud800"


def test_jwt_secret_and_admin_password_can_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "jwt").write_text(SECRET + "\n")
    (tmp_path / "admin").write_text("From-a-file-passw0rd\n")
    cfg = load_settings(
        {
            "CONFIG_DIR": str(REPO / "config"),
            "DATA_DIR": str(tmp_path / "data"),
            "JWT_SECRET_KEY_FILE": str(tmp_path / "jwt"),
            "ADMIN_USERNAME": "root",
            "ADMIN_PASSWORD_FILE": str(tmp_path / "admin"),
        }
    )
    assert tokens.signing_key(cfg) == SECRET
    assert cfg.authentication.bootstrap_admin.password == "From-a-file-passw0rd"
    token = tokens.issue_access_token(cfg, user_id="u", session_id="s").token
    assert jwt.decode(token, SECRET, ["HS256"], audience="memoai-api")["sub"] == "u"
    assert not (tmp_path / "data" / "jwt_secret").exists()  # nothing generated
