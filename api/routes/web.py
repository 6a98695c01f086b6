"""`/`: the web page, and its static files under `/web/` (public: the page holds no data).

Everything the page shows it reads from the API with the user's bearer token; the files are
plain HTML, CSS and JavaScript shipped in the package (`api/web/`), nothing fetched elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
# Only this origin's own files and API: no inline script, no other site, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

router = APIRouter(tags=["web"], include_in_schema=False)


@router.get("/")
async def web_page() -> FileResponse:
    """The page: sign in, book, and watch your requests and sessions change live."""
    return FileResponse(
        WEB_DIR / "index.html",
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"},
    )


def mount_web_files(app: FastAPI) -> None:
    """Serve the page's scripts and styles under `/web/`."""
    app.mount("/web", StaticFiles(directory=WEB_DIR), name="web")
