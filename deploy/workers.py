"""The worker processes of a build on this host: starting them, finding them, stopping them.

Temporal knows every worker that polls Parley's task queue, with its build (its deployment
version) and its identity, which the SDK sets to `<pid>@<host>`; a worker of this host can be
told to stop (SIGTERM: it finishes the tasks in hand and exits 0) without any pid file.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Poller:
    """A worker the server has seen poll the task queue lately."""

    identity: str
    build_id: str

    @property
    def local_pid(self) -> int | None:
        """Its process id, if it runs on this host."""
        pid, _, host = self.identity.partition("@")
        if host == socket.gethostname() and pid.isdigit():
            return int(pid)
        return None


async def pollers(client: Client, task_queue: str) -> list[Poller]:
    """The workers polling the task queue for workflow tasks, with their builds."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return [
        Poller(poller.identity, poller.deployment_options.build_id) for poller in described.pollers
    ]


def start_workers(build_id: str, count: int, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    """Start `count` `python -m worker` processes of this build, detached, logging to files."""
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PARLEY_BUILD_ID": build_id, "PYTHONUNBUFFERED": "1"}
    started = []
    for n in range(1, count + 1):
        log = log_dir / f"worker-{_file_safe(build_id)}-{n}.log"
        # Beside the old build's workers on this host: each needs a Prometheus port of its own.
        metrics = {"PARLEY_WORKER_METRICS_ADDRESS": f"127.0.0.1:{_free_port()}"}
        with log.open("ab") as out:
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "worker"],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env={**env, **metrics},
                    cwd=REPO,
                    start_new_session=True,  # outlives this command, as a deployed worker does
                )
            )
    return started


def stop_local(found: list[Poller]) -> list[int]:
    """SIGTERM the ones running on this host; their pids."""
    stopped = []
    for poller in found:
        pid = poller.local_pid
        if pid is None or not _is_a_worker(pid, poller.build_id):
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        stopped.append(pid)
    return stopped


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _is_a_worker(pid: int, build_id: str) -> bool:
    # The server remembers pollers for minutes: a dead worker's pid may be someone else's now.
    # So: a `python -m worker` process (how Parley's workers are started) of exactly this build.
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return command[1:3] == [b"-m", b"worker"] and f"PARLEY_BUILD_ID={build_id}".encode() in environ


def _file_safe(build_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in build_id)
