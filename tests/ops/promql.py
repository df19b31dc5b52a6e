"""Metric names used by PromQL expressions (dashboards and alert rules)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.ops.tools import INFRA

_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan",
}  # fmt: skip
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def dashboard_expressions() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted((INFRA / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        out[path.name] = [
            t["expr"] for p in board["panels"] for t in p.get("targets", []) if t.get("expr")
        ]
    return out


def rule_expressions(path: Path | None = None) -> list[str]:
    rules = yaml.safe_load((path or INFRA / "prometheus" / "alerts.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def metric_names(expr: str) -> set[str]:
    """Series names selected by `expr` (functions, keywords and label names left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        name = match.group(0)
        following = text[match.end() :].lstrip()
        if name.lower() in _KEYWORDS or following.startswith("("):
            continue
        names.add(name)
    return names


def base_name(name: str) -> str:
    """A histogram's _bucket/_sum/_count series belong to the family's name."""
    for suffix in _HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name
