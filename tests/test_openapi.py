"""The OpenAPI document: every status each operation can answer, examples that hold when read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from api.main import app as production_app
from api.schemas import ErrorOut, ValidationErrorOut
from domain.slots import is_on_grid
from tests.helpers import Stack, person, slot_ahead

DOCUMENT = production_app.openapi()
OPERATIONS = {
    (method.upper(), path): operation
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
}
# A calendar feed is opened by the secret in its URL: calendar apps send no headers.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/v1/languages"),
    ("GET", "/v1/calendar-feeds/{secret}.ics"),
}
RATE_LIMITED = {
    ("POST", "/v1/match-requests"),
    ("POST", "/v1/match-requests/{request_id}/reschedule"),
}
ACCEPTED = {
    ("POST", "/v1/match-requests/{request_id}/cancel"): "MatchRequestPublic",
    ("POST", "/v1/sessions/{session_id}/cancel"): "SessionPublic",
    ("POST", "/v1/sessions/{session_id}/end"): "SessionPublic",
}
# A POST that no state can refuse: blocking someone you already block answers that block.
# A ticket or a calendar feed is issued whatever state the user is in.
IDEMPOTENT_BY_NATURE = {
    ("POST", "/v1/blocks"),
    ("POST", "/v1/events/ticket"),
    ("POST", "/v1/me/calendar-feed"),
}
ERROR_SCHEMAS = {"ErrorOut", "ValidationErrorOut"}


def _schema_of(response: dict[str, Any]) -> str:
    """The component a response's JSON body is documented with."""
    ref: str = response["content"]["application/json"]["schema"]["$ref"]
    return ref.removeprefix("#/components/schemas/")


def test_twenty_operations_need_a_token_and_only_probes_languages_and_feeds_do_not() -> None:
    authenticated = [key for key, operation in OPERATIONS.items() if operation.get("security")]
    assert len(authenticated) == 20
    assert set(OPERATIONS) - set(authenticated) == PUBLIC


@pytest.mark.parametrize("key", sorted(OPERATIONS), ids=" ".join)
def test_every_operation_documents_every_status_it_can_answer(key: tuple[str, str]) -> None:
    method, path = key
    operation = OPERATIONS[key]
    responses = operation["responses"]
    takes_body = "requestBody" in operation
    expected = set()
    if key not in PUBLIC:
        expected.add("401")
        assert "WWW-Authenticate" in responses["401"]["headers"]
    if "{" in path:
        expected.add("404")
    if takes_body:
        expected |= {"400", "413"}
    if takes_body or operation.get("parameters"):
        expected.add("422")
    if key != ("GET", "/healthz"):  # everything else reads Postgres or calls Temporal
        expected.add("503")
    if method == "POST" and key not in IDEMPOTENT_BY_NATURE:  # state may already have changed
        expected.add("409")
    if key in RATE_LIMITED:
        expected.add("429")
        assert "Retry-After" in responses["429"]["headers"]
    if key in ACCEPTED:
        expected.add("202")
        assert _schema_of(responses["202"]) == ACCEPTED[key]
    assert expected <= set(responses), sorted(expected - set(responses))
    for code, response in responses.items():
        if code[0] in "45" and key != ("GET", "/readyz"):  # readyz's 503 is its Health report
            assert _schema_of(response) == ("ValidationErrorOut" if code == "422" else "ErrorOut")
        if code == "503" and key != ("GET", "/readyz"):
            assert "Retry-After" in response["headers"]
    if method == "POST":
        keys = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert [(p["in"], p["required"]) for p in keys] == [("header", False)]


def test_the_error_schemas_are_the_models_the_handlers_answer_with() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["ErrorOut"]["required"] == ["detail"]
    assert schemas["ValidationErrorOut"]["properties"]["detail"]["items"] == {
        "$ref": "#/components/schemas/ValidationIssue"
    }
    assert "HTTPValidationError" not in schemas  # FastAPI's own, which echoes the input


def test_every_link_leads_to_an_operation_of_the_document() -> None:
    operation_ids = {operation["operationId"] for operation in OPERATIONS.values()}
    links = [
        link
        for operation in OPERATIONS.values()
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 9
    assert {link["operationId"] for link in links} <= operation_ids


def test_the_examples_are_ahead_of_the_wall_clock_and_on_the_grid() -> None:
    schemas = production_app.openapi()["components"]["schemas"]
    for name in ("MatchRequestCreate", "MatchRequestReschedule"):
        (example,) = schemas[name]["examples"]
        start = datetime.fromisoformat(example["availability_start"])
        assert start > datetime.now(UTC), name
        assert is_on_grid(start, production_app.state.settings.slot_minutes), name


def _conforms(model: type[BaseModel], body: Any) -> bool:
    """The body is exactly an instance of the model, with nothing more."""
    return model.model_validate(body).model_dump(mode="json") == body


async def test_the_refusals_are_shaped_as_documented(stack: Stack) -> None:
    someone = person(stack, "refused")
    answers = {
        "401": await stack.api.get("/v1/match-requests"),
        "404": await someone.get(f"/v1/match-requests/{uuid.uuid4()}"),
        "413": await stack.api.post("/v1/match-requests", content=b"{" * 70_000),
        "422": await someone.post("/v1/match-requests", {"native_language_id": 1}),
    }
    answers["400"] = await someone.api.post(
        "/v1/match-requests",
        content=b"{",
        headers={**someone.headers, "Content-Type": "application/json"},
    )
    for code, answer in answers.items():
        assert str(answer.status_code) == code, answer.text
        model = ValidationErrorOut if code == "422" else ErrorOut
        assert _conforms(model, answer.json()), (code, answer.json())


async def test_the_docs_pages_read_the_served_document() -> None:
    transport = httpx.ASGITransport(app=production_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://parley.test") as client:
        served = await client.get("/openapi.json")
        assert served.status_code == 200
        assert served.json()["paths"] == DOCUMENT["paths"]
        for page in ("/docs", "/redoc"):
            answer = await client.get(page)
            assert answer.status_code == 200 and "/openapi.json" in answer.text


async def test_the_served_examples_are_accepted_as_they_are(stack: Stack) -> None:
    served = await stack.api.get("/openapi.json")
    assert served.status_code == 200
    schemas = served.json()["components"]["schemas"]
    booker, mover = person(stack, "booker"), person(stack, "mover")
    booked = await booker.post("/v1/match-requests", schemas["MatchRequestCreate"]["examples"][0])
    assert booked.status_code == 201, booked.text
    waiting = await mover.book(await slot_ahead(stack), "german", "french")
    moved = await mover.post(
        f"/v1/match-requests/{waiting.json()['id']}/reschedule",
        schemas["MatchRequestReschedule"]["examples"][0],
    )
    assert moved.status_code == 201, moved.text
