"""docker-compose.yml read with PyYAML: its services, and what a test asks of one service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


COMPOSE_FILE = REPO / "docker-compose.yml"


REQUIRED = re.compile(r"\$\{(?P<name>[A-Z_]+):\?[^}]*\}")


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whichever form the file uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Each dependency of a service and its condition."""
    return {name: spec["condition"] for name, spec in service.get("depends_on", {}).items()}


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


def compose_services() -> dict[str, dict[str, Any]]:
    """The services of docker-compose.yml, anchors and merge keys resolved."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(compose, dict)
    result: dict[str, dict[str, Any]] = compose["services"]
    return result
