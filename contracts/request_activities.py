"""What crosses a match request's activities: the row writes' inputs and results, and the start
of a request's workflow (contracts/requests.py holds the workflow's own)."""

# No `from __future__ import annotations`: the workflow sandbox resolves string annotations
# against its own module table, where a module imported only by another one is missing.
from dataclasses import dataclass
from datetime import datetime

from contracts.policy import Policy
from contracts.requests import MatchRequestInput, RequestSpec


@dataclass
class RequestRowResult:
    """A request's status as the database holds it after the activity."""

    request_id: str
    status: str
    session_id: str | None = None


@dataclass
class CloseRequestInput:
    """Move a waiting request to `cancelled` or `expired`."""

    request_id: str
    at: datetime
    reason: str | None = None


@dataclass
class RescheduleMatchRequestInput:
    """Cancel a waiting request and create its replacement in one transaction."""

    old_request_id: str
    new_spec: RequestSpec
    at: datetime
    answer_by: datetime | None = None


@dataclass
class BookInput:
    """The request to persist and enqueue, and the timing rules its matchmaker runs by."""

    spec: RequestSpec
    created_at: datetime
    policy: Policy
    # When the last caller stops waiting: a booking not yet made by then is refused (Abandoned).
    answer_by: datetime | None = None


@dataclass
class StartMatchRequestInput:
    """A match request workflow to start (a rematch or a rescheduled request)."""

    request: MatchRequestInput
    summary: str


@dataclass
class StartMatchRequestResult:
    """The id of the request workflow that now exists."""

    workflow_id: str
