"""Starting an endpoint's delivery workflow, which the worker does for each configured endpoint
at start-up: idempotent, so every worker may ask and the one running workflow goes on."""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from contracts import naming
from contracts.webhooks import WEBHOOKS_KIND, WebhookDeliveryInput, WebhookDeliveryResult
from contracts.webhooks import webhook_workflow_id as workflow_id
from contracts.workflow_refs import WebhookDeliveryRef


async def start_webhook_delivery(
    client: Client, task_queue: str, input: WebhookDeliveryInput
) -> WorkflowHandle[WebhookDeliveryRef, WebhookDeliveryResult]:
    """Start `webhooks-<name>`, or find it running (then `input` is ignored: it has a cursor)."""
    return await client.start_workflow(
        WebhookDeliveryRef.run,
        input,
        id=workflow_id(input.endpoint),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=naming.initial(WEBHOOKS_KIND, [], None, "delivering"),
        static_summary=f"Webhooks to {input.endpoint}",
    )


async def start_webhook_deliveries(
    client: Client, task_queue: str, endpoints: list[str]
) -> list[str]:
    """Start (or find) the delivery workflow of each endpoint; their workflow ids."""
    for endpoint in endpoints:
        await start_webhook_delivery(client, task_queue, WebhookDeliveryInput(endpoint))
    return [workflow_id(endpoint) for endpoint in endpoints]
