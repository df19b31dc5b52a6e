"""Grafana provisioning and dashboards: generated, valid PromQL, wired to the data source."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.ops.promql import dashboard_expressions, metric_names
from tests.ops.tools import INFRA, require, run

GRAFANA = INFRA / "grafana"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_dashboards_are_the_generated_ones() -> None:
    rendered = _generator().render()
    committed = {p.name: p.read_text() for p in (GRAFANA / "dashboards").glob("*.json")}
    assert committed == rendered, "infra/grafana/dashboards is stale: run `make dashboards`"


def test_the_four_dashboards_exist_and_use_the_provisioned_data_source() -> None:
    source = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    uid = source["datasources"][0]["uid"]
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    titles = set()
    for path in (GRAFANA / "dashboards").glob("*.json"):
        board = json.loads(path.read_text())
        titles.add(board["title"].split(": ", 1)[1])
        panels = [p for p in board["panels"] if p["type"] != "row"]
        assert panels, path.name
        for panel in panels:
            assert panel["datasource"]["uid"] == uid, (path.name, panel["title"])
            assert panel["targets"], (path.name, panel["title"])
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24
    assert titles == {
        "service overview",
        "evaluations and queue",
        "LLM usage and cost",
        "security",
    }
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/memoai.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule: a typo fails here, not on a screen."""
    promtool = require("promtool")
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr}
        for i, expr in enumerate(e for exprs in dashboard_expressions().values() for e in exprs)
    ]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run(promtool, "check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (service) (rate(memoai_http_requests_total{status=~"5.."}[5m]))',
         {"memoai_http_requests_total"}),
        ("(sum(up{job=\"worker\"}) or vector(0)) < 1", {"up"}),
        ("histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m]))) > 5", {"x_bucket"}),
        ("max by (volume) (a_ratio) * 100 > 85 and on (job) b", {"a_ratio", "b"}),
    ],
)  # fmt: skip
def test_metric_name_extraction(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
