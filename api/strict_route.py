"""The checks a request passes before FastAPI validates it: a strict JSON body, a sound
Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from api.json_body import check_json_body

IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 200


def check_idempotency_key(request: Request) -> None:
    """422 for an Idempotency-Key that is empty or too long, on every POST that may carry one."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None or 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        return
    kind, reason = (
        ("string_too_short", "must not be empty")
        if not key
        else ("string_too_long", f"must be at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters")
    )
    raise RequestValidationError(
        [{"type": kind, "loc": ("header", IDEMPOTENCY_KEY), "msg": reason}]
    )


class StrictRoute(APIRoute):
    """A route that refuses, before FastAPI reads them, a JSON body with values Parley cannot
    keep (api/json_body.py) and, on a POST, a malformed Idempotency-Key (documented on every
    POST by api/openapi.py, so refused on every POST, whether the handler reads it or not)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, preceded by the checks this route needs."""
        handler = super().get_route_handler()
        takes_body, is_post = self.body_field is not None, "POST" in (self.methods or ())

        async def strict_handler(request: Request) -> Response:
            if is_post:
                check_idempotency_key(request)
            if takes_body:
                await check_json_body(request)
            return await handler(request)

        return strict_handler
