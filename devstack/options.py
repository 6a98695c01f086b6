"""What the dev stack is told, and how it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from devstack.supervisor import RestartPolicy

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


def numbered(name: str, n: int) -> str:
    """`worker`, `worker-2`, ...: the first of a kind keeps the plain name."""
    return name if n == 1 else f"{name}-{n}"
