"""One logging setup for the API and the worker: readable text by default, JSON lines with
`PARLEY_LOG_FORMAT=json`; every line carries the request id, the user and the workflow it is
about (when known), and no line ever carries a token or a secret."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from observability.context import REQUEST_ID, USER_ID, WORKFLOW_ID

TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [request=%(request_id)s user=%(user_id)s "
    "workflow=%(workflow_id)s] %(message)s"
)
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
REDACTED = "[redacted]"
# A bearer credential anywhere in a line, and anything shaped like a JWT.
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",]+")
_JWT = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+")


class CallFields(logging.Filter):
    """Adds `request_id`, `user_id` and `workflow_id` to every record ('-' when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; fill in what it is about."""
        temporal = getattr(record, "temporal_activity", None) or getattr(
            record, "temporal_workflow", None
        )
        workflow_id = temporal.get("workflow_id") if isinstance(temporal, dict) else None
        record.request_id = getattr(record, "request_id", None) or REQUEST_ID.get() or "-"
        record.user_id = getattr(record, "user_id", None) or USER_ID.get() or "-"
        record.workflow_id = (
            getattr(record, "workflow_id", None) or workflow_id or WORKFLOW_ID.get() or "-"
        )
        return True


class Redact(logging.Filter):
    """Blanks out bearer tokens, JWTs and the configured secrets before a record is written."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record, with its message made safe."""
        message = record.getMessage()
        safe = self.clean(message)
        if safe != message:
            record.msg, record.args = safe, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        return True

    def clean(self, text: str) -> str:
        """`text` with every secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
        return _JWT.sub(REDACTED, text)


class _SafeText(logging.Formatter):
    """Text lines whose tracebacks and stacks are cleaned too."""

    def __init__(self, fmt: str, redact: Redact) -> None:
        super().__init__(fmt)
        self._redact = redact

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        """The traceback, cleaned."""
        return self._redact.clean(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        """The stack, cleaned."""
        return self._redact.clean(super().formatStack(stack_info))


class _SafeJson(JsonFormatter):
    """JSON lines whose tracebacks and stacks are cleaned too (the formatter renders them
    itself from the record's exception, not from the text the filter cleaned)."""

    def __init__(self, redact: Redact, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redact = redact

    def formatException(self, ei: Any) -> Any:  # noqa: N802 - logging's name
        """The traceback, cleaned (a list of lines when the formatter keeps them apart)."""
        return self._clean(super().formatException(ei))

    def formatStack(self, stack_info: str) -> Any:  # noqa: N802 - logging's name
        """The stack, cleaned."""
        return self._clean(super().formatStack(stack_info))

    def _clean(self, text: str | list[str]) -> str | list[str]:
        if isinstance(text, list):
            return [self._redact.clean(line) for line in text]
        return self._redact.clean(text)


def configure_logging(
    log_format: str,
    secrets: Iterable[str] = (),
    level: int = logging.INFO,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Route every logger (uvicorn's, Temporal's, SQLAlchemy's, Parley's) through one handler on
    stderr (or `stream`), text or JSON; return that handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    redact = Redact(secrets)
    handler.addFilter(CallFields())
    handler.addFilter(redact)
    if log_format == "json":
        handler.setFormatter(
            _SafeJson(
                redact,
                JSON_FIELDS,
                rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(_SafeText(TEXT_FORMAT, redact))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # Uvicorn's own handlers would print a second, unfiltered copy of each line.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return handler
