"""structlog set-up, once per entrypoint: JSON lines (or text) with request ids.

Context (request_id, evaluation_id, …) lives in contextvars, so it follows a
request through the API and a task through the worker, and every line carries it.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import structlog

from memoai.config import Settings
from memoai.platform import secrets

# Values that must never reach a log line, whatever the key is called. Each
# pattern keeps its first group (a label such as "Bearer ") and redacts the rest.
_SECRET_PATTERNS = [
    re.compile(r"()sk-ant-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"()sk-[A-Za-z0-9_\-]{20,}"),
    re.compile(r"()eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),  # JWT
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/\-]{16,}=*"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/]{8,}=*"),
    re.compile(r"()mac_[A-Za-z0-9_\-]{20,}"),  # personal API tokens (memoai.tokens)
    re.compile(r"()whsec_[A-Za-z0-9_\-]{16,}"),  # webhook signing secrets
    # Connection strings with a password (postgresql://user:pw@host, redis://:pw@host),
    # registered or not: a driver error may print any of them.
    re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+(?=@)"),
    # password=…, "password": "…", api_key: … in messages, DSNs and reprs.
    re.compile(
        r"(?i)(\b(?:password|passwd|pwd|secret|secret_key|api[_-]?key|token|csrf)"
        r"[\"']?\s*[=:]\s*[\"']?)(?!\[redacted\])[^\s&;\"',}]+"
    ),
]

# A substring that each pattern above needs (in lower case): a value with none
# of them cannot match, and these checks are far cheaper than the nine regexes
# (which showed in the API's profile through the access log). Keep in step.
_SECRET_HINTS = (
    "sk-", "eyj", "bearer", "basic", "mac_", "whsec_", "://",
    "passw", "pwd", "secret", "apikey", "api_key", "api-key", "token", "csrf",
)  # fmt: skip
_SECRET_KEYS = re.compile(
    r"(?i)(password|passwd|secret|api[_-]?key|authorization|token|cookie|x-session-id|csrf)"
)
_REDACTED = secrets.MARKER


def register_secret(value: str | None) -> None:
    """Scrub this exact value (e.g. the configured API key) from every log line."""
    secrets.register(value)


def scrub_text(text: str) -> str:
    text = secrets.redact(text)
    lowered = text.lower()
    if not any(hint in lowered for hint in _SECRET_HINTS):
        return text
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{_REDACTED}", text)
    return text


def scrub(value: Any, key: str | None = None) -> Any:
    if key is not None and _SECRET_KEYS.search(key) and not key.endswith(("_count", "tokens")):
        return _REDACTED if value not in (None, "", 0) else value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def _scrub_processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    for key in list(event):
        if key in ("timestamp", "level", "logger"):
            continue
        event[key] = scrub(event[key], key if key != "event" else None)
    return event


def configure_logging(settings: Settings, service: str) -> None:
    cfg = settings.logging
    secrets.register_settings(settings)

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
    ]
    if cfg.structured.include_timestamp:
        shared.append(structlog.processors.TimeStamper(fmt="iso", utc=True))
    if cfg.structured.include_source_location:
        shared.append(
            structlog.processors.CallsiteParameterAdder(
                {
                    structlog.processors.CallsiteParameter.PATHNAME,
                    structlog.processors.CallsiteParameter.LINENO,
                }
            )
        )
    shared += [_add_service(service)]
    if cfg.structured.include_request_id:
        shared.append(_ensure_ids)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

    def formatter(fmt: str) -> logging.Formatter:
        renderer: Any = (
            structlog.processors.JSONRenderer()
            if fmt == "json"
            else structlog.dev.ConsoleRenderer(colors=False)
        )
        return structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # Tracebacks become text first, then everything (stacks included)
                # is scrubbed: a secret in an exception message must not reach
                # the renderer.
                structlog.processors.format_exc_info,
                _scrub_processor,
                renderer,
            ],
        )

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    level = logging.getLevelName(cfg.level)
    root.setLevel(level)

    if cfg.outputs.console.enabled:
        console = logging.StreamHandler(sys.stdout)
        console.setLevel(logging.getLevelName(cfg.outputs.console.level or cfg.level))
        console.setFormatter(formatter(cfg.outputs.console.format or cfg.format))
        root.addHandler(console)

    file_cfg = cfg.outputs.file
    if file_cfg.enabled:
        path = Path(file_cfg.path) if file_cfg.path else settings.runtime.data_dir / "logs"
        if not path.suffix:
            path = path / f"{service}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler: logging.Handler
        if file_cfg.rotation == "daily":
            file_handler = logging.handlers.TimedRotatingFileHandler(
                path, when="midnight", backupCount=cfg.retention.days, utc=True
            )
        else:
            file_handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=file_cfg.max_size, backupCount=file_cfg.max_files
            )
        if cfg.retention.compression:
            file_handler.namer = _gz_name
            file_handler.rotator = _gz_rotate
        file_handler.setLevel(logging.getLevelName(file_cfg.level))
        file_handler.setFormatter(formatter(cfg.format))
        root.addHandler(file_handler)

    # Third-party chatter stays at WARNING unless we are debugging everything.
    quiet = logging.WARNING if level > logging.DEBUG else logging.INFO
    for name in (
        "httpx",
        "httpx2",
        "httpcore",
        "anthropic",
        "kombu",
        "amqp",
        "urllib3",
        "multipart",
        "alembic",
    ):
        logging.getLogger(name).setLevel(quiet)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def _ensure_ids(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    # Every line has both keys (null outside a request or an evaluation), so a
    # log query on them never has to guess whether the field is missing.
    event.setdefault("request_id", None)
    event.setdefault("evaluation_id", None)
    return event


def _gz_name(name: str) -> str:
    return f"{name}.gz"


def _gz_rotate(source: str, dest: str) -> None:
    # Rotated files are compressed once, at rotation; the retention job deletes
    # them after logging.retention.days.
    import gzip
    import shutil

    with open(source, "rb") as src, gzip.open(dest, "wb") as out:
        shutil.copyfileobj(src, out)
    Path(source).unlink()


def _add_service(service: str) -> Any:
    def processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
        event.setdefault("service", service)
        return event

    return processor


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
