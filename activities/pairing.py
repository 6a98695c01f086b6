"""The matchmaker's one activity per batch of pairs: persist their sessions, then start them.

One activity where there were two halves the events and the task round trips of every pass.
"""

from __future__ import annotations

from temporalio import activity

from activities.sessions import SessionActivities
from activities.workflow_starts import WorkflowStartActivities
from contracts.matchmaker import PersistPairsInput
from contracts.sessions import (
    CreateSessionsInput,
    CreateSessionsResult,
    RearrangeSessionsInput,
    StartSessionsInput,
)


class PairingActivities:
    """Composes the session writes and the workflow starts; both are safe to retry."""

    def __init__(self, sessions: SessionActivities, starts: WorkflowStartActivities) -> None:
        self._sessions = sessions
        self._starts = starts

    @activity.defn
    async def persist_pairs(self, input: PersistPairsInput) -> CreateSessionsResult:
        """Insert the sessions in one transaction, then start the workflows of those that exist
        (and end the workflows of the sessions they replace)."""
        specs = [session.spec for session in input.sessions]
        if input.dissolved:
            created = await self._sessions.rearrange_sessions(
                RearrangeSessionsInput(
                    [session.session_id for session in input.dissolved], specs, input.created_at
                )
            )
        else:
            created = await self._sessions.create_sessions(
                CreateSessionsInput(sessions=specs, created_at=input.created_at)
            )
        ids = set(created.created_session_ids)
        started = [session for session in input.sessions if session.spec.session_id in ids]
        if created.foreign_session_ids and input.sessions:
            # Sessions an earlier attempt of this task wrote with other pairs: real sessions,
            # whose workflows that attempt may not have started.
            started += await self._sessions.as_written(
                created.foreign_session_ids, input.sessions[0].policy
            )
        if started:
            await self._starts.start_sessions(StartSessionsInput(sessions=started))
        if started and input.dissolved:
            await self._starts.tell_rearranged(input.dissolved)
        return created
