"""Write the Grafana dashboards (infra/grafana/dashboards/*.json): `make dashboards`.

Dashboards are generated rather than hand-edited JSON so every panel follows
the same conventions (data source, units, layout), and so the test suite can
check each query's metric names against what the services really export.

Conventions: values that are facts about shared state (queue depth, sessions,
backups) are exported by every api/worker replica alike, so panels take max();
counters are summed across replicas.

One file on purpose: a script whose panels share helpers and conventions;
splitting it would scatter one dashboard's definition.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DS = {"type": "prometheus", "uid": "memoai-prometheus"}
REAL = 'route!~"/metrics|/health.*"'


class Board:
    def __init__(self, uid: str, title: str, description: str) -> None:
        self.uid = uid
        self.title = title
        self.description = description
        self.panels: list[dict[str, Any]] = []
        self._x = 0
        self._y = 0
        self._row_h = 0

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "id": len(self.panels) + 1,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self._y},
                "panels": [],
            }
        )
        self._y += 1

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_h
            self._x = 0
            self._row_h = 0

    def panel(
        self,
        title: str,
        targets: list[tuple[str, str]],
        *,
        kind: str = "timeseries",
        unit: str = "short",
        width: int = 12,
        height: int = 8,
        description: str = "",
        thresholds: list[tuple[float, str]] | None = None,
    ) -> None:
        if self._x + width > 24:
            self._newline()
        steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
        steps += [{"color": color, "value": value} for value, color in thresholds or []]
        panel: dict[str, Any] = {
            "type": kind,
            "title": title,
            "description": description,
            "id": len(self.panels) + 1,
            "datasource": DS,
            "gridPos": {"h": height, "w": width, "x": self._x, "y": self._y},
            "fieldConfig": {
                "defaults": {
                    "unit": unit,
                    "thresholds": {"mode": "absolute", "steps": steps},
                },
                "overrides": [],
            },
            "options": {},
            "targets": [
                {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
                for i, (expr, legend) in enumerate(targets)
            ],
        }
        if kind == "stat":
            panel["options"] = {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "background",
                "graphMode": "area",
                "textMode": "auto",
            }
        elif kind == "timeseries":
            panel["options"] = {
                "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max"]},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }
            panel["fieldConfig"]["defaults"]["custom"] = {"fillOpacity": 10, "lineWidth": 1}
        self.panels.append(panel)
        self._x += width
        self._row_h = max(self._row_h, height)

    def json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["memoai"],
            "timezone": "utc",
            "editable": False,
            "graphTooltip": 1,
            "refresh": "30s",
            "schemaVersion": 39,
            "version": 1,
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": []},
            "annotations": {"list": []},
            "links": [
                {
                    "title": "Memo AI Coach dashboards",
                    "type": "dashboards",
                    "tags": ["memoai"],
                    "asDropdown": True,
                }
            ],
            "panels": self.panels,
        }


def service_overview() -> Board:
    b = Board("memoai-overview", "Memo AI Coach: service overview", "Health, traffic, errors.")
    b.row("Health")
    b.panel("Targets up", [("sum by (job) (up)", "{{job}}")], kind="stat", width=8, height=5)
    b.panel(
        "5xx ratio (5m)",
        [
            (
                f'sum(rate(memoai_http_requests_total{{status=~"5..",{REAL}}}[5m])) / '
                f"sum(rate(memoai_http_requests_total{{{REAL}}}[5m]))",
                "5xx",
            )
        ],
        kind="stat",
        unit="percentunit",
        width=8,
        height=5,
        thresholds=[(0.05, "red")],
    )
    b.panel(
        "Disk used",
        [("max by (volume) (memoai_disk_used_ratio)", "{{volume}}")],
        kind="stat",
        unit="percentunit",
        width=8,
        height=5,
        thresholds=[(0.85, "red")],
    )
    b.row("Traffic")
    b.panel(
        "Requests per second by service and status",
        [
            (
                f"sum by (service, status) (rate(memoai_http_requests_total{{{REAL}}}[5m]))",
                "{{service}} {{status}}",
            )
        ],
        unit="reqps",
    )
    b.panel(
        "p95 latency by service",
        [
            (
                "histogram_quantile(0.95, sum by (service, le) "
                f"(rate(memoai_http_request_duration_seconds_bucket{{{REAL}}}[5m])))",
                "{{service}}",
            )
        ],
        unit="s",
    )
    b.panel(
        "Slowest routes (p95)",
        [
            (
                "topk(8, histogram_quantile(0.95, sum by (route, le) "
                f"(rate(memoai_http_request_duration_seconds_bucket{{{REAL}}}[5m]))))",
                "{{route}}",
            )
        ],
        unit="s",
    )
    b.panel(
        "Errors by route (4xx, 5xx)",
        [
            (
                'sum by (route, status) (rate(memoai_http_requests_total{status=~"4..|5.."}[5m]))',
                "{{route}} {{status}}",
            )
        ],
        unit="reqps",
    )
    return b


def evaluations_and_queue() -> Board:
    b = Board("memoai-evaluations", "Memo AI Coach: evaluations and queue", "The pipeline.")
    b.row("Now")
    b.panel(
        "Queued evaluations",
        [("max(memoai_queue_depth)", "queued")],
        kind="stat",
        width=6,
        height=5,
        thresholds=[(100, "red")],
    )
    b.panel(
        "Submitted (1h)",
        [("sum(increase(memoai_evaluations_submitted_total[1h]))", "submitted")],
        kind="stat",
        width=6,
        height=5,
    )
    b.panel(
        "Failed (1h)",
        [('sum(increase(memoai_evaluations_total{status="failed"}[1h]))', "failed")],
        kind="stat",
        width=6,
        height=5,
        thresholds=[(1, "orange")],
    )
    b.panel(
        "Workers up",
        [('sum(up{job="worker"})', "workers")],
        kind="stat",
        width=6,
        height=5,
        thresholds=[],
    )
    b.row("Flow")
    b.panel(
        "Evaluations finished per minute by status",
        [("sum by (status) (rate(memoai_evaluations_total[5m])) * 60", "{{status}}")],
        unit="short",
    )
    b.panel("Queue depth", [("max(memoai_queue_depth)", "queued")])
    b.panel(
        "Queue wait (p50, p95)",
        [
            (
                "histogram_quantile(0.5, sum by (le) "
                "(rate(memoai_evaluation_queue_wait_seconds_bucket[5m])))",
                "p50",
            ),
            (
                "histogram_quantile(0.95, sum by (le) "
                "(rate(memoai_evaluation_queue_wait_seconds_bucket[5m])))",
                "p95",
            ),
        ],
        unit="s",
    )
    b.panel(
        "Evaluation duration (p50, p95) by provider",
        [
            (
                "histogram_quantile(0.5, sum by (provider, le) "
                "(rate(memoai_evaluation_duration_seconds_bucket[5m])))",
                "p50 {{provider}}",
            ),
            (
                "histogram_quantile(0.95, sum by (provider, le) "
                "(rate(memoai_evaluation_duration_seconds_bucket[5m])))",
                "p95 {{provider}}",
            ),
        ],
        unit="s",
    )
    b.row("Celery (Flower)")
    b.panel(
        "Task events per second (Flower)",
        [("sum by (task, type) (rate(flower_events_total[5m]))", "{{task}} {{type}}")],
        unit="ops",
    )
    b.panel(
        "Workers online (Flower)",
        [("sum(flower_worker_online)", "online")],
    )
    return b


def llm_usage_and_cost() -> Board:
    b = Board("memoai-llm", "Memo AI Coach: LLM usage and cost", "Calls, tokens, spend.")
    b.row("Spend")
    b.panel(
        "Cost today (24h)",
        [("sum(increase(memoai_llm_cost_usd_total[24h]))", "USD")],
        kind="stat",
        unit="currencyUSD",
        width=8,
        height=5,
    )
    b.panel(
        "Cost per evaluation (1h)",
        [
            (
                "sum(increase(memoai_llm_cost_usd_total[1h])) / "
                'clamp_min(sum(increase(memoai_evaluations_total{status="completed"}[1h])), 1)',
                "USD",
            )
        ],
        kind="stat",
        unit="currencyUSD",
        width=8,
        height=5,
    )
    b.panel(
        "Failed LLM attempts (10m)",
        [
            (
                'sum(rate(memoai_llm_requests_total{outcome!="ok"}[10m])) / '
                "sum(rate(memoai_llm_requests_total[10m]))",
                "failed",
            )
        ],
        kind="stat",
        unit="percentunit",
        width=8,
        height=5,
        thresholds=[(0.2, "red")],
    )
    b.row("Calls")
    b.panel(
        "LLM calls per minute by outcome",
        [
            (
                "sum by (provider, model, outcome) (rate(memoai_llm_requests_total[5m])) * 60",
                "{{provider}} {{model}} {{outcome}}",
            )
        ],
    )
    b.panel(
        "LLM latency (p50, p95)",
        [
            (
                "histogram_quantile(0.5, sum by (model, le) "
                "(rate(memoai_llm_request_duration_seconds_bucket[5m])))",
                "p50 {{model}}",
            ),
            (
                "histogram_quantile(0.95, sum by (model, le) "
                "(rate(memoai_llm_request_duration_seconds_bucket[5m])))",
                "p95 {{model}}",
            ),
        ],
        unit="s",
    )
    b.panel(
        "Tokens per minute by kind (input, output, cache)",
        [
            (
                "sum by (kind) (rate(memoai_llm_tokens_total[5m])) * 60",
                "{{kind}}",
            )
        ],
    )
    b.panel(
        "Cost per hour by model",
        [("sum by (model) (rate(memoai_llm_cost_usd_total[1h])) * 3600", "{{model}}")],
        unit="currencyUSD",
    )
    return b


def security() -> Board:
    b = Board("memoai-security", "Memo AI Coach: security", "Sign-ins, limits, sessions, backups.")
    b.row("Now")
    b.panel(
        "Active sessions",
        [("max by (kind) (memoai_active_sessions)", "{{kind}}")],
        kind="stat",
        width=6,
        height=5,
    )
    b.panel(
        "Lockouts (24h)",
        [("sum(increase(memoai_account_lockouts_total[24h]))", "lockouts")],
        kind="stat",
        width=6,
        height=5,
        thresholds=[(1, "orange")],
    )
    b.panel(
        "Newest backup age",
        [("min(memoai_backup_age_seconds)", "age")],
        kind="stat",
        unit="s",
        width=6,
        height=5,
        thresholds=[(26 * 3600, "red")],
    )
    b.panel(
        "Backup runs failed (24h)",
        [('sum(increase(memoai_backups_total{outcome="failed"}[24h]))', "failed")],
        kind="stat",
        width=6,
        height=5,
        thresholds=[(1, "red")],
    )
    b.row("Over time")
    b.panel(
        "Failed logins per minute by reason",
        [("sum by (reason) (rate(memoai_login_failures_total[5m])) * 60", "{{reason}}")],
    )
    b.panel(
        "Rate-limited requests per minute by limit",
        [("sum by (scope) (rate(memoai_rate_limited_total[5m])) * 60", "{{scope}}")],
    )
    b.panel(
        "401 and 403 responses per minute",
        [
            (
                'sum by (service, status) (rate(memoai_http_requests_total{status=~"401|403"}[5m]))'
                " * 60",
                "{{service}} {{status}}",
            )
        ],
    )
    b.panel(
        "Active sessions",
        [("max by (kind) (memoai_active_sessions)", "{{kind}}")],
    )
    b.panel(
        "Retention: rows and files removed per hour",
        [("sum by (kind) (increase(memoai_retention_deleted_total[1h]))", "{{kind}}")],
    )
    b.panel(
        "Backup size",
        [("max(memoai_backup_size_bytes)", "newest archive")],
        unit="bytes",
    )
    return b


BOARDS = {
    "service-overview.json": service_overview,
    "evaluations-and-queue.json": evaluations_and_queue,
    "llm-usage-and-cost.json": llm_usage_and_cost,
    "security.json": security,
}


def render() -> dict[str, str]:
    return {
        name: json.dumps(build().json(), indent=2, sort_keys=False) + "\n"
        for name, build in BOARDS.items()
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
