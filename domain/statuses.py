"""Statuses and reasons: the values the database's check constraints allow, one name each."""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    """`match_requests.status`: waiting, then matched, cancelled or expired; matched may end
    cancelled or no_show."""

    WAITING = "waiting"
    MATCHED = "matched"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NO_SHOW = "no_show"


class SessionStatus(StrEnum):
    """`sessions.status`: scheduled, then active or cancelled; active ends completed."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class CancelReason(StrEnum):
    """`sessions.cancel_reason`: why a session ended cancelled."""

    CANCELLED_BY_USER = "cancelled_by_user"
    NO_SHOW = "no_show"
    # Its people were seated in other sessions of the same slot.
    REARRANGED = "rearranged"
