"""The shared contracts agree with what they name: the schema's check constraints and the
workflows' typed references (names, run types, signals)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum

import psycopg
import pytest
from temporalio.common import _type_hints_from_func
from temporalio.workflow import _Definition

from contracts.matchmaker import MatchmakerInput
from contracts.requests import PoolEntry
from contracts.statuses import CancelReason, RequestStatus, SessionStatus
from contracts.wire import DATA_CONVERTER
from contracts.workflow_refs import (
    REFERENCES,
    MatchmakerRef,
    MatchRequestRef,
    SessionRef,
    WebhookDeliveryRef,
)
from worker import WORKFLOWS
from workflows.match_request import MatchRequestWorkflow
from workflows.matchmaker import MatchmakerWorkflow
from workflows.session import SessionWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow

_QUOTED = re.compile(r"'([^']*)'")


def allowed_values(database_url: str, table: str, column: str) -> set[str]:
    """The values a `CHECK (column IN (...))` constraint of the live schema allows."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'c'",
            (table,),
        ).fetchall()
    for (definition,) in rows:
        if re.match(rf"CHECK \(\(?{column} ", definition):
            return set(_QUOTED.findall(definition.replace("::text", "")))
    raise AssertionError(f"no check constraint on {table}.{column}")


@pytest.mark.parametrize(
    ("enum", "table", "column"),
    [
        (RequestStatus, "match_requests", "status"),
        (SessionStatus, "sessions", "status"),
        (CancelReason, "sessions", "cancel_reason"),
    ],
)
def test_each_enum_holds_exactly_what_the_schema_allows(
    database_url: str, enum: type[StrEnum], table: str, column: str
) -> None:
    assert {member.value for member in enum} == allowed_values(database_url, table, column)


def _run_types(definition: _Definition) -> tuple[list[type], object]:
    params, result = _type_hints_from_func(definition.run_fn)
    return params or [], result


@pytest.mark.parametrize(
    ("reference", "workflow"),
    [
        (MatchRequestRef, MatchRequestWorkflow),
        (MatchmakerRef, MatchmakerWorkflow),
        (SessionRef, SessionWorkflow),
        (WebhookDeliveryRef, WebhookDeliveryWorkflow),
    ],
)
def test_each_workflow_reference_agrees_with_its_workflow(reference: type, workflow: type) -> None:
    ref = _Definition.must_from_class(reference)
    real = _Definition.must_from_class(workflow)
    assert ref.name == real.name == workflow.__name__
    assert _run_types(ref) == _run_types(real)
    assert ref.signals, f"{reference.__name__} declares no signal"
    for name, signal in ref.signals.items():
        assert name in real.signals, f"{workflow.__name__} has no signal {name!r}"
        assert signal.fn.__name__ == real.signals[name].fn.__name__
        assert signal.arg_types == real.signals[name].arg_types
    assert not ref.queries and not ref.updates


def test_the_worker_registers_the_workflows_and_no_reference() -> None:
    assert not set(REFERENCES) & set(WORKFLOWS)
    assert {w.__name__ for w in WORKFLOWS} == {
        _Definition.must_from_class(ref).name for ref in REFERENCES
    }


def test_a_matchmaker_input_and_a_pool_entry_written_by_release_0_2_0_still_read() -> None:
    # A 0.2.0 matchmaker hands over (continue-as-new) to this code with its one-slot input, and
    # its request workflows may still signal pool entries without a window.
    converter = DATA_CONVERTER.payload_converter
    old_input = {
        "slot_start": "2026-12-01T15:10:00+00:00",
        "duration_minutes": 60,
        "language_one_id": "english",
        "language_two_id": "spanish",
        "runs": 3,
    }
    (payload,) = converter.to_payloads([old_input])
    (read,) = converter.from_payloads([payload], [MatchmakerInput])
    assert read.day == datetime(2026, 12, 1, tzinfo=UTC) and read.slot_start is None
    old_entry = {
        "request_id": "r",
        "user_id": "u",
        "native_language_id": "english",
        "learning_language_id": "spanish",
        "proficiency_level": "beginner",
        "priority": 0,
        "waiting_since": "2026-12-01T12:00:00+00:00",
    }
    (payload,) = converter.to_payloads([old_entry])
    (entry,) = converter.from_payloads([payload], [PoolEntry])
    assert not entry.placed
