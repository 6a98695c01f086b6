"""docker-compose.yml: structure checked with PyYAML, and by `docker compose config` if present."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.temporal import SEARCH_ATTRIBUTES
from settings import DEV_JWT_SECRET

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
APP_SERVICES = ("migrate", "worker", "api", "deploy")
REQUIRED = re.compile(r"\$\{(?P<name>[A-Z_]+):\?[^}]*\}")
SECRET_KEY = re.compile(r"PASSWORD|SECRET|PWD|TOKEN|API_KEY")
TEST_SECRETS = {
    "POSTGRES_PASSWORD": "compose-test-password",
    "PARLEY_JWT_SECRET": "compose-test",
    "GRAFANA_ADMIN_PASSWORD": "compose-test-grafana",
}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    """The services of docker-compose.yml, anchors and merge keys resolved."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(compose, dict)
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whichever form the file uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Each dependency of a service and its condition."""
    return {name: spec["condition"] for name, spec in service.get("depends_on", {}).items()}


def module_file(module: str) -> Path | None:
    """The file `python -m module` (or an import of it) would run in this repo, if any."""
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__main__.py"):
        if candidate.is_file():
            return candidate
    return None


def test_every_part_of_the_stack_is_there(services: dict[str, dict[str, Any]]) -> None:
    """Postgres, Temporal with its schema and setup steps, the UI, migrate, worker and API,
    Prometheus and Grafana."""
    expected = {"postgres", "temporal-schema", "temporal", "temporal-setup", "temporal-ui"}
    expected |= {"prometheus", "grafana"}
    assert expected | set(APP_SERVICES) <= set(services)


def test_postgres_is_15_with_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    """Postgres 15 reports health with pg_isready, and keeps its data in a volume."""
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:15"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])


def test_temporal_runs_on_that_postgres(services: dict[str, dict[str, Any]]) -> None:
    """Temporal stores in the compose Postgres, after its schema step, and reports health."""
    temporal = services["temporal"]
    env = environment(temporal)
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgres"
    assert depends_on(temporal) == {"temporal-schema": "service_completed_successfully"}
    assert depends_on(services["temporal-schema"]) == {"postgres": "service_healthy"}
    assert "healthcheck" in temporal
    assert depends_on(services["temporal-ui"]) == {"temporal": "service_healthy"}
    assert environment(services["temporal-ui"])["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_setup_registers_the_same_search_attributes_as_devstack(
    services: dict[str, dict[str, Any]],
) -> None:
    """The compose setup step registers exactly devstack.temporal.SEARCH_ATTRIBUTES."""
    setup = services["temporal-setup"]
    pairs = environment(setup)["PARLEY_SEARCH_ATTRIBUTES"].split()
    assert dict(pair.split("=", 1) for pair in pairs) == SEARCH_ATTRIBUTES
    script = " ".join(setup["command"])
    assert "search-attribute create" in script
    assert "namespace create" in script
    assert depends_on(setup) == {"temporal": "service_healthy"}


def test_app_services_are_built_from_the_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    """migrate, worker and api come from the repo's Dockerfile (python:3.11-slim, pip install .)."""
    for name in APP_SERVICES:
        build = services[name]["build"]
        dockerfile = REPO / build["context"] / build["dockerfile"]
        assert dockerfile.resolve() == REPO / "Dockerfile", name
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert re.search(r"pip install \.(\s|$)", text)


def test_app_commands_exist_in_the_repo(services: dict[str, dict[str, Any]]) -> None:
    """Every command of a service built here runs a module that exists in the repo."""
    built = [name for name, service in services.items() if "build" in service]
    assert set(built) == set(APP_SERVICES)
    expected = {"migrate": "db.migrate", "worker": "worker", "api": "uvicorn", "deploy": "deploy"}
    for name in built:
        command = services[name]["command"]
        assert command[:2] == ["python", "-m"], name
        module = command[2]
        assert module == expected[name], name
        if module == "uvicorn":
            target = command[3]
            app_module, _, attribute = target.partition(":")
            path = module_file(app_module)
            assert path is not None, f"{name}: {app_module} is not in the repo"
            assert re.search(rf"^{attribute}\s*[:=]", path.read_text(), re.MULTILINE), target
        else:
            assert module_file(module) is not None, f"{name}: {module} is not in the repo"


def test_migrations_run_once_before_worker_and_api(services: dict[str, dict[str, Any]]) -> None:
    """migrate waits for a healthy Postgres; worker and api wait for migrate and Temporal setup."""
    assert depends_on(services["migrate"]) == {"postgres": "service_healthy"}
    assert services["migrate"].get("restart", "no") == "no"
    for name in ("worker", "api"):
        assert depends_on(services[name]) == {
            "migrate": "service_completed_successfully",
            "temporal-setup": "service_completed_successfully",
        }
    assert "8000:8000" in services["api"]["ports"]


def test_app_environment_and_required_jwt_secret(services: dict[str, dict[str, Any]]) -> None:
    """The app gets DATABASE_URL and TEMPORAL_ADDRESS; PARLEY_JWT_SECRET must come from outside."""
    for name in APP_SERVICES:
        env = environment(services[name])
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/parley" in env["DATABASE_URL"]
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        secret = REQUIRED.fullmatch(env["PARLEY_JWT_SECRET"])
        assert secret is not None and secret["name"] == "PARLEY_JWT_SECRET", name


def test_no_secret_is_hard_coded(services: dict[str, dict[str, Any]]) -> None:
    """Every password or secret is a required `${VAR:?...}` reference, never a literal."""
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_KEY.search(key):
                assert REQUIRED.fullmatch(value), f"{name}.{key} is hard-coded: {value!r}"
            if "://" in value and "@" in value:
                credentials = value.split("://", 1)[1].split("@", 1)[0]
                password = credentials.partition(":")[2]
                assert not password or REQUIRED.fullmatch(password), f"{name}.{key}"
    assert DEV_JWT_SECRET not in COMPOSE_FILE.read_text()


def compose_cli() -> list[str] | None:
    """`docker compose` (v2 plugin) or `docker-compose` (v1), whichever works here."""
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def run_config(cli: list[str], extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`compose config -q` on the repo's file with only the given secrets set."""
    env = {key: value for key, value in os.environ.items() if key not in TEST_SECRETS}
    env.update(extra_env)
    return subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_compose_cli_accepts_the_file() -> None:
    """`docker compose config` (needs no engine) validates the file and demands the secrets."""
    cli = compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` here; YAML checks above ran")
    valid = run_config(cli, TEST_SECRETS)
    assert valid.returncode == 0, valid.stderr
    for secret in ("PARLEY_JWT_SECRET", "GRAFANA_ADMIN_PASSWORD"):
        without = {key: value for key, value in TEST_SECRETS.items() if key != secret}
        without_secret = run_config(cli, without)
        assert without_secret.returncode != 0, secret
        assert secret in without_secret.stderr


def test_the_worker_is_a_build_of_the_deployment_and_made_current(
    services: dict[str, dict[str, Any]],
) -> None:
    """The worker gets PARLEY_BUILD_ID; the deploy step makes that very build current."""
    build = environment(services["worker"])["PARLEY_BUILD_ID"]
    assert build.startswith("${PARLEY_BUILD_ID")
    assert services["deploy"]["command"][-2:] == ["--to", build]
    assert depends_on(services["deploy"]) == {"worker": "service_started"}


def mounts(service: dict[str, Any]) -> dict[str, tuple[Path, bool]]:
    """A service's bind mounts: container path -> (repo path, read-only)."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        if source.startswith("./"):
            found[target] = (REPO / source, mode == ["ro"])
    return found


def published(service: dict[str, Any]) -> set[str]:
    """The host:container ports a service publishes."""
    return {str(port) for port in service.get("ports", [])}


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
