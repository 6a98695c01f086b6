"""The Parley worker: runs every workflow and activity on one task queue (`python -m worker`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.booking import BookingActivities
from activities.pairing import PairingActivities
from activities.requests import RequestActivities
from activities.sessions import SessionActivities
from activities.workflow_starts import WorkflowStartActivities
from db.engine import make_engine, make_sessionmaker
from settings import get_settings
from workflows.match_request import MatchRequestWorkflow
from workflows.matchmaker import MatchmakerWorkflow
from workflows.session import SessionWorkflow

WORKFLOWS = [MatchRequestWorkflow, MatchmakerWorkflow, SessionWorkflow]


def build_worker(
    client: Client,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_queue: str,
    **options: Any,
) -> Worker:
    """A worker with every Parley workflow and activity, bound to one database."""
    requests = RequestActivities(sessionmaker)
    sessions = SessionActivities(sessionmaker)
    starts = WorkflowStartActivities(client)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            requests.create_match_request,
            BookingActivities(requests, starts).book_request,
            requests.cancel_match_request,
            requests.expire_match_request,
            requests.reschedule_match_request,
            requests.load_waiting_requests,
            sessions.record_join,
            sessions.activate_session,
            sessions.complete_session,
            sessions.cancel_session,
            PairingActivities(sessions, starts).persist_pairs,
            starts.start_match_request,
        ],
        **options,
    )


async def main() -> None:
    """Connect to Temporal and Postgres and work until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    client = await Client.connect(settings.temporal_target, namespace=settings.temporal_namespace)
    engine = make_engine(settings.sqlalchemy_url)
    worker = build_worker(client, make_sessionmaker(engine), settings.task_queue)
    logging.getLogger("parley.worker").info(
        "worker polling task queue %r on %s", settings.task_queue, settings.temporal_target
    )
    try:
        await worker.run()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
