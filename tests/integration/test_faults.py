"""Faults: a killed worker, a broker outage, a 529 storm, a database restart, SIGTERM.

In every case each evaluation ends completed, or failed with a reason; none is
stuck, none lost, none written twice.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.services import free_port, unavailable
from tests.support.stack import (
    BACKENDS,
    Stack,
    base_env,
    claude_overrides,
    running_stack,
    stack_env,
)

pytestmark = pytest.mark.integration

FAST_RECOVERY = {"LEASE_SECONDS": "6", "SWEEP_INTERVAL": "3", "SWEEP_UNPUBLISHED_AFTER": "1"}


def _tagged(memo: str, n: int) -> str:
    return f"{memo}\n\nCase {n}-{time.monotonic_ns()}."


def _db_states(stack: Stack) -> dict[str, dict[str, Any]]:
    url = stack.env.get("DATABASE_URL") or f"sqlite:///{Path(stack.env['DATA_DIR']) / 'memoai.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, status, attempts, error_code FROM evaluations")
            ).mappings()
            return {r["id"]: dict(r) for r in rows}
    finally:
        engine.dispose()


def _wait_all_final(stack: Stack, session: str, ids: list[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    final: dict[str, Any] = {}
    with stack.client() as c:
        while len(final) < len(ids):
            for eid in ids:
                if eid in final:
                    continue
                response = c.get(f"/evaluations/{eid}/status", headers={"X-Session-ID": session})
                if response.status_code == 200:
                    data = response.json()["data"]
                    if data["status"] in ("completed", "failed"):
                        final[eid] = data
            if time.monotonic() > deadline:
                missing = {e: s for e, s in _db_states(stack).items() if e not in final}
                raise AssertionError(f"not final after {timeout}s: {missing}")
            time.sleep(0.2)
    return final


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_of_the_worker_mid_evaluation_loses_nothing(
    tmp_path: Path, fake: FakeAnthropic, memos: list[dict[str, Any]], backend: str
) -> None:
    fake.state.latency = 3.0
    env = claude_overrides(fake.url, LLM_TIMEOUT="10", **FAST_RECOVERY)
    with running_stack(tmp_path, backend, services=("api", "worker", "beat"), **env) as stack:
        session = stack.new_session()
        ids = [stack.submit(session, _tagged(memos[i % 9]["text"], i)) for i in range(6)]
        # Wait until the worker is inside the model calls, then kill it outright.
        deadline = time.monotonic() + 20
        while sum(s["status"] == "processing" for s in _db_states(stack).values()) < 3:
            assert time.monotonic() < deadline, _db_states(stack)
            time.sleep(0.1)
        worker = stack.procs["worker"]
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        stack.procs.pop("worker")
        requests_before_restart = len(fake.requests)
        fake.state.latency = 0.5

        restarted = time.monotonic()
        stack.start("worker")
        final = _wait_all_final(stack, session, ids, timeout=60)
        recovery = time.monotonic() - restarted
        assert recovery < 60, recovery
        assert {s["status"] for s in final.values()} == {"completed"}, final
        states = _db_states(stack)
        # Each evaluation was claimed at most twice (the killed try and the recovery),
        # and the model was not called again for anything finished before the kill.
        assert all(states[e]["attempts"] <= 2 for e in ids), states
        assert len(fake.requests) - requests_before_restart <= len(ids)


def test_broker_outage_keeps_accepting_and_recovers(
    tmp_path: Path, memos: list[dict[str, Any]]
) -> None:
    if shutil.which("redis-server") is None:
        unavailable("redis-server", "not installed")
    port = free_port()
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()

    def start_redis() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(redis_dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        return proc

    redis_proc = start_redis()
    overrides = {"REDIS_URL": f"redis://127.0.0.1:{port}/0", **FAST_RECOVERY}
    try:
        with stack_env(tmp_path, "postgres") as env:
            env.update(overrides)
            stack = Stack(tmp_path, env, "postgres")
            stack.memoai("migrate")
            try:
                stack.start("api", "worker", "beat")
                session = stack.new_session()
                ids = [stack.submit(session, _tagged(memos[i]["text"], i)) for i in range(3)]
                _wait_all_final(stack, session, ids, timeout=30)

                redis_proc.terminate()
                redis_proc.wait()
                during = []
                started = time.monotonic()
                for i in range(4):
                    during.append(stack.submit(session, _tagged(memos[i + 3]["text"], i + 3)))
                # Accepting memos does not wait on the dead broker.
                assert time.monotonic() - started < 10
                ready = httpx.get(f"{stack.api_url}/health/ready", timeout=5)
                assert ready.status_code == 503
                assert ready.json()["checks"]["broker"]["ok"] is False
                assert ready.json()["accepting_submissions"] is True
                time.sleep(2)
                assert all(
                    s["status"] == "queued" for e, s in _db_states(stack).items() if e in during
                )

                redis_proc = start_redis()
                final = _wait_all_final(stack, session, ids + during, timeout=60)
                assert {s["status"] for s in final.values()} == {"completed"}
                assert httpx.get(f"{stack.api_url}/health/ready", timeout=5).status_code == 200
            finally:
                stack.stop()
    finally:
        redis_proc.terminate()
        redis_proc.wait()


def test_529_storm_fails_clearly_then_recovers_and_retries(
    tmp_path: Path, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    env = claude_overrides(
        fake.url,
        LLM_RETRY_ATTEMPTS="2",
        LLM_CIRCUIT_THRESHOLD="3",
        LLM_CIRCUIT_COOLDOWN="3",
        EVALUATION_TIMEOUT="8",
    )
    with running_stack(tmp_path, "sqlite", **env) as stack:
        session = stack.new_session()
        fake.script(*["overloaded"] * 40)
        storm = [stack.submit(session, _tagged(memos[i]["text"], i)) for i in range(4)]
        final = _wait_all_final(stack, session, storm, timeout=40)
        assert {s["status"] for s in final.values()} == {"failed"}
        assert {s["error_code"] for s in final.values()} == {"llm_unavailable"}
        assert all(s["error"] for s in final.values())
        # The breaker stopped the hammering: far fewer calls than 4 x 3 attempts.
        assert len(fake.requests) < 4 * 3

        fake.reset()  # the storm is over
        time.sleep(3.5)  # cooldown
        with stack.client() as c:
            for eid in storm:
                response = c.post(f"/evaluations/{eid}/retry", headers={"X-Session-ID": session})
                assert response.status_code == 202, response.text
                assert response.json()["data"]["status"] == "queued"
            done = c.post(f"/evaluations/{storm[0]}/retry", headers={"X-Session-ID": session})
        final = _wait_all_final(stack, session, storm, timeout=40)
        assert {s["status"] for s in final.values()} == {"completed"}, final
        # Retrying something that is not failed is a conflict, not a second run.
        assert done.status_code in (202, 409)
        with stack.client() as c:
            again = c.post(f"/evaluations/{storm[1]}/retry", headers={"X-Session-ID": session})
        assert again.status_code == 409


def test_fallback_provider_answers_when_claude_is_down(
    tmp_path: Path, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    env = claude_overrides(
        fake.url,
        LLM_RETRY_ATTEMPTS="1",
        LLM_FALLBACK_ENABLED="true",
        LLM_FALLBACK_PROVIDER="offline",
    )
    with running_stack(tmp_path, "sqlite", **env) as stack:
        session = stack.new_session()
        fake.script(*["server_error"] * 10)
        eid = stack.submit(session, memos[0]["text"])
        assert stack.wait_final(session, eid)["status"] == "completed"
        result = stack.result(session, eid)
        assert result["llm_provider"] == "offline"
        assert result["offline"] is True


@contextmanager
def private_postgres(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A Postgres server of our own, so restarting it disturbs nobody else."""
    bindir = next(Path("/usr/lib/postgresql").glob("*/bin"), None)
    if bindir is None or shutil.which("runuser") is None:
        unavailable("PostgreSQL server binaries", "not installed")
    assert bindir is not None
    # pytest's temporary directories are private to root; the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="memoai-pg-"))
    base.chmod(0o755)
    data = base / "data"
    data.mkdir()
    shutil.chown(data, "postgres")
    port = free_port()

    def pg(*args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60
        )

    pg(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"

    def ctl(action: str) -> None:
        pg(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-w",
            "-l",
            str(data / "log"),
            action,
        )

    ctl("start")
    try:
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-c",
                "CREATE DATABASE memoai",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/memoai", ctl
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )


def test_database_restart_mid_evaluation(
    tmp_path: Path, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    with private_postgres(tmp_path) as (url, ctl):
        fake.state.latency = 2.0
        env = base_env(
            tmp_path,
            DATABASE_URL=url,
            **claude_overrides(fake.url, LLM_TIMEOUT="10"),
            **FAST_RECOVERY,
        )
        stack = Stack(tmp_path, env, "postgres")
        stack.memoai("migrate")
        try:
            stack.start("api", "worker", "beat")
            session = stack.new_session()
            ids = [stack.submit(session, _tagged(memos[i]["text"], i)) for i in range(4)]
            time.sleep(0.5)  # evaluations are inside the model call now
            ctl("restart")
            # During and after the restart no request hangs past its timeout.
            with stack.client() as c:
                started = time.monotonic()
                response = c.get(f"/evaluations/{ids[0]}/status", headers={"X-Session-ID": session})
                assert time.monotonic() - started < 10
                assert response.status_code in (200, 503)
            final = _wait_all_final(stack, session, ids, timeout=60)
            assert {s["status"] for s in final.values()} == {"completed"}, final
            states = _db_states(stack)
            assert all(states[e]["attempts"] == 1 for e in ids), states
            # The model answered once per memo: the results were saved after the restart.
            assert len(fake.requests) == len(ids)
        finally:
            stack.stop()


def test_sigterm_lets_in_flight_evaluations_finish(
    tmp_path: Path, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    fake.state.latency = 2.0
    with running_stack(tmp_path, "sqlite", **claude_overrides(fake.url, LLM_TIMEOUT="10")) as stack:
        session = stack.new_session()
        ids = [stack.submit(session, _tagged(memos[i]["text"], i)) for i in range(3)]
        deadline = time.monotonic() + 10
        while not any(s["status"] == "processing" for s in _db_states(stack).values()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert stack.stop_process("worker", signal.SIGTERM, timeout=30) == 0
        states = _db_states(stack)
        finished = [e for e in ids if states[e]["status"] == "completed"]
        # Whatever had started finished before the worker exited; nothing is
        # left half-done in processing.
        assert finished
        assert all(states[e]["status"] in ("completed", "queued") for e in ids), states
