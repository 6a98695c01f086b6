"""Statuses and reasons for every layer; defined in `domain.statuses` so the rules can use them."""

from __future__ import annotations

from domain.statuses import CancelReason, RequestStatus, SessionStatus

__all__ = ["CancelReason", "RequestStatus", "SessionStatus"]
