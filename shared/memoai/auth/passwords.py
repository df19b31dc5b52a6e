"""Password hashing with bcrypt at the configured cost.

bcrypt reads at most 72 bytes and bcrypt 5 refuses longer input, so the
password is first reduced to a fixed-length SHA-256 digest (base64, 44 bytes):
a long passphrase keeps all of its entropy and is never silently truncated.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

import bcrypt


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds=rounds)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False  # a malformed stored hash never authenticates


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    return hash_password("memoai-timing-equaliser", rounds)


def burn_time(password: str, rounds: int) -> None:
    """Spend as long as a real check, so an unknown username is not revealed by timing."""
    verify_password(password, _dummy_hash(rounds))


def hash_rounds(password_hash: str) -> int | None:
    """The cost factor of a stored hash ($2b$12$… → 12), to rehash after a policy change."""
    parts = password_hash.split("$")
    return int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else None
