"""The stack's build and Temporal's Worker Versioning: make it current, stop deployed workers."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from temporalio.client import Client
from temporalio.service import RPCError

from contracts.wire import DATA_CONVERTER
from deploy.versions import make_current_when_polling, running_pinned
from deploy.workers import Poller, pollers, stop_local
from devstack.options import StackError
from devstack.processes import tail
from settings import get_settings

if TYPE_CHECKING:
    from devstack.stack import Stack


def make_build_current(stack: Stack) -> None:
    """Make this stack's build the deployment's current version once its workers poll (a
    laptop's restart is its deploy); note builds still holding pinned workflows."""
    settings = get_settings()

    async def switch() -> None:
        client = await Client.connect(
            stack.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=DATA_CONVERTER,
        )
        before = await make_current_when_polling(
            client, settings.deployment_name, stack.build_id, stack.options.timeout_seconds
        )
        if before and before != stack.build_id:
            left = await running_pinned(client, settings.deployment_name, before)
            if left:
                stack.stranded[before] = left

    try:
        asyncio.run(switch())
    except (TimeoutError, RPCError) as error:
        logs = "\n".join(
            f"last lines of {c.log_path}:\n{tail(c.log_path)}"
            for c in stack.children
            if c.name.startswith("worker")
        )
        message = f"could not make build {stack.build_id} current: {error}\n{logs}"
        raise StackError(message) from None


def stop_deployed_workers(stack: Stack) -> None:
    """Workers a deploy started on this host for this stack's dev server (not our children):
    stopped with it, so that none is left polling a server that is gone."""
    if stack.dev_server is None:
        return
    settings = get_settings()
    ours = {child.process.pid for child in stack.children}

    async def others() -> list[Poller]:
        client = await Client.connect(
            stack.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=DATA_CONVERTER,
        )
        found = await pollers(client, settings.task_queue)
        return [p for p in found if p.local_pid is not None and p.local_pid not in ours]

    try:
        stop_local(asyncio.run(others()))
    except (RPCError, RuntimeError, OSError):
        pass  # the server is already gone: nothing polls it
