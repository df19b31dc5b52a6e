"""`memoai stack` (what `make run` starts): embedded defaults, offline provider, no key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.stack import base_env

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _stack_pid(make_pid: int) -> int:
    """`make run` execs `memoai stack` in its recipe shell: the child of make."""
    for _ in range(100):
        for child in _children(make_pid):
            cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"stack" in cmd:
                return child
        time.sleep(0.1)
    raise AssertionError("memoai stack not found under make")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


REPO = Path(__file__).resolve().parents[2]
WITH_WEB = 1  # the web UI is part of the build


@pytest.mark.parametrize(
    ("command", "stop_signal"),
    [("make run", signal.SIGINT), ("memoai stack", signal.SIGTERM)],
    ids=["make-run-ctrl-c", "memoai-stack-sigterm"],
)
def test_stack_serves_a_memo_offline_and_stops_every_child(
    tmp_path: Path, memos: list[dict[str, Any]], command: str, stop_signal: int
) -> None:
    env = base_env(tmp_path)
    log = (tmp_path / "stack.log").open("wb")
    argv = (
        ["make", "--no-print-directory", "run"]
        if command == "make run"
        else [sys.executable, "-m", "memoai_cli.main", "stack"]
    )
    # Its own process group, like a terminal's foreground job: Ctrl-C reaches the group.
    proc = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    api = f"http://127.0.0.1:{env['API_PORT']}"
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                if httpx.get(f"{api}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "stack.log").read_text()
            assert time.monotonic() < deadline, "stack did not become ready"
            time.sleep(0.2)
        stack_pid = proc.pid if command != "make run" else _stack_pid(proc.pid)
        children = _children(stack_pid)
        assert len(children) == 3 + WITH_WEB  # api, worker, beat (, web)

        with httpx.Client(base_url=f"{api}/api/v1", timeout=10) as c:
            session = c.post("/sessions").json()["data"]["session_id"]
            headers = {"X-Session-ID": session}
            started = time.monotonic()
            # The worker may still be starting; the message waits in the broker.
            eid = c.post(
                "/evaluations/submit", headers=headers, json={"text_content": memos[0]["text"]}
            ).json()["data"]["evaluation_id"]
            while True:
                status = c.get(f"/evaluations/{eid}/status", headers=headers).json()["data"]
                if status["status"] in ("completed", "failed"):
                    break
                assert time.monotonic() - started < 30, status
                time.sleep(0.05)
            assert status["status"] == "completed"
            # Once the worker is up, a memo completes well within 5 s.
            started = time.monotonic()
            eid = c.post(
                "/evaluations/submit", headers=headers, json={"text_content": memos[1]["text"]}
            ).json()["data"]["evaluation_id"]
            while c.get(f"/evaluations/{eid}/status", headers=headers).json()["data"][
                "status"
            ] not in ("completed", "failed"):
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            result = c.get(f"/evaluations/{eid}", headers=headers).json()["data"]["evaluation"]
        assert elapsed < 5, elapsed
        assert result["llm_provider"] == "offline" and result["offline"] is True
        assert result["notice"] and "Offline" in result["notice"]
        assert Path(env["DATA_DIR"], "memoai.db").exists()
        if WITH_WEB:
            with httpx.Client(timeout=5) as c:
                web = c.get(f"http://127.0.0.1:{env['WEB_PORT']}/health")
            assert web.status_code == 200

        os.killpg(proc.pid, stop_signal)
        code = proc.wait(timeout=40)
        # make reports the interrupt itself; the stack under it exits cleanly.
        assert code == 0 or (command == "make run" and code in (2, -signal.SIGINT))
        for child in children:
            assert not _alive(child), f"child {child} survived the stack"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
