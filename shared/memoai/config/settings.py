"""The one settings object, and the hot-reloaded business configuration.

System files (auth, security, database, …) are read once per process: changing
them needs a restart. Business files (rubric, frameworks, context, prompt) are
re-read when they change on disk, so the next evaluation in every process uses
the new content without a restart.

One module on purpose: the settings object, its environment overrides and
the reload of business files share one cache and one lock; split, their
invalidation rules would live apart.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import structlog

from memoai.config import schemas as s
from memoai.config.interpolate import Lookup, env_lookup
from memoai.config.loader import ConfigError, ConfigProblem, load_file, read_file, validate_text
from memoai.config.schemas import BUSINESS_FILES, SYSTEM_FILES

log = structlog.get_logger(__name__)

AppEnv = Literal["development", "staging", "production"]

# Defaults that differ by APP_ENV (seed §7.1). They apply only where the
# environment does not set the variable, and before a file's inline default.
PROFILE_DEFAULTS: dict[str, dict[str, str]] = {
    "development": {"AUTH_ENABLED": "false", "DEBUG_MODE": "true", "LOG_LEVEL": "INFO"},
    "staging": {"AUTH_ENABLED": "true", "DEBUG_MODE": "false", "LOG_LEVEL": "INFO"},
    "production": {
        "AUTH_ENABLED": "true",
        "DEBUG_MODE": "false",
        "LOG_LEVEL": "WARNING",
        "HTTPS_ONLY": "true",
        "SECURE_COOKIES": "true",
    },
}

PLACEHOLDER_SECRETS = {
    "",
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "password",
    "passw0rd",
    "admin",
    "postgres",
    "memoai",
    "your-secret-key",
    "dev-secret",
    "test",
    "example",
}
# Parts that mark a value copied from documentation rather than generated.
_PLACEHOLDER_PARTS = ("changeme", "change-me", "change_me", "replace-me", "your-", "example")


def is_placeholder(value: str | None) -> bool:
    text = (value or "").strip().lower()
    return text in PLACEHOLDER_SECRETS or any(part in text for part in _PLACEHOLDER_PARTS)


def url_password(url: str | None) -> str | None:
    """The password of a connection URL (decoded), or None."""
    if not url or "://" not in url:
        return None
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


@dataclass(frozen=True)
class Runtime:
    """Process-level settings that come from the environment, not from a file."""

    app_env: AppEnv
    data_dir: Path
    config_dir: Path
    api_host: str
    api_port: int
    web_host: str
    web_port: int
    api_url: str


@dataclass(frozen=True)
class Settings:
    runtime: Runtime
    auth: s.AuthFile
    security: s.Security
    frontend: s.Frontend
    backend: s.Backend
    database: s.Database
    llm: s.Llm
    logging: s.Logging
    monitoring: s.Monitoring
    performance: s.Performance
    environ: Mapping[str, str] = field(repr=False, compare=False)
    # sha256 of each system file as this process read it: the admin API reports
    # `restart_required` when the file on disk no longer matches.
    source_hashes: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def authentication(self) -> s.Authentication:
        return self.auth.authentication

    @property
    def database_url(self) -> str:
        url = self.database.connection.url
        if not url:
            return f"sqlite:///{self.runtime.data_dir / 'memoai.db'}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        if url.startswith("postgresql://"):
            # psycopg 3 is the only Postgres driver we ship.
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def broker_url(self) -> str:
        return self.backend.queue.broker_url or (
            f"sqla+sqlite:///{self.runtime.data_dir / 'broker.db'}"
        )

    @property
    def redis_url(self) -> str | None:
        url = self.backend.queue.broker_url
        return url if url and url.startswith(("redis://", "rediss://")) else None

    @property
    def uses_embedded_broker(self) -> bool:
        return self.redis_url is None

    @property
    def debug_mode(self) -> bool:
        return self.backend.features.debug_mode

    @property
    def llm_provider(self) -> s.ProviderName:
        """The provider actually used: claude without a key falls back to offline."""
        provider = self.llm.provider
        if provider.name == "claude" and not provider.api_key:
            return "offline"
        return provider.name

    @property
    def temp_dir(self) -> Path:
        configured = self.backend.file_serving.temporary_storage
        return Path(configured) if configured else self.runtime.data_dir / "tmp"

    @property
    def backup_dir(self) -> Path:
        configured = self.database.backup.directory
        return Path(configured) if configured else self.runtime.data_dir / "backups"

    def lookup(self) -> Lookup:
        return env_lookup(self.environ, PROFILE_DEFAULTS[self.runtime.app_env])

    def secret_values(self) -> list[str]:
        """Every configured secret, for log scrubbing and response redaction.

        Connection URLs count only when they carry a password (then the URL and
        the password, raw and percent-encoded, are all registered).
        """
        values = [
            self.llm.provider.api_key,
            self.llm.fallback.secondary_api_key,
            self.authentication.jwt.secret_key,
            self.authentication.bootstrap_admin.password,
            self.security.webhooks.signing_secret,
            self.monitoring.alerting.webhook_url,
        ]
        for url in (self.database.connection.url, self.backend.queue.broker_url):
            password = url_password(url)
            if url and password:
                values += [url, password, urlsplit(url).password]
        return [v for v in values if v]


def _runtime(environ: Mapping[str, str]) -> Runtime:
    app_env = environ.get("APP_ENV", "development").strip().lower() or "development"
    if app_env not in PROFILE_DEFAULTS:
        raise ConfigError(
            [
                ConfigProblem(
                    "environment",
                    "APP_ENV",
                    f"must be development, staging or production, not {app_env!r}",
                )
            ]
        )
    problems: list[ConfigProblem] = []

    def port(name: str, default: int) -> int:
        raw = environ.get(name, "").strip()
        if not raw:
            return default
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            problems.append(ConfigProblem("environment", name, f"not a valid port: {raw!r}"))
            return default
        return int(raw)

    api_port = port("API_PORT", 8000)
    web_port = port("WEB_PORT", 3000)
    if problems:
        raise ConfigError(problems)
    data_dir = Path(environ.get("DATA_DIR") or "./data").expanduser().resolve()
    config_dir = Path(environ.get("CONFIG_DIR") or "./config").expanduser().resolve()
    api_host = environ.get("API_HOST") or "127.0.0.1"
    return Runtime(
        app_env=app_env,  # type: ignore[arg-type]
        data_dir=data_dir,
        config_dir=config_dir,
        api_host=api_host,
        api_port=api_port,
        web_host=environ.get("WEB_HOST") or "127.0.0.1",
        web_port=web_port,
        api_url=(environ.get("API_URL") or f"http://127.0.0.1:{api_port}").rstrip("/"),
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Load and validate every file; raise ConfigError listing all problems."""
    env = dict(os.environ if environ is None else environ)
    runtime = _runtime(env)
    lookup = env_lookup(env, PROFILE_DEFAULTS[runtime.app_env])
    problems: list[ConfigProblem] = []
    loaded: dict[str, Any] = {}
    hashes: dict[str, str] = {}
    for name in SYSTEM_FILES:
        try:
            text = read_file(runtime.config_dir, name)
            hashes[name] = content_hash(text)
            loaded[name] = validate_text(name, text, lookup)
        except ConfigError as exc:
            problems.extend(exc.problems)
    # Business files are validated at start-up too, even though they reload later.
    for name in BUSINESS_FILES:
        try:
            load_file(runtime.config_dir, name, lookup, s.FILE_SCHEMAS[name])
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    settings = Settings(
        runtime=runtime,
        auth=loaded["auth"],
        security=loaded["security"].security,
        frontend=loaded["frontend"].frontend,
        backend=loaded["backend"].backend,
        database=loaded["database"].database,
        llm=loaded["llm"].llm,
        logging=loaded["logging"].logging,
        monitoring=loaded["monitoring"].monitoring,
        performance=loaded["performance"].performance,
        environ=env,
        source_hashes=hashes,
    )
    _check_timeout_chain(settings)
    _check_production(settings)
    return settings


def _check_timeout_chain(settings: Settings) -> None:
    """One model request must fit inside the evaluation's own deadline (docs: "Timeouts").

    backend.yaml checks the rest of the chain (evaluation < soft limit < hard limit <
    visibility timeout); this is the link that spans two files.
    """
    request = settings.llm.request_settings.timeout
    evaluation = settings.backend.evaluation.timeout_seconds
    if request >= evaluation:
        raise ConfigError(
            [
                ConfigProblem(
                    "llm.yaml",
                    "llm.request_settings.timeout",
                    f"{request:g} s must be below backend.evaluation.timeout_seconds "
                    f"({evaluation:g} s in backend.yaml): one model request has to fit in "
                    "the whole evaluation's time, retries included",
                )
            ]
        )


# What each process needs beyond what every one needs (the JWT key): a process
# may run without a secret it never uses (a Kubernetes pod mounts only its own),
# but whatever secret it is given must be real. `memoai config check` checks all.
SERVICE_SECRETS: dict[str, frozenset[str]] = {
    "api": frozenset({"llm", "webhooks"}),
    "worker": frozenset({"llm", "webhooks"}),
    "stack": frozenset({"llm", "webhooks"}),
    "beat": frozenset(),
    "web": frozenset(),
    "flower": frozenset(),
    "migrate": frozenset(),
}
ALL_SECRETS = frozenset({"llm", "webhooks"})


def _check_production(settings: Settings) -> None:
    """Every production process: the JWT key, and no configured secret that is
    short or a placeholder. Every problem is reported at once."""
    problems = production_problems(settings, frozenset())
    if problems:
        raise ConfigError(problems)


def require_production_secrets(settings: Settings, uses: frozenset[str] = ALL_SECRETS) -> None:
    """Also refuse the secrets this process uses when they are missing (production only)."""
    problems = production_problems(settings, uses)
    if problems:
        raise ConfigError(problems)


def production_problems(settings: Settings, uses: frozenset[str]) -> list[ConfigProblem]:
    if settings.runtime.app_env != "production":
        return []
    problems: list[ConfigProblem] = []

    def check(
        value: str | None,
        *,
        required: bool,
        file: str,
        field: str,
        variable: str,
        min_length: int,
        hint: str = "",
    ) -> None:
        text = (value or "").strip()
        if not text and not required:
            return
        if is_placeholder(text) or len(text) < min_length:
            problems.append(
                ConfigProblem(
                    file,
                    field,
                    f"production needs {variable} (or {variable}_FILE): at least {min_length} "
                    f"random characters, not a placeholder{hint}",
                )
            )

    check(
        settings.authentication.jwt.secret_key,
        required=True,
        file="auth.yaml",
        field="authentication.jwt.secret_key",
        variable="JWT_SECRET_KEY",
        min_length=32,
    )
    # One key for every api replica and worker: a per-container generated key
    # would give each replica different owner secrets.
    check(
        settings.security.webhooks.signing_secret,
        required="webhooks" in uses,
        file="security.yaml",
        field="security.webhooks.signing_secret",
        variable="WEBHOOK_SIGNING_SECRET",
        min_length=32,
    )
    check(
        settings.llm.provider.api_key,
        required="llm" in uses and settings.llm.provider.name == "claude",
        file="llm.yaml",
        field="llm.provider.api_key",
        variable="CLAUDE_API_KEY",
        min_length=20,
        hint="; set LLM_PROVIDER=offline to run without a model",
    )
    fallback = settings.llm.fallback
    check(
        fallback.secondary_api_key,
        required="llm" in uses and fallback.enabled and fallback.secondary_provider == "claude",
        file="llm.yaml",
        field="llm.fallback.secondary_api_key",
        variable="LLM_FALLBACK_API_KEY",
        min_length=20,
    )
    url = settings.database.connection.url
    if url and url.startswith("postgres") and _uses_password_auth(url):
        password = url_password(url)
        if is_placeholder(password) or len(password or "") < 12:
            problems.append(
                ConfigProblem(
                    "database.yaml",
                    "database.connection.url",
                    "production needs a DATABASE_URL (or DATABASE_URL_FILE) with a password of "
                    "at least 12 random characters (infra/compose/init-secrets.sh writes one)",
                )
            )
    redis_password = url_password(settings.backend.queue.broker_url)
    if redis_password is not None and (is_placeholder(redis_password) or len(redis_password) < 12):
        problems.append(
            ConfigProblem(
                "backend.yaml",
                "backend.queue.broker_url",
                "the REDIS_URL (or REDIS_URL_FILE) password is shorter than 12 characters or a "
                "placeholder",
            )
        )
    admin = settings.authentication.bootstrap_admin
    if admin.username and is_placeholder(admin.password):
        problems.append(
            ConfigProblem(
                "auth.yaml",
                "authentication.bootstrap_admin.password",
                "production refuses a missing or placeholder ADMIN_PASSWORD "
                "(or ADMIN_PASSWORD_FILE)",
            )
        )
    if "*" in settings.backend.api_settings.forwarded_allow_ips:
        problems.append(
            ConfigProblem(
                "backend.yaml",
                "backend.api_settings.forwarded_allow_ips",
                "FORWARDED_ALLOW_IPS='*' lets any client choose its address (and escape the "
                "per-address limits); list the reverse proxy's address or network",
            )
        )
    return problems


def _uses_password_auth(url: str) -> bool:
    """False for a Unix socket or client-certificate login, where no password is sent."""
    parts = urlsplit(url)
    query = parts.query.lower()
    if "sslcert=" in query or "host=/" in query:
        return False
    return bool(parts.hostname)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


# ------------------------------------------------------------ business config


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per loaded version
class BusinessConfig:
    rubric: s.Rubric
    frameworks: tuple[s.Framework, ...]
    context: s.Context
    prompt: s.Prompt
    version: str  # short hash of the four files' bytes, recorded with each evaluation
    file_hashes: Mapping[str, str]
    # rubric.yaml's `additional_rubrics`: what a coach may pin to an assignment.
    additional_rubrics: tuple[s.Rubric, ...] = ()

    def criterion_names(self) -> list[str]:
        return [c.name for c in self.rubric.criteria]

    def rubrics(self) -> dict[str, s.Rubric]:
        """Every configured rubric by id, the default first."""
        found = {self.rubric.id or s.DEFAULT_RUBRIC_ID: self.rubric}
        found.update({r.id: r for r in self.additional_rubrics if r.id})
        return found


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_business(config_dir: Path, lookup: Lookup) -> BusinessConfig:
    texts = {name: read_file(config_dir, name) for name in BUSINESS_FILES}
    problems: list[ConfigProblem] = []
    models: dict[str, Any] = {}
    for name, text in texts.items():
        try:
            models[name] = validate_text(name, text, lookup)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    hashes = {name: content_hash(text) for name, text in texts.items()}
    combined = hashlib.sha256("".join(hashes[n] for n in BUSINESS_FILES).encode()).hexdigest()
    return BusinessConfig(
        rubric=models["rubric"].rubric,
        frameworks=tuple(models["frameworks"].frameworks),
        context=models["context"].context,
        prompt=models["prompt"].prompt,
        version=combined[:12],
        file_hashes=hashes,
        additional_rubrics=tuple(models["rubric"].additional_rubrics),
    )


class BusinessConfigStore:
    """Holds the current business configuration and reloads it when files change."""

    def __init__(self, config_dir: Path, lookup: Lookup, check_interval: float) -> None:
        self._dir = config_dir
        self._lookup = lookup
        self._interval = check_interval
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self._config = _read_business(config_dir, lookup)
        self._checked_at = time.monotonic()

    def _file_stamp(self) -> tuple[tuple[int, int, int], ...]:
        stamps = []
        for name in BUSINESS_FILES:
            try:
                st = (self._dir / f"{name}.yaml").stat()
                stamps.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                stamps.append((0, 0, 0))
        return tuple(stamps)

    def current(self, *, force_check: bool = False) -> BusinessConfig:
        now = time.monotonic()
        if self._interval == float("inf"):
            return self._config  # hot reload switched off
        if not force_check and now - self._checked_at < self._interval:
            return self._config
        with self._lock:
            self._checked_at = now
            stamp = self._file_stamp()
            if stamp != self._stamp:
                try:
                    self._config = _read_business(self._dir, self._lookup)
                    log.info("config.reloaded", version=self._config.version)
                except ConfigError as exc:
                    # Keep serving the last good configuration; the admin API never
                    # writes an invalid file, so this is a manual edit gone wrong.
                    log.error("config.reload_failed", problems=[str(p) for p in exc.problems])
                self._stamp = stamp
            return self._config


_store: BusinessConfigStore | None = None
_store_lock = threading.Lock()


def business_config(*, force_check: bool = False) -> BusinessConfig:
    """The live rubric, frameworks, context and prompt for this process."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                settings = get_settings()
                mgmt = settings.backend.config_management
                interval = (
                    mgmt.reload_check_interval
                    if mgmt.hot_reload_enabled and mgmt.hot_reload_business_logic
                    else float("inf")
                )
                _store = BusinessConfigStore(
                    settings.runtime.config_dir, settings.lookup(), interval
                )
    return _store.current(force_check=force_check)


def reset_config_cache() -> None:
    """Forget the loaded settings (tests, and `memoai config check`)."""
    global _store
    get_settings.cache_clear()
    with _store_lock:
        _store = None
