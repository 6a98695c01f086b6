"""How refusals become HTTP answers: the field and the reason, never a 500."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.json_body import printable
from contracts.errors import (
    ABANDONED,
    DOUBLE_BOOKING,
    INVALID_INPUT,
    LIMIT_REACHED,
    NOT_FOUND,
    STATE_CONFLICT,
)
from domain.errors import RuleViolation, StateConflict

T = TypeVar("T")

HTTP_STATUS_BY_REFUSAL = {
    NOT_FOUND: status.HTTP_404_NOT_FOUND,
    STATE_CONFLICT: status.HTTP_409_CONFLICT,
    DOUBLE_BOOKING: status.HTTP_409_CONFLICT,
    LIMIT_REACHED: status.HTTP_409_CONFLICT,
    INVALID_INPUT: status.HTTP_422_UNPROCESSABLE_CONTENT,
    # Reaches a caller only if it waited longer than the workflow was told it would.
    ABANDONED: status.HTTP_503_SERVICE_UNAVAILABLE,
    # An activity failed in a way that is not a business refusal: a bug, said as one.
    "Internal": status.HTTP_500_INTERNAL_SERVER_ERROR,
}


def rule_violation_response(field: str, reason: str) -> JSONResponse:
    """422 in FastAPI's own validation-error shape, so clients parse one format."""
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={
            "detail": [
                validation_issue({"loc": ["body", field], "msg": reason, "type": "rule_violation"})
            ]
        },
    )


def validation_issue(error: dict[str, Any]) -> dict[str, Any]:
    """One of FastAPI's validation errors as `ValidationIssue`: where and why, never the input.

    The input is not echoed: it may be anything the client sent, and a value JSON cannot carry
    made the default handler fail with a 500.
    """
    loc = [part if isinstance(part, int) else printable(str(part)) for part in error["loc"]]
    return {"loc": loc, "msg": printable(str(error["msg"])), "type": str(error["type"])}


def install_error_handlers(app: FastAPI) -> None:
    """Map validation errors and domain exceptions to 422 and 409, outages to 503."""

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": [validation_issue(e) for e in error.errors()]},
        )

    @app.exception_handler(RuleViolation)
    async def _rule_violation(_: Request, error: RuleViolation) -> JSONResponse:
        return rule_violation_response(error.field, error.reason)

    @app.exception_handler(RPCError)
    async def _temporal_unavailable(_: Request, error: RPCError) -> JSONResponse:
        # A refusal was already mapped by workflow_call; what is left is Temporal not answering.
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": f"the workflow service is unavailable ({error.status.name})"},
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(OperationalError)
    async def _database_unavailable(_: Request, error: OperationalError) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": "the database is unavailable"},
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(StateConflict)
    async def _state_conflict(_: Request, error: StateConflict) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_409_CONFLICT, content={"detail": error.reason})


class StillSettingUp(HTTPException):
    """The row is committed a moment before its workflow starts: a retry will find it."""

    def __init__(self) -> None:
        super().__init__(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "it is still being set up; retry in a moment",
            headers={"Retry-After": "1"},
        )


def refusal_to_http(error: ApplicationError) -> HTTPException:
    """A workflow's business refusal as the HTTP error it means."""
    code = HTTP_STATUS_BY_REFUSAL.get(error.type or "", status.HTTP_409_CONFLICT)
    retry = {"Retry-After": "1"} if code == status.HTTP_503_SERVICE_UNAVAILABLE else None
    return HTTPException(code, error.message, headers=retry)


async def workflow_call(call: Awaitable[T], handle: WorkflowHandle[Any, Any] | None = None) -> T:
    """Await a workflow start or update, turning refusals into 404/409/422 and outages into 503."""
    try:
        return await call
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError):
            raise refusal_to_http(cause) from None
        raise
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND and handle is not None:
            raise await _absent_or_finished(handle) from None
        raise


async def _absent_or_finished(handle: WorkflowHandle[Any, Any]) -> HTTPException:
    try:
        described = await handle.describe()
    except RPCError:
        return StillSettingUp()
    if described.status == WorkflowExecutionStatus.RUNNING:
        return StillSettingUp()  # it started between the call and this look: try again
    return HTTPException(status.HTTP_409_CONFLICT, "it has finished and can no longer change")
