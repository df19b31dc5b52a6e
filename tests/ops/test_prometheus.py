"""Prometheus configuration and alert rules, checked with the real promtool."""

from __future__ import annotations

import re

import yaml

from memoai.config import load_settings
from memoai.operations.alert_rules import render
from tests.ops.tools import INFRA, clean_env, require, run

PROM = INFRA / "prometheus"


def test_committed_alert_rules_are_rendered_from_monitoring_yaml() -> None:
    expected = render(load_settings(clean_env()).monitoring)
    assert (PROM / "alerts.yml").read_text() == expected, (
        "infra/prometheus/alerts.yml is out of date: run `make alert-rules`"
    )


def test_alert_thresholds_follow_the_configuration() -> None:
    settings = load_settings(
        clean_env(
            ERROR_RATE_THRESHOLD="0.02",
            RESPONSE_TIME_THRESHOLD="1500",
            QUEUE_BACKLOG_THRESHOLD="7",
            LLM_FAILURE_RATE_THRESHOLD="0.5",
            BACKUP_MAX_AGE_HOURS="30",
            DISK_THRESHOLD="90",
        )
    )
    rules = {
        r["alert"]: r["expr"]
        for g in yaml.safe_load(render(settings.monitoring))["groups"]
        for r in g["rules"]
    }
    assert rules["HighErrorRate"].endswith("> 0.02")
    assert rules["SlowResponses"].endswith("> 1.5")
    assert rules["QueueBacklog"].endswith("> 7")
    assert rules["LlmFailureRate"].endswith("> 0.5")
    assert rules["BackupTooOld"].endswith(f"> {30 * 3600}")
    assert rules["DiskAlmostFull"].endswith("> 90")


def test_promtool_check_config_and_rules() -> None:
    promtool = require("promtool")
    result = run(promtool, "check", "config", PROM / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    result = run(promtool, "check", "rules", PROM / "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"SUCCESS: \d+ rules found", result.stdout)


def test_promtool_unit_tests_prove_the_alerts_fire() -> None:
    promtool = require("promtool")
    tests = PROM / "tests" / "alerts_test.yml"
    spec = yaml.safe_load(tests.read_text())
    tested = {
        case["alertname"]
        for test in spec["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert {"HighErrorRate", "WorkersDown"} <= tested
    result = run(promtool, "test", "rules", tests)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_scrape_job_the_rules_name_exists() -> None:
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"api", "worker", "web", "flower", "prometheus"} <= jobs
    rules_text = (PROM / "alerts.yml").read_text()
    for job in re.findall(r'job="([a-z]+)"', rules_text):
        assert job in jobs
