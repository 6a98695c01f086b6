"""A match request's row and the shapes workflows take it in: each conversion, once."""

from __future__ import annotations

import uuid
from datetime import datetime

from contracts.request_activities import RequestRowResult
from contracts.requests import PoolEntry, RequestSpec
from contracts.statuses import RequestStatus
from db.models import MatchRequestRow


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def _str_or_none(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def row_values(spec: RequestSpec, created_at: datetime) -> dict[str, object]:
    """The columns of a new waiting request's row."""
    return {
        "id": uuid.UUID(spec.request_id),
        "user_id": spec.user_id,
        "native_language_id": spec.native_language_id,
        "learning_language_id": spec.learning_language_id,
        "proficiency_level": spec.proficiency_level,
        "availability_start": spec.availability_start,
        "availability_end": spec.last_start,
        "preferred_duration_minutes": spec.preferred_duration_minutes,
        "priority": spec.priority,
        "status": RequestStatus.WAITING,
        "idempotency_key": spec.idempotency_key,
        "replaces_request_id": _uuid_or_none(spec.replaces_request_id),
        "origin_session_id": _uuid_or_none(spec.origin_session_id),
        "created_at": created_at,
        "updated_at": created_at,
    }


def row_result(row: MatchRequestRow) -> RequestRowResult:
    """A request's status as its row holds it."""
    return RequestRowResult(
        request_id=str(row.id), status=row.status, session_id=_str_or_none(row.session_id)
    )


def request_spec(row: MatchRequestRow) -> RequestSpec:
    """The request a row holds, as workflows take it."""
    return RequestSpec(
        request_id=str(row.id),
        user_id=row.user_id,
        native_language_id=row.native_language_id,
        learning_language_id=row.learning_language_id,
        proficiency_level=row.proficiency_level,
        availability_start=row.availability_start,
        preferred_duration_minutes=row.preferred_duration_minutes,
        priority=row.priority,
        replaces_request_id=_str_or_none(row.replaces_request_id),
        origin_session_id=_str_or_none(row.origin_session_id),
        availability_end=row.availability_end,
    )


def pool_entry(row: MatchRequestRow) -> PoolEntry:
    """A waiting request's row as its matchmaker pools it."""
    return PoolEntry.of(request_spec(row), created_at=row.created_at)
