"""HMAC-SHA256 signatures over `timestamp + "." + body`.

Headers: `X-MemoAI-Timestamp` (Unix seconds) and `X-MemoAI-Signature`
(`sha256=<hex>`). Receivers recompute the HMAC with their secret, compare in
constant time, and reject timestamps older than a few minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str, timestamp: str, signature: str, body: bytes, now: float | None = None
) -> bool:
    """What a receiver does (also used by our own tests and shown in the API guide)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now or time.time()) - ts) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)
