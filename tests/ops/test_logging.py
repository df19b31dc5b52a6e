"""Log lines per logging.yaml: JSON on stdout with ids on every line, rotating file, no secrets."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from tests.ops.tools import clean_env

SCRIPT = r"""
import logging, structlog
from memoai.config import load_settings
from memoai.platform.logging import configure_logging
settings = load_settings()
configure_logging(settings, "api")
log = structlog.get_logger("t")
log.info("plain.line")
with structlog.contextvars.bound_contextvars(request_id="req-1", evaluation_id="ev-1"):
    log.info("in.evaluation", api_key="sk-ant-" + "x" * 30)
logging.getLogger("thirdparty").warning("from stdlib")
handler = [h for h in logging.getLogger().handlers if hasattr(h, "doRollover")]
if handler:
    handler[0].doRollover()
"""


def _run(tmp_path: Path, **env: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=clean_env(DATA_DIR=str(tmp_path), LOG_FORMAT="json", LOG_LEVEL="INFO", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_every_line_has_request_and_evaluation_ids_and_no_secret(tmp_path: Path) -> None:
    lines = _run(tmp_path)
    assert [line["event"] for line in lines] == ["plain.line", "in.evaluation", "from stdlib"]
    for line in lines:
        assert "request_id" in line
        assert "evaluation_id" in line
        assert line["service"] == "api"
    assert lines[0]["request_id"] is None
    assert lines[1]["request_id"] == "req-1"
    assert lines[1]["evaluation_id"] == "ev-1"
    assert "sk-ant-" not in json.dumps(lines)


def test_optional_file_output_rotates_compressed(tmp_path: Path) -> None:
    _run(tmp_path, FILE_LOGGING="true", LOG_ROTATION="size", LOG_FILE_MAX_SIZE="1MB")
    logs = tmp_path / "logs"
    assert (logs / "api.log").exists()
    rotated = list(logs.glob("api.log.1.gz"))
    assert rotated, list(logs.iterdir())
    content = gzip.decompress(rotated[0].read_bytes()).decode()
    assert '"event": "in.evaluation"' in content
    assert "sk-ant-" not in content


# Every secret the service knows, raised and logged in the ways that used to
# bypass the scrubber: log.exception (the traceback is rendered after the
# scrubber ran), a stdlib logger's exception, a SQLAlchemy error with a bound
# parameter, a bearer token and a password in an exception message, stack_info.
LEAK_SCRIPT = r"""
import logging, os, structlog
from sqlalchemy import text
from memoai.config import load_settings
from memoai.platform.db import build_engine
from memoai.platform.logging import configure_logging
settings = load_settings()
configure_logging(settings, "api")
log = structlog.get_logger("leak")
secrets = [v for k, v in os.environ.items() if k.startswith("LEAK_")]
for value in secrets:
    try:
        raise RuntimeError(f"provider said no to {value!r}")
    except RuntimeError:
        log.exception("leak.exception")
        logging.getLogger("uvicorn.error").exception("leak.stdlib %s", value)
    log.warning("leak.stack", stack_info=True, detail=f"value {value}")
engine = build_engine(settings, url="sqlite:///" + os.environ["DATA_DIR"] + "/leak.db")
try:
    with engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table WHERE a = :a"), {"a": os.environ["BOUND"]})
except Exception:
    log.exception("leak.sqlalchemy")
try:
    raise ValueError(
        "upstream rejected Authorization: Bearer " + os.environ["BEARER"]
        + " and password=" + os.environ["PLAIN_PASSWORD"]
    )
except ValueError:
    log.exception("leak.message")
print("DONE")
"""

LEAKS = {
    "JWT_SECRET_KEY": "leak-jwt-" + "5e" * 20,
    "CLAUDE_API_KEY": "leakkey-" + "7c" * 16,  # no sk- prefix: only registration catches it
    "DATABASE_URL": "postgresql://memoai:leak-pg-passw0rd-77@db:5432/memoai",
    "REDIS_URL": "redis://:leak-redis-passw0rd-88@redis:6379/0",
    "WEBHOOK_SIGNING_SECRET": "leak-webhook-" + "3a" * 16,
    "ADMIN_PASSWORD": "Leak-admin-passw0rd-99",
    "LLM_FALLBACK_API_KEY": "leakfallback-" + "1f" * 12,
}
SECRET_PARTS = [
    LEAKS["JWT_SECRET_KEY"],
    LEAKS["CLAUDE_API_KEY"],
    "leak-pg-passw0rd-77",
    "leak-redis-passw0rd-88",
    LEAKS["WEBHOOK_SIGNING_SECRET"],
    LEAKS["ADMIN_PASSWORD"],
    LEAKS["LLM_FALLBACK_API_KEY"],
]


def _run_leaks(tmp_path: Path, fmt: str) -> str:
    env = clean_env(
        DATA_DIR=str(tmp_path),
        LOG_FORMAT=fmt,
        LOG_LEVEL="INFO",
        ADMIN_USERNAME="ops-admin",
        # Not registered anywhere: only hide_parameters keeps it out.
        BOUND="memo-text-bound-" + "6d" * 10,
        BEARER="opaque-session-token-" + "2b" * 12,
        PLAIN_PASSWORD="hunter2-plain-passw0rd",
        **LEAKS,
        **{f"LEAK_{i}": value for i, value in enumerate(SECRET_PARTS)},
    )
    result = subprocess.run(
        [sys.executable, "-c", LEAK_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "DONE" in result.stdout
    return result.stdout + result.stderr


def test_tracebacks_sql_errors_and_messages_never_print_a_secret(tmp_path: Path) -> None:
    out = _run_leaks(tmp_path, "json")
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert events.count("leak.exception") == len(SECRET_PARTS)
    assert "leak.sqlalchemy" in events and "leak.message" in events
    # The tracebacks are there (scrubbed, not dropped).
    rendered = [line for line in lines if line["event"] == "leak.exception"]
    assert all("RuntimeError: provider said no to" in line["exception"] for line in rendered)
    stacks = [line for line in lines if line["event"] == "leak.stack"]
    assert stacks and all("Stack (most recent call last)" in line["stack"] for line in stacks)
    sql = next(line for line in lines if line["event"] == "leak.sqlalchemy")
    assert "no_such_table" in sql["exception"] and "hidden" in sql["exception"]
    for secret in [*SECRET_PARTS, "memo-text-bound-", "opaque-session-token-", "hunter2-plain"]:
        assert secret not in out, secret
    assert "[redacted]" in out


def test_text_format_scrubs_tracebacks_too(tmp_path: Path) -> None:
    out = _run_leaks(tmp_path, "text")
    assert "RuntimeError: provider said no to" in out
    for secret in [*SECRET_PARTS, "memo-text-bound-", "opaque-session-token-", "hunter2-plain"]:
        assert secret not in out, secret
