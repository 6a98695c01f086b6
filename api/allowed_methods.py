"""OPTIONS and 405 with every method a path serves, across all the routes that share it.

Starlette answers 405 from the first route whose path matches, so a path served by two routes
(GET and POST /v1/match-requests) listed one route's methods, and OPTIONS was a 405 too.

No CORS: Parley's clients are apps holding bearer tokens, not pages from other origins, so a
browser's preflight gets the Allow header but no Access-Control-Allow-Origin, and is refused.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> set[str]:
    """Every method some route serves at this request's path (none: the path is unknown)."""
    methods: set[str] = set()
    for route in routes:
        served = getattr(route, "methods", None)
        if served and route.matches(scope)[0] != Match.NONE:
            methods |= served
    return methods


class AllowedMethods:
    """ASGI middleware: 204 with `Allow` for OPTIONS, 405 with the full `Allow` otherwise."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer OPTIONS and wrong methods here; pass everything else on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        methods = allowed_methods(self.routes, scope)
        if not methods or scope["method"] in methods:
            await self.app(scope, receive, send)  # unknown path (404) or a method it serves
            return
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        response: Response
        if scope["method"] == "OPTIONS":
            response = Response(status_code=204, headers={"Allow": allow})
        else:
            response = JSONResponse(
                {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": allow}
            )
        await response(scope, receive, send)
