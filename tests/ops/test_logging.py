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
