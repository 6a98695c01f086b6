"""What `python -m devstack up` prints once everything is up."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from settings import get_settings

if TYPE_CHECKING:
    from devstack.stack import Stack


def banner(stack: Stack, seconds: float) -> str:
    """What a newcomer needs to know once the stack is up."""
    root = Path.cwd()
    logs = (
        stack.logs_dir.relative_to(root) if stack.logs_dir.is_relative_to(root) else stack.logs_dir
    )
    python = Path(sys.executable)
    py = python.relative_to(root) if python.is_relative_to(root) else python
    ui = (
        f"http://127.0.0.1:{stack.options.ui_port}"
        if stack.dev_server is not None
        else f"(the server at {stack.temporal_address} has its own)"
    )
    postgres = (
        "embedded, data in " + str(stack.embedded_pgdata)
        if stack.embedded_pgdata
        else "DATABASE_URL"
    )
    return "\n".join(
        [
            f"Parley is up (started in {seconds:.1f} s)",
            f"  Web page     {stack.api_url}/  (no PARLEY_JWT_SECRET: sign in as any user id)",
            f"  API docs     {stack.api_url}/docs",
            f"  Temporal UI  {ui}",
            f"  Temporal     {stack.temporal_address}",
            f"  Postgres     {stack.database_url}  ({postgres})",
            f"  Logs         {logs}/*.log",
            f"  Metrics      {stack.api_url}/metrics (API)",
            *(f"               {url} ({name})" for name, url in stack.worker_metrics.items()),
            f"  Build        {stack.build_id} (current version of deployment "
            f"{get_settings().deployment_name!r})",
            *(
                f"  NOTE         {count} workflow(s) pinned to build {build} wait for its "
                f"workers: check out that build and run `{py} -m worker` with "
                f"PARLEY_BUILD_ID={build} until `{py} -m deploy status` shows none"
                for build, count in stack.stranded.items()
            ),
            "Mint a development token for user alice and call the API:",
            f"  TOKEN=$({py} -m api.dev_token alice)",
            f'  curl -H "Authorization: Bearer $TOKEN" {stack.api_url}/v1/match-requests',
            "Press Ctrl-C to stop.",
        ]
    )
