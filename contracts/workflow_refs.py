"""Typed references to the workflows, for code that may not import `workflows`.

`activities` starts and signals workflows but may not import `workflows` (whose modules import
activities for their local activity calls). Each class here declares a workflow's registered
name, its run method's input and result types, and the signals others send it, with no body:
`client.start_workflow(MatchRequestRef.run, ...)`, `handle.signal(MatchRequestRef.matched, ...)`.

The worker never registers these classes (it registers `workflows.*`), and
`tests/test_contracts.py` checks that each reference agrees with its workflow: name, run types,
signal names and types.
"""

from collections.abc import Callable
from typing import Any

from temporalio import workflow

from contracts import naming
from contracts.matchmaker import AddRequestsSignal, MatchmakerInput, MatchmakerResult
from contracts.requests import MatchedSignal, MatchRequestInput, MatchRequestResult
from contracts.sessions import RearrangedSignal, SessionInput, SessionResult
from contracts.webhooks import (
    WAKE,
    WEBHOOK_DELIVERY_WORKFLOW,
    WebhookDeliveryInput,
    WebhookDeliveryResult,
)

_REFERENCE_ONLY = "a reference: the worker runs the workflow of this name, in workflows/"


def signal_name(signal: Callable[..., Any]) -> str:
    """The name a reference's `@workflow.signal` method is sent by (for a signal-with-start,
    which takes a name)."""
    return workflow._SignalDefinition.must_name_from_fn_or_str(signal)


@workflow.defn(name=naming.MATCH_REQUEST_WORKFLOW)
class MatchRequestRef:
    """`workflows.match_request.MatchRequestWorkflow`."""

    @workflow.run
    async def run(self, input: MatchRequestInput) -> MatchRequestResult:
        raise NotImplementedError(_REFERENCE_ONLY)

    @workflow.signal(name=naming.MATCHED)
    def matched(self, signal: MatchedSignal) -> None:
        raise NotImplementedError(_REFERENCE_ONLY)


@workflow.defn(name=naming.MATCHMAKER_WORKFLOW)
class MatchmakerRef:
    """`workflows.matchmaker.MatchmakerWorkflow`."""

    @workflow.run
    async def run(self, input: MatchmakerInput) -> MatchmakerResult:
        raise NotImplementedError(_REFERENCE_ONLY)

    @workflow.signal(name=naming.ADD_REQUESTS)
    def add_requests(self, signal: AddRequestsSignal) -> None:
        raise NotImplementedError(_REFERENCE_ONLY)


@workflow.defn(name=naming.SESSION_WORKFLOW)
class SessionRef:
    """`workflows.session.SessionWorkflow`."""

    @workflow.run
    async def run(self, input: SessionInput) -> SessionResult:
        raise NotImplementedError(_REFERENCE_ONLY)

    @workflow.signal(name=naming.REARRANGED)
    def rearranged(self, signal: RearrangedSignal) -> None:
        raise NotImplementedError(_REFERENCE_ONLY)


@workflow.defn(name=WEBHOOK_DELIVERY_WORKFLOW)
class WebhookDeliveryRef:
    """`workflows.webhook_delivery.WebhookDeliveryWorkflow`."""

    @workflow.run
    async def run(self, input: WebhookDeliveryInput) -> WebhookDeliveryResult:
        raise NotImplementedError(_REFERENCE_ONLY)

    @workflow.signal(name=WAKE)
    def wake(self) -> None:
        raise NotImplementedError(_REFERENCE_ONLY)


REFERENCES = (MatchRequestRef, MatchmakerRef, SessionRef, WebhookDeliveryRef)
