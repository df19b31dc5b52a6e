"""The README's quick start, run as written against a stack started like `make run`.

`make run` is `memoai migrate` then `memoai stack` (checked below against the
Makefile); the stack gets a temporary DATA_DIR and free ports, and the README's
commands read the port from `${API_PORT:-8000}`, so they run unchanged.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.stack import MEMOS, REPO, base_env

pytestmark = pytest.mark.integration

README = REPO / "README.md"


def bash_blocks(marker: str) -> list[str]:
    """The ```bash blocks from the line containing `marker` to the next heading."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    blocks: list[str] = []
    current: list[str] | None = None
    for line in lines[start + 1 :]:
        if current is None and line.startswith("#"):
            break
        if current is None and line.strip() == "```bash":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("\n".join(current) + "\n")
            current = None
        elif current is not None:
            current.append(line)
    assert blocks, f"no bash block after {marker!r} in README.md"
    return blocks


def test_make_run_is_migrate_then_stack() -> None:
    """What the stack below is started with is what `make run` does."""
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^run: install\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no run target"
    commands = [line.strip() for line in recipe.group(1).splitlines()]
    assert commands == ["$(BIN)/memoai migrate", "exec $(BIN)/memoai stack"]


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return None


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("quickstart")
    env = base_env(root)
    env.pop("BASH_ENV", None)  # nothing may run before the README's lines
    memoai = [sys.executable, "-m", "memoai_cli.main"]
    subprocess.run([*memoai, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    log_path = root / "stack.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*memoai, "stack"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    api = f"http://127.0.0.1:{env['API_PORT']}"
    worker = f"http://127.0.0.1:{env['WORKER_METRICS_PORT']}/metrics"
    web = f"http://127.0.0.1:{env['WEB_PORT']}/health"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log_path.read_text(errors="replace")[-3000:]
            ready = _get(f"{api}/health/ready")
            metrics = _get(worker)
            page = _get(web)
            if (
                ready is not None
                and ready.status_code == 200
                and metrics is not None
                and "memoai_worker_up 1.0" in metrics.text
                and page is not None
                and page.status_code == 200
            ):
                break
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")[-3000:]
            time.sleep(0.3)
        yield {"env": env, "root": root, "log": log_path, "api": api}
    finally:
        # Ctrl-C, as a user stops `make run`: every child must stop with it.
        os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        assert code == 0, log_path.read_text(errors="replace")[-3000:]


def run_bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_curl_quick_start_ends_with_a_completed_status_and_evaluation(
    make_run: dict[str, Any],
) -> None:
    blocks = bash_blocks("Try it with curl")
    assert "${API_PORT:-8000}" in blocks[0]  # the one place the port is read
    result = run_bash("".join(blocks), make_run["env"])
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) >= 2, result.stdout
    status = json.loads(lines[-2])["data"]
    evaluation = json.loads(lines[-1])["data"]["evaluation"]
    assert status["status"] == "completed" and status["progress_percentage"] == 100
    assert status["evaluation_id"] == evaluation["id"]
    assert evaluation["status"] == "completed"
    text = (MEMOS / "strong_01_en_hf_remote_monitoring.txt").read_text(encoding="utf-8")
    assert evaluation["text_content"] == text
    assert evaluation["offline"] is True  # no key: the offline evaluator, and it says so
    assert evaluation["rubric_scores"] and evaluation["segment_feedback"]
    for item in evaluation["segment_feedback"]:
        assert text[item["start"] : item["end"]] == item["segment"]


def test_the_terminal_quick_start_runs_beside_make_run_on_the_same_data(
    make_run: dict[str, Any],
) -> None:
    (block, *_remote) = bash_blocks("## From the terminal")
    env = dict(make_run["env"])
    # "With .venv/bin on your PATH": the interpreter running these tests is that venv's.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = run_bash(block, env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("== examples/memos/weak_01_en_ai_thoughts.txt\n")
    assert "Overall score: " in out and "\nComments (" in out
    scored = [line.split() for line in out.splitlines() if re.fullmatch(r"[\d.]+ [\w-]+", line)]
    strong = sorted(p.name for p in MEMOS.glob("strong_0*.txt"))
    assert len(scored) == len(strong) == 3
    ids = {evaluation_id for _score, evaluation_id in scored}

    # Stored in make run's database, evaluated once, never handed to its worker.
    with sqlite3.connect(make_run["root"] / "data" / "memoai.db") as conn:
        rows = conn.execute(
            f"SELECT id, status, attempts, enqueued_at FROM evaluations "  # noqa: S608
            f"WHERE id IN ({','.join('?' * len(ids))})",
            sorted(ids),
        ).fetchall()
    assert sorted((r[1], r[2], r[3]) for r in rows) == [("completed", 1, None)] * 3
    time.sleep(2)  # a worker that had been sent one would have logged it by now
    worker_log = make_run["log"].read_text(errors="replace")
    assert not any(evaluation_id in worker_log for evaluation_id in ids)
