"""Temporal Cloud actions, counted from event histories by Temporal Cloud's billing rules.

The rules are those of "Temporal Cloud Actions", https://docs.temporal.io/evaluate/cloud/actions
(source: temporalio/documentation, docs/evaluate/cloud/actions.mdx, read 2026-12-01), which maps
each billable action to the history event that records it:

- workflow started: `WORKFLOW_EXECUTION_STARTED`, by a client, a continue-as-new (the new run's
  start counts, not the old run's `WORKFLOW_EXECUTION_CONTINUED_AS_NEW`) or a child start;
- signal: `WORKFLOW_EXECUTION_SIGNALED`, one each. "One total action occurs for any
  Signal-With-Start, regardless of whether the Workflow starts": a signal-with-start that
  created the run (its history opens with STARTED then SIGNALED) is one action, not two, and
  one that found the run going is the one SIGNALED event;
- update accepted: `WORKFLOW_EXECUTION_UPDATE_ACCEPTED` (rejections are billed too, but are
  never written to history);
- timer started: `TIMER_STARTED`, including the implicit timers of waits with a timeout;
- search-attribute upsert: `UPSERT_WORKFLOW_SEARCH_ATTRIBUTES`, one per command;
- local activities: all the local-activity markers (`MARKER_RECORDED`) of one workflow task
  count as one action, plus one per local-activity retry the task's completion reports
  (`metering_metadata.nonfirst_local_activity_execution_attempts`);
- activity: `ACTIVITY_TASK_SCHEDULED`, plus one per retry (`ACTIVITY_TASK_STARTED.attempt` - 1);
- child workflow: `START_CHILD_WORKFLOW_EXECUTION_INITIATED`, two actions (the intent and the
  attempted start);
- workflow options updated: `WORKFLOW_EXECUTION_OPTIONS_UPDATED`.

A signal sent from a workflow (`SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED`) is billed in the
receiver's history, so it counts nothing here. Queries and activity heartbeats are billed but
leave no event, so an estimate from histories leaves them out, as Temporal's own does.

Pure: it reads a list of `Event`s, which the benchmark builds from Temporal's history protos.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# The kinds of action, in the order the report lists them.
STARTED = "workflow_started"
SIGNAL_WITH_START = "signal_with_start"
SIGNAL = "signal"
UPDATE = "update"
TIMER = "timer"
UPSERT = "search_attribute_upsert"
LOCAL_ACTIVITIES = "local_activity_tasks"
ACTIVITY = "activity"
CHILD_WORKFLOW = "child_workflow"
OPTIONS_UPDATED = "workflow_options_updated"
KINDS = (
    STARTED,
    SIGNAL_WITH_START,
    SIGNAL,
    UPDATE,
    TIMER,
    UPSERT,
    LOCAL_ACTIVITIES,
    ACTIVITY,
    CHILD_WORKFLOW,
    OPTIONS_UPDATED,
)

# The marker the SDKs' core records for a local activity (a patch records "core_patch").
LOCAL_ACTIVITY_MARKER = "core_local_activity"

# Events that are one action each, whatever else they carry.
_ONE_EACH = {
    "WORKFLOW_EXECUTION_UPDATE_ACCEPTED": UPDATE,
    "TIMER_STARTED": TIMER,
    "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": UPSERT,
    "ACTIVITY_TASK_SCHEDULED": ACTIVITY,
    "WORKFLOW_EXECUTION_OPTIONS_UPDATED": OPTIONS_UPDATED,
}
CHILD_WORKFLOW_ACTIONS = 2


@dataclass(frozen=True)
class Event:
    """What billing needs of one history event."""

    type: str  # e.g. "TIMER_STARTED"; an "EVENT_TYPE_" prefix is ignored
    marker_name: str = ""  # MARKER_RECORDED
    attempt: int = 1  # ACTIVITY_TASK_STARTED
    local_activity_retries: int = 0  # WORKFLOW_TASK_COMPLETED's metering metadata

    @property
    def kind(self) -> str:
        """The event type without its prefix."""
        return self.type.removeprefix("EVENT_TYPE_")


def count_actions(events: Sequence[Event]) -> Counter[str]:
    """The billable actions of one run's history, by kind (see the module's rules)."""
    actions: Counter[str] = Counter()
    task = -1  # index of the last WORKFLOW_TASK_COMPLETED
    billed_task = -2  # the last task whose local activities were counted
    for index, event in enumerate(events):
        kind = event.kind
        if kind == "WORKFLOW_EXECUTION_STARTED":
            created_by_signal = index + 1 < len(events) and (
                events[index + 1].kind == "WORKFLOW_EXECUTION_SIGNALED"
            )
            actions[SIGNAL_WITH_START if created_by_signal else STARTED] += 1
        elif kind == "WORKFLOW_EXECUTION_SIGNALED":
            if not (index > 0 and events[index - 1].kind == "WORKFLOW_EXECUTION_STARTED"):
                actions[SIGNAL] += 1
        elif kind in _ONE_EACH:
            actions[_ONE_EACH[kind]] += 1
        elif kind == "ACTIVITY_TASK_STARTED":
            actions[ACTIVITY] += max(0, event.attempt - 1)
        elif kind == "START_CHILD_WORKFLOW_EXECUTION_INITIATED":
            actions[CHILD_WORKFLOW] += CHILD_WORKFLOW_ACTIONS
        elif kind == "WORKFLOW_TASK_COMPLETED":
            task = index
            actions[LOCAL_ACTIVITIES] += event.local_activity_retries
        elif event.marker_name == LOCAL_ACTIVITY_MARKER and billed_task != task:
            billed_task = task  # the task's first local-activity marker
            actions[LOCAL_ACTIVITIES] += 1
    return +actions


def total(actions: Counter[str]) -> int:
    """All the actions of a count."""
    return sum(actions.values())


def mean_by_kind(counts: Iterable[Mapping[str, float]], units: int) -> dict[str, float]:
    """The kinds summed over `counts`, per unit, in `KINDS` order, zeros left out."""
    summed = dict.fromkeys(KINDS, 0.0)
    for count in counts:
        for kind, value in count.items():
            summed[kind] += value
    return {kind: round(summed[kind] / units, 2) for kind in KINDS if summed[kind] and units}
