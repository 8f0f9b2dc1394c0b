"""The pages' own assets (a style sheet, the proof-of-work script): served by listd itself,
so the pages load nothing from anywhere else and the CSP can say 'self'."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from listd.web.context import SAFE_HEADERS

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
router = APIRouter()


@lru_cache(maxsize=16)
def _asset(name: str) -> bytes | None:
    path = STATIC / name
    # Only the files that are there, by their plain name: no path walks.
    if "/" in name or path.suffix not in TYPES or not path.is_file():
        return None
    return path.read_bytes()


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    body = _asset(name)
    if body is None:
        return Response(status_code=404, headers=SAFE_HEADERS)
    headers = {**SAFE_HEADERS, "Cache-Control": "public, max-age=3600"}
    return Response(body, media_type=TYPES[Path(name).suffix], headers=headers)
