"""Username and password rules from auth.yaml."""

from __future__ import annotations

import re

from memoai.config.schemas import PasswordPolicy, UsernamePolicy
from memoai.platform.errors import ValidationFailed
from memoai.platform.storable import storable

# Beyond this a password is more likely a pasted file than a passphrase; the
# cap also bounds the hashing work an anonymous caller can ask for.
MAX_PASSWORD_LENGTH = 256


def check_username(username: str, policy: UsernamePolicy, field: str = "username") -> str:
    if not policy.min_length <= len(username) <= policy.max_length:
        raise ValidationFailed(
            f"The username must be {policy.min_length} to {policy.max_length} characters.",
            field=field,
        )
    if not re.fullmatch(policy.pattern, username):
        raise ValidationFailed(
            "The username may contain only letters, digits and . _ @ -", field=field
        )
    return username


def check_password(
    password: str, policy: PasswordPolicy, *, username: str | None = None, field: str = "password"
) -> str:
    problems: list[str] = []
    if len(password) < policy.min_length:
        problems.append(f"at least {policy.min_length} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"at most {MAX_PASSWORD_LENGTH} characters")
    if policy.require_letter and not any(c.isalpha() for c in password):
        problems.append("a letter")
    if policy.require_digit and not any(c.isdigit() for c in password):
        problems.append("a digit")
    if not storable(password):
        problems.append("no NUL character or unpaired surrogate")
    if username and password.casefold() == username.casefold():
        problems.append("something other than the username")
    if problems:
        raise ValidationFailed(
            "The password needs " + ", ".join(problems) + ".",
            field=field,
            details={"requirements": problems},
        )
    return password
