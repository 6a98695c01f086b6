"""The whole service on one machine: Postgres, Temporal, migrations, worker and API."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from deploy.versions import default_build_id
from devstack import app, deployment
from devstack.options import DATABASE_NAME, StackError, StackOptions
from devstack.postgres import (
    create_database,
    embedded_postgres_url,
    server_reachable,
    stop_embedded_postgres,
    with_database,
)
from devstack.processes import (
    Child,
    note,
    port_in_use,
    respawn,
    stop_all,
    tail,
)
from devstack.supervisor import CrashLoop, Supervisor
from devstack.temporal import SEARCH_ATTRIBUTES, start_dev_server, wait_for_temporal_sync
from settings import get_settings


@dataclass
class Stack:
    """The running parts, so that they can be reported on and stopped."""

    options: StackOptions
    children: list[Child] = field(default_factory=list)
    database_url: str = ""
    temporal_address: str = ""
    embedded_pgdata: Path | None = None
    dev_server: Child | None = None
    _build_id: str = ""
    worker_metrics: dict[str, str] = field(default_factory=dict)  # child name -> /metrics URL
    # Builds that were current before this one, with workflows still pinned to them.
    stranded: dict[str, int] = field(default_factory=dict)
    supervisor: Supervisor | None = None

    @property
    def logs_dir(self) -> Path:
        """Where every child's log goes."""
        return self.options.data_dir / "logs"

    def start_postgres(self) -> None:
        """Use DATABASE_URL if set, else start the embedded server and create the database."""
        configured = get_settings().database_url
        if configured:
            if not server_reachable(configured):
                raise StackError(
                    f"DATABASE_URL is set but no PostgreSQL answers there: {configured}"
                )
            self.database_url = configured
            return
        self.embedded_pgdata = self.options.data_dir / "postgres"
        admin_url = embedded_postgres_url(self.embedded_pgdata)
        create_database(admin_url, DATABASE_NAME)
        self.database_url = with_database(admin_url, DATABASE_NAME)

    def start_temporal(self) -> None:
        """Use TEMPORAL_ADDRESS if set, else start the dev server (with Web UI) and wait for it."""
        configured = get_settings().temporal_address
        if configured:
            self.temporal_address = configured
            wait_for_temporal_sync(configured, timeout_seconds=15)
            return
        for port in (self.options.temporal_port, self.options.ui_port):
            if port_in_use("127.0.0.1", port):
                raise StackError(
                    f"port {port} on 127.0.0.1 is taken (a Temporal server already running? "
                    "a previous `devstack up`?): stop it, pass --temporal-port/--ui-port, "
                    "or set TEMPORAL_ADDRESS to use that server"
                )
        self.dev_server = start_dev_server(
            self.options.data_dir / "temporal.db",
            self.options.temporal_port,
            self.options.ui_port,
            self.logs_dir / "temporal.log",
            metrics_port=self.options.metrics_port,
        )
        self.children.append(self.dev_server)
        self.temporal_address = f"127.0.0.1:{self.options.temporal_port}"
        try:
            wait_for_temporal_sync(
                self.temporal_address,
                search_attributes=SEARCH_ATTRIBUTES,
                child=self.dev_server,
                timeout_seconds=60,
            )
        except RuntimeError as err:
            raise StackError(
                f"{err}\nlast lines of the Temporal log:\n{tail(self.dev_server.log_path)}"
            ) from err

    @property
    def build_id(self) -> str:
        """The build the stack's workers are (PARLEY_BUILD_ID, else version + git commit)."""
        if not self._build_id:
            self._build_id = get_settings().build_id or default_build_id()
        return self._build_id

    def child_env(self) -> dict[str, str]:
        """The launcher's environment plus where Postgres and Temporal are, and the build."""
        env = dict(os.environ)
        env["DATABASE_URL"] = self.database_url
        env["TEMPORAL_ADDRESS"] = self.temporal_address
        env["PARLEY_BUILD_ID"] = self.build_id
        env["PYTHONUNBUFFERED"] = "1"
        env.setdefault("PARLEY_DEV_MODE", "true")  # a laptop: the published dev secret is fine
        return env

    @property
    def app_names(self) -> list[str]:
        """The worker and API processes, the children that are restarted when they end."""
        return [c.name for c in self.children if c.name.startswith(("worker", "api"))]

    def child(self, name: str) -> Child:
        """The running child called `name` (`temporal`, `worker`, `worker-2`, `api`, ...)."""
        return next(child for child in self.children if child.name == name)

    def restart_child(self, name: str) -> Child:
        """Start `name` again once it has ended (stopped or killed); its log goes on."""
        old = self.child(name)
        old.process.wait()
        new = respawn(old)
        note(new, f"parley: {name} restarted (pid {new.process.pid})")
        self.children[self.children.index(old)] = new
        if old is self.dev_server:
            self.dev_server = new
        return new

    def pids(self) -> dict[str, int]:
        """Process ids of the children, by name."""
        return {child.name: child.process.pid for child in self.children}

    @property
    def api_url(self) -> str:
        """Base URL of the (first) API."""
        return self.api_urls[0]

    @property
    def api_urls(self) -> list[str]:
        """Base URLs of every API process."""
        return [f"http://{self.options.api_host}:{port}" for port in self.options.api_ports]

    def check_children(self) -> None:
        """Raise if any child has ended."""
        for child in self.children:
            if child.exited():
                raise StackError(child.describe_exit())

    def supervise(self) -> None:
        """Restart a worker or API that ended (with backoff); raise if one keeps ending, or if
        the dev server ends (it is not restarted: its state and ports are the stack's own)."""
        if self.supervisor is None:
            self.supervisor = Supervisor(self.children, self.app_names, self.options.restart_policy)
        try:
            self.supervisor.tick()
        except CrashLoop as loop:
            raise StackError(str(loop)) from None
        for child in self.children:
            if child.name not in self.app_names and child.exited():
                raise StackError(child.describe_exit())

    def up(self) -> None:
        """Start everything in order and wait until the API is ready."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.start_postgres()
        self.start_temporal()
        app.migrate(self)
        app.start_app(self)
        deployment.make_build_current(self)
        app.wait_ready(self)

    @property
    def env_file(self) -> Path:
        """Where a running stack says where its parts are (read by `dev.py deploy`)."""
        return self.options.data_dir / "stack.env"

    def write_env_file(self) -> None:
        """DATABASE_URL, TEMPORAL_ADDRESS and the dev mode, for commands run beside the stack."""
        env = self.child_env()
        keys = ("DATABASE_URL", "TEMPORAL_ADDRESS", "PARLEY_DEV_MODE", "PARLEY_TASK_QUEUE")
        lines = [f"{key}={env[key]}" for key in keys if key in env]
        self.env_file.write_text("\n".join(lines) + "\n")

    def down(self) -> None:
        """Stop the API and worker (and workers a deploy started), then Temporal, then the
        embedded Postgres."""
        self.env_file.unlink(missing_ok=True)
        deployment.stop_deployed_workers(self)
        apps = [child for child in self.children if child is not self.dev_server]
        stop_all(apps)
        if self.dev_server is not None:
            stop_all([self.dev_server])
        if self.embedded_pgdata is not None:
            stop_embedded_postgres(self.embedded_pgdata)
