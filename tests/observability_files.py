"""The observability files the tests read: the Grafana dashboard, its panels and queries, and
the Prometheus alerts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


DASHBOARD = REPO / "observability" / "grafana" / "parley.json"


PROMETHEUS = REPO / "observability" / "prometheus"


ALERTS = PROMETHEUS / "alerts.yml"


def dashboard() -> dict[str, Any]:
    """The dashboard JSON."""
    result: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return result


def panels() -> list[dict[str, Any]]:
    """The dashboard's panels (rows left out)."""
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of alerts.yml."""
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def queries() -> dict[str, str]:
    """Every PromQL expression of the dashboard and the alerts, by where it is."""
    found = {
        f"panel {panel['title']!r} {target['refId']}": target["expr"]
        for panel in panels()
        for target in panel["targets"]
    }
    found.update({f"alert {rule['alert']}": rule["expr"] for rule in alert_rules()})
    return found


def panel_queries() -> dict[str, str]:
    """The dashboard's queries with its variables given values, as Grafana would send them:
    `$__rate_interval` at least four scrapes, `$window` at its default."""
    values = {"__rate_interval": "1m"}
    for variable in dashboard()["templating"]["list"]:
        values.setdefault(variable["name"], variable["current"]["value"])
    variables = re.compile(r"\$\{?(\w+)\}?")
    return {
        where: variables.sub(lambda match: values[match[1]], expr)
        for where, expr in queries().items()
        if where.startswith("panel ")
    }
