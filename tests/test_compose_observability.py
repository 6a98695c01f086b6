"""docker-compose.yml's observability: the worker's metrics, Prometheus and Grafana."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.compose_file import (
    REPO,
    REQUIRED,
    compose_services,
    depends_on,
    environment,
    mounts,
    published,
)


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    """The services of docker-compose.yml, anchors and merge keys resolved."""
    return compose_services()


def test_the_worker_serves_its_metrics_to_the_compose_network(
    services: dict[str, dict[str, Any]],
) -> None:
    """The worker's Temporal runtime listens on every interface of its container, port 9464."""
    worker = services["worker"]
    assert environment(worker)["PARLEY_WORKER_METRICS_ADDRESS"] == "0.0.0.0:9464"
    assert "9464" in {str(port) for port in worker["expose"]}


def test_prometheus_scrapes_each_api_and_worker_process_and_loads_the_alerts(
    services: dict[str, dict[str, Any]],
) -> None:
    """Prometheus reads the repo's config read-only; it scrapes the API on its port and the
    worker on its metrics port, every replica as its own target, and evaluates alerts.yml."""
    prometheus = services["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:")
    assert "9090:9090" in published(prometheus)
    config_dir, read_only = mounts(prometheus)["/etc/prometheus"]
    assert read_only and config_dir == REPO / "observability" / "prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    config = yaml.safe_load((config_dir / "prometheus.yml").read_text())
    for rule_file in config["rule_files"]:
        assert (config_dir / rule_file).is_file(), rule_file
    assert "alerts.yml" in config["rule_files"]
    api_port = int(services["api"]["command"][services["api"]["command"].index("--port") + 1])
    worker_port = int(
        environment(services["worker"])["PARLEY_WORKER_METRICS_ADDRESS"].split(":")[1]
    )
    targets = {
        job["job_name"]: [(sd["names"], sd["port"]) for sd in job["dns_sd_configs"]]
        for job in config["scrape_configs"]
    }
    # DNS discovery of the service name: one target per replica, however many are scaled up.
    assert targets == {
        "parley-api": [(["api"], api_port)],
        "parley-worker": [(["worker"], worker_port)],
    }


def test_grafana_is_provisioned_with_the_datasource_and_the_dashboard(
    services: dict[str, dict[str, Any]],
) -> None:
    """Grafana mounts the repo's provisioning and dashboard read-only; the provider loads the
    dashboard from where it is mounted, and the datasource is the compose Prometheus under the
    uid the dashboard defaults to."""
    grafana = services["grafana"]
    assert grafana["image"].startswith("grafana/grafana:")
    assert "3000:3000" in published(grafana)
    mounted = mounts(grafana)
    provisioning, read_only = mounted["/etc/grafana/provisioning"]
    assert read_only and provisioning == REPO / "observability" / "grafana" / "provisioning"
    providers = yaml.safe_load((provisioning / "dashboards" / "parley.yml").read_text())
    dashboard_dir = Path(providers["providers"][0]["options"]["path"])
    dashboard, read_only = mounted[str(dashboard_dir / "parley.json")]
    assert read_only and dashboard == REPO / "observability" / "grafana" / "parley.json"
    env = environment(grafana)
    assert env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == str(dashboard_dir / "parley.json")
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    variables = json.loads(dashboard.read_text())["templating"]["list"]
    (datasource,) = [v for v in variables if v["type"] == "datasource"]
    assert datasource["current"]["value"] == source["uid"]
    admin = REQUIRED.fullmatch(env["GF_SECURITY_ADMIN_PASSWORD"])
    assert admin is not None and admin["name"] == "GRAFANA_ADMIN_PASSWORD"
    assert depends_on(grafana) == {"prometheus": "service_started"}
