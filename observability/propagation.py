"""Carries an API call's request id and user, in a Temporal header, to the workflows and the
activities it sets off, so that the worker's log lines about that call name them too.

One interceptor serves the client (starts, signals, updates get the header) and the worker
(workflows read it and pass it on to their activities; activities read it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Interceptor as ClientInterceptor,
)
from temporalio.client import (
    OutboundInterceptor as ClientOutbound,
)
from temporalio.client import (
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)
from temporalio.converter import PayloadConverter
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.worker import (
    Interceptor as WorkerInterceptor,
)

with workflow.unsafe.imports_passed_through():
    from observability.context import WORKFLOW_ID, CallContext

HEADER = "parley-call"


class _WithHeaders(Protocol):
    headers: Mapping[str, Payload]


def _put(input: _WithHeaders, context: CallContext) -> None:
    fields = context.as_header()
    if fields:
        headers = dict(input.headers)
        headers[HEADER] = PayloadConverter.default.to_payload(fields)
        input.headers = headers


def _read(headers: Mapping[str, Payload]) -> CallContext:
    payload = headers.get(HEADER)
    if payload is None:
        return CallContext()
    return CallContext.of(PayloadConverter.default.from_payload(payload, dict))


class CallContextInterceptor(ClientInterceptor, WorkerInterceptor):
    """Put the call's context on what the client sends; read it back in the worker."""

    def intercept_client(self, next: ClientOutbound) -> ClientOutbound:
        """Wrap the client's outbound calls."""
        return _ClientOutbound(next)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Wrap each activity's execution."""
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        """Wrap each workflow."""
        return _WorkflowInbound


class _ClientOutbound(ClientOutbound):
    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        _put(input, CallContext.current())
        return await super().start_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        _put(input, CallContext.current())
        await super().signal_workflow(input)

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        _put(input, CallContext.current())
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        context = CallContext.current()
        _put(input.start_workflow_input, context)
        _put(input.update_workflow_input, context)
        return await super().start_update_with_start_workflow(input)


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        _read(input.headers).enter()
        WORKFLOW_ID.set(activity.info().workflow_id)
        return await super().execute_activity(input)


# A workflow many users' calls reach (a shard's matchmaker) speaks for none of them.
SHARED_WORKFLOWS = frozenset({"MatchmakerWorkflow"})


def _enter(headers: Mapping[str, Payload]) -> None:
    if workflow.info().workflow_type not in SHARED_WORKFLOWS:
        _read(headers).enter()


class _WorkflowInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_WorkflowOutbound(outbound))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        _enter(input.headers)
        return await super().execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        _enter(input.headers)
        await super().handle_signal(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        _enter(input.headers)
        return await super().handle_update_handler(input)


class _WorkflowOutbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        _put(input, CallContext.current())
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        _put(input, CallContext.current())
        return super().start_local_activity(input)
