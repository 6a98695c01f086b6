"""Who and what a log line is about: the HTTP request id, the user and the workflow.

The API sets the request id and the user for each call; Temporal headers carry them to the
workflows and activities the call sets off (observability/propagation.py), so the worker's lines
about that call carry them too. The workflow id comes from whichever workflow or activity logs.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import asdict, dataclass

REQUEST_ID: ContextVar[str | None] = ContextVar("parley_request_id", default=None)
USER_ID: ContextVar[str | None] = ContextVar("parley_user_id", default=None)
WORKFLOW_ID: ContextVar[str | None] = ContextVar("parley_workflow_id", default=None)


@dataclass(frozen=True)
class CallContext:
    """What travels in a Temporal header from the API call to the work it sets off."""

    request_id: str | None = None
    user_id: str | None = None

    def as_header(self) -> dict[str, str]:
        """The non-empty fields."""
        return {key: value for key, value in asdict(self).items() if value}

    @classmethod
    def current(cls) -> CallContext:
        """The context of the code running now."""
        return cls(REQUEST_ID.get(), USER_ID.get())

    @classmethod
    def of(cls, header: object) -> CallContext:
        """A context read back from a header (unknown keys ignored)."""
        if not isinstance(header, dict):
            return cls()
        return cls(request_id=_text(header.get("request_id")), user_id=_text(header.get("user_id")))

    def enter(self) -> None:
        """Make this the context of the code running now (the current task's)."""
        if self.request_id:
            REQUEST_ID.set(self.request_id)
        if self.user_id:
            USER_ID.set(self.user_id)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
