"""The authentication settings form: a typed view of auth.yaml.

A change edits only the value of each named key in the file's text (found
through the YAML node marks), so comments and every other line stay as they
were, then goes through the same validated, versioned save as the editor.
"""

from __future__ import annotations

from typing import Any

import yaml

from memoai.admin import config as config_service
from memoai.admin import files
from memoai.admin import repository as repo
from memoai.admin import schemas as sc
from memoai.config import ConfigError, Settings, validate_text
from memoai.config.schemas import AuthFile
from memoai.platform.db import session_scope
from memoai.platform.errors import MemoError, ValidationFailed
from memoai.platform.identity import Principal

FIELDS: dict[str, tuple[str, ...]] = {
    "enabled": ("authentication", "enabled"),
    "mode": ("authentication", "mode"),
    "jwt_expiration_hours": ("authentication", "jwt", "expiration_hours"),
    "session_timeout": ("authentication", "session", "timeout"),
    "secure_cookies": ("authentication", "session", "secure_cookies"),
    "csrf_protection": ("authentication", "session", "csrf_protection"),
    "max_login_attempts": ("authentication", "security", "max_login_attempts"),
    "lockout_duration": ("authentication", "security", "lockout_duration"),
    "bcrypt_rounds": ("authentication", "security", "bcrypt_rounds"),
    "password_min_length": ("authentication", "password_policy", "min_length"),
}


def _current_text(settings: Settings) -> str:
    text = files.read_exact(settings.runtime.config_dir / "auth.yaml")
    if text is None:
        raise MemoError("auth.yaml is missing.", code="config_missing")
    return text


def _view(settings: Settings, text: str) -> dict[str, Any]:
    try:
        parsed = validate_text("auth", text, settings.lookup())
    except ConfigError as exc:
        raise config_service.ConfigInvalid(exc.problems) from exc
    assert isinstance(parsed, AuthFile)
    a = parsed.authentication
    return {
        "enabled": a.enabled,
        "mode": a.mode,
        "jwt_expiration_hours": a.jwt.expiration_hours,
        "session_timeout": a.session.timeout,
        "secure_cookies": a.session.secure_cookies,
        "csrf_protection": a.session.csrf_protection,
        "max_login_attempts": a.security.max_login_attempts,
        "lockout_duration": a.security.lockout_duration,
        "bcrypt_rounds": a.security.bcrypt_rounds,
        "password_min_length": a.password_policy.min_length,
    }


def get_auth_config(settings: Settings) -> sc.AuthConfig:
    text = _current_text(settings)
    with session_scope(write=False) as db:
        latest = repo.latest_version(db, "auth")
    return sc.AuthConfig(
        **_view(settings, text),
        version_number=latest.version_number if latest else None,
        restart_required=config_service.restart_required(settings, "auth"),
    )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def edit_text(text: str, updates: dict[str, Any]) -> str:
    """Replace the scalar value of each key in place; keys missing from the file are refused."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    spans: list[tuple[int, int, str]] = []
    for name, value in updates.items():
        node: yaml.Node | None = root
        for part in FIELDS[name]:
            if not isinstance(node, yaml.MappingNode):
                node = None
                break
            node = next((v for k, v in node.value if k.value == part), None)
        if not isinstance(node, yaml.ScalarNode):
            raise ValidationFailed(
                f"auth.yaml has no {'.'.join(FIELDS[name])} value to change; edit the file.",
                field=name,
            )
        spans.append((node.start_mark.index, node.end_mark.index, _scalar(value)))
    for start, end, replacement in sorted(spans, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def update_auth_config(
    settings: Settings, admin: Principal, body: sc.AuthConfigUpdate
) -> sc.AuthConfigSaved:
    updates = body.model_dump(exclude_none=True, exclude={"change_reason"})
    if not updates:
        raise ValidationFailed("Send at least one setting to change.")
    text = edit_text(_current_text(settings), updates)
    saved = config_service.save(settings, admin, "auth", text, body.change_reason)
    return sc.AuthConfigSaved(
        **_view(settings, text),
        version_number=saved.version_number,
        restart_required=saved.restart_required,
        version_id=saved.version_id,
    )
