"""Command line: one run per back end, or a sweep over user counts."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
from datetime import UTC, datetime
from typing import Any

import bench.load
from bench.load import RESULTS
from bench.load.procs import calibration_ms, ensure_open_files, loadavg
from bench.load.report import print_report
from bench.load.run import run_backend
from bench.load.stats import core_share_table, cost_table, cpu_sweep_table, knee_line

# The sweep's user model (docs/benchmarks.md, "Scale"): a writer skims the
# feedback for ~10 s before resubmitting. Real revisions take minutes, so
# this is a heavy user; zero think time is measured separately (--knee-sweep).
SWEEP_THINK_S = 10.0
SWEEP_RAMP_S = 5.0


def _counts(text: str) -> list[int]:
    return sorted({int(x) for x in text.split(",") if x.strip()})


def _auto(value: str, auto: int) -> int:
    return auto if value == "auto" else int(value)


def resolve(args: argparse.Namespace, users: int, think: float, sweep: bool) -> argparse.Namespace:
    """A copy of the arguments for one run: user count, think time, `auto` resolved."""
    cores = os.cpu_count() or 1
    run = argparse.Namespace(**vars(args))
    run.users = users
    run.think_time = think
    run.api_processes = _auto(args.api_processes, cores)
    run.workers = _auto(args.workers, cores)
    cycle = args.llm_latency + args.poll_interval + think
    # Evaluations in flight ≈ users × share of the cycle spent waiting on the
    # model; half as much again so a burst never waits for a thread.
    in_flight = users * args.llm_latency / cycle
    run.worker_concurrency = _auto(
        args.worker_concurrency, max(32, math.ceil(1.5 * in_flight / run.workers))
    )
    run.ramp = args.ramp if args.ramp is not None else (SWEEP_RAMP_S if sweep else None)
    ramp = run.ramp if run.ramp is not None else args.poll_interval
    # In a sweep, count only after every user has arrived and finished a cycle.
    run.warmup = args.warmup if args.warmup is not None else (ramp + cycle if sweep else 0.0)
    if run.warmup >= args.duration:
        raise SystemExit(f"--warmup {run.warmup} s leaves nothing of --duration {args.duration} s")
    return run


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(bench.load.__doc__ or "").splitlines()[0])
    p.add_argument("--backends", help="default sqlite,postgres; postgres for a sweep")
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--users-sweep", default="", help="e.g. 10,100,500,1000")
    p.add_argument(
        "--knee-sweep", default="", help="user counts run with zero think time, e.g. 10,25,50,100"
    )
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--burst-duration", type=float, default=10)
    p.add_argument("--llm-latency", type=float, default=2.0)
    p.add_argument("--poll-interval", type=float, default=1.0)
    p.add_argument(
        "--think-time", type=float, help=f"seconds a writer reads (0; sweep {SWEEP_THINK_S:g})"
    )
    p.add_argument("--ramp", type=float, help="users arrive over this many seconds")
    p.add_argument("--warmup", type=float, help="seconds not counted in throughput/latency")
    p.add_argument("--worker-concurrency", default="128", help="threads per worker, or auto")
    p.add_argument("--workers", default="1", help="worker processes, or auto (one per core)")
    p.add_argument("--api-processes", default="1", help="uvicorn workers, or auto (one per core)")
    p.add_argument("--streaming", choices=["true", "false"], default="true")
    p.add_argument("--no-phases", dest="phases", action="store_false", help="skip CPU phases")
    p.add_argument("--phase-requests", type=int, default=1000, help="per status/result phase")
    p.add_argument("--phase-submits", type=int, default=200)
    p.add_argument("--phase-concurrency", type=int, default=10)
    p.add_argument(
        "--profile", action="store_true", help="py-spy the API and the worker in the main phase"
    )
    return p


def _write(report: dict[str, Any], stem: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{stem}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    text = json.dumps(report, indent=2)
    out.write_text(text)
    (RESULTS / ("latest.json" if stem == "load" else f"{stem}-latest.json")).write_text(text)
    print(f"\nwritten {out.relative_to(RESULTS.parents[1])}")


def main() -> None:
    args = parser().parse_args()
    sweep = _counts(args.users_sweep)
    knee_counts = _counts(args.knee_sweep)
    backends = (args.backends or ("postgres" if sweep else "sqlite,postgres")).split(",")
    biggest = max([args.users, *sweep, *knee_counts])
    ensure_open_files(biggest * 2 + 256)  # a socket per user, the phases' clients, files
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": loadavg(),
            "calibration_ms": calibration_ms(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "argv": vars(args),
        "results": [],
        "knee_sweep": [],
        "failed_runs": [],
    }
    machine = report["machine"]
    print(
        f"machine: {os.cpu_count()} cores, loadavg {machine['loadavg_before']}, calibration "
        f"{machine['calibration_ms']} ms (CPU of a fixed Python loop: higher is slower)"
    )
    think = args.think_time if args.think_time is not None else (SWEEP_THINK_S if sweep else 0.0)
    plan = [(b.strip(), n, think, "results") for b in backends for n in (sweep or [args.users])]
    plan += [(b.strip(), n, 0.0, "knee_sweep") for b in backends for n in knee_counts]
    for backend, users, t, key in plan:
        run = resolve(args, users, t, bool(sweep or knee_counts))
        try:
            result = run_backend(backend, run)
        except Exception as exc:  # noqa: BLE001 - one failed count must not lose the sweep
            print(f"\n!! {backend}, {users} users, think {t:g} s failed: {exc!r}"[:2000])
            report["failed_runs"].append({"backend": backend, "users": users, "error": repr(exc)})
            continue
        print_report(result)
        report[key].append(result)
    if sweep or knee_counts:
        print_sweep(report)
    for failed in report["failed_runs"]:
        print(f"FAILED: {failed['backend']}, {failed['users']} users: {failed['error'][:300]}")
    _write(report, "scale" if sweep or knee_counts else "load")


def print_sweep(report: dict[str, Any]) -> None:
    cores = report["machine"]["cpus"]
    for key in ("results", "knee_sweep"):
        for backend in sorted({r["backend"] for r in report[key]}):
            runs = [r for r in report[key] if r["backend"] == backend]
            first = runs[0]
            print(
                f"\n### {backend}, think time {first['think_time_s']:g} s, "
                f"api×{first['api_processes']}, worker×{first['worker_processes']}, "
                f"{first['window_s']:g} of {first['requested_duration_s']:g} s counted\n"
            )
            print(cost_table(runs))
            print(f"\n{knee_line(runs)}\n")
            print("Share of one core per process class (main phase):\n")
            print(core_share_table(runs, cores))
            print("\nAPI CPU ms per request, dedicated phases:\n")
            print(cpu_sweep_table(runs))
