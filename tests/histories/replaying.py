"""Replay a corpus history against the current code and, if it fails, say where: the workflow,
its id and the event the failure is about."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from contracts.wire import DATA_CONVERTER
from tests.histories.corpus import CorpusFile, RunFacts
from worker import WORKFLOWS

_EVENT_ID = re.compile(r"HistoryEvent\(id: (\d+)")
_LOCAL_ACTIVITY = re.compile(r"LocalActivity\((\d+)\)")
# Core wraps its reason in a Rust debug dump: `... Failure { message: "<reason>", ...`, with
# each cause's message in a nested Failure.
_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')


@cache
def replayer() -> Replayer:
    """A replayer with the worker's workflows, in the sandbox the tests run them in, and the data
    converter the worker's client has."""
    return Replayer(
        workflows=WORKFLOWS,
        workflow_runner=SandboxedWorkflowRunner(),
        data_converter=DATA_CONVERTER,
    )


async def replay_failure(recorded: CorpusFile) -> str | None:
    """None if the current code replays the history; else what failed, on which event."""
    failure = await _replay(recorded.history)
    if failure is None:
        return None
    reason = _reason(failure)
    return (
        f"{recorded.workflow_type} {recorded.workflow_id} does not replay: "
        f"{await _where(recorded, reason)}: {reason}"
    )


async def _replay(history: WorkflowHistory) -> Exception | None:
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    return result.replay_failure


def _reason(failure: Exception) -> str:
    """Core's reason and its causes, e.g. `Failed decoding arguments: <why>` for a local
    activity whose recorded result no longer fits the call made in its place."""
    found = _CORE_MESSAGE.findall(str(failure))
    return ": ".join(found) if found else f"{type(failure).__name__}: {failure}"


async def _where(recorded: CorpusFile, reason: str) -> str:
    """The event a replay failure is about: the one core names; else, for `LocalActivity(k)`,
    the k-th local activity's marker; else the last event before the workflow task that no
    longer replays."""
    events = recorded.events
    if found := _EVENT_ID.search(reason):
        return describe(events, int(found.group(1)))
    if found := _LOCAL_ACTIVITY.search(reason):
        seq = int(found.group(1))
        for marker in RunFacts.of(events).local_activities:
            if marker.seq == seq:
                return describe(events, marker.event_id)
    task = await _first_failing_task(recorded.history)
    if task is None:
        return "no workflow task fails when replayed alone"
    where = f"the workflow task after {describe(events, task - 1)}"
    command = _first_command(events, task)
    return where + (f", whose first recorded command is {command}" if command else "")


async def _first_failing_task(history: WorkflowHistory) -> int | None:
    """The event id of the WORKFLOW_TASK_SCHEDULED event of the first workflow task whose
    commands the current code no longer issues.

    Replaying the history cut at a workflow task's start checks every earlier task's commands
    against their events and runs that task as new, unchecked: the first cut that fails is
    just after the task at fault.
    """
    scheduled: int | None = None  # the task whose commands the next cut checks last
    latest: int | None = None
    for index, event in enumerate(history.events):
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            latest = event.event_id
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            cut = WorkflowHistory(history.workflow_id, history.events[: index + 1])
            if await _replay(cut) is not None:
                return scheduled
            scheduled = latest
    return scheduled if await _replay(history) is not None else None


def _first_command(events: list[dict[str, Any]], task: int) -> str | None:
    """The first event a workflow task's commands made (a marker, timer, upsert, ...): the
    first after its completion that names a completed workflow task, before the next task."""
    completed = [
        i
        for i, e in enumerate(events)
        if e.get("workflowTaskCompletedEventAttributes", {}).get("scheduledEventId") == str(task)
    ]
    for event in events[completed[0] + 1 :] if completed else []:
        if event["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED":
            break
        if "workflowTaskCompletedEventId" in _attributes(event):
            return describe(events, int(event["eventId"]))
    return None


def describe(events: list[dict[str, Any]], event_id: int) -> str:
    """`event N (TYPE ...)`, with what identifies it: a local activity's or activity's type, a
    timer's id, a signal's or update's name."""
    event = next((e for e in events if int(e["eventId"]) == event_id), None)
    if event is None:
        return f"event {event_id} (beyond the recorded history)"
    kind = event["eventType"].removeprefix("EVENT_TYPE_")
    detail = ""
    if kind == "MARKER_RECORDED":
        markers = [m for m in RunFacts.of(events).local_activities if m.event_id == event_id]
        name = event["markerRecordedEventAttributes"]["markerName"]
        detail = "".join(f" local activity #{m.seq} {m.activity_type}" for m in markers) or (
            f" {name}"
        )
    elif kind in ("TIMER_STARTED", "TIMER_FIRED"):
        detail = f" timer {_attributes(event).get('timerId')}"
    elif kind == "WORKFLOW_EXECUTION_SIGNALED":
        detail = f" {event['workflowExecutionSignaledEventAttributes']['signalName']}"
    elif kind == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
        accepted = event["workflowExecutionUpdateAcceptedEventAttributes"]["acceptedRequest"]
        detail = f" {accepted['input']['name']}"
    elif kind == "ACTIVITY_TASK_SCHEDULED":
        detail = f" {event['activityTaskScheduledEventAttributes']['activityType']['name']}"
    return f"event {event_id} ({kind}{detail})"


def _attributes(event: dict[str, Any]) -> dict[str, Any]:
    """An event's `...EventAttributes` object."""
    return next((v for k, v in event.items() if k.endswith("Attributes")), {})
