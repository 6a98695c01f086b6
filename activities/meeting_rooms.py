"""Where a session's two people meet: the operator's meeting provider (`PARLEY_MEETING_PROVIDER`).

The default builds a Jitsi-style room URL from `PARLEY_MEETING_BASE_URL` and a random room name
(144 bits), needing no external API; the name is drawn when the session's row is first written,
so a retried write keeps the first one. Another provider is a factory `package.module:callable`
that takes the base URL and returns a `MeetingRooms`.
"""

from __future__ import annotations

import importlib
import secrets
from dataclasses import dataclass
from typing import Protocol


class MeetingRooms(Protocol):
    """Gives a new session the link its two participants meet at."""

    def url_for(self, session_id: str) -> str | None:
        """The meeting link of a new session; None if the provider gives none."""
        ...


@dataclass(frozen=True)
class JitsiRooms:
    """A room of a Jitsi server (or any service that opens a room at `<base>/<name>`)."""

    base_url: str = "https://meet.jit.si"

    def url_for(self, session_id: str) -> str | None:
        """An unguessable room: nothing about the session can be read from it."""
        return f"{self.base_url.rstrip('/')}/parley-{secrets.token_urlsafe(18)}"


class NoRooms:
    """Sessions without a link: the operator arranges the meeting some other way."""

    def url_for(self, session_id: str) -> str | None:
        """None."""
        return None


DEFAULT_ROOMS: MeetingRooms = JitsiRooms()


def meeting_rooms(provider: str, base_url: str) -> MeetingRooms:
    """The provider named in the settings; ValueError for an unknown one."""
    if provider == "jitsi":
        return JitsiRooms(base_url)
    if provider == "none":
        return NoRooms()
    module, _, name = provider.partition(":")
    if not name:
        raise ValueError(f"PARLEY_MEETING_PROVIDER {provider!r}: jitsi, none or module:callable")
    rooms: MeetingRooms = getattr(importlib.import_module(module), name)(base_url)
    return rooms
