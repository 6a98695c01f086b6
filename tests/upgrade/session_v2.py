"""Build v2 of SessionWorkflow: the same session, plus a reminder when joining opens.

Its commands differ from v1's (a timer and a memo upsert come first), so a v1 history replayed
on it would fail: the upgrade test shows that Worker Versioning never does that.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from contracts.sessions import SessionInput, SessionResult
    from workflows.session import SessionWorkflow


@workflow.defn(name="SessionWorkflow", versioning_behavior=VersioningBehavior.PINNED)
class SessionWorkflowV2(SessionWorkflow):
    """Reminds its participants when joining opens, then runs as v1 does."""

    @workflow.run
    async def run(self, input: SessionInput) -> SessionResult:
        """Wait for joining to open (a durable timer), note the reminder, then the session."""
        await self._wait_until(
            self._clock().join_opens_at, self._interrupted, "reminder: joining opens"
        )
        workflow.upsert_memo({"reminded_at": workflow.now().isoformat()})
        return await super().run(input)
