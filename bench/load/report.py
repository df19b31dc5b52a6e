"""Console report of one run."""

from __future__ import annotations

from typing import Any

from bench.load.stats import CPU_GOALS_MS, cpu_class_table


def print_report(r: dict[str, Any]) -> None:
    print(
        f"\n== {r['backend']}: {r['users']} users, {r['duration_s']} s "
        f"(warm-up {r['warmup_s']} s), LLM {r['llm_latency_s']} s, think {r['think_time_s']} s, "
        f"api×{r['api_processes']}, worker×{r['worker_processes']} "
        f"(concurrency {r['worker_concurrency']}); loadavg before {r['loadavg_before']}, "
        f"calibration {r.get('calibration_ms')} ms"
    )
    print(
        f"evaluations/min      {r['evaluations_per_minute']:>8}  (ideal {r['ideal_per_minute']}, "
        f"ratio {r['ratio_to_ideal']:.1%}; cycle ≥ {r['ideal_cycle_s']} s)"
    )
    print(f"cycle p50/p95        {r['cycle_s']['p50']} s / {r['cycle_s']['p95']} s")
    o = r["overhead"]
    print(f"overhead p50/p95     {o['p50_ms']} ms / {o['p95_ms']} ms  (completion - LLM time)")
    print(
        f"errors {r['error_count']}, failed {r['failed_evaluations']}, "
        f"lost {r['lost_evaluations']}  {r['errors'] or ''}"
    )
    print("endpoint             count    p50 ms   p95 ms   p99 ms")
    for name, s in r["api_latency"].items():
        print(f"  {name:18} {s['count']:>6} {s['p50_ms']:>9} {s['p95_ms']:>8} {s['p99_ms']:>8}")
    b = r["status_poll_burst"]
    print(
        f"status burst         {b['pollers']} pollers, {b['requests_per_s']} req/s, "
        f"p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms, p99 {b['p99_ms']} ms, errors {b['errors']}"
    )
    print(f"peak RSS MB          {r['peak_rss_mb']} (worker total {r['worker_peak_rss_mb']})")
    print(
        f"CPU seconds          {r['cpu_seconds']} (this run {r['cpu_utilisation']:.0%} of the "
        f"machine; whole machine {r['machine_utilisation']:.0%} busy, "
        f"{r['others_cpu_seconds']} s by other work)"
    )
    shares = ", ".join(
        f"{k} {v:.0%}" for k, v in sorted(r["cpu_core_share"].items(), key=lambda kv: -kv[1])
    )
    print(f"share of a core      {shares}")
    if r["busiest"]:
        name, share = r["busiest"]
        # One Python process cannot use more than one core (the GIL), so a
        # class of N processes is saturated near N × 100 %, not 100 %.
        n = {"api": r["api_processes"], "worker": r["worker_processes"]}.get(name, 1)
        each = f", {share / n:.0%} per process" if n > 1 else ""
        print(f"saturates first      {name} ({share:.0%} of a core{each})")
    print(f"API CPU / evaluation {r['api_cpu_s_per_evaluation']} s (all endpoints of one cycle)")
    d = r["db"]
    print(
        f"DB growth            {d['bytes_added'] / 2**20:.2f} MB, "
        f"{sum(d['rows_added'].values())} rows for {d['evaluations']} evaluations "
        f"→ {d['rows_per_1000']} rows, {d['mb_per_1000']} MB per 1,000  {d['rows_added']}"
    )
    phases = {k: v for k, v in (r["cpu_per_class"] or {}).items() if isinstance(v, dict)}
    if phases:
        idle = r["cpu_per_class"]["idle_api_cpu_per_s"]
        print(
            f"\nAPI CPU ms / request (dedicated phases; idle API {idle * 1000:.1f} ms/s subtracted)"
        )
        print(cpu_class_table(phases))
        for name, goal in CPU_GOALS_MS.items():
            got = phases.get(name, {}).get("api_cpu_ms_per_request")
            if got is not None:
                verdict = "met" if got <= goal else "NOT met"
                print(f"goal {name} ≤ {goal:g} ms: {got:.2f} ms, {verdict}")
    for key, who in (("profile", "API"), ("profile_worker", "worker")):
        p = r.get(key)
        if p and p.get("top_own_time"):
            print(f"\npy-spy, {who}, top 10 frames by own time (share of samples)")
            for f in p["top_own_time"]:
                print(f"  {f['share']:>6.1%}  {f['samples']:>6}  {f['frame']}")
