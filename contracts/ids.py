"""Workflow ids that say what they are, so an operator can find them in the Temporal UI."""

from __future__ import annotations

from datetime import UTC, datetime


def match_request_workflow_id(request_id: str) -> str:
    """`match-request-<request id>`."""
    return f"match-request-{request_id}"


def session_workflow_id(session_id: str) -> str:
    """`session-<session id>`."""
    return f"session-{session_id}"


def matchmaker_workflow_id(
    slot_start: datetime, duration_minutes: int, languages: tuple[str, str]
) -> str:
    """`matchmaker-<UTC slot>-<duration>m-<language>-<language>`, one per shard of a slot.

    For example `matchmaker-20250727T1500Z-60m-english-spanish`.
    """
    first, second = languages
    return (
        f"matchmaker-{slot_start.astimezone(UTC):%Y%m%dT%H%MZ}-{duration_minutes}m-{first}-{second}"
    )
