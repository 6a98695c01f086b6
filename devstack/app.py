"""The stack's own processes: migrations, then the worker(s) and API(s), until the API is ready."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

from devstack.options import REPO_ROOT, StackError, numbered
from devstack.processes import free_port, port_in_use, spawn, tail

if TYPE_CHECKING:
    from devstack.stack import Stack


def migrate(stack: Stack) -> None:
    """Run `python -m db.migrate` to completion."""
    log_path = stack.logs_dir / "migrate.log"
    with log_path.open("wb") as log:
        result = subprocess.run(
            [sys.executable, "-m", "db.migrate"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=stack.child_env(),
            cwd=REPO_ROOT,
            timeout=300,
            check=False,
        )
    if result.returncode != 0:
        raise StackError(
            f"migrations failed (exit code {result.returncode}); last lines of {log_path}:\n"
            f"{tail(log_path)}"
        )


def start_app(stack: Stack) -> None:
    """Start the worker(s) and the API process(es)."""
    for port in stack.options.api_ports:
        if port_in_use(stack.options.api_host, port):
            raise StackError(
                f"port {port} on {stack.options.api_host} is taken: "
                "stop what uses it or pass --api-port"
            )
    env = stack.child_env()
    for n in range(1, stack.options.workers + 1):
        name = numbered("worker", n)
        worker = [sys.executable, "-m", "worker"]
        log = stack.logs_dir / f"{name}.log"
        chosen = stack.options.worker_metrics_port if n == 1 else None
        address = f"127.0.0.1:{chosen or free_port()}"
        stack.worker_metrics[name] = f"http://{address}/metrics"
        worker_env = {**env, "PARLEY_WORKER_METRICS_ADDRESS": address}
        stack.children.append(spawn(name, worker, log, env=worker_env, cwd=REPO_ROOT))
    for n, port in enumerate(stack.options.api_ports, start=1):
        name = numbered("api", n)
        api = [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            stack.options.api_host,
            "--port",
            str(port),
            "--no-access-log",  # Parley writes its own, with the call's ids
            # Event streams never end by themselves; cut them on shutdown (clients resume
            # after Last-Event-ID, losing nothing) instead of waiting for them forever.
            "--timeout-graceful-shutdown",
            "5",
        ]
        log = stack.logs_dir / f"{name}.log"
        stack.children.append(spawn(name, api, log, env=env, cwd=REPO_ROOT))


def wait_ready(stack: Stack) -> None:
    """Poll every API's GET /readyz until it answers 200; fail fast if a child dies."""
    deadline = time.monotonic() + stack.options.timeout_seconds
    for api_url in stack.api_urls:
        _wait_ready(stack, api_url + "/readyz", deadline)


def _wait_ready(stack: Stack, url: str, deadline: float) -> None:
    last = "no answer yet"
    while time.monotonic() < deadline:
        stack.check_children()
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
        for child in stack.children
        if child.name in stack.app_names
    )
    raise StackError(
        f"{url} not ready after {stack.options.timeout_seconds:.0f} s ({last})\n{logs}"
    )
