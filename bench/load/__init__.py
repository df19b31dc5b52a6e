"""`make bench-load`: the whole stack under load, against a fake Messages API.

For each back end (SQLite + embedded broker, Postgres + Redis) it starts the
real processes (api, worker, beat) and a fake Claude with a fixed latency, then
runs for `--duration` seconds: `--users` virtual users each create a session
and loop submit → poll status every second → fetch the result → fetch their
history → think for `--think-time` seconds. A status-poll-only burst follows,
then dedicated phases that measure API CPU per request for each endpoint class
(status, result, history, submit). It prints and writes JSON: evaluations per minute and
the ratio to the ideal, server-side overhead, API latency per endpoint, errors,
lost evaluations, CPU per process class, database growth and peak RSS.

The ideal is what polling allows: a user notices completion at the first poll
after the model answers, then reads for the think time, so one cycle takes at
least LLM latency + one poll interval + think time; ideal = users / cycle.

`--users-sweep 10,100,500,1000` repeats the run at each count (fresh stack
each) and prints the cost table and the knee in Markdown (docs/benchmarks.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tests.support, when run from elsewhere

from bench.load.stats import percentile, summary_ms  # noqa: E402

__all__ = ["REPO", "RESULTS", "percentile", "summary_ms"]
