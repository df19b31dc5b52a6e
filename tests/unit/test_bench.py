"""The load benchmark's pure parts: no servers, no processes."""

from __future__ import annotations

from typing import Any

import pytest

from bench.load.dbsize import growth
from bench.load.profile import top_frames
from bench.load.stats import (
    busiest,
    core_share_table,
    cost_table,
    cpu_class_table,
    cpu_sweep_table,
    cycle_seconds,
    ideal_per_minute,
    knee,
    knee_line,
    percentile,
)


def test_percentile_is_nearest_rank_and_none_for_no_values() -> None:
    values = [float(v) for v in range(1, 101)]  # 1 … 100
    assert percentile(values, 50) == 51.0  # rank round(0.5 × 99) = 50 → the 51st value
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 0) == 1.0
    assert percentile([], 99) is None


def test_ideal_counts_the_think_time_in_every_cycle() -> None:
    assert cycle_seconds(2.0, 1.0) == 3.0
    assert ideal_per_minute(100, 2.0, 1.0) == pytest.approx(2000.0)
    # 1,000 writers who read for 10 s: one evaluation per 13 s each.
    assert cycle_seconds(2.0, 1.0, 10.0) == 13.0
    assert ideal_per_minute(1000, 2.0, 1.0, 10.0) == pytest.approx(1000 / 13 * 60)


def test_knee_is_the_lowest_count_whose_status_p99_crosses_the_limit() -> None:
    assert knee([(1000, 250.0), (10, 12.0), (500, 140.0), (100, 60.0)]) == 500
    assert knee([(10, 12.0), (100, 100.0)]) is None  # equal to the limit is not crossing it
    assert knee([(10, None), (100, 101.0)]) == 100
    assert knee([(10, 40.0)], limit_ms=30.0) == 10


def test_busiest_class_is_the_highest_share_of_a_core() -> None:
    assert busiest({"api": 30.0, "postgres": 12.0, "worker": 45.0}, 60.0) == ("worker", 0.75)
    assert busiest({}, 60.0) is None


def _run(users: int, status_p99: float) -> dict[str, Any]:
    def lat(p99: float) -> dict[str, Any]:
        return {"count": 10, "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": p99, "max_ms": p99}

    return {
        "users": users,
        "evaluations_per_minute": 4615.4,
        "ratio_to_ideal": 0.95,
        "lost_evaluations": 0,
        "error_count": 2,
        "api_latency": {"status": lat(status_p99), "submit": lat(80.0), "result": lat(55.5)},
        "api_cpu_s_per_evaluation": 0.0123,
        "db": {"rows_per_1000": 2300, "mb_per_1000": 17.25},
        "worker_peak_rss_mb": 346.7,
        "busiest": ["api", 0.93],
    }


def test_cost_table_is_markdown_sorted_by_users_with_every_figure() -> None:
    table = cost_table([_run(1000, 150.0), _run(10, 20.0)]).splitlines()
    assert table[0].startswith("| users | evaluations/min (% of ideal) | lost |")
    assert table[1] == "|" + "---|" * 10
    assert table[2].startswith("| 10 |")
    assert table[3] == (
        "| 1,000 | 4,615 (95.0%) | 0 | 2 | 150 / 80 / 56 | 0.012 | 2,300 | 17.25 | 347 "
        "| api (93%) |"
    )


def test_knee_line_names_the_count_or_says_not_reached() -> None:
    assert knee_line([_run(10, 20.0), _run(100, 120.0)]).startswith("knee: 100 users")
    assert knee_line([_run(10, 20.0)]).startswith("knee: not reached")


def test_cpu_class_table_compares_each_class_with_its_goal() -> None:
    phase = {"requests": 1000, "concurrency": 10, "p99_ms": 20.0}
    table = cpu_class_table(
        {
            "status": {**phase, "api_cpu_ms_per_request": 0.8},
            "submit": {**phase, "api_cpu_ms_per_request": 3.5},
            "result": {**phase, "api_cpu_ms_per_request": 2.0},
        }
    )
    assert "| status | 1,000 | 10 | 0.80 | ≤ 1 | met |" in table
    assert "| submit | 1,000 | 10 | 3.50 | ≤ 3 | NOT met |" in table
    assert "| result | 1,000 | 10 | 2.00 | – | – |" in table


def test_db_growth_is_scaled_to_one_thousand_evaluations() -> None:
    before = {"bytes": 1_000_000, "rows": {"evaluations": 5, "sessions": 2}, "table_bytes": {}}
    after = {
        "bytes": 1_000_000 + 2**20,
        "disk_bytes": 3_000_000,
        "rows": {"evaluations": 205, "sessions": 12, "users": 1},
        "table_bytes": {},
    }
    g = growth(before, after, 200)
    assert g["rows_added"] == {"evaluations": 200, "sessions": 10, "users": 1}
    assert g["rows_per_1000"] == 1055
    assert g["mb_per_1000"] == 5.0
    assert growth(before, after, 0)["rows_per_1000"] is None


def test_profile_top_frames_count_the_leaf_as_own_time() -> None:
    raw = "\n".join(
        [
            'process 1:"api";main (a.py:1);handle (b.py:2);dumps (json.py:3) 30',
            'process 1:"api";main (a.py:1);handle (b.py:2) 10',
            'process 2:"api";main (a.py:1);query (c.py:9);dumps (json.py:3) 20',
            'process 2:"api" 5',
            # A spawned uvicorn worker: its command line holds a ";".
            'process 3:"python -c from m import spawn_main; spawn_main(fd=7)";run (d.py:4) 5',
            "garbage line",
        ]
    )
    top = top_frames(raw, n=3)
    assert [(frame, samples) for frame, samples, _ in top] == [
        ("dumps (json.py:3)", 50),
        ("handle (b.py:2)", 10),
        ("run (d.py:4)", 5),
    ]
    assert top[0][2] == pytest.approx(50 / 65)


def test_core_share_and_cpu_sweep_tables_have_a_row_per_user_count() -> None:
    runs = [
        {
            **_run(users, 20.0),
            "cpu_core_share": {"api": 0.9, "postgres": 0.25},
            "cpu_utilisation": 0.6,
            "machine_utilisation": 0.97,
            "calibration_ms": 61.4 if users == 10 else None,  # older JSON has none
            "cpu_per_class": {"status": {"api_cpu_ms_per_request": 0.75}},
        }
        for users in (100, 10)
    ]
    shares = core_share_table(runs, cores=2).splitlines()
    assert shares[0].endswith("| this run (of 2 cores) | whole machine | calibration ms |")
    assert shares[2] == "| 10 | 90% | 0% | 0% | 0% | 0% | 25% | 0% | 60% | 97% | 61 |"
    assert shares[3].endswith("| 97% | – |")
    cpu = cpu_sweep_table(runs).splitlines()
    assert cpu[3] == "| 100 | 0.75 | – | – | – |"
    assert cpu[0].split(" | ")[1:] == [
        "status ms (goal 1.0)",
        "result ms (goal –)",
        "history ms (goal –)",
        "submit ms (goal 3.0) |",
    ]
