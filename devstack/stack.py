"""The whole service on one machine: Postgres, Temporal, migrations, worker and API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError

from deploy.versions import default_build_id, make_current_when_polling, running_pinned
from deploy.workers import Poller, pollers, stop_local
from devstack.postgres import (
    create_database,
    embedded_postgres_url,
    server_reachable,
    stop_embedded_postgres,
    with_database,
)
from devstack.processes import (
    Child,
    free_port,
    note,
    port_in_use,
    respawn,
    spawn,
    stop_all,
    tail,
)
from devstack.supervisor import CrashLoop, RestartPolicy, Supervisor
from devstack.temporal import SEARCH_ATTRIBUTES, start_dev_server, wait_for_temporal_sync
from settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DATABASE_NAME = "parley"


class StackError(RuntimeError):
    """A part of the stack failed to start; the message says which and shows its log."""


@dataclass
class StackOptions:
    """What `python -m devstack up` can be told."""

    data_dir: Path
    temporal_port: int = 7233
    ui_port: int = 8233
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    timeout_seconds: float = 90.0
    metrics_port: int | None = None  # the Temporal dev server's own
    # The first worker's Prometheus port (the rest get free ones); None: a free one too.
    worker_metrics_port: int | None = None
    # A scaled-out deployment on one machine: more worker processes, more API processes.
    workers: int = 1
    more_api_ports: tuple[int, ...] = ()
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)

    @property
    def api_ports(self) -> tuple[int, ...]:
        """Every API process's port, the first one being `api_port`."""
        return (self.api_port, *self.more_api_ports)


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

    def migrate(self) -> None:
        """Run `python -m db.migrate` to completion."""
        log_path = self.logs_dir / "migrate.log"
        with log_path.open("wb") as log:
            result = subprocess.run(
                [sys.executable, "-m", "db.migrate"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.child_env(),
                cwd=REPO_ROOT,
                timeout=300,
                check=False,
            )
        if result.returncode != 0:
            raise StackError(
                f"migrations failed (exit code {result.returncode}); last lines of {log_path}:\n"
                f"{tail(log_path)}"
            )

    def start_app(self) -> None:
        """Start the worker(s) and the API process(es)."""
        for port in self.options.api_ports:
            if port_in_use(self.options.api_host, port):
                raise StackError(
                    f"port {port} on {self.options.api_host} is taken: "
                    "stop what uses it or pass --api-port"
                )
        env = self.child_env()
        for n in range(1, self.options.workers + 1):
            name = _numbered("worker", n)
            worker = [sys.executable, "-m", "worker"]
            log = self.logs_dir / f"{name}.log"
            chosen = self.options.worker_metrics_port if n == 1 else None
            address = f"127.0.0.1:{chosen or free_port()}"
            self.worker_metrics[name] = f"http://{address}/metrics"
            worker_env = {**env, "PARLEY_WORKER_METRICS_ADDRESS": address}
            self.children.append(spawn(name, worker, log, env=worker_env, cwd=REPO_ROOT))
        for n, port in enumerate(self.options.api_ports, start=1):
            name = _numbered("api", n)
            api = [
                sys.executable,
                "-m",
                "uvicorn",
                "api.main:app",
                "--host",
                self.options.api_host,
                "--port",
                str(port),
                "--no-access-log",  # Parley writes its own, with the call's ids
            ]
            log = self.logs_dir / f"{name}.log"
            self.children.append(spawn(name, api, log, env=env, cwd=REPO_ROOT))

    def make_build_current(self) -> None:
        """Make this stack's build the deployment's current version once its workers poll (a
        laptop's restart is its deploy); note builds still holding pinned workflows."""
        settings = get_settings()

        async def switch() -> None:
            client = await Client.connect(
                self.temporal_address, namespace=settings.temporal_namespace
            )
            before = await make_current_when_polling(
                client, settings.deployment_name, self.build_id, self.options.timeout_seconds
            )
            if before and before != self.build_id:
                left = await running_pinned(client, settings.deployment_name, before)
                if left:
                    self.stranded[before] = left

        try:
            asyncio.run(switch())
        except (TimeoutError, RPCError) as error:
            logs = "\n".join(
                f"last lines of {c.log_path}:\n{tail(c.log_path)}"
                for c in self.children
                if c.name.startswith("worker")
            )
            message = f"could not make build {self.build_id} current: {error}\n{logs}"
            raise StackError(message) from None

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

    def wait_ready(self) -> None:
        """Poll every API's GET /readyz until it answers 200; fail fast if a child dies."""
        deadline = time.monotonic() + self.options.timeout_seconds
        for api_url in self.api_urls:
            self._wait_ready(api_url + "/readyz", deadline)

    def _wait_ready(self, url: str, deadline: float) -> None:
        last = "no answer yet"
        while time.monotonic() < deadline:
            self.check_children()
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as err:
                last = f"HTTP {err.code}: {err.read(500).decode(errors='replace')}"
            except (urllib.error.URLError, OSError) as err:
                last = str(err)
            time.sleep(0.5)
        logs = "\n".join(
            f"last lines of {child.log_path}:\n{tail(child.log_path)}"
            for child in self.children
            if child.name in self.app_names
        )
        raise StackError(
            f"{url} not ready after {self.options.timeout_seconds:.0f} s ({last})\n{logs}"
        )

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
        self.migrate()
        self.start_app()
        self.make_build_current()
        self.wait_ready()

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

    def stop_deployed_workers(self) -> None:
        """Workers a deploy started on this host for this stack's dev server (not our children):
        stopped with it, so that none is left polling a server that is gone."""
        if self.dev_server is None:
            return
        settings = get_settings()
        ours = {child.process.pid for child in self.children}

        async def others() -> list[Poller]:
            client = await Client.connect(
                self.temporal_address, namespace=settings.temporal_namespace
            )
            found = await pollers(client, settings.task_queue)
            return [p for p in found if p.local_pid is not None and p.local_pid not in ours]

        try:
            stop_local(asyncio.run(others()))
        except (RPCError, RuntimeError, OSError):
            pass  # the server is already gone: nothing polls it

    def down(self) -> None:
        """Stop the API and worker (and workers a deploy started), then Temporal, then the
        embedded Postgres."""
        self.env_file.unlink(missing_ok=True)
        self.stop_deployed_workers()
        apps = [child for child in self.children if child is not self.dev_server]
        stop_all(apps)
        if self.dev_server is not None:
            stop_all([self.dev_server])
        if self.embedded_pgdata is not None:
            stop_embedded_postgres(self.embedded_pgdata)

    def banner(self, seconds: float) -> str:
        """What a newcomer needs to know once the stack is up."""
        root = Path.cwd()
        logs = (
            self.logs_dir.relative_to(root) if self.logs_dir.is_relative_to(root) else self.logs_dir
        )
        python = Path(sys.executable)
        py = python.relative_to(root) if python.is_relative_to(root) else python
        ui = (
            f"http://127.0.0.1:{self.options.ui_port}"
            if self.dev_server is not None
            else f"(the server at {self.temporal_address} has its own)"
        )
        postgres = (
            "embedded, data in " + str(self.embedded_pgdata)
            if self.embedded_pgdata
            else "DATABASE_URL"
        )
        return "\n".join(
            [
                f"Parley is up (started in {seconds:.1f} s)",
                f"  API docs     {self.api_url}/docs",
                f"  Temporal UI  {ui}",
                f"  Temporal     {self.temporal_address}",
                f"  Postgres     {self.database_url}  ({postgres})",
                f"  Logs         {logs}/*.log",
                f"  Metrics      {self.api_url}/metrics (API)",
                *(f"               {url} ({name})" for name, url in self.worker_metrics.items()),
                f"  Build        {self.build_id} (current version of deployment "
                f"{get_settings().deployment_name!r})",
                *(
                    f"  NOTE         {count} workflow(s) pinned to build {build} wait for its "
                    f"workers: check out that build and run `{py} -m worker` with "
                    f"PARLEY_BUILD_ID={build} until `{py} -m deploy status` shows none"
                    for build, count in self.stranded.items()
                ),
                "Mint a development token for user alice and call the API:",
                f"  TOKEN=$({py} -m api.dev_token alice)",
                f'  curl -H "Authorization: Bearer $TOKEN" {self.api_url}/v1/match-requests',
                "Press Ctrl-C to stop.",
            ]
        )


def _numbered(name: str, n: int) -> str:
    """`worker`, `worker-2`, ...: the first of a kind keeps the plain name."""
    return name if n == 1 else f"{name}-{n}"
