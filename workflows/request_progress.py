"""Where a match request stands as its workflow sees it, kept in step with the `ParleyStatus`
search attribute and the details the Temporal UI shows."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts import naming
    from contracts.errors import NOT_FOUND, STATE_CONFLICT, refusal
    from contracts.request_activities import RequestRowResult
    from contracts.requests import MatchRequestResult, MatchRequestState, RequestSpec
    from contracts.statuses import RequestStatus

CREATING = "creating"
REFUSED = "refused"
# No worker took the booking before the API stopped waiting: nothing was booked.
ABANDONED_STATUS = "abandoned"


def describe(spec: RequestSpec) -> str:
    """What the Temporal UI's details say of a request while it is being booked."""
    return (
        f"{spec.user_id}: {spec.native_language_id} -> {spec.learning_language_id}, "
        f"{spec.proficiency_level}, slot {spec.availability_start:%Y-%m-%d %H:%M} UTC"
        + (f" to {spec.last_start:%H:%M}" if spec.last_start != spec.availability_start else "")
    )


class RequestProgress:
    """A request's status, its session, why it ended and what replaced it."""

    def __init__(self, spec: RequestSpec) -> None:
        self._spec = spec
        self.status: str = CREATING
        self.session_id: str | None = None
        self.reason: str | None = None
        self.replaced_by: str | None = None
        # Whoever starts the workflow sets ParleyStatus to "waiting" (naming.initial).
        self._published: str = RequestStatus.WAITING

    def state(self) -> MatchRequestState:
        """The request as its workflow sees it."""
        return MatchRequestState(
            request_id=self._spec.request_id,
            user_id=self._spec.user_id,
            availability_start=self._spec.availability_start,
            status=self.status,
            session_id=self.session_id,
            reason=self.reason,
            replaced_by_request_id=self.replaced_by,
        )

    def adopt(self, row: RequestRowResult, reason: str | None = None) -> None:
        """Take the row's status after an activity; a stale `waiting` read is ignored."""
        if row.session_id:
            self.session_id = row.session_id
        if row.status == RequestStatus.WAITING and self.status not in (
            CREATING,
            RequestStatus.WAITING,
        ):
            return  # a stale read: the matched signal already moved us on
        if row.status != self.status:
            self.set(row.status, reason)

    def set(self, status: str, reason: str | None = None) -> None:
        """Move to `status`, publishing it to ParleyStatus and the UI's details."""
        self.status = status
        self.reason = reason
        if status != self._published:
            # Each upsert is a history event and a visibility write: only real changes.
            workflow.upsert_search_attributes(naming.status_update(status))
            self._published = status
        workflow.set_current_details(f"{status}" + (f": {reason}" if reason else ""))

    def result(self) -> MatchRequestResult:
        """How the request's life ended."""
        return MatchRequestResult(
            request_id=self._spec.request_id,
            status=self.status,
            session_id=self.session_id,
            reason=self.reason,
        )

    def require_owner(self, user_id: str) -> None:
        """Refuse a change asked by anyone but the owner, or of a request no longer waiting."""
        if self._spec.user_id != user_id:
            raise ApplicationError("no such match request", type=NOT_FOUND)
        if self.status not in (CREATING, RequestStatus.WAITING):
            raise ApplicationError(
                f"only a waiting request can change; it is {self.status}", type=STATE_CONFLICT
            )

    def require_waiting(self, verb: str) -> None:
        """Refuse a change to a request that is no longer waiting (it failed the update)."""
        if self.status != RequestStatus.WAITING:
            status = self.status
            raise refusal(STATE_CONFLICT, f"only a waiting request can be {verb}; it is {status}")
