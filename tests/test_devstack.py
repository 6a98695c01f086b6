"""The dev stack's helpers against real servers: Postgres (local or embedded) and the dev server."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

import devstack.postgres
from devstack.postgres import (
    create_database,
    embedded_postgres_url,
    local_test_postgres_url,
    server_reachable,
    stop_embedded_postgres,
    with_database,
)
from devstack.processes import free_port, port_in_use, stop_all
from devstack.temporal import (
    SEARCH_ATTRIBUTES,
    dev_server_command,
    start_dev_server,
    temporal_cli_path,
    test_server_path,
    wait_for_temporal,
)

REPO = Path(__file__).resolve().parents[1]


def indexed_type(kind: str) -> int:
    """The server's enum value for a search attribute type name such as `KeywordList`."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", kind).upper()
    return IndexedValueType.Value("INDEXED_VALUE_TYPE_" + snake)


def http_status(url: str) -> int:
    """The status of a GET (blocking)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        status: int = response.status
        return status


def test_local_test_postgres_url_connects(tmp_path: Path) -> None:
    """The test Postgres URL (local server or embedded fallback) accepts a psycopg connection."""
    url = local_test_postgres_url(tmp_path / "pg")
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_local_test_postgres_url_falls_back_to_embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing at the local address, the embedded server is started and used."""
    monkeypatch.setattr(devstack.postgres, "LOCAL_ADMIN_URL", "postgresql://postgres@127.0.0.1:1/x")
    pgdata = tmp_path / "fallback"
    try:
        url = local_test_postgres_url(pgdata)
        assert f"host={pgdata}" in url
        assert server_reachable(url)
    finally:
        stop_embedded_postgres(pgdata)


def test_embedded_postgres_runs_parleys_schema_needs(tmp_path: Path) -> None:
    """The embedded server starts (as root too), creates databases idempotently, has btree_gist."""
    pgdata = tmp_path / "nested" / "pgdata"
    started = time.monotonic()
    admin_url = embedded_postgres_url(pgdata)
    try:
        assert time.monotonic() - started < 30
        assert embedded_postgres_url(pgdata) == admin_url  # reused, not started twice
        create_database(admin_url, "devstack_check")
        create_database(admin_url, "devstack_check")
        url = with_database(admin_url, "devstack_check")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
            row = conn.execute("SELECT current_database(), current_user").fetchone()
            assert row == ("devstack_check", "postgres")
    finally:
        stop_embedded_postgres(pgdata)
    assert not server_reachable(admin_url)


def test_with_database_keeps_host_and_socket() -> None:
    """Switching database keeps TCP hosts and socket directories."""
    tcp = "postgresql://postgres@127.0.0.1:5432/postgres"
    assert with_database(tcp, "parley") == "postgresql://postgres@127.0.0.1:5432/parley"
    socket = "postgresql://postgres@/postgres?host=/tmp/pg"
    assert with_database(socket, "parley") == "postgresql://postgres@/parley?host=/tmp/pg"


def test_temporal_binaries_come_from_the_wheels() -> None:
    """Both binaries are found and executable."""
    for path in (temporal_cli_path(), test_server_path()):
        assert os.access(path, os.X_OK), path


def test_dev_server_command_line() -> None:
    """start-dev with state file, WAL pragmas, loopback, both ports and every search attribute."""
    command = dev_server_command(Path("/data/temporal.db"), 7233, 8233)
    assert command[0] == temporal_cli_path()
    assert command[1:3] == ["server", "start-dev"]
    pairs = list(zip(command, command[1:], strict=False))
    assert ("--db-filename", "/data/temporal.db") in pairs
    assert ("--sqlite-pragma", "journal_mode=wal") in pairs
    assert ("--sqlite-pragma", "synchronous=normal") in pairs
    assert ("--ip", "127.0.0.1") in pairs
    assert ("--port", "7233") in pairs
    assert ("--ui-port", "8233") in pairs
    registered = dict(value.split("=", 1) for flag, value in pairs if flag == "--search-attribute")
    assert registered == SEARCH_ATTRIBUTES
    assert SEARCH_ATTRIBUTES == {
        "ParleyUserIds": "KeywordList",
        "ParleySlotStart": "Datetime",
        "ParleyStatus": "Keyword",
        "ParleyKind": "Keyword",
    }


async def test_dev_server_starts_and_serves_a_client(tmp_path: Path) -> None:
    """The dev server starts on free ports, registers the attributes, serves its UI, stops."""
    port, ui_port = free_port(), free_port()
    child = start_dev_server(tmp_path / "temporal.db", port, ui_port, tmp_path / "temporal.log")
    try:
        client = await wait_for_temporal(
            f"127.0.0.1:{port}",
            search_attributes=SEARCH_ATTRIBUTES,
            child=child,
            timeout_seconds=20,
        )
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        for name, kind in SEARCH_ATTRIBUTES.items():
            assert listed.custom_attributes[name] == indexed_type(kind)
        assert await asyncio.to_thread(http_status, f"http://127.0.0.1:{ui_port}/") == 200
    finally:
        stop_all([child], timeout_seconds=10)
    assert child.process.returncode is not None
    assert not port_in_use("127.0.0.1", port)
    assert (tmp_path / "temporal.db").exists()


def test_devstack_up_fails_clearly_on_an_unreachable_database(tmp_path: Path) -> None:
    """`python -m devstack up` exits 1 and names DATABASE_URL when nothing answers there."""
    env = dict(os.environ, DATABASE_URL="postgresql://postgres@127.0.0.1:1/parley")
    result = subprocess.run(
        [sys.executable, "-m", "devstack", "up", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DATABASE_URL is set but no PostgreSQL answers" in result.stderr
    assert "parley: stopped" in result.stdout


def test_dev_py_checks_the_project_code_only() -> None:
    """dev.py runs mypy on the project's packages and modules, never on .venv."""
    sys.path.insert(0, str(REPO))
    try:
        import dev
    finally:
        sys.path.remove(str(REPO))
    targets = dev.mypy_targets()
    assert {"devstack", "tests", "dev.py", "settings.py"} <= set(targets)
    assert not any(target.startswith(".") for target in targets)
    usage = subprocess.run(
        [sys.executable, str(REPO / "dev.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert "dev.py test" in usage.stdout


@pytest.mark.parametrize("kind", sorted(set(SEARCH_ATTRIBUTES.values())))
def test_search_attribute_kinds_are_server_types(kind: str) -> None:
    """Every declared type is one the server knows."""
    assert indexed_type(kind) != IndexedValueType.INDEXED_VALUE_TYPE_UNSPECIFIED
