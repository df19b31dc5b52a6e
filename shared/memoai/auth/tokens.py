"""Signed credentials: the JWT access token and the CSRF token.

The access token is HS256 (or the configured HMAC algorithm) with claims
`sub` (user id), `sid` (session row id) and `jti`. A token is only as good as
its session row: logout revokes the row and refresh replaces the row's
current `jti`, so a copied token stops working server-side.

The CSRF token is an HMAC of the session id and its issue time ("signed
double submit"): a value planted in the cookie by a sibling site does not
verify, and it needs no storage.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
import structlog

from memoai.config import Settings
from memoai.models import utcnow
from memoai.platform.logging import register_secret

log = structlog.get_logger(__name__)

ISSUER = "memoai"
AUDIENCE = "memoai-api"
MAX_TOKEN_LENGTH = 4096
SECRET_FILE = "jwt_secret"  # noqa: S105 - a file name, not a secret
_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "sid", "jti"]

_secret_lock = threading.Lock()
_generated: dict[Path, str] = {}


def signing_key(settings: Settings) -> str:
    """JWT_SECRET_KEY (or its _FILE); outside production, a per-data-dir generated secret.

    Production refuses to start without a real secret (config.settings). In
    development and staging a random secret is created once under DATA_DIR with
    mode 0600, so logins survive restarts and every process on that data
    directory agrees, while nothing guessable ever signs a token.
    """
    configured = settings.authentication.jwt.secret_key
    if configured:
        return configured
    data_dir = settings.runtime.data_dir
    with _secret_lock:
        if data_dir not in _generated:
            _generated[data_dir] = _load_or_create_secret(data_dir / SECRET_FILE)
            register_secret(_generated[data_dir])
        return _generated[data_dir]


def _load_or_create_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(50):
        try:
            value = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            value = ""
        if len(value) >= 32:
            return value
        if not path.exists():
            # Write a private temporary file, then link it into place: link fails
            # if another process won the race, and readers never see a partial file.
            tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, secrets.token_urlsafe(48).encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)
                log.warning("auth.jwt_secret_generated", path=str(path))
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
            continue
        time.sleep(0.02)  # another process is writing it
    raise RuntimeError(f"cannot read the generated JWT secret at {path}")


@dataclass(frozen=True)
class AccessToken:
    token: str
    jti: str  # stored as the session's current_jti; refresh replaces it
    expires_at: datetime
    opaque: bool = False  # session_only mode: jti is the token's SHA-256, also token_hash


@dataclass(frozen=True)
class Claims:
    user_id: str
    session_id: str
    jti: str
    expires_at: datetime


def issue_access_token(settings: Settings, *, user_id: str, session_id: str) -> AccessToken:
    cfg = settings.authentication.jwt
    now = utcnow()
    expires = now + timedelta(hours=cfg.expiration_hours)
    jti = secrets.token_urlsafe(18)
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_id,
        "sid": session_id,
        "jti": jti,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    token = jwt.encode(payload, signing_key(settings), algorithm=cfg.algorithm)
    return AccessToken(token=token, jti=jti, expires_at=expires.replace(microsecond=0))


def issue_token(settings: Settings, *, user_id: str, session_id: str) -> AccessToken:
    """A JWT in `jwt_session` mode; an opaque random token in `session_only` mode."""
    if settings.authentication.mode == "session_only":
        token = secrets.token_urlsafe(32)
        # The cookie's lifetime; the server-side session still ends after
        # SESSION_TIMEOUT without a request, or at logout.
        expires = utcnow() + timedelta(hours=settings.authentication.jwt.expiration_hours)
        return AccessToken(
            token=token,
            jti=opaque_hash(token),
            expires_at=expires.replace(microsecond=0),
            opaque=True,
        )
    return issue_access_token(settings, user_id=user_id, session_id=session_id)


def opaque_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def decode_access_token(settings: Settings, token: str) -> Claims | None:
    """The verified claims, or None for anything forged, expired, malformed or `alg: none`."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        payload = jwt.decode(
            token,
            signing_key(settings),
            # Only the configured algorithm: "none" and algorithm confusion are refused.
            algorithms=[settings.authentication.jwt.algorithm],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": _REQUIRED_CLAIMS},
            leeway=5,
        )
    except jwt.PyJWTError:
        return None
    sub, sid, jti = payload.get("sub"), payload.get("sid"), payload.get("jti")
    if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in (sub, sid, jti)):
        return None
    return Claims(
        user_id=str(sub),
        session_id=str(sid),
        jti=str(jti),
        expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=utcnow().tzinfo),
    )


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


# ------------------------------------------------------------------ CSRF


def _csrf_key(settings: Settings) -> bytes:
    # A key derived for this purpose only, so a CSRF MAC is never a valid JWT MAC.
    return hmac.new(signing_key(settings).encode(), b"memoai-csrf-v1", hashlib.sha256).digest()


def _csrf_mac(settings: Settings, session_id: str, issued: int) -> str:
    message = f"{session_id}.{issued}".encode()
    return hmac.new(_csrf_key(settings), message, hashlib.sha256).hexdigest()


def issue_csrf_token(settings: Settings, session_id: str) -> str:
    issued = int(time.time())
    return f"{issued}.{_csrf_mac(settings, session_id, issued)}"


def csrf_age(settings: Settings, session_id: str, token: str | None) -> float | None:
    """Seconds since the token was issued for this session, or None if it is not valid."""
    if not token or len(token) > 128:
        return None
    issued_text, _, mac = token.partition(".")
    if not issued_text.isdigit():
        return None
    issued = int(issued_text)
    if not hmac.compare_digest(mac, _csrf_mac(settings, session_id, issued)):
        return None
    age = time.time() - issued
    expiry = settings.security.csrf_protection.token_expiry
    return age if -60 <= age <= expiry else None
