"""Custom search attributes an operator filters on (registered on the Temporal server)."""

from __future__ import annotations

from datetime import datetime

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

USER_IDS = SearchAttributeKey.for_keyword_list("ParleyUserIds")
SLOT_START = SearchAttributeKey.for_datetime("ParleySlotStart")
STATUS = SearchAttributeKey.for_keyword("ParleyStatus")
KIND = SearchAttributeKey.for_keyword("ParleyKind")

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
