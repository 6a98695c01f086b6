"""What crosses a session's workflow and activities: inputs, results, signals, state."""

# No `from __future__ import annotations`: the workflow sandbox resolves string annotations
# against its own module table, where a module imported only by another one is missing.
from dataclasses import dataclass, field
from datetime import datetime

from contracts.policy import Policy
from contracts.requests import RequestSpec


@dataclass(frozen=True)
class SessionSpec:
    """A session as created by the matchmaker."""

    session_id: str
    participant_one_id: str
    participant_two_id: str
    match_request_one_id: str
    match_request_two_id: str
    language_one_id: str
    language_two_id: str
    scheduled_start: datetime
    duration_minutes: int


@dataclass
class SessionInput:
    """Run one session to its end; the request specs let it rematch a let-down partner."""

    spec: SessionSpec
    request_one: RequestSpec
    request_two: RequestSpec
    policy: Policy = field(default_factory=Policy)


@dataclass
class SessionResult:
    """How a session ended."""

    session_id: str
    status: str
    cancel_reason: str | None = None
    rematch_request_ids: list[str] = field(default_factory=list)


@dataclass
class SessionState:
    """A session as its workflow sees it (query `state`, and the answer to every update)."""

    session_id: str
    status: str
    joined_user_ids: list[str]
    cancel_reason: str | None = None
    cancelled_by: str | None = None
    rematch_request_ids: list[str] = field(default_factory=list)
    rematch_refusals: list[str] = field(default_factory=list)


@dataclass
class SessionReceiptSignal:
    """Signals `joined`, `cancel_requested`, `end_requested`: who asked, and when it reached
    Parley (the API recorded it on the session's row before sending this)."""

    user_id: str
    at: datetime


@dataclass
class RearrangedSignal:
    """Signal to a dissolved session: its people were seated in these sessions instead."""

    replacement_session_ids: list[str]


@dataclass
class CreateSessionsInput:
    """A batch of pairs from one matchmaker pass, persisted in one transaction."""

    sessions: list[SessionSpec]
    created_at: datetime


@dataclass
class CreateSessionsResult:
    """Which sessions exist now, which requests turned out not to be waiting any more, and
    (for a rearrangement) which sessions could no longer be dissolved."""

    created_session_ids: list[str] = field(default_factory=list)
    dead_request_ids: list[str] = field(default_factory=list)
    stale_session_ids: list[str] = field(default_factory=list)
    # Ids already naming another pair: written by an earlier attempt of a workflow task that was
    # retried and paired differently. Those sessions are real; their workflows must run.
    foreign_session_ids: list[str] = field(default_factory=list)
    # Pairs of user ids the database refused to seat together: one blocks the other.
    blocked_user_pairs: list[list[str]] = field(default_factory=list)


@dataclass
class RearrangeSessionsInput:
    """Dissolve these sessions and seat their people, and some waiting ones, in new sessions:
    all of it in one transaction, or none of it."""

    dissolved_session_ids: list[str]
    sessions: list[SessionSpec]
    at: datetime


@dataclass
class SessionChangeInput:
    """Move a session forward at `at`: `active`, or `completed`."""

    session_id: str
    at: datetime


@dataclass
class SessionRowResult:
    """A session as the database holds it after the activity: the facts its workflow adopts,
    since the slot's no-show sweep may have closed it first."""

    session_id: str
    status: str
    cancel_reason: str | None = None
    cancelled_by: str | None = None
    joined_user_ids: list[str] = field(default_factory=list)
    cancel_requested_by: str | None = None
    rematch_request_ids: list[str] = field(default_factory=list)
    rematch_refusal: str | None = None


@dataclass
class SettleSessionInput:
    """One session, settled at `at`: a recorded cancel, or its no-show once past the deadline."""

    session_id: str
    at: datetime
    policy: Policy


@dataclass
class StartSessionsInput:
    """Session workflows to start, one per persisted session."""

    sessions: list[SessionInput]


@dataclass
class StartSessionsResult:
    """The ids of the session workflows that now exist."""

    workflow_ids: list[str]
