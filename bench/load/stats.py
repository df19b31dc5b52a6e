"""The pure parts of the load benchmark: percentiles, the ideal, the knee, tables.

No I/O here, so tests/unit/test_bench.py can check them without servers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

# Issue 14: status p99 under this is the service's promise at a given load.
STATUS_P99_GOAL_MS = 100.0
# API CPU per request, per endpoint class (issue 14 point 3).
CPU_GOALS_MS = {"status": 1.0, "submit": 3.0}


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def summary_ms(values: Sequence[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "p50_ms": _ms(percentile(values, 50)),
        "p95_ms": _ms(percentile(values, 95)),
        "p99_ms": _ms(percentile(values, 99)),
        "max_ms": _ms(max(values) if values else None),
    }


def cycle_seconds(llm_latency: float, poll_interval: float, think_time: float = 0.0) -> float:
    """The shortest cycle one user can make.

    A user notices completion at the first poll after the model answers (LLM
    latency + one poll interval), then reads the feedback for `think_time`
    before submitting again.
    """
    return llm_latency + poll_interval + think_time


def ideal_per_minute(
    users: int, llm_latency: float, poll_interval: float, think_time: float = 0.0
) -> float:
    """Evaluations per minute if the service added nothing: users ÷ cycle."""
    return users / cycle_seconds(llm_latency, poll_interval, think_time) * 60


def knee(
    points: Iterable[tuple[int, float | None]], limit_ms: float = STATUS_P99_GOAL_MS
) -> int | None:
    """The lowest user count whose status p99 crosses `limit_ms`, or None."""
    for users, p99 in sorted(points, key=lambda point: point[0]):
        if p99 is not None and p99 > limit_ms:
            return users
    return None


def busiest(cpu_seconds: dict[str, float], elapsed: float) -> tuple[str, float] | None:
    """The process class with the highest share of one core over `elapsed` seconds."""
    if not cpu_seconds or elapsed <= 0:
        return None
    name = max(cpu_seconds, key=lambda k: cpu_seconds[k])
    return name, cpu_seconds[name] / elapsed


def per_thousand(delta: float, evaluations: int) -> float | None:
    return None if evaluations <= 0 else delta / evaluations * 1000


def _fmt(value: float | None, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{unit}"


COST_COLUMNS = (
    "users",
    "evaluations/min (% of ideal)",
    "lost",
    "errors",
    "p99 status / submit / result ms",
    "API CPU s / evaluation",
    "DB rows / 1,000 eval.",
    "DB MB / 1,000 eval.",
    "worker peak RSS MB",
    "busiest (share of a core)",
)


def cost_row(r: dict[str, Any]) -> list[str]:
    """One line of the cost table from one run's result dict."""
    lat = r["api_latency"]

    def p99(name: str) -> str:
        return _fmt(lat.get(name, {}).get("p99_ms"))

    top = r.get("busiest")
    return [
        f"{r['users']:,}",
        f"{_fmt(r['evaluations_per_minute'])} ({r['ratio_to_ideal']:.1%})",
        str(r["lost_evaluations"]),
        str(r["error_count"]),
        f"{p99('status')} / {p99('submit')} / {p99('result')}",
        _fmt(r.get("api_cpu_s_per_evaluation"), 3),
        _fmt(r["db"].get("rows_per_1000")),
        _fmt(r["db"].get("mb_per_1000"), 2),
        _fmt(r["worker_peak_rss_mb"]),
        "–" if not top else f"{top[0]} ({top[1]:.0%})",
    ]


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cost_table(results: Sequence[dict[str, Any]]) -> str:
    ordered = sorted(results, key=lambda r: r["users"])
    return markdown_table(COST_COLUMNS, [cost_row(r) for r in ordered])


def knee_line(results: Sequence[dict[str, Any]]) -> str:
    found = knee((r["users"], r["api_latency"].get("status", {}).get("p99_ms")) for r in results)
    tried = ", ".join(f"{r['users']:,}" for r in sorted(results, key=lambda r: r["users"]))
    if found is None:
        return f"knee: not reached (status p99 ≤ {STATUS_P99_GOAL_MS:.0f} ms at {tried} users)"
    return (
        f"knee: {found:,} users (the lowest count tried whose status p99 > "
        f"{STATUS_P99_GOAL_MS:.0f} ms; tried {tried})"
    )


def cpu_class_table(phases: dict[str, dict[str, Any]]) -> str:
    """API CPU ms per request for each endpoint class, against the goals."""
    rows = []
    for name, p in phases.items():
        goal = CPU_GOALS_MS.get(name)
        ms = p.get("api_cpu_ms_per_request")
        verdict = "–" if goal is None or ms is None else ("met" if ms <= goal else "NOT met")
        rows.append(
            [
                name,
                f"{p['requests']:,}",
                str(p["concurrency"]),
                _fmt(ms, 2),
                "–" if goal is None else f"≤ {goal:g}",
                verdict,
                _fmt(p.get("p99_ms"), 1),
            ]
        )
    header = ("class", "requests", "concurrency", "API CPU ms / request", "goal ms", "", "p99 ms")
    return markdown_table(header, rows)


def cpu_sweep_table(results: Sequence[dict[str, Any]]) -> str:
    """API CPU ms per request per class at each user count (dedicated phases)."""
    classes = ("status", "result", "history", "submit")
    header = ["users", *(f"{c} ms (goal {CPU_GOALS_MS.get(c, '–')})" for c in classes)]
    rows = []
    for r in sorted(results, key=lambda r: r["users"]):
        p = r.get("cpu_per_class") or {}
        rows.append(
            [f"{r['users']:,}"]
            + [_fmt(p.get(c, {}).get("api_cpu_ms_per_request"), 2) for c in classes]
        )
    return markdown_table(header, rows)


SHARE_CLASSES = ("api", "worker", "beat", "fake_llm", "load_generator", "postgres", "redis")


def core_share_table(results: Sequence[dict[str, Any]], cores: int) -> str:
    """Share of one core per process class over the main phase, at each user count."""
    header = [
        "users",
        *SHARE_CLASSES,
        f"this run (of {cores} cores)",
        "whole machine",
        "calibration ms",
    ]
    rows = []
    for r in sorted(results, key=lambda r: r["users"]):
        share = r["cpu_core_share"]
        calibration = r.get("calibration_ms")
        rows.append(
            [f"{r['users']:,}"]
            + [f"{share.get(c, 0):.0%}" for c in SHARE_CLASSES]
            + [f"{r['cpu_utilisation']:.0%}", f"{r.get('machine_utilisation', 0):.0%}"]
            + ["–" if calibration is None else f"{calibration:.0f}"]
        )
    return markdown_table(header, rows)
