"""The OpenAPI document: every status each operation can answer, links, and examples that hold.

FastAPI documents what a route declares. The statuses that the shared machinery produces (a
missing token, an unknown id, a body that is not JSON or too large, validation, an outage) are
added here from what each operation takes, so that no route can forget one. Examples are written
each time the document is served, from the app's clock, so that the slot they book lies ahead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute

from api.body_limit import MAX_BODY_BYTES
from api.deps import ClockDep, get_db, get_temporal
from api.schemas import ErrorOut, ValidationErrorOut
from api.strict_route import IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_MAX_LENGTH
from domain.slots import next_slot_after

REF = "#/components/schemas/{model}"
JSON = "application/json"
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 0},
    }
}
IDEMPOTENCY_KEY_PARAMETER = {
    "name": IDEMPOTENCY_KEY,
    "in": "header",
    "required": False,
    "description": "A retry with the same key never does the work twice: it answers as the "
    "first call did",
    "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
}

# For `responses=` in route decorators: statuses only the route itself knows it can answer.
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorOut,
        "description": "Too many creates and reschedules by this user in the last minute",
        "headers": RETRY_AFTER,
    }
}


def accepted(model: type, what: str) -> dict[int | str, dict[str, Any]]:
    """202: the change is recorded and answered with the resource before it is applied."""
    return {
        202: {
            "model": model,
            "description": f"{what} is recorded but not yet applied: read the resource again "
            "to see it take effect",
        }
    }


# Stateful clients (and the fuzzer) follow these from a response to the next call.
_REQUEST_ID = {"request_id": "$response.body#/id"}
_REQUEST_TARGETS = {
    "GetMatchRequest": ("get", "/v1/match-requests/{request_id}"),
    "CancelMatchRequest": ("post", "/v1/match-requests/{request_id}/cancel"),
    "RescheduleMatchRequest": ("post", "/v1/match-requests/{request_id}/reschedule"),
}
_SESSION_TARGETS = {
    "JoinSession": ("post", "/v1/sessions/{session_id}/join"),
    "CancelSession": ("post", "/v1/sessions/{session_id}/cancel"),
    "EndSession": ("post", "/v1/sessions/{session_id}/end"),
}
LINKS: dict[tuple[str, str, str], tuple[dict[str, tuple[str, str]], dict[str, str]]] = {
    ("post", "/v1/match-requests", "201"): (_REQUEST_TARGETS, _REQUEST_ID),
    ("post", "/v1/match-requests/{request_id}/reschedule", "201"): (_REQUEST_TARGETS, _REQUEST_ID),
    ("get", "/v1/match-requests/{request_id}", "200"): (_REQUEST_TARGETS, _REQUEST_ID),
    ("get", "/v1/sessions/{session_id}", "200"): (
        _SESSION_TARGETS,
        {"session_id": "$response.body#/id"},
    ),
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency a route resolves, however deep."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _error(
    description: str, model: type = ErrorOut, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {JSON: {"schema": {"$ref": REF.format(model=model.__name__)}}},
    }
    if headers:
        response["headers"] = headers
    return response


def _shared_statuses(route: APIRoute, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The statuses Parley's shared machinery can answer for this operation."""
    parameters = operation.get("parameters", [])
    takes_body = "requestBody" in operation
    statuses: dict[str, dict[str, Any]] = {}
    if takes_body:
        statuses["400"] = _error("The body is not JSON: a syntax error, or not UTF-8")
        statuses["413"] = _error(
            f"The body is larger than {MAX_BODY_BYTES} bytes, declared or streamed"
        )
    if operation.get("security"):
        statuses["401"] = _error(
            "No bearer token, or one that is expired, forged or malformed",
            headers={"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
        )
    if any(parameter["in"] == "path" for parameter in parameters):
        statuses["404"] = _error("No such resource of yours: someone else's is a 404 too")
    if parameters or takes_body:
        statuses["422"] = _error(
            "A field failed validation or a booking rule; `loc` names it. In a body this "
            "includes NaN, Infinity, numbers beyond a 64-bit float and lone surrogates",
            ValidationErrorOut,
        )
    if {get_db, get_temporal} & set(_calls(route.dependant)):
        statuses["503"] = _error(
            "Postgres or Temporal did not answer in time: retry after `Retry-After` seconds",
            headers=RETRY_AFTER,
        )
    return statuses


def _complete(route: APIRoute, method: str, operation: dict[str, Any]) -> None:
    if method == "post":  # every POST changes state, and a retry must not do it twice
        parameters = operation.setdefault("parameters", [])
        if all(parameter["name"] != IDEMPOTENCY_KEY for parameter in parameters):
            parameters.append(dict(IDEMPOTENCY_KEY_PARAMETER))
    responses = operation.setdefault("responses", {})
    for code, response in _shared_statuses(route, operation).items():
        if code == "422" or code not in responses:  # FastAPI's own 422 omits how ours differs
            responses[code] = response
    for code, response in responses.items():
        if code.startswith(("4", "5")) and "content" not in response:  # a description only
            response["content"] = _error("")["content"]
    operation["responses"] = dict(sorted(responses.items()))


def _add_links(paths: dict[str, Any]) -> None:
    for (method, path, code), (targets, parameters) in LINKS.items():
        links = paths[path][method]["responses"][code].setdefault("links", {})
        for name, (target_method, target_path) in targets.items():
            links[name] = {
                "operationId": paths[target_path][target_method]["operationId"],
                "parameters": parameters,
            }


def build(app: FastAPI, routes: list[BaseRoute]) -> dict[str, Any]:
    """FastAPI's document for the app, completed with the shared statuses, schemas and links."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    paths = document["paths"]
    for route in routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                _complete(route, method.lower(), paths[route.path_format][method.lower()])
    _, definitions = models_json_schema(
        [(ErrorOut, "serialization"), (ValidationErrorOut, "serialization")], ref_template=REF
    )
    schemas = document["components"]["schemas"]
    schemas.update(definitions["$defs"])
    for unused in ("HTTPValidationError", "ValidationError"):  # replaced by ValidationErrorOut
        schemas.pop(unused, None)
    _add_links(paths)
    return document


def example_slot(now: datetime, slot_minutes: int, horizon_days: int) -> datetime:
    """A slot a day ahead (or half the horizon, if shorter), on the grid: bookable when read."""
    ahead = min(timedelta(days=1), timedelta(days=horizon_days) / 2)
    return next_slot_after(now + ahead, slot_minutes)


def document(app: FastAPI, now: datetime) -> dict[str, Any]:
    """The document with examples that are valid at `now`."""
    if app.state.openapi_base is None:
        app.state.openapi_base = build(app, app.state.api_routes)
    result = copy.deepcopy(app.state.openapi_base)
    settings = app.state.settings
    start = example_slot(now, settings.slot_minutes, settings.booking_horizon_days)
    stamp = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    schemas = result["components"]["schemas"]
    schemas["MatchRequestCreate"]["examples"] = [
        {
            "native_language_id": "english",
            "learning_language_id": "spanish",
            "proficiency_level": "intermediate",
            "availability_start": stamp,
            "preferred_duration_minutes": 60,
        }
    ]
    schemas["MatchRequestReschedule"]["examples"] = [{"availability_start": stamp}]
    return result


docs_router = APIRouter(include_in_schema=False)


@docs_router.get("/openapi.json")
async def openapi_json(request: Request, clock: ClockDep) -> JSONResponse:
    """The document, with examples valid on the app's clock."""
    return JSONResponse(document(request.app, await clock()))


@docs_router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    """Swagger UI over the document."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Parley - Swagger UI")


@docs_router.get("/redoc")
async def redoc() -> HTMLResponse:
    """ReDoc over the document."""
    return get_redoc_html(openapi_url="/openapi.json", title="Parley - ReDoc")


def install_openapi(app: FastAPI, routes: list[BaseRoute]) -> None:
    """Make `app.openapi()` the completed document; `docs_router` serves it on the app's clock."""
    app.state.api_routes = routes
    app.state.openapi_base = None  # built on first use, once every route is in
    app.openapi = lambda: document(app, datetime.now(UTC))  # type: ignore[method-assign]
