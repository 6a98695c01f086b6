"""How workflows are named and found: ids an operator reads in the Temporal UI, the workflow type
and signal names that histories record, and the search attributes an operator filters on.

The workflow classes declare these names, and so do their typed references in
`contracts/workflow_refs.py`, which activities start and signal them by (`activities` may not
import `workflows`); a test checks that each reference agrees with its workflow.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

MATCH_REQUEST_WORKFLOW = "MatchRequestWorkflow"
MATCHMAKER_WORKFLOW = "MatchmakerWorkflow"
SESSION_WORKFLOW = "SessionWorkflow"

# Signal on a matchmaker: a request joins its pool (sent with the start that creates it).
ADD_REQUEST = "add_request"
# Signal on a matchmaker: a booking joins its pool with the parked requests it can pair with.
ADD_REQUESTS = "add_requests"
# Signal on a match request: this session claimed you.
MATCHED = "matched"
# Signal on a session: its people now sit in other sessions.
REARRANGED = "rearranged"


def match_request_workflow_id(request_id: str) -> str:
    """`match-request-<request id>`."""
    return f"match-request-{request_id}"


def session_workflow_id(session_id: str) -> str:
    """`session-<session id>`."""
    return f"session-{session_id}"


def matchmaker_workflow_id(day: datetime, duration_minutes: int, languages: tuple[str, str]) -> str:
    """`matchmaker-<UTC day>-<duration>m-<language>-<language>`, one per shard: the UTC day of
    `day` (any instant in it), a duration and a language pair.

    For example `matchmaker-20250727-60m-english-spanish`.
    """
    first, second = languages
    return f"matchmaker-{day.astimezone(UTC):%Y%m%d}-{duration_minutes}m-{first}-{second}"


# Search attributes, registered on the Temporal server.
USER_IDS = SearchAttributeKey.for_keyword_list("ParleyUserIds")
SLOT_START = SearchAttributeKey.for_datetime("ParleySlotStart")
STATUS = SearchAttributeKey.for_keyword("ParleyStatus")
KIND = SearchAttributeKey.for_keyword("ParleyKind")
# The status of a matchmaker run past its day's last slot start, waiting only for its no-show
# sweeps.
AWAITING_NO_SHOWS = "awaiting_no_shows"

ALL = (USER_IDS, SLOT_START, STATUS, KIND)

MATCH_REQUEST, SESSION, MATCHMAKER = "match_request", "session", "matchmaker"


def initial(
    kind: str, user_ids: list[str], slot_start: datetime | None, status: str
) -> TypedSearchAttributes:
    """Attributes set when a workflow starts, so that it is findable from its first event."""
    pairs: list[SearchAttributePair] = [
        SearchAttributePair(KIND, kind),
        SearchAttributePair(USER_IDS, user_ids),
        SearchAttributePair(STATUS, status),
    ]
    if slot_start is not None:
        pairs.append(SearchAttributePair(SLOT_START, slot_start))
    return TypedSearchAttributes(pairs)


def status_update(status: str) -> list[SearchAttributeUpdate]:
    """The upsert that keeps `ParleyStatus` current."""
    return [STATUS.value_set(status)]
