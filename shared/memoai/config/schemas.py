"""One pydantic schema per configuration file.

Each file's top-level model is registered in ``FILE_SCHEMAS`` under the file's
name; start-up, `memoai config check` and the admin editor all validate with
these same models.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a YAML key must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?B?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3}
_SIZE_UNITS["GB"] = 1024**3


def _parse_size(value: Any) -> Any:
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        if not match:
            raise ValueError("expected a size such as 2MB, 512KB or 1048576")
        number, unit = match.groups()
        return int(float(number) * _SIZE_UNITS[unit.upper()])
    return value


def _parse_list(value: Any) -> Any:
    """Accept a YAML list, a JSON list in a string, or a comma-separated string."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a valid JSON list: {exc.msg}") from exc
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


ByteSize = Annotated[int, BeforeValidator(_parse_size), Field(gt=0)]
StrList = Annotated[list[str], BeforeValidator(_parse_list)]
OptStr = Annotated[str | None, BeforeValidator(_blank_to_none)]
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
    BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v),
]
OptLogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] | None,
    BeforeValidator(lambda v: _blank_to_none(v.upper() if isinstance(v, str) else v)),
]


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Text = Annotated[str, AfterValidator(_non_blank)]


# ---------------------------------------------------------------- business logic


class RubricScale(Strict):
    min: int = 1
    max: int = 5
    labels: dict[int, Text]

    @model_validator(mode="after")
    def _check(self) -> RubricScale:
        if self.min >= self.max:
            raise ValueError("scale.min must be below scale.max")
        missing = [lvl for lvl in range(self.min, self.max + 1) if lvl not in self.labels]
        if missing:
            raise ValueError(f"scale.labels is missing levels {missing}")
        return self


class Criterion(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: Annotated[Text, Field(max_length=80)]
    description: Text
    weight: Annotated[float, Field(gt=0, le=100)]
    scoring_guidance: dict[int, Text]
    # Which deterministic analyser the offline evaluator uses for this criterion.
    offline_signal: (
        Literal["structure", "evidence", "financial", "ask", "risk", "readability"] | None
    ) = None


class Rubric(Strict):
    name: Text
    description: str = ""
    scale: RubricScale
    criteria: Annotated[list[Criterion], Field(min_length=1, max_length=12)]

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        total = sum(c.weight for c in self.criteria)
        if abs(total - 100) > 1e-6:
            raise ValueError(f"criteria weights must sum to 100, they sum to {total:g}")
        for field in ("id", "name"):
            seen: set[str] = set()
            for c in self.criteria:
                key = getattr(c, field).casefold()
                if key in seen:
                    raise ValueError(f"criterion {field} {getattr(c, field)!r} is used twice")
                seen.add(key)
        levels = set(range(self.scale.min, self.scale.max + 1))
        for c in self.criteria:
            if set(c.scoring_guidance) != levels:
                raise ValueError(
                    f"criterion {c.id!r}: scoring_guidance must have exactly the levels "
                    f"{sorted(levels)}, it has {sorted(c.scoring_guidance)}"
                )
        return self


class RubricFile(Strict):
    rubric: Rubric


class Framework(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: Text
    summary: Text
    how_to_apply: Annotated[list[Text], Field(min_length=1)]
    questions: list[Text] = []


class FrameworksFile(Strict):
    frameworks: Annotated[list[Framework], Field(min_length=1)]


class Audience(Strict):
    description: Text
    priorities: list[Text] = []
    reading_habits: str = ""


class Context(Strict):
    organization: Text
    domain: Text
    audience: Audience
    purpose: Text
    memo_types: list[Text] = []
    expectations: list[Text] = []
    tone: str = ""
    length_guidance: str = ""


class ContextFile(Strict):
    context: Context


class Prompt(Strict):
    version: Text
    system: Text
    evaluation: Text
    repair: Text
    chat_system: Text


class PromptFile(Strict):
    prompt: Prompt


# ---------------------------------------------------------------- system


class JwtConfig(Strict):
    secret_key: OptStr = None
    algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    expiration_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 24
    # The httpOnly cookie that carries the access token for browsers.
    cookie_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] = "memoai_access"


class SessionConfig(Strict):
    timeout: PosInt = 3600
    secure_cookies: bool = False
    csrf_protection: bool = True
    cookie_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] = "memoai_session"


class AuthSecurity(Strict):
    bcrypt_rounds: Annotated[int, Field(ge=4, le=16)] = 12
    max_login_attempts: PosInt = 5
    lockout_duration: PosInt = 900


class PasswordPolicy(Strict):
    min_length: Annotated[int, Field(ge=8, le=128)] = 12
    require_letter: bool = True
    require_digit: bool = True


class UsernamePolicy(Strict):
    min_length: PosInt = 3
    max_length: PosInt = 64
    pattern: str = r"^[A-Za-z0-9_.@-]+$"


class BootstrapAdmin(Strict):
    """ADMIN_USERNAME / ADMIN_PASSWORD: created at API start-up when no admin exists."""

    username: OptStr = None
    password: OptStr = Field(default=None, repr=False)


class Authentication(Strict):
    enabled: bool = False
    mode: Literal["jwt_session", "session_only"] = "jwt_session"
    jwt: JwtConfig = JwtConfig()
    session: SessionConfig = SessionConfig()
    security: AuthSecurity = AuthSecurity()
    password_policy: PasswordPolicy = PasswordPolicy()
    username_policy: UsernamePolicy = UsernamePolicy()
    bootstrap_admin: BootstrapAdmin = BootstrapAdmin()


class OpenApiDocs(Strict):
    title: Text = "Memo AI Coach API"
    version: Text = "1.0.0"
    description: str = ""
    interactive_docs: bool = True
    include_schemas: bool = True
    rate_limit_per_minute: PosInt = 60


class ApiDocumentation(Strict):
    openapi: OpenApiDocs = OpenApiDocs()


class AuthFile(Strict):
    authentication: Authentication
    api_documentation: ApiDocumentation = ApiDocumentation()


class InputValidation(Strict):
    max_text_length: Annotated[int, Field(ge=100, le=200_000)] = 10_000
    xss_protection: bool = True
    sql_injection_protection: bool = True
    file_upload_validation: bool = True


class RateLimiting(Strict):
    enabled: bool = True
    requests_per_minute: PosInt = 60
    submissions_per_hour: PosInt = 10
    login_attempts_per_hour: PosInt = 5
    admin_operations_per_hour: PosInt = 100
    chat_messages_per_hour: PosInt = 60
    # Per-IP limits are the per-session/user limits times this factor: several
    # people behind one NAT share an address, one person should not get more.
    ip_multiplier: PosInt = 5


class CsrfConfig(Strict):
    enabled: bool = True
    token_expiry: PosInt = 3600
    cookie_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] = "memoai_csrf_token"


class Headers(Strict):
    hsts_enabled: bool = True
    hsts_max_age: NonNegInt = 31_536_000
    https_only: bool = False
    content_security_policy: bool = True
    x_frame_options: Literal["DENY", "SAMEORIGIN"] = "DENY"
    x_content_type_options: Literal["nosniff"] = "nosniff"
    referrer_policy: str = "strict-origin-when-cross-origin"


class Webhooks(Strict):
    # Host names, IPs or CIDR ranges that callbacks may reach although they are
    # loopback, link-local or private (everything else there is refused).
    allowed_hosts: StrList = []
    signing_secret: OptStr = Field(default=None, repr=False)
    timeout: PosFloat = 10
    max_age_hours: PosFloat = 24
    backoff_seconds: Annotated[
        list[PosFloat], BeforeValidator(_parse_list), Field(min_length=1)
    ] = [10, 30, 60, 300, 900, 1800, 3600, 7200, 14400]
    retry_interval: PosFloat = 10


class Security(Strict):
    input_validation: InputValidation = InputValidation()
    rate_limiting: RateLimiting = RateLimiting()
    csrf_protection: CsrfConfig = CsrfConfig()
    headers: Headers = Headers()
    webhooks: Webhooks = Webhooks()


class SecurityFile(Strict):
    security: Security


def _theme(value: object) -> object:
    # "default" was the only value before themes existed (seed/07_Deployment.md):
    # it keeps meaning the out-of-the-box look, which now follows the device.
    return "system" if value == "default" else value


# light, dark, or system: the device's prefers-color-scheme.
Theme = Annotated[Literal["light", "dark", "system"], BeforeValidator(_theme)]


class UiSettings(Strict):
    theme: Theme = "system"
    language: Literal["auto", "en", "es"] = "auto"
    loading_timeout: PosInt = 30
    page_title: Text = "Memo AI Coach"


class Components(Strict):
    text_input_max_chars: PosInt = 10_000
    auto_save_interval: PosInt = 30
    session_timeout_warning: PosInt = 300
    tab_switch_animation: bool = True


class Features(Strict):
    debug_mode_enabled: bool = True
    progress_charts_enabled: bool = True
    help_tooltips_enabled: bool = True
    keyboard_shortcuts: bool = True


class FrontendPerformance(Strict):
    lazy_loading: bool = True
    cache_duration: NonNegInt = 300
    api_timeout: PosInt = 60
    chart_animation: bool = True


class Frontend(Strict):
    ui_settings: UiSettings = UiSettings()
    components: Components = Components()
    features: Features = Features()
    performance: FrontendPerformance = FrontendPerformance()


class FrontendFile(Strict):
    frontend: Frontend


class ApiSettings(Strict):
    cors_origins: StrList = []
    rate_limit_per_minute: PosInt = 60
    request_timeout: PosFloat = 30
    max_request_size: ByteSize = 2 * 1024 * 1024


class Middleware(Strict):
    gzip_compression: bool = True
    request_logging: bool = True
    performance_monitoring: bool = True
    error_tracking: bool = True


class Workers(Strict):
    process_count: PosInt = 1
    thread_count: PosInt = 4
    worker_timeout: PosInt = 30
    max_requests_per_worker: PosInt = 1000


class BackendFeatures(Strict):
    auto_reload: bool = False
    debug_toolbar: bool = False
    debug_mode: bool = False


class EvaluationSettings(Strict):
    async_processing: bool = True
    max_concurrent: PosInt = 5
    timeout_seconds: PosInt = 180  # whole evaluation, retries and repair included
    polling_interval: PosFloat = 2


class QueueSettings(Strict):
    broker_url: OptStr = None
    key_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]+$")] = "memoai"
    queue_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = "memoai"
    worker_pool: Literal["threads", "prefork", "solo", "gevent"] = "threads"
    worker_concurrency: Annotated[int, Field(ge=1, le=1000)] = 16
    task_soft_time_limit: PosInt = 240
    task_time_limit: PosInt = 300
    visibility_timeout: PosInt = 360
    publish_timeout: PosFloat = 2
    embedded_polling_interval: PosFloat = 0.05
    sweep_unpublished_after: PosFloat = 5
    sweep_queued_after: PosFloat = 300
    lease_seconds: Annotated[float, Field(ge=3)] = 30
    sweep_interval: Annotated[float, Field(ge=1)] = 15

    @model_validator(mode="after")
    def _queue_limits(self) -> QueueSettings:
        # A message must not be redelivered while its first run may still be alive.
        if not self.task_soft_time_limit < self.task_time_limit < self.visibility_timeout:
            raise ValueError(
                "need task_soft_time_limit < task_time_limit < visibility_timeout, got "
                f"{self.task_soft_time_limit} / {self.task_time_limit} / {self.visibility_timeout}"
            )
        return self


class FileServing(Strict):
    temporary_storage: OptStr = None
    retention_hours: PosInt = 24
    max_file_size: ByteSize = 52_428_800
    cleanup_interval: PosInt = 3600


class BackendRateLimiting(Strict):
    implementation: Literal["auto", "memory", "redis", "database"] = "auto"
    cleanup_interval: PosInt = 300
    sliding_window: PosInt = 3600


class ConfigManagement(Strict):
    hot_reload_enabled: bool = True
    hot_reload_business_logic: bool = True
    hot_reload_system_configs: bool = False
    reload_check_interval: Annotated[float, Field(ge=0)] = 5
    profiling_enabled: bool = False


class Backend(Strict):
    api_settings: ApiSettings = ApiSettings()
    middleware: Middleware = Middleware()
    workers: Workers = Workers()
    features: BackendFeatures = BackendFeatures()
    evaluation: EvaluationSettings = EvaluationSettings()
    queue: QueueSettings = QueueSettings()
    file_serving: FileServing = FileServing()
    rate_limiting: BackendRateLimiting = BackendRateLimiting()
    config_management: ConfigManagement = ConfigManagement()

    @model_validator(mode="after")
    def _evaluation_within_task_limit(self) -> Backend:
        # The evaluation's own deadline must end before Celery's soft limit.
        if self.evaluation.timeout_seconds >= self.queue.task_soft_time_limit:
            raise ValueError(
                f"evaluation.timeout_seconds ({self.evaluation.timeout_seconds}) must be below "
                f"queue.task_soft_time_limit ({self.queue.task_soft_time_limit})"
            )
        return self


class BackendFile(Strict):
    backend: Backend


class Connection(Strict):
    url: OptStr = None
    pool_size: PosInt = 20
    max_overflow: NonNegInt = 10
    pool_timeout: PosFloat = 30
    pool_recycle: PosInt = 3600

    @model_validator(mode="after")
    def _known_scheme(self) -> Connection:
        if self.url and not self.url.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("url must be a sqlite:// or postgresql:// URL")
        return self


class SqliteSettings(Strict):
    wal_mode: bool = True
    synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    cache_size: int = 10_000
    temp_store: Literal["default", "file", "memory"] = "memory"
    journal_size_limit: int = 67_108_864
    busy_timeout_ms: Annotated[int, Field(ge=0)] = 10_000


class DbPerformance(Strict):
    query_timeout: PosInt = 30
    checkpoint_interval: PosInt = 3600
    vacuum_interval: PosInt = 86_400
    analyze_interval: PosInt = 86_400


class Backup(Strict):
    enabled: bool = True
    interval: PosInt = 86_400
    retention_days: PosInt = 7
    compression: bool = True
    directory: OptStr = None


class Retention(Strict):
    enabled: bool = True
    # Expired or revoked sessions are deleted this long after they ended; an
    # anonymous session's memos, evaluations and chats go with it (no one can
    # reach them once the session is gone).
    expired_session_grace_hours: NonNegInt = 24
    # Per logged-in user, older submissions beyond this many are archived to
    # JSON and deleted; 0 keeps everything.
    keep_submissions_per_user: NonNegInt = 1000
    archive_directory: OptStr = None


class Database(Strict):
    connection: Connection = Connection()
    sqlite_settings: SqliteSettings = SqliteSettings()
    performance: DbPerformance = DbPerformance()
    backup: Backup = Backup()
    retention: Retention = Retention()


class DatabaseFile(Strict):
    database: Database


ProviderName = Literal["claude", "openai", "offline"]


class ProviderConfig(Strict):
    name: ProviderName = "claude"
    api_key: OptStr = Field(default=None, repr=False)
    base_url: OptStr = None
    model: Text = "claude-sonnet-5-5"
    structured_output: Literal["json_schema", "tool", "prompt"] = "json_schema"


class RequestSettings(Strict):
    timeout: PosFloat = 60
    retry_attempts: Annotated[int, Field(ge=0, le=10)] = 3
    retry_delay: Annotated[float, Field(ge=0)] = 1
    max_tokens: Annotated[int, Field(ge=256, le=64_000)] = 4000
    temperature: Annotated[float, Field(ge=0, le=1)] = 0.2
    chat_max_tokens: Annotated[int, Field(ge=64, le=16_000)] = 1024
    chat_temperature: Annotated[float, Field(ge=0, le=1)] = 0.5


class LlmPerformance(Strict):
    connection_pool_size: PosInt = 10
    rate_limit_per_minute: PosInt = 100
    batch_processing: bool = False
    response_streaming: bool = True
    circuit_breaker_threshold: PosInt = 5
    circuit_breaker_cooldown: PosFloat = 30
    batch_poll_interval: PosFloat = 60


class Fallback(Strict):
    enabled: bool = False
    secondary_provider: ProviderName = "offline"
    secondary_api_key: OptStr = Field(default=None, repr=False)
    fallback_timeout: PosFloat = 30


class Price(Strict):
    input: Annotated[float, Field(ge=0)]
    output: Annotated[float, Field(ge=0)]
    cache_read: Annotated[float, Field(ge=0)] = 0
    cache_write: Annotated[float, Field(ge=0)] = 0


class Pricing(Strict):
    default: Price = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    models: dict[str, Price] = {}

    def for_model(self, model: str) -> Price:
        return self.models.get(model, self.default)


class Llm(Strict):
    provider: ProviderConfig = ProviderConfig()
    request_settings: RequestSettings = RequestSettings()
    performance: LlmPerformance = LlmPerformance()
    fallback: Fallback = Fallback()
    pricing: Pricing = Pricing()


class LlmFile(Strict):
    llm: Llm


class ConsoleOutput(Strict):
    enabled: bool = True
    level: OptLogLevel = None
    format: Annotated[Literal["json", "text"] | None, BeforeValidator(_blank_to_none)] = None


class FileOutput(Strict):
    enabled: bool = False
    path: OptStr = None
    level: LogLevel = "INFO"
    max_size: ByteSize = 100 * 1024 * 1024
    max_files: PosInt = 10
    rotation: Literal["daily", "size"] = "daily"


class Outputs(Strict):
    console: ConsoleOutput = ConsoleOutput()
    file: FileOutput = FileOutput()


class Structured(Strict):
    include_timestamp: bool = True
    include_request_id: bool = True
    include_user_session: bool = True
    include_source_location: bool = False


class LogRetention(Strict):
    days: PosInt = 30
    compression: bool = True
    cleanup_interval: PosInt = 86_400


class Logging(Strict):
    level: LogLevel = "INFO"
    format: Literal["json", "text"] = "json"
    outputs: Outputs = Outputs()
    structured: Structured = Structured()
    retention: LogRetention = LogRetention()


class LoggingFile(Strict):
    logging: Logging


class HealthChecks(Strict):
    enabled: bool = True
    interval: PosInt = 30
    timeout: PosFloat = 5
    endpoint: str = "/health"


class Metrics(Strict):
    enabled: bool = True
    endpoint: str = "/metrics"
    collection_interval: PosInt = 60
    retention_days: PosInt = 7
    worker_port: Annotated[int, Field(ge=0, le=65535)] = 9808


class MonitoringPerformance(Strict):
    response_time_threshold: PosFloat = 5000
    error_rate_threshold: Annotated[float, Field(gt=0, le=1)] = 0.05
    cpu_threshold: Annotated[float, Field(gt=0, le=100)] = 80
    memory_threshold: Annotated[float, Field(gt=0, le=100)] = 80
    disk_threshold: Annotated[float, Field(gt=0, le=100)] = 85
    queue_backlog_threshold: PosInt = 100
    llm_failure_rate_threshold: Annotated[float, Field(gt=0, le=1)] = 0.2
    backup_max_age_hours: PosFloat = 26


class Alerting(Strict):
    enabled: bool = False
    webhook_url: OptStr = None
    email_notifications: bool = False
    critical_threshold: Annotated[float, Field(gt=0, le=1)] = 0.1
    notification_cooldown: PosInt = 300


class Monitoring(Strict):
    health_checks: HealthChecks = HealthChecks()
    metrics: Metrics = Metrics()
    performance: MonitoringPerformance = MonitoringPerformance()
    alerting: Alerting = Alerting()


class MonitoringFile(Strict):
    monitoring: Monitoring


class Caching(Strict):
    enabled: bool = True
    backend: Literal["memory", "redis"] = "memory"
    ttl: PosInt = 3600
    max_size: PosInt = 1000
    progress_cache_ttl: PosInt = 3600


class ConnectionPooling(Strict):
    database_pool_size: PosInt = 20
    llm_pool_size: PosInt = 10
    http_pool_size: PosInt = 100
    connection_timeout: PosFloat = 30


class Optimization(Strict):
    lazy_loading: bool = True
    compression: bool = True
    static_file_caching: bool = True
    asset_minification: bool = True


class Limits(Strict):
    max_concurrent_requests: PosInt = 100
    max_request_size: ByteSize = 2 * 1024 * 1024
    timeout_seconds: PosFloat = 30
    max_file_uploads: PosInt = 10


class Performance(Strict):
    caching: Caching = Caching()
    connection_pooling: ConnectionPooling = ConnectionPooling()
    optimization: Optimization = Optimization()
    limits: Limits = Limits()


class PerformanceFile(Strict):
    performance: Performance


BUSINESS_FILES = ("rubric", "frameworks", "context", "prompt")
SYSTEM_FILES = (
    "auth",
    "security",
    "frontend",
    "backend",
    "database",
    "llm",
    "logging",
    "monitoring",
    "performance",
)

FILE_SCHEMAS: dict[str, type[Strict]] = {
    "rubric": RubricFile,
    "frameworks": FrameworksFile,
    "context": ContextFile,
    "prompt": PromptFile,
    "auth": AuthFile,
    "security": SecurityFile,
    "frontend": FrontendFile,
    "backend": BackendFile,
    "database": DatabaseFile,
    "llm": LlmFile,
    "logging": LoggingFile,
    "monitoring": MonitoringFile,
    "performance": PerformanceFile,
}

# The five admin categories of the configuration editor.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "evaluation": ("rubric", "frameworks", "context", "prompt"),
    "security": ("auth", "security"),
    "interface": ("frontend",),
    "infrastructure": ("backend", "database", "performance"),
    "operations": ("llm", "logging", "monitoring"),
}
