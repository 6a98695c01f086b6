"""docker-compose.yml: structure checked with PyYAML, and by `docker compose config` if present."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devstack.temporal import SEARCH_ATTRIBUTES
from settings import DEV_JWT_SECRET
from tests.compose_file import (
    COMPOSE_FILE,
    REQUIRED,
    compose_services,
    depends_on,
    environment,
)

REPO = Path(__file__).resolve().parents[1]
APP_SERVICES = ("migrate", "worker", "api", "deploy")
SECRET_KEY = re.compile(r"PASSWORD|SECRET|PWD|TOKEN|API_KEY")
TEST_SECRETS = {
    "POSTGRES_PASSWORD": "compose-test-password",
    "PARLEY_JWT_SECRET": "compose-test",
    "GRAFANA_ADMIN_PASSWORD": "compose-test-grafana",
}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    """The services of docker-compose.yml, anchors and merge keys resolved."""
    return compose_services()


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
