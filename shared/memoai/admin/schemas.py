"""Request and response models of the administration API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# A configuration file is a few KiB; anything far larger is a mistake or an attack.
MAX_CONFIG_CHARS = 256 * 1024
MAX_REASON_CHARS = 1000

ConfigKind = Literal["business", "system"]


class Problem(BaseModel):
    file: str
    field: str | None = None
    line: int | None = None
    message: str


class ConfigSummary(BaseModel):
    config_type: str
    filename: str
    kind: ConfigKind
    hot_reload: bool
    version_number: int | None
    updated_at: datetime | None


class Category(BaseModel):
    id: str
    name: str
    description: str
    configs: list[ConfigSummary]


class Categories(BaseModel):
    categories: list[Category]


class ConfigDetail(BaseModel):
    config_type: str
    filename: str
    kind: ConfigKind
    hot_reload: bool
    content: str
    content_hash: str
    version_number: int | None
    updated_at: datetime | None
    updated_by: str | None
    restart_required: bool


# Request bodies are strict: 0 is not false and "5" is not 5.
STRICT = ConfigDict(extra="forbid", strict=True)


class ConfigContent(BaseModel):
    model_config = STRICT
    config_content: str = Field(max_length=MAX_CONFIG_CHARS * 4)


CONFIRM_BASE_URL = Field(
    default=False,
    description="Required (true) when an llm.yaml change would send the API key to another "
    "server (provider or base_url); otherwise the save answers 409 confirmation_required",
)


class ConfigSave(ConfigContent):
    change_reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)
    confirm_base_url_change: bool = CONFIRM_BASE_URL


class Rollback(BaseModel):
    model_config = STRICT
    version_id: int = Field(ge=1, le=2**31 - 1)
    change_reason: str | None = Field(default=None, max_length=MAX_REASON_CHARS)
    confirm_base_url_change: bool = CONFIRM_BASE_URL


class Validation(BaseModel):
    valid: bool
    problems: list[Problem]


class Saved(BaseModel):
    version_id: int
    version_number: int
    content_hash: str
    restart_required: bool


class VersionSummary(BaseModel):
    version_id: int
    version_number: int
    action: str
    change_reason: str | None
    changed_by: str | None
    created_at: datetime
    content_hash: str


class History(BaseModel):
    config_type: str
    versions: list[VersionSummary]


class VersionDetail(BaseModel):
    version_id: int
    version_number: int
    action: str
    content: str
    previous_content: str | None
    change_reason: str | None
    changed_by: str | None
    created_at: datetime


class ValidateAll(BaseModel):
    valid: bool
    results: dict[str, Validation]


class ImportResult(BaseModel):
    valid: bool
    problems: list[Problem]
    changed: bool


class BulkImport(BaseModel):
    valid: bool
    applied: bool
    results: dict[str, ImportResult]


class AuthConfig(BaseModel):
    enabled: bool
    mode: str
    jwt_expiration_hours: float
    session_timeout: int
    secure_cookies: bool
    csrf_protection: bool
    max_login_attempts: int
    lockout_duration: int
    bcrypt_rounds: int
    password_min_length: int
    version_number: int | None
    restart_required: bool


class AuthConfigUpdate(BaseModel):
    model_config = STRICT
    enabled: bool | None = None
    mode: Literal["jwt_session", "session_only"] | None = None
    jwt_expiration_hours: float | None = Field(default=None, gt=0, le=24 * 30)
    session_timeout: int | None = Field(default=None, ge=1, le=10**8)
    secure_cookies: bool | None = None
    csrf_protection: bool | None = None
    max_login_attempts: int | None = Field(default=None, ge=1, le=10**6)
    lockout_duration: int | None = Field(default=None, ge=1, le=10**8)
    bcrypt_rounds: int | None = Field(default=None, ge=4, le=16)
    password_min_length: int | None = Field(default=None, ge=8, le=128)
    change_reason: str = Field(default="Authentication settings", max_length=MAX_REASON_CHARS)


class AuthConfigSaved(AuthConfig):
    version_id: int


# ------------------------------------------------------------ sessions


class SessionItem(BaseModel):
    id: str
    kind: str
    user_id: str | None
    username: str | None
    ip_address: str | None
    user_agent: str | None
    created_at: datetime
    last_activity: datetime
    expires_at: datetime
    revoked_at: datetime | None
    current: bool


class SessionPage(BaseModel):
    items: list[SessionItem]
    total: int
    limit: int
    offset: int


class Revoked(BaseModel):
    revoked: bool = True


# ------------------------------------------------------------ debug and status


class DebugToggle(BaseModel):
    model_config = STRICT
    debug_enabled: bool


class DebugState(BaseModel):
    debug_enabled: bool


class Timings(BaseModel):
    queue_wait: float | None
    llm: float | None
    parse: float | None
    save: float | None
    total: float | None


class Tokens(BaseModel):
    input: int
    output: int
    cache_read: int
    cache_write: int


class DebugEvaluation(BaseModel):
    id: str
    created_at: datetime
    status: str
    llm_provider: str | None
    llm_model: str | None
    config_version: str | None
    prompt_version: str | None
    error_code: str | None
    attempts: int = Field(default=0, description="Worker attempts (reset by a manual retry)")
    timings: Timings
    timings_detail: dict[str, Any] | None
    tokens: Tokens
    cost: float | None  # None: the model's family has no price in llm.yaml
    raw_prompt: str | None
    raw_response: str | None


class DebugInfo(BaseModel):
    debug_enabled: bool
    evaluations: list[DebugEvaluation]
    limit: int
    max_attempts: int | None = Field(
        default=None, description="backend.evaluation.max_attempts: the attempt budget"
    )


class Check(BaseModel):
    name: str
    ok: bool
    duration_ms: float
    detail: str | None


class SelfTest(BaseModel):
    ok: bool
    checks: list[Check]


class DatabaseStatus(BaseModel):
    ok: bool
    backend: str
    latency_ms: float


class BrokerStatus(BaseModel):
    ok: bool
    backend: str
    queue_depth: int | None


class WorkerStatus(BaseModel):
    name: str
    last_seen: datetime
    alive: bool
    pid: int | None
    started_at: datetime | None


class LlmStatus(BaseModel):
    provider: str
    model: str
    reachable: bool
    detail: str | None


class Status(BaseModel):
    database: DatabaseStatus
    broker: BrokerStatus
    workers: list[WorkerStatus]
    llm: LlmStatus
    version: str
    uptime_seconds: float
    debug_enabled: bool
    config_version: str
