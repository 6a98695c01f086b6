"""The API's side: a request id and an access log line for every call, and `/metrics`.

HTTP metrics come from prometheus-fastapi-instrumentator: rate, errors and duration per route
template (`/v1/sessions/{session_id}/join`), never per id or user. `/metrics` also carries the
Postgres gauges; with `PARLEY_METRICS_TOKEN` set it wants that bearer token.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import uuid

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability.collector import PostgresGauges
from observability.context import REQUEST_ID, USER_ID, WORKFLOW_ID

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UNTIMED = ("/metrics", "/healthz", "/readyz")
# Buckets of the per-route duration histogram (the instrumentator's default is 0.1, 0.5 and 1 s,
# too coarse for a p50/p99 per route: most calls answer in milliseconds, a booking may take up to
# PARLEY_WORKFLOW_CALL_TIMEOUT_SECONDS).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

access_log = logging.getLogger("parley.api.access")


class RequestContext:
    """ASGI middleware: each call gets a request id (the caller's `X-Request-ID` if it is a safe
    token, else a new one), echoed in the answer, and one access line when it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the call with its context set; log it once answered."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope.get("headers", [])).get(REQUEST_ID_HEADER.lower().encode(), b"")
        request_id = offered.decode("latin-1")
        if not _SAFE_ID.match(request_id):
            request_id = uuid.uuid4().hex
        REQUEST_ID.set(request_id)
        USER_ID.set(None)
        WORKFLOW_ID.set(None)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope.get("path") not in UNTIMED:
                # The route's template when one matched; otherwise the raw path, made safe to
                # print (a %0A in a URL must not forge a second log line).
                route = scope.get("route")
                where = getattr(route, "path", None) or _printable(str(scope.get("path")))
                access_log.info(
                    "%s %s %s %.1f ms",
                    _printable(str(scope.get("method")))[:16],
                    where,
                    status,
                    (time.perf_counter() - started) * 1000,
                )


def _printable(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")[:200]


def install_metrics(
    app: FastAPI, database_url: str | None, token: str | None, gauges_fresh_seconds: float = 5.0
) -> None:
    """HTTP metrics for every route, and `/metrics` (HTTP metrics plus the Postgres gauges)."""
    registry = CollectorRegistry()
    Instrumentator(
        should_group_status_codes=False,
        # Only routes the app serves: an unknown path or method must not mint a new series.
        should_ignore_untemplated=True,
        excluded_handlers=list(UNTIMED),
        registry=registry,
    ).instrument(app, latency_lowr_buckets=LATENCY_BUCKETS)
    if database_url:
        registry.register(PostgresGauges(database_url, gauges_fresh_seconds))

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus text format."""
        if token and not secrets.compare_digest(
            request.headers.get("authorization", ""), f"Bearer {token}"
        ):
            return JSONResponse({"detail": "missing or wrong metrics token"}, status_code=401)
        # The Postgres gauges query the database: off the event loop.
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
