"""The matchmaker's one activity per batch of pairs: persist their sessions, then start them.

One activity where there were two halves the events and the task round trips of every pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio import activity

from activities.sessions import CreateSessionsInput, CreateSessionsResult, SessionActivities
from activities.workflow_starts import StartSessionsInput, WorkflowStartActivities
from workflows.contracts import SessionInput


@dataclass
class PersistPairsInput:
    """One session per pair, its id chosen by the workflow so that a retry is idempotent."""

    sessions: list[SessionInput]
    created_at: datetime


class PairingActivities:
    """Composes the session writes and the workflow starts; both are safe to retry."""

    def __init__(self, sessions: SessionActivities, starts: WorkflowStartActivities) -> None:
        self._sessions = sessions
        self._starts = starts

    @activity.defn
    async def persist_pairs(self, input: PersistPairsInput) -> CreateSessionsResult:
        """Insert the sessions in one transaction, then start the workflows of those that exist."""
        created = await self._sessions.create_sessions(
            CreateSessionsInput(
                sessions=[session.spec for session in input.sessions],
                created_at=input.created_at,
            )
        )
        ids = set(created.created_session_ids)
        started = [session for session in input.sessions if session.spec.session_id in ids]
        if started:
            await self._starts.start_sessions(StartSessionsInput(sessions=started))
        return created
