"""Waking the webhook deliveries when events commit: each worker LISTENs on the channel the
event triggers notify (migration 0007) and signals `wake` to every endpoint's delivery workflow,
once per burst. An idle endpoint then needs no quick polling: its timer is only a safety net for
a notification lost while the connection was down."""

from __future__ import annotations

import asyncio
import logging

import psycopg
from temporalio.client import Client
from temporalio.service import RPCError

from contracts.webhooks import webhook_workflow_id
from contracts.workflow_refs import WebhookDeliveryRef

CHANNEL = "parley_events"
# Events committing within this of the first one share one wake (one signal per endpoint).
BURST_SECONDS = 0.5
RECONNECT_SECONDS = 5.0
log = logging.getLogger("parley.webhooks")


async def wake_deliveries(client: Client, endpoints: list[str]) -> None:
    """Signal `wake` to each endpoint's workflow; one not running is skipped."""
    for endpoint in endpoints:
        handle = client.get_workflow_handle(webhook_workflow_id(endpoint))
        try:
            await handle.signal(WebhookDeliveryRef.wake)
        except RPCError as error:
            log.info("could not wake the deliveries to %s: %s", endpoint, error.message)


async def wake_on_events(dsn: str, client: Client, endpoints: list[str]) -> None:
    """Until cancelled: wake the deliveries after each burst of committed events."""
    if not endpoints:
        return
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                # Whatever committed while nobody listened is noticed now.
                await wake_deliveries(client, endpoints)
                while True:
                    async for _ in conn.notifies():
                        break
                    await asyncio.sleep(BURST_SECONDS)
                    async for _ in conn.notifies(timeout=0.01):
                        pass  # the rest of the burst
                    await wake_deliveries(client, endpoints)
        except (psycopg.Error, OSError) as error:
            log.warning("webhook wake-ups paused (%s); listening again shortly", error)
            await asyncio.sleep(RECONNECT_SECONDS)
