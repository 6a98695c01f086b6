"""Temporal Cloud actions counted from hand-built histories (`bench.actions`), no stack needed."""

from __future__ import annotations

from collections import Counter

from bench.actions import Event, count_actions, mean_by_kind, total

LA = "core_local_activity"


def events(*types: str) -> list[Event]:
    return [Event(kind) for kind in types]


def test_a_signal_with_start_that_creates_the_run_is_one_action() -> None:
    history = events(
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED",  # the start's own signal: no second action
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "TIMER_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",  # a later signal-with-start, or a plain signal
        "WORKFLOW_TASK_SCHEDULED",
    )
    assert count_actions(history) == Counter(signal_with_start=1, timer=1, signal=1)


def test_a_plain_start_then_a_signal_is_two_actions() -> None:
    history = events(
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_STARTED",
    )
    assert count_actions(history) == Counter(workflow_started=1, signal=1)


def test_local_activities_count_once_per_workflow_task_plus_their_retries() -> None:
    history = [
        Event("WORKFLOW_EXECUTION_STARTED"),
        Event("WORKFLOW_TASK_SCHEDULED"),
        Event("WORKFLOW_TASK_STARTED"),
        Event("WORKFLOW_TASK_COMPLETED"),
        Event("MARKER_RECORDED", marker_name=LA),
        Event("MARKER_RECORDED", marker_name=LA),  # same task: no second action
        Event("MARKER_RECORDED", marker_name="core_patch"),  # a patch, not billed
        Event("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"),
        Event("WORKFLOW_EXECUTION_UPDATE_ACCEPTED"),
        Event("WORKFLOW_TASK_SCHEDULED"),
        Event("WORKFLOW_TASK_STARTED"),
        Event("WORKFLOW_TASK_COMPLETED", local_activity_retries=2),
        Event("MARKER_RECORDED", marker_name=LA),  # a new task: one more
        Event("WORKFLOW_TASK_SCHEDULED"),
        Event("WORKFLOW_TASK_STARTED"),
        Event("WORKFLOW_TASK_COMPLETED"),  # no markers: nothing
        Event("WORKFLOW_EXECUTION_COMPLETED"),
    ]
    assert count_actions(history) == Counter(
        workflow_started=1, local_activity_tasks=1 + 2 + 1, search_attribute_upsert=1, update=1
    )


def test_activities_children_and_continue_as_new() -> None:
    history = [
        Event("WORKFLOW_EXECUTION_STARTED"),
        Event("WORKFLOW_TASK_COMPLETED"),
        Event("ACTIVITY_TASK_SCHEDULED"),
        Event("ACTIVITY_TASK_STARTED", attempt=3),  # two retries
        Event("ACTIVITY_TASK_COMPLETED"),
        Event("START_CHILD_WORKFLOW_EXECUTION_INITIATED"),
        Event("SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED"),  # billed to the receiver
        Event("WORKFLOW_EXECUTION_CONTINUED_AS_NEW"),  # the next run's start is the action
    ]
    counted = count_actions(history)
    assert counted == Counter(workflow_started=1, activity=3, child_workflow=2)
    assert total(counted) == 6


def test_mean_by_kind_sums_runs_and_divides_by_units_in_kind_order() -> None:
    runs = [Counter(timer=3, signal=1), Counter(timer=1, workflow_started=1)]
    assert list(mean_by_kind(runs, 2).items()) == [
        ("workflow_started", 0.5), ("signal", 0.5), ("timer", 2.0),
    ]  # fmt: skip
    assert mean_by_kind(runs, 0) == {}
