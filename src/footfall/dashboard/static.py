"""The dashboard's static files (CSS, JS modules, icons), served from the package itself.

No CDN and no build step: every file in `dashboard/static/` is read once, hashed, and served
with an `ETag`. Pages link assets as `/static/<name>?v=<hash>`; a request naming the current
hash is cached for a year (`immutable`), any other one is revalidated, so a new release is
picked up at once without stale CSS or scripts.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

STATIC_DIR = Path(__file__).resolve().parent / "static"
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
}
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "public, no-cache"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    version: str  # the first 12 hex digits of the body's SHA-256

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@functools.cache
def assets() -> dict[str, Asset]:
    """Every static file by its path under `static/` (read once per process)."""
    found = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        if not path.is_file():
            continue
        body = path.read_bytes()
        media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
        found[path.relative_to(STATIC_DIR).as_posix()] = Asset(
            body=body,
            media_type=media_type or "application/octet-stream",
            version=hashlib.sha256(body).hexdigest()[:12],
        )
    return found


def static_url(name: str) -> str:
    """The URL of a static file, versioned by its content (KeyError for an unknown name)."""
    return f"/static/{name}?v={assets()[name].version}"


async def static_file(request: Request) -> Response:
    """GET /static/{path} — a packaged asset; 404 for anything else (no file system walk:
    only names found at start-up are served, so `..` and friends cannot escape the folder)."""
    asset = assets().get(request.path_params["path"])
    if asset is None:
        return PlainTextResponse("Not found", status_code=404)
    return _serve(request, asset)


async def favicon(request: Request) -> Response:
    """GET /favicon.ico — the packaged SVG icon, for browsers (and feed readers, bookmarks)
    that ask the conventional path instead of following the pages' `<link rel="icon">`.
    Browsers go by the content type, not the name, so an SVG answer is fine here."""
    return _serve(request, assets()["favicon.svg"])


def _serve(request: Request, asset: Asset) -> Response:
    """An asset with its validators: cached for good under its current `?v=` hash, else
    revalidated (304 when the `ETag` still matches)."""
    cache = _IMMUTABLE if request.query_params.get("v") == asset.version else _REVALIDATE
    headers = {
        "Cache-Control": cache,
        "ETag": asset.etag,
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
