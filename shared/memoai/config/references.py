"""Which `${VAR}` references a configuration file may hold, and where.

The threat is configuration used to exfiltrate secrets: an admin (or whoever
stole an admin session) saving `${JWT_SECRET_KEY}` into a value that is served
(context.yaml through the public config, a prompt sent to the LLM, a page
title), or composing `https://attacker/${CLAUDE_API_KEY}` into a URL the
service calls. Two rules:

- Everywhere (start-up, hot reload, admin saves): a secret variable fills only
  its own field (`SECRET_SLOTS`), and business files (rubric, frameworks,
  context, prompt) never interpolate a secret-like variable at all.
- Admin-saved content (editor, rollback, bulk import, the auth form) may
  reference only the non-secret variables the shipped file uses
  (`ADMIN_VARIABLES`), a secret only as the whole value of its own field, plus
  any reference the operator's file on disk already has at that same place.

Files written by operators keep full interpolation otherwise: the operator
owns both the environment and the files.

One module on purpose: the allow-lists and the checks that enforce them
are one security control and are reviewed together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Path = tuple[str | int, ...]
Mode = Literal["startup", "admin"]

# Each secret variable and the one field of one file it may fill.
SECRET_SLOTS: dict[str, dict[Path, frozenset[str]]] = {
    "auth": {
        ("authentication", "jwt", "secret_key"): frozenset({"JWT_SECRET_KEY"}),
        ("authentication", "bootstrap_admin", "password"): frozenset({"ADMIN_PASSWORD"}),
    },
    "llm": {
        ("llm", "provider", "api_key"): frozenset(
            {"CLAUDE_API_KEY", "ANTHROPIC_API_KEY", "LLM_API_KEY"}
        ),
        ("llm", "fallback", "secondary_api_key"): frozenset({"LLM_FALLBACK_API_KEY"}),
    },
    "database": {("database", "connection", "url"): frozenset({"DATABASE_URL"})},
    "backend": {("backend", "queue", "broker_url"): frozenset({"REDIS_URL"})},
    "security": {("security", "webhooks", "signing_secret"): frozenset({"WEBHOOK_SIGNING_SECRET"})},
    # A chat webhook URL is a credential in itself (Slack, Teams).
    "monitoring": {("monitoring", "alerting", "webhook_url"): frozenset({"ALERT_WEBHOOK_URL"})},
}

SECRET_VARIABLES: frozenset[str] = frozenset(
    name for slots in SECRET_SLOTS.values() for names in slots.values() for name in names
)

# Names that look like credentials although no shipped file uses them (an
# operator's own REDIS_PASSWORD, a cloud key in the environment), and any
# `*_FILE` path to a Docker secret.
_SECRET_LIKE = re.compile(
    r"(^|_)(SECRET|SECRETS|PASSWORD|PASSWD|PASS|PWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|TOKEN|"
    r"CREDENTIALS?|DSN)(_|$)|_FILE$|_URL$"
)

BUSINESS = frozenset({"rubric", "frameworks", "context", "prompt"})

# The non-secret variables each shipped file references (tests/unit/test_config.py
# checks this table against config/*.yaml, so a new ${VAR} in a shipped file
# must be added here to stay usable from the admin editor).
ADMIN_VARIABLES: dict[str, frozenset[str]] = {
    "auth": frozenset(
        {
            "ADMIN_USERNAME",
            "API_DESCRIPTION",
            "API_TITLE",
            "API_VERSION",
            "AUTH_ENABLED",
            "BCRYPT_ROUNDS",
            "CSRF_PROTECTION",
            "ENABLE_DOCS",
            "INCLUDE_SCHEMAS",
            "JWT_COOKIE_NAME",
            "JWT_EXPIRATION_HOURS",
            "LOCKOUT_DURATION",
            "MAX_LOGIN_ATTEMPTS",
            "PASSWORD_MIN_LENGTH",
            "RATE_LIMIT_PER_MINUTE",
            "SECURE_COOKIES",
            "SESSION_COOKIE_NAME",
            "SESSION_TIMEOUT",
        }
    ),
    "backend": frozenset(
        {
            "ASSIGNMENT_DUE_CHECK_INTERVAL",
            "ASYNC_PROCESSING",
            "CHAT_PENDING_TIMEOUT",
            "CHAT_REPUBLISH_AFTER",
            "EVALUATION_MAX_ATTEMPTS",
            "REVIEW_MAX_COMMENT_LENGTH",
            "REVIEW_MAX_REASON_LENGTH",
            "AUTO_RELOAD",
            "BROKER_PUBLISH_TIMEOUT",
            "BROKER_VISIBILITY_TIMEOUT",
            "CELERY_QUEUE",
            "CLEANUP_INTERVAL",
            "COHORT_MAX_ASSIGNMENTS",
            "COHORT_MAX_MEMBERS",
            "CORS_ORIGINS",
            "DEBUG_MODE",
            "DEBUG_TOOLBAR",
            "EMBEDDED_BROKER_POLL",
            "ERROR_TRACKING",
            "EVALUATION_TIMEOUT",
            "FILE_RETENTION_HOURS",
            "FORWARDED_ALLOW_IPS",
            "GZIP_COMPRESSION",
            "HOT_RELOAD",
            "HOT_RELOAD_BUSINESS",
            "HOT_RELOAD_SYSTEM",
            "LEASE_SECONDS",
            "MAX_CONCURRENT_EVALUATIONS",
            "MAX_FILE_SIZE",
            "MAX_REQUESTS_PER_WORKER",
            "MAX_REQUEST_SIZE",
            "MAX_WAITS_PER_CALLER",
            "PERFORMANCE_MONITORING",
            "POLLING_INTERVAL",
            "PROFILING_ENABLED",
            "RATE_LIMIT_CLEANUP",
            "RATE_LIMIT_PER_MINUTE",
            "RATE_LIMIT_STORAGE",
            "REDIS_KEY_PREFIX",
            "RELOAD_CHECK_INTERVAL",
            "REQUEST_LOGGING",
            "REQUEST_TIMEOUT",
            "SLIDING_WINDOW",
            "SWEEP_INTERVAL",
            "SWEEP_QUEUED_AFTER",
            "SWEEP_UNPUBLISHED_AFTER",
            "TASK_SOFT_TIME_LIMIT",
            "TASK_TIME_LIMIT",
            "TEMP_STORAGE_PATH",
            "WORKER_CONCURRENCY",
            "WORKER_POOL",
            "WORKER_PROCESSES",
            "WORKER_THREADS",
            "WORKER_TIMEOUT",
        }
    ),
    "database": frozenset(
        {
            "ANALYZE_INTERVAL",
            "BACKUP_COMPRESSION",
            "BACKUP_DIR",
            "BACKUP_ENABLED",
            "BACKUP_INTERVAL",
            "BACKUP_RETENTION_DAYS",
            "DB_BUSY_TIMEOUT_MS",
            "DB_CACHE_SIZE",
            "DB_MAX_OVERFLOW",
            "DB_POOL_RECYCLE",
            "DB_POOL_SIZE",
            "DB_POOL_TIMEOUT",
            "DB_QUERY_TIMEOUT",
            "DB_SYNCHRONOUS",
            "DB_TEMP_STORE",
            "EXPIRED_SESSION_GRACE_HOURS",
            "JOURNAL_SIZE_LIMIT",
            "KEEP_SUBMISSIONS_PER_USER",
            "RETENTION_ARCHIVE_DIR",
            "RETENTION_ENABLED",
            "VACUUM_INTERVAL",
            "WAL_CHECKPOINT_INTERVAL",
            "WAL_MODE",
        }
    ),
    "frontend": frozenset(
        {
            "API_TIMEOUT",
            "AUTO_SAVE_INTERVAL",
            "CACHE_DURATION",
            "CHART_ANIMATION",
            "DEBUG_MODE_ENABLED",
            "HELP_TOOLTIPS_ENABLED",
            "KEYBOARD_SHORTCUTS",
            "LAZY_LOADING",
            "LOADING_TIMEOUT",
            "PAGE_TITLE",
            "PROGRESS_CHARTS_ENABLED",
            "SESSION_TIMEOUT_WARNING",
            "TAB_ANIMATION",
            "TEXT_INPUT_MAX_CHARS",
            "UI_LANGUAGE",
            "UI_THEME",
        }
    ),
    "llm": frozenset(
        {
            "LLM_BASE_URL",
            "LLM_BATCH_POLL_INTERVAL",
            "LLM_BATCH_PROCESSING",
            "LLM_CHAT_MAX_TOKENS",
            "LLM_CHAT_TEMPERATURE",
            "LLM_CIRCUIT_COOLDOWN",
            "LLM_CIRCUIT_THRESHOLD",
            "LLM_FALLBACK_ENABLED",
            "LLM_FALLBACK_PROVIDER",
            "LLM_FALLBACK_TIMEOUT",
            "LLM_MAX_TOKENS",
            "LLM_MODEL",
            "LLM_POOL_SIZE",
            "LLM_PROVIDER",
            "LLM_RATE_LIMIT",
            "LLM_RETRY_ATTEMPTS",
            "LLM_RETRY_DELAY",
            "LLM_STREAMING",
            "LLM_STRUCTURED_OUTPUT",
            "LLM_TEMPERATURE",
            "LLM_TIMEOUT",
        }
    ),
    "logging": frozenset(
        {
            "CONSOLE_LOGGING",
            "CONSOLE_LOG_FORMAT",
            "CONSOLE_LOG_LEVEL",
            "FILE_LOGGING",
            "FILE_LOG_LEVEL",
            "LOG_CLEANUP_INTERVAL",
            "LOG_COMPRESSION",
            "LOG_FILE_MAX_FILES",
            "LOG_FILE_MAX_SIZE",
            "LOG_FILE_PATH",
            "LOG_FORMAT",
            "LOG_LEVEL",
            "LOG_REQUEST_ID",
            "LOG_RETENTION_DAYS",
            "LOG_ROTATION",
            "LOG_SOURCE_LOCATION",
            "LOG_TIMESTAMP",
            "LOG_USER_SESSION",
        }
    ),
    "monitoring": frozenset(
        {
            "ALERTING_ENABLED",
            "ALERT_EMAIL_ENABLED",
            "BACKUP_MAX_AGE_HOURS",
            "CPU_THRESHOLD",
            "CRITICAL_THRESHOLD",
            "DISK_THRESHOLD",
            "ERROR_RATE_THRESHOLD",
            "HEALTH_CHECKS_ENABLED",
            "HEALTH_CHECK_ENDPOINT",
            "HEALTH_CHECK_INTERVAL",
            "HEALTH_CHECK_TIMEOUT",
            "LLM_FAILURE_RATE_THRESHOLD",
            "MEMORY_THRESHOLD",
            "METRICS_ENABLED",
            "METRICS_ENDPOINT",
            "METRICS_INTERVAL",
            "METRICS_RETENTION_DAYS",
            "NOTIFICATION_COOLDOWN",
            "QUEUE_BACKLOG_THRESHOLD",
            "RESPONSE_TIME_THRESHOLD",
            "WORKER_METRICS_PORT",
        }
    ),
    "performance": frozenset(
        {
            "ASSET_MINIFICATION",
            "CACHE_BACKEND",
            "CACHE_ENABLED",
            "CACHE_MAX_SIZE",
            "CACHE_TTL",
            "COMPRESSION_ENABLED",
            "CONNECTION_TIMEOUT",
            "DB_POOL_SIZE",
            "HTTP_POOL_SIZE",
            "LAZY_LOADING",
            "LLM_POOL_SIZE",
            "MAX_CONCURRENT_REQUESTS",
            "MAX_FILE_UPLOADS",
            "MAX_REQUEST_SIZE",
            "PROGRESS_CACHE_TTL",
            "REQUEST_TIMEOUT",
            "STATIC_CACHE_ENABLED",
        }
    ),
    "security": frozenset(
        {
            "ADMIN_OPS_PER_HOUR",
            "CHAT_MESSAGES_PER_HOUR",
            "CSP_ENABLED",
            "CSRF_COOKIE_NAME",
            "CSRF_PROTECTION",
            "CSRF_TOKEN_EXPIRY",
            "FILE_UPLOAD_VALIDATION",
            "HSTS_ENABLED",
            "HSTS_MAX_AGE",
            "HTTPS_ONLY",
            "LOGIN_ATTEMPTS_PER_HOUR",
            "MAX_TEXT_LENGTH",
            "MAX_UPLOAD_SIZE",
            "RATE_LIMIT_ENABLED",
            "RATE_LIMIT_IP_MULTIPLIER",
            "RATE_LIMIT_PER_MINUTE",
            "REFERRER_POLICY",
            "RETRIES_PER_HOUR",
            "SQL_INJECTION_PROTECTION",
            "SUBMISSIONS_PER_HOUR",
            "UPLOAD_EXTRACTION_TIMEOUT",
            "WEBHOOK_ALLOWED_HOSTS",
            "WEBHOOK_MAX_ENDPOINTS",
            "WEBHOOK_MAX_PER_MINUTE",
            "WEBHOOK_MAX_RESPONSE_BYTES",
            "WEBHOOK_BACKOFF",
            "WEBHOOK_MAX_AGE_HOURS",
            "WEBHOOK_RETRY_INTERVAL",
            "WEBHOOK_TIMEOUT",
            "XSS_PROTECTION",
            "X_CONTENT_TYPE_OPTIONS",
            "X_FRAME_OPTIONS",
        }
    ),
    # Business files reference no variable: their content is served and sent to the LLM.
    "rubric": frozenset(),
    "frameworks": frozenset(),
    "context": frozenset(),
    "prompt": frozenset(),
}


def is_secret_like(name: str) -> bool:
    return name in SECRET_VARIABLES or bool(_SECRET_LIKE.search(name))


# ------------------------------------------------------------ parsing references


def references(text: str) -> list[str]:
    """Every variable `text` interpolates, nested defaults included (`$$` is a literal $)."""
    names: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            end = _matching_brace(text, i + 2)
            if end < 0:
                return names  # the interpolation itself reports the unclosed brace
            name, _sep, default = text[i + 2 : end].partition(":-")
            names.append(name.strip())
            names.extend(references(default))
            i = end + 1
            continue
        i += 1
    return names


def _matching_brace(text: str, start: int) -> int:
    depth, i = 1, start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def is_pure_reference(text: str) -> bool:
    """`${A}`, `${A:-literal}` or `${A:-${B:-…}}`: the value is the variable, not a
    string built around it (so a secret cannot be spliced into a URL of one's own)."""
    text = text.strip()
    if not text.startswith("${") or _matching_brace(text, 2) != len(text) - 1:
        return False
    _name, sep, default = text[2:-1].partition(":-")
    if not sep or "$" not in default:
        return True
    return is_pure_reference(default)


def strings(node: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """(path, value) of every string in parsed YAML (keys are never interpolated)."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from strings(item, (*path, index))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, (*path, str(key)))


# ------------------------------------------------------------ the policy


@dataclass(frozen=True)
class Refusal:
    path: Path
    variable: str
    message: str


def check(
    config_type: str,
    data: Any,
    mode: Mode,
    existing: Mapping[Path, str] | None = None,
) -> list[Refusal]:
    """Every reference in `data` that `mode` does not allow, with the reason."""
    slots = SECRET_SLOTS.get(config_type, {})
    allowed = ADMIN_VARIABLES.get(config_type, frozenset())
    refusals: list[Refusal] = []
    for path, value in strings(data):
        names = references(value) if "$" in value else []
        if not names:
            continue
        if mode == "admin" and existing is not None and existing.get(path) == value:
            continue  # the operator's own reference, unchanged
        for name in names:
            reason = _refusal(config_type, path, value, name, mode, slots, allowed)
            if reason:
                refusals.append(Refusal(path, name, reason))
    return refusals


def _refusal(
    config_type: str,
    path: Path,
    value: str,
    name: str,
    mode: Mode,
    slots: Mapping[Path, frozenset[str]],
    allowed: frozenset[str],
) -> str | None:
    fname = f"{config_type}.yaml"
    if name in SECRET_VARIABLES:
        if name not in slots.get(path, frozenset()):
            home = _home_of(name)
            return f"${{{name}}} is a secret and may only fill {home}, never other content"
        if mode == "admin" and not is_pure_reference(value):
            return (
                f"${{{name}}} must be the whole value of this field "
                f"(e.g. ${{{name}:-}}), not part of a longer string"
            )
        return None
    if config_type in BUSINESS and is_secret_like(name):
        return f"${{{name}}} looks like a secret; business files never interpolate secrets"
    if mode == "admin" and name not in allowed:
        if is_secret_like(name):
            return f"${{{name}}} looks like a secret and cannot be added from the admin API"
        return f"${{{name}}} is not an environment variable {fname} may use from the admin API" + (
            f"; allowed: {', '.join(sorted(allowed))}" if allowed else ""
        )
    return None


def _home_of(name: str) -> str:
    for config_type, slots in SECRET_SLOTS.items():
        for path, names in slots.items():
            if name in names:
                return f"{config_type}.yaml {'.'.join(str(p) for p in path)}"
    return "its own field"


def existing_references(data: Any) -> dict[Path, str]:
    """The strings of a file on disk that hold references, by path."""
    return {path: value for path, value in strings(data) if "${" in value}
