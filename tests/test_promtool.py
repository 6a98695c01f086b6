"""promtool, where installed (Debian's `prometheus` package; .ci/run provides it), checks the
Prometheus config and its rules, runs the alerts' unit tests, and reads every dashboard query."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.observability_files import PROMETHEUS, alert_rules, panel_queries


def promtool() -> str:
    """promtool (Debian's `prometheus` package; .ci/run provides it), or skip saying so."""
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool not installed (apt-get install prometheus); the YAML checks ran")
    return found


def run_promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """promtool with these arguments, its output kept for the assertion message."""
    return subprocess.run(
        [promtool(), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_accepts_the_config_and_its_rules() -> None:
    checked = run_promtool("check", "config", PROMETHEUS / "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rule files found" in checked.stdout


def test_each_alert_fires_above_its_threshold_and_not_below() -> None:
    tested = run_promtool("test", "rules", PROMETHEUS / "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    cases = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    firing = {
        case["alertname"]
        for test in cases
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert firing == {rule["alert"] for rule in alert_rules()}


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """Each panel query, its Grafana variables given values, checked as a recording rule (the
    alerts are checked with the config)."""
    rules = [
        {"record": f"parley_dashboard_query_{number}", "expr": expr}
        for number, expr in enumerate(panel_queries().values())
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = run_promtool("check", "rules", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout
