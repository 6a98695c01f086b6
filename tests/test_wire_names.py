"""Payloads use the seed's field names, and release 0.3.0's names still read and are still
written beside them, so builds on either side of the rename understand each other."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.converter import DataConverter

from contracts.matchmaker import AddRequestsSignal, EnqueueRequestsInput, SeatedEntry
from contracts.policy import Policy
from contracts.requests import PoolEntry, RequestSpec, RescheduleRequestInput
from contracts.wire import DATA_CONVERTER
from tests.conftest import REPO

THREE_PM = datetime(2026, 12, 1, 15, tzinfo=UTC)
NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)
SPEC = RequestSpec(
    "request-1", "user-1", "english", "spanish", "intermediate", THREE_PM, 30, priority=1
)


@dataclass
class RequestSpecOf030:
    """RequestSpec as release 0.3.0 declared it."""

    request_id: str
    user_id: str
    native_language_id: str
    learning_language_id: str
    proficiency_level: str
    slot_start: datetime
    duration_minutes: int
    priority: int = 0
    availability_end: datetime | None = None


def as_json(value: object) -> dict:
    """The JSON object Parley's converter writes for `value`."""
    (payload,) = DATA_CONVERTER.payload_converter.to_payloads([value])
    return json.loads(payload.data)


def read(data: dict, hint: type) -> object:
    """`data`, written by any release, read as `hint` by Parley's converter."""
    (payload,) = DataConverter.default.payload_converter.to_payloads([data])
    return DATA_CONVERTER.payload_converter.from_payloads([payload], [hint])[0]


def test_a_request_travels_under_the_seeds_column_names() -> None:
    written = as_json(SPEC)
    assert written["availability_start"] == THREE_PM.isoformat()
    assert written["preferred_duration_minutes"] == 30


def test_a_request_written_by_release_0_3_0_reads_under_the_new_names() -> None:
    old = {
        "request_id": "request-1",
        "user_id": "user-1",
        "native_language_id": "english",
        "learning_language_id": "spanish",
        "proficiency_level": "intermediate",
        "slot_start": THREE_PM.isoformat(),
        "duration_minutes": 30,
        "priority": 1,
    }
    assert read(old, RequestSpec) == SPEC


def test_a_release_0_3_0_worker_reads_what_this_release_writes() -> None:
    (payload,) = DATA_CONVERTER.payload_converter.to_payloads([SPEC])
    (old,) = DataConverter.default.payload_converter.from_payloads([payload], [RequestSpecOf030])
    assert old.slot_start == THREE_PM and old.duration_minutes == 30 and old.priority == 1


def test_a_pool_entry_inside_a_signal_carries_both_names_and_reads_back_whole() -> None:
    entry = PoolEntry.of(SPEC, created_at=NOON)
    enqueue = EnqueueRequestsInput(
        day=NOON, duration_minutes=30, policy=Policy(), signal=AddRequestsSignal([entry, entry])
    )
    written = as_json(enqueue)["signal"]["entries"][1]
    assert written["created_at"] == written["waiting_since"] == NOON.isoformat()
    assert written["preferred_duration_minutes"] == written["duration_minutes"] == 30
    assert read(as_json(enqueue), EnqueueRequestsInput) == enqueue


def test_a_pool_entry_of_release_0_3_0_inside_a_seat_reads() -> None:
    old_entry = {
        key: value
        for key, value in as_json(PoolEntry.of(SPEC, created_at=NOON)).items()
        if key not in ("created_at", "preferred_duration_minutes")
    }
    seat = {
        "session_id": "s",
        "first": old_entry,
        "second": old_entry,
        "slot_start": THREE_PM.isoformat(),
    }
    read_seat = read(seat, SeatedEntry)
    assert isinstance(read_seat, SeatedEntry) and read_seat.scheduled_start == THREE_PM
    assert read_seat.first.created_at == NOON and read_seat.first.preferred_duration_minutes == 30


def test_a_reschedule_sent_by_a_0_3_0_api_reads() -> None:
    old = {"user_id": "u", "new_request_id": "r2", "new_slot_start": THREE_PM.isoformat()}
    assert read(old, RescheduleRequestInput) == RescheduleRequestInput("u", "r2", THREE_PM)


def test_every_temporal_client_worker_and_replayer_uses_parleys_converter() -> None:
    makers = {"connect", "start_time_skipping", "Replayer"}
    missing = []
    sources = [
        path
        for path in REPO.rglob("*.py")
        if not any(part.startswith(".") for part in path.relative_to(REPO).parts)
    ]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            owner = getattr(getattr(node.func, "value", None), "id", None)
            named = {keyword.arg for keyword in node.keywords}
            made = name in makers and (name != "connect" or owner == "Client")
            if made and "data_converter" not in named:
                missing.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert missing == []
