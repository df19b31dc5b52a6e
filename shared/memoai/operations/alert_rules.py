"""Prometheus alert rules rendered from monitoring.yaml, so thresholds live in one place.

`memoai alert-rules --output infra/prometheus/alerts.yml` writes the file
Prometheus loads; the test suite renders it again from the committed
configuration and fails if the two differ.

Request-rate ratios leave out /metrics and /health: Prometheus and the
container health checks call them all the time, and counting them would
dilute the error rate and the latency of real traffic.
"""

from __future__ import annotations

from typing import Any

import yaml

from memoai.config.schemas import Monitoring

RUNBOOK = "docs/operations.md"
_REAL_TRAFFIC = 'route!~"/metrics|/health.*"'


def _num(value: float) -> str:
    return f"{value:g}"


def _rule(
    name: str,
    expr: str,
    *,
    for_: str,
    severity: str,
    summary: str,
    description: str,
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook": f"{RUNBOOK}#{name.lower()}",
        },
    }


def _up(job: str) -> str:
    # `or vector(0)`: no target at all (every replica gone from DNS) is also down.
    return f'(sum(up{{job="{job}"}}) or vector(0)) < 1'


def rules(monitoring: Monitoring) -> dict[str, Any]:
    perf = monitoring.performance
    error_rate = perf.error_rate_threshold
    critical_rate = max(monitoring.alerting.critical_threshold, error_rate)
    latency_s = perf.response_time_threshold / 1000
    errors = (
        f'sum by (service) (rate(memoai_http_requests_total{{status=~"5..",{_REAL_TRAFFIC}}}[5m]))'
        f" / sum by (service) (rate(memoai_http_requests_total{{{_REAL_TRAFFIC}}}[5m]))"
    )
    llm_failures = (
        'sum by (provider) (rate(memoai_llm_requests_total{outcome!="ok"}[10m]))'
        " / sum by (provider) (rate(memoai_llm_requests_total[10m]))"
    )
    availability = [
        _rule(
            "WorkersDown",
            _up("worker"),
            for_="2m",
            severity="critical",
            summary="No Celery worker is up",
            description="Memos are accepted and queued but nothing evaluates them.",
        ),
        _rule(
            "ApiDown",
            _up("api"),
            for_="2m",
            severity="critical",
            summary="No API instance is up",
            description="Prometheus cannot scrape any api target.",
        ),
        _rule(
            "WebDown",
            _up("web"),
            for_="2m",
            severity="critical",
            summary="No web instance is up",
            description="Prometheus cannot scrape any web target.",
        ),
        _rule(
            "TargetDown",
            "up == 0",
            for_="5m",
            severity="warning",
            summary="{{ $labels.job }} target {{ $labels.instance }} is down",
            description="A scrape target has not answered for 5 minutes.",
        ),
    ]
    performance = [
        _rule(
            "HighErrorRate",
            f"({errors}) > {_num(error_rate)}",
            for_="5m",
            severity="warning",
            summary="{{ $labels.service }}: more than "
            f"{_num(error_rate * 100)}% of requests fail with 5xx",
            description="5xx ratio is {{ $value | humanizePercentage }} over 5 minutes "
            f"(monitoring.performance.error_rate_threshold = {_num(error_rate)}).",
        ),
        _rule(
            "CriticalErrorRate",
            f"({errors}) > {_num(critical_rate)}",
            for_="5m",
            severity="critical",
            summary="{{ $labels.service }}: more than "
            f"{_num(critical_rate * 100)}% of requests fail with 5xx",
            description="5xx ratio is {{ $value | humanizePercentage }} over 5 minutes "
            f"(monitoring.alerting.critical_threshold = {_num(critical_rate)}).",
        ),
        _rule(
            "SlowResponses",
            "histogram_quantile(0.95, sum by (service, le) "
            f"(rate(memoai_http_request_duration_seconds_bucket{{{_REAL_TRAFFIC}}}[5m]))) "
            f"> {_num(latency_s)}",
            for_="10m",
            severity="warning",
            summary=f"{{{{ $labels.service }}}}: p95 latency above {_num(latency_s)}s",
            description="p95 is {{ $value | humanizeDuration }} "
            f"(monitoring.performance.response_time_threshold = "
            f"{_num(perf.response_time_threshold)} ms).",
        ),
    ]
    queue = [
        _rule(
            "QueueBacklog",
            f"max(memoai_queue_depth) > {perf.queue_backlog_threshold}",
            for_="10m",
            severity="warning",
            summary=f"More than {perf.queue_backlog_threshold} evaluations are waiting",
            description="{{ $value }} evaluations queued for 10 minutes: scale the workers "
            "or check the LLM provider "
            f"(monitoring.performance.queue_backlog_threshold = {perf.queue_backlog_threshold}).",
        ),
        _rule(
            "LlmFailureRate",
            f"({llm_failures}) > {_num(perf.llm_failure_rate_threshold)}",
            for_="10m",
            severity="warning",
            summary="{{ $labels.provider }}: more than "
            f"{_num(perf.llm_failure_rate_threshold * 100)}% of LLM calls fail",
            description="Failed attempt ratio is {{ $value | humanizePercentage }} "
            "(monitoring.performance.llm_failure_rate_threshold = "
            f"{_num(perf.llm_failure_rate_threshold)}).",
        ),
    ]
    max_age = perf.backup_max_age_hours * 3600
    data = [
        _rule(
            "BackupTooOld",
            f"min(memoai_backup_age_seconds) > {_num(max_age)}",
            for_="15m",
            severity="critical",
            summary=f"The newest backup is older than {_num(perf.backup_max_age_hours)} hours",
            description="Newest verified backup is {{ $value | humanizeDuration }} old "
            f"(monitoring.performance.backup_max_age_hours = "
            f"{_num(perf.backup_max_age_hours)}).",
        ),
        _rule(
            "BackupFailed",
            'increase(memoai_backups_total{outcome="failed"}[6h]) > 0',
            for_="0m",
            severity="warning",
            summary="A backup run failed",
            description="See the worker's backup.failed log line; the next check retries.",
        ),
        _rule(
            "DiskAlmostFull",
            f"max by (volume) (memoai_disk_used_ratio) * 100 > {_num(perf.disk_threshold)}",
            for_="15m",
            severity="warning",
            summary="Volume {{ $labels.volume }} is more than "
            f"{_num(perf.disk_threshold)}% full",
            description='{{ $value | printf "%.1f" }}% used '
            f"(monitoring.performance.disk_threshold = {_num(perf.disk_threshold)}).",
        ),
    ]
    return {
        "groups": [
            {"name": "memoai-availability", "rules": availability},
            {"name": "memoai-performance", "rules": performance},
            {"name": "memoai-queue-and-llm", "rules": queue},
            {"name": "memoai-data", "rules": data},
        ]
    }


HEADER = """\
# Generated by `memoai alert-rules` from config/monitoring.yaml: do not edit.
# Change the thresholds there and run
#   memoai alert-rules --output infra/prometheus/alerts.yml
# (`make alert-rules`); the test suite fails while this file is out of date.
"""


def render(monitoring: Monitoring) -> str:
    body = yaml.safe_dump(
        rules(monitoring), sort_keys=False, width=1000, allow_unicode=True, default_flow_style=False
    )
    return HEADER + body
