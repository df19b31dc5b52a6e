"""One run: start a stack on a back end, load it, measure, stop it."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from bench.load import REPO, dbsize, phases, procs, profile
from bench.load.stats import busiest, cycle_seconds, ideal_per_minute, percentile
from bench.load.users import Load
from tests.support.services import free_port
from tests.support.stack import Stack, claude_overrides, load_memos, stack_env


def _start(stack: Stack, args: argparse.Namespace) -> None:
    pools = _pool_env(args)
    stack.start_process("api", env=pools["api"])
    stack.start_process("worker", env=pools["worker"])
    stack.start_process("beat", env=pools["beat"])
    for n in range(2, args.workers + 1):
        # More worker processes spread the CPU part of many concurrent calls
        # (streaming, validation) past one interpreter's GIL.
        stack.start_process(
            "worker",
            f"--hostname=worker{n}@%h",
            key=f"worker-{n}",
            env={"WORKER_METRICS_PORT": str(free_port()), **pools["worker"]},
        )
    for name in ("api", "worker", "beat"):
        # A busy 2-core machine starting several interpreters at once can take
        # longer than the tests' 40 s.
        stack.wait_ready(name, timeout=120)


def _pool_env(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """DB pool per role. Single-process runs keep 40 everywhere. With more
    processes the pools are cut so that, filled to the brim, they stay near
    Postgres's default max_connections = 100: with api×2 and worker×2, each
    API process 20 + 5 overflow for its threads and up to 10 for reads on its
    event loop (min(DB_POOL_SIZE, 10)), each worker 10 + 3, beat 2 + 1: 99 in
    all. Pools open connections on demand, so a run holds far fewer. The API
    gets most: its request threads each hold a connection for the whole
    request, the worker's threads only briefly."""
    if args.api_processes + args.workers <= 2:
        same = {"DB_POOL_SIZE": "40"}
        return {"api": same, "worker": same, "beat": same}
    return {
        "api": {
            "DB_POOL_SIZE": str(max(8, 40 // args.api_processes)),
            "DB_MAX_OVERFLOW": "5",
        },
        "worker": {"DB_POOL_SIZE": str(max(5, 20 // args.workers)), "DB_MAX_OVERFLOW": "3"},
        "beat": {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "1"},
    }


def _fake_llm(latency: float) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    fake = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.fakes.anthropic_server"),
            *("--port", str(port), "--latency", str(latency)),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    return fake, port


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    memos = [m["text"] for m in load_memos()]
    fake, fake_port = _fake_llm(args.llm_latency)
    root = Path(tempfile.mkdtemp(prefix=f"memoai-bench-{backend}-"))
    overrides = claude_overrides(
        f"http://127.0.0.1:{fake_port}",
        LLM_TIMEOUT="30",
        EVALUATION_TIMEOUT="60",  # must exceed one model request (config check)
        LLM_RATE_LIMIT="1000000",
        WORKER_CONCURRENCY=str(args.worker_concurrency),
        LLM_STREAMING=args.streaming,
        RATE_LIMIT_ENABLED="false",
        LOG_LEVEL="WARNING",
        WORKER_PROCESSES=str(args.api_processes),
    )
    load = Load("", memos, args.poll_interval, args.think_time, args.ramp)  # URL once started
    m: dict[str, Any] = {}
    try:
        with stack_env(root, backend, **overrides) as env:
            stack = Stack(root, env, backend)
            stack.memoai("migrate")
            try:
                _start(stack, args)
                m = _measure(stack, fake, load, memos, args)
            finally:
                stack.stop()  # never leave processes behind, even after a failed start
    finally:
        fake.terminate()
        fake.wait()
    return _result(backend, args, load, m)


def _measure(
    stack: Stack,
    fake: subprocess.Popen[bytes],
    load: Load,
    memos: list[str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    load.api = stack.api_url
    roots = {n: p.pid for n, p in stack.procs.items()} | {"fake_llm": fake.pid}
    sampler = procs.RssSampler(roots)
    sampler.start()
    m: dict[str, Any] = {
        "loadavg_before": procs.loadavg(),
        "calibration_ms": procs.calibration_ms(),
    }
    db_before = dbsize.footprint(stack.env)
    spies: dict[str, Any] = {}
    if args.profile:
        # The API and the worker each cost about half of an evaluation's CPU.
        for name in ("api", "worker"):
            out = Path(stack.root) / f"py-spy-{name}.raw"
            spies[name] = (profile.start(stack.procs[name].pid, args.duration, out), out)
    cpu_before = procs.cpu_by_class(roots)
    machine_before = procs.machine_busy_seconds()
    print(
        f"[{stack.backend}] {args.users} users for {args.duration:.0f} s (LLM "
        f"{args.llm_latency} s, think {args.think_time} s, api×{args.api_processes}, "
        f"worker×{args.workers}; loadavg {m['loadavg_before']}; "
        f"calibration {m['calibration_ms']} ms)…",
        flush=True,
    )
    try:
        # uvloop: the load generator shares the cores with the service, so the
        # less CPU it spends per request the less it takes from what it measures.
        m["started"], m["elapsed"] = uvloop.run(load.run(args.users, args.duration))
        m["cpu"] = procs.cpu_delta(cpu_before, procs.cpu_by_class(roots))
        m["machine_busy"] = procs.machine_busy_seconds() - machine_before
        m["worker_peak_rss_mb"] = sampler.peak_class.get("worker", 0.0)
        m["peak_rss_mb"] = dict(sampler.peak)
        m["profile"] = profile.finish(*spies["api"]) if "api" in spies else None
        m["profile_worker"] = profile.finish(*spies["worker"]) if "worker" in spies else None
        # Drain: everything submitted must end completed or failed.
        deadline = time.monotonic() + 60
        side = dbsize.server_side(stack.env)
        while side["states"].get("queued", 0) + side["states"].get("processing", 0):
            if time.monotonic() > deadline:
                break
            time.sleep(1)
            side = dbsize.server_side(stack.env)
        m["side"] = side
        m["evaluations"] = sum(side["states"].values())  # made by the server, seen or not
        m["db"] = dbsize.growth(db_before, dbsize.footprint(stack.env), m["evaluations"])
        m["burst"] = uvloop.run(load.poll_burst(min(args.users, 200), args.burst_duration))
        m["phases"] = {}
        if args.phases:
            done = [(e, load.submitted[e]) for e in load.completed]
            m["phases"] = phases.class_phases(
                stack.api_url,
                roots,
                done,
                stack.new_session,
                memos,
                args.phase_requests,
                args.phase_submits,
                args.phase_concurrency,
            )
    finally:
        sampler.stop.set()
    return m


def _result(
    backend: str, args: argparse.Namespace, load: Load, m: dict[str, Any]
) -> dict[str, Any]:
    # Throughput counts completions noticed inside [warm-up, duration]: the
    # arrival ramp and the first cycles do not dilute the steady state, and
    # the tail after the end (users finishing their last cycle) is not in it.
    window_start = m["started"] + args.warmup
    window_end = m["started"] + args.duration
    window = args.duration - args.warmup
    completed = sum(1 for at in load.completed.values() if window_start <= at <= window_end)
    per_minute = completed / window * 60
    ideal = ideal_per_minute(args.users, args.llm_latency, args.poll_interval, args.think_time)
    side = m["side"]
    lost = side["states"].get("queued", 0) + side["states"].get("processing", 0)
    cpu = m["cpu"]
    top = busiest(cpu, m["elapsed"])
    return {
        "backend": backend,
        "users": args.users,
        "duration_s": round(m["elapsed"], 1),
        "requested_duration_s": args.duration,
        "warmup_s": args.warmup,
        "window_s": window,
        "ramp_s": load.ramp,
        "llm_latency_s": args.llm_latency,
        "poll_interval_s": args.poll_interval,
        "think_time_s": args.think_time,
        "ideal_cycle_s": cycle_seconds(args.llm_latency, args.poll_interval, args.think_time),
        "worker_concurrency": args.worker_concurrency,
        "worker_processes": args.workers,
        "api_processes": args.api_processes,
        "llm_streaming": args.streaming == "true",
        "loadavg_before": m["loadavg_before"],
        "calibration_ms": m.get("calibration_ms"),
        "evaluations_submitted": len(load.submitted),  # acknowledged to a user
        "evaluations_created": m["evaluations"],  # in the database, timed-out submits too
        "evaluations_completed": completed,
        "evaluations_per_minute": round(per_minute, 1),
        "ideal_per_minute": round(ideal, 1),
        "ratio_to_ideal": round(per_minute / ideal, 3),
        "cycle_s": {
            "p50": round(percentile(load.cycles, 50) or 0, 2),
            "p95": round(percentile(load.cycles, 95) or 0, 2),
        },
        "overhead": side["overhead"],
        "llm_time": side["llm_time"],
        "api_latency": load.latency_since(window_start),
        "status_poll_burst": m["burst"],
        "errors": dict(load.errors),
        "error_count": sum(load.errors.values()) + len(load.failed),
        "failed_evaluations": len(load.failed),
        "lost_evaluations": lost,
        "final_states": side["states"],
        "peak_rss_mb": {k: round(v, 1) for k, v in m["peak_rss_mb"].items()},
        "worker_peak_rss_mb": round(m["worker_peak_rss_mb"], 1),
        # CPU seconds during the main phase per process class; the machine has
        # os.cpu_count() cores for all of them (and for anything else running).
        "cpu_seconds": cpu,
        "cpu_core_share": {k: round(v / m["elapsed"], 3) for k, v in cpu.items()},
        "cpu_utilisation": round(sum(cpu.values()) / (m["elapsed"] * (os.cpu_count() or 1)), 3),
        # Everything on the machine, this run included: near 100 % means the
        # figures measure a starved machine (other work shares the cores).
        "machine_utilisation": round(m["machine_busy"] / (m["elapsed"] * (os.cpu_count() or 1)), 3),
        "others_cpu_seconds": round(max(0.0, m["machine_busy"] - sum(cpu.values())), 1),
        "busiest": None if top is None else [top[0], round(top[1], 3)],
        "api_cpu_s_per_evaluation": (
            round(cpu.get("api", 0) / m["evaluations"], 4) if m["evaluations"] else None
        ),
        "db": m["db"],
        "cpu_per_class": m["phases"],
        "profile": m["profile"],
        "profile_worker": m.get("profile_worker"),
    }
